/**
 * deploy/'s RBAC is enough, and all of it is needed: the operator, running as deploy/'s ServiceAccount (a
 * TokenRequest token, no admin credentials), takes CloudShells of every exposure mode through their whole
 * lives behind a proxy that records every request it makes. None is refused, each is allowed by a rule in
 * the rule's scope, and each permission the roles grant or tests/deploy/_rbac.ts lists is needed by one.
 */
import assert from "node:assert/strict";
import { childName, type CloudShell, CloudShells } from "../../controller/cloudshell/api.ts";
import type { Ingress, VirtualService } from "../../controller/cloudshell/routing/routes.ts";
import { VirtualServices } from "../../controller/cloudshell/routing/routes.ts";
import { type KubeObject, loadClusterConnection, Resources } from "../../controller/kube/mod.ts";
import { eventually, testCluster } from "../harness/cluster.ts";
import {
  createCloudShell,
  installCrd,
  OperatorProcess,
  readyCondition,
  waitForCloudShell,
  waitForGone,
} from "../e2e/_operator.ts";
import { installVirtualServiceCrd } from "../e2e/_support.ts";
import { installOperatorIdentity, serviceAccountToken, writeTokenKubeconfig } from "./_identity.ts";
import {
  DEPLOY_NAME,
  isTerminalRole,
  LEGACY_COMPONENT,
  type Manifest,
  ofKind,
  withoutMetricsReader,
} from "./_manifests.ts";
import { RecordingProxy } from "./_proxy.ts";
import {
  allows,
  CLUSTER_PERMISSIONS,
  flatten,
  LEGACY_CONFIGMAP_PERMISSIONS,
  NAMESPACE_PERMISSIONS,
  type Permission,
  permission,
  permissionOf,
  rulesOf,
} from "./_rbac.ts";

type JobLike = KubeObject & { spec?: { activeDeadlineSeconds?: number; template?: { spec?: PodSpec } } };
type PodSpec = {
  volumes?: { name: string; configMap?: { name: string }; secret?: { secretName: string } }[];
};
type Svc = KubeObject & { spec?: { type?: string; clusterIP?: string } };

const isReady = (cs: CloudShell) => cs.status?.phase === "Ready";

/** The permissions granted cluster-wide and in the operator namespace by the installed roles. */
function grants(objs: readonly Manifest[]): { cluster: Set<Permission>; namespace: Set<Permission> } {
  return {
    cluster: flatten(
      ofKind(withoutMetricsReader(objs), "ClusterRole").filter((o) => !isTerminalRole(o)).flatMap(rulesOf),
    ),
    namespace: flatten(ofKind(objs, "Role").flatMap(rulesOf)),
  };
}

