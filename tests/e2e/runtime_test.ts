/**
 * The operator process as an operator of operators sees it: flags, metrics,
 * probes, leader election and a graceful shutdown.
 */
import assert from "node:assert/strict";
import { Resources } from "../../controller/kube/mod.ts";
import type { KubeObject } from "../../controller/kube/mod.ts";
import { eventually, testCluster } from "../harness/cluster.ts";
import { createCloudShell, installCrd, OperatorProcess, waitForCloudShell } from "./_operator.ts";

const MAIN = new URL("../../main.ts", import.meta.url).pathname;

async function runOperator(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const bin = Deno.env.get("CLOUDSHELL_OPERATOR_BIN");
  const cmd = bin
    ? new Deno.Command(bin, { args, stdout: "piped", stderr: "piped" })
    : new Deno.Command(Deno.execPath(), {
      args: ["run", "--allow-all", MAIN, ...args],
      stdout: "piped",
      stderr: "piped",
    });
  const out = await cmd.output();
  const text = new TextDecoder();
  return { code: out.code, stdout: text.decode(out.stdout), stderr: text.decode(out.stderr) };
}

Deno.test("a bad flag or feature gate exits with code 2 and a one-line reason", async (t) => {
  for (
    const [args, pattern] of [
      [["--workers=0"], /^Error: Invalid value "0" for flag --workers/],
      [
        ["--feature-gates=AllowSecretStoreKubeconfig=maybe"],
        /^Error: .*AllowSecretStoreKubeconfig.*known gates:/,
      ],
      [
        ["--feature-gates=NoSuchGate=true"],
        /^Error: .*NoSuchGate.*known gates: .*AllowSecretStoreKubeconfig/,
      ],
      [["--log-format=xml"], /^Error: .*--log-format/],
      [["--leader-elect-lease-duration=1s"], /^Error: .*--leader-elect-lease-duration/],
      [["extra-argument"], /^Error: Unexpected argument "extra-argument"/],
    ] as const
  ) {
    await t.step(args.join(" "), async () => {
      const { code, stderr } = await runOperator([...args]);
      assert.equal(code, 2);
      const lines = stderr.trim().split("\n");
      assert.match(lines[0], pattern);
      assert.ok(lines.length <= 2, `a reason and at most a hint, got:\n${stderr}`);
    });
  }
  await t.step("--help lists flags and feature gates, exit 0", async () => {
    const { code, stdout } = await runOperator(["--help"]);
    assert.equal(code, 0);
    assert.match(stdout, /--feature-gates/);
    assert.match(stdout, /AllowSecretStoreKubeconfig=true\|false \(BETA - default=true\)/);
    assert.match(stdout, /--metrics-bind-address/);
  });
  await t.step("--version, exit 0", async () => {
    const { code, stdout } = await runOperator(["--version"]);
    assert.equal(code, 0);
    assert.match(stdout, /^\d+\.\d+\.\d+\ncommit: \S+\ndeno: \S+\nv8: \S+\ntypescript: \S+\n$/);
  });
});

/** The value of a series in Prometheus text, or undefined. */
function sample(text: string, series: string): number | undefined {
  for (const line of text.split("\n")) {
    if (line.startsWith(series + " ")) return Number(line.slice(series.length + 1));
  }
  return undefined;
}

Deno.test("/metrics carries queue, reconcile, leader and process series with live values", async () => {
  await using cluster = await testCluster();
  await installCrd(cluster.client);
  const ns = await cluster.namespace("e2e-metrics");
  await using op = await OperatorProcess.start(cluster.kubeconfigPath, ns, [
    "--leader-elect=true",
    `--leader-elect-resource-namespace=${ns}`,
  ]);
  await createCloudShell(cluster.client, ns, "fine", {});
  // A Service of that name that the shell does not own makes its reconciles fail: errors and retries.
  await cluster.client.create(Resources.services, {
    apiVersion: "v1",
    kind: "Service",
    metadata: { name: "cloudshell-blocked", namespace: ns },
    spec: { ports: [{ port: 7681 }] },
  } as KubeObject);
  await createCloudShell(cluster.client, ns, "blocked", {});
  await waitForCloudShell(cluster.client, ns, "fine", "Ready", (c) => c.status?.phase === "Ready");
  const text = await eventually("an error and a retry in the metrics", async () => {
    const t = await op.metrics();
    const errors = sample(t, 'controller_runtime_reconcile_errors_total{controller="cloudshell"}') ?? 0;
    const retries = sample(t, 'workqueue_retries_total{name="cloudshell"}') ?? 0;
    return errors > 0 && retries > 0 ? t : false;
  });
  const positive = [
    'workqueue_adds_total{name="cloudshell"}',
    'workqueue_queue_duration_seconds_count{name="cloudshell"}',
    'workqueue_work_duration_seconds_count{name="cloudshell"}',
    'controller_runtime_reconcile_total{controller="cloudshell",result="success"}',
    'controller_runtime_reconcile_time_seconds_count{controller="cloudshell"}',
    'leader_election_master_status{name="cloudshell-operator"}',
    "cloudshell_creation_to_ready_seconds_count",
    "process_resident_memory_bytes",
    "process_cpu_seconds_total",
  ];
  for (const series of positive) {
    const value = sample(text, series);
    assert.ok(value !== undefined && value > 0, `${series} = ${value}`);
  }
  assert.notEqual(sample(text, 'workqueue_depth{name="cloudshell"}'), undefined);
  assert.match(text, /rest_client_requests_total\{code="201",method="POST",resource="jobs"\} [1-9]/);
  assert.match(text, /feature_enabled\{name="AllowSecretStoreKubeconfig",stage="BETA"\} 1/i);
});

Deno.test("SIGTERM drains, releases the Lease and exits 0; a second replica then leads at once", async () => {
  await using cluster = await testCluster();
  await installCrd(cluster.client);
  const ns = await cluster.namespace("e2e-sigterm");
  const election = ["--leader-elect=true", `--leader-elect-resource-namespace=${ns}`];
  const first = await OperatorProcess.start(cluster.kubeconfigPath, ns, election);
  type Lease = KubeObject & { spec?: { holderIdentity?: string } };
  const held = await eventually("the first replica to hold the Lease", async () => {
    const lease = await cluster.client.get<Lease>(Resources.leases, ns, "cloudshell-operator");
    return lease.spec?.holderIdentity ? lease : false;
  });
  await using second = await OperatorProcess.start(cluster.kubeconfigPath, ns, election);
  await createCloudShell(cluster.client, ns, "before", {});
  await waitForCloudShell(cluster.client, ns, "before", "Ready", (c) => c.status?.phase === "Ready");

  const started = Date.now();
  assert.equal(await first.stop("SIGTERM"), 0);
  assert.ok(first.logs().some((l) => l.includes('"Stopping workers')), "it drained its workers");
  // Released, so the standby takes over well before the 15 s lease duration.
  await eventually("the second replica to take the Lease", async () => {
    const lease = await cluster.client.get<Lease>(Resources.leases, ns, "cloudshell-operator");
    return lease.spec?.holderIdentity && lease.spec.holderIdentity !== held.spec?.holderIdentity;
  }, 10_000);
  await createCloudShell(cluster.client, ns, "after", {});
  await waitForCloudShell(cluster.client, ns, "after", "Ready", (c) => c.status?.phase === "Ready");
  assert.ok(Date.now() - started < 15_000, "failover took less than a lease duration");
  assert.ok(!second.exited);
});
