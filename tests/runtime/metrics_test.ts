import assert from "node:assert/strict";
import { FeatureGates } from "../../controller/runtime/feature_gates.ts";
import { Metrics, RECONCILE_RESULTS } from "../../controller/runtime/metrics.ts";
import { RateLimitingQueue } from "../../controller/workqueue/rate_limiting_queue.ts";
import { FakeClock } from "../_fake/clock.ts";

/** One parsed sample line of the exposition format. */
interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** Parses the sample lines (not `# HELP`/`# TYPE`) of Prometheus text output. */
function parseSamples(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const line of text.split("\n")) {
    if (line === "" || line.startsWith("#")) continue;
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    assert.ok(match, `unparsable line: ${line}`);
    const labels: Record<string, string> = {};
    for (const [, key, value] of (match[2] ?? "").matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) {
      labels[key] = value;
    }
    samples.push({ name: match[1], labels, value: Number(match[3]) });
  }
  return samples;
}

/** The value of the one sample named `name` whose labels are exactly `labels`; fails when absent. */
function valueOf(samples: Sample[], name: string, labels: Record<string, string> = {}): number {
  const want = JSON.stringify(Object.entries(labels).sort());
  const found = samples.filter((s) =>
    s.name === name && JSON.stringify(Object.entries(s.labels).sort()) === want
  );
  assert.equal(found.length, 1, `expected one sample ${name}${want}, found ${found.length}`);
  return found[0].value;
}

async function scrape(metrics: Metrics): Promise<Sample[]> {
  return parseSamples(await metrics.text());
}

function close(actual: number, expected: number): void {
  assert.ok(Math.abs(actual - expected) < 1e-9, `expected ${expected}, got ${actual}`);
}

Deno.test("queueMetrics starts every workqueue series at zero", async () => {
  const metrics = new Metrics();
  metrics.queueMetrics<string>("cloudshell");
  const samples = await scrape(metrics);
  const labels = { name: "cloudshell" };
  for (const name of ["workqueue_depth", "workqueue_adds_total", "workqueue_retries_total"]) {
    assert.equal(valueOf(samples, name, labels), 0, name);
  }
  assert.equal(valueOf(samples, "workqueue_queue_duration_seconds_count", labels), 0);
  assert.equal(valueOf(samples, "workqueue_work_duration_seconds_count", labels), 0);
  assert.equal(valueOf(samples, "workqueue_unfinished_work_seconds", labels), 0);
  assert.equal(valueOf(samples, "workqueue_longest_running_processor_seconds", labels), 0);
});

Deno.test("queueMetrics tracks depth, adds, durations, retries and in-flight work of a real queue", async (t) => {
  const clock = new FakeClock(1_000);
  const metrics = new Metrics({ clock });
  const queue = new RateLimitingQueue<string>({ clock, metrics: metrics.queueMetrics("q") });
  const labels = { name: "q" };

  await t.step("adds and depth", async () => {
    queue.add("a");
    queue.add("b");
    queue.add("a"); // a duplicate of a pending item is not an add
    const samples = await scrape(metrics);
    assert.equal(valueOf(samples, "workqueue_adds_total", labels), 2);
    assert.equal(valueOf(samples, "workqueue_depth", labels), 2);
  });

  await t.step("queue duration is observed when a worker takes an item", async () => {
    clock.step(2_000);
    assert.equal(await queue.get(), "a");
    const samples = await scrape(metrics);
    assert.equal(valueOf(samples, "workqueue_depth", labels), 1);
    assert.equal(valueOf(samples, "workqueue_queue_duration_seconds_count", labels), 1);
    close(valueOf(samples, "workqueue_queue_duration_seconds_sum", labels), 2);
    assert.equal(valueOf(samples, "workqueue_queue_duration_seconds_bucket", { ...labels, le: "1" }), 0);
    assert.equal(valueOf(samples, "workqueue_queue_duration_seconds_bucket", { ...labels, le: "10" }), 1);
  });

  await t.step("unfinished work grows while items are in flight", async () => {
    clock.step(3_000);
    let samples = await scrape(metrics);
    close(valueOf(samples, "workqueue_unfinished_work_seconds", labels), 3);
    close(valueOf(samples, "workqueue_longest_running_processor_seconds", labels), 3);

    assert.equal(await queue.get(), "b");
    clock.step(1_000);
    samples = await scrape(metrics);
    close(valueOf(samples, "workqueue_unfinished_work_seconds", labels), 4 + 1);
    close(valueOf(samples, "workqueue_longest_running_processor_seconds", labels), 4);
  });

  await t.step("done observes work duration and ends the in-flight time", async () => {
    queue.done("a");
    const samples = await scrape(metrics);
    assert.equal(valueOf(samples, "workqueue_work_duration_seconds_count", labels), 1);
    close(valueOf(samples, "workqueue_work_duration_seconds_sum", labels), 4);
    close(valueOf(samples, "workqueue_unfinished_work_seconds", labels), 1);
    close(valueOf(samples, "workqueue_longest_running_processor_seconds", labels), 1);
  });

  await t.step("addRateLimited counts a retry", async () => {
    queue.done("b");
    queue.addRateLimited("b");
    const samples = await scrape(metrics);
    assert.equal(valueOf(samples, "workqueue_retries_total", labels), 1);
    assert.equal(valueOf(samples, "workqueue_unfinished_work_seconds", labels), 0);
  });

  queue.shutDown();
});

