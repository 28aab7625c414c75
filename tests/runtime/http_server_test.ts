import assert from "node:assert/strict";
import { Logger } from "../../controller/log.ts";
import { HealthChecks } from "../../controller/runtime/health.ts";
import { parseBindAddress, serve, type ServeOptions } from "../../controller/runtime/http_server.ts";
import { Metrics } from "../../controller/runtime/metrics.ts";
import { selfSignedCertificate } from "../../controller/runtime/self_signed.ts";

Deno.test("parseBindAddress accepts Go listen addresses", () => {
  const cases: [string, ReturnType<typeof parseBindAddress>][] = [
    ["0", undefined],
    [":8080", { hostname: "0.0.0.0", port: 8080 }],
    [":0", { hostname: "0.0.0.0", port: 0 }],
    ["127.0.0.1:8080", { hostname: "127.0.0.1", port: 8080 }],
    ["127.0.0.1:0", { hostname: "127.0.0.1", port: 0 }],
    ["0.0.0.0:8081", { hostname: "0.0.0.0", port: 8081 }],
    ["localhost:65535", { hostname: "localhost", port: 65535 }],
    ["metrics.example-1.local:9090", { hostname: "metrics.example-1.local", port: 9090 }],
    ["[::1]:8080", { hostname: "::1", port: 8080 }],
    ["[::]:8081", { hostname: "::", port: 8081 }],
    ["[::ffff:127.0.0.1]:80", { hostname: "::ffff:127.0.0.1", port: 80 }],
  ];
  for (const [address, expected] of cases) {
    assert.deepEqual(parseBindAddress(address), expected, address);
  }
});

Deno.test("parseBindAddress rejects malformed addresses with a clear message", () => {
  const cases: [string, string][] = [
    ["", 'empty; use ":PORT" to listen or "0" to disable'],
    ["  ", 'empty; use ":PORT" to listen or "0" to disable'],
    ["8080", 'missing port; use ":PORT" to listen on all interfaces or "0" to disable'],
    ["localhost", 'missing port; use ":PORT" to listen on all interfaces or "0" to disable'],
    ["::1:8080", 'an IPv6 address must be in brackets, as in "[::1]:8080"'],
    ["[::1]8080", 'expected "[IPv6]:PORT"'],
    ["[::1", 'expected "[IPv6]:PORT"'],
    ["[]:8080", '"" is not an IPv6 address'],
    ["[127.0.0.1]:8080", '"127.0.0.1" is not an IPv6 address'],
    ["127.0.0.1:", 'invalid port "": expected a number from 0 to 65535'],
    [":65536", 'invalid port "65536": expected a number from 0 to 65535'],
    [":-1", 'invalid port "-1": expected a number from 0 to 65535'],
    [":80a", 'invalid port "80a": expected a number from 0 to 65535'],
    [":080800", 'invalid port "080800": expected a number from 0 to 65535'],
    ["bad host:80", 'invalid host "bad host"'],
    ["-bad:80", 'invalid host "-bad"'],
    ["http://x:80", 'an IPv6 address must be in brackets, as in "[::1]:8080"'],
  ];
  for (const [address, why] of cases) {
    assert.throws(() => parseBindAddress(address), { message: `Invalid bind address "${address}": ${why}` });
  }
});

/** Everything serve() needs, with a readiness check the test can flip and captured log lines. */
function fixture(addresses: Pick<ServeOptions, "metricsAddress" | "healthAddress">) {
  const stop = new AbortController();
  const metrics = new Metrics();
  metrics.queueMetrics<string>("cloudshell").onAdd?.("default/demo");
  const health = new HealthChecks();
  health.addLiveness("ping", () => true);
  const state = { ready: "informers not synced" as true | string };
  health.addReadiness("informers", () => state.ready);
  const lines: string[] = [];
  const logger = new Logger({ format: "json", sink: (line) => lines.push(line) });
  const options: ServeOptions = { ...addresses, metrics, health, logger, signal: stop.signal };
  return { stop, state, lines, options };
}

async function get(addr: Deno.NetAddr | undefined, path: string, method = "GET") {
  assert.ok(addr, "listener not started");
  const host = addr.hostname.includes(":") ? `[${addr.hostname}]` : addr.hostname;
  const res = await fetch(`http://${host}:${addr.port}${path}`, { method });
  return { status: res.status, body: await res.text(), type: res.headers.get("content-type") };
}

