/**
 * Generic work queues with the semantics of client-go's `util/workqueue`, independent of Kubernetes.
 *
 * - {@link Queue}: de-duplicating FIFO. An item added while pending is queued once; an item added while a
 *   worker processes it is queued again after that worker calls `done()`, never handed to a second worker
 *   meanwhile.
 * - {@link DelayingQueue}: adds `addAfter(item, delayMs)`; when an item is already waiting, the earlier
 *   ready time wins.
 * - {@link RateLimitingQueue}: adds `addRateLimited(item)` for retries with backoff from a
 *   {@link RateLimiter} ({@link defaultControllerRateLimiter} unless given one).
 *
 * Contract for workers:
 *
 * 1. Loop on `await queue.get()` and exit when it resolves `undefined` (the queue is shutting down).
 * 2. Always call `queue.done(item)` when finished with an item, in a `finally`, whatever the outcome;
 *    otherwise the item is never handed out again and a drain never completes.
 * 3. On success call `queue.forget(item)` to reset its backoff; on failure call
 *    `queue.addRateLimited(item)` before `done()`.
 * 4. Items must be primitives such as string keys (e.g. `namespace/name`): identity is by value in
 *    `Set`/`Map`, so two equal objects would count as different items.
 *
 * ```ts
 * const queue = new RateLimitingQueue<string>();
 * async function worker(): Promise<void> {
 *   for (let key = await queue.get(); key !== undefined; key = await queue.get()) {
 *     try {
 *       await reconcile(key);
 *       queue.forget(key);
 *     } catch {
 *       queue.addRateLimited(key);
 *     } finally {
 *       queue.done(key);
 *     }
 *   }
 * }
 * ```
 *
 * All time is read through a {@link Clock} ({@link realClock} by default) so tests can use a fake one.
 *
 * @module
 */

export { type Clock, realClock, type TimerHandle } from "./clock.ts";
export { DEFAULT_PRIORITY, Queue, type QueueMetrics, type QueueOptions } from "./queue.ts";
export { DelayingQueue } from "./delaying_queue.ts";
export {
  BucketRateLimiter,
  defaultControllerRateLimiter,
  type DefaultControllerRateLimiterOptions,
  ItemExponentialFailureRateLimiter,
  MaxOfRateLimiter,
  type RateLimiter,
} from "./rate_limiter.ts";
export {
  RateLimitingQueue,
  type RateLimitingQueueMetrics,
  type RateLimitingQueueOptions,
} from "./rate_limiting_queue.ts";
