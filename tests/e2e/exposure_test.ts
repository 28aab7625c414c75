/**
 * Ingress and VirtualService exposure against a real control plane: paths in
 * shared objects that come and go one shell at a time, a user's own Ingress
 * (with the opt-in) left intact, route release on TTL expiry, upstream's path formatting, and
 * the condition when the cluster has no VirtualService CRD.
 */
import assert from "node:assert/strict";
import {
  type CloudShell,
  CloudShells,
  FINALIZER,
  MANAGED_BY,
  MANAGED_BY_LABEL,
  ROUTE_ANNOTATION,
} from "../../controller/cloudshell/api.ts";
import type { Ingress, VirtualService } from "../../controller/cloudshell/routing/routes.ts";
import { encodeRouteRef, VirtualServices } from "../../controller/cloudshell/routing/routes.ts";
import { type KubeObject, Resources } from "../../controller/kube/mod.ts";
import { eventually, testCluster } from "../harness/cluster.ts";
import { startControlPlane } from "../harness/control_plane.ts";
import {
  createCloudShell,
  installCrd,
  OperatorProcess,
  readyCondition,
  waitForCloudShell,
  waitForGone,
} from "./_operator.ts";
import { installVirtualServiceCrd, waitForEvent } from "./_support.ts";

type Svc = KubeObject & { spec: { type: string } };

const isReady = (cs: CloudShell) => cs.status?.phase === "Ready";

/** Every path of an Ingress as `host path -> service:port (pathType)`, sorted. */
function ingressPaths(ing: Ingress): string[] {
  return (ing.spec?.rules ?? []).flatMap((r) =>
    (r.http?.paths ?? []).map((p) =>
      `${
        r.host ?? ""
      } ${p.path} -> ${p.backend.service?.name}:${p.backend.service?.port?.number} (${p.pathType})`
    )
  ).sort();
}

/** Every route of a VirtualService as `prefix -> host:port (rewrite)`, in order. */
function vsRoutes(vs: VirtualService): string[] {
  return (vs.spec?.http ?? []).map((r) =>
    `${r.match?.[0]?.uri?.prefix} -> ${r.route?.[0]?.destination.host}:${
      r.route?.[0]?.destination.port?.number
    } (rewrite ${r.rewrite?.uri})`
  );
}

