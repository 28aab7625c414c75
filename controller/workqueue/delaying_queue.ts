/**
 * A work queue that can add items after a delay, modelled on client-go's delaying queue.
 *
 * @module
 */

import { type Clock, realClock, type TimerHandle } from "./clock.ts";
import { Queue, type QueueOptions } from "./queue.ts";

/** An item waiting for its ready time. `seq` keeps equal ready times in insertion order. */
interface Waiting<T> {
  item: T;
  readyAt: number;
  seq: number;
  /** Position in the heap array, so an entry can be moved when its ready time decreases. */
  index: number;
}

/** Binary min-heap of waiting items ordered by (readyAt, seq), with lookup by item for de-duplication. */
class WaitingHeap<T> {
  #heap: Waiting<T>[] = [];
  #byItem = new Map<T, Waiting<T>>();
  #seq = 0;

  /** Number of waiting items. */
  get size(): number {
    return this.#heap.length;
  }

  /** The earliest entry, if any. */
  peek(): Waiting<T> | undefined {
    return this.#heap[0];
  }

  /** Inserts `item`, or moves it earlier if it is already waiting with a later ready time. */
  upsert(item: T, readyAt: number): void {
    const existing = this.#byItem.get(item);
    if (existing !== undefined) {
      // client-go keeps the earlier ready time: a later request must not postpone pending work.
      if (readyAt < existing.readyAt) {
        existing.readyAt = readyAt;
        this.#up(existing.index);
      }
      return;
    }
    const entry: Waiting<T> = { item, readyAt, seq: this.#seq++, index: this.#heap.length };
    this.#heap.push(entry);
    this.#byItem.set(item, entry);
    this.#up(entry.index);
  }

  /** Removes and returns the earliest entry. Requires a non-empty heap. */
  pop(): Waiting<T> {
    const top = this.#heap[0];
    const last = this.#heap.pop()!;
    if (last !== top) {
      this.#place(last, 0);
      this.#down(0);
    }
    this.#byItem.delete(top.item);
    return top;
  }

  /** Removes everything. */
  clear(): void {
    this.#heap = [];
    this.#byItem.clear();
  }

  #less(a: Waiting<T>, b: Waiting<T>): boolean {
    return a.readyAt < b.readyAt || (a.readyAt === b.readyAt && a.seq < b.seq);
  }

  #place(entry: Waiting<T>, index: number): void {
    this.#heap[index] = entry;
    entry.index = index;
  }

  #up(index: number): void {
    const entry = this.#heap[index];
    while (index > 0) {
      const parent = (index - 1) >> 1;
      if (!this.#less(entry, this.#heap[parent])) break;
      this.#place(this.#heap[parent], index);
      index = parent;
    }
    this.#place(entry, index);
  }

  #down(index: number): void {
    const entry = this.#heap[index];
    const n = this.#heap.length;
    for (;;) {
      const left = 2 * index + 1;
      if (left >= n) break;
      const right = left + 1;
      const child = right < n && this.#less(this.#heap[right], this.#heap[left]) ? right : left;
      if (!this.#less(this.#heap[child], entry)) break;
      this.#place(this.#heap[child], index);
      index = child;
    }
    this.#place(entry, index);
  }
}

/**
 * A {@link Queue} with {@link addAfter}. Waiting items live in a min-heap keyed by ready time, and a single
 * clock timer is armed for the earliest one, so the cost does not grow with the number of waiting items.
 */
export class DelayingQueue<T> extends Queue<T> {
  #clock: Clock;
  #waiting = new WaitingHeap<T>();
  #timer: TimerHandle | undefined;
  /** Ready time the current timer was armed for, to avoid re-arming for an unchanged earliest item. */
  #timerAt = Infinity;

  /** Creates an empty, running queue. */
  constructor(options: QueueOptions<T> = {}) {
    super(options);
    this.#clock = options.clock ?? realClock;
  }

  /**
   * Adds `item` once `delayMs` milliseconds have passed; a delay that is zero, negative or NaN adds it
   * now. If the item is already waiting, the earlier of the two ready times wins. Ignored while shutting
   * down.
   */
  addAfter(item: T, delayMs: number): void {
    if (this.shuttingDown()) return;
    if (!(delayMs > 0)) {
      this.add(item);
      return;
    }
    this.#waiting.upsert(item, this.#clock.now() + delayMs);
    this.#arm();
  }

  /** Like {@link Queue.shutDown}; also drops waiting items and cancels the timer. */
  override shutDown(): void {
    this.#stopWaiting();
    super.shutDown();
  }

  /**
   * Like {@link Queue.shutDownWithDrain}; waiting items are dropped, since they could not be added once
   * shutting down anyway.
   */
  override shutDownWithDrain(): Promise<void> {
    this.#stopWaiting();
    return super.shutDownWithDrain();
  }

  #stopWaiting(): void {
    this.#timer?.cancel();
    this.#timer = undefined;
    this.#timerAt = Infinity;
    this.#waiting.clear();
  }

  /** Ensures exactly one timer is armed, for the earliest waiting item. */
  #arm(): void {
    const next = this.#waiting.peek();
    if (next === undefined) {
      this.#timer?.cancel();
      this.#timer = undefined;
      this.#timerAt = Infinity;
      return;
    }
    if (this.#timer !== undefined && this.#timerAt === next.readyAt) return;
    this.#timer?.cancel();
    this.#timerAt = next.readyAt;
    this.#timer = this.#clock.setTimer(() => this.#fire(), next.readyAt - this.#clock.now());
  }

  /** Moves every item whose ready time has come into the queue, then re-arms for the rest. */
  #fire(): void {
    this.#timer = undefined;
    this.#timerAt = Infinity;
    const now = this.#clock.now();
    for (
      let next = this.#waiting.peek();
      next !== undefined && next.readyAt <= now;
      next = this.#waiting.peek()
    ) {
      this.add(this.#waiting.pop().item);
    }
    this.#arm();
  }
}
