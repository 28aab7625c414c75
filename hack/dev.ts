/**
 * The README's fresh-machine command: a local control plane whose pods really run
 * (the kubelet stand-in, tests/harness/kubelet), the CRD, the operator from
 * source, and a sample CloudShell whose status is printed until Ready. Nodes
 * and node ports are on 127.0.0.1, so the printed URL opens the terminal.
 *
 *   deno run --allow-all hack/dev.ts [MANIFEST] [-- OPERATOR FLAGS...]
 *
 * Everything it starts stops when it ends, whichever way: Ctrl-C (also after
 * the operator died), SIGTERM, an operator that exits on its own (reported at
 * once with its last lines, exit code 1), or an error.
 */
import { parse as parseYaml } from "yaml";
import { type CloudShell, CloudShells } from "../controller/cloudshell/api.ts";
import { ControlPlane } from "../tests/harness/control_plane.ts";
import { whyPodsCannotRun } from "../tests/harness/kubelet/mod.ts";
import { startTaskArgs } from "../tests/harness/start_task.ts";
import { installCrd } from "../tests/e2e/_operator.ts";

const REPO = new URL("../", import.meta.url).pathname;
/** How many of the operator's last lines to show when it exits on its own. */
const TAIL_LINES = 20;

const dashes = Deno.args.indexOf("--");
const ownArgs = dashes < 0 ? Deno.args : Deno.args.slice(0, dashes);
const operatorFlags = dashes < 0 ? [] : Deno.args.slice(dashes + 1);
const sample = ownArgs[0] ?? `${REPO}samples/local_cluster.yaml`;

// Without namespaces for pods (not root), the operator still runs, but nothing serves the terminal.
const cannotRunPods = await whyPodsCannotRun();
if (cannotRunPods) console.error(`WARNING: pods will not run, so the URL will not open: ${cannotRunPods}`);

const starting = ControlPlane.start({ verbose: true, kubelet: !cannotRunPods, nodeIp: "127.0.0.1" });
let operator: Deno.ChildProcess | undefined;
let stopping: Promise<never> | undefined;

/** Stops the operator and the control plane (which removes its state folder) and exits; once. */
function shutdown(code: number): Promise<never> {
  stopping ??= (async () => {
    if (operator) {
      try {
        operator.kill("SIGTERM");
      } catch {
        // It has exited already.
      }
      await operator.status;
    }
    await starting.then((cp) => cp.stop(), () => {});
    Deno.exit(code);
  })();
  return stopping;
}
// Ctrl-C in a terminal reaches every process of the group: the operator and the control plane's programs
// stop on their own as well; shutdown() waits for them all and removes the state.
Deno.addSignalListener("SIGINT", () => void shutdown(0));
Deno.addSignalListener("SIGTERM", () => void shutdown(0));

/** Copies `stream` to `sink`, keeping its last lines in `tail`. */
async function relay(stream: ReadableStream<Uint8Array>, sink: typeof Deno.stdout, tail: string[]) {
  const decoder = new TextDecoder();
  let partial = "";
  for await (const chunk of stream) {
    for (let n = 0; n < chunk.length;) n += await sink.write(chunk.subarray(n));
    const lines = (partial + decoder.decode(chunk, { stream: true })).split("\n");
    partial = lines.pop()!;
    tail.push(...lines);
    tail.splice(0, Math.max(0, tail.length - TAIL_LINES));
  }
  if (partial) tail.push(partial);
}

try {
  const cp = await starting;
  await installCrd(cp.client);
  console.log("CRD cloudshells.cloudshell.cloudtty.io installed");
  operator = new Deno.Command(Deno.execPath(), {
    args: startTaskArgs([
      `--kubeconfig=${cp.kubeconfigPath}`,
      "--leader-elect=false",
      "--operator-namespace=default",
      "--metrics-bind-address=127.0.0.1:8080",
      "--health-probe-bind-address=127.0.0.1:8081",
      // Where the stand-in serves node ports: the URL in the status opens the terminal as printed.
      `--node-port-host=${cp.nodeIp}`,
      // Last, so they override the flags above.
      ...operatorFlags,
    ]),
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const tail: string[] = [];
  const relayed = Promise.all([
    relay(operator.stdout, Deno.stdout, tail),
    relay(operator.stderr, Deno.stderr, tail),
  ]);
  operator.status.then(async (status) => {
    if (stopping) return;
    await relayed.catch(() => {});
    console.error(
      `\nERROR: the operator exited with code ${status.code}. Its last lines:\n` +
        tail.map((line) => `  ${line}`).join("\n") +
        "\n(A port taken? Pass others: bash hack/dev.sh -- --metrics-bind-address=127.0.0.1:18080 " +
        "--health-probe-bind-address=127.0.0.1:18081)\nStopping the control plane.",
    );
    await shutdown(1);
  });

  const cs = parseYaml(await Deno.readTextFile(sample)) as CloudShell;
  cs.metadata.namespace ??= "default";
  await cp.client.create(CloudShells, cs);
  console.log(`Applied ${sample}: CloudShell ${cs.metadata.namespace}/${cs.metadata.name}`);

  let last = "";
  for (let i = 0; i < 600 && !stopping; i++) {
    const got = await cp.client.get<CloudShell>(CloudShells, cs.metadata.namespace, cs.metadata.name!);
    const ready = got.status?.conditions?.find((c) => c.type === "Ready");
    const line = `phase=${got.status?.phase || "(none)"} url=${got.status?.accessUrl || "-"} ` +
      `ready=${ready?.status ?? "-"} reason=${ready?.reason ?? "-"}`;
    if (line !== last) console.log(`CloudShell ${got.metadata.name}: ${line}`);
    last = line;
    if (got.status?.phase === "Ready") break;
    await new Promise((r) => setTimeout(r, 250));
  }
  if (stopping) await stopping;
  const final = await cp.client.get<CloudShell>(CloudShells, cs.metadata.namespace, cs.metadata.name!);
  if (final.status?.phase === "Ready" && final.status.accessUrl && !cannotRunPods) {
    console.log(`\nOpen the terminal in a browser: http://${final.status.accessUrl}`);
    console.log("(a shell where kubectl acts as the CloudShell's own ServiceAccount, with view rights)");
  }
  console.log(`\nThe cluster keeps running. In another terminal:\n  export KUBECONFIG=${cp.kubeconfigPath}`);
  console.log(`  ${cp.kubectlPath} get cloudshells -A`);
  console.log(
    "  metrics: http://127.0.0.1:8080/metrics   probes: http://127.0.0.1:8081/readyz (unless -- flags moved them)",
  );
  console.log("Press Ctrl-C to stop the operator and the cluster.");
  await new Promise(() => {});
} catch (err) {
  // While stopping, requests to the control plane fail: that is not what went wrong.
  if (!stopping) console.error(err);
  await shutdown(1);
}
