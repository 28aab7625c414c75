/**
 * The main paths of a CloudShell against a real control plane: NodePort and
 * ClusterIP shells becoming Ready with a URL, the objects they own, deletion,
 * a Job that completes or fails on its own, TTL expiry and extension, and the
 * CreatedRouteRule phase of a shell whose pod is not Ready yet.
 */
import assert from "node:assert/strict";
import { childName, type CloudShell, CloudShells, OWNER_LABEL } from "../../controller/cloudshell/api.ts";
import { DEFAULT_JOB_TEMPLATE_TEXT } from "../../controller/cloudshell/template/mod.ts";
import type { KubeObject } from "../../controller/kube/mod.ts";
import { Resources } from "../../controller/kube/mod.ts";
import { eventually, testCluster } from "../harness/cluster.ts";
import {
  createCloudShell,
  installCrd,
  OperatorProcess,
  readyCondition,
  waitForCloudShell,
  waitForGone,
} from "./_operator.ts";
import { cloudShellRows, eventsAbout, waitForEvent } from "./_support.ts";

type Svc = KubeObject & { spec: { type: string; clusterIP: string; ports: { nodePort?: number }[] } };
type PodLike = KubeObject & { status?: { phase?: string } };

const isReady = (cs: CloudShell) => cs.status?.phase === "Ready";

Deno.test("a NodePort CloudShell becomes Ready with a URL and goes away with its children", async () => {
  await using cluster = await testCluster();
  await installCrd(cluster.client);
  const ns = await cluster.namespace("e2e-nodeport");
  await using _op = await OperatorProcess.start(cluster.kubeconfigPath, ns);
  // CloudTTY's README sample: no secretRef, so the shell gets its own ServiceAccount.
  await createCloudShell(cluster.client, ns, "local-cluster-sample", {
    commandAction: "bash",
    ttlSecondsAfterStarted: 500,
    once: false,
  });
  const cs = await waitForCloudShell(cluster.client, ns, "local-cluster-sample", "Ready", isReady);
  const svc = await cluster.client.get<Svc>(Resources.services, ns, childName("local-cluster-sample"));
  assert.equal(svc.spec.type, "NodePort");
  assert.equal(cs.status?.accessUrl, `shell.example.test:${svc.spec.ports[0].nodePort}?ttl=500`);
  assert.equal(readyCondition(cs)?.status, "True");
  assert.equal(cs.status?.observedGeneration, cs.metadata.generation);
  assert.ok(cs.status?.lastScheduleTime, "lastScheduleTime is set");
  assert.equal(
    Date.parse(cs.status?.expirationTime ?? ""),
    Date.parse(cs.status.lastScheduleTime) + 500_000,
    "the session ends its TTL after the Job was created",
  );
  // The first status already had that end: no pass found it moved (it once did by a second, with an Event).
  await waitForEvent(cluster.client, ns, "local-cluster-sample", "Normal", "Ready");
  const ttlEvents = (await eventsAbout(cluster.client, ns, "local-cluster-sample", "CloudShell"))
    .filter((e) => e.reason?.startsWith("TTL"));
  assert.deepEqual(ttlEvents.map((e) => e.message), []);
  assert.deepEqual(cs.metadata.finalizers ?? [], [], "a NodePort shell needs no finalizer");

  const job = await cluster.client.get<KubeObject>(Resources.jobs, ns, "cloudshell-local-cluster-sample");
  assert.equal(job.metadata.labels?.[OWNER_LABEL], "local-cluster-sample");
  assert.equal(job.metadata.ownerReferences?.[0].uid, cs.metadata.uid);
  await cluster.client.get(Resources.serviceAccounts, ns, "cloudshell-local-cluster-sample");
  await cluster.client.get(Resources.roleBindings, ns, "cloudshell-local-cluster-sample");

  await cluster.client.delete(CloudShells, ns, "local-cluster-sample");
  await waitForGone(cluster.client, CloudShells, ns, "local-cluster-sample");
  await waitForGone(cluster.client, Resources.jobs, ns, "cloudshell-local-cluster-sample");
  await waitForGone(cluster.client, Resources.services, ns, "cloudshell-local-cluster-sample");
  await waitForGone(cluster.client, Resources.roleBindings, ns, "cloudshell-local-cluster-sample");
});

