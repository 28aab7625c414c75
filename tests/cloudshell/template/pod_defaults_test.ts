import assert from "node:assert/strict";
import {
  applyPodDefaults,
  buildTemplateVars,
  compileJobTemplate,
  DEFAULT_JOB_TEMPLATE_TEXT,
  type JsonObject,
  postRender,
  render,
} from "../../../controller/cloudshell/template/mod.ts";

const VARS = buildTemplateVars({
  namespace: "team-a",
  cloudShellName: "demo",
  command: "bash",
  once: false,
  urlArg: false,
  ttlSeconds: 0,
  secretName: "demo-kubeconfig",
  image: "ghcr.io/cloudtty/cloudshell:v0.8.9",
});

function defaultJob() {
  const rendered = render(compileJobTemplate(DEFAULT_JOB_TEMPLATE_TEXT), VARS);
  return postRender(rendered, VARS, { kubeconfig: { kind: "Secret", name: "demo-kubeconfig" } });
}

const terminal = (job: ReturnType<typeof defaultJob>) =>
  job.spec.template.spec.containers.find((c) => c.name === "web-tty")!;

Deno.test("applyPodDefaults leaves the Job alone without settings", () => {
  const job = defaultJob();
  const before = structuredClone(job);
  applyPodDefaults(job, {});
  applyPodDefaults(job, { imagePullSecrets: [], nodeSelector: {} });
  assert.deepEqual(job, before);
});

Deno.test("applyPodDefaults adds pull secrets, pull policy, node labels and resources to the terminal pod", () => {
  const job = defaultJob();
  const pod = job.spec.template.spec;
  pod.imagePullSecrets = [{ name: "from-template" }];
  pod.nodeSelector = { "kubernetes.io/os": "linux", pool: "general" };
  const resources: JsonObject = { requests: { cpu: "250m" }, limits: { cpu: "1", memory: "2Gi" } };
  applyPodDefaults(job, {
    imagePullSecrets: ["registry-a", "from-template"],
    imagePullPolicy: "Always",
    nodeSelector: { pool: "terminals" },
    resources,
  });
  assert.deepEqual(pod.imagePullSecrets, [{ name: "from-template" }, { name: "registry-a" }]);
  assert.deepEqual(pod.nodeSelector, { "kubernetes.io/os": "linux", pool: "terminals" });
  assert.equal(terminal(job).imagePullPolicy, "Always");
  assert.deepEqual(terminal(job).resources, resources);
  assert.notEqual(terminal(job).resources, resources, "a copy: shells never share one object");
});
