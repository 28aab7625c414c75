/**
 * Fault: kube-apiserver restarted while 200 CloudShells are being created, on
 * a private control plane (the shared one cannot be restarted under other
 * test files). The operator must ride it out: every shell ends Ready with
 * exactly one Job, Service, ServiceAccount and pod, each Ingress path is in
 * the shared Ingress once, the process keeps running and serving /readyz, and
 * its informers resume. The watches they resume from a resourceVersion the
 * restarted API server's fresh watch cache no longer has end with 410 Gone, so
 * this is also the operator-level check of the relist after an expired watch
 * (`informer_lists_total{reason="gone"}`).
 */
import assert from "node:assert/strict";
import { type CloudShell, CloudShells } from "../../controller/cloudshell/api.ts";
import type { Ingress } from "../../controller/cloudshell/routing/routes.ts";
import { Resources } from "../../controller/kube/mod.ts";
import { eventually } from "../harness/cluster.ts";
import { startControlPlane } from "../harness/control_plane.ts";
import { installCrd, OperatorProcess } from "./_operator.ts";
import {
  assertOneOfEach,
  type CoreEvent,
  createCloudShells,
  eventsAbout,
  metricSum,
  type ShellToCreate,
  waitUntilQuiet,
} from "./_support.ts";

const SHELLS = 200;
/** The API server goes down once this many creations have landed. */
const RESTART_AFTER = 70;

Deno.test("kube-apiserver restarted while 200 CloudShells are being created: all Ready, nothing doubled", async () => {
  await using cp = await startControlPlane({ nodes: 2 });
  const client = cp.client;
  await installCrd(client);
  const ns = "fault-apiserver";
  await client.create(Resources.namespaces, { apiVersion: "v1", kind: "Namespace", metadata: { name: ns } });
  await using op = await OperatorProcess.start(cp.kubeconfigPath, ns, [
    // Fast enough that the restart lands while the operator is busy, not after it is done.
    "--kube-api-qps=200",
    "--kube-api-burst=400",
    "--workers=8",
  ]);

  // Every tenth shell routes through one shared Ingress: read-modify-write cycles across the restart.
  const shells: ShellToCreate[] = Array.from({ length: SHELLS }, (_, i) => ({
    name: `shell-${i}`,
    spec: i % 10 === 0 ? { exposureMode: "Ingress", ingressConfig: { ingressName: "shared" } } : {},
  }));
  const names = shells.map((s) => s.name);
  let restart: Promise<void> | undefined;
  let jobsAtRestart = SHELLS;
  await createCloudShells(client, ns, shells, {
    concurrency: 10,
    onCreated: async (done) => {
      if (done !== RESTART_AFTER) return;
      jobsAtRestart = (await client.list(Resources.jobs, { namespace: ns })).items.length;
      // Not awaited: the remaining creations keep going (and retrying) while the API server is away.
      restart = cp.restartApiServer();
    },
  });
  await restart;
  assert.ok(jobsAtRestart < SHELLS, `the restart came while Jobs were being created (${jobsAtRestart})`);

  const notReady = await eventually("every CloudShell to be Ready", async () => {
    const list = await client.list<CloudShell>(CloudShells, { namespace: ns });
    const waiting = list.items.filter((cs) => cs.status?.phase !== "Ready");
    return list.items.length === SHELLS && waiting.length === 0 ? waiting : false;
  }, 150_000);
  assert.deepEqual(notReady, []);

  await assertOneOfEach(client, ns, names);
  const ingress = await client.get<Ingress>(Resources.ingresses, ns, "shared");
  const paths = (ingress.spec?.rules ?? []).flatMap((r) => r.http?.paths ?? []).map((p) => p.path!).sort();
  assert.deepEqual(
    paths,
    shells.filter((s) => s.spec.exposureMode === "Ingress").map((s) => `/apis/v1alpha1/cloudshell/${s.name}`)
      .sort(),
    "each Ingress path once",
  );
  // At most one Ready Event per shell: a status write whose answer was lost is not announced twice.
  const readyEvents = (await client.list<CoreEvent>(
    Resources.events,
    { namespace: ns, fieldSelector: "involvedObject.kind=CloudShell,reason=Ready" },
  )).items;
  const perShell = new Map<string, number>();
  for (const e of readyEvents) {
    const name = e.involvedObject.name ?? "";
    perShell.set(name, (perShell.get(name) ?? 0) + 1);
  }
  assert.deepEqual([...perShell].filter(([, n]) => n > 1), [], "no shell announced Ready twice");
  assert.ok((await eventsAbout(client, ns, "shell-0")).length > 0, "Events were recorded");

  // The process survived, serves its probes, and its informers relisted after the 410s.
  assert.equal(op.exited, false);
  assert.equal(await op.probe("/healthz"), 200);
  assert.equal(await op.probe("/readyz"), 200);
  const relists = await metricSum(op, "informer_lists_total", { reason: "gone" });
  assert.ok(relists > 0, `the resumed watches expired with 410 and relisted (${relists} relists)`);
  assert.ok(!op.logs().some((l) => l.includes("Unhandled promise rejection")));
  // And it settles: no retry loop left over from the outage.
  await waitUntilQuiet(op, 3_000, 30_000);
});
