import assert from "node:assert/strict";
import { ALLOW_SECRET_STORE_KUBECONFIG, newFeatureGates } from "../controller/cloudshell/features.ts";
import {
  DEFAULT_CLOUDSHELL_IMAGE,
  type Options,
  type ParseContext,
  parseOptions,
  type ParseResult,
} from "../controller/options.ts";
import { FeatureGates } from "../controller/runtime/feature_gates.ts";

const CONTEXT: ParseContext = { version: "v1.2.3-test", defaultNamespace: "cloudshell-system" };
const HINT = "Run with --help to see all flags and defaults";

function run(argv: string[], context: ParseContext = CONTEXT): Options {
  const result = parseOptions(argv, context);
  if (result.kind !== "run") {
    assert.fail(`expected options for ${JSON.stringify(argv)}, got:\n${result.output}`);
  }
  return result.options;
}

function exit(argv: string[], context: ParseContext = CONTEXT): Extract<ParseResult, { kind: "exit" }> {
  const result = parseOptions(argv, context);
  if (result.kind !== "exit") assert.fail(`expected an exit for ${JSON.stringify(argv)}`);
  return result;
}

/** Options without the FeatureGates instance, for deepEqual. */
function plain(options: Options): Record<string, unknown> {
  const { featureGates: _, ...rest } = options;
  return rest;
}

Deno.test("parseOptions() defaults", () => {
  const options = run([]);
  assert.deepEqual(plain(options), {
    kubeconfig: undefined,
    context: undefined,
    master: undefined,
    jobTemplateConfigMap: { namespace: "cloudshell-system", name: "cloudshell-job-template" },
    jobTemplateKey: "job-template.yaml",
    cloudshellImage: "ghcr.io/cloudtty/cloudshell:v0.8.9",
    terminalPod: { imagePullPolicy: undefined, imagePullSecrets: [], nodeSelector: {}, resources: undefined },
    kubeconfigClusterRole: "view",
    terminalIdentity: "serviceaccount",
    terminalApiServer: undefined,
    routeHosts: {
      ingressHostPattern: undefined,
      virtualServiceHostPattern: undefined,
      ingressHostsAllowed: [],
      ingressClassesAllowed: [],
      virtualServiceGatewaysAllowed: [],
      virtualServiceExportToAllowed: [],
    },
    allowedEnvValueFrom: [],
    nodePortHost: undefined,
    workers: 16,
    kubeApiQps: -1,
    kubeApiBurst: 100,
    leaderElection: {
      enabled: true,
      leaseDurationMs: 15_000,
      renewDeadlineMs: 10_000,
      retryPeriodMs: 2_000,
      resourceName: "cloudshell-operator",
      resourceNamespace: "cloudshell-system",
    },
    metricsBindAddress: { address: ":8080", hostname: "0.0.0.0", port: 8080 },
    healthProbeBindAddress: { address: ":8081", hostname: "0.0.0.0", port: 8081 },
    metricsSecure: false,
    metricsCertDir: undefined,
    logFormat: "text",
    logLevel: "info",
    watchNamespace: undefined,
    operatorNamespace: "cloudshell-system",
    shutdownTimeoutMs: 30_000,
    pendingStatusDelayMs: 30_000,
    terminalAccess: {
      checkOrigin: true,
      authHeader: undefined,
      credential: "none",
      pingIntervalSeconds: 30,
      networkPolicy: { cidrs: [], namespaceSelectors: [] },
    },
    routeNamespaces: [],
    ingressAnnotationsAllowed: [
      "nginx.ingress.kubernetes.io/proxy-read-timeout",
      "nginx.ingress.kubernetes.io/proxy-send-timeout",
    ],
    useExistingRouteObjects: false,
    defaultTtlSeconds: undefined,
    maxTtlSeconds: undefined,
    admissionPolicy: { name: "cloudshell-creator-can-read", required: true },
    sessions: { defaultIdleTimeoutSeconds: 1800, maxIdleTimeoutSeconds: undefined, warnBeforeSeconds: 300 },
  });
  assert.equal(options.cloudshellImage, DEFAULT_CLOUDSHELL_IMAGE);
  assert.ok(options.featureGates instanceof FeatureGates);
  assert.deepEqual(options.featureGates.effective(), { [ALLOW_SECRET_STORE_KUBECONFIG]: true });
  assert.deepEqual(options.featureGates.warnings(), []);
});

Deno.test("parseOptions() returns deeply frozen options", () => {
  const options = run([]);
  assert.ok(Object.isFrozen(options));
  assert.ok(Object.isFrozen(options.leaderElection));
  assert.ok(Object.isFrozen(options.jobTemplateConfigMap));
  assert.ok(Object.isFrozen(options.metricsBindAddress));
  assert.ok(Object.isFrozen(options.healthProbeBindAddress));
  assert.ok(Object.isFrozen(options.routeNamespaces));
  assert.ok(Object.isFrozen(options.ingressAnnotationsAllowed));
  assert.throws(() => {
    (options as { workers: number }).workers = 9;
  }, TypeError);
});

