/**
 * Route entries in a shared Istio VirtualService: one HTTP route per
 * CloudShell, found by its first match being a URI prefix equal to the route
 * path, and the shell's own only when it leads to the shell's Service (its
 * destination host names the Service and its namespace). Other routes, hosts,
 * gateways and exportTo are left alone.
 */
import { jsonEqual } from "../../kube/json_equal.ts";
import type { KubeClient } from "../../kube/client.ts";
import { isNotFound } from "../../kube/errors.ts";
import type { ResourceType } from "../../kube/resources.ts";
import type { KubeObject } from "../../kube/types.ts";
import { MANAGED_BY, MANAGED_BY_LABEL, OWNER_LABEL, TTYD_PORT } from "../api.ts";
import {
  type DesiredRoute,
  type Removal,
  replaceOrAppend,
  type RouteBackend,
  RouteError,
  type RouteKind,
  type RouteRef,
} from "./route_types.ts";

/** Istio's VirtualService, at the version upstream wrote. */
export const VirtualServices: ResourceType = {
  group: "networking.istio.io",
  version: "v1beta1",
  plural: "virtualservices",
  kind: "VirtualService",
  namespaced: true,
};

/** One HTTP route of a VirtualService (the fields routes use; others are kept as they come). */
export interface HttpRoute {
  name?: string;
  match?: { uri?: { prefix?: string; exact?: string; regex?: string } }[];
  rewrite?: { uri?: string };
  route?: { destination: { host: string; port?: { number: number } } }[];
  [field: string]: unknown;
}

/** A `networking.istio.io` VirtualService. */
export interface VirtualService extends KubeObject {
  spec?: {
    hosts?: string[];
    gateways?: string[];
    exportTo?: string[];
    http?: HttpRoute[];
    [field: string]: unknown;
  };
}

/** Whether a route belongs to `path`: upstream's rule, its first match is a prefix equal to the path. */
function isRouteOf(route: HttpRoute, path: string): boolean {
  return route.match?.[0]?.uri?.prefix === path;
}

/** The destination host of a shell's Service. */
function serviceHost(backend: RouteBackend): string {
  return `${backend.serviceName}.${backend.serviceNamespace}.svc.cluster.local`;
}

/** Whether every destination of a route is the shell's Service. */
function leadsTo(route: HttpRoute, backend: RouteBackend): boolean {
  const destinations = route.route ?? [];
  return destinations.length > 0 && destinations.every((d) => d.destination?.host === serviceHost(backend));
}

function httpRoute(route: DesiredRoute): HttpRoute {
  return {
    name: route.owner,
    match: [{ uri: { prefix: route.path } }],
    rewrite: { uri: "/" },
    route: [{
      destination: {
        // The Service's own namespace: upstream used the VirtualService's, which breaks when they differ.
        host: serviceHost(route),
        port: { number: TTYD_PORT },
      },
    }],
  };
}

/** A new VirtualService holding only this route. */
export function buildVirtualService(route: DesiredRoute): VirtualService {
  const gateway = route.virtualService?.gateway;
  const exportTo = route.virtualService?.exportTo;
  return {
    apiVersion: "networking.istio.io/v1beta1",
    kind: "VirtualService",
    metadata: {
      name: route.objectName,
      namespace: route.namespace,
      labels: { [MANAGED_BY_LABEL]: MANAGED_BY, [OWNER_LABEL]: route.owner },
    },
    spec: {
      hosts: route.virtualService?.hosts ?? ["*"],
      // Upstream rendered `[""]` for unset values, which Istio rejects or reads as "visible nowhere".
      ...(gateway ? { gateways: [gateway] } : {}),
      ...(exportTo ? { exportTo: [exportTo] } : {}),
      http: [httpRoute(route)],
    },
  };
}

/**
 * The VirtualService with the route set (replaced or appended), or undefined when nothing changes.
 * A route of that path leading anywhere else is someone else's: RoutePathConflict.
 */
export function addVirtualServiceRoute(
  current: VirtualService,
  route: DesiredRoute,
): VirtualService | undefined {
  const hosts = route.virtualService?.hosts;
  if (hosts && !jsonEqual(current.spec?.hosts ?? [], hosts)) {
    // Joining would serve this shell on the other hosts too: one origin with whoever else is there.
    throw new RouteError(
      "RouteHostConflict",
      `VirtualService ${current.metadata.namespace}/${current.metadata.name} answers on hosts ` +
        `${JSON.stringify(current.spec?.hosts ?? [])}, not this CloudShell's ${JSON.stringify(hosts)}; ` +
        "leave virtualServiceConfig.virtualServiceName out for a VirtualService of its own",
    );
  }
  const taken = (current.spec?.http ?? []).find((r) => isRouteOf(r, route.path) && !leadsTo(r, route));
  if (taken) {
    throw new RouteError(
      "RoutePathConflict",
      `Path ${route.path} in VirtualService ${current.metadata.namespace}/${current.metadata.name} already ` +
        `leads to ${taken.route?.[0]?.destination?.host ?? "another destination"}; choose another ` +
        "pathPrefix or pathSuffix",
    );
  }
  const next = structuredClone(current);
  const http = (next.spec ??= {}).http ??= [];
  replaceOrAppend(http, (r) => isRouteOf(r, route.path), httpRoute(route));
  return jsonEqual(next, current) ? undefined : next;
}

/**
 * Drops the shell's routes of `ref.path` (those leading to its Service); deletes a VirtualService left
 * empty only when this operator created it.
 */
export function removeVirtualServiceRoute(
  current: VirtualService,
  ref: RouteRef,
  backend: RouteBackend,
): Removal<VirtualService> {
  const http = current.spec?.http ?? [];
  const kept = http.filter((r) => !(isRouteOf(r, ref.path) && leadsTo(r, backend)));
  if (kept.length === http.length) return { action: "none" };
  if (kept.length === 0 && current.metadata.labels?.[MANAGED_BY_LABEL] === MANAGED_BY) {
    return { action: "delete" };
  }
  const next = structuredClone(current);
  next.spec = { ...next.spec, http: kept };
  return { action: "update", object: next };
}

/** Throws `VirtualServiceCRDMissing` when the API server does not serve VirtualServices at all. */
async function checkServed(client: KubeClient, namespace: string): Promise<void> {
  try {
    // A missing object and a missing type both answer 404 on the object; only the collection tells them apart
    // (listing in a namespace that does not exist still succeeds, empty).
    await client.list(VirtualServices, { namespace, limit: 1 });
  } catch (err) {
    if (!isNotFound(err)) throw err;
    throw new RouteError(
      "VirtualServiceCRDMissing",
      "This cluster does not serve networking.istio.io/v1beta1 VirtualServices: install Istio's CRDs " +
        "or choose another exposureMode",
      { cause: err },
    );
  }
}

/** How routes live in a VirtualService. */
export const virtualServiceRoutes: RouteKind<VirtualService> = {
  type: VirtualServices,
  build: buildVirtualService,
  add: addVirtualServiceRoute,
  remove: removeVirtualServiceRoute,
  checkServed,
};
