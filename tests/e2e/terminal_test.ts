/**
 * The terminal itself, end to end: CloudShells on a control plane whose pods
 * really run (tests/harness/kubelet), driven through the real ttyd at the URL
 * in their status. The seeds' three uses (a kubectl console, `kubectl exec`
 * into a running container, `kubectl logs -f`), `once`, TTL expiry and
 * client options. One control plane and one operator for the whole file.
 */
import assert from "node:assert/strict";
import { CloudShells, OWNER_LABEL } from "../../controller/cloudshell/api.ts";
import { Resources } from "../../controller/kube/mod.ts";
import { eventually } from "../harness/cluster.ts";
import { findBrowser, openTerminalPage } from "../harness/browser.ts";
import { waitForCloudShell } from "./_operator.ts";
import { openTerminal, readyShell, terminalCluster, terminalOperator, testOutputDir } from "./_terminal.ts";

/** A ClusterRole for the exec and logs shells: read pods, exec into them, read their logs. */
const EXEC_ROLE = "cloudshell-e2e-exec";
const ClusterRoles = {
  group: "rbac.authorization.k8s.io",
  version: "v1",
  plural: "clusterroles",
  kind: "ClusterRole",
  namespaced: false,
} as const;

Deno.test("the terminal runs for real: console, exec, logs, once, TTL, client options", async (t) => {
  await using cluster = await terminalCluster();
  const client = cluster.client;
  const ns = await cluster.namespace("e2e-terminal");
  await using _op = await terminalOperator(cluster, ns);

  await t.step("a kubectl console answers as the shell's own ServiceAccount, with view rights", async () => {
    const url = await readyShell(client, ns, "console", { commandAction: "bash" });
    assert.match(url, new RegExp(`^${cluster.nodeIp.replaceAll(".", "\\.")}:\\d+`));
    await using term = await openTerminal(url);
    const whoami = await term.run("kubectl auth whoami -o jsonpath='{.status.userInfo.username}'");
    assert.deepEqual(whoami, { output: `system:serviceaccount:${ns}:cloudshell-console`, code: 0 });
    const pods = await term.run("kubectl get pods -o name");
    assert.equal(pods.code, 0, pods.output);
    assert.match(pods.output, /pod\/cloudshell-console-/);
    const secrets = await term.run("kubectl get secrets");
    assert.equal(secrets.code, 1);
    assert.match(secrets.output, /Forbidden/);
    // The token is the projected one, bound to this pod.
    const token = await term.run("cat /var/run/secrets/kubernetes.io/serviceaccount/namespace");
    assert.equal(token.output, ns);
  });

  const browser = findBrowser();
  if ("missing" in browser) console.error(`SKIPPED the browser step: ${browser.missing}`);
  await t.step({
    name: "in a real browser: the status URL opens the terminal, typed commands run, a screenshot is saved",
    ignore: "missing" in browser,
    fn: async () => {
      const url = await readyShell(client, ns, "browser", { commandAction: "bash" });
      const screenshot = `${await testOutputDir("terminal")}/terminal.png`;
      const user = `system:serviceaccount:${ns}:cloudshell-browser`;
      const page = await openTerminalPage((browser as { chromium: string }).chromium, {
        url,
        steps: [
          { type: "kubectl auth whoami", expect: user },
          { type: "kubectl get pods", expect: "Running" },
        ],
        screenshot,
        // Chromium's start-up alone takes seconds on a busy machine.
        timeoutMs: 60_000,
      });
      assert.ok(page.lines.some((l) => l.includes(user)), page.lines.join("\n"));
      assert.match(page.title, /bash/);
      assert.ok((await Deno.stat(screenshot)).size > 1000, "the screenshot is empty");
    },
  });

  await t.step("once: one client only, and its exit ends the shell Complete", async () => {
    const url = await readyShell(client, ns, "single", { once: true, commandAction: "bash" });
    await using first = await openTerminal(url);
    assert.equal((await first.run("echo first")).output, "first");
    // A second client is told why it cannot have the terminal, and the first keeps it.
    await using second = await openTerminal(url);
    await second.waitFor("This terminal serves one client only (once)");
    await second.closed();
    assert.equal((await first.run("echo still-first")).output, "still-first");
    first.type("exit");
    await first.closed();
    await waitForCloudShell(
      client,
      ns,
      "single",
      "Complete",
      (cs) => cs.status?.phase === "Complete",
      30_000,
    );
  });

  await t.step("TTL expiry ends the session and the shell", async () => {
    // A TTL short from the start could run out before the pod is Ready on a busy machine: the session is
    // opened first, then the TTL of the live shell is cut short (the operator applies TTL changes).
    const url = await readyShell(client, ns, "brief", { ttlSecondsAfterStarted: 600, commandAction: "bash" });
    await using term = await openTerminal(url);
    assert.equal((await term.run("echo alive")).output, "alive");
    await client.patch(CloudShells, ns, "brief", { spec: { ttlSecondsAfterStarted: 1 } }, "merge");
    const closed = await Promise.race([
      term.closed(),
      new Promise((r) => setTimeout(() => r("open"), 30_000)),
    ]);
    assert.notEqual(closed, "open", "the terminal stayed open after the TTL");
    // Without cleanup the shell stays, Complete.
    await waitForCloudShell(client, ns, "brief", "Complete", (cs) => cs.status?.phase === "Complete", 30_000);
  });

  await t.step("client options arrive at the page intact", async () => {
    const url = await readyShell(client, ns, "styled", {
      ttydClientOptions: { fontSize: "19", titleFixed: "QA Shell" },
    });
    await using term = await openTerminal(url);
    await eventually("the preferences message", () => Promise.resolve(term.preferences));
    assert.equal(term.preferences?.fontSize, 19);
    assert.equal(term.preferences?.titleFixed, "QA Shell");
  });

  await t.step("kubectl exec into a running container, and kubectl logs -f of it", async () => {
    // Its own namespace and operator: the shells there get the exec role instead of view.
    const execNs = await cluster.namespace("e2e-exec");
    await using _execOp = await terminalOperator(cluster, execNs, [`--kubeconfig-clusterrole=${EXEC_ROLE}`]);
    await client.create(ClusterRoles, {
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: "ClusterRole",
      metadata: { name: EXEC_ROLE },
      rules: [
        { apiGroups: [""], resources: ["pods", "pods/log"], verbs: ["get", "list"] },
        { apiGroups: [""], resources: ["pods/exec"], verbs: ["create", "get"] },
      ],
    } as never);
    await client.create(Resources.pods, {
      apiVersion: "v1",
      kind: "Pod",
      metadata: { name: "app", namespace: execNs },
      spec: {
        containers: [{
          name: "app",
          image: "busybox",
          command: ["sh", "-c", 'i=0; while :; do echo "tick $i"; i=$((i+1)); sleep 0.5; done'],
        }],
        terminationGracePeriodSeconds: 1,
      },
    } as never);
    await eventually("pod app to run", async () => {
      const pod = await client.get<{ metadata: object; status?: { phase?: string } }>(
        Resources.pods,
        execNs,
        "app",
      );
      return pod.status?.phase === "Running";
    });
    // The seed's exec use: the terminal is an interactive shell in another pod's container.
    const execUrl = await readyShell(client, execNs, "exec", { commandAction: "kubectl exec -it app -- sh" });
    await using exec = await openTerminal(execUrl);
    const inApp = await exec.run("echo $((40+2))-$HOSTNAME");
    assert.deepEqual(inApp, { output: "42-app", code: 0 });
    // The seed's logs use: an observer terminal following the container's log.
    const logsUrl = await readyShell(client, execNs, "logs", { commandAction: "kubectl logs -f app" });
    await using logs = await openTerminal(logsUrl);
    const first = await logs.waitFor(/tick (\d+)\n/);
    await logs.waitFor(new RegExp(`tick ${Number(first[1]) + 2}\\n`));
  });

  await t.step("deleting the terminal's pod stops ttyd, and the shell ends Failed", async () => {
    const url = await readyShell(client, ns, "doomed", { commandAction: "bash" });
    await using term = await openTerminal(url);
    const [pod] =
      (await client.list(Resources.pods, { namespace: ns, labelSelector: `${OWNER_LABEL}=doomed` })).items;
    await client.delete(Resources.pods, ns, pod.metadata.name!);
    await term.closed();
    await waitForCloudShell(client, ns, "doomed", "Failed", (cs) => cs.status?.phase === "Failed", 30_000);
  });
});
