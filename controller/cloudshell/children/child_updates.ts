/**
 * Which updates of a CloudShell's children are worth a reconcile. The Job
 * controller rewrites a Job's status several times while its pod starts
 * (active, ready, start time), and kwok or a kubelet posts many pod updates;
 * none of them changes what the reconciler decides, and at 1,000 shells each
 * skipped update is a thousand reconciles the queue no longer waits behind.
 */
import type { KubeObject } from "../../kube/types.ts";
import type { PodLike } from "../observe.ts";

/**
 * Whether an update changed anything kept in the informer's slim copy
 * (slim.ts keeps only what the reconciler reads), apart from the
 * resourceVersion, which changes with every write.
 */
export function slimCopyChanged<T extends KubeObject>(oldObj: T, newObj: T): boolean {
  const comparable = (obj: T) =>
    JSON.stringify({ ...obj, metadata: { ...obj.metadata, resourceVersion: "" } });
  return comparable(oldObj) !== comparable(newObj);
}

/** Pod updates that matter: phase, readiness, deletion. */
export function podChanged(oldPod: PodLike, newPod: PodLike): boolean {
  const ready = (p: PodLike) => p.status?.conditions?.find((c) => c.type === "Ready")?.status;
  return oldPod.status?.phase !== newPod.status?.phase || ready(oldPod) !== ready(newPod) ||
    oldPod.metadata.deletionTimestamp !== newPod.metadata.deletionTimestamp;
}