Deno.test("parseOptions() reads each flag", async (t) => {
  const cases: [string[], (o: Options) => unknown, unknown][] = [
    [["--kubeconfig", "/tmp/kc"], (o) => o.kubeconfig, "/tmp/kc"],
    [["--kubeconfig="], (o) => o.kubeconfig, undefined],
    [["--context=kind-dev"], (o) => o.context, "kind-dev"],
    [["--require-admission-policy=false"], (o) => o.admissionPolicy, {
      name: "cloudshell-creator-can-read",
      required: false,
    }],
    [["--admission-policy=mine"], (o) => o.admissionPolicy.name, "mine"],
    [["--master", "https://10.0.0.1:6443"], (o) => o.master, "https://10.0.0.1:6443"],
    [["--job-template-configmap", "tpl"], (o) => o.jobTemplateConfigMap, {
      namespace: "cloudshell-system",
      name: "tpl",
    }],
    [["--job-template-configmap=ops/tpl.v2"], (o) => o.jobTemplateConfigMap, {
      namespace: "ops",
      name: "tpl.v2",
    }],
    [["--job-template-key", "job-temp.yaml"], (o) => o.jobTemplateKey, "job-temp.yaml"],
    [["--route-namespaces=istio-system, shared ,"], (o) => o.routeNamespaces, ["istio-system", "shared"]],
    [["--route-namespaces=*"], (o) => o.routeNamespaces, ["*"]],
    [["--ingress-annotations-allowed="], (o) => o.ingressAnnotationsAllowed, []],
    [["--ingress-annotations-allowed=a.example.com/*,b"], (o) => o.ingressAnnotationsAllowed, [
      "a.example.com/*",
      "b",
    ]],
    [["--use-existing-route-objects"], (o) => o.useExistingRouteObjects, true],
    [["--use-existing-route-objects=false"], (o) => o.useExistingRouteObjects, false],
    [["--default-ttl=10m", "--max-ttl=8h"], (o) => [o.defaultTtlSeconds, o.maxTtlSeconds], [600, 28_800]],
    [
      ["--default-idle-timeout=0", "--max-idle-timeout=2h", "--session-warning=90s"],
      (
        o,
      ) => [
        o.sessions.defaultIdleTimeoutSeconds,
        o.sessions.maxIdleTimeoutSeconds,
        o.sessions.warnBeforeSeconds,
      ],
      [0, 7200, 90],
    ],
    [["--max-ttl=90.5s"], (o) => o.maxTtlSeconds, 90],
    [
      ["--cloudshell-image=registry.local/shell@sha256:abc"],
      (o) => o.cloudshellImage,
      "registry.local/shell@sha256:abc",
    ],
    [["--kubeconfig-clusterrole", "edit"], (o) => o.kubeconfigClusterRole, "edit"],
    [["--terminal-identity=creator"], (o) => o.terminalIdentity, "creator"],
    [["--terminal-api-server=https://10.0.0.1:443"], (o) => o.terminalApiServer, "https://10.0.0.1:443"],
    [
      ["--kubeconfig-clusterrole", "system:aggregate-to-view"],
      (o) => o.kubeconfigClusterRole,
      "system:aggregate-to-view",
    ],
    [["--allow-env-value-from", "secretKeyRef"], (o) => o.allowedEnvValueFrom, ["secretKeyRef"]],
    [
      ["--allow-env-value-from=configMapKeyRef,secretKeyRef,configMapKeyRef"],
      (o) => o.allowedEnvValueFrom,
      ["configMapKeyRef", "secretKeyRef"],
    ],
    [["--node-port-host", "shell.example.com"], (o) => o.nodePortHost, "shell.example.com"],
    [["--node-port-host", "203.0.113.7"], (o) => o.nodePortHost, "203.0.113.7"],
    [["--workers", "1"], (o) => o.workers, 1],
    [["--workers=256"], (o) => o.workers, 256],
    [["--workers", "8", "--workers", "16"], (o) => o.workers, 16],
    [["--kube-api-qps", "0.5"], (o) => o.kubeApiQps, 0.5],
    [["--kube-api-qps", "1e3"], (o) => o.kubeApiQps, 1000],
    [["--kube-api-qps=-1"], (o) => o.kubeApiQps, -1],
    // client-go's reading: any negative rate is no throttle.
    [["--kube-api-qps", "-5"], (o) => o.kubeApiQps, -1],
    [["--kube-api-burst", "1"], (o) => o.kubeApiBurst, 1],
    [["--leader-elect-lease-duration=1m", "--leader-elect-renew-deadline=45s"], (o) => [
      o.leaderElection.leaseDurationMs,
      o.leaderElection.renewDeadlineMs,
    ], [60_000, 45_000]],
    [["--leader-elect-retry-period", "500ms"], (o) => o.leaderElection.retryPeriodMs, 500],
    [["--leader-elect-resource-name", "my-lease"], (o) => o.leaderElection.resourceName, "my-lease"],
    [
      ["--leader-elect-resource-namespace", "kube-system"],
      (o) => o.leaderElection.resourceNamespace,
      "kube-system",
    ],
    [["--metrics-bind-address", "0"], (o) => o.metricsBindAddress, undefined],
    [["--health-probe-bind-address=0"], (o) => o.healthProbeBindAddress, undefined],
    [["--metrics-bind-address", ":0"], (o) => o.metricsBindAddress, {
      address: ":0",
      hostname: "0.0.0.0",
      port: 0,
    }],
    [["--metrics-bind-address", "127.0.0.1:9090"], (o) => o.metricsBindAddress, {
      address: "127.0.0.1:9090",
      hostname: "127.0.0.1",
      port: 9090,
    }],
    [["--health-probe-bind-address", "[::1]:8081"], (o) => o.healthProbeBindAddress, {
      address: "[::1]:8081",
      hostname: "::1",
      port: 8081,
    }],
    [["--metrics-bind-address", "localhost:65535"], (o) => o.metricsBindAddress?.port, 65535],
    [["--log-format", "json"], (o) => o.logFormat, "json"],
    [["--log-level=debug"], (o) => o.logLevel, "debug"],
    [["--log-level", "error"], (o) => o.logLevel, "error"],
    [["--watch-namespace", "team-a"], (o) => o.watchNamespace, "team-a"],
    [["--watch-namespace="], (o) => o.watchNamespace, undefined],
    [["--operator-namespace", "ops"], (o) => [
      o.operatorNamespace,
      o.jobTemplateConfigMap.namespace,
      o.leaderElection.resourceNamespace,
    ], ["ops", "ops", "ops"]],
    [["--shutdown-timeout", "1m30s"], (o) => o.shutdownTimeoutMs, 90_000],
    [["--pending-status-delay", "2s"], (o) => o.pendingStatusDelayMs, 2_000],
  ];
  for (const [argv, pick, expected] of cases) {
    await t.step(argv.join(" "), () => {
      assert.deepEqual(pick(run(argv)), expected);
    });
  }
});

