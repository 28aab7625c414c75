/**
 * The objects a CloudShell owns besides its Job: the Service in front of the
 * terminal, and (when no kubeconfig is given) a ServiceAccount and a
 * RoleBinding to the ClusterRole the operator is configured with. Pure
 * builders, and their ensures through the one ownership check (ownership.ts).
 */
import type { KubeClient } from "../../kube/client.ts";
import { Resources } from "../../kube/resources.ts";
import type { KubeObject } from "../../kube/types.ts";
import { childName, type CloudShell, MANAGED_BY, MANAGED_BY_LABEL, OWNER_LABEL, TTYD_PORT } from "../api.ts";
import { ensureChild, ownerReference } from "./ownership.ts";

/** A Service, as far as the operator reads it. */
export interface ServiceLike extends KubeObject {
  spec?: {
    type?: string;
    clusterIP?: string;
    selector?: Record<string, string>;
    ports?: { name?: string; port: number; targetPort?: number; protocol?: string; nodePort?: number }[];
  };
}

export { isOwnedBy, ownerReference } from "./ownership.ts";

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

/**
 * What the Service selects: the owner label and the Job's own selector (the
 * `batch.kubernetes.io/controller-uid` label the API server gives every Job
 * and its pods). The owner label alone is a name anyone who may create pods in
 * the namespace can put on a pod of their own, which would then receive the
 * terminal's traffic; the UID changes with every Job.
 */
export function serviceSelector(cs: CloudShell, jobSelector: Record<string, string> | undefined) {
  return { ...jobSelector, [OWNER_LABEL]: cs.metadata.name! };
}

/** The Service `cloudshell-<name>` on port 7681, selecting the pods of the shell's Job. */
export function buildService(
  cs: CloudShell,
  mode: string,
  jobSelector: Record<string, string> | undefined,
): ServiceLike {
  return {
    apiVersion: "v1",
    kind: "Service",
    metadata: childMeta(cs),
    spec: {
      type: serviceTypeFor(mode),
      selector: serviceSelector(cs, jobSelector),
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

/** Creates the ServiceAccount of a CloudShell that has no kubeconfig of its own (or finds its own). */
export async function ensureServiceAccount(client: KubeClient, cs: CloudShell): Promise<void> {
  await ensureChild(client, Resources.serviceAccounts, buildServiceAccount(cs), cs);
}

/** Binds that ServiceAccount to the configured ClusterRole in the CloudShell's namespace. */
export async function ensureRoleBinding(
  client: KubeClient,
  cs: CloudShell,
  clusterRole: string,
): Promise<void> {
  await ensureChild(client, Resources.roleBindings, buildRoleBinding(cs, clusterRole), cs);
}
