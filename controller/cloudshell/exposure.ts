/**
 * How a CloudShell is reached: the route entry it wants in a shared Ingress
 * or VirtualService, the route entries to remove when it goes, and the URL
 * written into its status.
 */
import {
  childName,
  type CloudShell,
  DEFAULT_INGRESS_NAME,
  DEFAULT_VIRTUAL_SERVICE_NAME,
  exposureMode,
  ROUTE_ANNOTATION,
  routePath,
  ttlSeconds,
  TTYD_PORT,
} from "./api.ts";
import type { ServiceLike } from "./children.ts";
import { hostPort } from "./node_address.ts";
import { type DesiredRoute, encodeRouteRef, parseRouteRef, type RouteRef } from "./routes.ts";
import { Reasons } from "./status.ts";

/** The route entry a shell wants, or undefined for NodePort and ClusterIP. */
export function desiredRoute(cs: CloudShell, mode: string): DesiredRoute | undefined {
  const spec = cs.spec ?? {};
  const name = cs.metadata.name!;
  const ns = cs.metadata.namespace!;
  // What both kinds of route share: the path, and the shell's Service behind it.
  const entry = {
    path: routePath(spec, name),
    serviceName: childName(name),
    serviceNamespace: ns,
    owner: name,
  };
  if (mode === "Ingress") {
    const cfg = spec.ingressConfig ?? {};
    return {
      ...entry,
      mode,
      namespace: cfg.namespace || ns,
      objectName: cfg.ingressName || DEFAULT_INGRESS_NAME,
      ingress: { className: cfg.ingressClassName, annotations: cfg.annotations, host: cfg.host },
    };
  }
  if (mode === "VirtualService") {
    const cfg = spec.virtualServiceConfig ?? {};
    return {
      ...entry,
      mode,
      namespace: cfg.namespace || ns,
      objectName: cfg.virtualServiceName || DEFAULT_VIRTUAL_SERVICE_NAME,
      virtualService: { gateway: cfg.gateway, exportTo: cfg.export_to },
    };
  }
  return undefined;
}

/**
 * The route entries to remove when a shell goes: the one recorded on it, and
 * the one its spec implies (CloudShells created by CloudTTY carry no record).
 */
export function routeRefsToRemove(cs: CloudShell): RouteRef[] {
  const refs = new Map<string, RouteRef>();
  const recorded = parseRouteRef(cs.metadata.annotations?.[ROUTE_ANNOTATION] ?? "");
  if (recorded) refs.set(encodeRouteRef(recorded), recorded);
  const implied = desiredRoute(cs, exposureMode(cs.spec ?? {}));
  if (implied) {
    const ref: RouteRef = {
      mode: implied.mode,
      namespace: implied.namespace,
      objectName: implied.objectName,
      path: implied.path,
    };
    refs.set(encodeRouteRef(ref), ref);
  }
  return [...refs.values()];
}

/**
 * The URL for the status, as upstream formats it (no scheme; `?ttl=N` when a
 * TTL is set, which CloudTTY's web client reads), or why there is none yet.
 */
export function accessUrl(
  cs: CloudShell,
  mode: string,
  service: ServiceLike,
  nodeHost: string | undefined,
): string | { reason: string; message: string; retry: boolean } {
  const spec = cs.spec ?? {};
  let url: string;
  if (mode === "NodePort") {
    const nodePort = service.spec?.ports?.find((p) => p.nodePort)?.nodePort;
    if (!nodePort) {
      return { reason: Reasons.waitingForRoute, message: "The Service has no node port yet", retry: true };
    }
    if (!nodeHost) {
      return {
        reason: Reasons.noNodeAddress,
        message:
          "No Ready node has an ExternalIP or InternalIP; set --node-port-host to the address clients use",
        retry: true,
      };
    }
    url = hostPort(nodeHost, nodePort);
  } else if (mode === "ClusterIP") {
    const ip = service.spec?.clusterIP;
    if (!ip || ip === "None") {
      return { reason: Reasons.waitingForRoute, message: "The Service has no cluster IP yet", retry: true };
    }
    url = hostPort(ip, TTYD_PORT);
  } else {
    const path = routePath(spec, cs.metadata.name!);
    const host = mode === "Ingress" ? spec.ingressConfig?.host : undefined;
    url = host ? `${host}${path}` : path;
  }
  const ttl = ttlSeconds(spec);
  return ttl === undefined ? url : `${url}?ttl=${ttl}`;
}
