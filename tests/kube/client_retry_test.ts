/**
 * The client's answers to 429, 5xx and 401, against a scripted HTTP server on loopback: kube-apiserver
 * answers 429 and 503 only under overload or while shutting down, which a test cannot bring about on
 * demand. Everything else (impersonation, refresh against real revocation, proxies) runs against the real
 * API server in tests/e2e/kubeconfig_auth_test.ts.
 */
import assert from "node:assert/strict";
import { KubeClient } from "../../controller/kube/client.ts";
import { CachedCredential } from "../../controller/kube/credentials.ts";
import { isTransient } from "../../controller/kube/errors.ts";
import { Resources } from "../../controller/kube/resources.ts";
import { retryDelayMs } from "../../controller/kube/retry.ts";

interface Seen {
  authorization: string | null;
  at: number;
  path: string;
}

/** A server answering from a script, one entry per request (the last one repeats). */
function scriptedServer(script: (() => Response)[]) {
  const seen: Seen[] = [];
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, (req) => {
    seen.push({
      authorization: req.headers.get("Authorization"),
      at: performance.now(),
      path: new URL(req.url).pathname,
    });
    const next = script.length > 1 ? script.shift()! : script[0];
    return next();
  });
  return {
    url: `http://127.0.0.1:${server.addr.port}`,
    seen,
    async [Symbol.asyncDispose]() {
      await server.shutdown();
    },
  };
}

const ok = () => Response.json({ kind: "Namespace", apiVersion: "v1", metadata: { name: "default" } });
const status = (code: number, headers: Record<string, string> = {}) => () =>
  Response.json({ kind: "Status", apiVersion: "v1", code, message: `answer ${code}` }, {
    status: code,
    headers,
  });

Deno.test("429 with Retry-After: waits as told, then succeeds", async () => {
  await using server = scriptedServer([status(429, { "Retry-After": "1" }), ok]);
  const client = new KubeClient({ server: server.url, source: "test" });
  try {
    await client.get(Resources.namespaces, undefined, "default");
    assert.equal(server.seen.length, 2);
    const waited = server.seen[1].at - server.seen[0].at;
    assert.ok(waited >= 950 && waited < 3_000, `waited ${waited} ms`);
  } finally {
    client.close();
  }
});

Deno.test("503 without Retry-After: bounded attempts, then the error; 500 without it is not retried", async () => {
  await using server = scriptedServer([status(503)]);
  const client = new KubeClient({ server: server.url, source: "test" }, {
    retry: { maxAttempts: 4, initialDelayMs: 10, maxDelayMs: 50 },
  });
  try {
    await assert.rejects(client.get(Resources.namespaces, undefined, "default"), (err) => isTransient(err));
    assert.equal(server.seen.length, 4);
  } finally {
    client.close();
  }
  await using plain = scriptedServer([status(500)]);
  const other = new KubeClient({ server: plain.url, source: "test" });
  try {
    await assert.rejects(other.get(Resources.namespaces, undefined, "default"));
    assert.equal(plain.seen.length, 1, "client-go retries a 500 only when it carries Retry-After");
  } finally {
    other.close();
  }
});

Deno.test("a Retry-After beyond the request's deadline returns the answer instead of waiting", async () => {
  await using server = scriptedServer([status(429, { "Retry-After": "5" }), ok]);
  const client = new KubeClient({ server: server.url, source: "test" }, { requestTimeoutMs: 1_000 });
  try {
    const started = performance.now();
    await assert.rejects(client.get(Resources.namespaces, undefined, "default"), (err) => isTransient(err));
    assert.ok(performance.now() - started < 900);
    assert.equal(server.seen.length, 1);
  } finally {
    client.close();
  }
});

