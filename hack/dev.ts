/**
 * The README's fresh-machine command: a local control plane whose pods really run
 * (the kubelet stand-in, tests/harness/kubelet), the CRD, the operator from
 * source, and a sample CloudShell whose status is printed until Ready. Nodes
 * and node ports are on 127.0.0.1, so the printed URL opens the terminal.
 */
import { parse as parseYaml } from "yaml";
import { type CloudShell, CloudShells } from "../controller/cloudshell/api.ts";
import { ControlPlane } from "../tests/harness/control_plane.ts";
import { whyPodsCannotRun } from "../tests/harness/kubelet/mod.ts";
import { startTaskArgs } from "../tests/harness/start_task.ts";
import { installCrd } from "../tests/e2e/_operator.ts";

const REPO = new URL("../", import.meta.url).pathname;
const sample = Deno.args[0] ?? `${REPO}samples/local_cluster.yaml`;

// Without namespaces for pods (not root), the operator still runs, but nothing serves the terminal.
const cannotRunPods = await whyPodsCannotRun();
if (cannotRunPods) console.error(`WARNING: pods will not run, so the URL will not open: ${cannotRunPods}`);
const cp = await ControlPlane.start({ verbose: true, kubelet: !cannotRunPods, nodeIp: "127.0.0.1" });
const stop = new AbortController();
let operator: Deno.ChildProcess | undefined;
const shutdown = async () => {
  stop.abort();
  operator?.kill("SIGTERM");
  await operator?.status;
  await cp.stop();
};
Deno.addSignalListener("SIGINT", () => shutdown().then(() => Deno.exit(0)));
Deno.addSignalListener("SIGTERM", () => shutdown().then(() => Deno.exit(0)));

try {
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
    ]),
    stdout: "inherit",
    stderr: "inherit",
  }).spawn();

  const cs = parseYaml(await Deno.readTextFile(sample)) as CloudShell;
  cs.metadata.namespace ??= "default";
  await cp.client.create(CloudShells, cs);
  console.log(`Applied ${sample}: CloudShell ${cs.metadata.namespace}/${cs.metadata.name}`);

  let last = "";
  for (let i = 0; i < 600 && !stop.signal.aborted; i++) {
    const got = await cp.client.get<CloudShell>(CloudShells, cs.metadata.namespace, cs.metadata.name!);
    const ready = got.status?.conditions?.find((c) => c.type === "Ready");
    const line = `phase=${got.status?.phase || "(none)"} url=${got.status?.accessUrl || "-"} ` +
      `ready=${ready?.status ?? "-"} reason=${ready?.reason ?? "-"}`;
    if (line !== last) console.log(`CloudShell ${got.metadata.name}: ${line}`);
    last = line;
    if (got.status?.phase === "Ready") break;
    await new Promise((r) => setTimeout(r, 250));
  }
  const final = await cp.client.get<CloudShell>(CloudShells, cs.metadata.namespace, cs.metadata.name!);
  if (final.status?.phase === "Ready" && final.status.accessUrl && !cannotRunPods) {
    console.log(`\nOpen the terminal in a browser: http://${final.status.accessUrl}`);
    console.log("(a shell where kubectl acts as the CloudShell's own ServiceAccount, with view rights)");
  }
  console.log(`\nThe cluster keeps running. In another terminal:\n  export KUBECONFIG=${cp.kubeconfigPath}`);
  console.log(`  ${cp.kubectlPath} get cloudshells -A`);
  console.log("  metrics: http://127.0.0.1:8080/metrics   probes: http://127.0.0.1:8081/readyz");
  console.log("Press Ctrl-C to stop the operator and the cluster.");
  await new Promise(() => {});
} catch (err) {
  console.error(err);
  await shutdown();
  Deno.exit(1);
}
