/**
 * Helpers shared by the end-to-end tests beyond starting the operator
 * (`_operator.ts`): Events about an object, the operator's reconcile counters,
 * kubectl, the Istio VirtualService CRD, and the objects a test namespace holds.
 */
import assert from "node:assert/strict";
import { OWNER_LABEL } from "../../controller/cloudshell/api.ts";
import {
  isAlreadyExists,
  isTransient,
  type KubeClient,
  type KubeObject,
  Resources,
} from "../../controller/kube/mod.ts";
import { eventually } from "../harness/cluster.ts";
import { kubectl, type RunResult } from "../harness/commands.ts";
import { createCloudShell, type OperatorProcess } from "./_operator.ts";

/** A core/v1 Event, as far as the tests read it. */
export interface CoreEvent extends KubeObject {
  type: string;
  reason: string;
  message: string;
  count?: number;
  involvedObject: { kind?: string; name?: string; namespace?: string; uid?: string };
}

/** The core/v1 Events about the object `name` in `namespace` (of `kind`, when given). */
export async function eventsAbout(
  client: KubeClient,
  namespace: string,
  name: string,
  kind?: string,
): Promise<CoreEvent[]> {
  const selector = [`involvedObject.name=${name}`, ...(kind ? [`involvedObject.kind=${kind}`] : [])];
  const list = await client.list<CoreEvent>(Resources.events, {
    namespace,
    fieldSelector: selector.join(","),
  });
  return list.items;
}

/** Waits for an Event of `type` and `reason` about a CloudShell, and returns it. */
export function waitForEvent(
  client: KubeClient,
  namespace: string,
  name: string,
  type: "Normal" | "Warning",
  reason: string,
  kind = "CloudShell",
): Promise<CoreEvent> {
  return eventually(`a ${type} Event ${reason} about ${kind} ${name}`, async () => {
    const events = await eventsAbout(client, namespace, name, kind);
    return events.find((e) => e.type === type && e.reason === reason) ?? false;
  });
}

/** The sum of a counter's samples for the cloudshell controller in the operator's /metrics. */
export async function counter(op: OperatorProcess, metric: string): Promise<number> {
  const text = await op.metrics();
  let total = 0;
  for (const line of text.split("\n")) {
    if (!line.startsWith(`${metric}{`) || !line.includes('controller="cloudshell"')) continue;
    total += Number(line.slice(line.lastIndexOf(" ") + 1));
  }
  return total;
}

/** Reconciles the operator has run so far (all results). */
export function reconciles(op: OperatorProcess): Promise<number> {
  return counter(op, "controller_runtime_reconcile_total");
}

/**
 * Asserts that the operator stays idle for `ms`: no reconcile runs (so nothing
 * retries in a loop) and, when given, the objects' resourceVersions do not
 * change (so nothing is rewritten).
 */
export async function assertQuiet(
  op: OperatorProcess,
  ms: number,
  watched?: () => Promise<string[]>,
): Promise<void> {
  const before = await reconciles(op);
  const versionsBefore = await watched?.();
  await sleep(ms);
  assert.equal(await reconciles(op), before, `the operator kept reconciling for ${ms} ms`);
  if (watched) assert.deepEqual(await watched(), versionsBefore, "objects were rewritten while idle");
}

/**
 * Waits until the operator settles: no reconcile for `quietMs` in a row. A
 * delayed requeue scheduled before (say, a new shell's grace period) may still
 * run once; a retry loop never settles and fails after `timeoutMs`.
 */
export async function waitUntilQuiet(
  op: OperatorProcess,
  quietMs: number,
  timeoutMs = 20_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = await reconciles(op);
  while (Date.now() < deadline) {
    await sleep(quietMs);
    const now = await reconciles(op);
    if (now === last) return;
    last = now;
  }
  throw new Error(`The operator kept reconciling for ${timeoutMs} ms`);
}

/**
 * The commands of the first fenced `sh` block after `marker` (an HTML comment) in a Markdown page, one per
 * line, without comments: what a reader of the page types.
 */
