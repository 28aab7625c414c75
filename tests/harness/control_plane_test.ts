/**
 * Smoke tests proving the test control plane behaves like a real cluster:
 * scheduling onto kwok nodes, pod readiness, NodePort allocation, garbage
 * collection, Job completion driven by the test annotation, and a watch that
 * survives a kube-apiserver restart.
 */
import assert from "node:assert/strict";
import { Informer } from "../../controller/cache/mod.ts";
import { isNotFound, type KubeObject, Resources } from "../../controller/kube/mod.ts";
import { eventually, testCluster } from "./cluster.ts";
import { startControlPlane } from "./control_plane.ts";

interface PodLike extends KubeObject {
  spec?: { nodeName?: string };
  status?: { phase?: string; podIP?: string; conditions?: { type: string; status: string }[] };
}

interface JobLike extends KubeObject {
  status?: { succeeded?: number; failed?: number; conditions?: { type: string; status: string }[] };
}

function job(namespace: string, name: string): KubeObject & Record<string, unknown> {
  return {
    apiVersion: "batch/v1",
    kind: "Job",
    metadata: { name, namespace },
    spec: {
      backoffLimit: 0,
      template: {
        metadata: { labels: { app: name } },
        spec: { restartPolicy: "Never", containers: [{ name: "main", image: "busybox" }] },
      },
    },
  };
}

const isReady = (p: PodLike) => p.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True");

Deno.test("a Job's pod is scheduled to a fake node and goes Running and Ready", async () => {
  await using cluster = await testCluster();
  const ns = await cluster.namespace("smoke-job");
  await cluster.client.create(Resources.jobs, job(ns, "hello"));
  const pod = await eventually("a Running, Ready pod", async () => {
    const pods = await cluster.client.list<PodLike>(Resources.pods, {
      namespace: ns,
      labelSelector: "app=hello",
    });
    return pods.items.find((p) => p.status?.phase === "Running" && isReady(p));
  });
  assert.match(pod.spec?.nodeName ?? "", /^kwok-node-\d+$/);
  assert.ok(pod.status?.podIP, "kwok assigns a pod IP");
});

Deno.test("the exit-code annotation completes or fails a Job on purpose", async () => {
  await using cluster = await testCluster();
  const ns = await cluster.namespace("smoke-exit");
  for (const [name, code] of [["ok", "0"], ["bad", "1"]]) {
    await cluster.client.create(Resources.jobs, job(ns, name));
    const pod = await eventually(`pod of ${name} Ready`, async () => {
      const pods = await cluster.client.list<PodLike>(Resources.pods, {
        namespace: ns,
        labelSelector: `app=${name}`,
      });
      return pods.items.find(isReady);
    });
    // Without the annotation a terminal keeps running: nothing completes it.
    const before = await cluster.client.get<JobLike>(Resources.jobs, ns, name);
    assert.equal(before.status?.succeeded ?? 0, 0);
    await cluster.client.patch(Resources.pods, ns, pod.metadata.name!, {
      metadata: { annotations: { "cloudshell-test.io/exit-code": code } },
    }, "merge");
  }
  await eventually("Job ok Complete", async () => {
    const j = await cluster.client.get<JobLike>(Resources.jobs, ns, "ok");
    return j.status?.conditions?.some((c) => c.type === "Complete" && c.status === "True");
  });
  await eventually("Job bad Failed", async () => {
    const j = await cluster.client.get<JobLike>(Resources.jobs, ns, "bad");
    return j.status?.conditions?.some((c) => c.type === "Failed" && c.status === "True");
  });
});

Deno.test("a NodePort Service gets a node port and a ClusterIP", async () => {
  await using cluster = await testCluster();
  const ns = await cluster.namespace("smoke-svc");
  type Svc = KubeObject & { spec: { clusterIP?: string; ports: { port: number; nodePort?: number }[] } };
  const svc = await cluster.client.create<Svc>(Resources.services, {
    apiVersion: "v1",
    kind: "Service",
    metadata: { name: "tty", namespace: ns },
    spec: { type: "NodePort", selector: { app: "x" }, ports: [{ port: 7681 }] },
  } as Svc);
  const nodePort = svc.spec.ports[0].nodePort ?? 0;
  assert.ok(nodePort >= 30000 && nodePort <= 39999, `node port ${nodePort} in the harness's range`);
  assert.match(svc.spec.clusterIP ?? "", /^10\.96\./);
});

Deno.test("deleting an owner garbage-collects what it owns", async () => {
  await using cluster = await testCluster();
  const ns = await cluster.namespace("smoke-gc");
  const owner = await cluster.client.create<KubeObject>(Resources.configMaps, {
    apiVersion: "v1",
    kind: "ConfigMap",
    metadata: { name: "owner", namespace: ns },
  });
  await cluster.client.create(Resources.configMaps, {
    apiVersion: "v1",
    kind: "ConfigMap",
    metadata: {
      name: "dependent",
      namespace: ns,
      ownerReferences: [{
        apiVersion: "v1",
        kind: "ConfigMap",
        name: "owner",
        uid: owner.metadata.uid!,
        controller: true,
        blockOwnerDeletion: true,
      }],
    },
  });
  await cluster.client.delete(Resources.configMaps, ns, "owner", { propagationPolicy: "Background" });
  await eventually("the dependent to be collected", async () => {
    try {
      await cluster.client.get(Resources.configMaps, ns, "dependent");
      return false;
    } catch (err) {
      return isNotFound(err);
    }
  });
});

Deno.test("an informer keeps watching across a kube-apiserver restart", async () => {
  await using cp = await startControlPlane({ nodes: 1 });
  const client = cp.client;
  await client.create(Resources.namespaces, {
    apiVersion: "v1",
    kind: "Namespace",
    metadata: { name: "watch" },
  });
  const informer = new Informer<KubeObject>(client, Resources.configMaps, {
    namespace: "watch",
    labelSelector: "smoke=yes",
  });
  const seen = new Set<string>();
  informer.addHandler({ onAdd: (o) => seen.add(o.metadata.name!) });
  const stop = new AbortController();
  const running = informer.run(stop.signal);
  try {
    assert.ok(await informer.waitForSync(AbortSignal.timeout(10_000)));
    const cm = (name: string, label = "yes") => ({
      apiVersion: "v1",
      kind: "ConfigMap",
      metadata: { name, namespace: "watch", labels: { smoke: label } },
    });
    await client.create(Resources.configMaps, cm("before"));
    await client.create(Resources.configMaps, cm("unlabelled", "no"));
    await eventually("the informer to see 'before'", () => Promise.resolve(seen.has("before")));

    await cp.restartApiServer();
    await client.create(Resources.configMaps, cm("after"));
    await eventually(
      "the informer to see 'after' the restart",
      () => Promise.resolve(seen.has("after")),
      60_000,
    );
    assert.ok(!seen.has("unlabelled"), "the label selector is applied server-side");
    assert.deepEqual(informer.lister.list().map((o) => o.metadata.name).sort(), ["after", "before"]);
  } finally {
    stop.abort();
    await running;
  }
});
