/**
 * A controller: a rate-limited work queue of object keys, informer handlers
 * that feed it, and workers that hand each key to a reconciler. This is where
 * the requeue decision, timing, timeouts and metrics of every reconcile live,
 * so reconcilers stay free of them (controller-runtime's reconcileHandler).
 */
import type { EventHandler } from "../cache/informer.ts";
import { cancellableTimeout } from "../kube/cancellable_timeout.ts";
import { keyOf, splitKey } from "../kube/object_key.ts";
import type { KubeObject } from "../kube/types.ts";
import { errorMessage, type Logger } from "../log.ts";
import {
  DEFAULT_PRIORITY,
  type RateLimiter,
  RateLimitingQueue,
  type RateLimitingQueueMetrics,
} from "../workqueue/mod.ts";
import { type Reconciler, type Result, TerminalError } from "./reconcile.ts";

/** How a reconcile ended, as counted in metrics. */
export type ReconcileOutcome = "success" | "error" | "requeue" | "requeue_after" | "terminal_error";

/** Metrics a controller reports (all optional). */
export interface ControllerMetrics {
  queue?: RateLimitingQueueMetrics<string>;
  reconciled?(outcome: ReconcileOutcome, seconds: number): void;
  activeWorkers?(delta: number): void;
  maxConcurrent?(n: number): void;
}

/** Options of a controller. */
export interface ControllerOptions {
  name: string;
  reconciler: Reconciler;
  logger: Logger;
  /** Concurrent reconciles (distinct keys only: one key is never reconciled twice at once). */
  workers?: number;
  rateLimiter?: RateLimiter<string>;
  /** A reconcile still running after this long is aborted and retried. */
  reconcileTimeoutMs?: number;
  metrics?: ControllerMetrics;
}

let reconcileCounter = 0;

/** Feeds keys to a reconciler through a rate-limited queue. */
export class Controller {
  readonly name: string;
  readonly #queue: RateLimitingQueue<string>;
  readonly #opts: ControllerOptions;
  readonly #log: Logger;

  constructor(opts: ControllerOptions) {
    this.name = opts.name;
    this.#opts = opts;
    this.#log = opts.logger.with({ controller: opts.name });
    this.#queue = new RateLimitingQueue<string>({
      rateLimiter: opts.rateLimiter,
      metrics: opts.metrics?.queue,
    });
  }

  /** Queues a key (`namespace/name`) for reconciling. */
  enqueue(key: string): void {
    this.#queue.add(key);
  }

  /** Queues a key after a delay. */
  enqueueAfter(key: string, delayMs: number): void {
    this.#queue.addAfter(key, delayMs);
  }

  /** Number of keys waiting. */
  queueLength(): number {
    return this.#queue.len();
  }

  /**
   * An informer handler that enqueues the keys `map` returns for each object
   * (the object itself, or its owner). Updates that `changed` rejects are skipped.
   * Keys of a higher `priority` are reconciled before those waiting with a lower one.
   */
  handler<T extends KubeObject>(
    map: (obj: T) => string | string[] | undefined,
    changed: (oldObj: T, newObj: T) => boolean = () => true,
    priority: number = DEFAULT_PRIORITY,
  ): EventHandler<T> {
    const enqueue = (obj: T) => {
      const keys = map(obj);
      if (keys === undefined) return;
      for (const key of Array.isArray(keys) ? keys : [keys]) this.#queue.add(key, priority);
    };
    return {
      onAdd: enqueue,
      onUpdate: (oldObj, newObj) => {
        if (changed(oldObj, newObj)) enqueue(newObj);
      },
      onDelete: enqueue,
    };
  }

  /** A handler that enqueues the object itself. */
  selfHandler<T extends KubeObject>(changed?: (oldObj: T, newObj: T) => boolean): EventHandler<T> {
    return this.handler<T>((obj) => keyOf(obj), changed);
  }

  /**
   * Runs the workers until the signal aborts, then stops taking new keys and
   * waits up to `drainTimeoutMs` for reconciles in flight.
   */
  async run(signal: AbortSignal, drainTimeoutMs = 30_000): Promise<void> {
    const workers = Math.max(1, this.#opts.workers ?? 1);
    this.#opts.metrics?.maxConcurrent?.(workers);
    this.#log.info("Starting workers", { workers });
    const running = Array.from({ length: workers }, () => this.#worker());
    await new Promise<void>((resolve) => {
      if (signal.aborted) return resolve();
      signal.addEventListener("abort", () => resolve(), { once: true });
    });
    this.#log.info("Stopping workers, draining reconciles in flight", { drainTimeoutMs });
    const drained = this.#queue.shutDownWithDrain();
    const timer = setTimeout(() => this.#queue.shutDown(), drainTimeoutMs);
    await drained;
    clearTimeout(timer);
    await Promise.all(running);
    this.#log.info("Workers stopped");
  }

  async #worker(): Promise<void> {
    for (let key = await this.#queue.get(); key !== undefined; key = await this.#queue.get()) {
      this.#opts.metrics?.activeWorkers?.(1);
      try {
        await this.#process(key);
      } finally {
        this.#opts.metrics?.activeWorkers?.(-1);
        this.#queue.done(key);
      }
    }
  }

  async #process(key: string): Promise<void> {
    const { namespace, name } = splitKey(key);
    const reconcileID = (++reconcileCounter).toString(36);
    const logger = this.#log.with({ key, reconcileID });
    // Called off when the reconcile ends (cancellable_timeout.ts), not left pending for the whole timeout.
    const timeout = cancellableTimeout(this.#opts.reconcileTimeoutMs ?? 60_000, "reconcile");
    const started = performance.now();
    let outcome: ReconcileOutcome;
    let result: Result = {};
    try {
      result = await this.#opts.reconciler.reconcile({ namespace, name }, { signal: timeout.signal, logger });
      if (result.requeueAfterMs !== undefined && result.requeueAfterMs >= 0) {
        this.#queue.forget(key);
        this.#queue.addAfter(key, result.requeueAfterMs);
        outcome = "requeue_after";
      } else if (result.backoff) {
        this.#queue.addRateLimited(key);
        outcome = "requeue";
      } else {
        this.#queue.forget(key);
        outcome = "success";
      }
    } catch (err) {
      if (err instanceof TerminalError) {
        this.#queue.forget(key);
        outcome = "terminal_error";
        logger.error("Reconcile failed permanently", { error: errorMessage(err) });
      } else {
        this.#queue.addRateLimited(key);
        outcome = "error";
        logger.warn("Reconcile failed, will retry", {
          error: errorMessage(err),
          retries: this.#queue.numRequeues(key),
        });
      }
    }
    timeout.clear();
    const seconds = (performance.now() - started) / 1000;
    this.#opts.metrics?.reconciled?.(outcome, seconds);
    logger.debug("Reconciled", { outcome, durationMs: Math.round(seconds * 1000) });
  }
}
