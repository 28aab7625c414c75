/**
 * The monitoring kit against a real Prometheus on loopback: it scrapes the operator (served with
 * `--metrics-secure`) with the token of a ServiceAccount bound to the chart's metrics-reader ClusterRole, and
 * once more without a token (refused), while CloudShells are created; it evaluates the chart's alerts, rendered
 * by helm with short thresholds and a one-second evaluation interval. Every query of the Grafana dashboard
 * must return data, and CloudShellNotReady must fire for a shell the test keeps from becoming Ready (a
 * Service of its name that it does not own). A second test scrapes the plain-HTTP endpoint.
 */
import assert from "node:assert/strict";
import { stringify } from "yaml";
import type { KubeObject } from "../../controller/kube/mod.ts";
import { Resources } from "../../controller/kube/mod.ts";
import { eventually, testCluster } from "../harness/cluster.ts";
import { PROMETHEUS_MISSING, PrometheusServer } from "../harness/prometheus.ts";
import { rebase, renderChart, single } from "../deploy/_manifests.ts";
import { createCloudShell, installCrd, OperatorProcess, waitForCloudShell } from "./_operator.ts";
import { kubectl } from "./_support.ts";

// deno-lint-ignore no-explicit-any
type Any = any;

/** --metrics-secure needs the probes on another listener than /metrics (127.0.0.1:0 in the tests). */
const HEALTH_APART = "--health-probe-bind-address=localhost:0";

const ClusterRoles = Resources.clusterRoles;
const ClusterRoleBindings = Resources.clusterRoleBindings;

/** The scrape job of the authorized scraper; the rules' CloudShellOperatorDown looks for it. */
const JOB = "cloudshell-operator";

