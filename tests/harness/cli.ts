/**
 * Starts the test control plane by hand, or around a command.
 *
 *   deno task cluster up                 start it and wait for Ctrl-C
 *   deno task cluster exec [--apply FILE]... -- CMD ARGS
 *                                        start it, apply the manifests, run CMD
 *                                        with CLOUDSHELL_TEST_KUBECONFIG set, stop
 *                                        it, exit with CMD's code
 *
 * Applying CRDs before the tests start also gives the garbage collector time
 * to notice the new types: it refreshes its view of the API only every 30 s,
 * and until then it does not collect objects owned by custom resources.
 */
import { parseAllDocuments } from "yaml";
import { type KubeObject, Resources, type ResourceType } from "../../controller/kube/mod.ts";
import { ControlPlane } from "./control_plane.ts";
import { SHARED_KUBECONFIG_ENV } from "./cluster.ts";

async function main(args: string[]): Promise<number> {
  const [verb, ...rest] = args;
  if (verb !== "up" && verb !== "exec") {
    console.error("usage: cli.ts up | exec -- COMMAND [ARGS...]");
    return 2;
  }
  const manifests: string[] = [];
  while (rest[0] === "--apply" && rest[1]) {
    manifests.push(rest[1]);
    rest.splice(0, 2);
  }
  // Listening from the start: a Ctrl-C while the control plane starts stops it too, state folder included.
  const starting = ControlPlane.start({ verbose: true });
  const stop = () => starting.then((cp) => cp.stop(), () => {});
  let child: Deno.ChildProcess | undefined;
  const onSignal = (signal: Deno.Signal) => () => {
    // Forward to the command; its exit ends the run and the finally block stops the cluster.
    if (child) {
      try {
        child.kill(signal);
      } catch {
        // It has exited already: the finally block is stopping the cluster.
      }
    } else stop().then(() => Deno.exit(130));
  };
  Deno.addSignalListener("SIGINT", onSignal("SIGINT"));
  Deno.addSignalListener("SIGTERM", onSignal("SIGTERM"));
  const cp = await starting;
  try {
    for (const file of manifests) await apply(cp, file);
    if (verb === "up") {
      console.log(`export KUBECONFIG=${cp.kubeconfigPath}`);
      console.error("[control-plane] running; press Ctrl-C to stop");
      await new Promise(() => {});
      return 0;
    }
    const cmd = rest[0] === "--" ? rest.slice(1) : rest;
    if (cmd.length === 0) {
      console.error("exec needs a command after --");
      return 2;
    }
    const [program, ...programArgs] = cmd[0] === "deno" ? [Deno.execPath(), ...cmd.slice(1)] : cmd;
    child = new Deno.Command(program, {
      args: programArgs,
      env: { [SHARED_KUBECONFIG_ENV]: cp.kubeconfigPath },
      stdin: "inherit",
    }).spawn();
    const status = await child.status;
    return status.code;
  } finally {
    await stop();
  }
}

/** Server-side applies every document of a YAML file whose kind the client knows. */
async function apply(cp: ControlPlane, file: string): Promise<void> {
  const types = Object.values(Resources) as ResourceType[];
  for (const doc of parseAllDocuments(await Deno.readTextFile(file))) {
    const obj = doc.toJS() as KubeObject | null;
    if (!obj) continue;
    const type = types.find((t) => t.kind === obj.kind);
    if (!type) throw new Error(`${file}: cannot apply kind ${obj.kind}`);
    await cp.client.patch(type, obj.metadata.namespace, obj.metadata.name!, obj, "apply", { force: true });
    console.error(`[control-plane] applied ${obj.kind} ${obj.metadata.name} from ${file}`);
  }
}

Deno.exit(await main(Deno.args));