Deno.test("the operator runs CloudShells of every kind through their lives as deploy/'s ServiceAccount", async () => {
  await using cluster = await testCluster();
  await installCrd(cluster.client);
  await installVirtualServiceCrd(cluster.client);
  const opNs = await cluster.namespace("deploy-op");
  const ns = await cluster.namespace("deploy-shells");
  await using identity = await installOperatorIdentity(cluster, opNs);
  const client = cluster.client;

  const dir = await Deno.makeTempDir({ prefix: "cloudshell-deploy-" });
  await using proxy = RecordingProxy.start(cluster.connection.server, cluster.connection.caPem);
  const token = await serviceAccountToken(client, opNs, DEPLOY_NAME);
  const kubeconfig = await writeTokenKubeconfig(dir, proxy.url, token);
  // The kubeconfig carries the token alone: no client certificate the API server could prefer.
  const conn = await loadClusterConnection({ kubeconfigPath: kubeconfig, env: {} });
  assert.equal(conn.clientCertPem, undefined);

  const operatorArgs = [
    `--operator-namespace=${opNs}`,
    "--leader-elect=true",
    `--leader-elect-resource-namespace=${opNs}`,
    // Read node addresses, as a default install does.
    "--node-port-host=",
    // A generated login Secret and a NetworkPolicy for every shell.
    "--terminal-credential=generated",
    "--network-policy-cidr=10.0.0.0/8",
  ];
  const logs: string[] = [];
  let legacyObjects: Manifest[] = [];
  let op: OperatorProcess | undefined = await OperatorProcess.start(kubeconfig, ns, operatorArgs);
  try {
    // Objects whose names a shell wants, made by someone else: the operator reads them and backs off.
    await client.create(Resources.jobs, {
      apiVersion: "batch/v1",
      kind: "Job",
      metadata: { name: childName("taken"), namespace: ns },
      spec: {
        suspend: true,
        template: { spec: { restartPolicy: "Never", containers: [{ name: "c", image: "busybox" }] } },
      },
    } as KubeObject);
    await client.create(Resources.services, {
      apiVersion: "v1",
      kind: "Service",
      metadata: { name: childName("svc-taken"), namespace: ns },
      spec: { ports: [{ port: 80 }] },
    } as KubeObject);
    await client.create(Resources.serviceAccounts, {
      apiVersion: "v1",
      kind: "ServiceAccount",
      metadata: { name: childName("sa-taken"), namespace: ns },
    } as KubeObject);
    await client.create(Resources.roleBindings, {
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: "RoleBinding",
      metadata: { name: childName("rb-taken"), namespace: ns },
      roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: "view" },
      subjects: [{ kind: "ServiceAccount", name: childName("rb-taken"), namespace: ns }],
    } as KubeObject);
    await client.create(Resources.secrets, {
      apiVersion: "v1",
      kind: "Secret",
      metadata: { name: "kubeconfig", namespace: ns },
      stringData: { config: "apiVersion: v1\nkind: Config\n" },
    } as KubeObject);

    await client.create(Resources.networkPolicies, {
      apiVersion: "networking.k8s.io/v1",
      kind: "NetworkPolicy",
      metadata: { name: childName("policy-taken"), namespace: ns },
      spec: { podSelector: {}, ingress: [{}] },
    } as KubeObject);

    const ingress = { exposureMode: "Ingress", ingressConfig: { ingressName: "shells" } };
    const mesh = {
      exposureMode: "VirtualService",
      virtualServiceConfig: { virtualServiceName: "shells", gateway: "istio-system/gateway" },
    };
    await Promise.all([
      // A logs terminal: the operator first asks (SubjectAccessReview) whether its ServiceAccount may read logs.
      createCloudShell(client, ns, "np", {
        ttlSecondsAfterStarted: 3600,
        commandAction: "kubectl logs -f deploy/web",
      }),
      createCloudShell(client, ns, "web-a", { ...ingress, secretRef: { name: "kubeconfig" } }),
      createCloudShell(client, ns, "web-b", ingress),
      createCloudShell(client, ns, "mesh-a", mesh),
      createCloudShell(client, ns, "mesh-b", mesh),
      createCloudShell(client, ns, "short", { ttlSecondsAfterStarted: 3, cleanup: true }),
      createCloudShell(client, ns, "expire", { ttlSecondsAfterStarted: 3 }),
      createCloudShell(client, ns, "taken", {}),
      createCloudShell(client, ns, "svc-taken", { exposureMode: "ClusterIP" }),
      createCloudShell(client, ns, "policy-taken", {}),
      createCloudShell(client, ns, "sa-taken", {}),
      createCloudShell(client, ns, "rb-taken", {}),
    ]);

    const np = await waitForCloudShell(client, ns, "np", "Ready", isReady);
    assert.match(np.status?.accessUrl ?? "", /^\d+\.\d+\.\d+\.\d+:\d+\?ttl=3600$/, "a node's address");
    const login = await client.get(Resources.secrets, ns, np.status?.credentialSecretName ?? "");
    assert.equal(
      login.metadata.ownerReferences?.[0]?.uid,
      np.metadata.uid,
      "the login Secret is the shell's",
    );
    await client.get(Resources.networkPolicies, ns, childName("np"));
    await waitForCloudShell(
      client,
      ns,
      "policy-taken",
      "NetworkPolicyConflict",
      (cs) => readyCondition(cs)?.reason === "NetworkPolicyConflict",
    );
    for (const name of ["web-a", "web-b", "mesh-a", "mesh-b"]) {
      await waitForCloudShell(client, ns, name, "Ready", isReady);
    }
    await eventually("two paths in the shared Ingress", async () => {
      const ing = await client.get<Ingress>(Resources.ingresses, ns, "shells");
      return ing.spec?.rules?.[0]?.http?.paths.length === 2;
    });
    await eventually("two routes in the shared VirtualService", async () => {
      const vs = await client.get<VirtualService>(VirtualServices, ns, "shells");
      return vs.spec?.http?.length === 2;
    });
    await waitForGone(client, CloudShells, ns, "short");
    await waitForCloudShell(client, ns, "expire", "Complete", (cs) => cs.status?.phase === "Complete");
    await waitForGone(client, Resources.services, ns, childName("expire"));
    const taken = await waitForCloudShell(
      client,
      ns,
      "taken",
      "JobConflict",
      (cs) => readyCondition(cs)?.reason === "JobConflict",
    );
    assert.equal(readyCondition(taken)?.status, "False");
    for (
      const [name, reason] of [["sa-taken", "ServiceAccountConflict"], ["rb-taken", "RoleBindingConflict"]]
    ) {
      await waitForCloudShell(client, ns, name, reason, (cs) => readyCondition(cs)?.reason === reason);
    }
    await eventually(
      "the operator to read the Service it found in its way",
      () =>
        Promise.resolve(
          proxy.requests.some((r) =>
            r.attributes?.verb === "get" && r.attributes.resource === "services" &&
            r.attributes.name === childName("svc-taken")
          ),
        ),
    );

    // A raised TTL extends the running Job's deadline; a new exposure mode switches the Service's type.
    const deadline = (await client.get<JobLike>(Resources.jobs, ns, childName("np"))).spec
      ?.activeDeadlineSeconds;
    await client.patch(CloudShells, ns, "np", { spec: { ttlSecondsAfterStarted: 7200 } }, "merge");
    await eventually("the Job's deadline to follow the TTL", async () => {
      const job = await client.get<JobLike>(Resources.jobs, ns, childName("np"));
      return job.spec?.activeDeadlineSeconds !== deadline;
    });
    await client.patch(CloudShells, ns, "np", { spec: { exposureMode: "ClusterIP" } }, "merge");
    await waitForCloudShell(client, ns, "np", "Ready as ClusterIP", (cs) => {
      return isReady(cs) && (cs.status?.accessUrl ?? "").includes(":7681");
    });
    assert.equal((await client.get<Svc>(Resources.services, ns, childName("np"))).spec?.type, "ClusterIP");

    // Deleting shells one by one updates the shared objects, and deletes them with their last route.
    await client.delete(CloudShells, ns, "web-a");
    await client.delete(CloudShells, ns, "mesh-a");
    await eventually("one path left in the Ingress", async () => {
      const ing = await client.get<Ingress>(Resources.ingresses, ns, "shells");
      return ing.spec?.rules?.[0]?.http?.paths.length === 1;
    });
    await eventually("one route left in the VirtualService", async () => {
      const vs = await client.get<VirtualService>(VirtualServices, ns, "shells");
      return vs.spec?.http?.length === 1;
    });
    await client.delete(CloudShells, ns, "web-b");
    await client.delete(CloudShells, ns, "mesh-b");
    await waitForGone(client, Resources.ingresses, ns, "shells");
    await waitForGone(client, VirtualServices, ns, "shells");
    const others = ["np", "taken", "svc-taken", "sa-taken", "rb-taken", "expire", "policy-taken"];
    for (const name of others) await client.delete(CloudShells, ns, name);
    for (const name of ["web-a", "web-b", "mesh-a", "mesh-b", ...others]) {
      await waitForGone(client, CloudShells, ns, name);
    }
    logs.push(...op.logs());
    assert.equal(await op.stop("SIGTERM"), 0, "a clean shutdown releases the Lease");
    op = undefined;

    // The legacy kubeconfig ConfigMap works with the component, which now only turns the gate off.
    legacyObjects = await identity.reapply([LEGACY_COMPONENT]);
    await client.create(Resources.configMaps, {
      apiVersion: "v1",
      kind: "ConfigMap",
      metadata: { name: "kubeconfig", namespace: ns },
      data: { config: "apiVersion: v1\nkind: Config\n" },
    } as KubeObject);
    op = await OperatorProcess.start(kubeconfig, ns, [
      ...operatorArgs,
      "--feature-gates=AllowSecretStoreKubeconfig=false",
    ]);
    await createCloudShell(client, ns, "legacy", { configmapName: "kubeconfig" });
    await waitForCloudShell(client, ns, "legacy", "Ready", isReady);
    const job = await client.get<JobLike>(Resources.jobs, ns, childName("legacy"));
    const volume = job.spec?.template?.spec?.volumes?.find((v) => v.name === "kubeconfig");
    assert.equal(volume?.configMap?.name, "kubeconfig");
    await client.delete(CloudShells, ns, "legacy");
    await waitForGone(client, CloudShells, ns, "legacy");
    logs.push(...op.logs());
    assert.equal(await op.stop("SIGTERM"), 0);
    op = undefined;
  } catch (err) {
    // A missing permission shows as a timeout above; say which requests were refused.
    const refused = proxy.requests.filter((r) => r.status === 401 || r.status === 403)
      .map((r) => `${r.status} ${r.method} ${r.url.pathname}${r.url.search}`);
    if (refused.length === 0) throw err;
    throw new Error(`${(err as Error).message}\nRefused requests:\n${refused.join("\n")}`, { cause: err });
  } finally {
    if (op) {
      logs.push(...op.logs());
      await op.stop("SIGKILL");
    }
    await Deno.remove(dir, { recursive: true });
  }

  const refused = proxy.requests.filter((r) => r.status === 401 || r.status === 403);
  assert.deepEqual(
    refused.map((r) => `${r.status} ${r.method} ${r.url.pathname}${r.url.search}`),
    [],
    "requests the API server refused",
  );
  const denials = logs.filter((l) => /forbidden|HTTP 40[13]/i.test(l));
  assert.deepEqual(denials, [], "the operator logged refused requests");

  // Every request is allowed by a rule, within the rule's scope.
  // Phase one ran with deploy/'s roles, phase two with the legacy component's, a superset.
  const base = grants(identity.objects);
  const legacy = grants(legacyObjects).cluster;
  const used = new Set<Permission>();
  for (const r of proxy.requests) {
    if (r.status === 0) continue;
    assert.ok(r.attributes, `a non-resource request: ${r.method} ${r.url.pathname}`);
    const p = permissionOf(r.attributes);
    const inOwnNamespace = r.attributes.namespace === opNs;
    assert.ok(
      allows(base.cluster, p) || (inOwnNamespace && allows(base.namespace, p)) || allows(legacy, p),
      `${p} in namespace ${r.attributes.namespace ?? "(none)"} is allowed by no rule`,
    );
    used.add(p);
    // A tenant's kubeconfig is the kubelet's to mount; the operator never asks for it, not even its metadata.
    // It creates login Secrets, under generated names, and never reads one back.
    assert.ok(
      r.attributes.resource !== "secrets" ||
        (r.attributes.verb === "create" && r.attributes.name === undefined),
      `the operator requested a Secret: ${p}`,
    );
    assert.ok(
      r.attributes.resource !== "configmaps" || r.attributes.namespace === opNs,
      `the operator requested a ConfigMap outside its namespace: ${p}`,
    );
    // Permissions the API server checks beyond the request's own: binding the role a RoleBinding
    // names, and (with OwnerReferencesPermissionEnforcement) updating the owner's finalizers for
    // blockOwnerDeletion.
    const body = r.body as
      | {
        roleRef?: { kind: string; name: string };
        metadata?: { ownerReferences?: Record<string, unknown>[] };
      }
      | undefined;
    if (r.attributes.verb === "create" && r.attributes.resource === "rolebindings" && body?.roleRef) {
      used.add(permission("bind", "rbac.authorization.k8s.io", "clusterroles", body.roleRef.name));
    }
    if (body?.metadata?.ownerReferences?.some((o) => o.kind === "CloudShell" && o.blockOwnerDeletion)) {
      used.add(permission("update", "cloudshell.cloudtty.io", "cloudshells/finalizers"));
    }
  }

  // Every permission listed or granted was needed by some request.
  const listedOrGranted = new Set([
    ...Object.keys(CLUSTER_PERMISSIONS),
    ...Object.keys(NAMESPACE_PERMISSIONS),
    ...Object.keys(LEGACY_CONFIGMAP_PERMISSIONS),
    ...base.cluster,
    ...base.namespace,
    ...legacy,
  ]);
  const unused = [...listedOrGranted].filter((p) => ![...used].some((u) => u === p || u.startsWith(`${p}:`)));
  assert.deepEqual(unused, [], `permissions no request needed; used: ${[...used].sort().join(", ")}`);
});
