/**
 * A watch whose connection dies without a FIN (a NAT or load balancer dropped it) is noticed by its
 * silence and started again. The informer reaches the real API server through a CONNECT proxy on loopback
 * that freezes the open tunnel: bytes stop, nothing closes. With the default (WATCH_SILENCE_MS, about two
 * bookmark periods) that takes two and a half minutes; the test shortens it.
 */
import assert from "node:assert/strict";
import { Informer, WATCH_SILENCE_MS } from "../../controller/cache/informer.ts";
import { KubeClient, type KubeObject, Resources } from "../../controller/kube/mod.ts";
import { eventually, testCluster } from "../harness/cluster.ts";
import { ConnectProxy } from "../harness/connect_proxy.ts";

Deno.test("a frozen watch connection is restarted after its silence, and the informer catches up", async () => {
  await using cluster = await testCluster();
  await using proxy = ConnectProxy.start();
  const ns = await cluster.namespace("informer-watchdog");
  const client = new KubeClient({ ...cluster.connection, proxy: { url: proxy.url } });
  const restarts: string[] = [];
  const informer = new Informer<KubeObject>(client, Resources.configMaps, {
    namespace: ns,
    watchSilenceMs: 2_000,
    metrics: { watchRestart: (_r, reason) => restarts.push(reason) },
  });
  const stop = new AbortController();
  const running = informer.run(stop.signal);
  try {
    assert.ok(await informer.waitForSync(AbortSignal.timeout(30_000)));
    const cm = (name: string) => ({ apiVersion: "v1", kind: "ConfigMap", metadata: { name, namespace: ns } });
    await cluster.client.create(Resources.configMaps, cm("before"));
    await eventually("the first ConfigMap", () => Promise.resolve(informer.lister.get(ns, "before")));

    assert.ok(proxy.freezeOpenTunnels() >= 1, "the watch's tunnel");
    const frozenAt = performance.now();
    await cluster.client.create(Resources.configMaps, cm("after"));
    await eventually(
      "the ConfigMap created on a dead connection",
      () => Promise.resolve(informer.lister.get(ns, "after")),
      20_000,
    );
    const took = performance.now() - frozenAt;
    assert.ok(restarts.includes("silent"), `restarts: ${restarts}`);
    assert.ok(took >= 1_900, `noticed after ${took} ms, not before the silence limit`);
  } finally {
    stop.abort();
    await running;
    client.close();
  }
  // About two bookmark periods (kube-apiserver sends one about every minute, the first within two).
  assert.ok(WATCH_SILENCE_MS >= 120_000 && WATCH_SILENCE_MS <= 150_000);
});