Deno.test("parseOptions() takes the operator namespace default from the caller", () => {
  const options = run([], { version: "v0", defaultNamespace: "elsewhere" });
  assert.equal(options.operatorNamespace, "elsewhere");
  assert.equal(options.jobTemplateConfigMap.namespace, "elsewhere");
  assert.equal(options.leaderElection.resourceNamespace, "elsewhere");
});

Deno.test("parseOptions() accepts every --leader-elect spelling", async (t) => {
  const cases: [string[], boolean][] = [
    [[], true],
    [["--leader-elect"], true],
    [["--leader-elect=true"], true],
    [["--leader-elect=false"], false],
    [["--leader-elect", "false"], false],
    [["--leader-elect=0"], false],
    [["--leader-elect=True"], true],
    [["--leader-elect", "--workers", "2"], true],
    [["--leader-elect=false", "--leader-elect"], true],
  ];
  for (const [argv, expected] of cases) {
    await t.step(argv.join(" ") || "(none)", () => {
      assert.equal(run(argv).leaderElection.enabled, expected);
    });
  }
});

Deno.test("parseOptions() skips the timing rule when leader election is off", () => {
  const options = run(["--leader-elect=false", "--leader-elect-renew-deadline=1m"]);
  assert.equal(options.leaderElection.enabled, false);
  assert.equal(options.leaderElection.renewDeadlineMs, 60_000);
});

Deno.test("parseOptions() maps -v to a log level unless --log-level is given", async (t) => {
  const cases: [string[], string][] = [
    [[], "info"],
    [["-v", "0"], "info"],
    [["-v", "1"], "info"],
    [["-v", "2"], "debug"],
    [["-v2"], "debug"],
    [["-v=3"], "debug"],
    [["--v=2"], "debug"],
    [["--v", "10"], "debug"],
    [["--v=2", "--log-level=warn"], "warn"],
    [["--log-level=warn", "-v", "4"], "warn"],
    [["--log-level=debug", "--v=0"], "debug"],
  ];
  for (const [argv, expected] of cases) {
    await t.step(argv.join(" ") || "(none)", () => {
      assert.equal(run(argv).logLevel, expected);
    });
  }
});

