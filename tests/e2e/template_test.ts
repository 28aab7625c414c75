/**
 * The Job template against a real control plane: edits of the template
 * ConfigMap apply to shells created afterwards without a restart, a broken
 * edit is rejected with an Event while the last good template stays in use, a
 * ConfigMap broken from the start holds shells back until it is fixed, and
 * CloudTTY v0.5's `job-temp.yaml` ConfigMap works unchanged, with hostile
 * commands landing in the Job as one exact string.
 */
import assert from "node:assert/strict";
import { UPSTREAM_V05_TEMPLATE } from "../_fixtures/upstream_job_template.ts";
import { type CloudShell, OWNER_LABEL } from "../../controller/cloudshell/api.ts";
import { DEFAULT_JOB_TEMPLATE_TEXT } from "../../controller/cloudshell/template/mod.ts";
import { type KubeClient, type KubeObject, Resources } from "../../controller/kube/mod.ts";
import { eventually, testCluster } from "../harness/cluster.ts";
import {
  createCloudShell,
  installCrd,
  OperatorProcess,
  readyCondition,
  waitForCloudShell,
} from "./_operator.ts";
import { eventsAbout, kubectl, waitForEvent } from "./_support.ts";

interface Container {
  name: string;
  image?: string;
  command?: string[];
  env?: { name: string; value?: string }[];
}
interface Job extends KubeObject {
  spec: {
    activeDeadlineSeconds?: number;
    ttlSecondsAfterFinished?: number;
    template: {
      metadata?: { labels?: Record<string, string> };
      spec: { containers: Container[]; volumes?: Record<string, unknown>[] };
    };
  };
}

const TEMPLATE_MAP = "cloudshell-job-template";
const REVISION_LABEL = "e2e.cloudshell.io/template-rev";

/** Commands full of YAML and shell syntax: each must reach the Job as exactly this string. */
const HOSTILE_COMMANDS = [
  `kubectl get pods -o jsonpath='{.items[*].metadata.name}' | grep "a: b"; echo $HOME # {{ .Name }}`,
  "line one\nkey: value\n- item\n  nested: {a: 1}\n--- &anchor *alias !!int 42",
  `"; rm -rf / #'\`id\`$(reboot)`,
];

const isReady = (cs: CloudShell) => cs.status?.phase === "Ready";

/** The built-in template with a label naming the revision on the Job. */
function revision(rev: string): string {
  const anchor = "  labels:\n    app.kubernetes.io/name: cloudshell\n";
  assert.ok(DEFAULT_JOB_TEMPLATE_TEXT.includes(anchor));
  return DEFAULT_JOB_TEMPLATE_TEXT.replace(anchor, `${anchor}    ${REVISION_LABEL}: "${rev}"\n`);
}

function getJob(client: KubeClient, ns: string, shell: string): Promise<Job> {
  return client.get<Job>(Resources.jobs, ns, `cloudshell-${shell}`);
}

function terminal(job: Job): Container {
  return job.spec.template.spec.containers.find((c) => c.name === "web-tty")!;
}

function envOf(job: Job): Record<string, string | undefined> {
  return Object.fromEntries((terminal(job).env ?? []).map((e) => [e.name, e.value]));
}

/** Log lines of one message. */
function logEntries(op: OperatorProcess, msg: string): Record<string, unknown>[] {
  return op.logs().flatMap((line) => {
    try {
      const entry = JSON.parse(line) as Record<string, unknown>;
      return entry.msg === msg ? [entry] : [];
    } catch {
      return [];
    }
  });
}

/** Runs `change`, then waits until the operator took a template from `origin` into use. */
async function changeTemplate(op: OperatorProcess, origin: string, change: () => Promise<unknown>) {
  const before = logEntries(op, "Job template in use").length;
  await change();
  await eventually(`the operator to use the template from ${origin}`, () => {
    const entries = logEntries(op, "Job template in use");
    return Promise.resolve(entries.length > before && String(entries.at(-1)?.origin).endsWith(origin));
  });
}

function putTemplate(client: KubeClient, ns: string, data: Record<string, string>) {
  return client.patch(
    Resources.configMaps,
    ns,
    TEMPLATE_MAP,
    {
      apiVersion: "v1",
      kind: "ConfigMap",
      metadata: { name: TEMPLATE_MAP, namespace: ns },
      data,
    },
    "apply",
    { force: true },
  );
}

