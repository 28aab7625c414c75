/**
 * The client's per-request timeout, against a loopback server that stalls: before its answer, and in the
 * middle of a body, which the timeout covers too.
 */
import assert from "node:assert/strict";
import { KubeClient } from "../../controller/kube/client.ts";
import { Resources } from "../../controller/kube/resources.ts";

/** A server that answers `respond`, and whose stalled answers end when it shuts down. */
function stallingServer(respond: (closed: Promise<void>) => Response | Promise<Response>) {
  const shutdown = Promise.withResolvers<void>();
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    () => respond(shutdown.promise),
  );
  return {
    url: `http://127.0.0.1:${server.addr.port}`,
    async [Symbol.asyncDispose]() {
      shutdown.resolve();
      await server.shutdown();
    },
  };
}

const timedOut = (err: unknown) => err instanceof Error && /timed out/i.test(`${err.name} ${err.message}`);

Deno.test("a request with no answer fails when its timeout runs out", async () => {
  await using server = stallingServer(async (closed) => {
    await closed;
    return new Response("{}");
  });
  const client = new KubeClient({ server: server.url, source: "test" }, { requestTimeoutMs: 300 });
  try {
    const started = performance.now();
    await assert.rejects(client.get(Resources.namespaces, undefined, "default"), timedOut);
    assert.ok(performance.now() - started < 5_000);
  } finally {
    client.close();
  }
});

Deno.test("a body that stops halfway fails when the request's timeout runs out", async () => {
  await using server = stallingServer((closed) => {
    const body = new ReadableStream<Uint8Array>({
      async start(controller) {
        controller.enqueue(new TextEncoder().encode('{"kind":'));
        await closed;
        controller.close();
      },
    });
    return new Response(body, { headers: { "Content-Type": "application/json" } });
  });
  const client = new KubeClient({ server: server.url, source: "test" }, { requestTimeoutMs: 300 });
  try {
    await assert.rejects(client.get(Resources.namespaces, undefined, "default"), timedOut);
  } finally {
    client.close();
  }
});
