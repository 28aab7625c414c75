/**
 * Prometheus metrics under the names controller-runtime and client-go use, so existing Kubernetes
 * dashboards and alerts work unchanged: `workqueue_*`, `controller_runtime_*`,
 * `leader_election_master_status`, `rest_client_*`, plus informer counters, `feature_enabled` and a few
 * `process_*` series.
 *
 * {@linkcode Metrics} owns its own `Registry` (prometheus.ts; never a global one, so tests and several
 * instances never collide) and knows nothing of the product: the layers below receive plain hook objects
 * from its adapter methods, and product code registers its own series with {@linkcode Metrics.counter},
 * {@linkcode Metrics.gauge} and {@linkcode Metrics.histogram}.
 *
 * There are no Node.js default metrics (prom-client's `collectDefaultMetrics`, used before prometheus.ts
 * replaced prom-client, kept event-loop-lag timers and garbage-collection observers alive for series no
 * Kubernetes dashboard reads).
 *
 * @example
 * ```ts
 * import { Metrics } from "./metrics.ts";
 * const metrics = new Metrics();
 * const hooks = metrics.queueMetrics<string>("cloudshell");
 * hooks.onAdd?.("default/demo");
 * console.log(await metrics.text());
 * ```
 *
 * @module
 */

import {
  Counter,
  type CounterConfiguration,
  Gauge,
  type GaugeConfiguration,
  Histogram,
  type HistogramConfiguration,
  Registry,
} from "./prometheus.ts";
import type { InformerMetrics } from "../cache/informer.ts";
import type { RequestInfo } from "../kube/client.ts";
import { type Clock, realClock } from "../workqueue/clock.ts";
import type { RateLimitingQueueMetrics } from "../workqueue/rate_limiting_queue.ts";
import type { FeatureGates } from "./feature_gates.ts";

/** Outcome of one reconcile, the `result` label of `controller_runtime_reconcile_total`. */
export type ReconcileResult = "success" | "error" | "requeue" | "requeue_after" | "terminal_error";

/** Every {@linkcode ReconcileResult}, in the order their series are initialised. */
export const RECONCILE_RESULTS: readonly ReconcileResult[] = Object.freeze([
  "success",
  "error",
  "requeue",
  "requeue_after",
  "terminal_error",
]);

/** Hooks one controller's worker loop reports through; see {@linkcode Metrics.reconcile}. */
export interface ReconcileMetrics {
  /**
   * Counts one finished reconcile and records how long it took.
   *
   * @param result how it ended; `error` and `terminal_error` also count as reconcile errors
   * @param seconds wall time of the reconcile call
   */
  observe(result: ReconcileResult, seconds: number): void;
  /**
   * Moves the number of workers currently inside a reconcile call.
   *
   * @param delta `+1` when a worker starts a reconcile, `-1` when it returns
   */
  activeWorkers(delta: number): void;
  /**
   * Records the controller's worker count.
   *
   * @param n how many reconciles may run at once
   */
  maxConcurrent(n: number): void;
}

/** Construction options of {@linkcode Metrics}. */
export interface MetricsOptions {
  /**
   * Time source for the in-flight work gauges; give tests the fake clock the queue uses.
   * @default {realClock}
   */
  clock?: Clock;
}

/** client-go's workqueue latency buckets: `ExponentialBuckets(10e-9, 10, 12)`, 10 ns to 1000 s. */
const QUEUE_BUCKETS = [1e-8, 1e-7, 1e-6, 1e-5, 1e-4, 1e-3, 1e-2, 1e-1, 1, 10, 100, 1000];

/** controller-runtime's `controller_runtime_reconcile_time_seconds` buckets. */
// deno-fmt-ignore
const RECONCILE_BUCKETS = [
  0.005, 0.01, 0.025, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0,
  1.25, 1.5, 1.75, 2.0, 2.5, 3.0, 3.5, 4.0, 4.5, 5, 6, 7, 8, 9, 10, 15, 20, 25, 30, 40, 50, 60,
];

/** client-go's `rest_client_request_duration_seconds` buckets. */
const REST_BUCKETS = [0.005, 0.025, 0.1, 0.25, 0.5, 1, 2, 4, 8, 15, 30, 60];

/** A registry of the standard controller series plus whatever product code adds. */
export class Metrics {
  readonly #registry = new Registry();
  readonly #clock: Clock;
  /** Per queue name, when each in-flight item was handed to a worker (clock milliseconds). */
  readonly #inFlight = new Map<string, Map<unknown, number>>();
  #gates: FeatureGates | undefined;
  #cpuSeconds = 0;