Deno.test("serve answers /metrics and the health endpoints on separate listeners", async (t) => {
  // Different address strings, so two listeners (equal strings share one, even with port 0).
  const { stop, state, lines, options } = fixture({
    metricsAddress: "127.0.0.1:0",
    healthAddress: "localhost:0",
  });
  const { addresses, closed } = await serve(options);
  try {
    const { metrics, health } = addresses;
    assert.ok(metrics && health);
    assert.notEqual(metrics.port, 0);
    assert.notEqual(health.port, 0);
    // Two listeners: distinct addresses (the port alone may coincide if localhost is ::1).
    assert.notDeepEqual(metrics, health);
    assert.equal(lines.length, 2);
    assert.match(lines[0], new RegExp(`"endpoints":"metrics","address":"127.0.0.1:${metrics.port}"`));

    await t.step("/metrics", async () => {
      const res = await get(metrics, "/metrics");
      assert.equal(res.status, 200);
      assert.match(res.type ?? "", /^text\/plain; version=0\.0\.4/);
      assert.match(res.body, /^workqueue_adds_total\{name="cloudshell"\} 1$/m);
      assert.match(res.body, /^process_resident_memory_bytes [1-9]/m);
    });

    await t.step("/healthz and /livez", async () => {
      assert.deepEqual(await get(health, "/healthz"), {
        status: 200,
        body: "ok",
        type: "text/plain; charset=utf-8",
      });
      assert.equal((await get(health, "/livez?verbose")).body, "[+]ping ok\nhealthz check passed\n");
      assert.equal((await get(health, "/healthz/ping")).body, "ok");
    });

    await t.step("/readyz fails until the check passes, and honours exclude", async () => {
      const failing = await get(health, "/readyz");
      assert.equal(failing.status, 500);
      assert.equal(failing.body, "[-]informers failed: informers not synced\nreadyz check failed\n");
      assert.equal((await get(health, "/readyz?exclude=informers")).status, 200);
      state.ready = true;
      assert.equal((await get(health, "/readyz")).body, "ok");
    });

    await t.step("each listener serves only its own paths", async () => {
      assert.equal((await get(health, "/metrics")).status, 404);
      assert.equal((await get(metrics, "/healthz")).status, 404);
      assert.equal((await get(metrics, "/readyz")).status, 404);
      assert.equal((await get(metrics, "/")).status, 404);
      assert.equal((await get(health, "/healthzzz")).status, 404);
    });

    await t.step("only GET and HEAD", async () => {
      assert.equal((await get(metrics, "/metrics", "POST")).status, 405);
      assert.equal((await get(health, "/healthz", "DELETE")).status, 405);
      const head = await get(health, "/healthz", "HEAD");
      assert.equal(head.status, 200);
      assert.equal(head.body, "");
    });
  } finally {
    stop.abort();
    await closed;
  }
});

Deno.test("serve shares one listener when both addresses are equal", async () => {
  const { stop, lines, options } = fixture({ metricsAddress: "127.0.0.1:0", healthAddress: "127.0.0.1:0" });
  const { addresses, closed } = await serve(options);
  try {
    assert.ok(addresses.metrics && addresses.health);
    assert.equal(addresses.metrics.port, addresses.health.port);
    assert.equal(lines.length, 1);
    assert.match(lines[0], /"endpoints":"metrics,health"/);
    assert.equal((await get(addresses.metrics, "/metrics")).status, 200);
    assert.equal((await get(addresses.metrics, "/healthz")).status, 200);
    assert.equal((await get(addresses.metrics, "/readyz")).status, 500);
  } finally {
    stop.abort();
    await closed;
  }
});

Deno.test("serve leaves a disabled endpoint unserved", async () => {
  const { stop, options } = fixture({ metricsAddress: "0", healthAddress: "127.0.0.1:0" });
  const { addresses, closed } = await serve(options);
  try {
    assert.equal(addresses.metrics, undefined);
    assert.equal((await get(addresses.health, "/healthz")).status, 200);
    assert.equal((await get(addresses.health, "/metrics")).status, 404);
  } finally {
    stop.abort();
    await closed;
  }
});

