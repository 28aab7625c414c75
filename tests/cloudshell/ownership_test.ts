/**
 * The one ownership check every child goes through, against a real API server: a child is created, or
 * found when it is this shell's own; an object of that name that is not (someone's, or a namesake's
 * leftover) is reported and left exactly as it was.
 */
import assert from "node:assert/strict";
import type { CloudShell } from "../../controller/cloudshell/api.ts";
import {
  ChildConflict,
  ensureChild,
  isOwnedBy,
  ownerReference,
} from "../../controller/cloudshell/ownership.ts";
import { type KubeObject, Resources } from "../../controller/kube/mod.ts";
import { testCluster } from "../harness/cluster.ts";

function shell(ns: string, uid: string): CloudShell {
  return { metadata: { name: "web", namespace: ns, uid } };
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

  await t.step("creates a missing child, and finds it again", async () => {
    const ns = await cluster.namespace("owned-create");
    // The UID only has to be stable: an ownerReference to a missing owner is accepted (GC would collect it).
    const cs = shell(ns, "6a1c0de0-0000-4000-8000-000000000001");
    const made = await ensureChild(client, Resources.serviceAccounts, account(ns, cs), cs);
    assert.ok(isOwnedBy(made, cs));
    const again = await ensureChild(client, Resources.serviceAccounts, account(ns, cs), cs);
    assert.equal(again.metadata.uid, made.metadata.uid);
  });

  await t.step("someone's object, or a namesake's leftover, is a conflict and stays as it was", async () => {
    const ns = await cluster.namespace("owned-clash");
    const theirs = await client.create(Resources.serviceAccounts, account(ns));
    const cs = shell(ns, "6a1c0de0-0000-4000-8000-000000000002");
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

    // Owned by an earlier shell of the same name: a different UID, so not this one's either.
    const earlier = shell(ns, "6a1c0de0-0000-4000-8000-000000000003");
    const ns2 = await cluster.namespace("owned-namesake");
    await client.create(
      Resources.serviceAccounts,
      account(ns2, { ...earlier, metadata: { ...earlier.metadata, namespace: ns2 } }),
    );
    const now = shell(ns2, "6a1c0de0-0000-4000-8000-000000000004");
    await assert.rejects(
      ensureChild(client, Resources.serviceAccounts, account(ns2, now), now),
      ChildConflict,
    );
  });
});
