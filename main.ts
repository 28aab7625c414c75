/**
 * cloudshell-operator: turns CloudShell resources into browser terminals.
 *
 * Wiring only: reads the command line and the environment (nothing else in
 * the program does), builds the services, runs the manager, and maps the
 * outcome to an exit code: 0 after a clean shutdown, 1 after a fatal error or
 * a lost Lease (the Deployment restarts the pod), 2 for bad flags.
 */
import denoConfig from "./deno.json" with { type: "json" };
import {
  type ClusterConnection,
  ExecPluginError,
  KubeClient,
  KubeconfigError,
  loadClusterConnection,
  NO_RETRY,
} from "./controller/kube/mod.ts";
import { errorMessage, Logger } from "./controller/log.ts";
import { parseOptions, UPSTREAM_JOB_TEMPLATE_KEY } from "./controller/options.ts";
import { EventRecorder } from "./controller/runtime/events.ts";
import { HealthChecks } from "./controller/runtime/health.ts";
import { serve } from "./controller/runtime/http_server.ts";
import { defaultIdentity } from "./controller/runtime/leader_election.ts";
import { Manager } from "./controller/runtime/manager.ts";
import { Metrics } from "./controller/runtime/metrics.ts";
import { KubeRequestAuthorizer } from "./controller/runtime/metrics_auth.ts";
import { type KeyPair, selfSignedCertificate } from "./controller/runtime/self_signed.ts";
import { CONTROLLER_NAME, newCloudShellOperator } from "./controller/cloudshell/operator.ts";
import { registerShellMetrics } from "./controller/cloudshell/shell_metrics.ts";
import { versionText } from "./controller/version.ts";

const COMPONENT = "cloudshell-operator";
/** The Lease client's own throttle: a renewal every retry period (2 s), a release, a few retries. */
const LEASE_QPS = 5;
const LEASE_BURST = 10;
const SA_NAMESPACE_FILE = "/var/run/secrets/kubernetes.io/serviceaccount/namespace";
/** The commit a build came from: hack/release/compile.sh embeds it, the image sets it (Dockerfile). */
const COMMIT_ENV = "CLOUDSHELL_OPERATOR_COMMIT";

/**
 * Outside a pod: the namespace deploy/ installs into, where its Role lets the operator read the Job template
 * ConfigMap and hold the Lease (with `default`, the shipped RBAC would forbid both).
 */
const INSTALL_NAMESPACE = "cloudshell-system";

/** The pod's namespace in a pod (downward API, else the service account's), else the install namespace. */
function operatorNamespace(): string {
  const fromEnv = Deno.env.get("POD_NAMESPACE");
  if (fromEnv) return fromEnv;
  try {
    return Deno.readTextFileSync(SA_NAMESPACE_FILE).trim() || INSTALL_NAMESPACE;
  } catch {
    return INSTALL_NAMESPACE;
  }
}

function hostname(): string {
  try {
    return Deno.env.get("POD_NAME") || Deno.hostname();
  } catch {
    return "cloudshell-operator";
  }
}

/**
 * The cluster connection of the flags and environment, with its first credential fetched (so an exec plugin
 * that cannot run shows at start, not as retries in every informer); undefined after printing why not.
 */
async function connect(opts: { kubeconfig?: string; context?: string; master?: string }) {
  let connection: ClusterConnection;
  try {
    connection = await loadClusterConnection({
      kubeconfigPath: opts.kubeconfig,
      context: opts.context,
      masterUrl: opts.master,
      env: Deno.env.toObject(),
    });
  } catch (err) {
    if (!(err instanceof KubeconfigError)) throw err;
    console.error(`${COMPONENT}: ${err.message}`);
    return undefined;
  }
  try {
    await connection.credentials?.get();
  } catch (err) {
    // A plugin that is missing or says no, or a token file that is not there: the kubeconfig's to fix.
    const why = err instanceof ExecPluginError
      ? err.message
      : `Reading the credentials failed: ${errorMessage(err)}`;
    console.error(`${COMPONENT}: ${why}`);
    return undefined;
  }
  return connection;
}

/**
 * The certificate of the `--metrics-secure` endpoint: `tls.crt` and `tls.key` from `--metrics-cert-dir`, else
 * a self-signed one; undefined after printing why the files cannot be read.
 */
