import assert from "node:assert/strict";
import type { CloudShell, Phase } from "../../controller/cloudshell/api.ts";
import {
  countShells,
  MAX_REASONS,
  PHASE_LABELS,
  registerShellMetrics,
} from "../../controller/cloudshell/shell_metrics.ts";
import { Store } from "../../controller/cache/store.ts";
import { Metrics } from "../../controller/runtime/metrics.ts";

const NOW = Date.parse("2026-12-07T12:00:00Z");

function shell(
  name: string,
  phase: Phase | undefined,
  ready?: { status: "True" | "False" | "Unknown"; reason: string; since: string },
  created = "2026-12-07T11:00:00Z",
): CloudShell {
  return {
    apiVersion: "cloudshell.cloudtty.io/v1alpha1",
    kind: "CloudShell",
    metadata: { name, namespace: "team-a", uid: name, creationTimestamp: created },
    spec: {},
    status: phase === undefined && ready === undefined ? undefined : {
      phase,
      conditions: ready && [{
        type: "Ready",
        status: ready.status,
        reason: ready.reason,
        message: "",
        lastTransitionTime: ready.since,
      }],
    },
  };
}

Deno.test("countShells counts by phase and by Ready status and reason, and finds the longest wait", () => {
  const counts = countShells([
    shell("new", undefined, undefined, "2026-12-07T11:59:00Z"),
    shell("ready", "Ready", { status: "True", reason: "TerminalReady", since: "2026-12-07T10:00:00Z" }),
    shell("waiting", "CreatedJob", {
      status: "False",
      reason: "WaitingForPod",
      since: "2026-12-07T11:55:00Z",
    }),
    shell("bad", "Pending", { status: "False", reason: "InvalidCommand", since: "2026-12-07T11:50:00Z" }),
    // Ended shells do not wait: not counted in the longest wait.
    shell("done", "Complete", { status: "False", reason: "Expired", since: "2026-12-07T00:00:00Z" }),
  ], NOW);
  assert.deepEqual(Object.fromEntries(counts.byPhase), {
    None: 1,
    Pending: 1,
    CreatedJob: 1,
    CreatedRouteRule: 0,
    Ready: 1,
    Complete: 1,
    Failed: 0,
  });
  assert.deepEqual(Object.fromEntries(counts.byReady), {
    "Unknown/None": 1,
    "True/TerminalReady": 1,
    "False/WaitingForPod": 1,
    "False/InvalidCommand": 1,
    "False/Expired": 1,
  });
  assert.equal(counts.longestNotReadySeconds, 600, "InvalidCommand since 11:50");
});

Deno.test("countShells keeps the reason label set bounded", () => {
  const shells = [
    shell("odd", "CreatedJob", {
      status: "False",
      reason: "not an identifier!",
      since: "2026-12-07T11:59:00Z",
    }),
    ...Array.from({ length: MAX_REASONS + 10 }, (_, i) =>
      shell(`s${i}`, "CreatedJob", {
        status: "False",
        reason: `Reason${String(i).padStart(3, "0")}`,
        since: "2026-12-07T11:59:00Z",
      })),
  ];
  const counts = countShells(shells, NOW);
  assert.equal(counts.byReady.size, MAX_REASONS + 1);
  assert.equal(counts.byReady.get("False/Other"), 11, "ten beyond the cap plus the odd one");
  assert.equal(counts.byReady.get("False/Reason000"), 1);
});

Deno.test("registerShellMetrics exports every phase and reads the cache at each scrape", async () => {
  const store = new Store<CloudShell>();
  const metrics = new Metrics();
  let now = NOW;
  registerShellMetrics(metrics, store, () => now);
  let text = await metrics.text();
  for (const phase of PHASE_LABELS) {
    assert.match(text, new RegExp(`^cloudshell_shells\\{phase="${phase}"\\} 0$`, "m"));
  }
  assert.match(text, /^cloudshell_shells_ready\{status="True",reason="TerminalReady"\} 0$/m);
  assert.match(text, /^cloudshell_shell_not_ready_longest_seconds 0$/m);

  store.upsert(
    shell("w", "CreatedJob", { status: "False", reason: "WaitingForPod", since: "2026-12-07T11:58:00Z" }),
  );
  now += 1000;
  text = await metrics.text();
  assert.match(text, /^cloudshell_shells\{phase="CreatedJob"\} 1$/m);
  assert.match(text, /^cloudshell_shells_ready\{status="False",reason="WaitingForPod"\} 1$/m);
  assert.match(text, /^cloudshell_shell_not_ready_longest_seconds 121$/m);
});
