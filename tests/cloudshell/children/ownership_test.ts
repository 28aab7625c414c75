/**
 * The one ownership check every child goes through, against a real API server: a child is created, or
 * found when it is this shell's own; an object of that name that is not (someone's, or a namesake's
 * leftover) is reported and left exactly as it was.
 */
import assert from "node:assert/strict";
import { type CloudShell, CloudShells } from "../../../controller/cloudshell/api.ts";
import {
  ChildConflict,
  ensureChild,
  isOwnedBy,
  ownerReference,
} from "../../../controller/cloudshell/children/ownership.ts";
import { type KubeObject, Resources } from "../../../controller/kube/mod.ts";
import { type TestCluster, testCluster } from "../../harness/cluster.ts";
import { installCrd } from "../../e2e/_operator.ts";

/** A real CloudShell (no operator runs here): an owner the garbage collector will not find missing. */
function shell(cluster: TestCluster, ns: string, name = "web"): Promise<CloudShell> {
  return cluster.client.create<CloudShell>(CloudShells, {
    apiVersion: "cloudshell.cloudtty.io/v1alpha1",
    kind: "CloudShell",
    metadata: { name, namespace: ns },
    spec: {},
  } as CloudShell);
}

function account(ns: string, cs?: CloudShell): KubeObject {
  return {
    apiVersion: "v1",
    kind: "ServiceAccount",
    metadata: {
      name: "cloudshell-web",
      namespace: ns,
      ...(cs ? { ownerReferences: [ownerReference(cs)] } : {}),
    },
  };
}

Deno.test("ensureChild() creates, finds its own, and never takes over someone else's", async (t) => {
  await using cluster = await testCluster();
  const client = cluster.client;
  await installCrd(client);

  await t.step("creates a missing child, and finds it again", async () => {
    const ns = await cluster.namespace("owned-create");
    const cs = await shell(cluster, ns);
    const made = await ensureChild(client, Resources.serviceAccounts, account(ns, cs), cs);
    assert.ok(isOwnedBy(made, cs));
    const again = await ensureChild(client, Resources.serviceAccounts, account(ns, cs), cs);
    assert.equal(again.metadata.uid, made.metadata.uid);
  });

  await t.step("someone's object, or a namesake's leftover, is a conflict and stays as it was", async () => {
    const ns = await cluster.namespace("owned-clash");
    const theirs = await client.create(Resources.serviceAccounts, account(ns));
    const cs = await shell(cluster, ns);
    await assert.rejects(ensureChild(client, Resources.serviceAccounts, account(ns, cs), cs), (err) => {
      assert.ok(err instanceof ChildConflict);
      assert.equal(err.reason, "ServiceAccountConflict");
      assert.equal(
        err.message.split(";")[0],
        `ServiceAccount ${ns}/cloudshell-web exists and is not owned by this CloudShell`,
      );
      return true;
    });
    const after = await client.get(Resources.serviceAccounts, ns, "cloudshell-web");
    assert.equal(after.metadata.resourceVersion, theirs.metadata.resourceVersion);
    assert.equal(after.metadata.ownerReferences, undefined);

    // Owned by another CloudShell (an earlier one of that name, say): another UID, so not this one's.
    const ns2 = await cluster.namespace("owned-namesake");
    const other = await shell(cluster, ns2, "other");
    await client.create(Resources.serviceAccounts, account(ns2, other));
    const now = await shell(cluster, ns2);
    await assert.rejects(
      ensureChild(client, Resources.serviceAccounts, account(ns2, now), now),
      ChildConflict,
    );
  });
});
