/** bench/_shell_objects.ts: a real shell's objects, renamed for the floor, without what ties them to it. */
import assert from "node:assert/strict";
import { type ShellObjects, shellObjectsNamed } from "../../bench/_shell_objects.ts";
import { OWNER_LABEL } from "../../controller/cloudshell/api.ts";
import type { KubeObject } from "../../controller/kube/mod.ts";

const uid = "106b1f44-319a-4745-9f35-b330af95a4f4";
const server = { uid: "x", resourceVersion: "7", creationTimestamp: "2026-12-07T21:25:01Z", generation: 1 };
const owner = [{
  apiVersion: "cloudshell.cloudtty.io/v1alpha1",
  kind: "CloudShell",
  name: "warm-up",
  uid: "y",
}];
const meta = (extra: Record<string, unknown> = {}) => ({
  name: "cloudshell-warm-up",
  namespace: "bench-warm-up",
  labels: { [OWNER_LABEL]: "warm-up", "app.kubernetes.io/name": "cloudshell" },
  ownerReferences: owner,
  ...server,
  ...extra,
});

const captured: ShellObjects = {
  serviceAccount: {
    apiVersion: "v1",
    kind: "ServiceAccount",
    metadata: meta(),
    automountServiceAccountToken: false,
  } as KubeObject,
  roleBinding: {
    apiVersion: "rbac.authorization.k8s.io/v1",
    kind: "RoleBinding",
    metadata: meta(),
    roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: "cloudshell-terminal" },
    subjects: [{ kind: "ServiceAccount", name: "cloudshell-warm-up", namespace: "bench-warm-up" }],
  } as KubeObject,
  job: {
    apiVersion: "batch/v1",
    kind: "Job",
    metadata: meta({ annotations: { "cloudshell.cloudtty.io/deadline-from-ttl": "true" } }),
    spec: {
      selector: { matchLabels: { "batch.kubernetes.io/controller-uid": uid } },
      template: {
        metadata: {
          labels: {
            [OWNER_LABEL]: "warm-up",
            "app.kubernetes.io/name": "cloudshell",
            "controller-uid": uid,
            "batch.kubernetes.io/controller-uid": uid,
            "job-name": "cloudshell-warm-up",
            "batch.kubernetes.io/job-name": "cloudshell-warm-up",
          },
        },
        spec: {
          serviceAccount: "cloudshell-warm-up",
          serviceAccountName: "cloudshell-warm-up",
          containers: [{ name: "web-tty", command: ["/bin/sh", "-c", "launcher"] }],
        },
      },
    },
    status: { active: 1 },
  } as KubeObject,
  service: {
    apiVersion: "v1",
    kind: "Service",
    metadata: meta(),
    spec: {
      type: "NodePort",
      clusterIP: "10.96.0.9",
      clusterIPs: ["10.96.0.9"],
      selector: { "batch.kubernetes.io/controller-uid": uid, [OWNER_LABEL]: "warm-up" },
      ports: [{ name: "ttyd", port: 7681, targetPort: 7681, nodePort: 31000 }],
    },
  } as KubeObject,
};

Deno.test("the floor's objects are the captured ones, renamed, without server fields or the owner label", () => {
  const objects = shellObjectsNamed(captured, "job-7", "floor");
  for (const o of Object.values(objects)) {
    assert.deepEqual(
      Object.keys(o.metadata).sort(),
      o.kind === "Job" ? ["annotations", "labels", "name", "namespace"] : [
        "labels",
        "name",
        "namespace",
      ],
    );
    assert.equal(o.metadata.name, "job-7");
    assert.equal(o.metadata.namespace, "floor");
    assert.deepEqual(o.metadata.labels, { "app.kubernetes.io/name": "cloudshell" });
    assert.equal((o as { status?: unknown }).status, undefined);
  }
  const job = objects.job as KubeObject & { spec: Record<string, unknown> };
  assert.equal(job.spec.selector, undefined);
  assert.deepEqual(job.spec.template, {
    metadata: { labels: { "app.kubernetes.io/name": "cloudshell" } },
    spec: {
      serviceAccountName: "job-7",
      containers: [{ name: "web-tty", command: ["/bin/sh", "-c", "launcher"] }],
    },
  });
  assert.deepEqual((objects.roleBinding as unknown as { subjects: unknown }).subjects, [
    { kind: "ServiceAccount", name: "job-7", namespace: "floor" },
  ]);
  assert.deepEqual((objects.service as unknown as { spec: unknown }).spec, {
    type: "NodePort",
    selector: { "batch.kubernetes.io/job-name": "job-7" },
    ports: [{ name: "ttyd", port: 7681, targetPort: 7681 }],
  });
  // The captured objects are left as they were, for the next shell.
  assert.equal(captured.job.metadata.name, "cloudshell-warm-up");
});
