import assert from "node:assert/strict";
import {
  type JobLike,
  jobOutcome,
  launcherReport,
  type PodLike,
  terminalEnd,
} from "../../controller/cloudshell/observe.ts";
import { slimPod } from "../../controller/cloudshell/slim.ts";

function job(condition: "Complete" | "Failed"): JobLike {
  return {
    metadata: { name: "cloudshell-x", namespace: "ns", uid: "job-uid" },
    status: { conditions: [{ type: condition, status: "True", reason: "BackoffLimitExceeded" }] },
  };
}

function pod(message: string | undefined, deleted = false): PodLike {
  return {
    metadata: {
      name: "cloudshell-x-abc",
      namespace: "ns",
      ownerReferences: [{ apiVersion: "batch/v1", kind: "Job", name: "cloudshell-x", uid: "job-uid" }],
      ...(deleted && { deletionTimestamp: "2026-01-01T00:00:00Z" }),
    },
    status: message === undefined ? { phase: "Running" } : {
      phase: "Succeeded",
      containerStatuses: [{ name: "web-tty", state: { terminated: { exitCode: 0, message } } }],
    },
  };
}

Deno.test("jobOutcome(): the launcher's report names the reason, when it fits the Job's outcome", () => {
  const idle = { message: "IdleTimeout: no client was connected for 60s\n" };
  assert.deepEqual(jobOutcome(job("Complete"), idle), {
    phase: "Complete",
    reason: "IdleTimeout",
    message: "no client was connected for 60s",
  });
  const missing = { exitCode: 127, message: 'CommandNotFound: the command "kubeclt" is not in the image' };
  assert.deepEqual(jobOutcome(job("Failed"), missing), {
    phase: "Failed",
    reason: "CommandNotFound",
    message: 'the command "kubeclt" is not in the image',
  });
  // The user can write the file too: a reason of the other outcome, or an unknown one, is not taken.
  assert.equal(jobOutcome(job("Failed"), idle)?.reason, "JobFailed");
  assert.equal(jobOutcome(job("Complete"), { message: "Expired: fake" })?.reason, "Completed");
  assert.equal(jobOutcome(job("Complete"))?.reason, "Completed");
  assert.match(jobOutcome(job("Failed"))?.message ?? "", /BackoffLimitExceeded/);
});

Deno.test("launcherReport(): the text is cut to what a status carries, on one line", () => {
  const long = launcherReport("Complete", { message: `IdleTimeout: ${"x".repeat(2000)}\nmore` });
  assert.equal(long?.message.length, 512);
  assert.equal(launcherReport("Complete", { message: "IdleTimeout:no space" }), undefined);
});

Deno.test("terminalEnd(): the Job's pod's end, undefined while it runs, null without a pod", () => {
  const j = job("Complete");
  assert.equal(terminalEnd([], j), null);
  assert.equal(terminalEnd([pod(undefined)], j), undefined);
  assert.equal(terminalEnd([pod(undefined, true)], j), null);
  assert.deepEqual(terminalEnd([pod("IdleTimeout: x")], j), { exitCode: 0, message: "IdleTimeout: x" });
  const other = { ...pod("IdleTimeout: x"), metadata: { ...pod("").metadata, ownerReferences: [] } };
  assert.equal(terminalEnd([other], j), null);
});

Deno.test("slimPod() keeps the terminal container's end, with its message cut short", () => {
  const slim = slimPod(pod(`IdleTimeout: ${"y".repeat(5000)}`));
  const terminated = slim.status?.containerStatuses?.[0].state?.terminated;
  assert.equal(terminated?.exitCode, 0);
  assert.ok((terminated?.message?.length ?? 0) < 600);
  assert.equal(slimPod(pod(undefined)).status?.containerStatuses, undefined);
});
