/**
 * Fault: users editing CloudShells while the operator creates and reconciles
 * them. Edits come both as merge patches and as read-modify-write updates
 * (kubectl edit), so they race with the operator's own writes in both
 * directions. Every shell must converge on its last edit: the spec is exactly
 * what the user last wrote (the operator never writes spec, labels or other
 * annotations), status.observedGeneration catches up with the generation, the
 * URL and the children follow the final TTL and exposure mode, and conflicts
 * cost one retry each rather than an error loop.
 */
import assert from "node:assert/strict";
import {
  type CloudShell,
  CloudShells,
  FINALIZER,
  ROUTE_ANNOTATION,
} from "../../controller/cloudshell/api.ts";
import { activeDeadlineSecondsFor } from "../../controller/cloudshell/template/mod.ts";
import { isConflict, KubeClient, type KubeObject, Resources } from "../../controller/kube/mod.ts";
import { eventually, testCluster } from "../harness/cluster.ts";
import { createCloudShell, installCrd, OperatorProcess, readyCondition } from "./_operator.ts";
import { assertOneOfEach, counter, logEntries, sleep, waitUntilQuiet } from "./_support.ts";

const SHELLS = 60;
const EDITS_PER_SHELL = 6;
const LABEL = "e2e.cloudshell.io/edit";

/** What a user last wrote to one shell. */
interface Expected {
  spec: Record<string, unknown>;
  labels: Record<string, string>;
  annotations: Record<string, string>;
}

type Job = KubeObject & { spec: { activeDeadlineSeconds?: number | null } };
type Svc = KubeObject & { spec: { type: string } };
type ManagedCloudShell = CloudShell & {
  metadata: { managedFields?: { manager?: string; fieldsV1?: Record<string, unknown> }[] };
};

/** Edit number `k` of a shell: one field changes (the exposure mode only on shells that may switch it). */
function edit(k: number, switchesMode: boolean): Partial<Expected> {
  switch (k % 4) {
    case 0:
      return { spec: { ttlSecondsAfterStarted: 3_600 + k } };
    case 1:
      return { labels: { [LABEL]: `l${k}` } };
    case 2:
      return { annotations: { [LABEL]: `a${k}` } };
    default:
      return switchesMode
        ? { spec: { commandAction: `echo edit-${k}`, exposureMode: k % 8 === 3 ? "ClusterIP" : "NodePort" } }
        : { spec: { commandAction: `echo edit-${k}` } };
  }
}

/** Applies an edit as a merge patch (as `kubectl patch --type=merge`). */
async function patchEdit(client: KubeClient, ns: string, name: string, e: Partial<Expected>): Promise<void> {
  await client.patch(CloudShells, ns, name, {
    ...(e.spec ? { spec: e.spec } : {}),
    metadata: { labels: e.labels, annotations: e.annotations },
  }, "merge");
}

/** Applies an edit as `kubectl edit` does: read, change, write back the whole object; again on conflict. */
async function updateEdit(
  client: KubeClient,
  ns: string,
  name: string,
  e: Partial<Expected>,
): Promise<void> {
  while (true) {
    const cs = await client.get<CloudShell>(CloudShells, ns, name);
    cs.spec = { ...cs.spec, ...e.spec };
    cs.metadata.labels = { ...cs.metadata.labels, ...e.labels };
    cs.metadata.annotations = { ...cs.metadata.annotations, ...e.annotations };
    try {
      await client.update(CloudShells, cs);
      return;
    } catch (err) {
      if (!isConflict(err)) throw err;
    }
  }
}

