/**
 * Product gauges of the CloudShells in the informer cache, computed at scrape time (no bookkeeping on the
 * hot path; one pass over the cache per scrape):
 *
 * - `cloudshell_shells{phase}`: shells by `status.phase`; `None` for a shell without one yet (not
 *   reconciled yet).
 * - `cloudshell_shells_ready{status,reason}`: shells by their Ready condition's status and reason
 *   (`Unknown`/`None` without one).
 * - `cloudshell_shell_not_ready_longest_seconds`: how long the longest-waiting shell that has not ended
 *   has not been Ready (since its Ready condition last changed, or since creation), 0 when none waits.
 *   The alert on stuck shells reads it.
 *
 * Label values come from a fixed set (phases) or from condition reasons, which only the operator writes
 * (tenants cannot write `status`); still, a reason that is not a plain identifier, and the reasons beyond
 * the first {@linkcode MAX_REASONS} (in alphabetical order), are counted as `Other`, so no object can
 * make the series unbounded. There is no namespace or name label: the number of tenants is not bounded
 * (per-namespace counts belong to kube-state-metrics' custom resource state, which reads the CRs itself).
 * Every replica reports the same numbers from its own cache: aggregate with `max`, not `sum`.
 */
import type { Gauge } from "../runtime/prometheus.ts";
import type { Lister } from "../cache/store.ts";
import type { Metrics } from "../runtime/metrics.ts";
import { type CloudShell, isTerminal, type Phase } from "./api.ts";
import { READY } from "./status.ts";

/** Phases exported as `phase` values; each is exported (0 when no shell has it) so queries see them. */
export const PHASE_LABELS = [
  "None",
  "Pending",
  "CreatedJob",
  "CreatedRouteRule",
  "Ready",
  "Complete",
  "Failed",
] as const;
/** Distinct Ready reasons exported per status; the rest count as `Other`. */
export const MAX_REASONS = 40;
const REASON = /^[A-Za-z][A-Za-z0-9]{0,63}$/;

/** The `phase` label of a shell. */
export function phaseLabel(phase: Phase | string | undefined): string {
  if (!phase) return "None";
  return (PHASE_LABELS as readonly string[]).includes(phase) ? phase : "Other";
}

/** What one scrape counts. */
export interface ShellCounts {
  byPhase: Map<string, number>;
  /** Key `status/reason`. */
  byReady: Map<string, number>;
  longestNotReadySeconds: number;
}

/**
 * Counts shells by phase and by Ready status and reason, and finds the longest wait for Ready.
 *
 * @param shells the cached CloudShells
 * @param nowMs the current time, in milliseconds since the epoch
 */
export function countShells(shells: Iterable<CloudShell>, nowMs: number): ShellCounts {
  const byPhase = new Map<string, number>(PHASE_LABELS.map((p) => [p, 0]));
  const raw = new Map<string, Map<string, number>>();
  let longest = 0;
  for (const cs of shells) {
    const phase = phaseLabel(cs.status?.phase);
    byPhase.set(phase, (byPhase.get(phase) ?? 0) + 1);
    const ready = cs.status?.conditions?.find((c) => c.type === READY);
    const status = ready?.status === "True" || ready?.status === "False" ? ready.status : "Unknown";
    const reason = ready === undefined ? "None" : REASON.test(ready.reason) ? ready.reason : "Other";
    const reasons = raw.get(status) ?? new Map<string, number>();
    raw.set(status, reasons);
    reasons.set(reason, (reasons.get(reason) ?? 0) + 1);
    if (status !== "True" && !isTerminal(cs.status?.phase) && !cs.metadata.deletionTimestamp) {
      const since = Date.parse(ready?.lastTransitionTime ?? cs.metadata.creationTimestamp ?? "");
      if (Number.isFinite(since)) longest = Math.max(longest, (nowMs - since) / 1000);
    }
  }
  const byReady = new Map<string, number>();
  for (const [status, reasons] of raw) {
    const names = [...reasons.keys()].filter((r) => r !== "Other").sort();
    if (reasons.has("Other")) names.push("Other");
    for (const [i, reason] of names.entries()) {
      const label = i < MAX_REASONS ? reason : "Other";
      const key = `${status}/${label}`;
      byReady.set(key, (byReady.get(key) ?? 0) + reasons.get(reason)!);
    }
  }
  return { byPhase, byReady, longestNotReadySeconds: longest };
}

/**
 * Registers the shell gauges on `metrics`, reading `shells` at every scrape.
 *
 * @param metrics the operator's registry
 * @param shells the CloudShell informer's lister
 * @param now the clock, in milliseconds since the epoch
 */
export function registerShellMetrics(
  metrics: Metrics,
  shells: Lister<CloudShell>,
  now: () => number = Date.now,
): void {
  // One count serves the three gauges of a scrape: the first collector computes it, the others reuse it.
  let counted: { at: number; counts: ShellCounts } | undefined;
  const counts = () => {
    const at = now();
    if (counted === undefined || at - counted.at > 500) {
      counted = { at, counts: countShells(shells.list(), at) };
    }
    return counted.counts;
  };
  const byPhase: Gauge<"phase"> = metrics.gauge({
    name: "cloudshell_shells",
    help: "CloudShells in the operator's cache, by status.phase (None: no phase yet)",
    labelNames: ["phase"] as const,
    collect: () => {
      byPhase.reset();
      for (const [phase, n] of counts().byPhase) byPhase.set({ phase }, n);
    },
  });
  const byReady: Gauge<"status" | "reason"> = metrics.gauge({
    name: "cloudshell_shells_ready",
    help: "CloudShells in the operator's cache, by the status and reason of their Ready condition",
    labelNames: ["status", "reason"] as const,
    collect: () => {
      byReady.reset();
      // Both statuses are always exported, so ratios and alerts have a series to read.
      byReady.set({ status: "True", reason: "TerminalReady" }, 0);
      byReady.set({ status: "False", reason: "WaitingForPod" }, 0);
      for (const [key, n] of counts().byReady) {
        const [status, reason] = key.split("/");
        byReady.set({ status, reason }, n);
      }
    },
  });
  const longest: Gauge = metrics.gauge({
    name: "cloudshell_shell_not_ready_longest_seconds",
    help: "Seconds the longest-waiting CloudShell that has not ended has gone without being Ready",
    collect: () => longest.set(counts().longestNotReadySeconds),
  });
}
