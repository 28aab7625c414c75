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
  type RouteRecord,
  TTYD_PORT,
} from "../api.ts";
import type { ServiceLike } from "../children/children.ts";
import { hostPort } from "./node_address.ts";
import { DEFAULT_POLICY, type TenantPolicy } from "../policy/policy.ts";
import { hostFor, type HostPattern } from "./route_hosts.ts";
import {
  type DesiredRoute,
  encodeRouteRef,
  parseRouteRef,
  type RouteBackend,
  type RouteRef,
} from "./routes.ts";
import { Reasons } from "../status.ts";

/**
 * The route entry a shell wants, or undefined for NodePort and ClusterIP. Its host comes from the
 * administrator's pattern (the policy) unless the shell names one (which the policy then checks). Under a
 * per-shell pattern the shell's route object is its own (`cloudshell-<name>`), so its class, gateway and
 * exportTo are its own too; otherwise it is the namespace's shared one, as in CloudTTY.
 */
export function desiredRoute(
  cs: CloudShell,
  mode: string,
  policy: TenantPolicy = DEFAULT_POLICY,
): DesiredRoute | undefined {
  const spec = cs.spec ?? {};
  const name = cs.metadata.name!;
  const ns = cs.metadata.namespace!;
  // What both kinds of route share: the path, and the shell's Service behind it.
  const entry = { path: routePath(spec, name), ...routeBackend(ns, name), owner: name };
  const objectName = (pattern: HostPattern | undefined, shared: string) =>
    pattern?.kind === "perShell" ? childName(name) : shared;
  if (mode === "Ingress") {
    const cfg = spec.ingressConfig ?? {};
    const pattern = policy.ingressHostPattern;
    return {
      ...entry,
      mode,
      namespace: cfg.namespace || ns,
      objectName: cfg.ingressName || objectName(pattern, DEFAULT_INGRESS_NAME),
      ingress: {
        className: cfg.ingressClassName,
        annotations: cfg.annotations,
        host: cfg.host || (pattern && hostFor(pattern, name, ns)),
      },
    };
  }
  if (mode === "VirtualService") {
    const cfg = spec.virtualServiceConfig ?? {};
    const pattern = policy.virtualServiceHostPattern;
    return {
      ...entry,
      mode,
      namespace: cfg.namespace || ns,
      objectName: cfg.virtualServiceName || objectName(pattern, DEFAULT_VIRTUAL_SERVICE_NAME),
      virtualService: {
        gateway: cfg.gateway,
        exportTo: cfg.export_to,
        // CloudTTY's layout (`*`) joins whatever VirtualService is named, as CloudTTY did: no hosts to keep.
        hosts: pattern?.kind === "any" ? undefined : pattern && [hostFor(pattern, name, ns)!],
      },
    };
  }
  return undefined;
}

/**
 * The Service of the shell `namespace/name`: the mark of its route entries (only entries leading to it
 * are its own). By name, so it serves a shell that is already gone from the cache too.
 */
export function routeBackend(namespace: string, name: string): RouteBackend {
  return { serviceName: childName(name), serviceNamespace: namespace };
}

/** The status form of a route reference. */
export function routeRecord(ref: RouteRef): RouteRecord {
  return { kind: ref.mode, namespace: ref.namespace, name: ref.objectName, path: ref.path };
}

/** The route recorded in the status (written by the operator alone), if any. */
export function recordedRoute(record: RouteRecord | undefined): RouteRef | undefined {
  if (!record) return undefined;
  return parseRouteRef(encodeRouteRef({
    mode: record.kind,
    namespace: record.namespace,
    objectName: record.name,
    path: record.path,
  }));
}

/**
 * Where the previous version recorded a shell's route: an annotation, which the creator of the
 * CloudShell can write. Only a hint of where to look; what is removed there is decided by the entries.
 */
export function legacyRouteHint(cs: CloudShell): RouteRef | undefined {
  return parseRouteRef(cs.metadata.annotations?.[ROUTE_ANNOTATION] ?? "");
}

/**
 * Where to look for a shell's route entries when it goes: the route recorded in its status, the
 * one its spec implies (CloudShells created by CloudTTY carry no record), and the previous version's
 * annotation. In each place only entries that lead to the shell's own Service are removed.
 */
export function routeRefsToRemove(
  cs: CloudShell,
  status = cs.status,
  policy: TenantPolicy = DEFAULT_POLICY,
): RouteRef[] {
  const refs = new Map<string, RouteRef>();
  const add = (ref: RouteRef | undefined) => ref && refs.set(encodeRouteRef(ref), ref);
  add(recordedRoute(status?.route));
  const implied = desiredRoute(cs, exposureMode(cs.spec ?? {}), policy);
  if (implied) {
    add({
      mode: implied.mode,
      namespace: implied.namespace,
      objectName: implied.objectName,
      path: implied.path,
    });
  }
  add(legacyRouteHint(cs));
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
  ttl: number | undefined,
  route?: DesiredRoute,
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
    const vsHost = route?.virtualService?.hosts?.[0];
    const host = mode === "Ingress"
      ? route?.ingress?.host ?? spec.ingressConfig?.host
      : vsHost === "*"
      ? undefined
      : vsHost;
    url = host ? `${host}${path}` : path;
  }
  return ttl === undefined ? url : `${url}?ttl=${ttl}`;
}
