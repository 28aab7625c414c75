/**
 * Tenant isolation, ownership part: restricted users who may only manage CloudShells in their own
 * namespace (impersonated, with a Role of exactly those verbs) attack through the operator, which runs
 * under deploy/'s ServiceAccount and RBAC (a TokenRequest token, no admin credentials). Each attack of
 * issue 12 items 1, 2, 3, 5, 7 and 8 fails with a `Ready=False` reason and a Warning Event, and the
 * victim's objects keep their resourceVersion.
 *
 * Two operator processes with the same identity each watch one namespace (on the shared cluster an
 * all-namespace operator would act on other tests' shells): the attacker's namespace, which is also
 * the operator's own (so a shell named `operator` asks for the operator's ServiceAccount), and the
 * victim's.
 */
import assert from "node:assert/strict";
import {
  childName,
  type CloudShell,
  CloudShells,
  FINALIZER,
  ROUTE_ANNOTATION,
} from "../../controller/cloudshell/api.ts";
import {
  encodeRouteRef,
  type Ingress,
  type VirtualService,
  VirtualServices,
} from "../../controller/cloudshell/routing/routes.ts";
import { isForbidden, KubeClient, type KubeObject, Resources } from "../../controller/kube/mod.ts";
import { eventually, testCluster } from "../harness/cluster.ts";
import { installOperatorIdentity, serviceAccountToken, writeTokenKubeconfig } from "../deploy/_identity.ts";
import { DEPLOY_NAME } from "../deploy/_manifests.ts";
import {
  createCloudShell,
  installCrd,
  OperatorProcess,
  readyCondition,
  waitForCloudShell,
  waitForGone,
} from "./_operator.ts";
import { grantRole, installVirtualServiceCrd, waitForEvent } from "./_support.ts";

type Svc = KubeObject & { spec?: { selector?: Record<string, string>; type?: string } };
type Job = KubeObject & { spec?: { activeDeadlineSeconds?: number } };
type EndpointSlice = KubeObject & { endpoints?: { targetRef?: { name?: string } }[] };

const EndpointSlices = {
  group: "discovery.k8s.io",
  version: "v1",
  plural: "endpointslices",
  kind: "EndpointSlice",
  namespaced: true,
} as const;
const ResourceQuotas = { ...Resources.pods, plural: "resourcequotas", kind: "ResourceQuota" };

const isReady = (cs: CloudShell) => cs.status?.phase === "Ready";
const GATEWAY = "istio-system/gateway";

/** A Role allowing CloudShells only (not their status), bound to `user` in `namespace`. */
async function grantCloudShellsOnly(admin: KubeClient, namespace: string, user: string): Promise<void> {
  await grantRole(admin, namespace, `cloudshell-user-${user}`, [{
    apiGroups: ["cloudshell.cloudtty.io"],
    resources: ["cloudshells"],
    verbs: ["create", "get", "list", "watch", "update", "patch", "delete"],
  }], { users: [user] });
}

/** Waits for a CloudShell's Ready=False reason and its Warning Event. */
async function refused(admin: KubeClient, ns: string, name: string, reason: string): Promise<CloudShell> {
  const cs = await waitForCloudShell(admin, ns, name, reason, (c) => readyCondition(c)?.reason === reason);
  assert.equal(readyCondition(cs)?.status, "False");
  await waitForEvent(admin, ns, name, "Warning", reason);
  return cs;
}

/** The resourceVersion of an object, to show it was never written. */
async function version(admin: KubeClient, type: Parameters<KubeClient["get"]>[0], ns: string, name: string) {
  return (await admin.get(type, ns, name)).metadata.resourceVersion;
}

async function absent(admin: KubeClient, type: Parameters<KubeClient["get"]>[0], ns: string, name: string) {
  try {
    await admin.get(type, ns, name);
    return false;
  } catch (err) {
    return (err as { code?: number }).code === 404;
  }
}

