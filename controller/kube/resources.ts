/**
 * Resource descriptors: what the client needs to build a URL for a kind.
 * Adding a resource is adding a constant here, never a new client method.
 */

/** Where a resource lives in the API. */
export interface ResourceType {
  /** API group; `""` for the core group. */
  readonly group: string;
  readonly version: string;
  /** Plural resource name used in URLs. */
  readonly plural: string;
  readonly kind: string;
  readonly namespaced: boolean;
}

/** The `apiVersion` string for a resource type (`v1`, `batch/v1`, ...). */
export function apiVersionOf(type: ResourceType): string {
  return type.group === "" ? type.version : `${type.group}/${type.version}`;
}

function core(plural: string, kind: string, namespaced = true): ResourceType {
  return { group: "", version: "v1", plural, kind, namespaced };
}

/** Built-in resources the runtime and the operator use. */
export const Resources = {
  pods: core("pods", "Pod"),
  services: core("services", "Service"),
  secrets: core("secrets", "Secret"),
  configMaps: core("configmaps", "ConfigMap"),
  serviceAccounts: core("serviceaccounts", "ServiceAccount"),
  events: core("events", "Event"),
  namespaces: core("namespaces", "Namespace", false),
  nodes: core("nodes", "Node", false),
  jobs: { group: "batch", version: "v1", plural: "jobs", kind: "Job", namespaced: true },
  leases: { group: "coordination.k8s.io", version: "v1", plural: "leases", kind: "Lease", namespaced: true },
  ingresses: {
    group: "networking.k8s.io",
    version: "v1",
    plural: "ingresses",
    kind: "Ingress",
    namespaced: true,
  },
  networkPolicies: {
    group: "networking.k8s.io",
    version: "v1",
    plural: "networkpolicies",
    kind: "NetworkPolicy",
    namespaced: true,
  },
  roleBindings: {
    group: "rbac.authorization.k8s.io",
    version: "v1",
    plural: "rolebindings",
    kind: "RoleBinding",
    namespaced: true,
  },
  clusterRoles: {
    group: "rbac.authorization.k8s.io",
    version: "v1",
    plural: "clusterroles",
    kind: "ClusterRole",
    namespaced: false,
  },
  clusterRoleBindings: {
    group: "rbac.authorization.k8s.io",
    version: "v1",
    plural: "clusterrolebindings",
    kind: "ClusterRoleBinding",
    namespaced: false,
  },
  subjectAccessReviews: {
    group: "authorization.k8s.io",
    version: "v1",
    plural: "subjectaccessreviews",
    kind: "SubjectAccessReview",
    namespaced: false,
  },
  customResourceDefinitions: {
    group: "apiextensions.k8s.io",
    version: "v1",
    plural: "customresourcedefinitions",
    kind: "CustomResourceDefinition",
    namespaced: false,
  },
} as const satisfies Record<string, ResourceType>;

/** The URL path of a collection (`namespace` ignored for cluster-scoped types). */
export function collectionPath(type: ResourceType, namespace?: string): string {
  const base = type.group === "" ? `/api/${type.version}` : `/apis/${type.group}/${type.version}`;
  if (type.namespaced && namespace) {
    return `${base}/namespaces/${encodeURIComponent(namespace)}/${type.plural}`;
  }
  return `${base}/${type.plural}`;
}

/** The URL path of one object, optionally of a subresource such as `status`. */
export function objectPath(
  type: ResourceType,
  namespace: string | undefined,
  name: string,
  sub?: string,
): string {
  const path = `${collectionPath(type, namespace)}/${encodeURIComponent(name)}`;
  return sub ? `${path}/${sub}` : path;
}