Deno.test("template edits apply to new shells only; a broken edit is rejected and the last good one stays", async () => {
  await using cluster = await testCluster();
  await installCrd(cluster.client);
  const ns = await cluster.namespace("e2e-template");
  await using op = await OperatorProcess.start(cluster.kubeconfigPath, ns);
  const client = cluster.client;

  // No ConfigMap: the built-in template, with hostile commands kept as one exact string.
  for (const [i, command] of HOSTILE_COMMANDS.entries()) {
    await createCloudShell(client, ns, `builtin-${i}`, {
      commandAction: command,
      ttydClientOptions: { fontSize: "16", "theme.background": "#000 ; rm -rf /" },
    });
  }
  for (const [i, command] of HOSTILE_COMMANDS.entries()) {
    await waitForCloudShell(client, ns, `builtin-${i}`, "Ready", isReady);
    const job = await getJob(client, ns, `builtin-${i}`);
    assert.equal(job.metadata.labels?.[REVISION_LABEL], undefined);
    assert.equal(envOf(job).COMMAND, command);
    assert.deepEqual(terminal(job).command?.slice(3), [
      "cloudshell-launcher",
      "--writable",
      "--check-origin",
      "--ping-interval",
      "30",
      "--client-option",
      "fontSize=16",
      "--client-option",
      "theme.background=#000 ; rm -rf /",
    ]);
  }
  const builtinJob = await getJob(client, ns, "builtin-0");

  // Created under upstream's key: used without a restart, for shells created afterwards.
  await changeTemplate(
    op,
    `${TEMPLATE_MAP} key job-temp.yaml`,
    () => putTemplate(client, ns, { "job-temp.yaml": revision("2") }),
  );
  await createCloudShell(client, ns, "rev-2", { commandAction: HOSTILE_COMMANDS[1] });
  await waitForCloudShell(client, ns, "rev-2", "Ready", isReady);
  const rev2 = await getJob(client, ns, "rev-2");
  assert.equal(rev2.metadata.labels?.[REVISION_LABEL], "2");
  assert.equal(envOf(rev2).COMMAND, HOSTILE_COMMANDS[1]);

  // The configured key wins over upstream's when both are present.
  await changeTemplate(
    op,
    `${TEMPLATE_MAP} key job-template.yaml`,
    () => putTemplate(client, ns, { "job-temp.yaml": revision("2"), "job-template.yaml": revision("3") }),
  );
  await createCloudShell(client, ns, "rev-3", {});
  await waitForCloudShell(client, ns, "rev-3", "Ready", isReady);
  assert.equal((await getJob(client, ns, "rev-3")).metadata.labels?.[REVISION_LABEL], "3");

  // Broken edits: an unknown placeholder, then something that is not a Job.
  const broken = [
    revision("4").replace("name: {{ .Name }}", "name: {{ .Nmae }}"),
    revision("5").replace("kind: Job", "kind: Deployment"),
  ];
  for (const text of broken) {
    const rejectedBefore = logEntries(op, "Rejected Job template").length;
    await putTemplate(client, ns, { "job-template.yaml": text });
    await eventually(
      "the broken template to be rejected",
      () => Promise.resolve(logEntries(op, "Rejected Job template").length > rejectedBefore),
    );
  }
  const warnings = await eventually("two InvalidJobTemplate Events on the ConfigMap", async () => {
    const events = (await eventsAbout(client, ns, TEMPLATE_MAP, "ConfigMap"))
      .filter((e) => e.type === "Warning" && e.reason === "InvalidJobTemplate");
    return events.length === 2 ? events : false;
  });
  const messages = warnings.map((e) => e.message).sort();
  assert.match(messages.join("\n"), /Unknown placeholder \{\{ \.Nmae \}\} at line \d+/);
  assert.match(messages.join("\n"), /kind is "Deployment", not "Job"/);
  for (const m of messages) assert.match(m, /keeping the last good template/);
  await createCloudShell(client, ns, "while-broken", {});
  const whileBroken = await waitForCloudShell(client, ns, "while-broken", "Ready", isReady);
  assert.equal(readyCondition(whileBroken)?.status, "True");
  assert.equal((await getJob(client, ns, "while-broken")).metadata.labels?.[REVISION_LABEL], "3");

  // Fixed: the next edit is used again.
  await changeTemplate(
    op,
    `${TEMPLATE_MAP} key job-template.yaml`,
    () => putTemplate(client, ns, { "job-template.yaml": revision("6") }),
  );
  await createCloudShell(client, ns, "rev-6", {});
  await waitForCloudShell(client, ns, "rev-6", "Ready", isReady);
  assert.equal((await getJob(client, ns, "rev-6")).metadata.labels?.[REVISION_LABEL], "6");

  // Existing shells kept the Job they were created with.
  const still = await getJob(client, ns, "builtin-0");
  assert.equal(still.metadata.uid, builtinJob.metadata.uid);
  assert.equal(still.metadata.labels?.[REVISION_LABEL], undefined);
  assert.equal((await getJob(client, ns, "rev-2")).metadata.uid, rev2.metadata.uid);
});

