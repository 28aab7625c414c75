import assert from "node:assert/strict";
import {
  buildTemplateVars,
  compileJobTemplate,
  compileTemplate,
  CREDENTIAL_MOUNT_PATH,
  CREDENTIAL_VOLUME,
  DEFAULT_JOB_TEMPLATE_TEXT,
  type JobObject,
  type JsonObject,
  type KubeconfigSource,
  postRender,
  render,
  SERVICE_ACCOUNT_MOUNT_PATH,
  TemplateError,
  type TemplateVars,
} from "../../../controller/cloudshell/template/mod.ts";

const OWNER_LABEL = "cloudshell.cloudtty.io/owner-name";

const VARS: TemplateVars = buildTemplateVars({
  namespace: "team-a",
  cloudShellName: "demo",
  command: "bash",
  once: false,
  urlArg: false,
  ttlSeconds: 0,
  secretName: "demo-kubeconfig",
  image: "ghcr.io/cloudtty/cloudshell:v0.8.9",
});

const SECRET: KubeconfigSource = { kind: "Secret", name: "demo-kubeconfig" };

/** A minimal upstream-style template: no labels, hard-coded image, kubeconfig from a Secret. */
const MINIMAL = `apiVersion: batch/v1
kind: Job
metadata:
  namespace: {{ .Namespace }}
  name: {{ .Name }}
spec:
  template:
    spec:
      restartPolicy: Never
      containers:
      - name: sidecar
        image: busybox
      - name: web-tty
        image: ghcr.io/cloudtty/cloudshell:latest
        env:
        - name: KUBECONFIG
          value: /usr/local/kubeconfig/config
        - name: COMMAND
          value: {{ .Command }}
        volumeMounts:
        - mountPath: /usr/local/kubeconfig/
          name: kubeconfig
      volumes:
      - name: kubeconfig
        secret:
          defaultMode: 420
          secretName: {{ .Secret }}
`;

function rendered(text = MINIMAL, vars = VARS): JsonObject {
  return render(compileJobTemplate(text), vars);
}

function podSpec(job: JobObject): JsonObject {
  return job.spec.template.spec;
}

function webTty(job: JobObject): JsonObject {
  const found = job.spec.template.spec.containers.find((c) => c.name === "web-tty");
  assert.ok(found, "web-tty container");
  return found;
}

function volume(job: JobObject): JsonObject {
  const volumes = podSpec(job).volumes as JsonObject[];
  const found = volumes.filter((v) => v.name === "kubeconfig");
  assert.equal(found.length, 1, "exactly one kubeconfig volume");
  return found[0];
}

Deno.test("owner label goes on the Job and its Pod template, other labels stay", () => {
  const job = postRender(rendered(DEFAULT_JOB_TEMPLATE_TEXT), VARS, { kubeconfig: SECRET });
  assert.deepStrictEqual((job.metadata as JsonObject).labels, {
    "app.kubernetes.io/name": "cloudshell",
    "app.kubernetes.io/instance": "demo",
    "app.kubernetes.io/component": "terminal",
    "app.kubernetes.io/managed-by": "cloudshell-operator",
    [OWNER_LABEL]: "demo",
  });
  assert.deepStrictEqual((job.spec.template.metadata as JsonObject).labels, {
    "app.kubernetes.io/name": "cloudshell",
    "app.kubernetes.io/instance": "demo",
    "app.kubernetes.io/component": "terminal",
    [OWNER_LABEL]: "demo",
  });
});

Deno.test("owner label is added where the template has no labels or no Pod metadata", () => {
  const job = postRender(rendered(), VARS, { kubeconfig: SECRET });
  assert.deepStrictEqual(job.metadata, {
    namespace: "team-a",
    name: "cloudshell-demo",
    labels: { [OWNER_LABEL]: "demo" },
  });
  assert.deepStrictEqual(job.spec.template.metadata, { labels: { [OWNER_LABEL]: "demo" } });
});

