/**
 * The operator's permissions as the tests know them: the list every RBAC rule in deploy/ must match, a
 * flattening of RBAC rules into single permissions, and the translation of an HTTP request into the
 * permission the API server checks for it (client-go's RequestInfo, as far as the operator's requests go).
 */
import type { Manifest } from "./_manifests.ts";

/**
 * One permission: `verb group/resource[/subresource][:name]`, with `core` for the core group and no name
 * when the rule names none.
 */
export type Permission = string;

/** What the operator needs in every namespace, and why. Change deploy/cluster_role.yaml and this together. */
export const CLUSTER_PERMISSIONS: Readonly<Record<Permission, string>> = {
  "list cloudshell.cloudtty.io/cloudshells": "the CloudShell informer",
  "watch cloudshell.cloudtty.io/cloudshells": "the CloudShell informer",
  "patch cloudshell.cloudtty.io/cloudshells": "finalizer (and dropping the old route annotation)",
  "delete cloudshell.cloudtty.io/cloudshells": "cleanup: true at expiry",
  "patch cloudshell.cloudtty.io/cloudshells/status": "status writes",
  "update cloudshell.cloudtty.io/cloudshells/finalizers":
    "blockOwnerDeletion ownerReferences (OwnerReferencesPermissionEnforcement)",
  "list batch/jobs": "the Job informer",
  "watch batch/jobs": "the Job informer",
  "get batch/jobs": "reading a Job whose name is taken",
  "create batch/jobs": "the terminal Job",
  "patch batch/jobs": "extending activeDeadlineSeconds when the TTL is raised",
  "delete batch/jobs": "ending the Job at expiry",
  "list core/pods": "the Pod informer (readiness)",
  "watch core/pods": "the Pod informer (readiness)",
  "patch core/pods": "the session annotations of a live terminal whose TTL or idle timeout changed",
  "list core/services": "the Service informer",
  "watch core/services": "the Service informer",
  "get core/services": "reading a Service whose name is taken",
  "create core/services": "the terminal's Service",
  "patch core/services": "switching between NodePort and ClusterIP; selecting a new Job's pods",
  "delete core/services": "releasing the Service of an ended shell",
  "list core/nodes": "node addresses for NodePort URLs",
  "watch core/nodes": "node addresses for NodePort URLs",
  "create core/events": "Events",
  "create core/secrets": "the terminal's login Secret (TTYD_CREDENTIAL or --terminal-credential=generated)",
  "list networking.k8s.io/networkpolicies": "the NetworkPolicy informer (a deleted policy is made again)",
  "watch networking.k8s.io/networkpolicies": "the NetworkPolicy informer (a deleted policy is made again)",
  "create networking.k8s.io/networkpolicies": "the per-shell NetworkPolicy (--network-policy-*)",
  "get networking.k8s.io/networkpolicies": "reading a NetworkPolicy whose name is taken",
  "get core/serviceaccounts": "reading a ServiceAccount whose name is taken (is it this shell's?)",
  "create core/serviceaccounts": "the per-shell ServiceAccount",
  "get rbac.authorization.k8s.io/rolebindings":
    "reading a RoleBinding whose name is taken (is it this shell's?)",
  "create rbac.authorization.k8s.io/rolebindings": "binding the per-shell ServiceAccount",
  "bind rbac.authorization.k8s.io/clusterroles:view": "granting --kubeconfig-clusterrole without holding it",
  "create authorization.k8s.io/subjectaccessreviews":
    "may the terminal's identity exec into or read the logs its command names?",
  "get networking.k8s.io/ingresses": "read-modify-write of the shared Ingress",
  "create networking.k8s.io/ingresses": "the shared Ingress",
  "update networking.k8s.io/ingresses": "read-modify-write of the shared Ingress",
  "delete networking.k8s.io/ingresses": "the shared Ingress with its last path",
  "get networking.istio.io/virtualservices": "read-modify-write of the shared VirtualService",
  "list networking.istio.io/virtualservices": "telling a missing CRD from a missing object",
  "create networking.istio.io/virtualservices": "the shared VirtualService",
  "update networking.istio.io/virtualservices": "read-modify-write of the shared VirtualService",
  "delete networking.istio.io/virtualservices": "the shared VirtualService with its last route",
  "get admissionregistration.k8s.io/validatingadmissionpolicies:cloudshell-creator-can-read":
    "checking the admission policy is in force (--require-admission-policy)",
  "get admissionregistration.k8s.io/validatingadmissionpolicybindings:cloudshell-creator-can-read":
    "checking the admission policy's binding denies (--require-admission-policy)",
};

/** What `--metrics-secure` adds cluster-wide (the chart's default; deploy/components/secure-metrics). */
export const METRICS_AUTH_PERMISSIONS: Readonly<Record<Permission, string>> = {
  "create authentication.k8s.io/tokenreviews": "checking a scraper's bearer token",
  "create authorization.k8s.io/subjectaccessreviews": "checking that the scraper may get /metrics",
};

/** What the operator needs in its own namespace. */
export const NAMESPACE_PERMISSIONS: Readonly<Record<Permission, string>> = {
  "create coordination.k8s.io/leases": "the first start creates the Lease",
  "get coordination.k8s.io/leases:cloudshell-operator": "leader election",
  "update coordination.k8s.io/leases:cloudshell-operator": "leader election",
  "list core/configmaps:cloudshell-job-template": "the Job template informer",
  "watch core/configmaps:cloudshell-job-template": "the Job template informer",
};