Deno.test("a template ConfigMap broken from the start holds shells back until it is fixed", async () => {
  await using cluster = await testCluster();
  await installCrd(cluster.client);
  const ns = await cluster.namespace("e2e-template-broken");
  const client = cluster.client;
  await putTemplate(client, ns, { "job-template.yaml": "apiVersion: batch/v1\nkind: Job\nspec: [unclosed" });
  await using op = await OperatorProcess.start(cluster.kubeconfigPath, ns);
  const created = await createCloudShell(client, ns, "held", {});
  const held = await waitForCloudShell(
    client,
    ns,
    "held",
    "Ready=False for the broken template",
    (cs) => readyCondition(cs)?.reason === "InvalidJobTemplate",
  );
  assert.equal(readyCondition(held)?.status, "False");
  assert.match(readyCondition(held)?.message ?? "", new RegExp(TEMPLATE_MAP));
  await waitForEvent(client, ns, "held", "Warning", "InvalidJobTemplate");
  await waitForEvent(client, ns, TEMPLATE_MAP, "Warning", "InvalidJobTemplate", "ConfigMap");
  await assert.rejects(() => getJob(client, ns, "held"), /not found/i, "no Job from the built-in template");

  await putTemplate(client, ns, { "job-template.yaml": revision("fixed") });
  const ready = await waitForCloudShell(client, ns, "held", "Ready once fixed", isReady);
  assert.equal(ready.metadata.uid, created.metadata.uid);
  assert.equal((await getJob(client, ns, "held")).metadata.labels?.[REVISION_LABEL], "fixed");
  assert.ok(logEntries(op, "Rejected Job template").length >= 1);
});

/**
 * CloudTTY v0.5's `config/manager/Job_template.yaml` (its kustomize copy, which kept Helm's escaping of
 * `{{ .Secret }}`), as users have it in their clusters.
 */
const UPSTREAM_CONFIGMAP = `apiVersion: v1
kind: ConfigMap
metadata:
  name: cloudtty-job-template
data:
  job-temp.yaml: |
` +
  UPSTREAM_V05_TEMPLATE.replace(/^(?=.)/gm, "    ");