Deno.test("the Job's name and namespace are always the operator's", () => {
  const text = MINIMAL.replace("name: {{ .Name }}", "name: elsewhere").replace(
    "namespace: {{ .Namespace }}",
    "namespace: kube-system",
  );
  const job = postRender(rendered(text), VARS, { kubeconfig: SECRET });
  assert.equal((job.metadata as JsonObject).name, "cloudshell-demo");
  assert.equal((job.metadata as JsonObject).namespace, "team-a");
});

Deno.test("spec.image replaces the web-tty image only, and only when given", () => {
  const replaced = postRender(rendered(), VARS, { kubeconfig: SECRET, image: "registry.local/shell:2" });
  assert.equal(webTty(replaced).image, "registry.local/shell:2");
  assert.equal(replaced.spec.template.spec.containers[0].image, "busybox");
  for (const image of [undefined, ""]) {
    const kept = postRender(rendered(), VARS, { kubeconfig: SECRET, image });
    assert.equal(webTty(kept).image, "ghcr.io/cloudtty/cloudshell:latest");
  }
});

Deno.test("a web-tty container left without an image is an error", () => {
  const text = MINIMAL.replace("        image: ghcr.io/cloudtty/cloudshell:latest\n", "");
  assert.throws(() => postRender(rendered(text), VARS, { kubeconfig: SECRET }), TemplateError);
  const job = postRender(rendered(text), VARS, { kubeconfig: SECRET, image: "x:1" });
  assert.equal(webTty(job).image, "x:1");
});

Deno.test("spec.env is appended after the template's env, in order", () => {
  const env = [
    { name: "POD_NAME", value: "nginx-0" },
    { name: "POD_NAMESPACE", valueFrom: { fieldRef: { fieldPath: "metadata.namespace" } } },
    { name: "COMMAND", value: "user override" },
  ];
  const job = postRender(rendered(), VARS, { kubeconfig: SECRET, env });
  assert.deepStrictEqual(webTty(job).env, [
    { name: "KUBECONFIG", value: "/usr/local/kubeconfig/config" },
    { name: "COMMAND", value: "bash" },
    ...env,
  ]);
  assert.equal(job.spec.template.spec.containers[0].env, undefined, "the sidecar gets nothing");
  env[0].value = "changed later";
  assert.equal((webTty(job).env as JsonObject[])[2].value, "nginx-0", "env is copied, not shared");
});

Deno.test("env is created when the template has none", () => {
  const text = MINIMAL.replace(/ {8}env:\n(?: {8}- name: \w+\n {10}value: .*\n)+/, "");
  const job = postRender(rendered(text), VARS, { kubeconfig: SECRET, env: [{ name: "A", value: "1" }] });
  assert.deepStrictEqual(webTty(job).env, [{ name: "A", value: "1" }]);
});

Deno.test("post-render does not change its input", () => {
  const input = rendered();
  const before = structuredClone(input);
  postRender(input, VARS, {
    kubeconfig: { kind: "ServiceAccount", serviceAccountName: "cloudshell-demo" },
    image: "x:1",
    env: [{ name: "A", value: "1" }],
  });
  assert.deepStrictEqual(input, before);
});

Deno.test("Secret kubeconfig: the name is set and the template's secret settings stay", () => {
  const job = postRender(rendered(MINIMAL, { ...VARS, Secret: "" }), VARS, {
    kubeconfig: { kind: "Secret", name: "other-kubeconfig" },
  });
  assert.deepStrictEqual(volume(job), {
    name: "kubeconfig",
    secret: { defaultMode: 420, secretName: "other-kubeconfig", items: [{ key: "config", path: "config" }] },
  });
  assert.equal(podSpec(job).automountServiceAccountToken, false);
  assert.equal(podSpec(job).serviceAccountName, undefined);
});

Deno.test("Secret kubeconfig replaces a ConfigMap source of a pre-v0.4 template", () => {
  const text = MINIMAL.replace(
    "        secret:\n          defaultMode: 420\n          secretName: {{ .Secret }}\n",
    "        configMap:\n          name: legacy\n",
  );
  const job = postRender(rendered(text), VARS, { kubeconfig: SECRET });
  assert.deepStrictEqual(volume(job), {
    name: "kubeconfig",
    secret: { secretName: "demo-kubeconfig", defaultMode: 0o440, items: [{ key: "config", path: "config" }] },
  });
});

