/**
 * Which address a NodePort URL uses. Upstream looked only at nodes labelled
 * as control plane, so NodePort shells never became Ready on managed clusters
 * (which hide their control plane). Any Ready node will do: an operator flag
 * can name the external host outright, and otherwise a Ready node's
 * ExternalIP is preferred to an InternalIP.
 */
import type { KubeObject } from "../../kube/types.ts";

/** The parts of a Node this module reads. */
export interface NodeLike extends KubeObject {
  spec?: { unschedulable?: boolean };
  status?: {
    addresses?: { type: string; address: string }[];
    conditions?: { type: string; status: string }[];
  };
}

function isReady(node: NodeLike): boolean {
  return node.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True") ?? false;
}

/**
 * The address to reach NodePorts on: the ExternalIP of the first Ready node
 * by name that has one, else the InternalIP of the first that has one, so the
 * choice is stable. One pass, no sort: it runs on every NodePort reconcile,
 * and clusters have thousands of nodes.
 */
export function nodePortAddress(nodes: readonly NodeLike[]): string | undefined {
  const first: Partial<Record<"ExternalIP" | "InternalIP", { name: string; address: string }>> = {};
  for (const node of nodes) {
    if (!isReady(node)) continue;
    const name = node.metadata.name ?? "";
    for (const type of ["ExternalIP", "InternalIP"] as const) {
      const address = node.status?.addresses?.find((a) => a.type === type && a.address)?.address;
      const current = first[type];
      if (address && (!current || name < current.name)) first[type] = { name, address };
    }
  }
  return first.ExternalIP?.address ?? first.InternalIP?.address;
}

/** `host:port`, bracketing IPv6 hosts. */
export function hostPort(host: string, port: number): string {
  return host.includes(":") && !host.startsWith("[") ? `[${host}]:${port}` : `${host}:${port}`;
}
