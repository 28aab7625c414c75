import assert from "node:assert/strict";
import { parse } from "yaml";
import type { CloudShell } from "../../../controller/cloudshell/api.ts";
import {
  buildImpersonationBinding,
  buildImpersonationRole,
  creatorProblem,
  grantName,
  identityKubeconfig,
  isGrantOf,
} from "../../../controller/cloudshell/access/identity.ts";

const cs: CloudShell = {
  apiVersion: "cloudshell.cloudtty.io/v1alpha1",
  kind: "CloudShell",
  metadata: { name: "s", namespace: "team-a", uid: "0f0e-11" },
};
const alice = {
  username: "alice",
  uid: "u-1",
  groups: ["devs", "system:authenticated"],
  extra: { scopes: ["read", "write"], empty: [] },
};

Deno.test("the grant may impersonate exactly the creator, and is bound to the shell's account only", () => {
  const role = buildImpersonationRole(cs, alice) as unknown as {
    rules: unknown[];
    metadata: CloudShell["metadata"];
  };
  assert.equal(role.metadata.name, "cloudshell-identity-0f0e-11");
  assert.ok(isGrantOf(role as never, cs));
  assert.deepEqual(role.rules, [
    { apiGroups: [""], resources: ["users"], verbs: ["impersonate"], resourceNames: ["alice"] },
    {
      apiGroups: [""],
      resources: ["groups"],
      verbs: ["impersonate"],
      resourceNames: ["devs", "system:authenticated"],
    },
    {
      apiGroups: ["authentication.k8s.io"],
      resources: ["uids"],
      verbs: ["impersonate"],
      resourceNames: ["u-1"],
    },
    {
      apiGroups: ["authentication.k8s.io"],
      resources: ["userextras/scopes"],
      verbs: ["impersonate"],
      resourceNames: ["read", "write"],
    },
  ]);
  const bare = buildImpersonationRole(cs, { username: "bob" }) as unknown as { rules: unknown[] };
  assert.equal(bare.rules.length, 1);
  const binding = buildImpersonationBinding(cs) as unknown as Record<string, unknown>;
  assert.deepEqual(binding.subjects, [{ kind: "ServiceAccount", name: "cloudshell-s", namespace: "team-a" }]);
  assert.deepEqual(binding.roleRef, {
    apiGroup: "rbac.authorization.k8s.io",
    kind: "ClusterRole",
    name: grantName(cs),
  });
  assert.ok(!isGrantOf({ metadata: { name: grantName(cs), labels: {} } }, cs));
});

Deno.test("the terminal's kubeconfig asks to act as the creator, with the projected token beside it", () => {
  const config = parse(identityKubeconfig(alice, "https://10.0.0.1:443", "team-a"));
  assert.deepEqual(config.users[0].user, {
    tokenFile: "token",
    as: "alice",
    "as-groups": ["devs", "system:authenticated"],
    "as-uid": "u-1",
    "as-user-extra": { scopes: ["read", "write"] },
  });
  assert.deepEqual(config.clusters[0].cluster, {
    server: "https://10.0.0.1:443",
    "certificate-authority": "ca.crt",
  });
  assert.equal(config.contexts[0].context.namespace, "team-a");
});

Deno.test("a creator that is not recorded, or is a ServiceAccount, is refused with a reason", () => {
  assert.equal(creatorProblem(undefined)?.reason, "CreatorNotRecorded");
  assert.equal(creatorProblem({ username: "" })?.reason, "CreatorNotRecorded");
  assert.equal(creatorProblem({ username: "system:serviceaccount:a:b" })?.reason, "CreatorIsServiceAccount");
  assert.equal(creatorProblem({ username: "alice" }), undefined);
});