Deno.test("parseOptions() applies --feature-gates, repeated flags accumulating", async (t) => {
  await t.step("one list", () => {
    const gates = run([`--feature-gates=${ALLOW_SECRET_STORE_KUBECONFIG}=false`]).featureGates;
    assert.equal(gates.enabled(ALLOW_SECRET_STORE_KUBECONFIG), false);
  });
  await t.step("repeated", () => {
    const gates = run([
      "--feature-gates",
      `${ALLOW_SECRET_STORE_KUBECONFIG}=false`,
      "--feature-gates",
      "AllAlpha=true",
    ]).featureGates;
    assert.equal(gates.enabled(ALLOW_SECRET_STORE_KUBECONFIG), false);
    assert.equal(gates.enabled("AllAlpha"), true);
  });
  await t.step("later values win", () => {
    const gates = run([
      `--feature-gates=${ALLOW_SECRET_STORE_KUBECONFIG}=false`,
      `--feature-gates= ${ALLOW_SECRET_STORE_KUBECONFIG} = true `,
    ]).featureGates;
    assert.equal(gates.enabled(ALLOW_SECRET_STORE_KUBECONFIG), true);
  });
  await t.step("empty list", () => {
    assert.equal(run(["--feature-gates="]).featureGates.enabled(ALLOW_SECRET_STORE_KUBECONFIG), true);
  });
  await t.step("each parse gets its own registry", () => {
    run([`--feature-gates=${ALLOW_SECRET_STORE_KUBECONFIG}=false`]);
    assert.equal(run([]).featureGates.enabled(ALLOW_SECRET_STORE_KUBECONFIG), true);
  });
});

Deno.test("newFeatureGates() declares AllowSecretStoreKubeconfig as Beta, on by default", () => {
  const gates = newFeatureGates();
  assert.equal(ALLOW_SECRET_STORE_KUBECONFIG, "AllowSecretStoreKubeconfig");
  assert.equal(gates.stage(ALLOW_SECRET_STORE_KUBECONFIG), "Beta");
  assert.equal(gates.enabled(ALLOW_SECRET_STORE_KUBECONFIG), true);
  assert.ok(gates.knownFeatures().includes("AllowSecretStoreKubeconfig=true|false (BETA - default=true)"));
  assert.notEqual(newFeatureGates(), gates);
});