Deno.test("Ingress mode: shells share one Ingress, and each path comes and goes with its shell", async () => {
  await using cluster = await testCluster();
  await installCrd(cluster.client);
  const ns = await cluster.namespace("e2e-ingress");
  await using _op = await OperatorProcess.start(cluster.kubeconfigPath, ns);
  const client = cluster.client;
  const getIngress = () => client.get<Ingress>(Resources.ingresses, ns, "shells");

  // The first shell creates the Ingress with its class and annotations.
  await createCloudShell(client, ns, "web-a", {
    exposureMode: "Ingress",
    ingressConfig: {
      ingressName: "shells",
      ingressClassName: "nginx",
      annotations: { "nginx.ingress.kubernetes.io/proxy-read-timeout": "3600" },
    },
  });
  const a = await waitForCloudShell(client, ns, "web-a", "Ready", isReady);
  assert.equal(a.status?.accessUrl, "/apis/v1alpha1/cloudshell/web-a");
  assert.equal(readyCondition(a)?.status, "True");

  // Two more arrive at once: one with upstream's prefix and a suffix, one on a host of its own.
  await Promise.all([
    createCloudShell(client, ns, "web-b", {
      exposureMode: "Ingress",
      pathPrefix: "/apis/cloudtty.io/",
      pathSuffix: "term",
      ttlSecondsAfterStarted: 500,
      ingressConfig: { ingressName: "shells" },
    }),
    createCloudShell(client, ns, "web-c", {
      exposureMode: "Ingress",
      ingressConfig: { ingressName: "shells", host: "shell.example.com" },
    }),
  ]);
  const b = await waitForCloudShell(client, ns, "web-b", "Ready", isReady);
  const c = await waitForCloudShell(client, ns, "web-c", "Ready", isReady);
  assert.equal(b.status?.accessUrl, "/apis/cloudtty.io/apis/v1alpha1/cloudshell/web-b/term?ttl=500");
  assert.equal(c.status?.accessUrl, "shell.example.com/apis/v1alpha1/cloudshell/web-c");
  for (const cs of [a, b, c]) {
    assert.ok(cs.metadata.finalizers?.includes(FINALIZER), `${cs.metadata.name} has the finalizer`);
    const svc = await client.get<Svc>(Resources.services, ns, `cloudshell-${cs.metadata.name}`);
    assert.equal(svc.spec.type, "ClusterIP");
  }

  const ing = await getIngress();
  assert.equal(ing.spec?.ingressClassName, "nginx");
  assert.equal(ing.metadata.annotations?.["nginx.ingress.kubernetes.io/rewrite-target"], "/");
  assert.equal(ing.metadata.annotations?.["nginx.ingress.kubernetes.io/proxy-read-timeout"], "3600");
  assert.deepEqual(ingressPaths(ing), [
    " /apis/cloudtty.io/apis/v1alpha1/cloudshell/web-b/term -> cloudshell-web-b:7681 (Prefix)",
    " /apis/v1alpha1/cloudshell/web-a -> cloudshell-web-a:7681 (Prefix)",
    "shell.example.com /apis/v1alpha1/cloudshell/web-c -> cloudshell-web-c:7681 (Prefix)",
  ]);

  // Deleting one shell removes its path only.
  await client.delete(CloudShells, ns, "web-b");
  await waitForGone(client, CloudShells, ns, "web-b");
  assert.deepEqual(ingressPaths(await getIngress()), [
    " /apis/v1alpha1/cloudshell/web-a -> cloudshell-web-a:7681 (Prefix)",
    "shell.example.com /apis/v1alpha1/cloudshell/web-c -> cloudshell-web-c:7681 (Prefix)",
  ]);
  await client.delete(CloudShells, ns, "web-c");
  await waitForGone(client, CloudShells, ns, "web-c");
  const left = await getIngress();
  assert.deepEqual(ingressPaths(left), [
    " /apis/v1alpha1/cloudshell/web-a -> cloudshell-web-a:7681 (Prefix)",
  ]);
  assert.equal(left.spec?.rules?.length, 1, "the emptied host rule is gone");
  assert.equal(left.spec?.ingressClassName, "nginx");

  // The last path takes the Ingress with it.
  await client.delete(CloudShells, ns, "web-a");
  await waitForGone(client, CloudShells, ns, "web-a");
  await waitForGone(client, Resources.ingresses, ns, "shells", 10_000);
});

