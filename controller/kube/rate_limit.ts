/**
 * Client-side request throttling, like client-go's `--kube-api-qps` and
 * `--kube-api-burst`: a token bucket that requests wait on before they are sent.
 */

/** A token bucket that hands out `qps` tokens a second, holding at most `burst`. */
export class TokenBucket {
  readonly #qps: number;
  readonly #burst: number;
  #tokens: number;
  #last: number;
  readonly #now: () => number;

  constructor(qps: number, burst: number, now: () => number = () => performance.now()) {
    if (!(qps > 0) || !(burst >= 1)) throw new RangeError(`Invalid rate limit: qps ${qps}, burst ${burst}`);
    this.#qps = qps;
    this.#burst = burst;
    this.#tokens = burst;
    this.#now = now;
    this.#last = now();
  }

  /** Reserves one token and returns how many milliseconds to wait before using it. */
  reserve(): number {
    const now = this.#now();
    this.#tokens = Math.min(this.#burst, this.#tokens + ((now - this.#last) / 1000) * this.#qps);
    this.#last = now;
    this.#tokens -= 1;
    return this.#tokens >= 0 ? 0 : (-this.#tokens / this.#qps) * 1000;
  }

  /** Waits for a token; rejects if the signal aborts first or already has. */
  async take(signal?: AbortSignal): Promise<void> {
    const wait = this.reserve();
    if (wait <= 0) return;
    await abortableSleep(wait, signal);
  }
}

/**
 * Waits `ms`; rejects with the signal's reason if it aborts first (or already has). For waits after which
 * the caller would only fail anyway; `sleep` of cache/backoff.ts resolves instead, for loops that check
 * the signal themselves.
 */
export function abortableSleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

/** Caps how many requests are in flight at once; the rest wait in arrival order. */
export class Semaphore {
  readonly #max: number;
  #inUse = 0;
  readonly #waiting: (() => void)[] = [];

  constructor(max: number) {
    if (!(max >= 1)) throw new RangeError(`Invalid concurrency limit ${max}`);
    this.#max = max;
  }

  /** Waits for a slot; call the returned function to give it back. */
  async acquire(): Promise<() => void> {
    if (this.#inUse >= this.#max) await new Promise<void>((resolve) => this.#waiting.push(resolve));
    else this.#inUse++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = this.#waiting.shift();
      // The slot passes straight to the next waiter, so #inUse stays the same.
      if (next) next();
      else this.#inUse--;
    };
  }
}
