import assert from "node:assert/strict";
import { Counter, Gauge, Histogram, Registry } from "../../controller/runtime/prometheus.ts";
import { PROMETHEUS_BIN, PROMETHEUS_MISSING } from "../harness/prometheus.ts";

/** A registry with one metric of each type, labels needing escapes, and values of every kind. */
function sample(): Registry {
  const registry = new Registry();
  const requests = new Counter({
    name: "demo_requests_total",
    help: "Requests, by code\nand path \\ with escapes",
    labelNames: ["code", "path"] as const,
  });
  const temperature = new Gauge({ name: "demo_temperature_celsius", help: "Temperature" });
  const latency = new Histogram({
    name: "demo_latency_seconds",
    help: "Latency",
    labelNames: ["verb"] as const,
    buckets: [1, 0.1, 10],
  });
  let collected = 0;
  const scrapes = new Gauge({
    name: "demo_scrapes",
    help: "Scrapes so far, set by its collector",
    collect: async () => {
      await Promise.resolve();
      scrapes.set(++collected);
    },
  });
  for (const metric of [requests, temperature, latency, scrapes]) registry.register(metric);
  requests.inc({ code: "200", path: '/a"b\\c\nd' });
  requests.inc({ code: "200", path: '/a"b\\c\nd' }, 2);
  requests.inc({ code: "500" }, 0);
  temperature.set(-1.5);
  temperature.inc(0.5);
  latency.zero({ verb: "LIST" });
  latency.observe({ verb: "GET" }, 0.05);
  latency.observe({ verb: "GET" }, 5);
  latency.observe({ verb: "GET" }, 50);
  return registry;
}

Deno.test("Registry renders HELP, TYPE and samples in the text exposition format, with escapes", async () => {
  const registry = sample();
  assert.equal(registry.contentType, "text/plain; version=0.0.4; charset=utf-8");
  assert.equal(
    await registry.metrics(),
    [
      "# HELP demo_requests_total Requests, by code\\nand path \\\\ with escapes",
      "# TYPE demo_requests_total counter",
      'demo_requests_total{code="200",path="/a\\"b\\\\c\\nd"} 3',
      'demo_requests_total{code="500"} 0',
      "",
      "# HELP demo_temperature_celsius Temperature",
      "# TYPE demo_temperature_celsius gauge",
      "demo_temperature_celsius -1",
      "",
      "# HELP demo_latency_seconds Latency",
      "# TYPE demo_latency_seconds histogram",
      'demo_latency_seconds_bucket{le="0.1",verb="LIST"} 0',
      'demo_latency_seconds_bucket{le="1",verb="LIST"} 0',
      'demo_latency_seconds_bucket{le="10",verb="LIST"} 0',
      'demo_latency_seconds_bucket{le="+Inf",verb="LIST"} 0',
      'demo_latency_seconds_sum{verb="LIST"} 0',
      'demo_latency_seconds_count{verb="LIST"} 0',
      'demo_latency_seconds_bucket{le="0.1",verb="GET"} 1',
      'demo_latency_seconds_bucket{le="1",verb="GET"} 1',
      'demo_latency_seconds_bucket{le="10",verb="GET"} 2',
      'demo_latency_seconds_bucket{le="+Inf",verb="GET"} 3',
      'demo_latency_seconds_sum{verb="GET"} 55.05',
      'demo_latency_seconds_count{verb="GET"} 3',
      "",
      "# HELP demo_scrapes Scrapes so far, set by its collector",
      "# TYPE demo_scrapes gauge",
      "demo_scrapes 1",
      "",
    ].join("\n"),
  );
  assert.match(await registry.metrics(), /^demo_scrapes 2$/m, "the collector runs at every scrape");
});

Deno.test("metrics refuse what Prometheus would: bad names, unknown labels, counters going down", () => {
  const registry = new Registry();
  const counter = new Counter({ name: "c_total", help: "c", labelNames: ["a"] as const });
  registry.register(counter);
  assert.throws(
    () => registry.register(new Counter({ name: "c_total", help: "again" })),
    /already been registered/,
  );
  registry.register(counter); // the same one again is fine
  assert.throws(() => counter.inc({ a: "x" }, -1), /cannot go down/);
  assert.throws(() => counter.inc({ b: "x" } as never), /Label "b" is not one of c_total's/);
  assert.throws(() => new Gauge({ name: "bad-name", help: "" }), /Invalid metric name/);
  assert.throws(() => new Gauge({ name: "g", help: "", labelNames: ["bad-label"] }), /Invalid label name/);
  assert.throws(() => new Histogram({ name: "h", help: "", labelNames: ["le"] }), /reserved/);
  assert.equal(registry.getSingleMetric("c_total"), counter);
  assert.equal(registry.getSingleMetric("other"), undefined);
});

Deno.test("Gauge.reset drops labelled series; an unlabelled one goes back to 0", async () => {
  const registry = new Registry();
  const labelled = new Gauge({ name: "l", help: "l", labelNames: ["k"] as const });
  const plain = new Gauge({ name: "p", help: "p" });
  registry.register(labelled);
  registry.register(plain);
  labelled.set({ k: "a" }, 1);
  plain.set(7);
  labelled.reset();
  plain.reset();
  assert.equal(await registry.metrics(), "# HELP l l\n# TYPE l gauge\n\n# HELP p p\n# TYPE p gauge\np 0\n");
});

Deno.test(
  "promtool check metrics accepts the output",
  { ignore: PROMETHEUS_MISSING !== undefined },
  async () => {
    const child = new Deno.Command(`${PROMETHEUS_BIN}/promtool`, {
      args: ["check", "metrics"],
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const writer = child.stdin.getWriter();
    await writer.write(new TextEncoder().encode(await sample().metrics()));
    await writer.close();
    const out = await child.output();
    const text = new TextDecoder();
    assert.equal(out.code, 0, text.decode(out.stdout) + text.decode(out.stderr));
  },
);
