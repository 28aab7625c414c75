/**
 * The command line: flags in Kubernetes style, parsed by flag_parser.ts from the table below into a frozen,
 * typed {@linkcode Options}.
 *
 * {@linkcode parseOptions} never exits the process and never reads `Deno.args` or the environment: it
 * returns what to do, and `main.ts` does it. Usage errors yield exit code 2 with a one-line reason that
 * names the flag and the bad value, followed by a hint to run with `--help`.
 *
 * @module
 */

import { FlagParser, type FlagSpec, type ParsedFlags } from "./flag_parser.ts";
import { OPT_IN_ENV_SOURCES } from "./cloudshell/policy/env_policy.ts";
import { newFeatureGates } from "./cloudshell/features.ts";
import { DEFAULT_INGRESS_ANNOTATIONS } from "./cloudshell/policy/policy.ts";
import type { TerminalPodDefaults } from "./cloudshell/template/mod.ts";
import { TERMINAL_IDENTITIES, type TerminalIdentity } from "./cloudshell/access/identity.ts";
import { type HostPattern, parseHostPattern } from "./cloudshell/routing/route_hosts.ts";
import { LOG_FORMATS, LOG_LEVELS, type LogFormat, type LogLevel } from "./log.ts";
import { DurationError, parseDuration } from "./runtime/duration.ts";
import { FeatureGateError, type FeatureGates, parseBool } from "./runtime/feature_gates.ts";

/** Terminal image for CloudShells without `spec.image`. */
export const DEFAULT_CLOUDSHELL_IMAGE = "ghcr.io/cloudtty/cloudshell:v0.8.9";
/** Name of the ConfigMap holding the Job template. */
export const DEFAULT_JOB_TEMPLATE_CONFIGMAP = "cloudshell-job-template";
/** Key of the Job template in its ConfigMap. */
export const DEFAULT_JOB_TEMPLATE_KEY = "job-template.yaml";
/** The key CloudTTY used; read when the configured key is absent from the ConfigMap. */
export const UPSTREAM_JOB_TEMPLATE_KEY = "job-temp.yaml";

/** What `main.ts` passes in, so that parsing stays free of process state. */
export interface ParseContext {
  /** Printed by `--version`. */
  version: string;
  /** Default of `--operator-namespace`, e.g. from `POD_NAMESPACE` or the service account. */
  defaultNamespace: string;
  /** Program name in `--help`. @default {"cloudshell-operator"} */
  programName?: string;
}

/** The outcome of parsing: run with options, or print `output` and exit with `code`. */
export type ParseResult =
  | { kind: "run"; options: Options }
  | { kind: "exit"; code: 0; output: string }
  | { kind: "exit"; code: 2; output: string };

/** A namespaced object name. */
export interface ObjectRef {
  /** Namespace of the object. */
  readonly namespace: string;
  /** Name of the object. */
  readonly name: string;
}

/** A listen address for `Deno.serve`. */
export interface BindAddress {
  /** The flag value as given, e.g. `:8080`. */
  readonly address: string;
  /** Host to listen on; `0.0.0.0` when the flag left it empty. */
  readonly hostname: string;
  /** Port to listen on; 0 picks a free port. */
  readonly port: number;
}

/** Leader election settings (client-go `LeaderElectionConfig`). */
export interface LeaderElectionOptions {
  /** Whether to elect a leader before starting workers. */
  readonly enabled: boolean;
  /** How long non-leaders wait before taking over a lease that was not renewed. */
  readonly leaseDurationMs: number;
  /** How long the leader keeps retrying to renew before it gives up. */
  readonly renewDeadlineMs: number;
  /** Wait between attempts to acquire or renew. */
  readonly retryPeriodMs: number;
  /** Name of the Lease. */
  readonly resourceName: string;
  /** Namespace of the Lease. */
  readonly resourceNamespace: string;
}

