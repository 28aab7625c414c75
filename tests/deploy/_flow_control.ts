/**
 * API Priority and Fairness as the API server reports it, for the FlowSchema tests: every response names
 * the FlowSchema and priority level that classified its request (X-Kubernetes-PF-* headers, by UID).
 */
import assert from "node:assert/strict";
import type { KubeClient } from "../../controller/kube/mod.ts";

export const FLOW_SCHEMAS = "/apis/flowcontrol.apiserver.k8s.io/v1/flowschemas";
export const PRIORITY_LEVELS = "/apis/flowcontrol.apiserver.k8s.io/v1/prioritylevelconfigurations";

/** The UID of the object at `path` (a FlowSchema or priority level, to compare with the headers). */
export async function uidOf(client: KubeClient, path: string): Promise<string> {
  const res = await client.request({ method: "GET", path });
  const body = await res.json() as { metadata?: { uid?: string } };
  assert.ok(res.ok && body.metadata?.uid, `GET ${path}: ${res.status}`);
  return body.metadata.uid;
}

/** The FlowSchema and priority level UIDs the API server names for one request. */
export async function classify(
  client: KubeClient,
  path: string,
): Promise<{ flowSchema: string; level: string }> {
  const res = await client.request({ method: "GET", path });
  await res.body?.cancel();
  return {
    flowSchema: res.headers.get("X-Kubernetes-PF-FlowSchema-UID") ?? "",
    level: res.headers.get("X-Kubernetes-PF-PriorityLevel-UID") ?? "",
  };
}