Deno.test({
  name:
    "Prometheus scrapes the operator with a token: every dashboard query has data, a stuck shell fires, and so does the operator's absence",
  ignore: PROMETHEUS_MISSING !== undefined,
  async fn() {
    await using cluster = await testCluster();
    await installCrd(cluster.client);
    const ns = await cluster.namespace("e2e-monitoring");
    await using op = await OperatorProcess.start(cluster.kubeconfigPath, ns, [
      "--metrics-secure",
      HEALTH_APART,
      "--leader-elect=true",
      `--leader-elect-resource-namespace=${ns}`,
    ]);

    // The chart's objects for a scraper: its metrics-reader ClusterRole, bound to a ServiceAccount here.
    const chart = await renderChart({
      set: [
        "metrics.prometheusRule.enabled=true",
        `metrics.prometheusRule.job=${JOB}`,
        "metrics.prometheusRule.shellNotReadySeconds=5",
        "metrics.prometheusRule.for.short=2s",
        "metrics.prometheusRule.for.long=2s",
        "metrics.dashboard.enabled=true",
      ],
    });
    const reader = rebase(chart, { namespace: ns, suffix: ns }).find((o) =>
      o.kind === "ClusterRole" && o.metadata.labels?.["app.kubernetes.io/component"] === "metrics-reader"
    ) as KubeObject;
    assert.ok(reader, "the chart's metrics-reader ClusterRole");
    await cluster.client.create(ClusterRoles, reader);
    await cluster.client.create(ClusterRoleBindings, {
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: "ClusterRoleBinding",
      metadata: { name: reader.metadata.name },
      roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: reader.metadata.name! },
      subjects: [{ kind: "ServiceAccount", name: "prometheus", namespace: ns }],
    } as KubeObject);
    try {
      await cluster.client.create(Resources.serviceAccounts, {
        apiVersion: "v1",
        kind: "ServiceAccount",
        metadata: { name: "prometheus", namespace: ns },
      });
      const token = await kubectl(cluster.kubeconfigPath, ["create", "token", "prometheus", "-n", ns]);
      assert.equal(token.code, 0, token.stderr);

      // The rules as the chart renders them, evaluated every second.
      const groups = (single(chart, "PrometheusRule") as Any).spec.groups.map((g: Any) => ({
        ...g,
        interval: "1s",
      }));
      const rules = stringify({ groups });
      const target = new URL(op.metricsUrl).host;
      const config = stringify({
        global: { scrape_interval: "2s", scrape_timeout: "2s", evaluation_interval: "1s" },
        rule_files: ["rules.yaml"],
        scrape_configs: [
          {
            job_name: JOB,
            scheme: "https",
            tls_config: { insecure_skip_verify: true },
            authorization: { credentials_file: "token" },
            static_configs: [{ targets: [target] }],
          },
          {
            job_name: "no-token",
            scheme: "https",
            tls_config: { insecure_skip_verify: true },
            static_configs: [{ targets: [target] }],
          },
        ],
      });
      await using prometheus = await PrometheusServer.start(config, {
        "rules.yaml": rules,
        token: token.stdout.trim(),
      });

      // The authorized job is up; the one without a token is refused. Shells come after the first scrape,
      // so the creation-to-Ready histogram rises while Prometheus watches.
      await eventually(
        "both scrape jobs to have run",
        async () => {
          const targets = await prometheus.targets();
          const health = Object.fromEntries(targets.map((t) => [t.labels.job, t]));
          return health[JOB]?.health === "up" && health["no-token"]?.health === "down" ? health : false;
        },
        30_000,
        500,
      ).then((health) => assert.match(health["no-token"].lastError, /401/));

      // Shells: two that become Ready, and one kept from it by a Service of its name that it does not own.
      await createCloudShell(cluster.client, ns, "one", {});
      await createCloudShell(cluster.client, ns, "two", {});
      await cluster.client.create(Resources.services, {
        apiVersion: "v1",
        kind: "Service",
        metadata: { name: "cloudshell-stuck", namespace: ns },
        spec: { ports: [{ port: 7681 }] },
      } as KubeObject);
      const stuckAt = Date.now();
      await createCloudShell(cluster.client, ns, "stuck", {});
      for (const name of ["one", "two"]) {
        await waitForCloudShell(cluster.client, ns, name, "Ready", (c) => c.status?.phase === "Ready");
      }

      // CloudShellNotReady fires for the stuck shell; the operator is up and leads, so those alerts stay quiet.
      const firing = await eventually(
        "CloudShellNotReady to fire",
        async () => {
          const alerts = await prometheus.alerts();
          return alerts.some((a) => a.labels.alertname === "CloudShellNotReady" && a.state === "firing")
            ? alerts
            : false;
        },
        60_000,
        1000,
      );
      console.log(
        `CloudShellNotReady fired ${((Date.now() - stuckAt) / 1000).toFixed(1)} s after the stuck shell`,
      );
      const names = firing.filter((a) => a.state === "firing").map((a) => a.labels.alertname);
      assert.ok(!names.includes("CloudShellOperatorDown"), `firing: ${names}`);
      assert.ok(!names.includes("CloudShellOperatorNoLeader"), `firing: ${names}`);

      // Every panel of the dashboard (as the chart ships it) returns data.
      const cm = chart.find((o) => o.kind === "ConfigMap" && o.metadata.name?.endsWith("-dashboard")) as Any;
      const dashboard = JSON.parse(cm.data["cloudshell-operator.json"]);
      const queries: [string, string][] = dashboard.panels.flatMap((p: Any) =>
        p.targets.map((t: Any) => [p.title, t.expr.replaceAll("$__rate_interval", "5m")])
      );
      assert.ok(queries.length >= 14, `${queries.length} queries`);
      let missing: string[] = [];
      for (const deadline = Date.now() + 60_000; Date.now() < deadline;) {
        missing = [];
        for (const [title, expr] of queries) {
          const result = await prometheus.query(expr);
          if (!result.some((s) => s.value[1] !== "NaN")) missing.push(`${title}: ${expr}`);
        }
        if (missing.length === 0) break;
        await new Promise((r) => setTimeout(r, 2000));
      }
      assert.deepEqual(missing, [], "dashboard queries without data");

      // The shell gauges tell the story: two Ready, one waiting behind the Service in the way.
      const byPhase = await prometheus.query(`max by (phase) (cloudshell_shells{job="${JOB}"})`);
      const phase = Object.fromEntries(byPhase.map((s) => [s.metric.phase, Number(s.value[1])]));
      assert.equal(phase.Ready, 2, JSON.stringify(phase));
      const conflict = await prometheus.query(
        `cloudshell_shells_ready{job="${JOB}",status="False",reason="ServiceConflict"}`,
      );
      assert.equal(conflict.length, 1, "the stuck shell's reason is a label");
      assert.ok(
        !op.logs().some((line) => line.includes(token.stdout.trim())),
        "the token in the operator's logs",
      );
      assert.equal(prometheus.logs().includes(token.stdout.trim()), false);

      // The operator gone: its target is down and CloudShellOperatorDown fires.
      await op.stop();
      const stoppedAt = Date.now();
      await eventually(
        "CloudShellOperatorDown to fire",
        async () =>
          (await prometheus.alerts()).some((a) =>
            a.labels.alertname === "CloudShellOperatorDown" && a.state === "firing"
          ),
        60_000,
        1000,
      );
      console.log(
        `CloudShellOperatorDown fired ${
          ((Date.now() - stoppedAt) / 1000).toFixed(1)
        } s after the operator stopped`,
      );
    } finally {
      await cluster.client.delete(ClusterRoleBindings, undefined, reader.metadata.name!).catch(() => {});
      await cluster.client.delete(ClusterRoles, undefined, reader.metadata.name!).catch(() => {});
    }
  },
});

Deno.test({
  name: "Prometheus scrapes the operator's plain-HTTP /metrics with a static configuration",
  ignore: PROMETHEUS_MISSING !== undefined,
  async fn() {
    await using cluster = await testCluster();
    await installCrd(cluster.client);
    const ns = await cluster.namespace("e2e-monitoring-plain");
    await using op = await OperatorProcess.start(cluster.kubeconfigPath, ns);
    assert.match(op.metricsUrl, /^http:\/\//);
    const config = stringify({
      global: { scrape_interval: "2s", scrape_timeout: "2s" },
      scrape_configs: [{ job_name: JOB, static_configs: [{ targets: [new URL(op.metricsUrl).host] }] }],
    });
    await using prometheus = await PrometheusServer.start(config);
    await createCloudShell(cluster.client, ns, "plain", {});
    await waitForCloudShell(cluster.client, ns, "plain", "Ready", (c) => c.status?.phase === "Ready");
    const ready = await eventually(
      "Prometheus to see the Ready shell",
      async () => {
        const result = await prometheus.query(`cloudshell_shells{job="${JOB}",phase="Ready"} == 1`);
        return result.length === 1 ? result : false;
      },
      30_000,
      1000,
    );
    assert.equal(ready[0].metric.instance, new URL(op.metricsUrl).host);
  },
});