/** Everything the command line configures; frozen. */
export interface Options {
  /** `--kubeconfig`; undefined means the default loading rules. */
  readonly kubeconfig: string | undefined;
  /** `--context`; undefined means the kubeconfig's current context. */
  readonly context: string | undefined;
  /** `--master`; API server address overriding the kubeconfig. */
  readonly master: string | undefined;
  /** `--feature-gates`, applied; its `warnings()` are for the startup log. */
  readonly featureGates: FeatureGates;
  /** `--job-template-configmap`, with the namespace resolved. */
  readonly jobTemplateConfigMap: ObjectRef;
  /** `--job-template-key`; {@linkcode UPSTREAM_JOB_TEMPLATE_KEY} is the fallback. */
  readonly jobTemplateKey: string;
  /** `--cloudshell-image`. */
  readonly cloudshellImage: string;
  /** `--cloudshell-node-selector`, `--cloudshell-resources`, `--cloudshell-image-pull-*`: every terminal pod. */
  readonly terminalPod: TerminalPodDefaults;
  /** `--kubeconfig-clusterrole`. */
  readonly kubeconfigClusterRole: string;
  /** `--terminal-identity`: who a terminal without a kubeconfig acts as. */
  readonly terminalIdentity: TerminalIdentity;
  /** `--terminal-api-server`: the API server as terminal pods reach it; undefined means main.ts decides. */
  readonly terminalApiServer: string | undefined;
  /** `--allow-env-value-from`: env valueFrom sources that read other objects, allowed anyway. */
  readonly allowedEnvValueFrom: readonly string[];
  /** `--node-port-host`; undefined means the node's address. */
  readonly nodePortHost: string | undefined;
  /** `--workers`. */
  readonly workers: number;
  /** `--kube-api-qps`; negative: no client-side throttle (client-go's and controller-runtime's -1). */
  readonly kubeApiQps: number;
  /** `--kube-api-burst`. */
  readonly kubeApiBurst: number;
  /** `--leader-elect*`. */
  readonly leaderElection: LeaderElectionOptions;
  /** `--metrics-bind-address`; undefined when disabled with `0`. */
  readonly metricsBindAddress: BindAddress | undefined;
  /** `--health-probe-bind-address`; undefined when disabled with `0`. */
  readonly healthProbeBindAddress: BindAddress | undefined;
  /** `--metrics-secure`: `/metrics` over HTTPS, for bearer tokens allowed `get` on it (TokenReview, SAR). */
  readonly metricsSecure: boolean;
  /** `--metrics-cert-dir`: `tls.crt` and `tls.key` for it; undefined: a self-signed certificate. */
  readonly metricsCertDir: string | undefined;
  /** `--log-format`. */
  readonly logFormat: LogFormat;
  /** `--log-level`, or derived from `-v` when `--log-level` is not given. */
  readonly logLevel: LogLevel;
  /** `--watch-namespace`; undefined means all namespaces. */
  readonly watchNamespace: string | undefined;
  /** `--operator-namespace`. */
  readonly operatorNamespace: string;
  /** `--shutdown-timeout`. */
  readonly shutdownTimeoutMs: number;
  /** `--pending-status-delay`: a new shell's first status waits this long for its terminal to be Ready. */
  readonly pendingStatusDelayMs: number;
  /** `--terminal-*` and `--network-policy-*`: who may reach a terminal, and how. */
  readonly terminalAccess: TerminalAccessOptions;
  /** `--route-namespaces`: namespaces besides a shell's own for its VirtualService (`*`: any). */
  readonly routeNamespaces: readonly string[];
  /** `--ingress-annotations-allowed`: annotation keys (or `prefix*`) shells may set on Ingresses. */
  readonly ingressAnnotationsAllowed: readonly string[];
  /** `--ingress-host-pattern`, `--virtual-service-host-pattern` and the route allow lists. */
  readonly routeHosts: RouteHostOptions;
  /** `--use-existing-route-objects`: add routes to Ingresses and VirtualServices the operator did not create. */
  readonly useExistingRouteObjects: boolean;
  /** `--default-ttl` in seconds: the TTL of shells that ask for none. */
  readonly defaultTtlSeconds: number | undefined;
  /** `--max-ttl` in seconds: longer TTLs are capped to it. */
  readonly maxTtlSeconds: number | undefined;
  /** `--admission-policy`, `--require-admission-policy`: the policy shells naming Secrets need in force. */
  readonly admissionPolicy: { readonly name: string; readonly required: boolean };
  /** `--default-idle-timeout`, `--max-idle-timeout`, `--session-warning`. */
  readonly sessions: SessionOptions;
}

/** How sessions end when nobody uses them, and how early users are warned (docs/sessions.md). */
export interface SessionOptions {
  /** `--default-idle-timeout` in seconds: the idle timeout of shells that set none; 0: none. */
  readonly defaultIdleTimeoutSeconds: number;
  /** `--max-idle-timeout` in seconds: the longest idle timeout, also for shells that turn theirs off. */
  readonly maxIdleTimeoutSeconds: number | undefined;
  /** `--session-warning` in seconds: how long before the TTL runs out the terminal warns. */
  readonly warnBeforeSeconds: number;
}

/** Where routes answer, and what of it tenants may choose (docs/security.md, "One origin per shell"). */
export interface RouteHostOptions {
  /** `--ingress-host-pattern`; undefined when not given. */
  readonly ingressHostPattern: HostPattern | undefined;
  /** `--virtual-service-host-pattern`; undefined when not given. */
  readonly virtualServiceHostPattern: HostPattern | undefined;
  /** `--ingress-hosts-allowed`. */
  readonly ingressHostsAllowed: readonly string[];
  /** `--ingress-classes-allowed`. */
  readonly ingressClassesAllowed: readonly string[];
  /** `--virtual-service-gateways-allowed`. */
  readonly virtualServiceGatewaysAllowed: readonly string[];
  /** `--virtual-service-export-to-allowed`. */
  readonly virtualServiceExportToAllowed: readonly string[];
}

/** How terminals are reached (docs/usage.md, "Access to a terminal"). */
export interface TerminalAccessOptions {
  /** `--terminal-check-origin`: ttyd refuses WebSockets from pages of another origin. */
  readonly checkOrigin: boolean;
  /** `--terminal-ping-interval`, in whole seconds. */
  readonly pingIntervalSeconds: number;
  /** `--terminal-auth-header`: ttyd serves only requests with this header, set by an authenticating proxy. */
  readonly authHeader: string | undefined;
  /** `--terminal-credential`: `generated` gives shells without TTYD_CREDENTIAL a login of their own. */
  readonly credential: "none" | "generated";
  /** `--network-policy-cidr`, `--network-policy-namespace`: sources a per-shell NetworkPolicy admits. */
  readonly networkPolicy: {
    readonly cidrs: readonly string[];
    readonly namespaceSelectors: readonly Readonly<Record<string, string>>[];
  };
}

const HELP_WIDTH = 100;
const REPEATABLE = new Set([
  "--feature-gates",
  "--network-policy-cidr",
  "--network-policy-namespace",
  "--cloudshell-node-selector",
  "--cloudshell-image-pull-secrets",
]);
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const CONFIGMAP_KEY = /^[-._a-zA-Z0-9]+$/;
/** `[prefix/]name` as Kubernetes validates annotation keys (a DNS subdomain prefix, a 63-character name). */
const ANNOTATION_KEY =
  /^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/;
const INTEGER = /^[+-]?\d+$/;
const FLOAT = /^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/;

/** A bad flag value; its message is the one line shown to the user. */
class FlagError extends Error {
  override name = "FlagError";
}

