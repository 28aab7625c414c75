/**
 * Starts the test control plane by hand, or around a command.
 *
 *   deno task cluster up                 start it and wait for Ctrl-C
 *   deno task cluster exec -- CMD ARGS   start it, run CMD with
 *                                        CLOUDSHELL_TEST_KUBECONFIG set, stop it,
 *                                        exit with CMD's code
 */
import { ControlPlane } from "./control_plane.ts";
import { SHARED_KUBECONFIG_ENV } from "./cluster.ts";

async function main(args: string[]): Promise<number> {
  const [verb, ...rest] = args;
  if (verb !== "up" && verb !== "exec") {
    console.error("usage: cli.ts up | exec -- COMMAND [ARGS...]");
    return 2;
  }
  const cp = await ControlPlane.start({ verbose: true });
  const stop = async () => await cp.stop();
  let child: Deno.ChildProcess | undefined;
  const onSignal = (signal: Deno.Signal) => () => {
    // Forward to the command; its exit ends the run and the finally block stops the cluster.
    if (child) child.kill(signal);
    else stop().then(() => Deno.exit(130));
  };
  Deno.addSignalListener("SIGINT", onSignal("SIGINT"));
  Deno.addSignalListener("SIGTERM", onSignal("SIGTERM"));
  try {
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

Deno.exit(await main(Deno.args));
