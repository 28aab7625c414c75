/**
 * Fault: a namespace deleted while its CloudShells are live, on a private
 * control plane with one operator watching every namespace (on the shared
 * cluster an operator watching everything would act on other test files'
 * shells). The doomed namespace holds Ingress shells sharing an Ingress there,
 * NodePort shells, and shells routed through a VirtualService in another
 * namespace that a bystander's shells share. The namespace must go away (no
 * shell stuck on the operator's finalizer), the cross-namespace routes must be
 * taken out, the bystander's shells and routes must not change at all, and the
 * operator must stay healthy without retrying in a loop.
 */
import assert from "node:assert/strict";
import { type CloudShell, CloudShells } from "../../controller/cloudshell/api.ts";
import {
  type Ingress,
  type VirtualService,
  VirtualServices,
} from "../../controller/cloudshell/routing/routes.ts";
import { type KubeClient, Resources } from "../../controller/kube/mod.ts";
import { deleteNamespaceAndWait, eventually } from "../harness/cluster.ts";
import { startControlPlane } from "../harness/control_plane.ts";
import { installCrd, OperatorProcess } from "./_operator.ts";
import {
  assertOneOfEach,
  counter,
  createCloudShells,
  installVirtualServiceCrd,
  type ShellToCreate,
  waitUntilQuiet,
} from "./_support.ts";

const DOOMED = "doomed";
const BYSTANDER = "bystander";
const OPERATOR_NS = "cloudshell-system";

const ingress = (name: string) => ({ exposureMode: "Ingress", ingressConfig: { ingressName: name } });
/** A VirtualService in the bystander's namespace, whichever namespace the shell is in. */
const SHARED_VS = {
  exposureMode: "VirtualService",
  virtualServiceConfig: { virtualServiceName: "shared-vs", namespace: BYSTANDER, gateway: "istio-system/gw" },
};

async function listShells(client: KubeClient, ns: string): Promise<CloudShell[]> {
  return (await client.list<CloudShell>(CloudShells, { namespace: ns })).items;
}

function vsPrefixes(vs: VirtualService): string[] {
  return (vs.spec?.http ?? []).map((r) => r.match?.[0]?.uri?.prefix ?? "").sort();
}

Deno.test("a namespace deleted while its shells are live goes away; other namespaces are untouched", async () => {
  await using cp = await startControlPlane({ nodes: 2 });
  const client = cp.client;
  await installCrd(client);
  await installVirtualServiceCrd(client);
  for (const name of [DOOMED, BYSTANDER, OPERATOR_NS]) {
    await client.create(Resources.namespaces, { apiVersion: "v1", kind: "Namespace", metadata: { name } });
  }
  // The doomed shells route through a VirtualService in the bystander's namespace: an administrator allows it.
  await using op = await OperatorProcess.start(cp.kubeconfigPath, OPERATOR_NS, [
    `--route-namespaces=${BYSTANDER}`,
  ], {
    allNamespaces: true,
  });

  const doomed: ShellToCreate[] = Array.from({ length: 30 }, (_, i) => ({
    name: `d-${i}`,
    spec: i < 15 ? ingress("doomed-ing") : i < 20 ? SHARED_VS : {},
  }));
  const bystander: ShellToCreate[] = Array.from({ length: 15 }, (_, i) => ({
    name: `b-${i}`,
    spec: i < 5 ? ingress("by-ing") : i < 10 ? SHARED_VS : {},
  }));
  await Promise.all([
    createCloudShells(client, DOOMED, doomed),
    createCloudShells(client, BYSTANDER, bystander),
  ]);
  await eventually("every shell to be Ready", async () => {
    const shells = [...await listShells(client, DOOMED), ...await listShells(client, BYSTANDER)];
    return shells.length === doomed.length + bystander.length &&
      shells.every((cs) => cs.status?.phase === "Ready");
  }, 90_000);
  const routedThroughVs = (shells: ShellToCreate[]) =>
    shells.filter((s) => s.spec === SHARED_VS).map((s) => `/apis/v1alpha1/cloudshell/${s.name}`).sort();
  assert.deepEqual(
    vsPrefixes(await client.get<VirtualService>(VirtualServices, BYSTANDER, "shared-vs")),
    [...routedThroughVs(doomed), ...routedThroughVs(bystander)].sort(),
  );

  // What must not change in the bystander's namespace.
  const snapshot = async () => ({
    shells: (await listShells(client, BYSTANDER)).map((cs) =>
      `${cs.metadata.name}@${cs.metadata.resourceVersion}`
    )
      .sort(),
    jobs: (await client.list(Resources.jobs, { namespace: BYSTANDER })).items.map((j) =>
      `${j.metadata.name}@${j.metadata.uid}`
    ).sort(),
    ingress: (await client.get<Ingress>(Resources.ingresses, BYSTANDER, "by-ing")).metadata.resourceVersion,
  });
  const before = await snapshot();
  const errorsBefore = await counter(op, "controller_runtime_reconcile_errors_total");

  await deleteNamespaceAndWait(client, DOOMED, 90_000);

  // The doomed shells' routes in the other namespace went with them; the bystander's stayed.
  assert.deepEqual(
    vsPrefixes(await client.get<VirtualService>(VirtualServices, BYSTANDER, "shared-vs")),
    routedThroughVs(bystander),
  );
  assert.deepEqual(await snapshot(), before, "the bystander's shells, Jobs and Ingress were not touched");
  await assertOneOfEach(client, BYSTANDER, bystander.map((s) => s.name));

  // The operator is healthy and settles; the failed writes into the dying namespace were few.
  await waitUntilQuiet(op, 2_000, 30_000);
  assert.equal(op.exited, false);
  assert.equal(await op.probe("/healthz"), 200);
  assert.equal(await op.probe("/readyz"), 200);
  // A shell's finalizer removal may conflict once or twice with its own status write that the cache has
  // not caught up with; a retry loop would cost several errors per shell.
  const errors = await counter(op, "controller_runtime_reconcile_errors_total") - errorsBefore;
  assert.ok(
    errors <= 2 * doomed.length,
    `${errors} failed reconciles while ${doomed.length} shells went away`,
  );
  assert.ok(!op.logs().some((l) => l.includes("Unhandled promise rejection")));

  // And it still serves the namespaces that remain.
  await createCloudShells(client, BYSTANDER, [{ name: "after", spec: ingress("by-ing") }]);
  await eventually("a new shell to be Ready", async () => {
    const cs = await client.get<CloudShell>(CloudShells, BYSTANDER, "after");
    return cs.status?.phase === "Ready";
  });
});