/**
 * Parses the operator's command line.
 *
 * @example
 * ```ts
 * import { parseOptions } from "./options.ts";
 * const result = parseOptions(["--workers=8"], { version: "v0.1.0", defaultNamespace: "cloudshell" });
 * if (result.kind === "run") console.log(result.options.workers); // 8
 * ```
 *
 * @param argv the arguments after the program name
 * @param context version, default namespace and program name
 */
export function parseOptions(argv: readonly string[], context: ParseContext): ParseResult {
  const gates = newFeatureGates();
  const name = context.programName ?? "cloudshell-operator";
  const parsed = newParser(context, gates).parse(argv);
  if (parsed.kind === "help" || parsed.kind === "version") {
    return { kind: "exit", code: 0, output: parsed.output };
  }
  if (parsed.kind === "error") return usageError(parsed.message);
  try {
    if (parsed.flags.operands.length > 0) {
      throw new FlagError(`Unexpected argument "${parsed.flags.operands[0]}": ${name} takes flags only`);
    }
    return { kind: "run", options: toOptions(new FlagValues(parsed.flags), gates) };
  } catch (err) {
    if (err instanceof FlagError) return usageError(err.message);
    throw err;
  }
}

function usageError(message: string): ParseResult {
  return {
    kind: "exit",
    code: 2,
    output: `Error: ${message}\nRun with --help to see all flags and defaults\n`,
  };
}

function newParser(context: ParseContext, gates: FeatureGates): FlagParser {
  const specs: FlagSpec[] = [];
  for (const [group, rows] of Object.entries(flagTable(context, gates))) {
    for (const [flags, help, defaultValue, shown] of rows) {
      const long = /--[\w-]+/.exec(flags)?.[0] ?? flags;
      specs.push({ flags, help, group, defaultValue, shown, repeatable: REPEATABLE.has(long) });
    }
  }
  return new FlagParser({
    name: context.programName ?? "cloudshell-operator",
    description: "Kubernetes operator that turns CloudShell resources into browser terminals.",
    version: context.version,
    helpWidth: HELP_WIDTH,
  }, specs);
}

/** One flag for `--help`: flags, description, default value, default as described (when not the value). */
type FlagRow = [flags: string, help: string, defaultValue?: string, shown?: string];