Deno.test("parseOptions() rejects bad input with exit code 2, one reason line and a hint", async (t) => {
  const known = "known gates: AllAlpha, AllBeta, AllowSecretStoreKubeconfig";
  const cases: [string[], string][] = [
    [["--wokers", "3"], `Unknown flag "--wokers": did you mean --workers?`],
    [["--bogus"], `Unknown flag "--bogus"`],
    [
      ["--terminal-identity=admin"],
      `Invalid value "admin" for flag --terminal-identity: expected one of serviceaccount, creator`,
    ],
    [
      ["--terminal-api-server=http://10.0.0.1"],
      `Invalid value "http://10.0.0.1" for flag --terminal-api-server: expected an https:// URL such as https://kubernetes.default.svc`,
    ],
    [["-x"], `Unknown flag "-x"`],
    [["--workers"], "Flag --workers needs a value"],
    [["--kubeconfig"], "Flag --kubeconfig needs a value"],
    [["-v"], "Flag --v needs a value"],
    [["serve"], `Unexpected argument "serve": cloudshell-operator takes flags only`],
    [["--workers=2", "extra", "more"], `Unexpected argument "extra": cloudshell-operator takes flags only`],
    [["--", "x"], `Unexpected argument "x": cloudshell-operator takes flags only`],
    [["--workers", "abc"], `Invalid value "abc" for flag --workers: expected an integer from 1 to 256`],
    [["--workers", "0"], `Invalid value "0" for flag --workers: expected an integer from 1 to 256`],
    [["--workers", "257"], `Invalid value "257" for flag --workers: expected an integer from 1 to 256`],
    [["--workers", "4.5"], `Invalid value "4.5" for flag --workers: expected an integer from 1 to 256`],
    [["--workers", "-1"], `Invalid value "-1" for flag --workers: expected an integer from 1 to 256`],
    [["--workers="], `Invalid value "" for flag --workers: expected an integer from 1 to 256`],
    [
      ["--kube-api-qps", "0"],
      `Invalid value "0" for flag --kube-api-qps: expected a number greater than 0, or -1 for no client-side throttle`,
    ],
    [
      ["--kube-api-qps", "fast"],
      `Invalid value "fast" for flag --kube-api-qps: expected a number greater than 0, or -1 for no client-side throttle`,
    ],
    [
      ["--kube-api-qps", "Infinity"],
      `Invalid value "Infinity" for flag --kube-api-qps: expected a number greater than 0, or -1 for no client-side throttle`,
    ],
    [
      ["--kube-api-burst", "0"],
      `Invalid value "0" for flag --kube-api-burst: expected an integer of at least 1`,
    ],
    [
      ["--kube-api-burst", "1.5"],
      `Invalid value "1.5" for flag --kube-api-burst: expected an integer of at least 1`,
    ],
    [
      ["--leader-elect-lease-duration", "15"],
      `Invalid value "15" for flag --leader-elect-lease-duration: missing unit, expected one of ns, us, ms, s, m, h`,
    ],
    [
      ["--leader-elect-renew-deadline", "10x"],
      `Invalid value "10x" for flag --leader-elect-renew-deadline: unknown unit "x", expected one of ns, us, ms, s, m, h`,
    ],
    [
      ["--leader-elect-retry-period", "0s"],
      `Invalid value "0s" for flag --leader-elect-retry-period: expected a positive duration such as 15s`,
    ],
    [
      ["--shutdown-timeout", "-5s"],
      `Invalid value "-5s" for flag --shutdown-timeout: expected a positive duration such as 15s`,
    ],
    [
      ["--shutdown-timeout", "soon"],
      `Invalid value "soon" for flag --shutdown-timeout: expected a number followed by a unit, like 300ms, 1m30s or 2h`,
    ],
    [
      ["--leader-elect-renew-deadline=15s"],
      "Invalid leader election timing: --leader-elect-lease-duration (15s) must be greater than " +
      "--leader-elect-renew-deadline (15s)",
    ],
    [
      ["--leader-elect-retry-period=9s"],
      "Invalid leader election timing: --leader-elect-renew-deadline (10s) must be greater than " +
      "1.2 times --leader-elect-retry-period (9s)",
    ],
    [
      ["--leader-elect-renew-deadline=2400ms"],
      "Invalid leader election timing: --leader-elect-renew-deadline (2400ms) must be greater than " +
      "1.2 times --leader-elect-retry-period (2s)",
    ],
    [["--leader-elect=maybe"], `Invalid value "maybe" for flag --leader-elect: expected true or false`],
    [["--leader-elect", "yes"], `Invalid value "yes" for flag --leader-elect: expected true or false`],
    [["--log-format", "yaml"], `Invalid value "yaml" for flag --log-format: expected one of text, json`],
    [["--log-format", "JSON"], `Invalid value "JSON" for flag --log-format: expected one of text, json`],
    [
      ["--log-level", "trace"],
      `Invalid value "trace" for flag --log-level: expected one of debug, info, warn, error`,
    ],
    [["-v", "x"], `Invalid value "x" for flag --v: expected an integer of at least 0`],
    [["--v=-1"], `Invalid value "-1" for flag --v: expected an integer of at least 0`],
    [
      ["--feature-gates", "Foo=true"],
      `Invalid value "Foo=true" for flag --feature-gates: unrecognized feature gate "Foo"; ${known}`,
    ],
    [
      ["--feature-gates", "AllowSecretStoreKubeconfig"],
      `Invalid value "AllowSecretStoreKubeconfig" for flag --feature-gates: missing bool value for feature gate ` +
      `"AllowSecretStoreKubeconfig": expected AllowSecretStoreKubeconfig=true or AllowSecretStoreKubeconfig=false; ` +
      known,
    ],
    [
      ["--feature-gates", "AllowSecretStoreKubeconfig=maybe"],
      `Invalid value "AllowSecretStoreKubeconfig=maybe" for flag --feature-gates: invalid value "maybe" for ` +
      `feature gate "AllowSecretStoreKubeconfig": expected true or false; ${known}`,
    ],
    [
      ["--metrics-bind-address", "8080"],
      `Invalid value "8080" for flag --metrics-bind-address: expected host:port such as :8080 or ` +
      "127.0.0.1:8080, or 0 to disable",
    ],
    [
      ["--health-probe-bind-address", ":65536"],
      `Invalid value ":65536" for flag --health-probe-bind-address: expected host:port such as :8080 or ` +
      "127.0.0.1:8080, or 0 to disable",
    ],
    [
      ["--metrics-bind-address", "http://x:80"],
      `Invalid value "http://x:80" for flag --metrics-bind-address: expected host:port such as :8080 or ` +
      "127.0.0.1:8080, or 0 to disable",
    ],
    [
      ["--operator-namespace", "Bad_NS"],
      `Invalid value "Bad_NS" for flag --operator-namespace: expected a namespace name (lowercase letters, ` +
      "digits and '-', at most 63 characters)",
    ],
    [
      ["--operator-namespace="],
      `Invalid value "" for flag --operator-namespace: expected a namespace name (lowercase letters, ` +
      "digits and '-', at most 63 characters)",
    ],
    [
      ["--watch-namespace", "a".repeat(64)],
      `Invalid value "${"a".repeat(64)}" for flag --watch-namespace: expected a namespace name (lowercase ` +
      "letters, digits and '-', at most 63 characters)",
    ],
    [
      ["--leader-elect-resource-namespace", "-x"],
      `Invalid value "-x" for flag --leader-elect-resource-namespace: expected a namespace name (lowercase ` +
      "letters, digits and '-', at most 63 characters)",
    ],
    [
      ["--leader-elect-resource-name", "My Lease"],
      `Invalid value "My Lease" for flag --leader-elect-resource-name: expected a DNS subdomain name ` +
      "(lowercase letters, digits, '-' and '.')",
    ],
    [
      ["--job-template-configmap", "a/b/c"],
      `Invalid value "a/b/c" for flag --job-template-configmap: expected a ConfigMap as name or namespace/name`,
    ],
    [
      ["--job-template-configmap", "NS/tpl"],
      `Invalid value "NS/tpl" for flag --job-template-configmap: namespace "NS" is not a valid namespace name`,
    ],
    [
      ["--job-template-configmap", "ops/"],
      `Invalid value "ops/" for flag --job-template-configmap: name "" is not a valid ConfigMap name`,
    ],
    [
      ["--job-template-key", "a/b"],
      `Invalid value "a/b" for flag --job-template-key: expected a ConfigMap key (letters, digits, '-', '_' and '.')`,
    ],
    [
      ["--job-template-key", ".."],
      `Invalid value ".." for flag --job-template-key: expected a ConfigMap key (letters, digits, '-', '_' and '.')`,
    ],
    [
      ["--cloudshell-image", ""],
      `Invalid value "" for flag --cloudshell-image: expected an image reference such as ${DEFAULT_CLOUDSHELL_IMAGE}`,
    ],
    [
      ["--cloudshell-image", "a b"],
      `Invalid value "a b" for flag --cloudshell-image: expected an image reference such as ` +
      DEFAULT_CLOUDSHELL_IMAGE,
    ],
    [
      ["--kubeconfig-clusterrole", "a/b"],
      `Invalid value "a/b" for flag --kubeconfig-clusterrole: expected a ClusterRole name`,
    ],
    [
      ["--kubeconfig-clusterrole="],
      `Invalid value "" for flag --kubeconfig-clusterrole: expected a ClusterRole name`,
    ],
    [
      ["--allow-env-value-from", "secretKeyRef,fieldRef"],
      `Invalid value "secretKeyRef,fieldRef" for flag --allow-env-value-from: expected a comma-separated ` +
      "list of secretKeyRef, configMapKeyRef, fileKeyRef",
    ],
    [
      ["--node-port-host", "http://example.com"],
      `Invalid value "http://example.com" for flag --node-port-host: expected a host name or IP address, ` +
      "without scheme or path",
    ],
    [
      ["--master", "https://a b"],
      `Invalid value "https://a b" for flag --master: expected an API server URL such as https://10.0.0.1:6443`,
    ],
    [
      ["--route-namespaces=ok,Not_OK"],
      `Invalid value "Not_OK" for flag --route-namespaces: expected a namespace name (lowercase letters, ` +
      "digits and '-', at most 63 characters)",
    ],
    [
      ["--ingress-annotations-allowed=a*b"],
      `Invalid value "a*b" for flag --ingress-annotations-allowed: expected annotation keys such as ` +
      "example.com/name, or a prefix ending in * such as example.com/*",
    ],
    [
      ["--ingress-annotations-allowed=bad key"],
      `Invalid value "bad key" for flag --ingress-annotations-allowed: expected annotation keys such as ` +
      "example.com/name, or a prefix ending in * such as example.com/*",
    ],
    [
      ["--use-existing-route-objects=maybe"],
      `Invalid value "maybe" for flag --use-existing-route-objects: expected true or false`,
    ],
    [["--max-ttl=500ms"], `Invalid value "500ms" for flag --max-ttl: expected at least 1s`],
    [
      ["--default-ttl=soon"],
      `Invalid value "soon" for flag --default-ttl: expected a number followed by a unit, like 300ms, 1m30s or 2h`,
    ],
    [
      ["--default-ttl=2h", "--max-ttl=1h"],
      `Invalid value "2h" for flag --default-ttl: it exceeds --max-ttl (1h)`,
    ],
    [
      ["--default-idle-timeout=2h", "--max-idle-timeout=1h"],
      `Invalid value "2h" for flag --default-idle-timeout: it exceeds --max-idle-timeout (1h)`,
    ],
    [
      ["--max-idle-timeout=0"],
      `Invalid value "0" for flag --max-idle-timeout: expected a positive duration such as 1h`,
    ],
  ];
  for (const [argv, reason] of cases) {
    await t.step(argv.join(" "), () => {
      const result = exit(argv);
      assert.equal(result.code, 2);
      assert.equal(result.output, `Error: ${reason}\n${HINT}\n`);
    });
  }
});

