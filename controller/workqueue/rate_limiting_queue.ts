/**
 * A delaying work queue whose retries are paced by a {@link RateLimiter}, modelled on client-go's
 * rate-limiting queue.
 *
 * @module
 */

import { realClock } from "./clock.ts";
import { DelayingQueue } from "./delaying_queue.ts";
import type { QueueMetrics, QueueOptions } from "./queue.ts";
import { defaultControllerRateLimiter, type RateLimiter } from "./rate_limiter.ts";

/** {@link QueueMetrics} plus a hook for rate-limited retries. */
export interface RateLimitingQueueMetrics<T> extends QueueMetrics<T> {
  /** `item` was requeued through {@link RateLimitingQueue.addRateLimited}. */
  onRetry?(item: T): void;
}

/** Construction options of {@link RateLimitingQueue}. */
export interface RateLimitingQueueOptions<T> extends QueueOptions<T> {
  /** Observation hooks. Defaults to no-ops. */
  metrics?: RateLimitingQueueMetrics<T>;
  /** Retry policy. Defaults to {@link defaultControllerRateLimiter} on the queue's clock. */
  rateLimiter?: RateLimiter<T>;
}

/**
 * A {@link DelayingQueue} with {@link addRateLimited} for retries. Call {@link forget} once an item was
 * processed successfully so its next failure starts again from the shortest backoff.
 */
export class RateLimitingQueue<T> extends DelayingQueue<T> {
  #limiter: RateLimiter<T>;
  #metrics: RateLimitingQueueMetrics<T>;

  /** Creates an empty, running queue. */
  constructor(options: RateLimitingQueueOptions<T> = {}) {
    super(options);
    this.#limiter = options.rateLimiter ?? defaultControllerRateLimiter<T>(options.clock ?? realClock);
    this.#metrics = options.metrics ?? {};
  }

  /**
   * Adds `item` after the delay the rate limiter chooses, counting a requeue. Ignored while shutting
   * down, without consulting the limiter, so a stopping controller does not inflate backoffs.
   */
  addRateLimited(item: T): void {
    if (this.shuttingDown()) return;
    this.#metrics.onRetry?.(item);
    this.addAfter(item, this.#limiter.when(item));
  }

  /**
   * Resets the rate limiter's record of `item` (its backoff and requeue count). It does not remove the
   * item from the queue.
   */
  forget(item: T): void {
    this.#limiter.forget(item);
  }

  /** How many times `item` was rate-limited since it was last forgotten. */
  numRequeues(item: T): number {
    return this.#limiter.numRequeues(item);
  }
}