function flagTable(context: ParseContext, gates: FeatureGates): Record<string, FlagRow[]> {
  const gateList = gates.knownFeatures().map((line) => `  ${line}`).join("\n");
  const ns = "the operator namespace";
  const upstreamKey = UPSTREAM_JOB_TEMPLATE_KEY;
  // deno-fmt-ignore
  return {
    "Kubernetes API:": [
      ["--kubeconfig <path>", "kubeconfig file, for running outside the cluster", "", "$KUBECONFIG, else in-cluster, else ~/.kube/config"],
      ["--context <name>", "kubeconfig context to use", "", "the current context"],
      ["--master <url>", "API server address, overrides the kubeconfig (for CloudTTY compatibility)"],
      ["--kube-api-qps <float>",
        "steady queries per second to the API server, > 0; -1: no client-side throttle, the API server's " +
        "Priority and Fairness sets the pace (its 429 answers are retried after Retry-After)", "-1"],
      ["--kube-api-burst <int>", "queries allowed in a burst above --kube-api-qps, >= 1; unused at -1", "100"],
    ],
    "CloudShell:": [
      ["--feature-gates <list>", `Name=true|false pairs, comma-separated; gates:\n${gateList}`],
      ["--job-template-configmap <[namespace/]name>",
        `ConfigMap holding the Job template; the namespace defaults to ${ns}`,
        DEFAULT_JOB_TEMPLATE_CONFIGMAP],
      ["--job-template-key <key>",
        `key of the Job template in that ConfigMap; when it is absent, CloudTTY's key ${upstreamKey} is read`,
        DEFAULT_JOB_TEMPLATE_KEY],
      ["--cloudshell-image <image>",
        "terminal image for CloudShells without spec.image", DEFAULT_CLOUDSHELL_IMAGE],
      ["--cloudshell-image-pull-policy <policy>",
        "imagePullPolicy of every terminal container: Always, IfNotPresent or Never", "", "the template's"],
      ["--cloudshell-image-pull-secrets <list>",
        "repeatable: Secrets in each CloudShell's namespace that terminal pods pull their image with, comma-separated"],
      ["--cloudshell-node-selector <k=v[,k=v]>",
        "repeatable: node labels every terminal pod is scheduled by, over the template's (as CloudTTY)"],
      ["--cloudshell-resources <json>",
        'resources of every terminal container, as CloudTTY: {"requests":{"cpu":"100m"},"limits":{...}}',
        "", "the template's"],
      ["--kubeconfig-clusterrole <name>",
        "ClusterRole bound to a per-CloudShell ServiceAccount when the CloudShell gives no kubeconfig " +
          "(deploy/'s cloudshell-terminal is view without pods/log)",
        "view"],
      ["--terminal-identity <mode>",
        "who a terminal without a kubeconfig acts as: serviceaccount (its own, bound to --kubeconfig-clusterrole), " +
        "or creator (impersonates spec.creator; needs deploy/components/identity)", "serviceaccount"],
      ["--terminal-api-server <url>",
        "API server URL written into creator-mode kubeconfigs, as terminal pods reach it", "",
        "the operator's own (in a cluster: the kubernetes Service, as for every pod)"],
      ["--allow-env-value-from <list>",
        `spec.env valueFrom sources that read other objects and are allowed anyway, comma-separated: ${
          OPT_IN_ENV_SOURCES.join(", ")}; fieldRef and resourceFieldRef are always allowed`,
        "", "none"],
      ["--node-port-host <host>", "external host in NodePort access URLs", "", "the node's address"],
      ["--workers <n>", "CloudShells reconciled concurrently, 1 to 256", "16"],
      ["--pending-status-delay <duration>",
        "how long a new CloudShell waits for its terminal before its status reports the wait", "30s"],
      ["--watch-namespace <namespace>", "watch CloudShells in this namespace only", "", "all namespaces"],
      ["--operator-namespace <namespace>", "namespace the operator runs in", context.defaultNamespace],
    ],
    "Terminal access:": [
      ["--terminal-check-origin [bool]",
        "ttyd refuses WebSocket connections whose Origin is not the page's own host", "true"],
      ["--terminal-credential <mode>",
        "login for shells without TTYD_CREDENTIAL: generated (per shell, in a Secret it owns; what the chart " +
        "and deploy/ set), or none (CloudTTY's open terminals)", "none"],
      ["--terminal-auth-header <name>",
        "an authenticating proxy in front of the terminals sets this HTTP header once it has logged the user in; " +
        "ttyd refuses requests without it (407). Only with a NetworkPolicy that admits the proxy alone", "",
        "none"],
      ["--terminal-ping-interval <duration>",
        "WebSocket ping interval of ttyd, below the idle timeouts of proxies", "30s"],
      ["--network-policy-cidr <cidr>",
        "repeatable: an IP block allowed to reach terminals; with this or the next flag, each shell gets a " +
        "NetworkPolicy admitting only these sources, to port 7681"],
      ["--network-policy-namespace <k=v[,k=v]>",
        "repeatable: labels of namespaces whose pods may reach terminals (e.g. an ingress controller's)"],
    ],
    "Tenants:": [
      ["--route-namespaces <list>",
        "namespaces besides a CloudShell's own where its VirtualService may live, comma-separated; * allows any",
        "", "none"],
      ["--ingress-annotations-allowed <list>",
        "ingressConfig.annotations keys CloudShells may set, comma-separated; key* is a prefix, * allows all, empty none",
        DEFAULT_INGRESS_ANNOTATIONS.join(","), "the two ingress-nginx proxy timeouts"],
      ["--use-existing-route-objects [bool]",
        "add routes to Ingresses and VirtualServices that the operator did not create (as CloudTTY did)", "false"],
      ["--ingress-host-pattern <pattern>",
        "host of each CloudShell's Ingress rule, with {name} and {namespace} and a '.' between them (one " +
        "origin per shell), e.g. {name}.{namespace}.shells.example.com; a plain host: one host and origin " +
        "for all; *: rules without a host, as CloudTTY (one origin for all)", "",
        "none: Ingress shells must name an allowed host"],
      ["--ingress-hosts-allowed <list>",
        "ingressConfig.host values CloudShells may set, comma-separated; *.domain allows its subdomains, * any",
        "", "none"],
      ["--ingress-classes-allowed <list>",
        "ingressConfig.ingressClassName values CloudShells may set, comma-separated; * allows any", "",
        "none: the cluster's default class"],
      ["--virtual-service-host-pattern <pattern>",
        "host of each CloudShell's VirtualService, as --ingress-host-pattern; *: hosts [\"*\"], as CloudTTY", "",
        "none: VirtualService shells are refused"],
      ["--virtual-service-gateways-allowed <list>",
        "virtualServiceConfig.gateway values (namespace/name) CloudShells may set, comma-separated; * any", "",
        "none"],
      ["--virtual-service-export-to-allowed <list>",
        "virtualServiceConfig.export_to values CloudShells may set, comma-separated; * allows any", "", "none"],
      ["--default-ttl <duration>", "session length of CloudShells that set no TTL", "", "none"],
      ["--max-ttl <duration>", "longest session; longer TTLs are cut to it", "", "none"],
      ["--admission-policy <name>",
        "the ValidatingAdmissionPolicy (and binding of the same name) that checks CloudShell creators may read " +
        "what their shells name", "cloudshell-creator-can-read"],
      ["--require-admission-policy [bool]",
        "start no CloudShell that names a Secret or ConfigMap while that policy is not in force; false trusts " +
        "every CloudShell creator with the Secrets of their namespace", "true"],
    ],
    "Sessions:": [
      ["--default-idle-timeout <duration>",
        "end CloudShells that set no idleTimeoutSeconds after this long with no client connected; 0 never", "30m"],
      ["--max-idle-timeout <duration>",
        "longest idle timeout, also for CloudShells that turn theirs off", "", "none"],
      ["--session-warning <duration>", "how long before its TTL runs out a terminal warns its users", "5m"],
    ],
    "Leader election:": [
      ["--leader-elect [bool]", "elect a leader so that only one replica acts", "true"],
      ["--leader-elect-lease-duration <duration>",
        "how long other replicas wait before taking over a lease that was not renewed", "15s"],
      ["--leader-elect-renew-deadline <duration>",
        "how long the leader tries to renew before giving up", "10s"],
      ["--leader-elect-retry-period <duration>", "wait between tries to acquire or renew the lease", "2s"],
      ["--leader-elect-resource-name <name>", "name of the Lease", "cloudshell-operator"],
      ["--leader-elect-resource-namespace <namespace>", "namespace of the Lease", "", ns],
    ],
    "Serving:": [
      ["--metrics-bind-address <host:port>", "address of the /metrics endpoint, 0 disables it", ":8080"],
      ["--health-probe-bind-address <host:port>", "address of /healthz and /readyz, 0 disables it", ":8081"],
      ["--metrics-secure [bool]",
        "serve /metrics over HTTPS, only to bearer tokens allowed get on it (TokenReview, SubjectAccessReview)",
        "false"],
      ["--metrics-cert-dir <dir>", "tls.crt and tls.key of the --metrics-secure endpoint", "",
        "a self-signed certificate"],
      ["--shutdown-timeout <duration>", "how long to drain work after SIGTERM before exiting", "30s"],
    ],
    "Logging:": [
      ["--log-format <format>", `line format: ${LOG_FORMATS.join(" or ")}`, "text"],
      ["--log-level <level>", `lowest level logged: ${LOG_LEVELS.join(", ")}`, "info"],
      ["-v, --v <int>",
        "verbosity, for CloudTTY compatibility: 0-1 = info, 2+ = debug; --log-level wins", "0"],
    ],
  };
}