Deno.test("parseOptions() names a custom program in usage errors", () => {
  const result = exit(["run"], { ...CONTEXT, programName: "shellop" });
  assert.equal(result.output, `Error: Unexpected argument "run": shellop takes flags only\n${HINT}\n`);
});

Deno.test("parseOptions() --version prints the caller's version and exits 0", async (t) => {
  for (const argv of [["--version"], ["--workers=3", "--version"], ["--version", "--workers=bad"]]) {
    await t.step(argv.join(" "), () => {
      const result = exit(argv);
      assert.equal(result.code, 0);
      assert.equal(result.output, "v1.2.3-test\n");
    });
  }
});

Deno.test("parseOptions() --help lists every flag with its default and the known gates", async (t) => {
  for (const argv of [["--help"], ["-h"], ["--workers=bad", "--help"]]) {
    await t.step(argv.join(" "), () => {
      const result = exit(argv);
      assert.equal(result.code, 0);
      const help = result.output;
      assert.ok(help.startsWith("Usage: cloudshell-operator [flags]\n"), help);
      const flags = [
        "--kubeconfig <path>",
        "--context <name>",
        "--master <url>",
        "--feature-gates <list>",
        "--job-template-configmap <[namespace/]name>",
        "--job-template-key <key>",
        "--cloudshell-image <image>",
        "--kubeconfig-clusterrole <name>",
        "--allow-env-value-from <list>",
        "--node-port-host <host>",
        "--workers <n>",
        "--kube-api-qps <float>",
        "--kube-api-burst <int>",
        "--leader-elect [bool]",
        "--leader-elect-lease-duration <duration>",
        "--leader-elect-renew-deadline <duration>",
        "--leader-elect-retry-period <duration>",
        "--leader-elect-resource-name <name>",
        "--leader-elect-resource-namespace <namespace>",
        "--metrics-bind-address <host:port>",
        "--health-probe-bind-address <host:port>",
        "--log-format <format>",
        "--log-level <level>",
        "-v, --v <int>",
        "--watch-namespace <namespace>",
        "--operator-namespace <namespace>",
        "--shutdown-timeout <duration>",
        "--route-namespaces <list>",
        "--ingress-annotations-allowed <list>",
        "--use-existing-route-objects [bool]",
        "--default-ttl <duration>",
        "--max-ttl <duration>",
        "--version",
        "-h, --help",
      ];
      for (const flag of flags) assert.ok(help.includes(`  ${flag} `), `help lists ${flag}`);
      for (const gate of newFeatureGates().knownFeatures()) {
        assert.ok(help.includes(`\n    ${gate}\n`), `help lists gate ${gate}`);
      }
      const defaults = [
        "(default: 16)",
        "(default: -1)",
        "(default: 100)",
        "(default: true)",
        "(default: 15s)",
        "(default: 10s)",
        "(default: 2s)",
        "(default: 30s)",
        "(default: :8080)",
        "(default: :8081)",
        "(default: text)",
        "(default: info)",
        "(default: view)",
        "(default: cloudshell-operator)",
        "(default: cloudshell-job-template)",
        "(default: job-template.yaml)",
        `(default: ${DEFAULT_CLOUDSHELL_IMAGE})`,
        "(default: cloudshell-system)",
      ];
      const flat = help.replace(/\s+/g, " ");
      for (const shown of defaults) assert.ok(flat.includes(shown), `help shows ${shown}`);
      assert.ok(flat.includes("job-temp.yaml"), "help documents the upstream template key");
      assert.ok(flat.includes("0 disables it"), "help documents disabling the servers");
      for (const line of help.split("\n")) assert.ok(line.length <= 100, `help line fits: ${line}`);
    });
  }
});

