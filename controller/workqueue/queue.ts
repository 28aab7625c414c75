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

/** The priority of a plain {@link Queue.add}. Higher priorities are handed out first. */
export const DEFAULT_PRIORITY = 0;

/** The ready items of one priority, in FIFO order. `head` avoids O(n) `shift()`. */
interface Lane<T> {
  priority: number;
  items: T[];
  head: number;
}

/**
 * A FIFO work queue with client-go semantics, plus priorities:
 *
 * - an item is queued at most once however often it is added while pending (the *dirty* set);
 * - an item handed out by {@link get} is *processing* until {@link done}; adding it meanwhile marks it dirty
 *   but does not queue it, so no two workers ever hold the same item, and it is queued again by `done()`;
 * - items of a higher priority are handed out before those of a lower one, FIFO within a priority. Adding
 *   a pending item with a higher priority raises it (never lowers it), as controller-runtime's priority
 *   queue does. Without priorities it is a plain FIFO.
 *
 * Items are compared by value with `Set`/`Map` identity, so use primitives such as string keys.
 */
export class Queue<T> {
  /** Ready items by priority, highest first. A raised item leaves a stale entry in its old lane. */
  #lanes: Lane<T>[] = [];
  /** Ready items and the lane each one counts in; entries elsewhere are stale and skipped. */
  #queued = new Map<T, number>();
  /** Items that need processing (queued, or re-added while processing), with their priority. */
  #dirty = new Map<T, number>();
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
   * Marks `item` as needing processing. If it is already pending, only raises its priority when
   * `priority` is higher. No-op while the queue is shutting down. If it is being processed, it is queued
   * again when the worker calls {@link done}.
   */
  add(item: T, priority: number = DEFAULT_PRIORITY): void {
    if (this.#state !== "running") return;
    const pending = this.#dirty.get(item);
    if (pending !== undefined) {
      if (priority <= pending) return;
      this.#dirty.set(item, priority);
      if (this.#queued.has(item)) this.#push(item, priority);
      return;
    }
    this.#dirty.set(item, priority);
    this.#addedAt.set(item, this.#clock.now());
    this.#metrics.onAdd?.(item);
    // A processing item must not be handed to a second worker; done() queues it.
    if (this.#processing.has(item)) return;
    this.#push(item, priority);
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
    const priority = this.#dirty.get(item);
    if (priority !== undefined) this.#push(item, priority);
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
    return this.#queued.size;
  }

  /**
   * Appends a ready item to its priority's lane (moving it there if it was queued lower) and hands it
   * straight to a waiting worker if there is one.
   */
  #push(item: T, priority: number): void {
    this.#lane(priority).items.push(item);
    this.#queued.set(item, priority);
    this.#metrics.depth?.(this.#length());
    while (this.#getters.length > 0 && this.#length() > 0) {
      const resolve = this.#getters.shift()!;
      resolve(this.#take());
    }
  }

  /** The lane of `priority`, created in order if it is new (queues use only a few priorities). */
  #lane(priority: number): Lane<T> {
    let i = 0;
    while (i < this.#lanes.length && this.#lanes[i].priority > priority) i++;
    if (this.#lanes[i]?.priority === priority) return this.#lanes[i];
    const lane: Lane<T> = { priority, items: [], head: 0 };
    this.#lanes.splice(i, 0, lane);
    return lane;
  }

  /** Removes the first item of the highest non-empty lane, skipping stale entries. */
  #shift(): T {
    for (const lane of this.#lanes) {
      while (lane.head < lane.items.length) {
        const item = lane.items[lane.head++];
        // Compact when empty or mostly consumed, so arrays do not grow forever yet stay amortised O(1).
        if (lane.head === lane.items.length) {
          lane.items = [];
          lane.head = 0;
        } else if (lane.head >= 1024 && lane.head * 2 >= lane.items.length) {
          lane.items = lane.items.slice(lane.head);
          lane.head = 0;
        }
        if (this.#queued.get(item) !== lane.priority) continue;
        this.#queued.delete(item);
        return item;
      }
    }
    throw new Error("Queue invariant broken: no ready item to take");
  }

  /** Removes the next item and moves it from dirty to processing. Requires a non-empty queue. */
  #take(): T {
    const item = this.#shift();
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