Deno.test("serve with both endpoints disabled starts nothing and is closed at once", async () => {
  const { options } = fixture({ metricsAddress: "0", healthAddress: "0" });
  const { addresses, closed } = await serve(options);
  assert.deepEqual(addresses, {});
  await closed;
});

Deno.test("serve rejects a bad address before binding anything", async () => {
  const probe = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const free = probe.addr.port;
  probe.close();
  const { lines, options } = fixture({ metricsAddress: `127.0.0.1:${free}`, healthAddress: "8081" });
  await assert.rejects(serve(options), { message: /^Invalid bind address "8081": missing port/ });
  assert.deepEqual(lines, []);
  Deno.listen({ hostname: "127.0.0.1", port: free }).close();
});

Deno.test("serve reports a port in use and closes the listener it already started", async () => {
  const taken = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  // A port that is free now, for the metrics listener, which serve() binds first.
  const probe = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const free = probe.addr.port;
  probe.close();
  try {
    const { options } = fixture({
      metricsAddress: `127.0.0.1:${free}`,
      healthAddress: `127.0.0.1:${taken.addr.port}`,
    });
    await assert.rejects(serve(options), {
      message: `Cannot listen on [127.0.0.1]:${taken.addr.port} for health`,
    });
    // The metrics listener was shut down before serve() rejected, so its port can be bound again.
    Deno.listen({ hostname: "127.0.0.1", port: free }).close();
  } finally {
    taken.close();
  }
});

Deno.test("serve shuts down when the signal aborts", async () => {
  const { stop, options } = fixture({ metricsAddress: "127.0.0.1:0", healthAddress: "127.0.0.1:0" });
  const { addresses, closed } = await serve(options);
  assert.equal((await get(addresses.metrics, "/metrics")).status, 200);
  let done = false;
  const watched = closed.then(() => done = true);
  await Promise.resolve();
  assert.equal(done, false, "closed before the signal aborted");
  stop.abort();
  await watched;
  await assert.rejects(get(addresses.metrics, "/metrics"));
  await assert.rejects(get(addresses.health, "/healthz"));
});

Deno.test("serve with an already aborted signal closes at once", async () => {
  const { stop, options } = fixture({ metricsAddress: "127.0.0.1:0", healthAddress: "0" });
  stop.abort();
  const { addresses, closed } = await serve(options);
  assert.ok(addresses.metrics);
  await closed;
  await assert.rejects(get(addresses.metrics, "/metrics"));
});

Deno.test("serve: /metrics over TLS behind the auth check; the probes stay plain HTTP", async () => {
  const { stop, state, options } = fixture({ metricsAddress: "127.0.0.1:0", healthAddress: "localhost:0" });
  state.ready = true;
  const tls = await selfSignedCertificate({ commonName: "test", hosts: ["127.0.0.1"] });
  const seen: string[] = [];
  const { addresses, closed } = await serve({
    ...options,
    metricsTls: tls,
    metricsAuth: (request) => {
      seen.push(new URL(request.url).pathname);
      return Promise.resolve(
        request.headers.get("authorization") === "Bearer good"
          ? undefined
          : new Response("no", { status: 401 }),
      );
    },
  });
  const client = Deno.createHttpClient({ caCerts: [tls.cert] });
  try {
    const url = `https://127.0.0.1:${addresses.metrics!.port}/metrics`;
    const refused = await fetch(url, { client });
    assert.equal(refused.status, 401);
    await refused.body?.cancel();
    const allowed = await fetch(url, { client, headers: { authorization: "Bearer good" } });
    assert.equal(allowed.status, 200);
    assert.match(await allowed.text(), /^workqueue_adds_total/m);
    assert.deepEqual(seen, ["/metrics", "/metrics"]);
    assert.equal((await get(addresses.health, "/readyz")).status, 200, "health: plain HTTP, no auth");
  } finally {
    client.close();
    stop.abort();
    await closed;
  }
});

Deno.test("serve refuses TLS for /metrics on the health probes' listener", async () => {
  const { options } = fixture({ metricsAddress: "127.0.0.1:0", healthAddress: "127.0.0.1:0" });
  const tls = await selfSignedCertificate({ commonName: "test", hosts: ["127.0.0.1"] });
  await assert.rejects(serve({ ...options, metricsTls: tls }), /Cannot serve the health probes over HTTPS/);
});
