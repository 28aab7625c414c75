/**
 * A timeout that can be called off: what AbortSignal.timeout() gives, except that `clear()` ends it at once.
 * AbortSignal.timeout() stays pending, with its signal, for the whole timeout after the work it guards is done,
 * then fires and builds a DOMException; a burst of thousands of requests and reconciles a minute kept
 * thousands of them waiting. Like AbortSignal.timeout()'s, the timer is unref'd: it never keeps a finished
 * program running.
 */
export interface CancellableTimeout {
  /** Aborted with a TimeoutError when the time is up. */
  readonly signal: AbortSignal;
  /** Calls the timeout off; the signal then never aborts. */
  clear(): void;
}

/** A timeout `ms` from now; `what` names the work in the TimeoutError ("The request timed out"). */
export function cancellableTimeout(ms: number, what: string): CancellableTimeout {
  const controller = new AbortController();
  const timer = setTimeout(
    () => controller.abort(new DOMException(`The ${what} timed out`, "TimeoutError")),
    ms,
  );
  timer.unref();
  return { signal: controller.signal, clear: () => clearTimeout(timer) };
}