Deno.test("a ClusterIP CloudShell's URL is the Service's cluster IP and port 7681", async () => {
  await using cluster = await testCluster();
  await installCrd(cluster.client);
  const ns = await cluster.namespace("e2e-clusterip");
  await using _op = await OperatorProcess.start(cluster.kubeconfigPath, ns);
  await createCloudShell(cluster.client, ns, "cip", { exposureMode: "ClusterIP" });
  const cs = await waitForCloudShell(cluster.client, ns, "cip", "Ready", isReady);
  const svc = await cluster.client.get<Svc>(Resources.services, ns, "cloudshell-cip");
  assert.equal(svc.spec.type, "ClusterIP");
  assert.equal(cs.status?.accessUrl, `${svc.spec.clusterIP}:7681`);

  // kubectl's columns: readiness and why, and the command and exposure with the defaults applied.
  await createCloudShell(cluster.client, ns, "defaults", {});
  const defaults = await waitForCloudShell(cluster.client, ns, "defaults", "Ready", isReady);
  const rows = [...(await cloudShellRows(cluster.kubeconfigPath, ns)).values()];
  assert.deepEqual(rows.map((row) => row.slice(0, 7)), [
    ["cip", "True", "TerminalReady", "bash", "ClusterIP", cs.status!.accessUrl!, "Ready"],
    ["defaults", "True", "TerminalReady", "bash", "NodePort", defaults.status!.accessUrl!, "Ready"],
  ]);
});

async function endPod(
  cluster: Awaited<ReturnType<typeof testCluster>>,
  ns: string,
  shell: string,
  code: string,
) {
  const pods = await cluster.client.list<PodLike>(Resources.pods, {
    namespace: ns,
    labelSelector: `${OWNER_LABEL}=${shell}`,
  });
  assert.equal(pods.items.length, 1);
  await cluster.client.patch(Resources.pods, ns, pods.items[0].metadata.name!, {
    metadata: { annotations: { "cloudshell-test.io/exit-code": code } },
  }, "merge");
}

Deno.test("a terminal that exits makes the CloudShell Complete, and a failed one Failed", async () => {
  await using cluster = await testCluster();
  await installCrd(cluster.client);
  const ns = await cluster.namespace("e2e-exit");
  await using _op = await OperatorProcess.start(cluster.kubeconfigPath, ns);
  await createCloudShell(cluster.client, ns, "once", { once: true });
  await createCloudShell(cluster.client, ns, "crash", {});
  await waitForCloudShell(cluster.client, ns, "once", "Ready", isReady);
  await waitForCloudShell(cluster.client, ns, "crash", "Ready", isReady);
  await endPod(cluster, ns, "once", "0");
  await endPod(cluster, ns, "crash", "1");
  const done = await waitForCloudShell(
    cluster.client,
    ns,
    "once",
    "Complete",
    (c) => c.status?.phase === "Complete",
  );
  assert.equal(readyCondition(done)?.reason, "Completed");
  const failed = await waitForCloudShell(
    cluster.client,
    ns,
    "crash",
    "Failed",
    (c) => c.status?.phase === "Failed",
  );
  assert.equal(readyCondition(failed)?.reason, "JobFailed");
  assert.match(readyCondition(failed)?.message ?? "", /failed/);
  // A finished shell releases its node port.
  await waitForGone(cluster.client, Resources.services, ns, "cloudshell-once");
});

