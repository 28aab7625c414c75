/**
 * Fault: the Job template ConfigMap broken while CloudShells are being
 * created. It starts broken (shells wait with a clear condition and no Job),
 * is fixed, and then, with 70 shells in flight, broken and fixed again, the
 * same broken text coming back after a good version in between. Every shell
 * must end Ready with a Job from a good version (never the built-in default,
 * never a broken one), shells created after the last fix from that fix, and
 * each bad version must get exactly one InvalidJobTemplate Warning.
 */
import assert from "node:assert/strict";
import { type CloudShell, CloudShells } from "../../controller/cloudshell/api.ts";
import { DEFAULT_JOB_TEMPLATE_TEXT } from "../../controller/cloudshell/template/mod.ts";
import { type KubeClient, type KubeObject, Resources } from "../../controller/kube/mod.ts";
import { eventually, testCluster } from "../harness/cluster.ts";
import { installCrd, OperatorProcess, readyCondition } from "./_operator.ts";
import {
  assertOneOfEach,
  type CoreEvent,
  createCloudShells,
  logEntries,
  type ShellToCreate,
  waitUntilQuiet,
} from "./_support.ts";

const TEMPLATE_MAP = "cloudshell-job-template";
const REVISION_LABEL = "e2e.cloudshell.io/template-rev";

/** The built-in template with a label naming the revision on the Job. */
function revision(rev: string): string {
  const anchor = "  labels:\n    app.kubernetes.io/name: cloudshell\n";
  assert.ok(DEFAULT_JOB_TEMPLATE_TEXT.includes(anchor));
  return DEFAULT_JOB_TEMPLATE_TEXT.replace(anchor, `${anchor}    ${REVISION_LABEL}: "${rev}"\n`);
}

const BROKEN_YAML = "apiVersion: batch/v1\nkind: Job\nspec: [unclosed";
const BROKEN_PLACEHOLDER = revision("x").replace("name: {{ .Name }}", "name: {{ .Nmae }}");

function putTemplate(client: KubeClient, ns: string, text: string) {
  return client.patch(
    Resources.configMaps,
    ns,
    TEMPLATE_MAP,
    {
      apiVersion: "v1",
      kind: "ConfigMap",
      metadata: { name: TEMPLATE_MAP, namespace: ns },
      data: { "job-template.yaml": text },
    },
    "apply",
    { force: true },
  );
}

/** Puts a template and waits until the operator has evaluated it (`msg` is the log line it must write). */
async function change(
  op: OperatorProcess,
  client: KubeClient,
  ns: string,
  text: string,
  msg: "Job template in use" | "Rejected Job template",
) {
  const before = logEntries(op, msg).length;
  await putTemplate(client, ns, text);
  await eventually(`"${msg}" after the edit`, () => Promise.resolve(logEntries(op, msg).length > before));
}

function batch(prefix: string, n: number): ShellToCreate[] {
  return Array.from({ length: n }, (_, i) => ({ name: `${prefix}-${i}`, spec: {} }));
}

Deno.test("template ConfigMap broken and fixed under load: shells converge on good templates, one Warning per bad version", async () => {
  await using cluster = await testCluster();
  await installCrd(cluster.client);
  const ns = await cluster.namespace("e2e-template-fault");
  const client = cluster.client;
  await putTemplate(client, ns, BROKEN_YAML);
  await using op = await OperatorProcess.start(cluster.kubeconfigPath, ns);
  const list = async () => (await client.list<CloudShell>(CloudShells, { namespace: ns })).items;
  const jobCount = async () => (await client.list(Resources.jobs, { namespace: ns })).items.length;

  // Broken from the start: no good template to fall back on, so shells wait with a clear condition.
  const waiting = batch("a", 40);
  await createCloudShells(client, ns, waiting);
  await eventually("the first shells to wait for a good template", async () => {
    const shells = await list();
    return shells.length === waiting.length &&
      shells.every((cs) => readyCondition(cs)?.reason === "InvalidJobTemplate");
  });
  assert.equal(await jobCount(), 0, "no Job from the built-in or a broken template");

  // Fixed; then, with shells in flight, broken, fixed, broken again with the same text, and fixed.
  await change(op, client, ns, revision("1"), "Job template in use");
  const inFlight = batch("b", 30);
  await createCloudShells(client, ns, inFlight);
  await change(op, client, ns, BROKEN_PLACEHOLDER, "Rejected Job template");
  const jobsWhenBroken = await jobCount();
  await change(op, client, ns, revision("2"), "Job template in use");
  await change(op, client, ns, BROKEN_PLACEHOLDER, "Rejected Job template");
  await change(op, client, ns, revision("3"), "Job template in use");
  assert.ok(jobsWhenBroken < 70, `broken while shells were in flight (${jobsWhenBroken} Jobs of 70)`);
  const late = batch("c", 30);
  await createCloudShells(client, ns, late);

  const all = [...waiting, ...inFlight, ...late].map((s) => s.name);
  await eventually("every shell to be Ready", async () => {
    const shells = await list();
    return shells.length === all.length && shells.every((cs) => cs.status?.phase === "Ready");
  }, 90_000);
  await assertOneOfEach(client, ns, all);

  // Jobs come from good versions only; those of shells created after the last fix from that fix.
  const jobs = await client.list(Resources.jobs, { namespace: ns });
  const revisionOf = new Map(
    jobs.items.map((j: KubeObject) => [j.metadata.name!, j.metadata.labels?.[REVISION_LABEL]]),
  );
  for (const name of all) {
    const rev = revisionOf.get(`cloudshell-${name}`);
    if (name.startsWith("c-")) assert.equal(rev, "3", `${name}: from the last good template`);
    else assert.ok(["1", "2", "3"].includes(rev ?? ""), `${name}: from a good template, got ${rev}`);
  }

  // One Warning per bad version (three versions, two of them with the same text), none about the shells
  // created while a good template was there to fall back on.
  await waitUntilQuiet(op, 2_000);
  const warnings = (await client.list<CoreEvent>(Resources.events, {
    namespace: ns,
    fieldSelector:
      `involvedObject.kind=ConfigMap,involvedObject.name=${TEMPLATE_MAP},reason=InvalidJobTemplate`,
  })).items;
  assert.equal(warnings.length, 3, warnings.map((e) => e.message).join("\n"));
  assert.equal(warnings.filter((e) => /no good template to fall back on/.test(e.message)).length, 1);
  assert.equal(
    warnings.filter((e) => /Unknown placeholder.*keeping the last good/.test(e.message)).length,
    2,
  );
  assert.deepEqual(warnings.map((e) => e.type), ["Warning", "Warning", "Warning"]);
  const shellWarnings = (await client.list<CoreEvent>(Resources.events, {
    namespace: ns,
    fieldSelector: "involvedObject.kind=CloudShell,reason=InvalidJobTemplate",
  })).items.map((e) => e.involvedObject.name!);
  assert.deepEqual(
    [...new Set(shellWarnings)].sort(),
    waiting.map((s) => s.name).sort(),
    "only the shells created while nothing good was there were warned",
  );
  assert.equal(shellWarnings.length, waiting.length, "once each");
});
