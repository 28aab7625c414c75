/**
 * Rate limiters deciding how long a failed item waits before it is retried, modelled on client-go's
 * `util/workqueue` rate limiters.
 *
 * @module
 */

import { type Clock, realClock } from "./clock.ts";

/** Decides retry delays for items. */
export interface RateLimiter<T> {
  /** Records another requeue of `item` and returns how long (ms) it should wait before being processed. */
  when(item: T): number;
  /** Stops tracking `item`, typically after it was processed successfully, resetting its backoff. */
  forget(item: T): void;
  /** How many times `item` has been requeued since it was last forgotten. */
  numRequeues(item: T): number;
}

/**
 * Per-item exponential backoff: the n-th consecutive requeue of an item (counting from 0) waits
 * `baseMs * 2^n`, capped at `maxMs`.
 */
export class ItemExponentialFailureRateLimiter<T> implements RateLimiter<T> {
  #failures = new Map<T, number>();
  #baseMs: number;
  #maxMs: number;

  /**
   * @param baseMs delay of the first requeue (finite, >= 0)
   * @param maxMs cap (>= baseMs; may be `Infinity`)
   * @throws RangeError for bounds outside those ranges
   */
  constructor(baseMs: number, maxMs: number) {
    if (!(Number.isFinite(baseMs) && baseMs >= 0)) throw new RangeError(`baseMs must be >= 0, got ${baseMs}`);
    if (!(maxMs >= baseMs)) throw new RangeError(`maxMs (${maxMs}) must be >= baseMs (${baseMs})`);
    this.#baseMs = baseMs;
    this.#maxMs = maxMs;
  }

  /** Returns the backoff for this requeue of `item` and counts the failure. */
  when(item: T): number {
    const failures = this.#failures.get(item) ?? 0;
    this.#failures.set(item, failures + 1);
    // Clamp the exponent so 2^n stays finite: base * Infinity would be NaN for base 0.
    const backoff = this.#baseMs * 2 ** Math.min(failures, 1023);
    return backoff > this.#maxMs ? this.#maxMs : backoff;
  }

  /** Resets the backoff of `item`. */
  forget(item: T): void {
    this.#failures.delete(item);
  }

  /** Number of failures recorded for `item` since it was last forgotten. */
  numRequeues(item: T): number {
    return this.#failures.get(item) ?? 0;
  }
}

/**
 * An overall token bucket shared by all items, like golang.org/x/time/rate: the bucket holds up to
 * `burst` tokens, refills at `qps` tokens per second, and starts full. Each {@link when} reserves a token
 * and returns how long until that token is available, so callers may go into debt and later reservations
 * queue up behind earlier ones at intervals of `1000 / qps` ms.
 */
export class BucketRateLimiter<T> implements RateLimiter<T> {
  #qps: number;
  #burst: number;
  #clock: Clock;
  /** Tokens available at time `#last`; negative when reservations are outstanding. */
  #tokens: number;
  #last: number;

  /**
   * @param qps refill rate in tokens per second (> 0; `Infinity` disables limiting)
   * @param burst bucket size (>= 1)
   * @throws RangeError for a non-positive `qps` or a `burst` below 1
   */
  constructor(qps: number, burst: number, clock: Clock = realClock) {
    if (!(qps > 0)) throw new RangeError(`qps must be > 0, got ${qps}`);
    if (!(Number.isFinite(burst) && burst >= 1)) throw new RangeError(`burst must be >= 1, got ${burst}`);
    this.#qps = qps;
    this.#burst = burst;
    this.#clock = clock;
    this.#tokens = burst;
    this.#last = clock.now();
  }

  /** Reserves a token and returns the delay (ms) until it is available; 0 while the burst lasts. */
  when(_item: T): number {
    if (this.#qps === Infinity) return 0;
    const now = this.#clock.now();
    // Refill for the elapsed time; a clock reading in the past is treated as no time elapsed.
    const elapsed = Math.max(0, now - this.#last);
    this.#tokens = Math.min(this.#burst, this.#tokens + (elapsed * this.#qps) / 1000);
    this.#last = Math.max(now, this.#last);
    this.#tokens -= 1;
    return this.#tokens >= 0 ? 0 : (-this.#tokens * 1000) / this.#qps;
  }

  /** No-op: the bucket is shared, not per item. */
  forget(_item: T): void {}

  /** Always 0: the bucket does not track items. */
  numRequeues(_item: T): number {
    return 0;
  }
}

/** Combines limiters: the delay is the longest any of them asks for, and requeues the highest count. */
export class MaxOfRateLimiter<T> implements RateLimiter<T> {
  #limiters: RateLimiter<T>[];

  /** @param limiters consulted on every call; all of them record every requeue. */
  constructor(...limiters: RateLimiter<T>[]) {
    this.#limiters = limiters;
  }

  /** Asks every limiter (so each records the requeue) and returns the longest delay. */
  when(item: T): number {
    let delay = 0;
    for (const limiter of this.#limiters) delay = Math.max(delay, limiter.when(item));
    return delay;
  }

  /** Forgets `item` in every limiter. */
  forget(item: T): void {
    for (const limiter of this.#limiters) limiter.forget(item);
  }

  /** The highest requeue count reported by any limiter. */
  numRequeues(item: T): number {
    let n = 0;
    for (const limiter of this.#limiters) n = Math.max(n, limiter.numRequeues(item));
    return n;
  }
}

/** Tunables of {@link defaultControllerRateLimiter}; the defaults are client-go's. */
export interface DefaultControllerRateLimiterOptions {
  /** First per-item backoff. Default 5 ms. */
  baseDelayMs?: number;
  /** Cap of the per-item backoff. Default 1000 s. */
  maxDelayMs?: number;
  /** Overall retry rate. Default 10 per second. */
  qps?: number;
  /** Overall retry burst. Default 100. */
  burst?: number;
}

/**
 * client-go's `DefaultControllerRateLimiter`: the maximum of per-item exponential backoff (5 ms doubling
 * up to 1000 s) and an overall token bucket (10 qps, burst 100) so that many failing items cannot
 * overwhelm the API server.
 */
export function defaultControllerRateLimiter<T>(
  clock: Clock = realClock,
  options: DefaultControllerRateLimiterOptions = {},
): RateLimiter<T> {
  const { baseDelayMs = 5, maxDelayMs = 1_000_000, qps = 10, burst = 100 } = options;
  return new MaxOfRateLimiter<T>(
    new ItemExponentialFailureRateLimiter<T>(baseDelayMs, maxDelayMs),
    new BucketRateLimiter<T>(qps, burst, clock),
  );
}
