/**
 * The basic de-duplicating FIFO work queue, modelled on client-go's `util/workqueue` `Typed` queue.
 *
 * @module
 */

import { type Clock, realClock } from "./clock.ts";

/**
 * Optional observation hooks, e.g. for Prometheus metrics. Every hook may be omitted; omitted hooks are
 * no-ops, so `{}` is the default.
 */
export interface QueueMetrics<T> {
  /** An item became pending (it was not already pending). Duplicate adds are not reported. */
  onAdd?(item: T): void;
  /** An item was handed to a worker after waiting `waitedMs` since it became pending. */
  onGet?(item: T, waitedMs: number): void;
  /** A worker finished an item it had held for `workedMs`. */
  onDone?(item: T, workedMs: number): void;
  /** The number of items queued and ready to be handed out (what {@link Queue.len} returns) is now `n`. */
  depth?(n: number): void;
}

/** Construction options shared by all queues. */
export interface QueueOptions<T> {
  /** Time source for metrics (and, in subclasses, for delays). Defaults to {@link realClock}. */
  clock?: Clock;
  /** Observation hooks. Defaults to no-ops. */
  metrics?: QueueMetrics<T>;
}

/** Lifecycle: accepting adds, finishing the backlog before stopping, or stopped. */
type State = "running" | "draining" | "stopped";

/**
 * A FIFO work queue with client-go semantics:
 *
 * - an item is queued at most once however often it is added while pending (the *dirty* set);
 * - an item handed out by {@link get} is *processing* until {@link done}; adding it meanwhile marks it dirty
 *   but does not queue it, so no two workers ever hold the same item, and it is queued again by `done()`.
 *
 * Items are compared by value with `Set`/`Map` identity, so use primitives such as string keys.
 */
export class Queue<T> {
  /** Ready items in FIFO order; `#head` avoids O(n) `shift()`. */
  #queue: T[] = [];
  #head = 0;
  /** Items that need processing: queued, or re-added while processing. */
  #dirty = new Set<T>();
  /** Items currently held by a worker. */
  #processing = new Set<T>();
  /** When each dirty item became dirty, for the `waitedMs` metric. */
  #addedAt = new Map<T, number>();
  /** When each processing item was handed out, for the `workedMs` metric. */
  #startedAt = new Map<T, number>();
  /** Workers blocked in get(), served in call order. Non-empty only while the queue is empty. */
  #getters: Array<(item: T | undefined) => void> = [];
  /** Callers of shutDownWithDrain() waiting for the backlog and in-flight items to finish. */
  #drainers: Array<() => void> = [];
  #state: State = "running";
  #clock: Clock;
  #metrics: QueueMetrics<T>;

  /** Creates an empty, running queue. */
  constructor(options: QueueOptions<T> = {}) {
    this.#clock = options.clock ?? realClock;
    this.#metrics = options.metrics ?? {};
  }

  /**
   * Marks `item` as needing processing. No-op if it is already pending or the queue is shutting down. If
   * it is being processed, it is queued again when the worker calls {@link done}.
   */
  add(item: T): void {
    if (this.#state !== "running" || this.#dirty.has(item)) return;
    this.#dirty.add(item);
    this.#addedAt.set(item, this.#clock.now());
    this.#metrics.onAdd?.(item);
    // A processing item must not be handed to a second worker; done() queues it.
    if (this.#processing.has(item)) return;
    this.#push(item);
  }

  /**
   * Takes the next item, waiting while the queue is empty. The caller owns the item until it calls
   * {@link done}. Resolves `undefined` immediately once {@link shutDown} was called, and, after
   * {@link shutDownWithDrain}, once the backlog is empty: a worker loop should exit on `undefined`.
   */
  get(): Promise<T | undefined> {
    if (this.#state === "stopped") return Promise.resolve(undefined);
    // Take synchronously so concurrent callers can never be given the same item.
    if (this.#length() > 0) return Promise.resolve(this.#take());
    if (this.#state === "draining") return Promise.resolve(undefined);
    return new Promise((resolve) => this.#getters.push(resolve));
  }

  /**
   * Marks the end of processing of `item`, which must have come from {@link get}. If it was added again
   * meanwhile, it is queued again. Calling it for an item that is not being processed is a no-op (unlike
   * client-go, where it could queue a duplicate).
   */
  done(item: T): void {
    if (!this.#processing.delete(item)) return;
    const started = this.#startedAt.get(item) ?? this.#clock.now();
    this.#startedAt.delete(item);
    this.#metrics.onDone?.(item, this.#clock.now() - started);
    if (this.#dirty.has(item)) this.#push(item);
    this.#settleDrain();
  }

  /** Number of items queued and ready to be handed out (excludes items being processed). */
  len(): number {
    return this.#length();
  }

  /**
   * Stops the queue now: later adds are ignored and every pending or future {@link get} resolves
   * `undefined`, even if items remain queued. Also releases any {@link shutDownWithDrain} waiter without
   * waiting for in-flight items, which makes it usable as a drain timeout.
   */
  shutDown(): void {
    this.#state = "stopped";
    for (const resolve of this.#getters.splice(0)) resolve(undefined);
    for (const resolve of this.#drainers.splice(0)) resolve();
  }

  /**
   * Stops accepting adds and resolves once the queue has been drained: every queued item handed out and
   * every handed-out item {@link done} (including items re-queued by `done()`). Meanwhile {@link get}
   * keeps handing out the backlog, and resolves `undefined` once it is empty. Workers must keep running
   * for this to resolve; call {@link shutDown} to give up waiting.
   */
  shutDownWithDrain(): Promise<void> {
    if (this.#state === "stopped") return Promise.resolve();
    this.#state = "draining";
    // Getters only wait while the queue is empty, and nothing can be added any more.
    for (const resolve of this.#getters.splice(0)) resolve(undefined);
    const drained = new Promise<void>((resolve) => this.#drainers.push(resolve));
    this.#settleDrain();
    return drained;
  }

  /** Whether {@link shutDown} or {@link shutDownWithDrain} has been called. */
  shuttingDown(): boolean {
    return this.#state !== "running";
  }

  #length(): number {
    return this.#queue.length - this.#head;
  }

  /** Appends a ready item and hands it straight to a waiting worker if there is one. */
  #push(item: T): void {
    this.#queue.push(item);
    this.#metrics.depth?.(this.#length());
    while (this.#getters.length > 0 && this.#length() > 0) {
      const resolve = this.#getters.shift()!;
      resolve(this.#take());
    }
  }

  /** Removes the head item and moves it from dirty to processing. Requires a non-empty queue. */
  #take(): T {
    const item = this.#queue[this.#head];
    this.#head++;
    // Compact when empty or mostly consumed, so the array does not grow forever yet stays amortised O(1).
    if (this.#head === this.#queue.length) {
      this.#queue = [];
      this.#head = 0;
    } else if (this.#head >= 1024 && this.#head * 2 >= this.#queue.length) {
      this.#queue = this.#queue.slice(this.#head);
      this.#head = 0;
    }
    const now = this.#clock.now();
    this.#dirty.delete(item);
    this.#processing.add(item);
    this.#startedAt.set(item, now);
    const added = this.#addedAt.get(item) ?? now;
    this.#addedAt.delete(item);
    this.#metrics.onGet?.(item, now - added);
    this.#metrics.depth?.(this.#length());
    return item;
  }

  /** Resolves drain waiters once nothing is queued or in flight. */
  #settleDrain(): void {
    if (this.#state !== "draining" || this.#length() > 0 || this.#processing.size > 0) return;
    for (const resolve of this.#drainers.splice(0)) resolve();
  }
}
