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
 *   shipped ServiceAccount `cloudshell-system/cloudshell-operator` (so only the shipped RBAC applies),
 *   `--operator-namespace cloudshell-system` and the shipped Deployment's own arguments (its login and
 *   NetworkPolicy defaults), started right after the first command installed that RBAC, with the e2e tests'
 *   other defaults (OperatorProcess: no leader election, a fixed `--node-port-host`, metrics and probes on
 *   loopback) in place of the Deployment's leader election, serving addresses and log format.
 * - The terminal pod is moved to Ready by kwok too; the terminal itself is tested in terminal_test.ts.
 * - Of the block after `<!-- quick-start-open -->`, the `kubectl port-forward` line is not run: kwok serves no
 *   forward to a pod it fakes (the plugin's e2e test forwards to the kubelet stand-in's pods). The command
 *   that prints the login is run, and must print the generated password.
 */
import assert from "node:assert/strict";
import { dirname } from "node:path";
import { ControlPlane } from "../harness/control_plane.ts";
import { run } from "../harness/commands.ts";
import { serviceAccountToken, writeTokenKubeconfig } from "../deploy/_identity.ts";
import { OperatorProcess } from "./_operator.ts";
import { commandsAfter } from "./_support.ts";
import { parse as parseYaml } from "yaml";

const REPO = new URL("../../", import.meta.url).pathname;
const MARKER = "<!-- quick-start -->";
const OPEN_MARKER = "<!-- quick-start-open -->";
/** Deployment arguments the test replaces with OperatorProcess's (it sets each of them itself). */
const REPLACED_ARGS = /^--(leader-elect|metrics-bind-address|health-probe-bind-address|log-format)=/;

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
    await using _operator = await OperatorProcess.start(
      kubeconfig,
      "cloudshell-system",
      await deploymentArgs(),
      {
        allNamespaces: true,
      },
    );
    let last = "";
    for (const command of commands.slice(1)) last = (await sh(command)).stdout;
    // The last command prints the shell with its URL, as the README says.
    assert.match(last, /local-cluster-sample\s/, transcript.join("\n"));
    assert.match(last, /Ready/, transcript.join("\n"));

    const open = blockAfter(await Deno.readTextFile(`${REPO}README.md`), OPEN_MARKER);
    assert.match(open[0], /^kubectl port-forward svc\/cloudshell-local-cluster-sample 7681:7681 &/);
    let printed = "";
    for (const command of open.slice(1)) printed = (await sh(command)).stdout;
    assert.match(printed, /^[A-Za-z0-9_-]{32}$/, `the generated password:\n${transcript.join("\n")}`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

/** The container arguments of the shipped Deployment, less those the test sets itself. */
async function deploymentArgs(): Promise<string[]> {
  const deployment = parseYaml(await Deno.readTextFile(`${REPO}deploy/deployment.yaml`)) as {
    spec: { template: { spec: { containers: { args?: string[] }[] } } };
  };
  return (deployment.spec.template.spec.containers[0].args ?? []).filter((arg) => !REPLACED_ARGS.test(arg));
}

/** The commands of the sh block after `marker`, a line ending in `\\` joined with the next. */
function blockAfter(markdown: string, marker: string): string[] {
  const block = /```sh\n([\s\S]*?)```/.exec(markdown.split(marker)[1] ?? "");
  assert.ok(block, `a fenced sh block follows ${marker}`);
  return block[1].replaceAll("\\\n", " ").split("\n").map((line) => line.trim()).filter((line) => line);
}

async function runIn(cwd: string, command: string, env: Record<string, string>) {
  // bash -c from the repository's root, as a reader would type it there.
  return await run("bash", ["-c", `cd ${JSON.stringify(cwd)} && ${command}`], undefined, env);
}
