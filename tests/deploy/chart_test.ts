/**
 * The chart's operations kit with the real helm and promtool: `helm lint`, the values schema refusing bad
 * values at install, `kubeVersion`, the ServiceMonitor, PodMonitor, PrometheusRule (checked by promtool,
 * each alert's runbook present in docs/operations/alerts.md), the Grafana dashboard ConfigMap, the
 * PodDisruptionBudget, `extraEnv`, `watchNamespace` narrowing the RBAC to Roles, secure metrics, and
 * CloudTTY's values honoured (terminal pod settings reach the operator's flags) or refused with a message.
 */
import assert from "node:assert/strict";
import { parse as parseYaml, stringify } from "yaml";
import denoConfig from "../../deno.json" with { type: "json" };
import { type Options, parseOptions } from "../../controller/options.ts";
import {
  PROMETHEUS_MISSING,
  PROMETHEUS_OPERATOR_CRDS,
  PROMETHEUS_OPERATOR_CRDS_MISSING,
  promtool,
} from "../harness/prometheus.ts";
import { testCluster } from "../harness/cluster.ts";
import {
  CHART,
  DEPLOY_NAMESPACE,
  dryRunApply,
  helm,
  isTerminalRole,
  KUBE_VERSION,
  kubectl,
  type Manifest,
  ofKind,
  operatorClusterRole,
  rebase,
  renderChart,
  renderKustomize,
  REPO,
  single,
} from "./_manifests.ts";
import { flatten, rulesOf } from "./_rbac.ts";

const CLOUDTTY_VALUES = new URL("./testdata/cloudtty_values.yaml", import.meta.url).pathname;
const ALERTS_DOC = `${REPO}docs/operations/alerts.md`;

// deno-lint-ignore no-explicit-any
type Any = any;

/** `helm template` that is expected to fail: its stderr. */
async function renderFails(set: string[], extra: string[] = []): Promise<string> {
  const args = [
    "template",
    "cloudshell-operator",
    CHART,
    "--namespace",
    DEPLOY_NAMESPACE,
    "--kube-version",
    KUBE_VERSION,
    ...extra,
  ];
  for (const expr of set) args.push("--set", expr);
  const res = await helm(args);
  assert.notEqual(res.code, 0, `helm template ${set.join(" ")} should fail:\n${res.stdout.slice(0, 500)}`);
  return res.stderr;
}

/** The operator options the rendered Deployment's args parse to. */
function optionsOf(objs: readonly Manifest[]): Options {
  const container = (single(objs, "Deployment") as Any).spec.template.spec.containers[0];
  const parsed = parseOptions(container.args, {
    version: denoConfig.version,
    defaultNamespace: DEPLOY_NAMESPACE,
  });
  assert.equal(parsed.kind, "run", `the operator rejects the chart's flags: ${JSON.stringify(parsed)}`);
  return (parsed as { options: Options }).options;
}

Deno.test("helm lint passes with the defaults, with every option on, and with CloudTTY's values", async () => {
  const everything = [
    "metrics.serviceMonitor.enabled=true",
    "metrics.podMonitor.enabled=true",
    "metrics.prometheusRule.enabled=true",
    "metrics.dashboard.enabled=true",
    "replicaCount=2",
    "watchNamespace=team-a",
    "extraEnv[0].name=TZ",
    "extraEnv[0].value=UTC",
  ];
  for (const set of [[], everything, ["metrics.secure=false"]]) {
    const args = ["lint", "--strict", CHART];
    for (const expr of set) args.push("--set", expr);
    const res = await helm(args);
    assert.equal(res.code, 0, `helm lint ${set.join(" ")}:\n${res.stdout}${res.stderr}`);
  }
  const res = await helm(["lint", CHART, "--values", CLOUDTTY_VALUES]);
  assert.equal(res.code, 0, `helm lint with CloudTTY's values:\n${res.stdout}${res.stderr}`);
});

