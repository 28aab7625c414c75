/**
 * Reading the state of a CloudShell's Job and pod from cached objects: has
 * the Job finished, and is a terminal pod serving.
 */
import type { KubeObject } from "../kube/types.ts";
import type { Phase } from "./api.ts";
import { CREDENTIAL_VOLUME, TERMINAL_CONTAINER } from "./template/mod.ts";
import { Reasons } from "./status.ts";

/** A Job, as far as the operator reads it. */
export interface JobLike extends KubeObject {
  spec?: {
    activeDeadlineSeconds?: number | null;
    /** Only the terminal-credential volume is kept in caches (slimJob). */
    template?: { spec?: { volumes?: { name: string; secret?: { secretName?: string } }[] } };
    /** The API server generates it from the Job's UID (`batch.kubernetes.io/controller-uid`). */
    selector?: { matchLabels?: Record<string, string> };
  };
  status?: {
    conditions?: {
      type: string;
      status: string;
      reason?: string;
      message?: string;
      lastTransitionTime?: string;
    }[];
  };
}

/** How a container ended (core/v1 ContainerStateTerminated, as far as the operator reads it). */
export interface TerminatedState {
  exitCode?: number;
  reason?: string;
  /** The termination message: what the container wrote to its terminationMessagePath. */
  message?: string;
}

/** A Pod, as far as the operator reads it. */
export interface PodLike extends KubeObject {
  status?: {
    phase?: string;
    conditions?: { type: string; status: string }[];
    containerStatuses?: { name: string; state?: { terminated?: TerminatedState } }[];
  };
}

/** How a finished Job ended. */
export interface JobOutcome {
  phase: Extract<Phase, "Complete" | "Failed">;
  reason: string;
  message: string;
}

/**
 * The outcome of a finished Job, or undefined while it runs. With `terminated`, the terminal container's
 * end in the Job's pod, a launcher's report (termination message `<Reason>: <text>`, see
 * launcherReport) names the reason.
 */
export function jobOutcome(job: JobLike, terminated?: TerminatedState): JobOutcome | undefined {
  for (const c of job.status?.conditions ?? []) {
    if (c.status !== "True") continue;
    if (c.type === "Complete") {
      return launcherReport("Complete", terminated) ??
        { phase: "Complete", reason: Reasons.completed, message: "The terminal exited" };
    }
    if (c.type === "Failed") {
      const why = [c.reason, c.message].filter(Boolean).join(": ");
      return launcherReport("Failed", terminated) ?? {
        phase: "Failed",
        reason: Reasons.jobFailed,
        message: `The terminal's Job failed${why ? ` (${why})` : ""}`,
      };
    }
  }
  return undefined;
}

/** The reasons a launcher may report (templates/launcher.sh), by the phase its exit status gives. */
const LAUNCHER_REASONS: Record<JobOutcome["phase"], readonly string[]> = {
  Complete: [Reasons.idleTimeout],
  Failed: [Reasons.commandNotFound],
};

/** The longest termination message text a status carries (the kubelet keeps up to 4096 bytes). */
export const MAX_REPORT_LENGTH = 512;

/**
 * The launcher's account of why the terminal ended, from the container's termination message. The user
 * can write that file too, so it only ever names one of the known reasons that fits the Job's outcome, and
 * its text, cut short, goes to the shell's own condition and Event; nothing is decided from it.
 */
export function launcherReport(
  phase: JobOutcome["phase"],
  terminated: TerminatedState | undefined,
): JobOutcome | undefined {
  const m = /^([A-Za-z]+): ([^]*)$/.exec(terminated?.message?.trim() ?? "");
  if (!m || !LAUNCHER_REASONS[phase].includes(m[1])) return undefined;
  const text = m[2].replace(/\s+/g, " ");
  return {
    phase,
    reason: m[1],
    message: text.length > MAX_REPORT_LENGTH ? `${text.slice(0, MAX_REPORT_LENGTH - 1)}…` : text,
  };
}

/**
 * How the terminal container of the Job's pod ended: `undefined` while no pod of the Job has ended,
 * `null` when none is left to ask (the outcome is then told without the launcher's report).
 */
export function terminalEnd(pods: readonly PodLike[], job: JobLike): TerminatedState | null | undefined {
  const own = pods.filter((pod) => pod.metadata.ownerReferences?.some((r) => r.uid === job.metadata.uid));
  if (own.length === 0) return null;
  for (const pod of own) {
    const state = pod.status?.containerStatuses?.find((c) => c.name === TERMINAL_CONTAINER)?.state;
    if (state?.terminated) return state.terminated;
  }
  return own.every((pod) => pod.metadata.deletionTimestamp) ? null : undefined;
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