Deno.test("Ingress mode: a user's Ingress (opted in) keeps its own paths; TTL expiry releases a shell's path", async () => {
  await using cluster = await testCluster();
  await installCrd(cluster.client);
  const ns = await cluster.namespace("e2e-ingress-ttl");
  // CloudTTY's behaviour, for an administrator who wants shells in an Ingress of their own.
  await using _op = await OperatorProcess.start(cluster.kubeconfigPath, ns, ["--use-existing-route-objects"]);
  const client = cluster.client;
  await client.create<Ingress>(Resources.ingresses, {
    apiVersion: "networking.k8s.io/v1",
    kind: "Ingress",
    metadata: { name: "team", namespace: ns, annotations: { "team.example/owner": "platform" } },
    spec: {
      rules: [{
        http: {
          paths: [{
            path: "/grafana",
            pathType: "Prefix",
            backend: { service: { name: "grafana", port: { number: 3000 } } },
          }],
        },
      }],
    },
  });
  const getIngress = () => client.get<Ingress>(Resources.ingresses, ns, "team");
  const spec = {
    exposureMode: "Ingress",
    ttlSecondsAfterStarted: 3600,
    ingressConfig: { ingressName: "team" },
  };
  await createCloudShell(client, ns, "kept", spec);
  await createCloudShell(client, ns, "cleaned", { ...spec, cleanup: true });
  await waitForCloudShell(client, ns, "kept", "Ready", isReady);
  await waitForCloudShell(client, ns, "cleaned", "Ready", isReady);
  assert.deepEqual(ingressPaths(await getIngress()), [
    " /apis/v1alpha1/cloudshell/cleaned -> cloudshell-cleaned:7681 (Prefix)",
    " /apis/v1alpha1/cloudshell/kept -> cloudshell-kept:7681 (Prefix)",
    " /grafana -> grafana:3000 (Prefix)",
  ]);

  // Lowering the TTL below the shells' age makes them expire at once.
  await client.patch(CloudShells, ns, "kept", { spec: { ttlSecondsAfterStarted: 1 } }, "merge");
  await client.patch(CloudShells, ns, "cleaned", { spec: { ttlSecondsAfterStarted: 1 } }, "merge");
  const kept = await waitForCloudShell(
    client,
    ns,
    "kept",
    "Complete without its route",
    (cs) => cs.status?.phase === "Complete" && !cs.metadata.finalizers?.includes(FINALIZER),
  );
  assert.equal(readyCondition(kept)?.reason, "Expired");
  await waitForGone(client, CloudShells, ns, "cleaned");
  await waitForGone(client, Resources.jobs, ns, "cloudshell-kept");
  await waitForGone(client, Resources.services, ns, "cloudshell-kept");

  const ing = await getIngress();
  assert.deepEqual(ingressPaths(ing), [" /grafana -> grafana:3000 (Prefix)"]);
  assert.equal(ing.metadata.annotations?.["team.example/owner"], "platform");
  // A Complete shell is deleted without waiting for the operator.
  await client.delete(CloudShells, ns, "kept");
  await waitForGone(client, CloudShells, ns, "kept", 10_000);
  assert.deepEqual(ingressPaths(await getIngress()), [" /grafana -> grafana:3000 (Prefix)"]);
});

Deno.test("a shell of the previous version: its annotation record moves to the status, its old path goes", async () => {
  await using cluster = await testCluster();
  await installCrd(cluster.client);
  const ns = await cluster.namespace("e2e-route-upgrade");
  const client = cluster.client;
  const path = "/apis/v1alpha1/cloudshell/old";
  const ingress = (name: string, paths: [string, string][]): Ingress => ({
    apiVersion: "networking.k8s.io/v1",
    kind: "Ingress",
    metadata: { name, namespace: ns, labels: { [MANAGED_BY_LABEL]: MANAGED_BY } },
    spec: {
      rules: [{
        http: {
          paths: paths.map(([p, svc]) => ({
            path: p,
            pathType: "Prefix",
            backend: { service: { name: svc, port: { number: 7681 } } },
          })),
        },
      }],
    },
  });
  // What the previous version left: the shell's path in "previous" (its spec has moved on to "shells"
  // since), recorded in the annotation, and another shell's path next to it.
  await client.create(Resources.ingresses, ingress("previous", [[path, "cloudshell-old"]]));
  await client.create(
    Resources.ingresses,
    ingress("shells", [["/apis/v1alpha1/cloudshell/other", "cloudshell-other"]]),
  );
  await client.create<CloudShell>(CloudShells, {
    apiVersion: "cloudshell.cloudtty.io/v1alpha1",
    kind: "CloudShell",
    metadata: {
      name: "old",
      namespace: ns,
      finalizers: [FINALIZER],
      annotations: {
        [ROUTE_ANNOTATION]: encodeRouteRef({ mode: "Ingress", namespace: ns, objectName: "previous", path }),
      },
    },
    spec: { exposureMode: "Ingress", ingressConfig: { ingressName: "shells" } },
  } as CloudShell);
  await using _op = await OperatorProcess.start(cluster.kubeconfigPath, ns);

  const ready = await waitForCloudShell(client, ns, "old", "Ready", isReady);
  assert.equal(ready.metadata.annotations?.[ROUTE_ANNOTATION], undefined, "the annotation is dropped");
  assert.deepEqual(ready.status?.route, { kind: "Ingress", namespace: ns, name: "shells", path });
  assert.ok(ready.metadata.finalizers?.includes(FINALIZER));
  await waitForGone(client, Resources.ingresses, ns, "previous", 10_000);
  const getShells = () => client.get<Ingress>(Resources.ingresses, ns, "shells");
  assert.deepEqual(ingressPaths(await getShells()), [
    ` ${path} -> cloudshell-old:7681 (Prefix)`,
    " /apis/v1alpha1/cloudshell/other -> cloudshell-other:7681 (Prefix)",
  ]);

  await client.delete(CloudShells, ns, "old");
  await waitForGone(client, CloudShells, ns, "old");
  assert.deepEqual(ingressPaths(await getShells()), [
    " /apis/v1alpha1/cloudshell/other -> cloudshell-other:7681 (Prefix)",
  ]);
});