Deno.test("reconcile counts results, errors and time per controller", async () => {
  const metrics = new Metrics();
  const hooks = metrics.reconcile("cloudshell");
  let samples = await scrape(metrics);
  for (const result of RECONCILE_RESULTS) {
    assert.equal(
      valueOf(samples, "controller_runtime_reconcile_total", { controller: "cloudshell", result }),
      0,
    );
  }
  const labels = { controller: "cloudshell" };
  assert.equal(valueOf(samples, "controller_runtime_reconcile_errors_total", labels), 0);
  assert.equal(valueOf(samples, "controller_runtime_active_workers", labels), 0);

  hooks.observe("success", 0.2);
  hooks.observe("success", 0.1);
  hooks.observe("error", 0.05);
  hooks.observe("terminal_error", 0.3);
  hooks.observe("requeue_after", 0.05);
  const { activeWorkers, maxConcurrent } = hooks; // bound: usable as bare functions
  activeWorkers(1);
  activeWorkers(1);
  activeWorkers(-1);
  maxConcurrent(4);

  samples = await scrape(metrics);
  const total = (result: string) =>
    valueOf(samples, "controller_runtime_reconcile_total", { controller: "cloudshell", result });
  assert.equal(total("success"), 2);
  assert.equal(total("error"), 1);
  assert.equal(total("terminal_error"), 1);
  assert.equal(total("requeue_after"), 1);
  assert.equal(total("requeue"), 0);
  assert.equal(valueOf(samples, "controller_runtime_reconcile_errors_total", labels), 2);
  assert.equal(valueOf(samples, "controller_runtime_terminal_reconcile_errors_total", labels), 1);
  assert.equal(valueOf(samples, "controller_runtime_reconcile_time_seconds_count", labels), 5);
  close(valueOf(samples, "controller_runtime_reconcile_time_seconds_sum", labels), 0.7);
  assert.equal(
    valueOf(samples, "controller_runtime_reconcile_time_seconds_bucket", { ...labels, le: "0.05" }),
    2,
  );
  assert.equal(valueOf(samples, "controller_runtime_active_workers", labels), 1);
  assert.equal(valueOf(samples, "controller_runtime_max_concurrent_reconciles", labels), 4);

  // Asking again for the same controller must not reset live values.
  metrics.reconcile("cloudshell");
  samples = await scrape(metrics);
  assert.equal(valueOf(samples, "controller_runtime_active_workers", labels), 1);
  assert.equal(total("success"), 2);
});

Deno.test("onRequest is bound and counts requests by code, method and resource", async () => {
  const metrics = new Metrics();
  const onRequest = metrics.onRequest;
  onRequest({ method: "GET", resource: "pods", code: 200, durationMs: 250 });
  onRequest({ method: "GET", resource: "pods", code: 200, durationMs: 50 });
  onRequest({ method: "PATCH", resource: "jobs", code: 409, durationMs: 10 });
  onRequest({ method: "GET", resource: "pods", code: 0, durationMs: 30_000 });
  const samples = await scrape(metrics);
  const requests = "rest_client_requests_total";
  assert.equal(valueOf(samples, requests, { code: "200", method: "GET", resource: "pods" }), 2);
  assert.equal(valueOf(samples, requests, { code: "409", method: "PATCH", resource: "jobs" }), 1);
  assert.equal(valueOf(samples, requests, { code: "<error>", method: "GET", resource: "pods" }), 1);
  const duration = { verb: "GET", resource: "pods" };
  assert.equal(valueOf(samples, "rest_client_request_duration_seconds_count", duration), 3);
  close(valueOf(samples, "rest_client_request_duration_seconds_sum", duration), 30.3);
  assert.equal(
    valueOf(samples, "rest_client_request_duration_seconds_bucket", { ...duration, le: "0.1" }),
    1,
  );
});

Deno.test("informerMetrics counts events, lists and watch restarts", async () => {
  const metrics = new Metrics();
  const hooks = metrics.informerMetrics();
  hooks.event?.("cloudshells", "add");
  hooks.event?.("cloudshells", "add");
  hooks.event?.("jobs", "delete");
  hooks.list?.("cloudshells", "initial");
  hooks.watchRestart?.("jobs", "silent");
  const samples = await scrape(metrics);
  assert.equal(valueOf(samples, "informer_events_total", { resource: "cloudshells", type: "add" }), 2);
  assert.equal(valueOf(samples, "informer_events_total", { resource: "jobs", type: "delete" }), 1);
  assert.equal(valueOf(samples, "informer_lists_total", { resource: "cloudshells", reason: "initial" }), 1);
  assert.equal(valueOf(samples, "informer_watch_restarts_total", { resource: "jobs", reason: "silent" }), 1);
});