/**
 * What the legacy ConfigMap kubeconfig (feature gate AllowSecretStoreKubeconfig off) adds, cluster-wide:
 * nothing, since the operator never reads a kubeconfig Secret or ConfigMap (the kubelet mounts it).
 */
export const LEGACY_CONFIGMAP_PERMISSIONS: Readonly<Record<Permission, string>> = {};

/**
 * What identity mode (deploy/components/identity, chart value identity.enabled) adds, as rules: RBAC lets
 * the operator grant each shell the impersonation of its creator only if it may impersonate anyone itself.
 */
export const IDENTITY_RULES: readonly PolicyRule[] = [
  {
    apiGroups: ["rbac.authorization.k8s.io"],
    resources: ["clusterroles", "clusterrolebindings"],
    verbs: ["get", "list", "create", "delete"],
  },
  {
    apiGroups: ["admissionregistration.k8s.io"],
    resources: ["validatingadmissionpolicies", "validatingadmissionpolicybindings"],
    verbs: ["get"],
    resourceNames: ["cloudshell-creator-record"],
  },
  { apiGroups: [""], resources: ["users", "groups"], verbs: ["impersonate"] },
  { apiGroups: ["authentication.k8s.io"], resources: ["*"], verbs: ["impersonate"] },
];

/** An RBAC policy rule. */
export interface PolicyRule {
  apiGroups?: string[];
  resources?: string[];
  verbs: string[];
  resourceNames?: string[];
  nonResourceURLs?: string[];
}

/** The rules of a ClusterRole or Role. */
export function rulesOf(role: Manifest): PolicyRule[] {
  return (role.rules as PolicyRule[] | undefined) ?? [];
}

/** Formats one permission. */
export function permission(verb: string, group: string, resource: string, name?: string): Permission {
  return `${verb} ${group === "" ? "core" : group}/${resource}${name ? `:${name}` : ""}`;
}

/** Every single permission the rules grant; throws on wildcards and non-resource URLs. */
export function flatten(rules: readonly PolicyRule[]): Set<Permission> {
  const out = new Set<Permission>();
  for (const rule of rules) {
    const all = [
      ...(rule.apiGroups ?? []),
      ...(rule.resources ?? []),
      ...rule.verbs,
      ...(rule.resourceNames ?? []),
    ];
    if (all.some((v) => v.includes("*"))) throw new Error(`Wildcard in rule ${JSON.stringify(rule)}`);
    if (rule.nonResourceURLs?.length) throw new Error(`Non-resource URLs in rule ${JSON.stringify(rule)}`);
    for (const group of rule.apiGroups ?? []) {
      for (const resource of rule.resources ?? []) {
        for (const verb of rule.verbs) {
          const names = rule.resourceNames?.length ? rule.resourceNames : [undefined];
          for (const name of names) out.add(permission(verb, group, resource, name));
        }
      }
    }
  }
  return out;
}

/** Whether `granted` allows `wanted`: the same permission, or the same without a resource name. */
export function allows(granted: ReadonlySet<Permission>, wanted: Permission): boolean {
  if (granted.has(wanted)) return true;
  const colon = wanted.indexOf(":");
  return colon >= 0 && granted.has(wanted.slice(0, colon));
}

/** A request, as the API server's authorizer sees it. */
export interface RequestAttributes {
  verb: string;
  group: string;
  resource: string;
  subresource?: string;
  namespace?: string;
  /** The object's name; for list and watch, the name a `metadata.name` field selector pins. */
  name?: string;
}

const VERBS: Record<string, string> = { POST: "create", PUT: "update", PATCH: "patch" };

/** What the API server authorizes for a request to `url`; undefined for non-resource paths. */
export function requestAttributes(method: string, url: URL): RequestAttributes | undefined {
  const parts = url.pathname.split("/").filter((p) => p !== "").map(decodeURIComponent);
  let group: string;
  let rest: string[];
  if (parts[0] === "api" && parts.length >= 2) {
    group = "";
    rest = parts.slice(2);
  } else if (parts[0] === "apis" && parts.length >= 3) {
    group = parts[1];
    rest = parts.slice(3);
  } else {
    return undefined;
  }
  if (rest.length === 0) return undefined;
  let namespace: string | undefined;
  if (rest[0] === "namespaces" && rest.length >= 3) {
    namespace = rest[1];
    rest = rest.slice(2);
  }
  const [resource, name, subresource] = rest;
  let verb: string;
  if (method === "GET" || method === "HEAD") {
    const watch = ["true", "1"].includes(url.searchParams.get("watch") ?? "");
    verb = name ? "get" : watch ? "watch" : "list";
  } else if (method === "DELETE") {
    verb = name ? "delete" : "deletecollection";
  } else {
    verb = VERBS[method] ?? method.toLowerCase();
  }
  let pinned: string | undefined = name;
  if (!name && (verb === "list" || verb === "watch")) {
    const selector = url.searchParams.get("fieldSelector") ?? "";
    pinned = /^metadata\.name=([^,]+)$/.exec(selector)?.[1];
  }
  return { verb, group, resource, subresource, namespace, name: pinned };
}

/** The permission a request needs. */
export function permissionOf(attrs: RequestAttributes): Permission {
  const resource = attrs.subresource ? `${attrs.resource}/${attrs.subresource}` : attrs.resource;
  return permission(attrs.verb, attrs.group, resource, attrs.name);
}
