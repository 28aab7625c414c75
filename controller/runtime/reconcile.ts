/**
 * The reconciler contract, after controller-runtime: a reconciler gets the
 * key of an object, reads what it needs from caches, converges the world, and
 * returns when (if ever) to look again. It never sees informers or queues.
 */
import type { Logger } from "../log.ts";

/** The object to reconcile. */
export interface Request {
  /** Empty for cluster-scoped objects. */
  namespace: string;
  name: string;
}

/** What a reconcile asks for next. An empty result means "done until something changes". */
export interface Result {
  /** Look again after this long (a TTL, a poll). */
  requeueAfterMs?: number;
  /**
   * Look again with the per-item exponential backoff, without counting an
   * error: for expected waits such as a Secret that does not exist yet.
   */
  backoff?: boolean;
}

/** What a reconcile runs with. */
export interface ReconcileContext {
  /** Aborts when the reconcile times out or the controller stops. */
  signal: AbortSignal;
  /** A logger carrying the controller name, the key and a reconcile ID. */
  logger: Logger;
}

/** Converges one object; throwing retries with backoff. */
export interface Reconciler {
  reconcile(request: Request, context: ReconcileContext): Promise<Result>;
}

/** An error that retrying cannot fix: logged and counted, never retried. */
export class TerminalError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "TerminalError";
  }
}
