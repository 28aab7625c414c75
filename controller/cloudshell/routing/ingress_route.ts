/**
 * Route entries in a shared `networking.k8s.io/v1` Ingress: one path per
 * CloudShell, in the rule of the configured host. An entry is a shell's own
 * when its backend is the shell's Service (an Ingress reaches Services of its
 * own namespace only, so the name says which shell); every other path, rule,
 * annotation and the class belong to whoever wrote them and are left alone.
 */
import { jsonEqual } from "../../kube/json_equal.ts";
import { Resources } from "../../kube/resources.ts";
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

/** The annotation upstream sets on every Ingress it touches: ttyd serves at `/`, not at the route path. */
export const REWRITE_TARGET_ANNOTATION = "nginx.ingress.kubernetes.io/rewrite-target";

/** An Ingress backend. */
export interface IngressBackend {
  service?: { name: string; port?: { number?: number; name?: string } };
  resource?: { apiGroup?: string; kind: string; name: string };
}

/** One path of an Ingress rule. */
export interface IngressPath {
  path?: string;
  pathType?: string;
  backend: IngressBackend;
}

/** One rule of an Ingress. */
export interface IngressRule {
  host?: string;
  http?: { paths: IngressPath[] };
}

/** A `networking.k8s.io/v1` Ingress (the fields routes use; others are kept as they come). */
export interface Ingress extends KubeObject {
  spec?: {
    ingressClassName?: string;
    defaultBackend?: IngressBackend;
    rules?: IngressRule[];
    tls?: unknown[];
  };
  status?: unknown;
}

function pathEntry(route: DesiredRoute): IngressPath {
  return {
    path: route.path,
    pathType: "Prefix",
    backend: { service: { name: route.serviceName, port: { number: TTYD_PORT } } },
  };
}

/** The configured rewrite target wins, so an Ingress we created is not rewritten back on the next pass. */
function rewriteTarget(route: DesiredRoute): string {
  return route.ingress?.annotations?.[REWRITE_TARGET_ANNOTATION] ?? "/";
}

function hostOf(route: DesiredRoute): string {
  return route.ingress?.host ?? "";
}

/** A new Ingress holding only this route. */
export function buildIngress(route: DesiredRoute): Ingress {
  const host = hostOf(route);
  const className = route.ingress?.className;
  return {
    apiVersion: "networking.k8s.io/v1",
    kind: "Ingress",
    metadata: {
      name: route.objectName,
      namespace: route.namespace,
      labels: { [MANAGED_BY_LABEL]: MANAGED_BY, [OWNER_LABEL]: route.owner },
      annotations: { ...route.ingress?.annotations, [REWRITE_TARGET_ANNOTATION]: rewriteTarget(route) },
    },
    spec: {
      // Upstream rendered `ingressClassName: ""`, which the API server rejects; absent means the default class.
      ...(className ? { ingressClassName: className } : {}),
      rules: [{ ...(host ? { host } : {}), http: { paths: [pathEntry(route)] } }],
    },
  };
}

/** Whether an Ingress path leads to the shell's Service (the Ingress must be in the Service's namespace). */
function leadsTo(ing: Ingress, p: IngressPath, backend: RouteBackend): boolean {
  return ing.metadata.namespace === backend.serviceNamespace &&
    p.backend.service?.name === backend.serviceName;
}

/**
 * The Ingress with the route's path set in the rule of its host, or undefined when nothing changes.
 * A path of that name leading anywhere else is someone else's: RoutePathConflict.
 */
export function addIngressPath(current: Ingress, route: DesiredRoute): Ingress | undefined {
  const next = structuredClone(current);
  next.metadata.annotations = {
    ...next.metadata.annotations,
    [REWRITE_TARGET_ANNOTATION]: rewriteTarget(route),
  };
  const spec = next.spec ??= {};
  const rules = spec.rules ??= [];
  const host = hostOf(route);
  const entry = pathEntry(route);
  const rule = rules.find((r) => (r.host ?? "") === host);
  if (!rule) {
    rules.push({ ...(host ? { host } : {}), http: { paths: [entry] } });
  } else {
    const paths = (rule.http ??= { paths: [] }).paths ??= [];
    const taken = paths.find((p) => p.path === route.path && !leadsTo(current, p, route));
    if (taken) {
      throw new RouteError(
        "RoutePathConflict",
        `Path ${route.path}${host ? ` of host ${host}` : ""} in Ingress ${current.metadata.namespace}/` +
          `${current.metadata.name} already leads to ${
            backendName(taken)
          }; choose another pathPrefix or pathSuffix`,
      );
    }
    replaceOrAppend(paths, (p) => p.path === route.path, entry);
  }
  return jsonEqual(next, current) ? undefined : next;
}

function backendName(p: IngressPath): string {
  if (p.backend.service) return `Service ${p.backend.service.name}`;
  return p.backend.resource ? `${p.backend.resource.kind} ${p.backend.resource.name}` : "another backend";
}

/**
 * Takes the shell's entries of `ref.path` (those leading to its Service) out of
 * every rule. An Ingress left without paths is deleted only when this operator
 * created it; a user's own Ingress is kept.
 */
export function removeIngressPath(current: Ingress, ref: RouteRef, backend: RouteBackend): Removal<Ingress> {
  const path = ref.path;
  const ours = (p: IngressPath) => p.path === path && leadsTo(current, p, backend);
  const rules = current.spec?.rules ?? [];
  if (!rules.some((r) => r.http?.paths?.some(ours))) return { action: "none" };
  const next = structuredClone(current);
  const kept: IngressRule[] = [];
  let emptied: IngressRule | undefined;
  for (const rule of next.spec?.rules ?? []) {
    const paths = rule.http?.paths;
    if (!paths?.some(ours)) {
      kept.push(rule);
      continue;
    }
    const remaining = paths.filter((p) => !ours(p));
    if (remaining.length > 0) {
      rule.http = { ...rule.http, paths: remaining };
      kept.push(rule);
    } else {
      emptied ??= rule;
    }
  }
  const pathsLeft = kept.reduce((n, r) => n + (r.http?.paths?.length ?? 0), 0);
  if (pathsLeft === 0 && current.metadata.labels?.[MANAGED_BY_LABEL] === MANAGED_BY) {
    return { action: "delete" };
  }
  if (kept.length === 0 && !next.spec?.defaultBackend && emptied) {
    // The API server rejects an Ingress with neither rules nor a default backend, and an `http` without
    // paths; a rule with no `http` is valid, so a user's emptied Ingress keeps its first rule that way.
    delete emptied.http;
    kept.push(emptied);
  }
  next.spec = { ...next.spec, rules: kept };
  return { action: "update", object: next };
}

/** How routes live in an Ingress. */
export const ingressRoutes: RouteKind<Ingress> = {
  type: Resources.ingresses,
  build: buildIngress,
  add: addIngressPath,
  remove: removeIngressPath,
};
