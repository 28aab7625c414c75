import assert from "node:assert/strict";
import { Store } from "../../controller/cache/store.ts";
import type { KubeObject } from "../../controller/kube/types.ts";

function obj(name: string, owner?: string, rv = "1"): KubeObject {
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name, namespace: "ns", resourceVersion: rv, labels: owner ? { owner } : undefined },
  };
}

const names = (objs: KubeObject[]) => objs.map((o) => o.metadata.name).sort();

Deno.test("Store.byLabel follows adds, relabels and removals, for one object or several per value", () => {
  const store = new Store<KubeObject>(["owner"]);
  assert.deepEqual(store.byLabel("owner", "x"), []);
  store.upsert(obj("a", "x"));
  assert.deepEqual(names(store.byLabel("owner", "x")), ["a"]);
  store.upsert(obj("a", "x", "2")); // the same object again
  assert.deepEqual(names(store.byLabel("owner", "x")), ["a"]);
  store.upsert(obj("b", "x"));
  store.upsert(obj("c", "x"));
  assert.deepEqual(names(store.byLabel("owner", "x")), ["a", "b", "c"]);
  store.upsert(obj("b", "y", "2")); // relabelled
  assert.deepEqual(names(store.byLabel("owner", "x")), ["a", "c"]);
  assert.deepEqual(names(store.byLabel("owner", "y")), ["b"]);
  store.remove("ns/a" as never);
  assert.deepEqual(names(store.byLabel("owner", "x")), ["c"]);
  store.upsert(obj("d", "x"));
  assert.deepEqual(names(store.byLabel("owner", "x")), ["c", "d"]);
  store.remove("ns/c" as never);
  store.remove("ns/d" as never);
  assert.deepEqual(store.byLabel("owner", "x"), []);
  store.upsert(obj("e")); // no label: not indexed
  assert.deepEqual(names(store.byLabel("owner", "y")), ["b"]);
  assert.throws(() => store.byLabel("other", "x"), /not indexed/);
  assert.equal(store.size(), 2);
});
