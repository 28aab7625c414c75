/**
 * Helpers shared by the end-to-end tests beyond starting the operator
 * (`_operator.ts`): Events about an object, the operator's reconcile counters,
 * kubectl, the Istio VirtualService CRD, and the objects a test namespace holds.
 */
import assert from "node:assert/strict";
import { OWNER_LABEL } from "../../controller/cloudshell/api.ts";
import { VirtualServices } from "../../controller/cloudshell/routes.ts";
import { type KubeClient, type KubeObject, Resources } from "../../controller/kube/mod.ts";
import { controlPlaneBinaries } from "../harness/control_plane.ts";
import { eventually } from "../harness/cluster.ts";
import type { OperatorProcess } from "./_operator.ts";

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

/** Sleeps. */
export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** The result of a kubectl run. */
export interface KubectlResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the test control plane's kubectl against `kubeconfig`, with `stdin` as input. */
export async function kubectl(kubeconfig: string, args: string[], stdin?: string): Promise<KubectlResult> {
  const bin = `${await controlPlaneBinaries()}/kubectl`;
  const child = new Deno.Command(bin, {
    args: [`--kubeconfig=${kubeconfig}`, ...args],
    stdin: stdin === undefined ? "null" : "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  if (stdin !== undefined) {
    const writer = child.stdin.getWriter();
    await writer.write(new TextEncoder().encode(stdin));
    await writer.close();
  }
  const out = await child.output();
  const decoder = new TextDecoder();
  return { code: out.code, stdout: decoder.decode(out.stdout), stderr: decoder.decode(out.stderr) };
}

/**
 * A minimal stand-in for Istio's VirtualService CRD (the real one's schema
 * preserves unknown fields too). It is installed into the shared cluster and
 * never removed, since other test files running at the same time may use it;
 * applying it again is a no-op.
 */
const VIRTUAL_SERVICE_CRD = {
  apiVersion: "apiextensions.k8s.io/v1",
  kind: "CustomResourceDefinition",
  metadata: {
    name: "virtualservices.networking.istio.io",
    labels: { "app.kubernetes.io/part-of": "cloudshell-e2e-tests" },
  },
  spec: {
    group: "networking.istio.io",
    names: {
      kind: "VirtualService",
      listKind: "VirtualServiceList",
      plural: "virtualservices",
      singular: "virtualservice",
    },
    scope: "Namespaced",
    versions: [{
      name: "v1beta1",
      served: true,
      storage: true,
      schema: {
        openAPIV3Schema: {
          type: "object",
          properties: {
            spec: { type: "object", "x-kubernetes-preserve-unknown-fields": true },
            status: { type: "object", "x-kubernetes-preserve-unknown-fields": true },
          },
        },
      },
    }],
  },
};

/** Installs the VirtualService CRD (idempotently) and waits until VirtualServices are served. */
export async function installVirtualServiceCrd(client: KubeClient): Promise<void> {
  await client.patch(
    Resources.customResourceDefinitions,
    undefined,
    VIRTUAL_SERVICE_CRD.metadata.name,
    VIRTUAL_SERVICE_CRD,
    "apply",
    { force: true },
  );
  // Established is not enough: the group must show in discovery before a list succeeds.
  await eventually("VirtualServices to be served", async () => {
    await client.list(VirtualServices, { namespace: "default", limit: 1 });
    return true;
  });
}

/** Names of the objects of `type` in `namespace` that belong to a CloudShell (owner label). */
export async function ownedNames(
  client: KubeClient,
  type: typeof Resources[keyof typeof Resources],
  namespace: string,
): Promise<string[]> {
  const list = await client.list(type, { namespace, labelSelector: OWNER_LABEL });
  return list.items.map((o) => o.metadata.name!).sort();
}