Deno.test("parseOptions() --help shows the caller's default namespace", () => {
  const help = exit(["--help"], { version: "v0", defaultNamespace: "team-shells" }).output;
  assert.match(
    help.replace(/\s+/g, " "),
    /--operator-namespace <namespace> namespace the operator runs in \(default: team-shells\)/,
  );
});

Deno.test("parseOptions() terminal access flags", () => {
  const options = run([
    "--terminal-check-origin=false",
    "--terminal-credential=generated",
    "--terminal-ping-interval=45s",
    "--terminal-auth-header=X-Forwarded-User",
    "--network-policy-cidr=10.0.0.0/8",
    "--network-policy-cidr",
    "2001:db8::/32",
    "--network-policy-namespace=kubernetes.io/metadata.name=ingress-nginx",
    "--network-policy-namespace=team=a,tier=edge",
  ]);
  assert.deepEqual(JSON.parse(JSON.stringify(options.terminalAccess)), {
    checkOrigin: false,
    authHeader: "X-Forwarded-User",
    credential: "generated",
    pingIntervalSeconds: 45,
    networkPolicy: {
      cidrs: ["10.0.0.0/8", "2001:db8::/32"],
      namespaceSelectors: [{ "kubernetes.io/metadata.name": "ingress-nginx" }, { team: "a", tier: "edge" }],
    },
  });
  for (
    const bad of [
      "--terminal-check-origin=maybe",
      "--terminal-credential=static",
      "--terminal-ping-interval=1500ms",
      "--terminal-auth-header=X Forwarded",
      "--terminal-auth-header=X-User:",
      "--network-policy-cidr=10.0.0.0",
      "--network-policy-cidr=300.0.0.0/8",
      "--network-policy-namespace=team",
      "--network-policy-namespace=a=b=c",
    ]
  ) {
    const result = parseOptions([bad], CONTEXT);
    assert.equal(result.kind, "exit", bad);
    assert.equal(result.kind === "exit" && result.code, 2, bad);
  }
});

