/**
 * The informer against a real kube-apiserver: a paginated initial list of
 * 1,000 objects, label-selected watches, a relist after 410 Gone, and
 * handlers that throw without stopping the informer.
 */
import assert from "node:assert/strict";
import { Informer } from "../../controller/cache/mod.ts";
import {
  KubeClient,
  type KubeObject,
  Resources,
  type ResourceType,
  type WatchEvent,
  type WatchOptions,
} from "../../controller/kube/mod.ts";
import { eventually, testCluster } from "../harness/cluster.ts";

function configMap(ns: string, name: string, labels: Record<string, string>): KubeObject {
  return { apiVersion: "v1", kind: "ConfigMap", metadata: { name, namespace: ns, labels } };
}

async function createMany(client: KubeClient, ns: string, count: number, labels: Record<string, string>) {
  const batch = 50;
  for (let i = 0; i < count; i += batch) {
    await Promise.all(
      Array.from(
        { length: Math.min(batch, count - i) },
        (_, j) => client.create(Resources.configMaps, configMap(ns, `cm-${labels.set}-${i + j}`, labels)),
      ),
    );
  }
}

Deno.test("an informer lists 1,000 objects in pages, then follows a label-selected watch", async () => {
  await using cluster = await testCluster();
  const ns = await cluster.namespace("informer-many");
  await createMany(cluster.client, ns, 1000, { set: "a" });
  await createMany(cluster.client, ns, 20, { set: "b" });
  const lists: string[] = [];
  const informer = new Informer<KubeObject>(cluster.client, Resources.configMaps, {
    namespace: ns,
    labelSelector: "set=a",
    pageSize: 100,
    indexedLabels: ["set"],
    metrics: { list: (_r, reason) => lists.push(reason) },
  });
  let adds = 0;
  informer.addHandler({ onAdd: () => adds++ });
  const stop = new AbortController();
  const running = informer.run(stop.signal);
  try {
    assert.ok(await informer.waitForSync(AbortSignal.timeout(30_000)));
    assert.equal(informer.lister.size(), 1000);
    assert.equal(adds, 1000);
    assert.equal(informer.lister.byLabel("set", "a").length, 1000);
    assert.deepEqual(lists, ["initial"]);
    const sample = informer.lister.get(ns, "cm-a-7")!;
    assert.throws(
      () => (sample.metadata as { name?: string }).name = "x",
      TypeError,
      "cached objects are frozen",
    );
    assert.ok(!("managedFields" in sample.metadata), "managedFields are dropped");

    await cluster.client.create(Resources.configMaps, configMap(ns, "late-a", { set: "a" }));
    await cluster.client.create(Resources.configMaps, configMap(ns, "late-b", { set: "b" }));
    await cluster.client.delete(Resources.configMaps, ns, "cm-a-0");
    await eventually(
      "the watch to deliver the changes",
      () =>
        Promise.resolve(
          informer.lister.get(ns, "late-a") !== undefined && !informer.lister.get(ns, "cm-a-0"),
        ),
    );
    assert.equal(informer.lister.get(ns, "late-b"), undefined, "other labels are not watched");
    assert.equal(informer.lister.size(), 1000);
  } finally {
    stop.abort();
    await running;
  }
});

/**
 * A real client whose first watch ends the way an expired one does: with an ERROR event carrying 410
 * Expired, as kube-apiserver sends when the resourceVersion has left its window. (Asking a fresh API
 * server for an old resourceVersion does not reliably expire: before etcd compacts, it replays history
 * instead. The HTTP 410 on a resumed watch after an API server restart is covered by
 * tests/e2e/fault_apiserver_test.ts.)
 */
class ExpiredFirstWatch extends KubeClient {
  expiredOnce = false;
  override watch<T extends KubeObject>(
    type: ResourceType,
    opts: WatchOptions,
  ): AsyncGenerator<WatchEvent<T>> {
    if (!this.expiredOnce) {
      this.expiredOnce = true;
      return expired<T>();
    }
    return super.watch<T>(type, opts);
  }
}

async function* expired<T>(): AsyncGenerator<WatchEvent<T>> {
  yield {
    type: "ERROR",
    object: {
      kind: "Status",
      status: "Failure",
      code: 410,
      reason: "Expired",
      message: "too old resource version",
    },
  };
}

Deno.test("a watch that expires with 410 Gone makes the informer relist and carry on", async () => {
  await using cluster = await testCluster();
  const ns = await cluster.namespace("informer-gone");
  await createMany(cluster.client, ns, 5, { set: "g" });
  const client = new ExpiredFirstWatch(cluster.connection, { userAgent: "informer-test" });
  const lists: string[] = [];
  const informer = new Informer<KubeObject>(client, Resources.configMaps, {
    namespace: ns,
    labelSelector: "set=g",
    metrics: { list: (_r, reason) => lists.push(reason) },
  });
  const stop = new AbortController();
  const running = informer.run(stop.signal);
  try {
    assert.ok(await informer.waitForSync(AbortSignal.timeout(30_000)));
    await eventually("a relist after 410", () => Promise.resolve(lists.includes("gone")));
    assert.ok(client.expiredOnce);
    await cluster.client.create(Resources.configMaps, configMap(ns, "after-gone", { set: "g" }));
    await eventually("events after the relist", () => Promise.resolve(informer.lister.get(ns, "after-gone")));
    assert.equal(informer.lister.size(), 6);
  } finally {
    stop.abort();
    await running;
    client.close();
  }
});

Deno.test("a handler that throws does not stop the informer or other handlers", async () => {
  await using cluster = await testCluster();
  const ns = await cluster.namespace("informer-throw");
  const warnings: string[] = [];
  const informer = new Informer<KubeObject>(cluster.client, Resources.configMaps, {
    namespace: ns,
    logger: { debug: () => {}, warn: (msg) => warnings.push(msg), error: (msg) => warnings.push(msg) },
  });
  const seen: string[] = [];
  informer.addHandler({
    onAdd: () => {
      throw new Error("boom");
    },
  });
  informer.addHandler({ onAdd: (o) => seen.push(o.metadata.name!) });
  const stop = new AbortController();
  const running = informer.run(stop.signal);
  try {
    assert.ok(await informer.waitForSync(AbortSignal.timeout(30_000)));
    await cluster.client.create(Resources.configMaps, configMap(ns, "one", {}));
    await cluster.client.create(Resources.configMaps, configMap(ns, "two", {}));
    await eventually("both objects seen", () => Promise.resolve(seen.length >= 2));
    assert.ok(warnings.includes("Event handler threw"));
  } finally {
    stop.abort();
    await running;
  }
});
