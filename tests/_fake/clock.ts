/**
 * A manually advanced {@link Clock} for deterministic tests: time only moves when {@link FakeClock.step}
 * is called, so nothing ever sleeps on real time.
 *
 * @module
 */

import type { Clock, TimerHandle } from "../../controller/workqueue/clock.ts";

/** A scheduled callback. `seq` orders timers due at the same time by creation. */
interface FakeTimer {
  at: number;
  seq: number;
  fn: () => void;
}

/** A {@link Clock} whose time advances only through {@link FakeClock.step}. */
export class FakeClock implements Clock {
  #now: number;
  #seq = 0;
  #timers = new Set<FakeTimer>();

  /** @param startMs initial reading of {@link now}. */
  constructor(startMs = 0) {
    this.#now = startMs;
  }

  /** The current fake time in milliseconds. */
  now(): number {
    return this.#now;
  }

  /**
   * Schedules `fn` at `now() + delayMs`. Negative or NaN delays count as 0, and `Infinity` never fires.
   * Nothing runs until {@link step} is called, even for a zero delay.
   */
  setTimer(fn: () => void, delayMs: number): TimerHandle {
    const timer: FakeTimer = { at: this.#now + (delayMs > 0 ? delayMs : 0), seq: this.#seq++, fn };
    this.#timers.add(timer);
    return { cancel: () => void this.#timers.delete(timer) };
  }

  /**
   * Advances time by `ms` (>= 0), firing every timer that falls due, in time order. While a timer runs,
   * `now()` reads its due time. Timers created by a callback fire in the same step if they are due by its
   * end. Callbacks run synchronously; await afterwards to let promise continuations run.
   */
  step(ms: number): void {
    if (!(ms >= 0)) throw new RangeError(`step must be >= 0, got ${ms}`);
    const end = this.#now + ms;
    for (let timer = this.#nextDue(end); timer !== undefined; timer = this.#nextDue(end)) {
      this.#timers.delete(timer);
      this.#now = Math.max(this.#now, timer.at);
      timer.fn();
    }
    this.#now = end;
  }

  /** Whether any timer is scheduled and not cancelled. */
  hasWaiters(): boolean {
    return this.#timers.size > 0;
  }

  /** Number of scheduled, uncancelled timers. */
  pendingTimers(): number {
    return this.#timers.size;
  }

  /** The earliest timer due at or before `end`, if any. */
  #nextDue(end: number): FakeTimer | undefined {
    let best: FakeTimer | undefined;
    for (const timer of this.#timers) {
      if (timer.at > end) continue;
      if (best === undefined || timer.at < best.at || (timer.at === best.at && timer.seq < best.seq)) {
        best = timer;
      }
    }
    return best;
  }
}