Deno.test("VirtualService mode: routes in a shared VirtualService, formatted as upstream", async () => {
  await using cluster = await testCluster();
  await installCrd(cluster.client);
  await installVirtualServiceCrd(cluster.client);
  const ns = await cluster.namespace("e2e-vs");
  await using _op = await OperatorProcess.start(cluster.kubeconfigPath, ns);
  const client = cluster.client;
  const vsConfig = {
    virtualServiceName: "cloudshell-vs-demo",
    namespace: ns,
    gateway: "istio-system/istio-gateway",
    export_to: "istio-system",
  };
  // CloudTTY's vs_v1alpha1_cloudshell.yaml sample, in the test namespace.
  await createCloudShell(client, ns, "vs-demo", {
    exposureMode: "VirtualService",
    pathPrefix: "/apis/cloudtty.io/",
    ttlSecondsAfterStarted: 500,
    once: false,
    virtualServiceConfig: vsConfig,
  });
  const demo = await waitForCloudShell(client, ns, "vs-demo", "Ready", isReady);
  assert.equal(demo.status?.accessUrl, "/apis/cloudtty.io/apis/v1alpha1/cloudshell/vs-demo?ttl=500");
  assert.ok(demo.metadata.finalizers?.includes(FINALIZER));
  await createCloudShell(client, ns, "vs-two", {
    exposureMode: "VirtualService",
    pathSuffix: "ws",
    virtualServiceConfig: vsConfig,
  });
  // Only a gateway: the VirtualService gets the default name.
  await createCloudShell(client, ns, "vs-default", {
    exposureMode: "VirtualService",
    virtualServiceConfig: { gateway: "istio-system/istio-gateway" },
  });
  const two = await waitForCloudShell(client, ns, "vs-two", "Ready", isReady);
  assert.equal(two.status?.accessUrl, "/apis/v1alpha1/cloudshell/vs-two/ws");
  await waitForCloudShell(client, ns, "vs-default", "Ready", isReady);

  const getVs = () => client.get<VirtualService>(VirtualServices, ns, "cloudshell-vs-demo");
  const vs = await getVs();
  assert.deepEqual(vs.spec?.hosts, ["*"]);
  assert.deepEqual(vs.spec?.gateways, ["istio-system/istio-gateway"]);
  assert.deepEqual(vs.spec?.exportTo, ["istio-system"]);
  assert.deepEqual(vsRoutes(vs), [
    `/apis/cloudtty.io/apis/v1alpha1/cloudshell/vs-demo -> cloudshell-vs-demo.${ns}.svc.cluster.local:7681 (rewrite /)`,
    `/apis/v1alpha1/cloudshell/vs-two/ws -> cloudshell-vs-two.${ns}.svc.cluster.local:7681 (rewrite /)`,
  ]);
  const byDefault = await client.get<VirtualService>(VirtualServices, ns, "cloudshell-virtualservice");
  assert.deepEqual(vsRoutes(byDefault), [
    `/apis/v1alpha1/cloudshell/vs-default -> cloudshell-vs-default.${ns}.svc.cluster.local:7681 (rewrite /)`,
  ]);
  assert.equal(byDefault.spec?.exportTo, undefined, 'no exportTo: [""] as upstream rendered');

  await client.delete(CloudShells, ns, "vs-demo");
  await waitForGone(client, CloudShells, ns, "vs-demo");
  assert.deepEqual(vsRoutes(await getVs()), [
    `/apis/v1alpha1/cloudshell/vs-two/ws -> cloudshell-vs-two.${ns}.svc.cluster.local:7681 (rewrite /)`,
  ]);
  await client.delete(CloudShells, ns, "vs-two");
  await waitForGone(client, VirtualServices, ns, "cloudshell-vs-demo", 10_000);
  await client.delete(CloudShells, ns, "vs-default");
  await waitForGone(client, VirtualServices, ns, "cloudshell-virtualservice", 10_000);
});

