import assert from "node:assert/strict";
import { type CloudShell, ROUTE_ANNOTATION } from "../../../controller/cloudshell/api.ts";
import { DEFAULT_POLICY } from "../../../controller/cloudshell/policy/policy.ts";
import {
  accessUrl,
  desiredRoute,
  recordedRoute,
  routeBackend,
  routeRecord,
  routeRefsToRemove,
} from "../../../controller/cloudshell/routing/exposure.ts";
import { encodeRouteRef, type RouteRef } from "../../../controller/cloudshell/routing/routes.ts";

function shell(extra: Partial<CloudShell> = {}): CloudShell {
  return {
    metadata: { name: "web", namespace: "team-a", uid: "u1", ...extra.metadata },
    spec: { exposureMode: "Ingress", ingressConfig: { ingressName: "shells" }, ...extra.spec },
    status: extra.status,
  };
}

const implied: RouteRef = {
  mode: "Ingress",
  namespace: "team-a",
  objectName: "shells",
  path: "/apis/v1alpha1/cloudshell/web",
};

Deno.test("route records round-trip through the status form", () => {
  assert.deepEqual(routeRecord(implied), {
    kind: "Ingress",
    namespace: "team-a",
    name: "shells",
    path: "/apis/v1alpha1/cloudshell/web",
  });
  assert.deepEqual(recordedRoute(routeRecord(implied)), implied);
  assert.equal(recordedRoute(undefined), undefined);
  assert.equal(recordedRoute({ kind: "Ingress", namespace: "", name: "x", path: "/" }), undefined);
});

Deno.test("routeRefsToRemove(): the status record, the spec's route and the old annotation as a hint", () => {
  const old: RouteRef = { ...implied, objectName: "old" };
  const hint: RouteRef = { mode: "VirtualService", namespace: "team-b", objectName: "theirs", path: "/p" };
  const cs = shell({
    metadata: { annotations: { [ROUTE_ANNOTATION]: encodeRouteRef(hint) } },
    status: { route: routeRecord(old) },
  });
  assert.deepEqual(routeRefsToRemove(cs), [old, implied, hint]);
  // Only the shell's own Service marks the entries taken out wherever these point.
  assert.deepEqual(routeBackend(cs.metadata.namespace!, cs.metadata.name!), {
    serviceName: "cloudshell-web",
    serviceNamespace: "team-a",
  });
  // A newer status (written, not yet in the cache) wins over the cached one.
  assert.deepEqual(routeRefsToRemove(shell(), { route: routeRecord(implied) }), [implied]);
});

Deno.test("accessUrl() appends the effective TTL it is given", () => {
  const svc = { metadata: {}, spec: { clusterIP: "10.0.0.7" } };
  assert.equal(
    accessUrl(shell({ spec: { exposureMode: "ClusterIP" } }), "ClusterIP", svc, undefined, 600),
    "10.0.0.7:7681?ttl=600",
  );
  assert.equal(accessUrl(shell(), "Ingress", svc, undefined, undefined), "/apis/v1alpha1/cloudshell/web");
});

Deno.test("desiredRoute(): under a per-shell pattern, a host and a route object of the shell's own", () => {
  const pattern = { kind: "perShell", text: "{name}.{namespace}.shells.example.com" } as const;
  const policy = { ...DEFAULT_POLICY, ingressHostPattern: pattern, virtualServiceHostPattern: pattern };
  const ing = desiredRoute(
    shell({ spec: { exposureMode: "Ingress", ingressConfig: {} } }),
    "Ingress",
    policy,
  )!;
  assert.equal(ing.objectName, "cloudshell-web");
  assert.equal(ing.ingress?.host, "web.team-a.shells.example.com");
  const vsShell = shell({ spec: { exposureMode: "VirtualService" } });
  const vs = desiredRoute(vsShell, "VirtualService", policy)!;
  assert.equal(vs.objectName, "cloudshell-web");
  assert.deepEqual(vs.virtualService?.hosts, ["web.team-a.shells.example.com"]);
  const svc = { metadata: {}, spec: {} };
  assert.equal(
    accessUrl(vsShell, "VirtualService", svc, undefined, undefined, vs),
    "web.team-a.shells.example.com/apis/v1alpha1/cloudshell/web",
  );
  // CloudTTY's layout, chosen: the namespace's shared objects, no host (VirtualService hosts ["*"]).
  const cloudtty = {
    ...DEFAULT_POLICY,
    ingressHostPattern: { kind: "any" },
    virtualServiceHostPattern: { kind: "any" },
  } as const;
  const shared = desiredRoute(
    shell({ spec: { exposureMode: "Ingress", ingressConfig: {} } }),
    "Ingress",
    cloudtty,
  )!;
  assert.equal(shared.objectName, "cloudshell-ingress");
  assert.equal(shared.ingress?.host, undefined);
  const sharedVs = desiredRoute(vsShell, "VirtualService", cloudtty)!;
  assert.equal(sharedVs.virtualService?.hosts, undefined, "built with hosts [*], joins any, as CloudTTY");
  assert.equal(
    accessUrl(vsShell, "VirtualService", svc, undefined, undefined, sharedVs),
    "/apis/v1alpha1/cloudshell/web",
  );
});