Deno.test("a kubeconfig Secret or ConfigMap exposes its config key only, as the template names it", () => {
  // A template item for `config` keeps its file name and mode; items of other keys are dropped.
  const text = MINIMAL.replace(
    "          defaultMode: 420\n",
    "          defaultMode: 420\n          items:\n          - key: token\n            path: token\n" +
      "          - key: config\n            path: kubeconfig.yaml\n            mode: 256\n",
  );
  const job = postRender(rendered(text), VARS, { kubeconfig: SECRET });
  assert.deepStrictEqual(volume(job), {
    name: "kubeconfig",
    secret: {
      defaultMode: 420,
      secretName: "demo-kubeconfig",
      items: [{ key: "config", path: "kubeconfig.yaml", mode: 256 }],
    },
  });
  // Items that are no list, or name no `config` key, give way to the operator's one item.
  const only = MINIMAL.replace(
    "          defaultMode: 420\n",
    "          items:\n          - key: ca.crt\n            path: ca\n",
  );
  assert.deepStrictEqual(volume(postRender(rendered(only), VARS, { kubeconfig: SECRET })).secret, {
    secretName: "demo-kubeconfig",
    items: [{ key: "config", path: "config" }],
  });
  const cm = MINIMAL.replace(
    "        secret:\n          defaultMode: 420\n          secretName: {{ .Secret }}\n",
    "        configMap:\n          name: x\n          items:\n          - key: other\n            path: config\n",
  );
  assert.deepStrictEqual(
    volume(postRender(rendered(cm), VARS, { kubeconfig: { kind: "ConfigMap", name: "kc" } })).configMap,
    { name: "kc", items: [{ key: "config", path: "config" }] },
  );
});

Deno.test("ConfigMap kubeconfig (legacy configmapName) replaces the Secret source", () => {
  const job = postRender(rendered(DEFAULT_JOB_TEMPLATE_TEXT), VARS, {
    kubeconfig: { kind: "ConfigMap", name: "my-kubeconfig" },
  });
  assert.deepStrictEqual(volume(job), {
    name: "kubeconfig",
    configMap: { name: "my-kubeconfig", defaultMode: 0o440, items: [{ key: "config", path: "config" }] },
  });
  assert.deepStrictEqual(webTty(job).volumeMounts, [
    { name: "kubeconfig", mountPath: "/usr/local/kubeconfig/", readOnly: true },
  ]);
});

Deno.test("ServiceAccount kubeconfig: projected short-lived token where in-cluster clients look", () => {
  const vars = { ...VARS, Secret: "" };
  const job = postRender(rendered(DEFAULT_JOB_TEMPLATE_TEXT, vars), vars, {
    kubeconfig: {
      kind: "ServiceAccount",
      serviceAccountName: "cloudshell-demo",
      tokenExpirationSeconds: 1800,
    },
    env: [{ name: "PS1", value: "$ " }],
  });
  assert.deepStrictEqual(volume(job), {
    name: "kubeconfig",
    projected: {
      defaultMode: 0o440,
      sources: [
        { serviceAccountToken: { path: "token", expirationSeconds: 1800 } },
        { configMap: { name: "kube-root-ca.crt", items: [{ key: "ca.crt", path: "ca.crt" }] } },
        {
          downwardAPI: {
            items: [{ path: "namespace", fieldRef: { apiVersion: "v1", fieldPath: "metadata.namespace" } }],
          },
        },
      ],
    },
  });
  assert.equal(podSpec(job).serviceAccountName, "cloudshell-demo");
  assert.equal(podSpec(job).automountServiceAccountToken, false);
  assert.deepStrictEqual(webTty(job).volumeMounts, [
    { name: "kubeconfig", mountPath: "/usr/local/kubeconfig/", readOnly: true },
    { name: "kubeconfig", mountPath: SERVICE_ACCOUNT_MOUNT_PATH, readOnly: true },
  ]);
  assert.deepStrictEqual(webTty(job).env, [
    { name: "COMMAND", value: "bash" },
    { name: "PS1", value: "$ " },
  ]);
});

