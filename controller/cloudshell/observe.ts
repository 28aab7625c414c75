/**
 * Reading the state of a CloudShell's Job and pod from cached objects: has
 * the Job finished, and is a terminal pod serving.
 */
import type { KubeObject } from "../kube/types.ts";
import type { Phase } from "./api.ts";
import { CREDENTIAL_VOLUME } from "./template/mod.ts";

/** A Job, as far as the operator reads it. */
export interface JobLike extends KubeObject {
  spec?: {
    activeDeadlineSeconds?: number | null;
    /** Only the terminal-credential volume is kept in caches (slimJob). */
    template?: { spec?: { volumes?: { name: string; secret?: { secretName?: string } }[] } };
    /** The API server generates it from the Job's UID (`batch.kubernetes.io/controller-uid`). */
    selector?: { matchLabels?: Record<string, string> };
  };
  status?: { conditions?: { type: string; status: string; reason?: string; message?: string }[] };
}

/** A Pod, as far as the operator reads it. */
export interface PodLike extends KubeObject {
  status?: { phase?: string; conditions?: { type: string; status: string }[] };
}

/** How a finished Job ended. */
export interface JobOutcome {
  phase: Extract<Phase, "Complete" | "Failed">;
  reason: string;
  message: string;
}

/** The outcome of a finished Job, or undefined while it runs. */
export function jobOutcome(job: JobLike): JobOutcome | undefined {
  for (const c of job.status?.conditions ?? []) {
    if (c.status !== "True") continue;
    if (c.type === "Complete") {
      return { phase: "Complete", reason: "Completed", message: "The terminal exited" };
    }
    if (c.type === "Failed") {
      const why = [c.reason, c.message].filter(Boolean).join(": ");
      return {
        phase: "Failed",
        reason: "JobFailed",
        message: `The terminal's Job failed${why ? ` (${why})` : ""}`,
      };
    }
  }
  return undefined;
}

/** Whether one of the Job's pods is Running and Ready (its readiness probe on 7681 passed). */
export function hasReadyPod(pods: readonly PodLike[], job: JobLike): boolean {
  return pods.some((pod) =>
    !pod.metadata.deletionTimestamp &&
    pod.metadata.ownerReferences?.some((r) => r.uid === job.metadata.uid) &&
    pod.status?.phase === "Running" &&
    pod.status.conditions?.some((c) => c.type === "Ready" && c.status === "True")
  );
}

/** The Secret with the terminal's login that the Job's pod mounts (immutable once the Job exists). */
export function credentialSecretOf(job: JobLike): string | undefined {
  return job.spec?.template?.spec?.volumes?.find((v) => v.name === CREDENTIAL_VOLUME)?.secret?.secretName;
}
