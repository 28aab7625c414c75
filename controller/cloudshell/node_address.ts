/**
 * Which address a NodePort URL uses. Upstream looked only at nodes labelled
 * as control plane, so NodePort shells never became Ready on managed clusters
 * (which hide their control plane). Any Ready node will do: an operator flag
 * can name the external host outright, and otherwise a Ready node's
 * ExternalIP is preferred to an InternalIP.
 */
import type { KubeObject } from "../kube/types.ts";

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
 * The address to reach NodePorts on: the first ExternalIP of a Ready node,
 * else the first InternalIP, scanning nodes by name so the choice is stable.
 */
export function nodePortAddress(nodes: readonly NodeLike[]): string | undefined {
  const ready = nodes.filter(isReady).sort((a, b) =>
    (a.metadata.name ?? "").localeCompare(b.metadata.name ?? "")
  );
  for (const type of ["ExternalIP", "InternalIP"]) {
    for (const node of ready) {
      const found = node.status?.addresses?.find((a) => a.type === type && a.address);
      if (found) return found.address;
    }
  }
  return undefined;
}

/** `host:port`, bracketing IPv6 hosts. */
export function hostPort(host: string, port: number): string {
  return host.includes(":") && !host.startsWith("[") ? `[${host}]:${port}` : `${host}:${port}`;
}