async function metricsTls(dir: string | undefined, logger: Logger): Promise<KeyPair | undefined> {
  if (dir === undefined) {
    logger.info("Serving /metrics with a self-signed certificate (--metrics-cert-dir gives one)");
    return await selfSignedCertificate({ commonName: COMPONENT, hosts: ["localhost", "127.0.0.1", "::1"] });
  }
  try {
    return {
      cert: await Deno.readTextFile(`${dir}/tls.crt`),
      key: await Deno.readTextFile(`${dir}/tls.key`),
    };
  } catch (err) {
    console.error(`${COMPONENT}: --metrics-cert-dir: ${errorMessage(err)}`);
    return undefined;
  }
}

async function main(): Promise<number> {
  const build = { version: denoConfig.version, commit: Deno.env.get(COMMIT_ENV), ...Deno.version };
  const parsed = parseOptions(Deno.args, {
    version: versionText(build),
    defaultNamespace: operatorNamespace(),
  });
  if (parsed.kind === "exit") {
    (parsed.code === 0 ? console.log : console.error)(parsed.output.trimEnd());
    return parsed.code;
  }
  const opts = parsed.options;
  const logger = new Logger({ level: opts.logLevel, format: opts.logFormat });
  logger.info("Starting cloudshell-operator", {
    version: denoConfig.version,
    commit: build.commit || "unknown",
    // As one string: gate names such as AllowSecretStoreKubeconfig would trip the logger's secret filter.
    featureGates: Object.entries(opts.featureGates.effective()).map(([k, v]) => `${k}=${v}`).join(","),
    watchNamespace: opts.watchNamespace ?? "(all)",
  });
  for (const warning of opts.featureGates.warnings()) logger.warn(warning);

  const stop = new AbortController();
  for (const signal of ["SIGTERM", "SIGINT"] as const) {
    Deno.addSignalListener(signal, () => {
      if (stop.signal.aborted) return;
      logger.info("Shutting down", { signal });
      stop.abort();
    });
  }
  // An exception escaping a callback would otherwise kill the process without a word in the logs.
  globalThis.addEventListener("unhandledrejection", (e) => {
    e.preventDefault();
    logger.error("Unhandled promise rejection", { error: errorMessage(e.reason) });
  });

  const connection = await connect(opts);
  if (connection === undefined) return 2;
  logger.info("Connecting to the API server", { server: connection.server, source: connection.source });
  if (connection.ignoredFields?.length) {
    logger.warn("Kubeconfig fields unknown to client-go are ignored, as kubectl ignores them", {
      fields: connection.ignoredFields.join(", "),
    });
  }
  const metrics = new Metrics();
  metrics.setFeatureGates(opts.featureGates);
  const client = new KubeClient(connection, {
    qps: opts.kubeApiQps,
    burst: opts.kubeApiBurst,
    userAgent: `${COMPONENT}/${denoConfig.version}`,
    fieldManager: COMPONENT,
    onRequest: metrics.onRequest,
  });
  // Lease renewals get their own throttle (client-go gives leader election its own rest config): a burst
  // of reconciles must never make the leader miss its renew deadline.
  // Its own loop retries every retry period, so the client does not retry on top of it.
  const leaseClient = client.withOwnLimits({ qps: LEASE_QPS, burst: LEASE_BURST, retry: NO_RETRY });
  const identity = defaultIdentity(hostname());
  const events = new EventRecorder({ client, component: COMPONENT, instance: identity, logger });
  const readyLatency = metrics.histogram({
    name: "cloudshell_creation_to_ready_seconds",
    help: "Seconds from a CloudShell's creation to its first Ready status",
    buckets: [0.25, 0.5, 1, 2, 3, 5, 10, 20, 30, 60, 120, 300],
  });
  const reconcileMetrics = metrics.reconcile(CONTROLLER_NAME);
  const operator = newCloudShellOperator({
    watchNamespace: opts.watchNamespace,
    templateConfigMap: opts.jobTemplateConfigMap,
    templateKey: opts.jobTemplateKey,
    templateFallbackKey: UPSTREAM_JOB_TEMPLATE_KEY,
    gates: opts.featureGates,
    workers: opts.workers,
    defaultImage: opts.cloudshellImage,
    clusterRole: opts.kubeconfigClusterRole,
    allowedEnvValueFrom: new Set(opts.allowedEnvValueFrom),
    nodePortHost: opts.nodePortHost,
    statusGraceMs: opts.pendingStatusDelayMs,
    terminal: {
      checkOrigin: opts.terminalAccess.checkOrigin,
      pingIntervalSeconds: opts.terminalAccess.pingIntervalSeconds,
      authHeader: opts.terminalAccess.authHeader,
      pod: opts.terminalPod,
    },
    identity: opts.terminalIdentity === "creator"
      ? { apiServer: opts.terminalApiServer ?? connection.server }
      : undefined,
    credentialMode: opts.terminalAccess.credential,
    networkPolicy: opts.terminalAccess.networkPolicy,
    policy: {
      routeNamespaces: opts.routeNamespaces,
      ingressAnnotations: opts.ingressAnnotationsAllowed,
      ...opts.routeHosts,
      defaultTtlSeconds: opts.defaultTtlSeconds,
      maxTtlSeconds: opts.maxTtlSeconds,
      defaultIdleTimeoutSeconds: opts.sessions.defaultIdleTimeoutSeconds,
      maxIdleTimeoutSeconds: opts.sessions.maxIdleTimeoutSeconds,
    },
    warnBeforeSeconds: opts.sessions.warnBeforeSeconds,
    useExistingRouteObjects: opts.useExistingRouteObjects,
    requiredAdmissionPolicy: opts.admissionPolicy.required ? opts.admissionPolicy.name : undefined,
  }, {
    client,
    logger,
    events,
    informerMetrics: metrics.informerMetrics(),
    controllerMetrics: {
      queue: metrics.queueMetrics(CONTROLLER_NAME),
      reconciled: reconcileMetrics.observe,
      activeWorkers: reconcileMetrics.activeWorkers,
      maxConcurrent: reconcileMetrics.maxConcurrent,
    },
    onReady: (seconds) => readyLatency.observe(seconds),
  });
  registerShellMetrics(metrics, operator.cloudShells);

  const health = new HealthChecks();
  const le = opts.leaderElection;
  const manager = new Manager({
    logger,
    health,
    drainTimeoutMs: opts.shutdownTimeoutMs,
    leaderElection: le.enabled
      ? {
        client: leaseClient,
        namespace: le.resourceNamespace,
        name: le.resourceName,
        identity,
        leaseDurationMs: le.leaseDurationMs,
        renewDeadlineMs: le.renewDeadlineMs,
        retryPeriodMs: le.retryPeriodMs,
        releaseOnCancel: true,
        onLeaderChange: (leading) => metrics.setLeader(le.resourceName, leading),
      }
      : undefined,
  });
  for (const informer of operator.informers) manager.addInformer(informer);
  manager.addLeaderRunnable(operator.controller);
  if (operator.admissionCheck) manager.addLeaderRunnable(operator.admissionCheck);
  if (operator.creatorCheck) manager.addLeaderRunnable(operator.creatorCheck);
  if (operator.grantSweeper) manager.addLeaderRunnable(operator.grantSweeper);
  else {
    logger.warn(
      "--require-admission-policy=false: CloudShells may name Secrets and ConfigMaps whether or not " +
        "the admission policy checks that their creators may read them",
    );
  }

  const secure = opts.metricsSecure ? await metricsTls(opts.metricsCertDir, logger) : undefined;
  if (opts.metricsSecure && secure === undefined) return 2;
  const authorizer = opts.metricsSecure ? new KubeRequestAuthorizer({ client, logger }) : undefined;
  const server = await serve({
    metricsAddress: opts.metricsBindAddress?.address ?? "0",
    healthAddress: opts.healthProbeBindAddress?.address ?? "0",
    metrics,
    health,
    logger,
    signal: stop.signal,
    metricsTls: secure,
    metricsAuth: authorizer && ((request) => authorizer.check(request)),
  });
  const exit = await manager.run(stop.signal);
  stop.abort();
  await events.flush();
  await server.closed;
  client.close();
  if (exit === "lost-leadership") {
    logger.error("Lost the leader Lease; exiting so a fresh process can rejoin the election");
    return 1;
  }
  logger.info("Stopped");
  return 0;
}

try {
  Deno.exit(await main());
} catch (err) {
  console.error(`cloudshell-operator: ${errorMessage(err)}`);
  Deno.exit(1);
}