Deno.test("parseOptions() --metrics-secure and --metrics-cert-dir", () => {
  assert.equal(run(["--metrics-secure"]).metricsSecure, true);
  const secure = run(["--metrics-secure=true", "--metrics-cert-dir=/certs"]);
  assert.equal(secure.metricsCertDir, "/certs");
  for (
    const [args, pattern] of [
      [["--metrics-cert-dir=/certs"], /--metrics-cert-dir needs --metrics-secure=true/],
      [
        ["--metrics-secure", "--metrics-bind-address=:9000", "--health-probe-bind-address=:9000"],
        /--metrics-secure needs --metrics-bind-address \(:9000\) to differ/,
      ],
      [["--metrics-secure=maybe"], /Invalid value "maybe" for flag --metrics-secure/],
    ] as const
  ) {
    const result = parseOptions([...args], CONTEXT);
    assert.equal(result.kind, "exit");
    assert.equal((result as { code: number }).code, 2);
    assert.match((result as { output: string }).output, pattern);
  }
});

Deno.test("parseOptions() terminal pod settings, with CloudTTY's flag names where it had them", () => {
  const pod = run([
    "--cloudshell-image-pull-policy=Always",
    "--cloudshell-image-pull-secrets=reg-a,reg-b",
    "--cloudshell-image-pull-secrets=reg-c",
    // CloudTTY's chart passes each entry as "--cloudshell-node-selector", "k=v".
    "--cloudshell-node-selector",
    "pool=terminals",
    "--cloudshell-node-selector=kubernetes.io/arch=amd64,zone=",
    '--cloudshell-resources={"limits":{"cpu":"1","memory":"1Gi"},"requests":{"cpu":"100m","memory":128}}',
  ]).terminalPod;
  assert.deepEqual(JSON.parse(JSON.stringify(pod)), {
    imagePullPolicy: "Always",
    imagePullSecrets: ["reg-a", "reg-b", "reg-c"],
    nodeSelector: { pool: "terminals", "kubernetes.io/arch": "amd64", zone: "" },
    resources: { limits: { cpu: "1", memory: "1Gi" }, requests: { cpu: "100m", memory: "128" } },
  });
  for (
    const [args, pattern] of [
      [
        ["--cloudshell-image-pull-policy=Sometimes"],
        /--cloudshell-image-pull-policy: expected one of Always/,
      ],
      [["--cloudshell-image-pull-secrets=Bad_Name"], /--cloudshell-image-pull-secrets/],
      [["--cloudshell-node-selector=novalue"], /--cloudshell-node-selector: expected label=value/],
      [["--cloudshell-resources={bad"], /--cloudshell-resources: expected JSON/],
      [['--cloudshell-resources={"limit":{}}'], /--cloudshell-resources: expected JSON/],
      [['--cloudshell-resources={"limits":{"cpu":"lots"}}'], /"lots" is not a quantity/],
    ] as const
  ) {
    const result = parseOptions([...args], CONTEXT);
    assert.equal(result.kind, "exit", args.join(" "));
    assert.equal((result as { code: number }).code, 2);
    assert.match((result as { output: string }).output, pattern);
  }
});

Deno.test("parseOptions() route hosts: patterns and allow lists, bad ones refused with exit code 2", () => {
  const options = run([
    "--ingress-host-pattern={name}.{namespace}.shells.example.com",
    "--virtual-service-host-pattern=*",
    "--ingress-hosts-allowed=shells.example.com,*.apps.example.com",
    "--ingress-classes-allowed=nginx",
    "--virtual-service-gateways-allowed=istio-system/public,*",
    "--virtual-service-export-to-allowed=.,istio-system",
  ]);
  assert.deepEqual(options.routeHosts, {
    ingressHostPattern: { kind: "perShell", text: "{name}.{namespace}.shells.example.com" },
    virtualServiceHostPattern: { kind: "any" },
    ingressHostsAllowed: ["shells.example.com", "*.apps.example.com"],
    ingressClassesAllowed: ["nginx"],
    virtualServiceGatewaysAllowed: ["istio-system/public", "*"],
    virtualServiceExportToAllowed: [".", "istio-system"],
  });
  assert.deepEqual(run(["--ingress-host-pattern=shells.example.com"]).routeHosts.ingressHostPattern, {
    kind: "shared",
    host: "shells.example.com",
  });
  for (
    const [flag, message] of [
      [
        "--ingress-host-pattern={name}-{namespace}.shells.example.com",
        /a '\.' between \{name\} and \{namespace\}/,
      ],
      ["--virtual-service-host-pattern={name}.example.com", /\{name\} and \{namespace\} once each/],
      ["--ingress-hosts-allowed=https://x", /expected hosts/],
      ["--virtual-service-gateways-allowed=a/b/c", /namespace\/name/],
    ] as const
  ) {
    const result = parseOptions([flag], CONTEXT);
    assert.equal(result.kind, "exit", flag);
    assert.equal(result.kind === "exit" && result.code, 2, flag);
    assert.match(result.kind === "exit" ? result.output : "", message);
  }
});
