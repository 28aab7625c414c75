/**
 * Fault: the operator killed with SIGKILL while it is deleting shells that
 * hold routes (robustness_test.ts kills one while it creates shells). Deleted
 * Ingress and VirtualService shells carry a finalizer until their path is out
 * of the shared object; new shells are added to the same Ingress at the same
 * moment, so removing the last old path (which deletes an Ingress of ours left
 * empty) races with adding new ones. The replacement operator must finish
 * every deletion (no shell stuck with its finalizer), leave exactly the new
 * paths, and create each new shell's children once.
 */
import assert from "node:assert/strict";
import { type CloudShell, CloudShells, FINALIZER } from "../../controller/cloudshell/api.ts";
import {
  type Ingress,
  type VirtualService,
  VirtualServices,
} from "../../controller/cloudshell/routing/routes.ts";
import { isNotFound, Resources } from "../../controller/kube/mod.ts";
import { eventually, testCluster } from "../harness/cluster.ts";
import { installCrd, OperatorProcess } from "./_operator.ts";
import {
  assertOneOfEach,
  createCloudShells,
  installVirtualServiceCrd,
  type ShellToCreate,
  waitUntilQuiet,
} from "./_support.ts";

const INGRESS = { exposureMode: "Ingress", ingressConfig: { ingressName: "routes" } };
const VIRTUAL_SERVICE = {
  exposureMode: "VirtualService",
  virtualServiceConfig: { virtualServiceName: "routes-vs", gateway: "istio-system/gw" },
};

function ingressPaths(ing: Ingress): string[] {
  return (ing.spec?.rules ?? []).flatMap((r) => r.http?.paths ?? []).map((p) => p.path!).sort();
}

Deno.test("an operator killed while deleting routed shells is replaced by one that finishes every deletion", async () => {
  await using cluster = await testCluster();
  await installCrd(cluster.client);
  await installVirtualServiceCrd(cluster.client);
  const ns = await cluster.namespace("e2e-kill-delete");
  const client = cluster.client;
  const list = async () => (await client.list<CloudShell>(CloudShells, { namespace: ns })).items;

  // 30 Ingress, 10 VirtualService and 10 NodePort shells, all Ready under a first operator.
  const old: ShellToCreate[] = Array.from({ length: 50 }, (_, i) => ({
    name: `old-${i}`,
    spec: i < 30 ? INGRESS : i < 40 ? VIRTUAL_SERVICE : {},
  }));
  const first = await OperatorProcess.start(cluster.kubeconfigPath, ns, ["--kube-api-qps=100"]);
  try {
    await createCloudShells(client, ns, old);
    await eventually("the old shells to be Ready", async () => {
      const shells = await list();
      return shells.length === old.length && shells.every((cs) => cs.status?.phase === "Ready");
    }, 90_000);
  } finally {
    assert.equal(await first.stop("SIGTERM"), 0);
  }
  const routed = (await list()).filter((cs) => cs.metadata.finalizers?.includes(FINALIZER));
  assert.equal(routed.length, 40, "every routed shell carries the finalizer");

  // A slow operator (few requests per second), so it is surely killed between two finalizations.
  const second = await OperatorProcess.start(cluster.kubeconfigPath, ns, [
    "--kube-api-qps=4",
    "--kube-api-burst=1",
    "--workers=4",
  ]);
  const fresh: ShellToCreate[] = Array.from({ length: 10 }, (_, i) => ({ name: `new-${i}`, spec: INGRESS }));
  let stuckAtKill: CloudShell[];
  try {
    await Promise.all(old.map((s) => client.delete(CloudShells, ns, s.name)));
    await createCloudShells(client, ns, fresh);
    stuckAtKill = await eventually("the slow operator to finish a few deletions", async () => {
      const left = (await list()).filter((cs) => cs.metadata.name!.startsWith("old-"));
      return left.length <= 36 ? left : false;
    }, 60_000);
  } finally {
    await second.stop("SIGKILL");
  }
  assert.ok(stuckAtKill.length > 0, "killed while deletions were still pending");
  for (const cs of stuckAtKill) {
    assert.ok(cs.metadata.deletionTimestamp, `${cs.metadata.name} is being deleted`);
    assert.ok(cs.metadata.finalizers?.includes(FINALIZER), `${cs.metadata.name} waits on the operator`);
  }

  await using third = await OperatorProcess.start(cluster.kubeconfigPath, ns);
  await eventually("every old shell to be gone and every new one Ready", async () => {
    const shells = await list();
    return shells.length === fresh.length &&
      shells.every((cs) => cs.metadata.name!.startsWith("new-") && cs.status?.phase === "Ready");
  }, 60_000);

  // The shared Ingress holds the new paths only, each once; the VirtualService, ours and empty, is gone.
  const ingress = await client.get<Ingress>(Resources.ingresses, ns, "routes");
  assert.deepEqual(ingressPaths(ingress), fresh.map((s) => `/apis/v1alpha1/cloudshell/${s.name}`).sort());
  await client.get<VirtualService>(VirtualServices, ns, "routes-vs").then(
    (vs) => assert.fail(`VirtualService left with ${vs.spec?.http?.length} routes`),
    (err) => assert.ok(isNotFound(err), String(err)),
  );
  // The old shells' children go by garbage collection; the new ones have one of each.
  await eventually("the old shells' children to be collected", async () => {
    const jobs = await client.list(Resources.jobs, { namespace: ns });
    return jobs.items.every((j) => j.metadata.name!.startsWith("cloudshell-new-"));
  }, 60_000);
  await eventually("one of each child per new shell", async () => {
    await assertOneOfEach(client, ns, fresh.map((s) => s.name));
    return true;
  }, 30_000);
  await waitUntilQuiet(third, 2_000);
  assert.equal(third.exited, false);
});