Deno.test("the values schema refuses bad values at install, naming the key", async () => {
  const cases: [string, RegExp][] = [
    ["workers=abc", /workers/],
    ["workers=0", /workers/],
    ["workers=1000", /workers/],
    ["kubeApi.qps=0", /qps/],
    ["kubeApi.qps=fast", /qps/],
    ["kubeApi.burst=0", /burst/],
    ["logLevel=loud", /logLevel/],
    ["logFormat=xml", /logFormat/],
    ["replicaCount=two", /replicaCount/],
    ["leaderElection.leaseDuration=soon", /leaseDuration/],
    ["metrics.port=70000", /port/],
    ["metrics.serviceMonitor.interval=often", /interval/],
    ["cloudshell.image.pullPolicy=Sometimes", /pullPolicy/],
    ["watchNamespace=Team_A", /watchNamespace/],
    ["jobTemplate.variant=loose", /variant/],
    ["sessions.warning=later", /warning/],
    ["sessions.defaultIdleTimeout=never", /defaultIdleTimeout/],
    ["wrokers=8", /wrokers|additional/i],
  ];
  for (const [set, pattern] of cases) {
    const stderr = await renderFails([set]);
    assert.match(stderr, /values don't meet the specifications of the schema|schema/i, set);
    assert.match(stderr, pattern, `${set}: ${stderr}`);
  }
});

Deno.test("kubeVersion: the chart refuses Kubernetes older than 1.30", async () => {
  const stderr = await renderFails([], ["--kube-version", "1.29.4"]);
  assert.match(stderr, /kubeVersion/i);
  const res = await helm(["template", "x", CHART, "--kube-version", "1.30.0"]);
  assert.equal(res.code, 0, res.stderr);
});

Deno.test("the chart's workers and client throttle defaults are the binary's", async () => {
  const binary = parseOptions([], { version: "x", defaultNamespace: "ns" });
  assert.equal(binary.kind, "run");
  const defaults = (binary as { options: Options }).options;
  const values = parseYaml(await Deno.readTextFile(`${CHART}/values.yaml`)) as Any;
  const rendered = optionsOf(await renderChart());
  assert.equal(values.workers, defaults.workers);
  assert.equal(rendered.workers, values.workers);
  assert.deepEqual([values.kubeApi.qps, values.kubeApi.burst], [defaults.kubeApiQps, defaults.kubeApiBurst]);
  assert.deepEqual([rendered.kubeApiQps, rendered.kubeApiBurst], [-1, 100]);
  const capped = optionsOf(await renderChart({ set: ["kubeApi.qps=300", "kubeApi.burst=1000000"] }));
  assert.deepEqual([capped.kubeApiQps, capped.kubeApiBurst], [300, 1_000_000]);
});

Deno.test("/metrics is secure by default: HTTPS, the review rights, a metrics-reader ClusterRole", async () => {
  const secure = await renderChart();
  assert.equal(optionsOf(secure).metricsSecure, true);
  const roles = ofKind(secure, "ClusterRole");
  const reader = roles.find((r) => r.metadata.name === "cloudshell-operator-metrics-reader") as Any;
  assert.deepEqual(reader?.rules, [{ nonResourceURLs: ["/metrics"], verbs: ["get"] }]);
  const operator = flatten(rulesOf(roles.find((r) => r.metadata.name === "cloudshell-operator")!));
  assert.ok(operator.has("create authentication.k8s.io/tokenreviews"));
  assert.ok(operator.has("create authorization.k8s.io/subjectaccessreviews"));

  const plain = await renderChart({ set: ["metrics.secure=false"] });
  assert.equal(optionsOf(plain).metricsSecure, false);
  assert.equal(
    ofKind(plain, "ClusterRole").filter((o) => !isTerminalRole(o)).length,
    1,
    "no metrics-reader, no review rights",
  );
  assert.ok(!flatten(rulesOf(operatorClusterRole(plain))).has("create authentication.k8s.io/tokenreviews"));

  const given = await renderChart({ set: ["metrics.certSecret=operator-metrics-tls"] });
  const pod = (single(given, "Deployment") as Any).spec.template.spec;
  const dir = optionsOf(given).metricsCertDir;
  assert.ok(dir);
  assert.equal(pod.containers[0].volumeMounts.find((m: Any) => m.mountPath === dir)?.readOnly, true);
  assert.ok(pod.volumes.some((v: Any) => v.secret?.secretName === "operator-metrics-tls"));

  // kustomize: the reader role always, the reviews with the secure-metrics component.
  const kustomized = await renderKustomize([`${REPO}deploy/components/secure-metrics`]);
  const args = (single(kustomized, "Deployment") as Any).spec.template.spec.containers[0].args;
  assert.ok(args.includes("--metrics-secure=true"));
  const review = flatten(
    rulesOf(
      ofKind(kustomized, "ClusterRole").find((r) => r.metadata.name === "cloudshell-operator-metrics-auth")!,
    ),
  );
  assert.deepEqual([...review].sort(), [
    "create authentication.k8s.io/tokenreviews",
    "create authorization.k8s.io/subjectaccessreviews",
  ]);
});

Deno.test("ServiceMonitor and PodMonitor are opt-in and scrape HTTPS with a token when metrics are secure", async () => {
  const none = await renderChart();
  assert.equal(ofKind(none, "ServiceMonitor").length + ofKind(none, "PodMonitor").length, 0);

  const objs = await renderChart({
    set: [
      "metrics.serviceMonitor.enabled=true",
      "metrics.serviceMonitor.labels.release=kube-prometheus-stack",
      "metrics.podMonitor.enabled=true",
      "metrics.podMonitor.authorization.credentials.name=prometheus-token",
      "metrics.podMonitor.authorization.credentials.key=token",
    ],
  });
  const sm = single(objs, "ServiceMonitor") as Any;
  assert.equal(sm.metadata.labels.release, "kube-prometheus-stack");
  const service = single(objs, "Service") as Any;
  for (const [k, v] of Object.entries(sm.spec.selector.matchLabels)) {
    assert.equal(service.metadata.labels[k], v);
  }
  assert.deepEqual(sm.spec.endpoints[0], {
    port: "metrics",
    path: "/metrics",
    interval: "30s",
    scrapeTimeout: "10s",
    scheme: "https",
    bearerTokenFile: "/var/run/secrets/kubernetes.io/serviceaccount/token",
    tlsConfig: { insecureSkipVerify: true },
  });
  const pm = single(objs, "PodMonitor") as Any;
  const pod = (single(objs, "Deployment") as Any).spec.template.metadata.labels;
  for (const [k, v] of Object.entries(pm.spec.selector.matchLabels)) assert.equal(pod[k], v);
  assert.equal(pm.spec.podMetricsEndpoints[0].scheme, "https");
  assert.deepEqual(pm.spec.podMetricsEndpoints[0].authorization, {
    credentials: { name: "prometheus-token", key: "token" },
  });

  const plain = await renderChart({ set: ["metrics.serviceMonitor.enabled=true", "metrics.secure=false"] });
  const endpoint = (single(plain, "ServiceMonitor") as Any).spec.endpoints[0];
  assert.equal(endpoint.scheme, undefined);
  assert.equal(endpoint.bearerTokenFile, undefined);
  assert.match(
    await renderFails(["metrics.serviceMonitor.enabled=true", "metrics.service.enabled=false"]),
    /metrics.serviceMonitor.enabled needs metrics.service.enabled/,
  );
});

/** The PrometheusRule's alerts, rendered with `set`. */
async function alertsOf(set: string[] = []): Promise<Any[]> {
  const objs = await renderChart({ set: ["metrics.prometheusRule.enabled=true", ...set] });
  return (single(objs, "PrometheusRule") as Any).spec.groups.flatMap((g: Any) => g.rules);
}

Deno.test("every alert has a severity, a summary and a runbook_url to its section of docs/operations/alerts.md", async () => {
  assert.equal(ofKind(await renderChart(), "PrometheusRule").length, 0, "opt-in");
  const alerts = await alertsOf();
  assert.ok(alerts.length >= 8, `${alerts.length} alerts`);
  const doc = await Deno.readTextFile(ALERTS_DOC);
  // GitHub's anchors: the heading in lower case.
  const anchors = new Set([...doc.matchAll(/^## (\S+)$/gm)].map((m) => m[1].toLowerCase()));
  for (const alert of alerts) {
    assert.match(alert.labels.severity, /^(critical|warning)$/, alert.alert);
    assert.ok(alert.annotations.summary && alert.annotations.description, alert.alert);
    const url = new URL(alert.annotations.runbook_url);
    assert.equal(url.pathname.endsWith("/docs/operations/alerts.md"), true, alert.alert);
    assert.equal(url.hash, `#${alert.alert.toLowerCase()}`);
    assert.ok(
      anchors.has(alert.alert.toLowerCase()),
      `${alert.alert} has no runbook in docs/operations/alerts.md`,
    );
  }
  // excludeRules drops alerts; without leader election there is no leader alert.
  const names = (await alertsOf(["metrics.prometheusRule.excludeRules={CloudShellSlowStart}"])).map((a) =>
    a.alert
  );
  assert.ok(!names.includes("CloudShellSlowStart"));
  assert.ok(
    !(await alertsOf(["leaderElection.enabled=false"])).some((a) => a.alert === "CloudShellOperatorNoLeader"),
  );
  const custom = await alertsOf(["metrics.prometheusRule.runbookBaseUrl=https://wiki.example/cloudshell"]);
  assert.equal(
    custom[0].annotations.runbook_url,
    `https://wiki.example/cloudshell#${custom[0].alert.toLowerCase()}`,
  );
});

Deno.test(
  "promtool check rules accepts the rendered PrometheusRule",
  { ignore: PROMETHEUS_MISSING !== undefined },
  async () => {
    const objs = await renderChart({ set: ["metrics.prometheusRule.enabled=true"] });
    const file = await Deno.makeTempFile({ suffix: ".yaml" });
    try {
      await Deno.writeTextFile(
        file,
        stringify({ groups: (single(objs, "PrometheusRule") as Any).spec.groups }),
      );
      const res = await promtool(["check", "rules", "--lint=all", "--lint-fatal", file]);
      assert.equal(res.code, 0, res.output);
      assert.match(res.output, /SUCCESS: \d+ rules found/);
    } finally {
      await Deno.remove(file);
    }
  },
);

Deno.test("the Grafana dashboard ConfigMap carries the sidecar label and the dashboard JSON", async () => {
  assert.equal(ofKind(await renderChart(), "ConfigMap").length, 1, "only the Job template by default");
  const objs = await renderChart({
    set: ["metrics.dashboard.enabled=true", "metrics.dashboard.namespace=monitoring"],
  });
  const cm = ofKind(objs, "ConfigMap").find((c) =>
    c.metadata.name === "cloudshell-operator-dashboard"
  ) as Any;
  assert.ok(cm);
  assert.equal(cm.metadata.labels.grafana_dashboard, "1");
  assert.equal(cm.metadata.namespace, "monitoring");
  const dashboard = JSON.parse(cm.data["cloudshell-operator.json"]);
  assert.deepEqual(dashboard, JSON.parse(await Deno.readTextFile(`${CHART}/files/grafana-dashboard.json`)));
  assert.equal(dashboard.uid, "cloudshell-operator");
  for (const panel of dashboard.panels) {
    assert.ok(panel.targets.length > 0, panel.title);
    for (const target of panel.targets) assert.equal(target.datasource.uid, "${datasource}", panel.title);
  }
});

Deno.test("the session values reach the operator as its TTL, idle timeout and warning flags", async () => {
  const defaults = optionsOf(await renderChart());
  assert.equal(defaults.defaultTtlSeconds, undefined);
  assert.equal(defaults.maxTtlSeconds, undefined);
  assert.deepEqual(
    [defaults.sessions.defaultIdleTimeoutSeconds, defaults.sessions.maxIdleTimeoutSeconds],
    [1800, undefined],
  );
  assert.equal(defaults.sessions.warnBeforeSeconds, 300);
  const set = optionsOf(
    await renderChart({
      set: [
        "sessions.defaultTtl=1h",
        "sessions.maxTtl=8h",
        "sessions.defaultIdleTimeout=0",
        "sessions.maxIdleTimeout=2h",
        "sessions.warning=10m",
      ],
    }),
  );
  assert.deepEqual([set.defaultTtlSeconds, set.maxTtlSeconds], [3600, 8 * 3600]);
  assert.deepEqual([set.sessions.defaultIdleTimeoutSeconds, set.sessions.maxIdleTimeoutSeconds], [0, 7200]);
  assert.equal(set.sessions.warnBeforeSeconds, 600);
});

Deno.test("a PodDisruptionBudget only with more than one replica", async () => {
  assert.equal(ofKind(await renderChart(), "PodDisruptionBudget").length, 0);
  const objs = await renderChart({ set: ["replicaCount=2"] });
  const pdb = single(objs, "PodDisruptionBudget") as Any;
  assert.equal(pdb.spec.minAvailable, 1);
  const labels = (single(objs, "Deployment") as Any).spec.template.metadata.labels;
  for (const [k, v] of Object.entries(pdb.spec.selector.matchLabels)) assert.equal(labels[k], v);
  assert.equal(
    ofKind(
      await renderChart({ set: ["replicaCount=2", "podDisruptionBudget.enabled=false"] }),
      "PodDisruptionBudget",
    ).length,
    0,
  );
});

Deno.test("extraEnv reaches the operator container after the downward-API variables", async () => {
  const objs = await renderChart({
    set: [
      "extraEnv[0].name=TZ",
      "extraEnv[0].value=UTC",
      "extraEnv[1].name=NODE_NAME",
      "extraEnv[1].valueFrom.fieldRef.fieldPath=spec.nodeName",
    ],
  });
  const env = (single(objs, "Deployment") as Any).spec.template.spec.containers[0].env;
  assert.deepEqual(env.map((e: Any) => e.name), ["POD_NAMESPACE", "POD_NAME", "TZ", "NODE_NAME"]);
  assert.deepEqual(env[3].valueFrom, { fieldRef: { fieldPath: "spec.nodeName" } });
});

Deno.test("watchNamespace narrows the operator's rights to a Role in that namespace", async () => {
  const all = await renderChart({ set: ["metrics.secure=false"] });
  const clusterWide = flatten(rulesOf(operatorClusterRole(all)));

  const narrow = await renderChart({ set: ["watchNamespace=team-a", "metrics.secure=false"] });
  assert.equal(optionsOf(narrow).watchNamespace, "team-a");
  const shellRole = ofKind(narrow, "Role").find((r) => r.metadata.namespace === "team-a") as Manifest;
  const inNamespace = flatten(rulesOf(shellRole));
  const cluster = flatten(rulesOf(operatorClusterRole(narrow)));
  // Everything but the cluster-scoped requests (nodes, the admission policy, access reviews for exec and
  // logs terminals) moves into the Role; nothing is lost, nothing added.
  const policyReads = [
    "get admissionregistration.k8s.io/validatingadmissionpolicies:cloudshell-creator-can-read",
    "get admissionregistration.k8s.io/validatingadmissionpolicybindings:cloudshell-creator-can-read",
    "create authorization.k8s.io/subjectaccessreviews",
  ];
  assert.deepEqual([...cluster].sort(), [...policyReads, "list core/nodes", "watch core/nodes"].sort());
  assert.deepEqual([...inNamespace, ...cluster].sort(), [...clusterWide].sort());
  const binding = ofKind(narrow, "RoleBinding").find((b) => b.metadata.namespace === "team-a") as Any;
  assert.deepEqual(binding.roleRef, {
    apiGroup: "rbac.authorization.k8s.io",
    kind: "Role",
    name: shellRole.metadata.name,
  });
  assert.equal(binding.subjects[0].namespace, DEPLOY_NAMESPACE);

  // With a fixed NodePort host (no nodes read) and plain metrics, only the policy reads and reviews are left.
  const few = await renderChart({
    set: ["watchNamespace=team-a", "nodePortHost=shells.example.com", "metrics.secure=false"],
  });
  assert.deepEqual([...flatten(rulesOf(operatorClusterRole(few)))].sort(), policyReads.sort());
  // The operator's own Role (Lease, template) stays in the release namespace, even when it is the watched one.
  const same = await renderChart({ set: [`watchNamespace=${DEPLOY_NAMESPACE}`] });
  const names = ofKind(same, "Role").map((r) => `${r.metadata.namespace}/${r.metadata.name}`).sort();
  assert.deepEqual(names, [
    `${DEPLOY_NAMESPACE}/cloudshell-operator`,
    `${DEPLOY_NAMESPACE}/cloudshell-operator-cloudshells`,
  ]);
});

Deno.test("CloudTTY's values: terminal pod settings reach every terminal, worker pool sizes other than its defaults are refused", async () => {
  const values = parseYaml(await Deno.readTextFile(CLOUDTTY_VALUES)) as Any;
  const opts = optionsOf(await renderChart({ valuesFiles: [CLOUDTTY_VALUES] }));
  assert.deepEqual(JSON.parse(JSON.stringify(opts.terminalPod)), {
    imagePullPolicy: values.cloudshell.image.pullPolicy,
    // global.imagePullSecrets are for every pod, terminals included; image.pullSecrets are the operator's.
    imagePullSecrets: ["global-pull"],
    nodeSelector: values.cloudshell.nodeSelector,
    resources: values.cloudshell.resources,
  });
  const more = optionsOf(
    await renderChart({
      set: ["cloudshell.imagePullSecrets[0]=terminal-pull", "global.imagePullSecrets[0].name=global-pull"],
    }),
  );
  assert.deepEqual(more.terminalPod.imagePullSecrets, ["global-pull", "terminal-pull"]);
  assert.equal(
    optionsOf(await renderChart()).terminalPod.imagePullPolicy,
    undefined,
    "the template's by default",
  );

  // CloudTTY's defaults (5, 10) mean nothing here and are accepted; other sizes stop the install.
  for (const set of ["coreWorkerLimit=2", "maxWorkerLimit=50"]) {
    assert.match(await renderFails([set]), /has no worker pool .* set `workers`/, set);
  }
  await renderChart({ set: ["coreWorkerLimit=null", "maxWorkerLimit=null"] });
});

Deno.test(
  "ServiceMonitor, PodMonitor and PrometheusRule pass a strict server-side dry-run against prometheus-operator's CRDs",
  { ignore: PROMETHEUS_OPERATOR_CRDS_MISSING !== undefined },
  async () => {
    await using cluster = await testCluster();
    for (const crd of ["servicemonitors", "podmonitors", "prometheusrules"]) {
      const file = `${PROMETHEUS_OPERATOR_CRDS}/monitoring.coreos.com_${crd}.yaml`;
      const applied = await kubectl(cluster.kubeconfigPath, ["apply", "--server-side", "-f", file]);
      assert.equal(applied.code, 0, applied.stderr);
      const ready = await kubectl(cluster.kubeconfigPath, [
        "wait",
        "--for=condition=Established",
        "--timeout=60s",
        `crd/${crd}.monitoring.coreos.com`,
      ]);
      assert.equal(ready.code, 0, ready.stderr);
    }
    const monitoring = ["ServiceMonitor", "PodMonitor", "PrometheusRule"];
    for (
      const set of [
        [],
        ["metrics.secure=false"],
        [
          "metrics.podMonitor.authorization.credentials.name=token",
          "metrics.podMonitor.authorization.credentials.key=t",
        ],
      ]
    ) {
      const objs = (await renderChart({
        set: [
          "metrics.serviceMonitor.enabled=true",
          "metrics.podMonitor.enabled=true",
          "metrics.prometheusRule.enabled=true",
          ...set,
        ],
      })).filter((o) => monitoring.includes(o.kind!));
      assert.equal(objs.length, 3);
      const ns = await cluster.namespace("chart-monitoring");
      const res = await dryRunApply(cluster.kubeconfigPath, rebase(objs, { namespace: ns, suffix: ns }));
      assert.equal(res.code, 0, `${set.join(" ")}: ${res.stderr}`);
      assert.doesNotMatch(res.stderr, /Warning/, res.stderr);
    }
  },
);