Deno.test("tenants cannot use the operator against others: ownership, routes, rejections, limits", async () => {
  await using cluster = await testCluster();
  const admin = cluster.client;
  await installCrd(admin);
  await installVirtualServiceCrd(admin);
  // The attacker's namespace is the operator's own: the worst place for a tenant to be able to create shells.
  const atk = await cluster.namespace("tenant-atk");
  const vic = await cluster.namespace("tenant-vic");
  await using _identity = await installOperatorIdentity(cluster, atk);
  await grantCloudShellsOnly(admin, atk, "mallory");
  await grantCloudShellsOnly(admin, vic, "victor");
  const mallory = new KubeClient(cluster.connection, { userAgent: "mallory" }, { user: "mallory" });
  const victor = new KubeClient(cluster.connection, { userAgent: "victor" }, { user: "victor" });
  try {
    const dir = await Deno.makeTempDir({ prefix: "cloudshell-tenant-" });
    const token = await serviceAccountToken(admin, atk, DEPLOY_NAME);
    const kubeconfig = await writeTokenKubeconfig(
      dir,
      cluster.connection.server,
      token,
      cluster.connection.caPem,
    );
    const flags = [`--operator-namespace=${atk}`, "--default-ttl=10m", "--max-ttl=1h"];
    await using _opAtk = await OperatorProcess.start(kubeconfig, atk, flags);
    await using _opVic = await OperatorProcess.start(kubeconfig, vic, flags);

    // The victim: a path in the shared Ingress and a route in the shared VirtualService of their namespace.
    const vsConfig = { virtualServiceName: "shells", gateway: GATEWAY };
    await Promise.all([
      createCloudShell(victor, vic, "web", { exposureMode: "Ingress" }),
      createCloudShell(victor, vic, "mesh", {
        exposureMode: "VirtualService",
        virtualServiceConfig: vsConfig,
      }),
    ]);
    await waitForCloudShell(admin, vic, "web", "Ready", isReady);
    await waitForCloudShell(admin, vic, "mesh", "Ready", isReady);
    const victimIngress = await version(admin, Resources.ingresses, vic, "cloudshell-ingress");
    const victimVs = await version(admin, VirtualServices, vic, "shells");

    // Objects an administrator made, whose names shells will ask for.
    const operatorAccount = await admin.get(Resources.serviceAccounts, atk, DEPLOY_NAME);
    await admin.create(Resources.roleBindings, {
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: "RoleBinding",
      metadata: { name: childName("squat"), namespace: atk },
      roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: "edit" },
      subjects: [{ kind: "ServiceAccount", name: childName("squat"), namespace: atk }],
    } as KubeObject);
    const team = await admin.create<Ingress>(Resources.ingresses, {
      apiVersion: "networking.k8s.io/v1",
      kind: "Ingress",
      metadata: {
        name: "team",
        namespace: atk,
        annotations: { "nginx.ingress.kubernetes.io/rewrite-target": "/x" },
      },
      spec: {
        rules: [{
          http: {
            paths: [{
              path: "/app",
              pathType: "Prefix",
              backend: { service: { name: "app", port: { number: 80 } } },
            }],
          },
        }],
      },
    });
    const theirService = await admin.create<Svc>(Resources.services, {
      apiVersion: "v1",
      kind: "Service",
      metadata: { name: childName("clash"), namespace: atk },
      spec: { ports: [{ port: 80 }], selector: { app: "theirs" } },
    } as Svc);
    await admin.create(ResourceQuotas, {
      apiVersion: "v1",
      kind: "ResourceQuota",
      metadata: { name: "no-node-ports", namespace: atk },
      spec: { hard: { "services.nodeports": "0" } },
    } as KubeObject);

    // A tenant cannot write a CloudShell's status (where the operator keeps its route record).
    const own = await createCloudShell(mallory, atk, "plain", { exposureMode: "ClusterIP" });
    await assert.rejects(
      mallory.patch(CloudShells, atk, "plain", { status: { route: { kind: "Ingress" } } }, "merge", {
        subresource: "status",
      }),
      (err) => isForbidden(err),
    );
    assert.ok(own.metadata.uid);

    // Every attack at once.
    const forgedRoutes = [
      {
        mode: "Ingress" as const,
        namespace: vic,
        objectName: "cloudshell-ingress",
        path: "/apis/v1alpha1/cloudshell/web",
      },
      {
        mode: "VirtualService" as const,
        namespace: vic,
        objectName: "shells",
        path: "/apis/v1alpha1/cloudshell/mesh",
      },
    ];
    await Promise.all([
      // 1: the operator's own ServiceAccount, and a RoleBinding of someone else's making.
      createCloudShell(mallory, atk, "operator", { exposureMode: "ClusterIP" }),
      createCloudShell(mallory, atk, "squat", { exposureMode: "ClusterIP" }),
      // 2: a forged route record (the old annotation) and finalizer, and a status the API server drops.
      mallory.create<CloudShell>(CloudShells, {
        apiVersion: "cloudshell.cloudtty.io/v1alpha1",
        kind: "CloudShell",
        metadata: {
          name: "forger",
          namespace: atk,
          finalizers: [FINALIZER],
          annotations: { [ROUTE_ANNOTATION]: encodeRouteRef(forgedRoutes[0]) },
        },
        spec: { exposureMode: "Ingress" },
        status: {
          route: { kind: "VirtualService", namespace: vic, name: "shells", path: forgedRoutes[1].path },
        },
      } as CloudShell),
      mallory.create<CloudShell>(CloudShells, {
        apiVersion: "cloudshell.cloudtty.io/v1alpha1",
        kind: "CloudShell",
        metadata: {
          name: "forger-vs",
          namespace: atk,
          finalizers: [FINALIZER],
          annotations: { [ROUTE_ANNOTATION]: encodeRouteRef(forgedRoutes[1]) },
        },
        spec: { exposureMode: "ClusterIP" },
      } as CloudShell),
      // 3: the victim's VirtualService (a same-named shell's route), and pre-creating one in their namespace.
      createCloudShell(mallory, atk, "mesh", {
        exposureMode: "VirtualService",
        virtualServiceConfig: { ...vsConfig, namespace: vic },
      }),
      createCloudShell(mallory, atk, "precreate", {
        exposureMode: "VirtualService",
        virtualServiceConfig: {
          virtualServiceName: "fresh",
          gateway: "attacker/gw",
          export_to: "*",
          namespace: vic,
        },
      }),
      // 3, within a namespace: a crafted prefix that yields another shell's path.
      createCloudShell(mallory, atk, "first", {
        exposureMode: "Ingress",
        pathSuffix: "x/apis/v1alpha1/cloudshell/second",
      }),
      // 5: a configuration snippet, and someone's existing Ingress.
      createCloudShell(mallory, atk, "snippet", {
        exposureMode: "Ingress",
        ingressConfig: {
          ingressName: "snippets",
          annotations: { "nginx.ingress.kubernetes.io/configuration-snippet": "return 200;" },
        },
      }),
      createCloudShell(mallory, atk, "hijack", {
        exposureMode: "Ingress",
        ingressConfig: { ingressName: "team" },
      }),
      // 7: a path the API server finds invalid, a quota that refuses the Service, and a Service of that
      // name that is someone else's.
      createCloudShell(mallory, atk, "badpath", {
        exposureMode: "Ingress",
        ingressConfig: { ingressName: "badpaths" },
        pathSuffix: "a//b",
      }),
      createCloudShell(mallory, atk, "quota", { exposureMode: "NodePort" }),
      createCloudShell(mallory, atk, "clash", { exposureMode: "ClusterIP" }),
      // 8: no TTL, a TTL beyond the maximum, and a pod that claims to be a shell's.
      createCloudShell(mallory, atk, "forever", { exposureMode: "ClusterIP" }),
      createCloudShell(mallory, atk, "long", { exposureMode: "ClusterIP", ttlSecondsAfterStarted: 86_400 }),
    ]);

    // 1: never the operator's identity, never someone's binding.
    await refused(admin, atk, "operator", "ServiceAccountConflict");
    assert.ok(await absent(admin, Resources.jobs, atk, childName("operator")), "no Job runs as the operator");
    const account = await admin.get(Resources.serviceAccounts, atk, DEPLOY_NAME);
    assert.equal(account.metadata.resourceVersion, operatorAccount.metadata.resourceVersion);
    assert.equal(account.metadata.ownerReferences, undefined);
    await refused(admin, atk, "squat", "RoleBindingConflict");
    await eventually("no Job for a shell whose binding is someone else's", async () => {
      const job = await admin.get<Job>(Resources.jobs, atk, childName("squat")).catch(() => undefined);
      return job === undefined || job.metadata.deletionTimestamp !== undefined;
    });

    // 3: refused before anything is written; no VirtualService appears in the victim's namespace.
    await refused(admin, atk, "mesh", "RouteNamespaceNotAllowed");
    await refused(admin, atk, "precreate", "RouteNamespaceNotAllowed");
    assert.ok(await absent(admin, VirtualServices, vic, "fresh"));
    await waitForCloudShell(admin, atk, "first", "Ready", isReady);
    await createCloudShell(mallory, atk, "second", {
      exposureMode: "Ingress",
      pathPrefix: "/apis/v1alpha1/cloudshell/first/x",
    });
    await refused(admin, atk, "second", "RoutePathConflict");
    const shared = await admin.get<Ingress>(Resources.ingresses, atk, "cloudshell-ingress");
    const backends = shared.spec?.rules?.flatMap((r) => r.http?.paths ?? []).map((p) =>
      `${p.path} -> ${p.backend.service?.name}`
    );
    assert.ok(
      backends?.includes(
        "/apis/v1alpha1/cloudshell/first/x/apis/v1alpha1/cloudshell/second -> cloudshell-first",
      ),
      `the first shell keeps its path: ${backends}`,
    );

    // 5: no snippet reaches an Ingress; someone's Ingress is not touched.
    await refused(admin, atk, "snippet", "IngressAnnotationNotAllowed");
    assert.ok(await absent(admin, Resources.ingresses, atk, "snippets"));
    await refused(admin, atk, "hijack", "IngressConflict");
    assert.equal(await version(admin, Resources.ingresses, atk, "team"), team.metadata.resourceVersion);

    // 7: the API server's refusal and a name clash, as conditions; no write loop on the CloudShell.
    const badpath = await refused(admin, atk, "badpath", "IngressInvalid");
    assert.match(
      readyCondition(badpath)?.message ?? "",
      /The API server rejected the Ingress: .*invalid/,
    );
    const quota = await refused(admin, atk, "quota", "ServiceForbidden");
    assert.match(readyCondition(quota)?.message ?? "", /exceeded quota/);
    await refused(admin, atk, "clash", "ServiceConflict");
    const clash = await admin.get<Svc>(Resources.services, atk, childName("clash"));
    assert.equal(clash.metadata.resourceVersion, theirService.metadata.resourceVersion);
    const quiet = await admin.get<CloudShell>(CloudShells, atk, "quota");
    await new Promise((r) => setTimeout(r, 2_000));
    assert.equal(
      (await admin.get<CloudShell>(CloudShells, atk, "quota")).metadata.resourceVersion,
      quiet.metadata.resourceVersion,
      "retries back off and write nothing new",
    );

    // 8: the default TTL and the cap, in the URL and the Job's deadline.
    const forever = await waitForCloudShell(admin, atk, "forever", "Ready", isReady);
    assert.match(forever.status?.accessUrl ?? "", /\?ttl=600$/);
    const long = await waitForCloudShell(admin, atk, "long", "Ready", isReady);
    assert.match(long.status?.accessUrl ?? "", /\?ttl=3600$/);
    await waitForEvent(admin, atk, "long", "Warning", "TTLCapped");
    const longJob = await admin.get<Job>(Resources.jobs, atk, childName("long"));
    assert.ok(
      (longJob.spec?.activeDeadlineSeconds ?? Infinity) <= 3600 + 600,
      "the deadline follows the cap",
    );

    // 8: a pod that carries a shell's owner label does not join its Service.
    const job = await admin.get<Job>(Resources.jobs, atk, childName("forever"));
    const svc = await admin.get<Svc>(Resources.services, atk, childName("forever"));
    assert.equal(svc.spec?.selector?.["batch.kubernetes.io/controller-uid"], job.metadata.uid);
    await admin.create(Resources.pods, {
      apiVersion: "v1",
      kind: "Pod",
      metadata: {
        name: "impostor",
        namespace: atk,
        labels: { "cloudshell.cloudtty.io/owner-name": "forever" },
      },
      spec: { containers: [{ name: "c", image: "busybox", ports: [{ containerPort: 7681 }] }] },
    } as KubeObject);
    await eventually("the impostor pod to run", async () => {
      const pod = await admin.get<KubeObject & { status?: { phase?: string } }>(
        Resources.pods,
        atk,
        "impostor",
      );
      return pod.status?.phase === "Running";
    });
    const slices = await eventually("the Service's endpoints", async () => {
      const list = await admin.list<EndpointSlice>(EndpointSlices, {
        namespace: atk,
        labelSelector: `kubernetes.io/service-name=${childName("forever")}`,
      });
      const names = list.items.flatMap((s) => s.endpoints ?? []).map((e) => e.targetRef?.name ?? "");
      return names.length > 0 ? names : false;
    });
    assert.ok(slices.every((n) => n.startsWith(`${childName("forever")}-`)), `only the Job's pod: ${slices}`);

    // 2: deleting the forgers removes nothing of the victim's.
    await waitForCloudShell(admin, atk, "forger", "Ready", isReady);
    await mallory.delete(CloudShells, atk, "forger");
    await mallory.delete(CloudShells, atk, "forger-vs");
    await waitForGone(admin, CloudShells, atk, "forger");
    await waitForGone(admin, CloudShells, atk, "forger-vs");
    assert.equal(await version(admin, Resources.ingresses, vic, "cloudshell-ingress"), victimIngress);
    assert.equal(await version(admin, VirtualServices, vic, "shells"), victimVs);
    const vs = await admin.get<VirtualService>(VirtualServices, vic, "shells");
    assert.deepEqual(vs.spec?.http?.map((r) => r.route?.[0]?.destination.host), [
      `cloudshell-mesh.${vic}.svc.cluster.local`,
    ]);
    assert.ok(await absent(admin, CloudShells, vic, "forger"));
    assert.ok(!(await absent(admin, Resources.ingresses, vic, "cloudshell-ingress")));
  } finally {
    mallory.close();
    victor.close();
  }
});
