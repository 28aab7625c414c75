/**
 * A kubeconfig Secret as a running pod sees it (tests/harness/kubelet runs the pods for real). The operator
 * never looks at the Secret: a shell created before its Secret reports WaitingForPod naming it while the
 * kubelet holds the pod, and runs once the Secret exists; the terminal's kubeconfig directory holds the
 * Secret's `config` key and nothing else of it.
 */
import assert from "node:assert/strict";
import type { CloudShell } from "../../controller/cloudshell/api.ts";
import { type KubeObject, Resources } from "../../controller/kube/mod.ts";
import { createCloudShell, readyCondition, waitForCloudShell } from "./_operator.ts";
import { openTerminal, terminalCluster, terminalOperator } from "./_terminal.ts";

const KUBECONFIG = `apiVersion: v1
kind: Config
clusters: [{name: remote, cluster: {server: "https://remote.example.test:6443"}}]
users: [{name: remote, user: {token: remote-token}}]
contexts: [{name: remote, context: {cluster: remote, user: remote}}]
current-context: remote
`;

Deno.test("a kubeconfig Secret that comes later: the shell waits for it, then sees only its config key", async () => {
  await using cluster = await terminalCluster();
  const client = cluster.client;
  const ns = await cluster.namespace("e2e-kc-mount");
  await using _op = await terminalOperator(cluster, ns, ["--pending-status-delay=1s"]);

  await createCloudShell(client, ns, "remote", { secretRef: { name: "later" }, commandAction: "bash" });
  const waiting = await waitForCloudShell(
    client,
    ns,
    "remote",
    "WaitingForPod, naming the Secret",
    (cs) => readyCondition(cs)?.reason === "WaitingForPod",
  );
  assert.match(readyCondition(waiting)?.message ?? "", /kubeconfig from Secret later \(key "config"\)/);
  assert.equal(waiting.status?.phase, "CreatedRouteRule");

  await client.create(Resources.secrets, {
    apiVersion: "v1",
    kind: "Secret",
    metadata: { name: "later", namespace: ns },
    stringData: { config: KUBECONFIG, token: "not-for-the-terminal" },
  } as KubeObject);
  const ready = await waitForCloudShell(
    client,
    ns,
    "remote",
    "Ready once the Secret exists",
    (cs: CloudShell) => cs.status?.phase === "Ready" && !!cs.status.accessUrl,
    60_000,
  );

  await using term = await openTerminal(ready.status!.accessUrl!);
  assert.deepEqual(await term.run("ls /usr/local/kubeconfig/"), { output: "config", code: 0 });
  assert.equal((await term.run("test -e /usr/local/kubeconfig/token")).code, 1);
  assert.deepEqual(
    await term.run("kubectl config view --minify -o jsonpath='{.clusters[0].cluster.server}'"),
    { output: "https://remote.example.test:6443", code: 0 },
  );
});