Deno.test("ServiceAccount kubeconfig with a kubeconfig (identity mode): projected beside the token from an annotation", () => {
  const vars = { ...VARS, Secret: "" };
  const config = '{"apiVersion":"v1","kind":"Config"}';
  const job = postRender(rendered(DEFAULT_JOB_TEMPLATE_TEXT, vars), vars, {
    kubeconfig: { kind: "ServiceAccount", serviceAccountName: "cloudshell-demo", kubeconfig: config },
    env: [{ name: "PS1", value: "$ " }],
  });
  const template = job.spec.template as JsonObject;
  assert.equal(
    ((template.metadata as JsonObject).annotations as JsonObject)["cloudshell.cloudtty.io/kubeconfig"],
    config,
  );
  const sources = (volume(job).projected as JsonObject).sources as JsonObject[];
  assert.deepStrictEqual((sources[2].downwardAPI as JsonObject).items, [
    { path: "namespace", fieldRef: { apiVersion: "v1", fieldPath: "metadata.namespace" } },
    {
      path: "config",
      fieldRef: { apiVersion: "v1", fieldPath: "metadata.annotations['cloudshell.cloudtty.io/kubeconfig']" },
    },
  ]);
  // KUBECONFIG names the file beside the token (the kubeconfig's relative paths resolve there); spec.env last.
  assert.deepStrictEqual(webTty(job).env, [
    { name: "KUBECONFIG", value: `${SERVICE_ACCOUNT_MOUNT_PATH}/config` },
    { name: "COMMAND", value: "bash" },
    { name: "PS1", value: "$ " },
  ]);
});

Deno.test("ServiceAccount kubeconfig: automount true and a deprecated serviceAccount in the template are overridden", () => {
  const text = MINIMAL.replace(
    "      restartPolicy: Never\n",
    "      restartPolicy: Never\n      automountServiceAccountToken: true\n      serviceAccount: admin\n",
  );
  const job = postRender(rendered(text), VARS, {
    kubeconfig: { kind: "ServiceAccount", serviceAccountName: "cloudshell-demo" },
  });
  assert.equal(podSpec(job).automountServiceAccountToken, false);
  assert.equal(podSpec(job).serviceAccountName, "cloudshell-demo");
  assert.equal("serviceAccount" in podSpec(job), false);
  const token = ((volume(job).projected as JsonObject).sources as JsonObject[])[0];
  assert.deepStrictEqual(token, { serviceAccountToken: { path: "token", expirationSeconds: 3600 } });
});

Deno.test("ServiceAccount kubeconfig: another mount at the token path is an error", () => {
  const text = MINIMAL.replace(
    "        - mountPath: /usr/local/kubeconfig/\n",
    "        - mountPath: /var/run/secrets/kubernetes.io/serviceaccount/\n          name: other\n" +
      "        - mountPath: /usr/local/kubeconfig/\n",
  );
  assert.throws(
    () =>
      postRender(rendered(text), VARS, { kubeconfig: { kind: "ServiceAccount", serviceAccountName: "sa" } }),
    (e: unknown) => e instanceof TemplateError && /already mounts "other"/.test(e.message),
  );
});

Deno.test("ServiceAccount kubeconfig: a token lifetime under 10 minutes is refused", () => {
  assert.throws(
    () =>
      postRender(rendered(), VARS, {
        kubeconfig: { kind: "ServiceAccount", serviceAccountName: "sa", tokenExpirationSeconds: 599 },
      }),
    RangeError,
  );
});

Deno.test("a template without a kubeconfig volume gets one, mounted at upstream's path", () => {
  const text = MINIMAL
    .replace(
      "        volumeMounts:\n        - mountPath: /usr/local/kubeconfig/\n          name: kubeconfig\n",
      "",
    )
    .replace(/ {6}volumes:\n[\s\S]*$/, "");
  const job = postRender(rendered(text), VARS, { kubeconfig: SECRET });
  assert.deepStrictEqual(podSpec(job).volumes, [
    {
      name: "kubeconfig",
      secret: {
        secretName: "demo-kubeconfig",
        defaultMode: 0o440,
        items: [{ key: "config", path: "config" }],
      },
    },
  ]);
  assert.deepStrictEqual(webTty(job).volumeMounts, [
    { name: "kubeconfig", mountPath: "/usr/local/kubeconfig/", readOnly: true },
  ]);
  const sa = postRender(rendered(text), VARS, {
    kubeconfig: { kind: "ServiceAccount", serviceAccountName: "sa" },
  });
  assert.deepStrictEqual(webTty(sa).volumeMounts, [
    { name: "kubeconfig", mountPath: SERVICE_ACCOUNT_MOUNT_PATH, readOnly: true },
  ]);
});