export function commandsAfter(markdown: string, marker: string): string[] {
  const after = markdown.split(marker)[1];
  assert.ok(after !== undefined, `the page has the ${marker} marker`);
  const block = /```sh\n([\s\S]*?)```/.exec(after);
  assert.ok(block, `a fenced sh block follows ${marker}`);
  return block[1].split("\n").map((line) => line.replace(/\s+#.*$/, "").trim())
    .filter((line) => line && !line.startsWith("#"));
}

/** The columns of `kubectl get cloudshells`, as deploy/crd.yaml declares them. */
export const CLOUDSHELL_COLUMNS = ["NAME", "READY", "REASON", "COMMAND", "TYPE", "URL", "PHASE", "AGE"];

/**
 * `kubectl get cloudshells` in `namespace`, its header checked against {@linkcode CLOUDSHELL_COLUMNS}: each
 * row's words by the shell's name. Words are split at spaces, so an empty cell (no URL yet) is left out.
 */
export async function cloudShellRows(kubeconfig: string, namespace: string): Promise<Map<string, string[]>> {
  const table = await kubectl(kubeconfig, ["get", "cloudshells", "-n", namespace]);
  assert.equal(table.code, 0, table.stderr);
  const [header, ...rows] = table.stdout.trim().split("\n").map((line) => line.split(/\s+/));
  assert.deepEqual(header, CLOUDSHELL_COLUMNS);
  return new Map(rows.map((row) => [row[0], row]));
}

/** Sleeps. */
export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

export { kubectl, type RunResult as KubectlResult };

export { installVirtualServiceCrd } from "../_fixtures/istio.ts";

/** Names of the objects of `type` in `namespace` that belong to a CloudShell (owner label). */
export async function ownedNames(
  client: KubeClient,
  type: typeof Resources[keyof typeof Resources],
  namespace: string,
): Promise<string[]> {
  const list = await client.list(type, { namespace, labelSelector: OWNER_LABEL });
  return list.items.map((o) => o.metadata.name!).sort();
}

/** The operator's JSON log entries, only those with message `msg` when given. */
export function logEntries(op: OperatorProcess, msg?: string): Record<string, unknown>[] {
  return op.logs().flatMap((line) => {
    try {
      const entry = JSON.parse(line) as Record<string, unknown>;
      return msg === undefined || entry.msg === msg ? [entry] : [];
    } catch {
      return [];
    }
  });
}

/** One sample of Prometheus text: its labels and value. */
export interface Sample {
  labels: Record<string, string>;
  value: number;
}

/** The samples of `metric` in Prometheus text (exact name, so `_bucket`/`_count` series are separate). */
export function samples(text: string, metric: string): Sample[] {
  const out: Sample[] = [];
  for (const line of text.split("\n")) {
    if (line.startsWith("#")) continue;
    const bare = line.startsWith(`${metric} `);
    if (!bare && !line.startsWith(`${metric}{`)) continue;
    const labels: Record<string, string> = {};
    if (!bare) {
      const body = line.slice(metric.length + 1, line.lastIndexOf("}"));
      for (const m of body.matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) labels[m[1]] = m[2];
    }
    out.push({ labels, value: Number(line.slice(line.lastIndexOf(" ") + 1)) });
  }
  return out;
}

/** The sum of the samples of `metric` whose labels include `match`, from the operator's /metrics. */
export async function metricSum(
  op: OperatorProcess,
  metric: string,
  match: Record<string, string> = {},
): Promise<number> {
  return samples(await op.metrics(), metric)
    .filter((s) => Object.entries(match).every(([k, v]) => s.labels[k] === v))
    .reduce((sum, s) => sum + s.value, 0);
}

/** A CloudShell to create: its name and spec. */
export interface ShellToCreate {
  name: string;
  spec: Record<string, unknown>;
}

/**
 * Creates CloudShells with at most `concurrency` requests in flight, as a
 * persistent user would: a create that fails transiently (the API server is
 * down, or answers 5xx) is tried again until it lands, and one whose answer was
 * lost but which did land (AlreadyExists on the retry) counts as created.
 * `onCreated` runs after each, with how many are done.
 */
export async function createCloudShells(
  client: KubeClient,
  namespace: string,
  shells: ShellToCreate[],
  opts: { concurrency?: number; onCreated?: (done: number) => void | Promise<void>; timeoutMs?: number } = {},
): Promise<void> {
  const deadline = Date.now() + (opts.timeoutMs ?? 120_000);
  let next = 0;
  let done = 0;
  const worker = async () => {
    while (next < shells.length) {
      const { name, spec } = shells[next++];
      while (true) {
        try {
          await createCloudShell(client, namespace, name, spec);
          break;
        } catch (err) {
          if (isAlreadyExists(err)) break;
          if (!isTransient(err) || Date.now() > deadline) throw err;
          await sleep(100);
        }
      }
      await opts.onCreated?.(++done);
    }
  };
  await Promise.all(Array.from({ length: Math.min(opts.concurrency ?? 16, shells.length) }, worker));
}

/**
 * Asserts that every shell in `names` has exactly one Job, Service and pod
 * (and ServiceAccount, unless `serviceAccounts` is false), named after it, and
 * that no other owned object exists: nothing duplicated, nothing lost.
 */
export async function assertOneOfEach(
  client: KubeClient,
  namespace: string,
  names: string[],
  opts: { serviceAccounts?: boolean } = {},
): Promise<void> {
  const want = names.map((n) => `cloudshell-${n}`).sort();
  assert.deepEqual(await ownedNames(client, Resources.jobs, namespace), want, "one Job per shell");
  assert.deepEqual(await ownedNames(client, Resources.services, namespace), want, "one Service per shell");
  if (opts.serviceAccounts ?? true) {
    assert.deepEqual(
      await ownedNames(client, Resources.serviceAccounts, namespace),
      want,
      "one ServiceAccount per shell",
    );
  }
  const pods = await client.list(Resources.pods, { namespace, labelSelector: OWNER_LABEL });
  const perShell = new Map<string, number>();
  for (const p of pods.items) {
    const owner = p.metadata.labels?.[OWNER_LABEL] ?? "";
    perShell.set(owner, (perShell.get(owner) ?? 0) + 1);
  }
  const wrong = [...new Set([...names, ...perShell.keys()])]
    .filter((n) => perShell.get(n) !== (names.includes(n) ? 1 : 0))
    .map((n) => `${n}: ${perShell.get(n) ?? 0}`);
  assert.deepEqual(wrong, [], "one pod per shell");
}

/** Roles, which the client's resource table does not list. */
export const Roles = { ...Resources.roleBindings, plural: "roles", kind: "Role" };

/** Who a test binds a Role to: users by name, and optionally groups. */
export interface RoleSubjects {
  users?: string[];
  groups?: string[];
}

/** Creates Role `name` with `rules` in `namespace` and a RoleBinding of the same name to `subjects`. */
export async function grantRole(
  admin: KubeClient,
  namespace: string,
  name: string,
  rules: unknown[],
  subjects: RoleSubjects,
): Promise<void> {
  const metadata = { name, namespace };
  await admin.create(
    Roles,
    { apiVersion: "rbac.authorization.k8s.io/v1", kind: "Role", metadata, rules } as KubeObject,
  );
  await admin.create(Resources.roleBindings, {
    apiVersion: "rbac.authorization.k8s.io/v1",
    kind: "RoleBinding",
    metadata,
    roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name },
    subjects: [
      ...(subjects.users ?? []).map((u) => ({
        apiGroup: "rbac.authorization.k8s.io",
        kind: "User",
        name: u,
      })),
      ...(subjects.groups ?? []).map((g) => ({
        apiGroup: "rbac.authorization.k8s.io",
        kind: "Group",
        name: g,
      })),
    ],
  } as KubeObject);
}
