/**
 * The optional NetworkPolicy of a shell: with `--network-policy-cidr` or `--network-policy-namespace`
 * set, each terminal pod admits connections to its ttyd port only from the sources an administrator named,
 * and nothing on any other port. The policy is named like the shell's other children and owned by it.
 */
import type { KubeObject } from "../../kube/types.ts";
import { childName, type CloudShell, MANAGED_BY, MANAGED_BY_LABEL, OWNER_LABEL, TTYD_PORT } from "../api.ts";
import { ownerReference } from "../children/ownership.ts";

/** Who may reach terminals; empty lists mean the operator makes no NetworkPolicy. */
export interface NetworkPolicySources {
  /** IP blocks (`10.0.0.0/8`, `2001:db8::/32`). */
  readonly cidrs: readonly string[];
  /** Namespace label selectors (matchLabels), e.g. `{ "kubernetes.io/metadata.name": "ingress-nginx" }`. */
  readonly namespaceSelectors: readonly Readonly<Record<string, string>>[];
}

/** Whether the administrator asked for NetworkPolicies. */
export function wantsNetworkPolicy(
  sources: NetworkPolicySources | undefined,
): sources is NetworkPolicySources {
  return sources !== undefined && (sources.cidrs.length > 0 || sources.namespaceSelectors.length > 0);
}

/** The NetworkPolicy `cloudshell-<name>`: ingress to the terminal pod's ttyd port from the named sources. */
export function buildNetworkPolicy(cs: CloudShell, sources: NetworkPolicySources): KubeObject {
  const name = cs.metadata.name!;
  return {
    apiVersion: "networking.k8s.io/v1",
    kind: "NetworkPolicy",
    metadata: {
      name: childName(name),
      namespace: cs.metadata.namespace,
      labels: { [OWNER_LABEL]: name, [MANAGED_BY_LABEL]: MANAGED_BY },
      ownerReferences: [ownerReference(cs)],
    },
    spec: {
      // The pod label the Service selects by, too.
      podSelector: { matchLabels: { [OWNER_LABEL]: name } },
      policyTypes: ["Ingress"],
      ingress: [{
        from: [
          ...sources.cidrs.map((cidr) => ({ ipBlock: { cidr } })),
          ...sources.namespaceSelectors.map((matchLabels) => ({ namespaceSelector: { matchLabels } })),
        ],
        ports: [{ protocol: "TCP", port: TTYD_PORT }],
      }],
    },
  } as KubeObject;
}
