/**
 * The identity grant sweep against a real API server: a grant whose shell is gone, or whose shell of the
 * same name is a later one (another UID), is deleted, binding and role; a live shell's grant, found in the
 * cache or only on the server, stays, and so does anything without the operator's labels.
 */
import assert from "node:assert/strict";
import { type CloudShell, CloudShells } from "../../../controller/cloudshell/api.ts";
import { GrantSweeper } from "../../../controller/cloudshell/access/grant_sweeper.ts";
import {
  buildImpersonationBinding,
  buildImpersonationRole,
  grantName,
} from "../../../controller/cloudshell/access/identity.ts";
import { Store } from "../../../controller/cache/store.ts";
import { isNotFound, type KubeObject, Resources, type ResourceType } from "../../../controller/kube/mod.ts";
import { Logger } from "../../../controller/log.ts";
import { testCluster } from "../../harness/cluster.ts";
import { installCrd } from "../../e2e/_operator.ts";

Deno.test("the grant sweep deletes grants of shells that are gone, and nothing else", async () => {
  await using cluster = await testCluster();
  const client = cluster.client;
  await installCrd(client);
  const ns = await cluster.namespace("grant-sweep");
  const create = (name: string) =>
    client.create<CloudShell>(CloudShells, {
      apiVersion: "cloudshell.cloudtty.io/v1alpha1",
      kind: "CloudShell",
      metadata: { name, namespace: ns },
      spec: {},
    } as CloudShell);
  const creator = { username: "alice", groups: ["dev"] };
  const grant = async (cs: CloudShell) => {
    await client.create(Resources.clusterRoles, buildImpersonationRole(cs, creator));
    await client.create(Resources.clusterRoleBindings, buildImpersonationBinding(cs));
  };
  const exists = async (type: ResourceType, name: string) => {
    try {
      await client.get<KubeObject>(type, undefined, name);
      return true;
    } catch (err) {
      if (isNotFound(err)) return false;
      throw err;
    }
  };

  // In the cache; on the server only (created after the cache was filled); deleted; replaced by a namesake.
  const cached = await create("cached");
  const uncached = await create("uncached");
  const deleted = await create("deleted");
  const replaced = await create("replaced");
  for (const cs of [cached, uncached, deleted, replaced]) await grant(cs);
  await client.delete(CloudShells, ns, "deleted");
  await client.delete(CloudShells, ns, "replaced");
  const namesake = await create("replaced");
  // Someone's own ClusterRole with a name like ours but without the operator's labels.
  const foreign = `cloudshell-identity-${crypto.randomUUID()}`;
  await client.create(Resources.clusterRoles, {
    apiVersion: "rbac.authorization.k8s.io/v1",
    kind: "ClusterRole",
    metadata: { name: foreign },
    rules: [],
  } as KubeObject);

  const cache = new Store<CloudShell>();
  cache.upsert(cached);
  cache.upsert(namesake);
  const logs: string[] = [];
  const sweeper = new GrantSweeper({
    client,
    cloudShells: cache,
    logger: new Logger({ format: "json", sink: (line) => logs.push(line) }),
  });
  const removed = await sweeper.sweep();

  assert.deepEqual(removed.sort(), [grantName(deleted), grantName(replaced)].sort());
  for (const cs of [deleted, replaced]) {
    assert.equal(await exists(Resources.clusterRoleBindings, grantName(cs)), false);
    assert.equal(await exists(Resources.clusterRoles, grantName(cs)), false);
  }
  for (const cs of [cached, uncached]) {
    assert.ok(await exists(Resources.clusterRoleBindings, grantName(cs)), `${cs.metadata.name}'s binding`);
    assert.ok(await exists(Resources.clusterRoles, grantName(cs)), `${cs.metadata.name}'s role`);
  }
  assert.ok(await exists(Resources.clusterRoles, foreign), "an object without the operator's labels stays");
  assert.equal(
    logs.filter((l) => l.includes("Removed an identity grant whose CloudShell is gone")).length,
    4,
  );
  assert.deepEqual(await sweeper.sweep(), [], "nothing left to remove");
});
