/**
 * The objects a CloudShell owns besides its Job: the Service in front of the
 * terminal, and (when no kubeconfig is given) a ServiceAccount and a
 * RoleBinding to the ClusterRole the operator is configured with. Pure
 * builders plus a small create-if-missing helper.
 */
import type { KubeClient } from "../kube/client.ts";
import { isAlreadyExists } from "../kube/errors.ts";
import { Resources, type ResourceType } from "../kube/resources.ts";
import type { KubeObject, OwnerReference } from "../kube/types.ts";
import {
  API_VERSION,
  childName,
  type CloudShell,
  KIND,
  MANAGED_BY,
  MANAGED_BY_LABEL,
  OWNER_LABEL,
  TTYD_PORT,
} from "./api.ts";

/** A Service, as far as the operator reads it. */
export interface ServiceLike extends KubeObject {
  spec?: {
    type?: string;
    clusterIP?: string;
    selector?: Record<string, string>;
    ports?: { name?: string; port: number; targetPort?: number; protocol?: string; nodePort?: number }[];
  };
}

/** The controller ownerReference that ties a child to its CloudShell (and lets GC remove it). */
export function ownerReference(cs: CloudShell): OwnerReference {
  return {
    apiVersion: API_VERSION,
    kind: KIND,
    name: cs.metadata.name!,
    uid: cs.metadata.uid!,
    controller: true,
    blockOwnerDeletion: true,
  };
}

/** Whether `obj` is controlled by this CloudShell (same UID, so never a namesake's leftovers). */
export function isOwnedBy(obj: KubeObject, cs: CloudShell): boolean {
  return obj.metadata.ownerReferences?.some((r) => r.controller && r.uid === cs.metadata.uid) ?? false;
}

function childMeta(cs: CloudShell) {
  const name = cs.metadata.name!;
  return {
    name: childName(name),
    namespace: cs.metadata.namespace,
    labels: { [OWNER_LABEL]: name, [MANAGED_BY_LABEL]: MANAGED_BY },
    ownerReferences: [ownerReference(cs)],
  };
}

/** The Service type an exposure mode needs: NodePort for NodePort, ClusterIP for the rest. */
export function serviceTypeFor(mode: string): "NodePort" | "ClusterIP" {
  return mode === "NodePort" ? "NodePort" : "ClusterIP";
}

/** The Service `cloudshell-<name>` on port 7681, selecting the terminal pod by the owner label. */
export function buildService(cs: CloudShell, mode: string): ServiceLike {
  return {
    apiVersion: "v1",
    kind: "Service",
    metadata: childMeta(cs),
    spec: {
      type: serviceTypeFor(mode),
      selector: { [OWNER_LABEL]: cs.metadata.name! },
      ports: [{ name: "ttyd", port: TTYD_PORT, targetPort: TTYD_PORT, protocol: "TCP" }],
    },
  };
}

/** A ServiceAccount of its own, so the terminal's rights are exactly the configured ClusterRole's. */
export function buildServiceAccount(cs: CloudShell): KubeObject {
  return {
    apiVersion: "v1",
    kind: "ServiceAccount",
    metadata: childMeta(cs),
    // The token is projected into the terminal pod explicitly, short-lived.
    automountServiceAccountToken: false,
  } as KubeObject;
}

/**
 * A RoleBinding in the CloudShell's namespace to the ClusterRole: the rights
 * apply to that namespace only, and the binding goes with its owner.
 */
export function buildRoleBinding(cs: CloudShell, clusterRole: string): KubeObject {
  return {
    apiVersion: "rbac.authorization.k8s.io/v1",
    kind: "RoleBinding",
    metadata: childMeta(cs),
    roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: clusterRole },
    subjects: [{
      kind: "ServiceAccount",
      name: childName(cs.metadata.name!),
      namespace: cs.metadata.namespace,
    }],
  } as KubeObject;
}

/** Creates an object; an existing one of that name is left as it is and returned as undefined. */
export async function createIfMissing<T extends KubeObject>(
  client: KubeClient,
  type: ResourceType,
  obj: T,
): Promise<T | undefined> {
  try {
    return await client.create<T>(type, obj);
  } catch (err) {
    if (isAlreadyExists(err)) return undefined;
    throw err;
  }
}

/** Creates the ServiceAccount of a CloudShell that has no kubeconfig of its own. */
export async function ensureServiceAccount(client: KubeClient, cs: CloudShell): Promise<void> {
  await createIfMissing(client, Resources.serviceAccounts, buildServiceAccount(cs));
}

/** Binds that ServiceAccount to the configured ClusterRole in the CloudShell's namespace. */
export async function ensureRoleBinding(
  client: KubeClient,
  cs: CloudShell,
  clusterRole: string,
): Promise<void> {
  await createIfMissing(client, Resources.roleBindings, buildRoleBinding(cs, clusterRole));
}
