/**
 * CloudShells as the plugin sees them: the object a `create` makes from its flags, and what a shell's
 * status says (ready, still on its way, or failed and why).
 */
import {
  API_VERSION,
  type CloudShell,
  type CloudShellSpec,
  exposureMode,
  isTerminal,
  KIND,
  ttlSeconds,
} from "../controller/cloudshell/api.ts";
import type { CreateFlags } from "./args.ts";

/** Names of new shells without one: the API server appends a random suffix. */
export const GENERATE_NAME = "shell-";

/** A POSIX shell word: the command runs under `sh -c` in the terminal. */
function quote(word: string): string {
  return /^[A-Za-z0-9_./:=@%+-]+$/.test(word) ? word : `'${word.replaceAll("'", `'\\''`)}'`;
}

/** The terminal's command for the flags: a shell, `kubectl exec` into a pod, or `kubectl logs -f`. */
export function commandFor(f: Pick<CreateFlags, "exec" | "logs" | "container" | "command">): string {
  const container = f.container ? ` -c ${quote(f.container)}` : "";
  if (f.exec) return `kubectl exec -it ${quote(f.exec)}${container} -- sh`;
  if (f.logs) return `kubectl logs -f ${quote(f.logs)}${container}`;
  return f.command ?? "bash";
}

/** The CloudShell a `create` asks for. */
export function newCloudShell(namespace: string, f: CreateFlags): CloudShell {
  const spec: CloudShellSpec = {
    commandAction: commandFor(f),
    exposureMode: f.exposure,
    // Logs are for watching: typing into `kubectl logs -f` does nothing useful.
    ...(f.readOnly || f.logs ? { readOnly: true } : {}),
    ...(f.ttlSeconds !== undefined ? { ttlSecondsAfterStarted: f.ttlSeconds } : {}),
    ...(f.image ? { image: f.image } : {}),
  };
  return {
    apiVersion: API_VERSION,
    kind: KIND,
    metadata: f.name ? { name: f.name, namespace } : { generateName: GENERATE_NAME, namespace },
    spec,
  };
}

/** Where a shell stands, for waiting and printing. */
export type Readiness =
  | { state: "ready"; url: string }
  | { state: "waiting"; reason: string; message: string }
  | { state: "failed"; reason: string; message: string };

/** Reads a shell's status: Ready with its URL, still coming (and what for), or failed (and why). */
export function readiness(cs: CloudShell): Readiness {
  const status = cs.status;
  const ready = status?.conditions?.find((c) => c.type === "Ready");
  const current = ready !== undefined &&
    (ready.observedGeneration === undefined || ready.observedGeneration === cs.metadata.generation);
  if (isTerminal(status?.phase)) {
    return {
      state: "failed",
      reason: ready?.reason || status!.phase!,
      message: ready?.message || `the shell has ended (phase ${status!.phase})`,
    };
  }
  if (status?.phase === "Ready" && status.accessUrl && ready?.status === "True" && current) {
    return { state: "ready", url: status.accessUrl };
  }
  if (!ready || !current) {
    return {
      state: "waiting",
      reason: "NoStatus",
      message: "waiting for the operator to take up the shell",
    };
  }
  // WaitingForPod, WaitingForRoute: on its way. Any other reason is a problem with the shell itself.
  if (ready.reason.startsWith("Waiting")) {
    return { state: "waiting", reason: ready.reason, message: ready.message };
  }
  return { state: "failed", reason: ready.reason, message: ready.message };
}

/** When the shell ends, if it has a TTL and has started. */
export function expiresAt(cs: CloudShell): Date | undefined {
  const ttl = ttlSeconds(cs.spec ?? {});
  const started = cs.status?.lastScheduleTime ? Date.parse(cs.status.lastScheduleTime) : NaN;
  if (ttl === undefined || Number.isNaN(started)) return undefined;
  return new Date(started + ttl * 1000);
}

export { exposureMode };