Deno.test("401: a refreshable credential is refreshed and the request sent once more, with a server path prefix", async () => {
  await using server = scriptedServer([status(401), ok, status(401)]);
  let n = 0;
  const credentials = new CachedCredential(() => Promise.resolve({ credential: { token: `t${++n}` } }));
  const client = new KubeClient({ server: `${server.url}/prefix/c1`, source: "test", credentials });
  try {
    await client.get(Resources.namespaces, undefined, "default");
    assert.deepEqual(server.seen.map((s) => s.authorization), ["Bearer t1", "Bearer t2"]);
    assert.equal(server.seen[0].path, "/prefix/c1/api/v1/namespaces/default");
    // Once only: a credential the server refuses again is final for this request.
    await assert.rejects(client.get(Resources.namespaces, undefined, "default"), /answer 401/);
    assert.deepEqual(server.seen.slice(2).map((s) => s.authorization), ["Bearer t2", "Bearer t3"]);
  } finally {
    client.close();
  }
});

Deno.test("basic authentication (no kube-apiserver speaks it any more, proxies in front of one may)", async () => {
  await using server = scriptedServer([ok]);
  const client = new KubeClient({
    server: server.url,
    source: "test",
    basicAuth: { username: "jane", password: "pä:ss" },
  });
  try {
    await client.get(Resources.namespaces, undefined, "default");
    const [scheme, encoded] = server.seen[0].authorization!.split(" ");
    assert.equal(scheme, "Basic");
    assert.equal(
      new TextDecoder().decode(Uint8Array.from(atob(encoded), (c) => c.charCodeAt(0))),
      "jane:pä:ss",
    );
  } finally {
    client.close();
  }
});

Deno.test("a client with its own limits is not throttled behind a saturated one (the Lease client)", async () => {
  await using server = scriptedServer([ok]);
  const workers = new KubeClient({ server: server.url, source: "test" }, { qps: 10, burst: 1 });
  const lease = workers.withOwnLimits({ qps: 5, burst: 10 });
  try {
    // Ten queued requests at 10 per second: the last of them waits about a second for its turn.
    const backlog = Array.from({ length: 10 }, () => workers.get(Resources.namespaces, undefined, "default"));
    await new Promise((r) => setTimeout(r, 50));
    const started = performance.now();
    await lease.get(Resources.namespaces, undefined, "default");
    const took = performance.now() - started;
    assert.ok(took < 300, `the lease request took ${took} ms`);
    await Promise.all(backlog);
  } finally {
    workers.close();
  }
});

Deno.test("a negative qps turns client-side throttling off: a burst is sent at once", async () => {
  await using server = scriptedServer([ok]);
  const client = new KubeClient({ server: server.url, source: "test" }, { qps: -1, burst: 1 });
  try {
    // At 1 a second with a burst of 1, twenty requests would take 19 s; unthrottled, a moment.
    const started = performance.now();
    await Promise.all(
      Array.from({ length: 20 }, () => client.get(Resources.namespaces, undefined, "default")),
    );
    const took = performance.now() - started;
    assert.ok(took < 2_000, `twenty requests took ${took} ms`);
    assert.equal(server.seen.length, 20);
  } finally {
    client.close();
  }
});

Deno.test("retryDelayMs: what is retried and how long it waits", () => {
  const p = { maxAttempts: 3, initialDelayMs: 100, maxDelayMs: 2_000 };
  assert.equal(retryDelayMs(p, 1, 429, null), 100);
  assert.equal(retryDelayMs(p, 2, 503, null), 200);
  assert.equal(retryDelayMs(p, 3, 503, null), undefined, "attempts are bounded");
  assert.equal(retryDelayMs(p, 1, 500, "1"), 1_000);
  assert.equal(retryDelayMs(p, 1, 504, "60"), 2_000, "each wait is capped");
  assert.equal(retryDelayMs(p, 1, 500, null), undefined);
  assert.equal(retryDelayMs(p, 1, 409, "1"), undefined);
  assert.equal(retryDelayMs(p, 1, 0, null), undefined, "no answer: only when the policy says so");
  assert.equal(retryDelayMs({ ...p, retryNoAnswer: true }, 1, 0, null), 100);
  const date = new Date(Date.now() + 1_500).toUTCString();
  const fromDate = retryDelayMs(p, 1, 429, date)!;
  assert.ok(fromDate > 0 && fromDate <= 1_500, `${fromDate}`);
});
