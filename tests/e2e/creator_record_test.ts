/**
 * The creator record without the MutatingAdmissionPolicy (clusters older than 1.36, or an install without it):
 * a client may declare spec.creator, and the ValidatingAdmissionPolicy cloudshell-creator-record lets it in
 * only when it is exactly the requesting user, and never lets it change afterwards (issue 19).
 */
import assert from "node:assert/strict";
import { type CloudShell, CloudShells } from "../../controller/cloudshell/api.ts";
import { isForbidden, type KubeObject } from "../../controller/kube/mod.ts";
import { eventually, testCluster } from "../harness/cluster.ts";
import { AdmissionPolicies, createCloudShell, installCrd } from "./_operator.ts";
import { grantRole } from "./_support.ts";

type Policy = KubeObject & { status?: { typeChecking?: { expressionWarnings?: unknown[] } } };

function refused(what: RegExp) {
  return (err: unknown) => {
    assert.ok(isForbidden(err), `403 Forbidden, got ${err}`);
    assert.match((err as Error).message, /ValidatingAdmissionPolicy 'cloudshell-creator-record'/);
    assert.match((err as Error).message, what);
    return true;
  };
}

Deno.test("a declared creator must be the requesting user, and never changes", async () => {
  await using cluster = await testCluster();
  const admin = cluster.client;
  await installCrd(admin);
  const ns = await cluster.namespace("e2e-creator");
  const policy = await eventually("the creator policy to be type-checked", async () => {
    const p = await admin.get<Policy>(AdmissionPolicies, undefined, "cloudshell-creator-record");
    return p.status?.typeChecking ? p : false;
  });
  assert.deepEqual(policy.status?.typeChecking?.expressionWarnings ?? [], []);

  await grantRole(admin, ns, "shells", [{
    apiGroups: ["cloudshell.cloudtty.io"],
    resources: ["cloudshells"],
    verbs: ["*"],
  }], { groups: ["devs"] });
  const alice = admin.impersonating("alice", ["devs"]);
  const herself = { username: "alice", groups: ["devs", "system:authenticated"] };

  // The policy informer may take a moment to enforce a freshly installed policy.
  await eventually("a forged creator to be refused", async () => {
    try {
      await createCloudShell(alice, ns, "forged", { creator: { username: "admin" } });
      await admin.delete(CloudShells, ns, "forged");
      return false;
    } catch (err) {
      return refused(/spec.creator must be exactly the requesting user \(alice/)(err);
    }
  });
  await assert.rejects(
    createCloudShell(alice, ns, "wider", {
      creator: { ...herself, groups: [...herself.groups, "system:masters"] },
    }),
    refused(/exactly the requesting user/),
  );
  await assert.rejects(
    createCloudShell(alice, ns, "other-uid", { creator: { ...herself, uid: "1234" } }),
    refused(/exactly the requesting user/),
  );

  // Herself, as `kubectl auth whoami` shows her: accepted and kept as declared.
  const declared = await createCloudShell(alice, ns, "declared", { creator: herself });
  assert.deepEqual(declared.spec?.creator, herself);
  // No record at all is allowed (identity mode then refuses the shell with CreatorNotRecorded).
  const plain = await createCloudShell(alice, ns, "plain", {});
  assert.equal(plain.spec?.creator, undefined);

  // Afterwards the record is fixed: not changed, removed or added, by her or an admin.
  const patch = (client: typeof admin, name: string, creator: unknown) =>
    client.patch<CloudShell>(CloudShells, ns, name, { spec: { creator } }, "merge");
  await assert.rejects(
    patch(alice, "declared", { username: "bob" }),
    refused(/cannot be added, changed or removed/),
  );
  await assert.rejects(patch(admin, "declared", null), refused(/cannot be added, changed or removed/));
  await assert.rejects(patch(alice, "plain", herself), refused(/cannot be added, changed or removed/));
  // Other edits pass.
  const edited = await alice.patch<CloudShell>(
    CloudShells,
    ns,
    "declared",
    { spec: { once: true } },
    "merge",
  );
  assert.deepEqual(edited.spec?.creator, herself);
});
