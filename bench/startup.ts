/**
 * `deno run --allow-all bench/startup.ts [--runs 5]`: spawn to the first waiting shell Ready (issue 23's
 * target: no slower than CloudTTY v0.5.7's 0.45 s). A CloudShell already exists when the operator process
 * is spawned; the clock starts at the spawn and stops when the shell's status says Ready, as a watch of the
 * benchmark sees it. Each run is a new operator process (from source, as `deno task start` runs it, or the
 * compiled binary in CLOUDSHELL_OPERATOR_BIN; Deno's module cache warm after an untimed first run) and a new
 * shell, deleted again before the operator stops; a private control plane with kwok.
 *
 * Prints each run, the median and the range.
 */
import { parseArgs } from "node:util";
import { Informer } from "../controller/cache/mod.ts";
import { type CloudShell, CloudShells } from "../controller/cloudshell/api.ts";
import { KubeClient, Resources } from "../controller/kube/mod.ts";
import { ControlPlane } from "../tests/harness/control_plane.ts";
import { eventually } from "../tests/harness/cluster.ts";
import { installCrd } from "../tests/e2e/_operator.ts";
import { OperatorUnderTest } from "./_operator_process.ts";

const { values: args } = parseArgs({ args: Deno.args, options: { runs: { type: "string", default: "5" } } });
const RUNS = Number(args.runs);
const NAMESPACE = "bench-startup";

/** Spawns the operator with shell `name` waiting, and returns seconds from the spawn to the shell Ready. */
async function once(client: KubeClient, kubeconfig: string, name: string): Promise<number> {
  await client.create(CloudShells, {
    apiVersion: "cloudshell.cloudtty.io/v1alpha1",
    kind: "CloudShell",
    metadata: { name, namespace: NAMESPACE },
    spec: { commandAction: "bash" },
  } as CloudShell);
  let readyAt: number | undefined;
  const informer = new Informer<CloudShell>(client, CloudShells, { namespace: NAMESPACE });
  const record = (cs: CloudShell) => {
    if (cs.metadata.name === name && cs.status?.phase === "Ready") readyAt ??= performance.now();
  };
  informer.addHandler({ onAdd: record, onUpdate: (_old, cs) => record(cs) });
  const stop = new AbortController();
  const watching = informer.run(stop.signal);
  await informer.waitForSync(AbortSignal.timeout(30_000));
  const spawned = performance.now();
  const operator = await OperatorUnderTest.start(kubeconfig, [`--watch-namespace=${NAMESPACE}`]);
  try {
    await eventually(
      `CloudShell ${name} to be Ready`,
      () => Promise.resolve(readyAt !== undefined),
      60_000,
      5,
    );
    // Deleted while the operator runs, so the next run starts from the same state.
    await client.delete(CloudShells, NAMESPACE, name);
    await eventually(`CloudShell ${name} to be gone`, async () => {
      const list = await client.list(CloudShells, { namespace: NAMESPACE });
      return list.items.length === 0;
    }, 60_000);
  } finally {
    await operator.stop();
    stop.abort();
    await watching;
  }
  return (readyAt! - spawned) / 1000;
}

const cp = await ControlPlane.start({ nodes: 2 });
const client = new KubeClient(cp.connection(), { qps: 5000, burst: 5000, userAgent: "cloudshell-bench" });
try {
  await installCrd(client);
  await client.create(Resources.namespaces, {
    apiVersion: "v1",
    kind: "Namespace",
    metadata: { name: NAMESPACE },
  });
  // Untimed: the first start warms Deno's module cache and the API server's storage for the new CRD.
  await once(client, cp.kubeconfigPath, "warm-up");
  const seconds: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const s = await once(client, cp.kubeconfigPath, `waiting-${i}`);
    console.error(`[bench] run ${i + 1}: spawn to the waiting shell Ready in ${s.toFixed(3)} s`);
    seconds.push(s);
  }
  const sorted = [...seconds].sort((a, b) => a - b);
  const median = sorted[Math.floor(sorted.length / 2)];
  console.log(
    `spawn to the first waiting shell Ready, ${RUNS} runs: median ${median.toFixed(2)} s (${
      sorted[0].toFixed(2)
    } to ${sorted.at(-1)!.toFixed(2)}); each: ${seconds.map((s) => s.toFixed(2)).join(", ")}`,
  );
} finally {
  client.close();
  await cp.stop();
}