/** Typed access to the parsed flag values, by long flag name. */
class FlagValues {
  readonly #flags: ParsedFlags;

  constructor(flags: ParsedFlags) {
    this.#flags = flags;
  }

  /** The value of a string flag; an empty string counts as unset. */
  optional(flag: string): string | undefined {
    return this.#flags.values.get(this.#known(flag)) || undefined;
  }

  /** The value of a string flag with a default. */
  string(flag: string): string {
    const value = this.#flags.values.get(this.#known(flag));
    if (value === undefined) throw new Error(`Flag ${flag} has no default`);
    return value;
  }

  /** The value of a flag with an optional value; given without one, it reads `true`. */
  flagOrString(flag: string): string {
    return this.string(flag);
  }

  /** The values of a repeatable flag. */
  list(flag: string): string[] {
    return [...(this.#flags.lists.get(this.#known(flag)) ?? [])];
  }

  /** Whether the flag was given on the command line. */
  given(flag: string): boolean {
    return this.#flags.given.has(this.#known(flag));
  }

  #known(flag: string): string {
    if (!this.#flags.names.has(flag)) throw new Error(`Flag ${flag} is not registered`);
    return flag;
  }
}

function toOptions(flags: FlagValues, gates: FeatureGates): Options {
  for (const list of flags.list("--feature-gates")) {
    try {
      gates.set(list);
    } catch (err) {
      if (err instanceof FeatureGateError) throw invalid("--feature-gates", list, lowerFirst(err.message));
      throw err;
    }
  }
  const operatorNamespace = namespace("--operator-namespace", flags.string("--operator-namespace"));
  const watched = flags.optional("--watch-namespace");
  const leaderElection = leaderElectionOptions(flags, operatorNamespace);
  return Object.freeze({
    kubeconfig: flags.optional("--kubeconfig"),
    context: flags.optional("--context"),
    master: noSpaces(
      "--master",
      flags.optional("--master"),
      "an API server URL such as https://10.0.0.1:6443",
    ),
    featureGates: gates,
    jobTemplateConfigMap: objectRef(flags.string("--job-template-configmap"), operatorNamespace),
    jobTemplateKey: configMapKey(flags.string("--job-template-key")),
    cloudshellImage: image(flags.string("--cloudshell-image")),
    terminalPod: terminalPodDefaults(flags),
    kubeconfigClusterRole: clusterRoleName(flags.string("--kubeconfig-clusterrole")),
    terminalIdentity: oneOf("--terminal-identity", flags.string("--terminal-identity"), TERMINAL_IDENTITIES),
    terminalApiServer: httpsUrl("--terminal-api-server", flags.optional("--terminal-api-server")),
    allowedEnvValueFrom: envSources(flags.optional("--allow-env-value-from")),
    nodePortHost: host(flags.optional("--node-port-host")),
    workers: integer("--workers", flags.string("--workers"), 1, 256),
    kubeApiQps: qps("--kube-api-qps", flags.string("--kube-api-qps")),
    kubeApiBurst: integer("--kube-api-burst", flags.string("--kube-api-burst"), 1),
    leaderElection,
    metricsBindAddress: bindAddress("--metrics-bind-address", flags.string("--metrics-bind-address")),
    healthProbeBindAddress: bindAddress(
      "--health-probe-bind-address",
      flags.string("--health-probe-bind-address"),
    ),
    ...metricsServing(flags),
    logFormat: oneOf("--log-format", flags.string("--log-format"), LOG_FORMATS),
    logLevel: logLevel(flags),
    watchNamespace: watched === undefined ? undefined : namespace("--watch-namespace", watched),
    operatorNamespace,
    shutdownTimeoutMs: duration("--shutdown-timeout", flags.string("--shutdown-timeout")),
    pendingStatusDelayMs: duration("--pending-status-delay", flags.string("--pending-status-delay")),
    terminalAccess: terminalAccessOptions(flags),
    ...tenantOptions(flags),
    sessions: sessionOptions(flags),
  });
}

function sessionOptions(flags: FlagValues): SessionOptions {
  const seconds = (flag: string, text: string) =>
    text === "0" ? 0 : Math.max(1, Math.floor(duration(flag, text) / 1000));
  const defaultIdleTimeoutSeconds = seconds("--default-idle-timeout", flags.string("--default-idle-timeout"));
  const max = flags.optional("--max-idle-timeout");
  const maxIdleTimeoutSeconds = max === undefined ? undefined : seconds("--max-idle-timeout", max);
  if (maxIdleTimeoutSeconds === 0) {
    invalid("--max-idle-timeout", max!, "expected a positive duration such as 1h");
  }
  if (maxIdleTimeoutSeconds !== undefined && defaultIdleTimeoutSeconds > maxIdleTimeoutSeconds) {
    throw new FlagError(
      `Invalid value "${
        flags.string("--default-idle-timeout")
      }" for flag --default-idle-timeout: it exceeds ` +
        `--max-idle-timeout (${max})`,
    );
  }
  return {
    defaultIdleTimeoutSeconds,
    maxIdleTimeoutSeconds,
    warnBeforeSeconds: seconds("--session-warning", flags.string("--session-warning")),
  };
}

function tenantOptions(flags: FlagValues) {
  const routeNamespaces = list(flags.string("--route-namespaces"));
  for (const ns of routeNamespaces) {
    if (ns !== "*") namespace("--route-namespaces", ns);
  }
  const annotations = list(flags.string("--ingress-annotations-allowed"));
  for (const entry of annotations) {
    const key = entry.endsWith("*") ? entry.slice(0, -1) : entry;
    if (/[\s*,"]/.test(key) || (!entry.endsWith("*") && !ANNOTATION_KEY.test(key))) {
      invalid(
        "--ingress-annotations-allowed",
        entry,
        "expected annotation keys such as example.com/name, or a prefix ending in * such as example.com/*",
      );
    }
  }
  const useExisting = boolFlag(flags, "--use-existing-route-objects");
  const ttl = (flag: string) => {
    const text = flags.optional(flag);
    if (text === undefined) return undefined;
    const ms = duration(flag, text);
    if (ms < 1000) invalid(flag, text, "expected at least 1s");
    return Math.floor(ms / 1000);
  };
  const defaultTtlSeconds = ttl("--default-ttl");
  const maxTtlSeconds = ttl("--max-ttl");
  if (defaultTtlSeconds !== undefined && maxTtlSeconds !== undefined && defaultTtlSeconds > maxTtlSeconds) {
    throw new FlagError(
      `Invalid value "${flags.optional("--default-ttl")}" for flag --default-ttl: it exceeds --max-ttl ` +
        `(${flags.optional("--max-ttl")})`,
    );
  }
  return {
    routeNamespaces: Object.freeze(routeNamespaces),
    ingressAnnotationsAllowed: Object.freeze(annotations),
    routeHosts: routeHostOptions(flags),
    useExistingRouteObjects: useExisting,
    defaultTtlSeconds,
    maxTtlSeconds,
    admissionPolicy: Object.freeze({
      name: subdomain("--admission-policy", flags.string("--admission-policy")),
      required: boolFlag(flags, "--require-admission-policy"),
    }),
  };
}

function terminalPodDefaults(flags: FlagValues): TerminalPodDefaults {
  const policy = flags.optional("--cloudshell-image-pull-policy");
  if (policy !== undefined) {
    oneOf("--cloudshell-image-pull-policy", policy, ["Always", "IfNotPresent", "Never"]);
  }
  const secrets = flags.list("--cloudshell-image-pull-secrets").flatMap(list);
  for (const name of secrets) subdomain("--cloudshell-image-pull-secrets", name);
  const nodeSelector: Record<string, string> = {};
  for (const text of flags.list("--cloudshell-node-selector")) {
    for (const pair of list(text)) {
      const eq = pair.indexOf("=");
      const labelValue = /^([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?$/;
      if (eq <= 0 || !ANNOTATION_KEY.test(pair.slice(0, eq)) || !labelValue.test(pair.slice(eq + 1))) {
        invalid("--cloudshell-node-selector", pair, "expected label=value pairs such as pool=terminals");
      }
      nodeSelector[pair.slice(0, eq)] = pair.slice(eq + 1);
    }
  }
  const resourcesText = flags.optional("--cloudshell-resources");
  return Object.freeze({
    imagePullPolicy: policy,
    imagePullSecrets: Object.freeze(secrets),
    nodeSelector: Object.freeze(nodeSelector),
    resources: resourcesText === undefined ? undefined : resourceRequirements(resourcesText),
  });
}

/** A core/v1 ResourceRequirements from JSON: `requests` and `limits`, each a map of quantities. */
function resourceRequirements(text: string): Record<string, Record<string, string>> {
  const expected =
    'expected JSON such as {"requests":{"cpu":"100m","memory":"128Mi"},"limits":{"memory":"1Gi"}}';
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    invalid("--cloudshell-resources", text, expected);
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    invalid("--cloudshell-resources", text, expected);
  }
  const out: Record<string, Record<string, string>> = {};
  for (const [section, quantities] of Object.entries(value)) {
    if (!["requests", "limits"].includes(section)) invalid("--cloudshell-resources", text, expected);
    if (typeof quantities !== "object" || quantities === null || Array.isArray(quantities)) {
      invalid("--cloudshell-resources", text, expected);
    }
    out[section] = {};
    for (const [name, quantity] of Object.entries(quantities)) {
      if (!/^[+]?[0-9.]+([eE][+-]?[0-9]+|[a-zA-Z]{0,2})?$/.test(String(quantity))) {
        invalid("--cloudshell-resources", text, `"${quantity}" is not a quantity; ${expected}`);
      }
      out[section][name] = String(quantity);
    }
  }
  return out;
}

function metricsServing(flags: FlagValues) {
  const metricsSecure = boolFlag(flags, "--metrics-secure");
  const metricsCertDir = flags.optional("--metrics-cert-dir");
  if (metricsCertDir !== undefined && !metricsSecure) {
    throw new FlagError("Flag --metrics-cert-dir needs --metrics-secure=true");
  }
  const metrics = flags.string("--metrics-bind-address");
  if (metricsSecure && metrics !== "0" && metrics === flags.string("--health-probe-bind-address")) {
    throw new FlagError(
      `Flag --metrics-secure needs --metrics-bind-address (${metrics}) to differ from ` +
        "--health-probe-bind-address: probes stay plain HTTP",
    );
  }
  return { metricsSecure, metricsCertDir };
}

function routeHostOptions(flags: FlagValues): RouteHostOptions {
  const pattern = (flag: string) => {
    const text = flags.optional(flag);
    if (text === undefined) return undefined;
    const parsed = parseHostPattern(text);
    return typeof parsed === "string" ? invalid(flag, text, parsed) : Object.freeze(parsed);
  };
  const values = (flag: string, valid: RegExp, expected: string) => {
    const items = list(flags.string(flag));
    for (const item of items) if (item !== "*" && !valid.test(item)) invalid(flag, item, expected);
    return Object.freeze(items);
  };
  const host = /^(\*\.)?[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
  return Object.freeze({
    ingressHostPattern: pattern("--ingress-host-pattern"),
    virtualServiceHostPattern: pattern("--virtual-service-host-pattern"),
    ingressHostsAllowed: values(
      "--ingress-hosts-allowed",
      host,
      "expected hosts such as shells.example.com, " +
        "*.shells.example.com or *",
    ),
    ingressClassesAllowed: values(
      "--ingress-classes-allowed",
      DNS_SUBDOMAIN,
      "expected IngressClass names or *",
    ),
    virtualServiceGatewaysAllowed: values(
      "--virtual-service-gateways-allowed",
      /^([a-z0-9]([-a-z0-9]*[a-z0-9])?\/)?[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/,
      "expected gateways as namespace/name, or *",
    ),
    virtualServiceExportToAllowed: values(
      "--virtual-service-export-to-allowed",
      /^(\.|[a-z0-9]([-a-z0-9]*[a-z0-9])?)$/,
      "expected namespaces, ., or *",
    ),
  });
}

/** A comma-separated flag value as its non-empty items. */
function list(text: string): string[] {
  return text.split(",").map((s) => s.trim()).filter((s) => s !== "");
}

function leaderElectionOptions(flags: FlagValues, operatorNamespace: string): LeaderElectionOptions {
  const enabled = boolFlag(flags, "--leader-elect");
  const lease = flags.string("--leader-elect-lease-duration");
  const renew = flags.string("--leader-elect-renew-deadline");
  const retry = flags.string("--leader-elect-retry-period");
  const options: LeaderElectionOptions = Object.freeze({
    enabled,
    leaseDurationMs: duration("--leader-elect-lease-duration", lease),
    renewDeadlineMs: duration("--leader-elect-renew-deadline", renew),
    retryPeriodMs: duration("--leader-elect-retry-period", retry),
    resourceName: subdomain("--leader-elect-resource-name", flags.string("--leader-elect-resource-name")),
    resourceNamespace: namespace(
      "--leader-elect-resource-namespace",
      flags.optional("--leader-elect-resource-namespace") ?? operatorNamespace,
    ),
  });
  if (!enabled) return options;
  if (options.leaseDurationMs <= options.renewDeadlineMs) {
    throw new FlagError(
      `Invalid leader election timing: --leader-elect-lease-duration (${lease}) must be greater than ` +
        `--leader-elect-renew-deadline (${renew})`,
    );
  }
  if (options.renewDeadlineMs <= 1.2 * options.retryPeriodMs) {
    throw new FlagError(
      `Invalid leader election timing: --leader-elect-renew-deadline (${renew}) must be greater than ` +
        `1.2 times --leader-elect-retry-period (${retry})`,
    );
  }
  return options;
}

function terminalAccessOptions(flags: FlagValues): TerminalAccessOptions {
  const checkOrigin = boolFlag(flags, "--terminal-check-origin");
  const pingText = flags.string("--terminal-ping-interval");
  const pingMs = duration("--terminal-ping-interval", pingText);
  if (pingMs % 1000 !== 0) {
    invalid("--terminal-ping-interval", pingText, "expected whole seconds such as 30s");
  }
  const authHeader = flags.optional("--terminal-auth-header");
  if (authHeader !== undefined && !/^[A-Za-z0-9!#$%&'*+.^_`|~-]{1,128}$/.test(authHeader)) {
    invalid("--terminal-auth-header", authHeader, "expected an HTTP header name such as X-Forwarded-User");
  }
  return Object.freeze({
    checkOrigin,
    authHeader,
    pingIntervalSeconds: pingMs / 1000,
    credential: oneOf("--terminal-credential", flags.string("--terminal-credential"), ["none", "generated"]),
    networkPolicy: Object.freeze({
      cidrs: flags.list("--network-policy-cidr").map(cidr),
      namespaceSelectors: flags.list("--network-policy-namespace").map(labelSelector),
    }),
  });
}

function cidr(text: string): string {
  const match = /^([0-9.]+|[0-9a-fA-F:]+)\/(\d{1,3})$/.exec(text);
  const v4 = match?.[1].includes(".");
  const bits = Number(match?.[2]);
  const ok = match !== null &&
    (v4
      ? match[1].split(".").length === 4 && match[1].split(".").every((o) =>
        /^\d{1,3}$/.test(o) && Number(o) < 256
      ) &&
        bits <= 32
      : match[1].includes(":") && bits <= 128);
  if (!ok) invalid("--network-policy-cidr", text, "expected an IP block such as 10.0.0.0/8 or 2001:db8::/32");
  return text;
}

function labelSelector(text: string): Readonly<Record<string, string>> {
  const labels: Record<string, string> = {};
  for (const pair of text.split(",")) {
    const [key, value, ...rest] = pair.split("=");
    const keyOk = key !== undefined && /^([a-z0-9.-]+\/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/.test(key);
    const valueOk = value !== undefined && /^([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?$/.test(value);
    if (!keyOk || !valueOk || rest.length > 0 || key.length > 316 || value.length > 63) {
      invalid("--network-policy-namespace", text, "expected namespace labels as key=value[,key=value]");
    }
    labels[key] = value;
  }
  return Object.freeze(labels);
}

function logLevel(flags: FlagValues): LogLevel {
  const level = oneOf("--log-level", flags.string("--log-level"), LOG_LEVELS);
  const verbosityText = flags.string("--v").replace(/^=/, "");
  const verbosity = integer("--v", verbosityText, 0);
  if (flags.given("--log-level") || !flags.given("--v")) return level;
  return verbosity >= 2 ? "debug" : "info";
}

/** A `[bool]` flag: given alone it is true, else its value must be true or false. */
function boolFlag(flags: FlagValues, flag: string): boolean {
  const text = flags.flagOrString(flag);
  const value = parseBool(text);
  if (value === undefined) invalid(flag, text, "expected true or false");
  return value;
}

function invalid(flag: string, value: string, expected: string): never {
  throw new FlagError(`Invalid value "${value}" for flag ${flag}: ${expected}`);
}

function integer(flag: string, text: string, min: number, max?: number): number {
  const value = Number(text);
  const range = max === undefined ? `of at least ${min}` : `from ${min} to ${max}`;
  if (
    !INTEGER.test(text) || !Number.isSafeInteger(value) || value < min || (max !== undefined && value > max)
  ) {
    invalid(flag, text, `expected an integer ${range}`);
  }
  return value;
}

/** A rate: a number > 0, or -1 (as client-go, any negative number) for none. */
function qps(flag: string, text: string): number {
  const value = Number(text);
  if (!FLOAT.test(text) || !Number.isFinite(value) || value === 0) {
    invalid(flag, text, "expected a number greater than 0, or -1 for no client-side throttle");
  }
  return value < 0 ? -1 : value;
}

function duration(flag: string, text: string): number {
  let value: number;
  try {
    value = parseDuration(text);
  } catch (err) {
    if (err instanceof DurationError) invalid(flag, text, err.detail);
    throw err;
  }
  if (value <= 0) invalid(flag, text, "expected a positive duration such as 15s");
  return value;
}

function oneOf<T extends string>(flag: string, text: string, allowed: readonly T[]): T {
  const match = allowed.find((item) => item === text);
  return match ?? invalid(flag, text, `expected one of ${allowed.join(", ")}`);
}

function namespace(flag: string, text: string): string {
  if (text.length > 63 || !DNS_LABEL.test(text)) {
    invalid(
      flag,
      text,
      "expected a namespace name (lowercase letters, digits and '-', at most 63 characters)",
    );
  }
  return text;
}

function subdomain(flag: string, text: string): string {
  if (text.length > 253 || !DNS_SUBDOMAIN.test(text)) {
    invalid(flag, text, "expected a DNS subdomain name (lowercase letters, digits, '-' and '.')");
  }
  return text;
}

function objectRef(text: string, defaultNamespace: string): ObjectRef {
  const flag = "--job-template-configmap";
  const parts = text.split("/");
  if (parts.length > 2) invalid(flag, text, "expected a ConfigMap as name or namespace/name");
  const [ns, name] = parts.length === 2 ? parts : [defaultNamespace, parts[0]];
  if (ns.length > 63 || !DNS_LABEL.test(ns)) {
    invalid(flag, text, `namespace "${ns}" is not a valid namespace name`);
  }
  if (name.length > 253 || !DNS_SUBDOMAIN.test(name)) {
    invalid(flag, text, `name "${name}" is not a valid ConfigMap name`);
  }
  return Object.freeze({ namespace: ns, name });
}

function configMapKey(text: string): string {
  if (text.length > 253 || !CONFIGMAP_KEY.test(text) || text === "." || text.startsWith("..")) {
    invalid("--job-template-key", text, "expected a ConfigMap key (letters, digits, '-', '_' and '.')");
  }
  return text;
}

function clusterRoleName(text: string): string {
  if (text === "" || text === "." || text === ".." || /[/%]/.test(text)) {
    invalid("--kubeconfig-clusterrole", text, "expected a ClusterRole name");
  }
  return text;
}

function envSources(text: string | undefined): readonly string[] {
  if (text === undefined) return Object.freeze([]);
  const sources = text.split(",").map((s) => s.trim());
  for (const source of sources) {
    if (!OPT_IN_ENV_SOURCES.includes(source)) {
      invalid(
        "--allow-env-value-from",
        text,
        `expected a comma-separated list of ${OPT_IN_ENV_SOURCES.join(", ")}`,
      );
    }
  }
  return Object.freeze([...new Set(sources)]);
}

function noSpaces(flag: string, text: string | undefined, expected: string): string | undefined {
  if (text !== undefined && /\s/.test(text)) invalid(flag, text, `expected ${expected}`);
  return text;
}

function httpsUrl(flag: string, text: string | undefined): string | undefined {
  if (text === undefined) return undefined;
  let url: URL | undefined;
  try {
    url = new URL(text);
  } catch {
    url = undefined;
  }
  if (url?.protocol !== "https:" || url.username || url.password || /\s/.test(text)) {
    invalid(flag, text, "expected an https:// URL such as https://kubernetes.default.svc");
  }
  return text;
}

function image(text: string): string {
  if (text === "" || /\s/.test(text)) {
    invalid("--cloudshell-image", text, `expected an image reference such as ${DEFAULT_CLOUDSHELL_IMAGE}`);
  }
  return text;
}

function host(text: string | undefined): string | undefined {
  if (text !== undefined && /[\s/]/.test(text)) {
    invalid("--node-port-host", text, "expected a host name or IP address, without scheme or path");
  }
  return text;
}

function bindAddress(flag: string, text: string): BindAddress | undefined {
  if (text === "0") return undefined;
  const match = /^(?:\[([^\]]*)\]|([^:[\]\s/]*)):(\d{1,5})$/.exec(text);
  const port = Number(match?.[3]);
  if (!match || port > 65535) {
    invalid(flag, text, "expected host:port such as :8080 or 127.0.0.1:8080, or 0 to disable");
  }
  const hostname = match[1] ?? match[2];
  return Object.freeze({ address: text, hostname: hostname === "" ? "0.0.0.0" : hostname, port });
}

function lowerFirst(text: string): string {
  return text.charAt(0).toLowerCase() + text.slice(1);
}
