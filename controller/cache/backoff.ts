/**
 * Capped exponential backoff with jitter, for reconnect loops (client-go's
 * wait.Backoff). A loop calls `next()` after a failure and `reset()` after a
 * success, so a flapping API server is not hammered.
 */
export class Backoff {
  readonly #initialMs: number;
  readonly #maxMs: number;
  readonly #random: () => number;
  #currentMs: number;

  constructor(initialMs = 800, maxMs = 30_000, random: () => number = Math.random) {
    this.#initialMs = initialMs;
    this.#maxMs = maxMs;
    this.#random = random;
    this.#currentMs = initialMs;
  }

  /** The delay before the next attempt: doubles each time, capped, with up to +100% jitter. */
  next(): number {
    const base = this.#currentMs;
    this.#currentMs = Math.min(this.#maxMs, this.#currentMs * 2);
    return Math.min(this.#maxMs, base * (1 + this.#random()));
  }

  /** Starts over after a success. */
  reset(): void {
    this.#currentMs = this.#initialMs;
  }
}

/** Resolves after `ms`, or early (without throwing) when the signal aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      resolve();
    };
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}
