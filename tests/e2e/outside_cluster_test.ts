/**
 * The operator outside the cluster, run as docs/getting-started.md shows it (the block after
 * `<!-- outside-the-cluster -->`): deploy/ applied with kubectl, a kubeconfig for deploy/'s ServiceAccount
 * (hack/operator-kubeconfig.sh), and `deno task start` from the pinned toolchain with no namespace flag. With
 * only the shipped RBAC it must find the Job template ConfigMap in cloudshell-system and bring a CloudShell to
 * Ready; pointed at a namespace the RBAC does not cover, it must say so.
 *
 * A private control plane: this operator watches every namespace, as the docs run it.
 */
import assert from "node:assert/strict";
import { Resources } from "../../controller/kube/mod.ts";
import type { KubeObject } from "../../controller/kube/mod.ts";
import { type ControlPlane, controlPlaneBinaries, startControlPlane } from "../harness/control_plane.ts";
import { eventually } from "../harness/cluster.ts";
import { createCloudShell, OperatorProcess, waitForCloudShell } from "./_operator.ts";
import { commandsAfter, logEntries } from "./_support.ts";

const REPO = new URL("../../", import.meta.url).pathname;
const DOCS = `${REPO}docs/getting-started.md`;
const MARKER = "<!-- outside-the-cluster -->";
/**
 * Added by the test: JSON logs to read, and free loopback ports, since other operators on this machine may
 * hold the default :8080 and :8081.
 */
const TEST_FLAGS =
  "--log-format=json --metrics-bind-address=127.0.0.1:0 --health-probe-bind-address=127.0.0.1:0";

/**
 * The documented commands: the installs, run from the repository root with kubectl's current context an
 * admin's, and the operator's command line, the last. `npm ci --prefix toolchain` is left out: hack/test.sh
 * ran it, and running it again would empty toolchain/node_modules under the other tests.
 */
async function documentedCommands(): Promise<{ install: string[]; run: string }> {
  const commands = commandsAfter(await Deno.readTextFile(DOCS), MARKER);
  const run = commands.pop()!;
  assert.match(
    run,
    /^toolchain\/node_modules\/\.bin\/deno task start /,
    "the last command runs the operator",
  );
  assert.doesNotMatch(run, /--operator-namespace/, "the default namespace is the shipped one");
  return { install: commands.filter((c) => !c.startsWith("npm ci --prefix toolchain")), run };
}

const TEMPLATE = "cloudshell-job-template";
const MARK = "cloudshell-test.io/template-from";

Deno.test("outside the cluster, as the docs run it, deploy/'s RBAC and template ConfigMap suffice", async (t) => {
  await using cp = await startControlPlane();
  // The kubeconfig and token go to ~/.kube, as documented: a HOME of the test's own.
  const home = await Deno.makeTempDir({ prefix: "cloudshell-home-" });
  try {
    await runDocumented(t, cp, home);
  } finally {
    await Deno.remove(home, { recursive: true });
  }
});

async function runDocumented(t: Deno.TestContext, cp: ControlPlane, home: string): Promise<void> {
  const env = {
    HOME: home,
    KUBECONFIG: cp.kubeconfigPath,
    PATH: `${await controlPlaneBinaries()}:${Deno.env.get("PATH")}`,
  };

  const { install, run } = await documentedCommands();
  assert.deepEqual(install.slice(0, 1), ["kubectl apply --server-side -k deploy/"]);
  for (const line of install) {
    const out = await new Deno.Command("bash", {
      args: ["-euc", line],
      cwd: REPO,
      env,
      stdout: "piped",
      stderr: "piped",
    })
      .output();
    assert.ok(out.success, `${line}:\n${new TextDecoder().decode(out.stderr)}`);
  }
  // An administrator's edit of the shipped template, so the Job shows which template it came from.
  const map = await cp.client.get<KubeObject & { data: Record<string, string> }>(
    Resources.configMaps,
    "cloudshell-system",
    TEMPLATE,
  );
  const text = map.data["job-template.yaml"];
  const edited = text.replace(
    "    app.kubernetes.io/managed-by: cloudshell-operator\n",
    `    app.kubernetes.io/managed-by: cloudshell-operator\n    ${MARK}: cloudshell-system\n`,
  );
  assert.notEqual(edited, text, "the shipped template has the managed-by label to add beside");
  await cp.client.patch(Resources.configMaps, "cloudshell-system", TEMPLATE, {
    data: { "job-template.yaml": edited },
  }, "merge");

  const operator = (extra: string) => ["-c", `exec ${run} ${TEST_FLAGS} ${extra}`];
  const operatorEnv = { HOME: home, KUBECONFIG: "" };

  await t.step("a CloudShell goes Ready with a Job from the ConfigMap in cloudshell-system", async () => {
    await using op = await OperatorProcess.run("bash", operator(""), operatorEnv);
    const ns = "outside";
    await cp.client.create(Resources.namespaces, {
      apiVersion: "v1",
      kind: "Namespace",
      metadata: { name: ns },
    });
    await createCloudShell(cp.client, ns, "first", {});
    await waitForCloudShell(cp.client, ns, "first", "Ready", (cs) => cs.status?.phase === "Ready", 60_000);
    const job = await cp.client.get(Resources.jobs, ns, "cloudshell-first");
    assert.equal(job.metadata.labels?.[MARK], "cloudshell-system");
    const origins = logEntries(op, "Job template in use").map((e) => e.origin);
    assert.deepEqual(origins, [`ConfigMap cloudshell-system/${TEMPLATE} key job-template.yaml`]);
    assert.equal(await op.stop(), 0);
  });

  await t.step(
    "in a namespace the shipped Role does not cover, it says it may not read the template",
    async () => {
      // Its caches never sync there, so it never becomes ready: no wait for that.
      await using op = await OperatorProcess.spawn(
        "bash",
        operator("--operator-namespace=elsewhere"),
        operatorEnv,
      );
      const entry = await eventually(
        "the operator to log that it may not list the ConfigMap",
        () =>
          Promise.resolve(
            logEntries(op).find((e) =>
              e.level === "error" && e.resource === "configmaps" && e.namespace === "elsewhere" &&
              /forbidden/.test(String(e.error))
            ),
          ),
        30_000,
      );
      assert.match(String(entry.msg), /^Not allowed to list or watch/);
      assert.notEqual(await op.probe("/readyz"), 200);
      assert.equal(await op.stop(), 0);
    },
  );
}
