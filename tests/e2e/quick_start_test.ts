/**
 * The README's quick start, run as written: the commands of the fenced block after `<!-- quick-start -->`,
 * each through bash with the control plane's kubectl first on PATH and $KUBECONFIG naming the cluster's
 * admin kubeconfig, from the repository's root, on a private control plane (it installs cluster-wide
 * objects under their shipped names, and `cloudshell-system`, which a shared cluster's other tests must not
 * see).
 *
 * What it substitutes, and why:
 * - The operator image cannot run here (no container runtime): kwok moves the Deployment's pod to Ready
 *   without running anything, so `kubectl rollout status` passes for a pod that does nothing. The operator
 *   runs instead outside the cluster, from source, as docs/getting-started.md describes: with a token of the
 *   shipped ServiceAccount `cloudshell-system/cloudshell-operator` (so only the shipped RBAC applies) and
 *   `--operator-namespace cloudshell-system`, started right after the first command installed that RBAC,
 *   with the e2e tests' other defaults (OperatorProcess: no leader election, a fixed `--node-port-host`,
 *   metrics and probes on loopback).
 * - The terminal pod is moved to Ready by kwok too; the terminal itself is tested in terminal_test.ts.
 */
import assert from "node:assert/strict";
import { dirname } from "node:path";
import { ControlPlane } from "../harness/control_plane.ts";
import { run } from "../harness/commands.ts";
import { serviceAccountToken, writeTokenKubeconfig } from "../deploy/_identity.ts";
import { OperatorProcess } from "./_operator.ts";
import { commandsAfter } from "./_support.ts";

const REPO = new URL("../../", import.meta.url).pathname;
const MARKER = "<!-- quick-start -->";

Deno.test("the README's quick start works as written on a fresh cluster with the shipped manifests", async () => {
  const commands = commandsAfter(await Deno.readTextFile(`${REPO}README.md`), MARKER);
  assert.match(commands[0], /^kubectl apply .*-k deploy\/$/, "the quick start begins by installing deploy/");

  await using cp = await ControlPlane.start();
  const env = {
    PATH: `${dirname(cp.kubectlPath)}:${Deno.env.get("PATH") ?? ""}`,
    KUBECONFIG: cp.kubeconfigPath,
  };
  const transcript: string[] = [];
  const sh = async (command: string) => {
    const out = await runIn(REPO, command, env);
    transcript.push(`$ ${command}\n${out.stdout}${out.stderr}`);
    assert.equal(out.code, 0, `"${command}" failed:\n${transcript.join("\n")}`);
    return out;
  };

  await sh(commands[0]);
  const dir = await Deno.makeTempDir({ prefix: "cloudshell-quick-start-" });
  try {
    const token = await serviceAccountToken(cp.client, "cloudshell-system", "cloudshell-operator");
    const kubeconfig = await writeTokenKubeconfig(dir, cp.connection().server, token, cp.connection().caPem);
    await using _operator = await OperatorProcess.start(kubeconfig, "cloudshell-system", [], {
      allNamespaces: true,
    });
    let last = "";
    for (const command of commands.slice(1)) last = (await sh(command)).stdout;
    // The last command prints the shell with its URL, as the README says.
    assert.match(last, /local-cluster-sample\s/, transcript.join("\n"));
    assert.match(last, /Ready/, transcript.join("\n"));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

async function runIn(cwd: string, command: string, env: Record<string, string>) {
  // bash -c from the repository's root, as a reader would type it there.
  return await run("bash", ["-c", `cd ${JSON.stringify(cwd)} && ${command}`], undefined, env);
}