Deno.test("setLeader sets leader_election_master_status", async () => {
  const metrics = new Metrics();
  metrics.setLeader("cloudshell-operator", true);
  assert.equal(
    valueOf(await scrape(metrics), "leader_election_master_status", { name: "cloudshell-operator" }),
    1,
  );
  metrics.setLeader("cloudshell-operator", false);
  assert.equal(
    valueOf(await scrape(metrics), "leader_election_master_status", { name: "cloudshell-operator" }),
    0,
  );
});

Deno.test("setFeatureGates exports feature_enabled read at scrape time", async () => {
  const metrics = new Metrics();
  assert.equal((await scrape(metrics)).filter((s) => s.name === "feature_enabled").length, 0);
  const gates = new FeatureGates({
    Ready: { default: true, stage: "Beta" },
    Shiny: { default: false, stage: "Alpha" },
  });
  metrics.setFeatureGates(gates);
  let samples = await scrape(metrics);
  assert.equal(valueOf(samples, "feature_enabled", { name: "Ready", stage: "Beta" }), 1);
  assert.equal(valueOf(samples, "feature_enabled", { name: "Shiny", stage: "Alpha" }), 0);
  // Only declared gates, not the AllAlpha/AllBeta aggregates.
  assert.equal(samples.filter((s) => s.name === "feature_enabled").length, 2);

  gates.set("Shiny=true");
  samples = await scrape(metrics);
  assert.equal(valueOf(samples, "feature_enabled", { name: "Shiny", stage: "Alpha" }), 1);
});

Deno.test("process metrics are read at scrape time and Node.js default metrics are absent", async () => {
  const metrics = new Metrics();
  const text = await metrics.text();
  const samples = parseSamples(text);
  assert.ok(valueOf(samples, "process_resident_memory_bytes") > 0);
  assert.ok(valueOf(samples, "process_heap_bytes") > 0);
  assert.ok(valueOf(samples, "process_cpu_seconds_total") > 0);
  const start = valueOf(samples, "process_start_time_seconds");
  assert.ok(start <= Date.now() / 1000 && start > Date.now() / 1000 - 86_400, `start time ${start}`);
  assert.match(text, /# TYPE process_cpu_seconds_total counter/);
  assert.doesNotMatch(text, /nodejs_|process_open_fds/);

  // The CPU counter never decreases between scrapes.
  for (let i = 0; i < 1e5; i++) Math.sqrt(i);
  assert.ok(
    valueOf(await scrape(metrics), "process_cpu_seconds_total") >=
      valueOf(samples, "process_cpu_seconds_total"),
  );
});

Deno.test("product metrics register on the same registry, and instances never collide", async () => {
  const metrics = new Metrics();
  const other = new Metrics(); // would throw on a shared (global) registry: the names are taken
  const jobs = metrics.counter({
    name: "cloudshell_jobs_created_total",
    help: "Jobs created",
    labelNames: ["ns"],
  });
  jobs.inc({ ns: "default" });
  metrics.histogram({ name: "cloudshell_render_seconds", help: "Render time", buckets: [0.1] }).observe(0.05);
  metrics.gauge({ name: "cloudshell_ready", help: "Ready" }).set(1);
  const samples = await scrape(metrics);
  assert.equal(valueOf(samples, "cloudshell_jobs_created_total", { ns: "default" }), 1);
  assert.equal(valueOf(samples, "cloudshell_render_seconds_count"), 1);
  assert.equal(valueOf(samples, "cloudshell_ready"), 1);
  assert.ok(metrics.registry.getSingleMetric("cloudshell_ready"));
  assert.equal(other.registry.getSingleMetric("cloudshell_ready"), undefined);
  assert.match(metrics.contentType, /^text\/plain; version=0\.0\.4/);
});

Deno.test("HELP and TYPE lines use the controller-runtime names and types", async () => {
  const text = await new Metrics().text();
  const types: Record<string, string> = {
    workqueue_depth: "gauge",
    workqueue_adds_total: "counter",
    workqueue_queue_duration_seconds: "histogram",
    workqueue_work_duration_seconds: "histogram",
    workqueue_retries_total: "counter",
    workqueue_unfinished_work_seconds: "gauge",
    workqueue_longest_running_processor_seconds: "gauge",
    controller_runtime_reconcile_total: "counter",
    controller_runtime_reconcile_errors_total: "counter",
    controller_runtime_terminal_reconcile_errors_total: "counter",
    controller_runtime_reconcile_time_seconds: "histogram",
    controller_runtime_active_workers: "gauge",
    controller_runtime_max_concurrent_reconciles: "gauge",
    leader_election_master_status: "gauge",
    rest_client_requests_total: "counter",
    rest_client_request_duration_seconds: "histogram",
    informer_events_total: "counter",
    informer_lists_total: "counter",
    informer_watch_restarts_total: "counter",
    feature_enabled: "gauge",
    process_resident_memory_bytes: "gauge",
    process_heap_bytes: "gauge",
    process_cpu_seconds_total: "counter",
    process_start_time_seconds: "gauge",
  };
  for (const [name, type] of Object.entries(types)) {
    assert.ok(text.includes(`# TYPE ${name} ${type}\n`), `missing # TYPE ${name} ${type}`);
  }
});
