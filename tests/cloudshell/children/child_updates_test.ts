/**
 * Which child updates wake the reconciler: the Job controller's status
 * rewrites while a pod starts do not; a finished or deleted Job, a changed
 * deadline and a pod's readiness do. The objects are what the informers hold,
 * so they go through the same slim transforms first.
 */
import assert from "node:assert/strict";
import { podChanged, slimCopyChanged } from "../../../controller/cloudshell/children/child_updates.ts";
import type { JobLike, PodLike } from "../../../controller/cloudshell/observe.ts";
import { slimJob, slimPod, slimService } from "../../../controller/cloudshell/slim.ts";
import type { ServiceLike } from "../../../controller/cloudshell/children/children.ts";

type FullJob = JobLike & { status: Record<string, unknown> };

function job(rv: string, status: Record<string, unknown> = {}): FullJob {
  return {
    apiVersion: "batch/v1",
    kind: "Job",
    metadata: { name: "cloudshell-a", namespace: "ns", uid: "u1", resourceVersion: rv },
    spec: { activeDeadlineSeconds: 660 },
    status,
  };
}

Deno.test("a Job status rewrite while its pod starts is not a change", () => {
  const created = slimJob(job("1"));
  const active = slimJob(job("2", { active: 1, startTime: "2026-01-01T00:00:00Z" }));
  const ready = slimJob(job("3", { active: 1, ready: 1, startTime: "2026-01-01T00:00:00Z" }));
  assert.equal(slimCopyChanged(created, active), false);
  assert.equal(slimCopyChanged(active, ready), false);
});

Deno.test("a finished, deleted or re-deadlined Job is a change", () => {
  const running = slimJob(job("2", { active: 1 }));
  const failed = slimJob(
    job("3", { conditions: [{ type: "Failed", status: "True", reason: "DeadlineExceeded" }] }),
  );
  assert.equal(slimCopyChanged(running, failed), true);

  const deleting = slimJob(job("4", { active: 1 }));
  deleting.metadata.deletionTimestamp = "2026-01-01T00:05:00Z";
  assert.equal(slimCopyChanged(running, deleting), true);

  const extended = slimJob({ ...job("5", { active: 1 }), spec: { activeDeadlineSeconds: 1260 } });
  assert.equal(slimCopyChanged(running, extended), true);
});

Deno.test("a Service whose node port changed is a change; the same Service rewritten is not", () => {
  const svc = (rv: string, nodePort: number): ServiceLike =>
    slimService({
      metadata: { name: "cloudshell-a", namespace: "ns", resourceVersion: rv },
      spec: { type: "NodePort", ports: [{ port: 7681, nodePort }] },
    });
  assert.equal(slimCopyChanged(svc("1", 30001), svc("2", 30001)), false);
  assert.equal(slimCopyChanged(svc("1", 30001), svc("2", 30002)), true);
});

Deno.test("a pod's readiness and phase are changes; other status updates are not", () => {
  const pod = (rv: string, phase: string, ready: string, ip?: string): PodLike =>
    slimPod({
      metadata: { name: "p", namespace: "ns", resourceVersion: rv },
      status: {
        phase,
        conditions: [{ type: "Ready", status: ready }],
        ...(ip ? { podIP: ip } : {}),
      } as PodLike[
        "status"
      ],
    });
  assert.equal(podChanged(pod("1", "Pending", "False"), pod("2", "Running", "False")), true);
  assert.equal(podChanged(pod("2", "Running", "False"), pod("3", "Running", "True")), true);
  assert.equal(podChanged(pod("3", "Running", "True"), pod("4", "Running", "True", "10.0.0.1")), false);
});