Deno.test("CloudTTY v0.5's job-temp.yaml ConfigMap works unchanged", async () => {
  await using cluster = await testCluster();
  await installCrd(cluster.client);
  const ns = await cluster.namespace("e2e-template-upstream");
  const client = cluster.client;
  const applied = await kubectl(
    cluster.kubeconfigPath,
    ["apply", "--validate=strict", "-n", ns, "-f", "-"],
    UPSTREAM_CONFIGMAP,
  );
  assert.equal(applied.code, 0, applied.stderr);
  await client.create(Resources.secrets, {
    apiVersion: "v1",
    kind: "Secret",
    metadata: { name: "my-kubeconfig", namespace: ns },
    stringData: { config: "apiVersion: v1\nkind: Config\n" },
  } as KubeObject);
  // As templates/README.md tells CloudTTY users: point the operator at their ConfigMap's name.
  await using op = await OperatorProcess.start(cluster.kubeconfigPath, ns, [
    "--job-template-configmap=cloudtty-job-template",
  ]);

  const command = HOSTILE_COMMANDS[0];
  const cs = await createCloudShell(client, ns, "logs", {
    secretRef: { name: "my-kubeconfig" },
    image: "ghcr.io/cloudtty/customize_cloudshell:latest",
    commandAction: command,
    once: true,
    urlArg: true,
    ttlSecondsAfterStarted: 600,
    env: [{ name: "POD_NAMESPACE", value: "aaa" }, { name: "POD_NAME", value: "bbb" }],
  });
  // No kubeconfig: {{ .Secret }} renders empty and the operator puts a ServiceAccount token in the volume.
  await createCloudShell(client, ns, "local", { commandAction: HOSTILE_COMMANDS[2] });
  // CloudTTY >= 0.8.7's login, with a template that starts ttyd itself.
  await createCloudShell(client, ns, "login", { env: [{ name: "TTYD_CREDENTIAL", value: "qa:s3cret" }] });
  await waitForCloudShell(client, ns, "logs", "Ready", isReady);
  await waitForCloudShell(client, ns, "local", "Ready", isReady);
  assert.ok(
    logEntries(op, "Job template in use").some((e) =>
      e.origin === `ConfigMap ${ns}/cloudtty-job-template key job-temp.yaml`
    ),
  );

  const job = await getJob(client, ns, "logs");
  assert.equal(job.metadata.labels?.[OWNER_LABEL], "logs");
  assert.equal(job.spec.template.metadata?.labels?.[OWNER_LABEL], "logs");
  assert.equal(job.metadata.ownerReferences?.[0]?.uid, cs.metadata.uid);
  assert.equal(job.metadata.ownerReferences?.[0]?.controller, true);
  // Upstream's fixed deadline and cleanup delay are the template's to decide.
  assert.equal(job.spec.ttlSecondsAfterFinished, 60);
  const container = terminal(job);
  assert.equal(container.image, "ghcr.io/cloudtty/customize_cloudshell:latest");
  assert.deepEqual(container.command?.slice(0, 2), ["bash", "-c"]);
  assert.match(container.command?.[2] ?? "", /timeout \$\{TTL\} ttyd \$\{index\} \$\{once\} \$\{urlarg\}/);
  assert.deepEqual(terminal(job).env, [
    { name: "KUBECONFIG", value: "/usr/local/kubeconfig/config" },
    { name: "ONCE", value: "true" },
    { name: "TTL", value: "600" },
    { name: "COMMAND", value: command },
    { name: "URLARG", value: "true" },
    { name: "POD_NAMESPACE", value: "aaa" },
    { name: "POD_NAME", value: "bbb" },
  ]);
  assert.deepEqual(job.spec.template.spec.volumes, [
    // Only the Secret's config key, where CloudTTY's template mounted all of it.
    {
      name: "kubeconfig",
      secret: { defaultMode: 420, secretName: "my-kubeconfig", items: [{ key: "config", path: "config" }] },
    },
  ]);

  const local = await getJob(client, ns, "local");
  assert.equal(envOf(local).COMMAND, HOSTILE_COMMANDS[2]);
  assert.equal(envOf(local).TTL, "0");
  assert.equal(envOf(local).KUBECONFIG, undefined);
  const volume = local.spec.template.spec.volumes?.[0] as { name: string; projected?: unknown };
  assert.equal(volume.name, "kubeconfig");
  assert.ok(volume.projected, "a projected ServiceAccount token in place of the empty Secret name");

  // A login the terminal would not get fails closed (issue 18): no Job, no login Secret, Ready=False.
  const login = await waitForCloudShell(
    client,
    ns,
    "login",
    "Ready=False LoginNotApplied",
    (cs) => readyCondition(cs)?.reason === "LoginNotApplied",
  );
  assert.equal(readyCondition(login)?.status, "False");
  assert.equal(login.status?.credentialSecretName, undefined);
  await waitForEvent(client, ns, "login", "Warning", "LoginNotApplied");
  await assert.rejects(
    () => getJob(client, ns, "login"),
    (err: unknown) => (err as { code?: number }).code === 404,
  );
  const secrets = await client.list<KubeObject>(Resources.secrets, { namespace: ns });
  assert.deepEqual(secrets.items.map((s) => s.metadata.name).filter((n) => n?.includes("login")), []);
});

Deno.test("the upstream template's fixed activeDeadlineSeconds is left as the template says", async () => {
  await using cluster = await testCluster();
  await installCrd(cluster.client);
  const ns = await cluster.namespace("e2e-template-deadline");
  const client = cluster.client;
  const applied = await kubectl(cluster.kubeconfigPath, ["apply", "-n", ns, "-f", "-"], UPSTREAM_CONFIGMAP);
  assert.equal(applied.code, 0, applied.stderr);
  await using _op = await OperatorProcess.start(cluster.kubeconfigPath, ns, [
    "--job-template-configmap=cloudtty-job-template",
  ]);
  await createCloudShell(client, ns, "no-ttl", {});
  await createCloudShell(client, ns, "short-ttl", { ttlSecondsAfterStarted: 600 });
  await waitForCloudShell(client, ns, "no-ttl", "Ready", isReady);
  await waitForCloudShell(client, ns, "short-ttl", "Ready", isReady);
  // Give later reconciles (pod updates, requeues) the chance to touch the Jobs.
  await new Promise((r) => setTimeout(r, 1_500));
  assert.equal((await getJob(client, ns, "no-ttl")).spec.activeDeadlineSeconds, 3600);
  assert.equal((await getJob(client, ns, "short-ttl")).spec.activeDeadlineSeconds, 3600);
});