Deno.test("post-render refuses something that is not a valid Job", () => {
  const notJob = render(compileTemplate("apiVersion: v1\nkind: Pod\nspec: {}"), VARS);
  assert.throws(() => postRender(notJob, VARS, { kubeconfig: SECRET }), TemplateError);
});

Deno.test("default template end to end: render, then post-render with a Secret", () => {
  const compiled = compileJobTemplate(DEFAULT_JOB_TEMPLATE_TEXT);
  const job = postRender(render(compiled, VARS), VARS, {
    kubeconfig: SECRET,
    image: "ghcr.io/cloudtty/cloudshell:v0.8.9",
    env: [{ name: "POD_NAMESPACE", value: "team-a" }],
  });
  const terminal = webTty(job);
  assert.equal(terminal.image, "ghcr.io/cloudtty/cloudshell:v0.8.9");
  assert.deepStrictEqual(terminal.env, [
    { name: "KUBECONFIG", value: "/usr/local/kubeconfig/config" },
    { name: "COMMAND", value: "bash" },
    { name: "POD_NAMESPACE", value: "team-a" },
  ]);
  assert.deepStrictEqual(terminal.command, [
    "/bin/sh",
    "-c",
    (terminal.command as string[])[2],
    "cloudshell-launcher",
    "--writable",
    "--check-origin",
    "--ping-interval",
    "30",
  ]);
  assert.deepStrictEqual(volume(job), {
    name: "kubeconfig",
    secret: { secretName: "demo-kubeconfig", defaultMode: 0o440, items: [{ key: "config", path: "config" }] },
  });
  assert.equal("activeDeadlineSeconds" in job.spec, false);
  assert.equal(job.spec.backoffLimit, 0);
});

Deno.test("a login Secret is mounted where the launcher reads it, and the template may not take its place", async () => {
  const compiled = compileJobTemplate(DEFAULT_JOB_TEMPLATE_TEXT);
  const job = postRender(render(compiled, VARS), VARS, {
    kubeconfig: SECRET,
    credentialSecret: "demo-login-x1",
  });
  const pod = job.spec.template.spec;
  assert.deepStrictEqual((pod.volumes as JsonObject[]).find((v) => v.name === CREDENTIAL_VOLUME), {
    name: CREDENTIAL_VOLUME,
    secret: {
      secretName: "demo-login-x1",
      defaultMode: 0o440,
      items: [{ key: "username", path: "username" }, { key: "password", path: "password" }],
    },
  });
  assert.deepStrictEqual(
    (webTty(job).volumeMounts as JsonObject[]).find((m) => m.name === CREDENTIAL_VOLUME),
    {
      name: CREDENTIAL_VOLUME,
      mountPath: CREDENTIAL_MOUNT_PATH,
      readOnly: true,
    },
  );
  const launcher = await Deno.readTextFile(new URL("../../../templates/launcher.sh", import.meta.url));
  assert.ok(
    launcher.includes(`credential_dir=${CREDENTIAL_MOUNT_PATH}\n`),
    "the launcher reads the mount path",
  );

  const taken = structuredClone(render(compiled, VARS)) as JsonObject;
  const container = ((taken.spec as JsonObject).template as JsonObject).spec as JsonObject;
  ((container.containers as JsonObject[])[0].volumeMounts as JsonObject[]).push({
    name: "mine",
    mountPath: `${CREDENTIAL_MOUNT_PATH}/`,
  });
  assert.throws(
    () => postRender(taken, VARS, { kubeconfig: SECRET, credentialSecret: "demo-login-x1" }),
    TemplateError,
  );
});
