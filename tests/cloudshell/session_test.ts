import assert from "node:assert/strict";
import {
  applySession,
  SESSION_ANNOTATIONS,
  SESSION_MOUNT_PATH,
  SESSION_VOLUME,
  sessionAnnotations,
  sessionAnnotationsPatch,
} from "../../controller/cloudshell/session.ts";
import { type JobObject, TemplateError } from "../../controller/cloudshell/template/mod.ts";

function job(extra: { volumes?: unknown[]; volumeMounts?: unknown[] } = {}): JobObject {
  return {
    apiVersion: "batch/v1",
    kind: "Job",
    metadata: { name: "cloudshell-x" },
    spec: {
      template: {
        metadata: { annotations: { "example.com/kept": "yes" } },
        spec: {
          containers: [{ name: "web-tty", image: "img", volumeMounts: (extra.volumeMounts ?? []) as never }],
          volumes: (extra.volumes ?? []) as never,
        },
      },
    },
  };
}

Deno.test("sessionAnnotations(): every key, empty when it does not apply; the end in Unix seconds", () => {
  assert.deepEqual(
    sessionAnnotations({ endsAtMs: 1_700_000_000_500, ttlSeconds: 600, warnBeforeSeconds: 300 }),
    {
      [SESSION_ANNOTATIONS["ends-at"]]: "1700000001",
      [SESSION_ANNOTATIONS.ttl]: "600",
      [SESSION_ANNOTATIONS["idle-timeout"]]: "",
      [SESSION_ANNOTATIONS["warn-before"]]: "300",
    },
  );
});

Deno.test("sessionAnnotationsPatch(): only a real change writes; the end may differ by two seconds", () => {
  const wanted = sessionAnnotations({ endsAtMs: 1_000_000, ttlSeconds: 60, warnBeforeSeconds: 300 });
  assert.equal(sessionAnnotationsPatch(wanted, wanted), undefined);
  const created = { ...wanted, [SESSION_ANNOTATIONS["ends-at"]]: "998", "other": "x" };
  assert.equal(sessionAnnotationsPatch(created, wanted), undefined);
  const extended = sessionAnnotations({ endsAtMs: 4_600_000, ttlSeconds: 3660, warnBeforeSeconds: 300 });
  assert.deepEqual(sessionAnnotationsPatch(created, extended), extended);
  assert.deepEqual(sessionAnnotationsPatch(undefined, wanted), wanted);
  const idle = sessionAnnotations({
    endsAtMs: 1_000_000,
    ttlSeconds: 60,
    idleTimeoutSeconds: 5,
    warnBeforeSeconds: 300,
  });
  assert.deepEqual(sessionAnnotationsPatch(wanted, idle), idle);
});

Deno.test("applySession(): annotations on the pod template, a downward API volume for the launcher", () => {
  const j = job();
  applySession(j, { endsAtMs: 2_000, ttlSeconds: 1, idleTimeoutSeconds: 30, warnBeforeSeconds: 300 });
  const template = j.spec.template as unknown as {
    metadata: { annotations: Record<string, string> };
    spec: {
      volumes: {
        name: string;
        downwardAPI: { items: { path: string; fieldRef: { fieldPath: string } }[] };
      }[];
      containers: { volumeMounts: unknown[] }[];
    };
  };
  assert.equal(template.metadata.annotations["example.com/kept"], "yes");
  assert.equal(template.metadata.annotations[SESSION_ANNOTATIONS["idle-timeout"]], "30");
  const volume = template.spec.volumes.find((v) => v.name === SESSION_VOLUME)!;
  assert.deepEqual(volume.downwardAPI.items.map((i) => i.path), [
    "ends-at",
    "ttl",
    "idle-timeout",
    "warn-before",
    "name",
    "namespace",
  ]);
  assert.equal(
    volume.downwardAPI.items[0].fieldRef.fieldPath,
    `metadata.annotations['${SESSION_ANNOTATIONS["ends-at"]}']`,
  );
  assert.deepEqual(template.spec.containers[0].volumeMounts, [
    { name: SESSION_VOLUME, mountPath: SESSION_MOUNT_PATH, readOnly: true },
  ]);
});

Deno.test("applySession(): a template that uses the volume's name or path is refused", () => {
  const facts = { warnBeforeSeconds: 300 };
  assert.throws(
    () => applySession(job({ volumes: [{ name: SESSION_VOLUME, emptyDir: {} }] }), facts),
    TemplateError,
  );
  assert.throws(
    () => applySession(job({ volumeMounts: [{ name: "x", mountPath: `${SESSION_MOUNT_PATH}/` }] }), facts),
    TemplateError,
  );
});