// The shared cluster has the VirtualService CRD (installed above, never removed), so this test needs a
// cluster of its own: the only e2e test that starts one.
Deno.test("VirtualService mode without Istio's CRD: a condition and an Event, then Ready once it is installed", async () => {
  await using cp = await startControlPlane({ nodes: 1 });
  await installCrd(cp.client);
  const ns = "e2e-no-istio";
  await cp.client.create(Resources.namespaces, {
    apiVersion: "v1",
    kind: "Namespace",
    metadata: { name: ns },
  });
  await using _op = await OperatorProcess.start(cp.kubeconfigPath, ns);
  await createCloudShell(cp.client, ns, "mesh", {
    exposureMode: "VirtualService",
    virtualServiceConfig: { gateway: "istio-system/istio-gateway" },
    ttlSecondsAfterStarted: 3600,
  });
  const waiting = await waitForCloudShell(
    cp.client,
    ns,
    "mesh",
    "Ready=False for the missing CRD",
    (cs) => readyCondition(cs)?.reason === "VirtualServiceCRDMissing",
  );
  assert.equal(readyCondition(waiting)?.status, "False");
  assert.equal(waiting.status?.phase, "CreatedJob", "the Job exists, the route does not");
  assert.match(readyCondition(waiting)?.message ?? "", /networking\.istio\.io\/v1beta1/);
  assert.equal(waiting.status?.accessUrl ?? "", "", "no URL without a route");
  const event = await waitForEvent(cp.client, ns, "mesh", "Warning", "VirtualServiceCRDMissing");
  assert.match(event.message, /install Istio's CRDs/);

  // The Job runs while the problem lasts: a TTL change reaches the status (and is announced) all the same.
  const started = Date.parse(waiting.status!.lastScheduleTime!);
  assert.equal(Date.parse(waiting.status!.expirationTime!), started + 3600_000);
  await cp.client.patch(CloudShells, ns, "mesh", { spec: { ttlSecondsAfterStarted: 7200 } }, "merge");
  const moved = await waitForCloudShell(
    cp.client,
    ns,
    "mesh",
    "the new end in the status while the problem lasts",
    (cs) => Date.parse(cs.status?.expirationTime ?? "") === started + 7200_000,
  );
  assert.equal(readyCondition(moved)?.reason, "VirtualServiceCRDMissing");
  await waitForEvent(cp.client, ns, "mesh", "Normal", "TTLExtended");

  await installVirtualServiceCrd(cp.client);
  const ready = await waitForCloudShell(
    cp.client,
    ns,
    "mesh",
    "Ready after the CRD appeared",
    isReady,
    60_000,
  );
  assert.equal(ready.status?.accessUrl, "/apis/v1alpha1/cloudshell/mesh?ttl=7200");
  await eventually("the route to exist", async () => {
    const vs = await cp.client.get<VirtualService>(VirtualServices, ns, "cloudshell-virtualservice");
    return vsRoutes(vs).length === 1;
  });
});
