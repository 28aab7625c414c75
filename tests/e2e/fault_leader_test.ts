/**
 * Fault: the leader killed with SIGKILL while 100 CloudShells are being
 * created, with a standby replica waiting on the Lease (short timings, as a
 * test can afford). The standby must not act while the leader lives, must
 * take over only once the Lease the dead leader never released has expired,
 * and must then finish the work without duplicating anything the leader
 * already did.
 */
import assert from "node:assert/strict";
import type { CloudShell } from "../../controller/cloudshell/api.ts";
import { CloudShells } from "../../controller/cloudshell/api.ts";
import type { Ingress } from "../../controller/cloudshell/routing/routes.ts";
import type { Lease } from "../../controller/runtime/leader_election.ts";
import { Resources } from "../../controller/kube/mod.ts";
import { eventually, testCluster } from "../harness/cluster.ts";
import { installCrd, OperatorProcess } from "./_operator.ts";
import {
  assertOneOfEach,
  createCloudShells,
  logEntries,
  metricSum,
  reconciles,
  type ShellToCreate,
  waitUntilQuiet,
} from "./_support.ts";

const LEASE_MS = 4_000;
const RETRY_MS = 500;

/** The local time of the first log entry with message `msg`, or undefined. */
function firstLogged(op: OperatorProcess, msg: string): number | undefined {
  const entry = logEntries(op, msg)[0];
  return entry ? Date.parse(String(entry.time)) : undefined;
}

Deno.test("leader killed under load: the standby takes over after the Lease expires and finishes without duplicates", async () => {
  await using cluster = await testCluster();
  await installCrd(cluster.client);
  const ns = await cluster.namespace("e2e-failover");
  const client = cluster.client;
  const election = [
    "--leader-elect=true",
    `--leader-elect-resource-namespace=${ns}`,
    `--leader-elect-lease-duration=${LEASE_MS / 1000}s`,
    "--leader-elect-renew-deadline=3s",
    `--leader-elect-retry-period=${RETRY_MS}ms`,
  ];
  const getLease = () => client.get<Lease>(Resources.leases, ns, "cloudshell-operator");

  const leader = await OperatorProcess.start(cluster.kubeconfigPath, ns, election);
  await using standby = await OperatorProcess.start(cluster.kubeconfigPath, ns, election);
  try {
    const held = await eventually("the first replica to lead", async () => {
      const lease = await getLease();
      return firstLogged(leader, "Starting workers") !== undefined && lease.spec?.holderIdentity
        ? lease
        : false;
    });
    const leaderIdentity = held.spec!.holderIdentity!;

    const shells: ShellToCreate[] = Array.from({ length: 100 }, (_, i) => ({
      name: `shell-${i}`,
      spec: i % 10 === 0 ? { exposureMode: "Ingress", ingressConfig: { ingressName: "shared" } } : {},
    }));
    await createCloudShells(client, ns, shells);
    await eventually("the leader to be part-way through", async () => {
      const jobs = (await client.list(Resources.jobs, { namespace: ns })).items.length;
      return jobs >= 25;
    }, 60_000);

    // Until now the standby, with warm caches, has not reconciled anything nor claimed to lead.
    assert.equal(await reconciles(standby), 0, "the standby reconciled while the leader lived");
    assert.equal(await metricSum(standby, "leader_election_master_status"), 0);
    assert.equal(firstLogged(standby, "Starting workers"), undefined);
    assert.equal(await metricSum(leader, "leader_election_master_status"), 1);
    const readyAtKill = (await client.list<CloudShell>(CloudShells, { namespace: ns })).items
      .filter((cs) => cs.status?.phase === "Ready").length;
    assert.ok(readyAtKill < shells.length, `killed part-way (${readyAtKill} Ready)`);

    const killedAt = Date.now();
    await leader.stop("SIGKILL");

    await eventually("every CloudShell to be Ready", async () => {
      const list = await client.list<CloudShell>(CloudShells, { namespace: ns });
      return list.items.length === shells.length && list.items.every((cs) => cs.status?.phase === "Ready");
    }, 90_000);

    // The standby waited out the Lease the dead leader held (it was never released), then took it.
    const acquired = firstLogged(standby, "Acquired leader lease")!;
    const started = firstLogged(standby, "Starting workers")!;
    assert.ok(acquired !== undefined && started !== undefined, "the standby took over");
    const waited = acquired - killedAt;
    assert.ok(
      waited >= LEASE_MS - 2 * RETRY_MS,
      `took over ${waited} ms after the kill, before the Lease expired`,
    );
    assert.ok(waited < LEASE_MS + 6_000, `took over only ${waited} ms after the kill`);
    assert.ok(started >= acquired, "workers started only after the Lease was acquired");
    const firstReconcile = logEntries(standby, "Reconciled").map((e) => Date.parse(String(e.time)))[0];
    assert.ok(firstReconcile >= acquired, "the standby reconciled nothing before it held the Lease");
    const lease = await getLease();
    assert.notEqual(lease.spec?.holderIdentity, leaderIdentity);
    assert.equal(lease.spec?.holderIdentity, logEntries(standby, "Acquired leader lease")[0].identity);
    assert.equal(lease.spec?.leaseTransitions, (held.spec?.leaseTransitions ?? 0) + 1);

    // Nothing doubled or lost: one of each child per shell and each Ingress path once.
    await assertOneOfEach(client, ns, shells.map((s) => s.name));
    const ingress = await client.get<Ingress>(Resources.ingresses, ns, "shared");
    const paths = (ingress.spec?.rules ?? []).flatMap((r) => r.http?.paths ?? []).map((p) => p.path!).sort();
    assert.deepEqual(
      paths,
      shells.filter((s) => s.spec.exposureMode).map((s) => `/apis/v1alpha1/cloudshell/${s.name}`).sort(),
    );
    await waitUntilQuiet(standby, 2_000);
    assert.equal(await metricSum(standby, "leader_election_master_status"), 1);
  } finally {
    await leader.stop("SIGKILL");
  }
});
