import assert from "node:assert/strict";
import { type CloudShell, ROUTE_ANNOTATION } from "../../controller/cloudshell/api.ts";
import {
  accessUrl,
  recordedRoute,
  routeBackend,
  routeRecord,
  routeRefsToRemove,
} from "../../controller/cloudshell/exposure.ts";
import { encodeRouteRef, type RouteRef } from "../../controller/cloudshell/routes.ts";

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