Deno.test("TTL expiry ends the Job; cleanup deletes the CloudShell; raising the TTL extends a live one", async () => {
  await using cluster = await testCluster();
  await installCrd(cluster.client);
  const ns = await cluster.namespace("e2e-ttl");
  await using _op = await OperatorProcess.start(cluster.kubeconfigPath, ns);
  await createCloudShell(cluster.client, ns, "short", { ttlSecondsAfterStarted: 4 });
  await createCloudShell(cluster.client, ns, "gone", { ttlSecondsAfterStarted: 4, cleanup: true });
  await createCloudShell(cluster.client, ns, "extended", { ttlSecondsAfterStarted: 4 });
  const before = await waitForCloudShell(cluster.client, ns, "extended", "Ready", isReady);
  const jobBefore = await cluster.client.get<KubeObject>(Resources.jobs, ns, "cloudshell-extended");
  await cluster.client.patch(
    CloudShells,
    ns,
    "extended",
    { spec: { ttlSecondsAfterStarted: 3600 } },
    "merge",
  );

  const expired = await waitForCloudShell(
    cluster.client,
    ns,
    "short",
    "Complete",
    (c) => c.status?.phase === "Complete",
  );
  assert.equal(readyCondition(expired)?.reason, "Expired");
  await waitForGone(cluster.client, Resources.jobs, ns, "cloudshell-short");
  await waitForGone(cluster.client, CloudShells, ns, "gone");

  // Well past the original TTL, the extended shell still runs the same Job.
  await new Promise((r) => setTimeout(r, 2_000));
  const after = await waitForCloudShell(
    cluster.client,
    ns,
    "extended",
    "Ready with the new TTL",
    (c) => isReady(c) && (c.status?.accessUrl ?? "").endsWith("?ttl=3600"),
  );
  const jobAfter = await cluster.client.get<KubeObject & { spec: { activeDeadlineSeconds?: number } }>(
    Resources.jobs,
    ns,
    "cloudshell-extended",
  );
  assert.equal(jobAfter.metadata.uid, jobBefore.metadata.uid, "the Job was not restarted");
  // The backstop deadline follows the new TTL (plus 300 s of grace), so it does not end the session early.
  assert.equal(jobAfter.spec.activeDeadlineSeconds, 3900);
  assert.equal(after.status?.lastScheduleTime, before.status?.lastScheduleTime);
  await eventually("no more than one Job per shell", async () => {
    const jobs = await cluster.client.list(Resources.jobs, { namespace: ns });
    return jobs.items.length <= 3;
  });
});

Deno.test("a shell whose pod is not Ready yet reports CreatedRouteRule, then Ready when the pod is", async () => {
  await using cluster = await testCluster();
  await installCrd(cluster.client);
  const ns = await cluster.namespace("e2e-phases");
  const client = cluster.client;
  // A template that pins terminals to nodes with a label no node has yet, so the pod stays Pending.
  const poolLabel = `e2e.cloudshell.io/${ns}`;
  const template = DEFAULT_JOB_TEMPLATE_TEXT.replace(
    "      restartPolicy: Never\n",
    `      restartPolicy: Never\n      nodeSelector:\n        ${poolLabel}: "true"\n`,
  );
  assert.notEqual(template, DEFAULT_JOB_TEMPLATE_TEXT);
  await client.create(Resources.configMaps, {
    apiVersion: "v1",
    kind: "ConfigMap",
    metadata: { name: "cloudshell-job-template", namespace: ns },
    data: { "job-template.yaml": template },
  } as KubeObject);
  // The first status of a waiting shell comes after --pending-status-delay (30 s by default).
  await using _op = await OperatorProcess.start(cluster.kubeconfigPath, ns, ["--pending-status-delay=1s"]);
  await createCloudShell(client, ns, "pending", { exposureMode: "ClusterIP" });
  // Past the operator's grace period for new shells, the waiting status is written.
  const waiting = await waitForCloudShell(
    client,
    ns,
    "pending",
    "CreatedRouteRule",
    (c) => c.status?.phase === "CreatedRouteRule",
  );
  assert.equal(readyCondition(waiting)?.status, "False");
  assert.equal(readyCondition(waiting)?.reason, "WaitingForPod");
  assert.equal(waiting.status?.accessUrl ?? "", "", "no URL before the terminal serves");

  const nodes = await client.list(Resources.nodes, { labelSelector: "type=kwok" });
  const node = nodes.items[0].metadata.name!;
  // The shared cluster's node gets a label only this test uses, and loses it again afterwards.
  await client.patch(
    Resources.nodes,
    undefined,
    node,
    { metadata: { labels: { [poolLabel]: "true" } } },
    "merge",
  );
  try {
    const ready = await waitForCloudShell(client, ns, "pending", "Ready once the pod is", isReady);
    assert.equal(readyCondition(ready)?.reason, "TerminalReady");
    assert.equal(ready.status?.lastScheduleTime, waiting.status?.lastScheduleTime);
  } finally {
    await client.patch(
      Resources.nodes,
      undefined,
      node,
      { metadata: { labels: { [poolLabel]: null } } },
      "merge",
    );
  }
});
