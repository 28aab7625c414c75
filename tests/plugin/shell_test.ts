/**
 * What the plugin makes of flags and status: the terminal's command (quoted for `sh -c`), the CloudShell
 * it creates, and a shell's readiness read from its Ready condition.
 */
import assert from "node:assert/strict";
import type { CloudShell } from "../../controller/cloudshell/api.ts";
import type { CreateFlags } from "../../plugin/args.ts";
import { commandFor, expiresAt, newCloudShell, readiness } from "../../plugin/shell.ts";

const flags: CreateFlags = {
  readOnly: false,
  exposure: "ClusterIP",
  noOpen: false,
  noBrowser: false,
  forward: false,
  port: 0,
  timeoutMs: 1000,
};

Deno.test("the terminal's command: bash, kubectl exec, kubectl logs -f", () => {
  assert.equal(commandFor({}), "bash");
  assert.equal(commandFor({ command: "k9s" }), "k9s");
  assert.equal(commandFor({ exec: "app-0" }), "kubectl exec -it app-0 -- sh");
  assert.equal(commandFor({ exec: "app-0", container: "main" }), "kubectl exec -it app-0 -c main -- sh");
  assert.equal(commandFor({ logs: "app-0", container: "x" }), "kubectl logs -f app-0 -c x");
  assert.equal(commandFor({ logs: "it's" }), `kubectl logs -f 'it'\\''s'`);
});

Deno.test("the CloudShell of create: generated name, ClusterIP, TTL, image; logs shells are read-only", () => {
  assert.deepEqual(newCloudShell("dev", { ...flags, ttlSeconds: 600, image: "img" }), {
    apiVersion: "cloudshell.cloudtty.io/v1alpha1",
    kind: "CloudShell",
    metadata: { generateName: "shell-", namespace: "dev" },
    spec: { commandAction: "bash", exposureMode: "ClusterIP", ttlSecondsAfterStarted: 600, image: "img" },
  });
  const logs = newCloudShell("dev", { ...flags, name: "tail", logs: "app" });
  assert.deepEqual(logs.metadata, { name: "tail", namespace: "dev" });
  assert.equal(logs.spec?.readOnly, true);
  assert.equal(newCloudShell("dev", { ...flags, readOnly: true }).spec?.readOnly, true);
  assert.equal(newCloudShell("dev", flags).spec?.readOnly, undefined);
});

const shell = (status: CloudShell["status"], generation = 1, spec = {}): CloudShell => ({
  apiVersion: "cloudshell.cloudtty.io/v1alpha1",
  kind: "CloudShell",
  metadata: { name: "s", namespace: "dev", generation },
  spec,
  status,
});
const cond = (status: "True" | "False", reason: string, message = "m", observedGeneration = 1) => ({
  type: "Ready",
  status,
  reason,
  message,
  lastTransitionTime: "2026-01-01T00:00:00Z",
  observedGeneration,
});

Deno.test("readiness: no status yet, waiting, Ready, a problem, an ended shell, a stale condition", () => {
  assert.equal(readiness(shell(undefined)).state, "waiting");
  assert.deepEqual(
    readiness(shell({ phase: "CreatedJob", conditions: [cond("False", "WaitingForPod", "pod")] })),
    {
      state: "waiting",
      reason: "WaitingForPod",
      message: "pod",
    },
  );
  assert.deepEqual(
    readiness(
      shell({ phase: "Ready", accessUrl: "10.0.0.1:7681", conditions: [cond("True", "TerminalReady")] }),
    ),
    { state: "ready", url: "10.0.0.1:7681" },
  );
  assert.deepEqual(readiness(shell({ conditions: [cond("False", "InvalidCommand", "bad")] })), {
    state: "failed",
    reason: "InvalidCommand",
    message: "bad",
  });
  assert.equal(
    readiness(shell({ phase: "Failed", conditions: [cond("False", "JobFailed")] })).state,
    "failed",
  );
  assert.equal(readiness(shell({ phase: "Complete" })).state, "failed");
  // Ready for generation 1, but the spec is at 2 now: not yet known.
  const stale = shell({ phase: "Ready", accessUrl: "u", conditions: [cond("True", "TerminalReady")] }, 2);
  assert.equal(readiness(stale).state, "waiting");
});

Deno.test("expiresAt: lastScheduleTime plus the TTL", () => {
  assert.equal(
    expiresAt(shell({ lastScheduleTime: "2026-01-01T00:00:00Z" }, 1, { ttlSecondsAfterStarted: 90 }))
      ?.toISOString(),
    "2026-01-01T00:01:30.000Z",
  );
  assert.equal(expiresAt(shell({ lastScheduleTime: "2026-01-01T00:00:00Z" })), undefined);
  assert.equal(expiresAt(shell(undefined, 1, { ttl: 5 })), undefined);
});
