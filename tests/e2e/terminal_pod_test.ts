/**
 * What the administrator gives every terminal pod by flag (the chart's `cloudshell.image.pullPolicy`,
 * `global.imagePullSecrets`, `cloudshell.imagePullSecrets`, `cloudshell.resources`, `cloudshell.nodeSelector`)
 * reaches the Job the API server stores and the pod it schedules, read back with kubectl as the oracle.
 */
import assert from "node:assert/strict";
import type { CloudShell } from "../../controller/cloudshell/api.ts";
import { KWOK_NODE_LABEL } from "../harness/control_plane.ts";
import { testCluster } from "../harness/cluster.ts";
import { createCloudShell, installCrd, OperatorProcess, waitForCloudShell } from "./_operator.ts";
import { kubectl } from "./_support.ts";

// deno-lint-ignore no-explicit-any
type Any = any;

Deno.test("--cloudshell-image-pull-* , --cloudshell-node-selector and --cloudshell-resources reach the terminal's Job and pod", async () => {
  await using cluster = await testCluster();
  await installCrd(cluster.client);
  const ns = await cluster.namespace("e2e-terminal-pod");
  const resources = { requests: { cpu: "50m", memory: "64Mi" }, limits: { cpu: "1", memory: "512Mi" } };
  await using _op = await OperatorProcess.start(cluster.kubeconfigPath, ns, [
    "--cloudshell-image-pull-policy=Always",
    "--cloudshell-image-pull-secrets=registry-a,registry-b",
    // The fake nodes' own label, so the pod still schedules and the shell becomes Ready.
    `--cloudshell-node-selector=${KWOK_NODE_LABEL}`,
    `--cloudshell-resources=${JSON.stringify(resources)}`,
  ]);
  await createCloudShell(cluster.client, ns, "pulled", {});
  await waitForCloudShell(
    cluster.client,
    ns,
    "pulled",
    "Ready",
    (cs: CloudShell) => cs.status?.phase === "Ready",
  );

  const job = await kubectl(cluster.kubeconfigPath, [
    "get",
    "job",
    "cloudshell-pulled",
    "-n",
    ns,
    "-o",
    "json",
  ]);
  assert.equal(job.code, 0, job.stderr);
  const pod = (JSON.parse(job.stdout) as Any).spec.template.spec;
  assert.deepEqual(pod.imagePullSecrets, [{ name: "registry-a" }, { name: "registry-b" }]);
  const [key, value] = KWOK_NODE_LABEL.split("=");
  assert.equal(pod.nodeSelector[key], value);
  const terminal = pod.containers.find((c: Any) => c.name === "web-tty");
  assert.equal(terminal.imagePullPolicy, "Always");
  assert.deepEqual(terminal.resources, resources);

  // The pod the Job made carries them too.
  const pods = await kubectl(cluster.kubeconfigPath, [
    "get",
    "pods",
    "-n",
    ns,
    "-l",
    "cloudshell.cloudtty.io/owner-name=pulled",
    "-o",
    "jsonpath={.items[0].spec.imagePullSecrets[*].name} {.items[0].spec.nodeName}",
  ]);
  assert.equal(pods.code, 0, pods.stderr);
  assert.match(pods.stdout, /^registry-a registry-b \S+$/);
});