Deno.test("users editing CloudShells while they are reconciled: every shell converges on its last edit", async () => {
  await using cluster = await testCluster();
  await installCrd(cluster.client);
  const ns = await cluster.namespace("e2e-edits");
  // The users' own field manager, so managedFields tell their writes from the operator's.
  const client = new KubeClient(cluster.connection, { qps: 500, burst: 1000, fieldManager: "e2e-user" });
  using _closeClient = { [Symbol.dispose]: () => client.close() };
  await using op = await OperatorProcess.start(cluster.kubeconfigPath, ns);

  // A third in a shared Ingress (their route record is written with a resourceVersion precondition, which
  // user edits break), a third switching between NodePort and ClusterIP, a third plain.
  const names = Array.from({ length: SHELLS }, (_, i) => `shell-${i}`);
  const routed = (i: number) => i % 3 === 0;
  const switches = (i: number) => i % 3 === 1;
  const expected = new Map<string, Expected>();
  await Promise.all(names.map(async (name, i) => {
    const spec: Record<string, unknown> = routed(i)
      ? { exposureMode: "Ingress", ingressConfig: { ingressName: "edits" }, ttlSecondsAfterStarted: 3_600 }
      : { ttlSecondsAfterStarted: 3_600 };
    await createCloudShell(client, ns, name, spec);
    const want: Expected = { spec, labels: {}, annotations: {} };
    expected.set(name, want);
    // Edits start at once, while the operator is creating the shell's children, and keep coming.
    for (let k = 0; k < EDITS_PER_SHELL; k++) {
      await sleep(Math.random() * 300);
      const e = edit(k + i, switches(i));
      if (k % 2 === 0) await patchEdit(client, ns, name, e);
      else await updateEdit(client, ns, name, e);
      want.spec = { ...want.spec, ...e.spec };
      want.labels = { ...want.labels, ...e.labels };
      want.annotations = { ...want.annotations, ...e.annotations };
    }
  }));

  const final = await eventually("every shell Ready at its latest generation", async () => {
    const list = await client.list<ManagedCloudShell>(CloudShells, { namespace: ns });
    const done = list.items.filter((cs) =>
      cs.status?.phase === "Ready" &&
      cs.status.observedGeneration === cs.metadata.generation &&
      readyCondition(cs)?.observedGeneration === cs.metadata.generation
    );
    return done.length === SHELLS ? list.items : false;
  }, 90_000);

  for (const cs of final) {
    const name = cs.metadata.name!;
    const want = expected.get(name)!;
    const i = Number(name.slice("shell-".length));
    assert.deepEqual(cs.spec, want.spec, `${name}: the spec is the user's last edit`);
    assert.deepEqual(cs.metadata.labels ?? {}, want.labels, `${name}: labels`);
    const { [ROUTE_ANNOTATION]: oldRecord, ...userAnnotations } = cs.metadata.annotations ?? {};
    assert.deepEqual(userAnnotations, want.annotations, `${name}: annotations`);
    assert.equal(oldRecord, undefined, `${name}: no route annotation (the record is in the status)`);
    assert.equal(cs.status?.route !== undefined, routed(i), `${name}: route record`);
    assert.equal(cs.metadata.finalizers?.includes(FINALIZER) ?? false, routed(i), `${name}: finalizer`);
    // The operator owns no field of the spec, labels or user annotations.
    for (const entry of cs.metadata.managedFields ?? []) {
      if (entry.manager !== "cloudshell-operator") continue;
      const owned = JSON.stringify(entry.fieldsV1 ?? {});
      assert.ok(
        !owned.includes('"f:spec"') && !owned.includes('"f:labels"'),
        `${name}: operator owns ${owned}`,
      );
      assert.ok(!owned.includes(LABEL), `${name}: operator owns the user's annotation`);
    }
    // Status, Job and Service follow the final spec.
    const ttl = want.spec.ttlSecondsAfterStarted as number;
    assert.match(cs.status?.accessUrl ?? "", new RegExp(`\\?ttl=${ttl}$`), `${name}: URL for the last TTL`);
    const job = await client.get<Job>(Resources.jobs, ns, `cloudshell-${name}`);
    assert.equal(job.spec.activeDeadlineSeconds, activeDeadlineSecondsFor(ttl), `${name}: Job deadline`);
    const svc = await client.get<Svc>(Resources.services, ns, `cloudshell-${name}`);
    const mode = String(want.spec.exposureMode ?? "NodePort");
    assert.equal(svc.spec.type, mode === "Ingress" ? "ClusterIP" : mode, `${name}: Service type`);
  }
  await assertOneOfEach(client, ns, names);

  // Conflicts were retried, not looped on: the operator settles, with few errors for ~360 edits.
  await waitUntilQuiet(op, 2_000);
  // Every failure is a write the operator guards with a resourceVersion (a routed shell's route record)
  // losing to a user's edit, so there are at most as many as there were edits of routed shells.
  const failures = logEntries(op, "Reconcile failed, will retry").map((e) => String(e.error));
  assert.deepEqual(failures.filter((e) => !/the object has been modified/.test(e)), [], "only conflicts");
  const errors = await counter(op, "controller_runtime_reconcile_errors_total");
  assert.equal(errors, failures.length);
  const routedEdits = names.filter((_, i) => routed(i)).length * EDITS_PER_SHELL;
  assert.ok(errors <= routedEdits, `${errors} failed reconciles for ${routedEdits} edits of routed shells`);
});