  readonly #queueDepth;
  readonly #queueAdds;
  readonly #queueLatency;
  readonly #workDuration;
  readonly #retries;
  readonly #unfinished: Gauge<"name">;
  readonly #longest: Gauge<"name">;
  readonly #reconcileTotal;
  readonly #reconcileErrors;
  readonly #terminalErrors;
  readonly #reconcileTime;
  readonly #activeWorkers;
  readonly #maxConcurrent;
  readonly #leader;
  readonly #requests;
  readonly #requestDuration;
  readonly #informerEvents;
  readonly #informerLists;
  readonly #watchRestarts;
  readonly #features;

  /**
   * Creates the registry and every standard series.
   *
   * @param options clock for the in-flight work gauges
   */
  constructor(options: MetricsOptions = {}) {
    this.#clock = options.clock ?? realClock;
    const name = ["name"] as const;
    const controller = ["controller"] as const;
    const resource = ["resource"] as const;

    this.#queueDepth = this.gauge({
      name: "workqueue_depth",
      help: "Current depth of workqueue",
      labelNames: name,
    });
    this.#queueAdds = this.counter({
      name: "workqueue_adds_total",
      help: "Total number of adds handled by workqueue",
      labelNames: name,
    });
    this.#queueLatency = this.histogram({
      name: "workqueue_queue_duration_seconds",
      help: "How long in seconds an item stays in workqueue before being requested",
      labelNames: name,
      buckets: QUEUE_BUCKETS,
    });
    this.#workDuration = this.histogram({
      name: "workqueue_work_duration_seconds",
      help: "How long in seconds processing an item from workqueue takes",
      labelNames: name,
      buckets: QUEUE_BUCKETS,
    });
    this.#retries = this.counter({
      name: "workqueue_retries_total",
      help: "Total number of retries handled by workqueue",
      labelNames: name,
    });
    this.#unfinished = this.gauge({
      name: "workqueue_unfinished_work_seconds",
      help: "How many seconds of work has been done that is in progress and hasn't been observed by " +
        "work_duration. Large values indicate stuck threads",
      labelNames: name,
      collect: (): void => this.#collectInFlight(this.#unfinished, "sum"),
    });
    this.#longest = this.gauge({
      name: "workqueue_longest_running_processor_seconds",
      help: "How many seconds has the longest running processor for workqueue been running",
      labelNames: name,
      collect: (): void => this.#collectInFlight(this.#longest, "max"),
    });

    this.#reconcileTotal = this.counter({
      name: "controller_runtime_reconcile_total",
      help: "Total number of reconciliations per controller",
      labelNames: ["controller", "result"] as const,
    });
    this.#reconcileErrors = this.counter({
      name: "controller_runtime_reconcile_errors_total",
      help: "Total number of reconciliation errors per controller",
      labelNames: controller,
    });
    this.#terminalErrors = this.counter({
      name: "controller_runtime_terminal_reconcile_errors_total",
      help: "Total number of terminal reconciliation errors per controller",
      labelNames: controller,
    });
    this.#reconcileTime = this.histogram({
      name: "controller_runtime_reconcile_time_seconds",
      help: "Length of time per reconciliation per controller",
      labelNames: controller,
      buckets: RECONCILE_BUCKETS,
    });
    this.#activeWorkers = this.gauge({
      name: "controller_runtime_active_workers",
      help: "Number of currently used workers per controller",
      labelNames: controller,
    });
    this.#maxConcurrent = this.gauge({
      name: "controller_runtime_max_concurrent_reconciles",
      help: "Maximum number of concurrent reconciles per controller",
      labelNames: controller,
    });

    this.#leader = this.gauge({
      name: "leader_election_master_status",
      help: "Gauge of if the reporting system is master of the relevant lease, 0 indicates backup, " +
        "1 indicates master. 'name' is the string used to identify the lease",
      labelNames: name,
    });

    this.#requests = this.counter({
      name: "rest_client_requests_total",
      help: "Number of HTTP requests, partitioned by status code, method, and resource",
      labelNames: ["code", "method", "resource"] as const,
    });
    this.#requestDuration = this.histogram({
      name: "rest_client_request_duration_seconds",
      help: "Request latency in seconds. Broken down by verb and resource",
      labelNames: ["verb", "resource"] as const,
      buckets: REST_BUCKETS,
    });

    this.#informerEvents = this.counter({
      name: "informer_events_total",
      help: "Watch and list events applied to an informer's cache, by resource and type",
      labelNames: ["resource", "type"] as const,
    });
    this.#informerLists = this.counter({
      name: "informer_lists_total",
      help: "Full lists made by an informer, by resource and reason",
      labelNames: [...resource, "reason"] as const,
    });
    this.#watchRestarts = this.counter({
      name: "informer_watch_restarts_total",
      help: "Watches an informer restarted, by resource and reason",
      labelNames: [...resource, "reason"] as const,
    });

    this.#features = this.gauge({
      name: "feature_enabled",
      help: "This metric records the data about the stage and enablement of a k8s feature",
      labelNames: ["name", "stage"] as const,
      collect: () => this.#collectFeatures(),
    });

    this.#registerProcessMetrics();
  }

  /** The registry behind every series. */
  get registry(): Registry {
    return this.#registry;
  }

  /** The `Content-Type` of {@linkcode Metrics.text}'s output (Prometheus text format 0.0.4). */
  get contentType(): string {
    return this.#registry.contentType;
  }

  /** Renders every series in the Prometheus text exposition format, running scrape-time collectors. */
  text(): Promise<string> {
    return this.#registry.metrics();
  }

  /**
   * Creates a counter on this registry.
   *
   * @param config name, help, label names and an optional scrape-time collector
   */
  counter<T extends string>(config: CounterConfiguration<T>): Counter<T> {
    const metric = new Counter<T>(config);
    this.#registry.register(metric);
    return metric;
  }

  /**
   * Creates a gauge on this registry.
   *
   * @param config name, help, label names and an optional scrape-time collector
   */
  gauge<T extends string>(config: GaugeConfiguration<T>): Gauge<T> {
    const metric = new Gauge<T>(config);
    this.#registry.register(metric);
    return metric;
  }

  /**
   * Creates a histogram on this registry.
   *
   * @param config name, help, label names, buckets and an optional scrape-time collector
   */
  histogram<T extends string>(config: HistogramConfiguration<T>): Histogram<T> {
    const metric = new Histogram<T>(config);
    this.#registry.register(metric);
    return metric;
  }

  /**
   * Returns hooks for one named work queue (`metrics` of `RateLimitingQueue`). Its series start at zero
   * so dashboards show the queue before its first item. Use one queue per name: queues sharing a name
   * share their series and in-flight bookkeeping.
   *
   * @param name the `name` label, usually the controller name
   */
  queueMetrics<T>(name: string): RateLimitingQueueMetrics<T> {
    const labels = { name };
    const inFlight = this.#inFlight.get(name) ?? new Map<unknown, number>();
    this.#inFlight.set(name, inFlight);
    this.#queueDepth.inc(labels, 0);
    this.#queueAdds.inc(labels, 0);
    this.#retries.inc(labels, 0);
    this.#queueLatency.zero(labels);
    this.#workDuration.zero(labels);
    return {
      onAdd: () => this.#queueAdds.inc(labels),
      onGet: (item, waitedMs) => {
        this.#queueLatency.observe(labels, waitedMs / 1000);
        inFlight.set(item, this.#clock.now());
      },
      onDone: (item, workedMs) => {
        this.#workDuration.observe(labels, workedMs / 1000);
        inFlight.delete(item);
      },
      depth: (n) => this.#queueDepth.set(labels, n),
      onRetry: () => this.#retries.inc(labels),
    };
  }

  /** Returns hooks for informers (`metrics` of `InformerOptions`); one object serves every informer. */
  informerMetrics(): InformerMetrics {
    return {
      event: (resource, type) => this.#informerEvents.inc({ resource, type }),
      list: (resource, reason) => this.#informerLists.inc({ resource, reason }),
      watchRestart: (resource, reason) => this.#watchRestarts.inc({ resource, reason }),
    };
  }

  /**
   * Records one finished API request; already bound, so pass it as the kube client's `onRequest`.
   * A request that got no answer (code 0) is counted with code `<error>`, as client-go does.
   */
  readonly onRequest = (info: RequestInfo): void => {
    const code = info.code === 0 ? "<error>" : String(info.code);
    this.#requests.inc({ code, method: info.method, resource: info.resource });
    this.#requestDuration.observe({ verb: info.method, resource: info.resource }, info.durationMs / 1000);
  };

  /**
   * Returns the hooks of one controller's workers and initialises its series at zero, as
   * controller-runtime does, so rates and ratios exist before the first reconcile. The hooks are bound
   * functions and may be passed around on their own.
   *
   * @param controller the `controller` label
   */
  reconcile(controller: string): ReconcileMetrics {
    const labels = { controller };
    for (const result of RECONCILE_RESULTS) this.#reconcileTotal.inc({ controller, result }, 0);
    this.#reconcileErrors.inc(labels, 0);
    this.#terminalErrors.inc(labels, 0);
    this.#reconcileTime.zero(labels);
    // inc(0), not set(0): a second call for the same controller must not reset a live count.
    this.#activeWorkers.inc(labels, 0);
    return {
      observe: (result, seconds) => {
        this.#reconcileTotal.inc({ controller, result });
        // controller-runtime counts terminal errors in reconcile_errors_total as well.
        if (result === "error" || result === "terminal_error") this.#reconcileErrors.inc(labels);
        if (result === "terminal_error") this.#terminalErrors.inc(labels);
        this.#reconcileTime.observe(labels, seconds);
      },
      activeWorkers: (delta) => this.#activeWorkers.inc(labels, delta),
      maxConcurrent: (n) => this.#maxConcurrent.set(labels, n),
    };
  }

  /**
   * Sets `leader_election_master_status` for a lease.
   *
   * @param name the lease name
   * @param leading whether this process holds the lease
   */
  setLeader(name: string, leading: boolean): void {
    this.#leader.set({ name }, leading ? 1 : 0);
  }

  /**
   * Exports `feature_enabled{name,stage}` for every declared gate. Values are read at scrape time, so
   * gates set after this call are reflected.
   *
   * @param gates the process's feature gates
   */
  setFeatureGates(gates: FeatureGates): void {
    this.#gates = gates;
  }

  /** Sets `gauge{name}` to the sum or maximum of the in-flight times of each queue, in seconds. */
  #collectInFlight(gauge: Gauge<"name">, mode: "sum" | "max"): void {
    const now = this.#clock.now();
    for (const [name, inFlight] of this.#inFlight) {
      let value = 0;
      for (const started of inFlight.values()) {
        const seconds = Math.max(0, now - started) / 1000;
        value = mode === "sum" ? value + seconds : Math.max(value, seconds);
      }
      gauge.set({ name }, value);
    }
  }

  #collectFeatures(): void {
    const gates = this.#gates;
    if (gates === undefined) return;
    // Reset so a replaced FeatureGates instance leaves no stale gate behind.
    this.#features.reset();
    for (const [name, enabled] of Object.entries(gates.effective())) {
      this.#features.set({ name, stage: gates.stage(name) }, enabled ? 1 : 0);
    }
  }

  #registerProcessMetrics(): void {
    // Values are read at scrape time: no timers, nothing retained between scrapes.
    const rss: Gauge = this.gauge({
      name: "process_resident_memory_bytes",
      help: "Resident memory size in bytes",
      collect: (): void => rss.set(Deno.memoryUsage().rss),
    });
    const heap: Gauge = this.gauge({
      name: "process_heap_bytes",
      help: "JavaScript heap in use, in bytes",
      collect: (): void => heap.set(Deno.memoryUsage().heapUsed),
    });
    const cpu = this.counter({
      name: "process_cpu_seconds_total",
      help: "Total user and system CPU time spent in seconds",
      collect: () => {
        const total = cpuSeconds();
        // A counter only goes up: add what was spent since the last scrape.
        if (total > this.#cpuSeconds) cpu.inc(total - this.#cpuSeconds);
        this.#cpuSeconds = Math.max(this.#cpuSeconds, total);
      },
    });
    this.gauge({
      name: "process_start_time_seconds",
      help: "Start time of the process since unix epoch in seconds",
    })
      .set(performance.timeOrigin / 1000);
  }
}

/**
 * Deno.cpuUsage(): the process's user and system CPU time in microseconds (Deno 2.2+, denoland/deno#27217,
 * the function behind node:process's cpuUsage; not in Deno's type declarations yet). Not /proc/self/stat:
 * Deno lets a process read /proc/self only with every permission, which the operator does not run with.
 */
const denoCpuUsage = (Deno as unknown as { cpuUsage?: () => { user: number; system: number } }).cpuUsage;

/** User and system CPU time of this process so far, in seconds (0 where the runtime cannot tell). */
function cpuSeconds(): number {
  if (!denoCpuUsage) return 0;
  const { user, system } = denoCpuUsage();
  return (user + system) / 1e6;
}
