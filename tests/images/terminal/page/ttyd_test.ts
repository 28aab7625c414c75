/**
 * The terminal page's side of ttyd's protocol, without a browser: fetching the AuthToken (the page in
 * Chromium against real ttyd: tests/e2e/terminal_page_test.ts).
 */
import assert from "node:assert/strict";
import { fetchToken } from "../../../../images/terminal/page/src/ttyd.ts";

/** A local HTTP server answering with `handler`, for the length of `use`. */
async function withServer(
  handler: (request: Request) => Response | Promise<Response>,
  use: (url: string) => Promise<void>,
): Promise<void> {
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, handler);
  try {
    await use(`http://127.0.0.1:${server.addr.port}/token`);
  } finally {
    await server.shutdown();
  }
}

Deno.test("fetchToken: ttyd's token, or an empty one where ttyd has no login", async () => {
  await withServer(() => Response.json({ token: "dXNlcjpwYXNz" }), async (url) => {
    assert.equal(await fetchToken(url), "dXNlcjpwYXNz");
  });
  await withServer(() => Response.json({}), async (url) => {
    assert.equal(await fetchToken(url), "");
  });
});

Deno.test("fetchToken: nothing when ttyd refuses, is gone, or does not answer in time", async () => {
  await withServer(() => new Response("no", { status: 404 }), async (url) => {
    assert.equal(await fetchToken(url), undefined);
  });
  // A closed port: the connection is refused.
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const closedPort = listener.addr.port;
  listener.close();
  assert.equal(await fetchToken(`http://127.0.0.1:${closedPort}/token`), undefined);
  // An answer that never comes: the page gives up after the timeout instead of waiting for ever.
  const { promise: released, resolve: release } = Promise.withResolvers<void>();
  await withServer(async () => {
    await released;
    return Response.json({ token: "late" });
  }, async (url) => {
    const started = performance.now();
    assert.equal(await fetchToken(url, 200), undefined);
    assert.ok(performance.now() - started < 5_000);
    release();
  });
});
