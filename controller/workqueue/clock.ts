/**
 * Time source and timer abstraction used by the work queues and rate limiters.
 *
 * Everything in this module reads time through a {@link Clock} so tests can drive it with a fake clock
 * instead of sleeping on real time.
 *
 * @module
 */

/** A scheduled callback that can be cancelled before it fires. */
export interface TimerHandle {
  /** Prevents the callback from running. Safe to call more than once, and after the timer fired. */
  cancel(): void;
}

/** A monotonic time source able to schedule callbacks. */
export interface Clock {
  /** Current time in milliseconds. Only differences between readings are meaningful. */
  now(): number;
  /**
   * Runs `fn` once, `delayMs` milliseconds from now. A delay that is negative or NaN means "as soon as
   * possible"; `Infinity` means "never".
   */
  setTimer(fn: () => void, delayMs: number): TimerHandle;
}

/**
 * Largest delay `setTimeout` honours; longer delays overflow a signed 32-bit integer and the runtime fires
 * them almost immediately, so longer waits are chained in steps of at most this size.
 */
const MAX_TIMEOUT_MS = 2 ** 31 - 1;

/** A handle that does nothing, for timers that can never fire. */
const NEVER: TimerHandle = { cancel() {} };

/**
 * Schedules `fn` at the absolute monotonic time `deadline`, re-arming when the runtime wakes up early
 * (rounding, or a wait longer than {@link MAX_TIMEOUT_MS}).
 */
function scheduleAt(fn: () => void, deadline: number): TimerHandle {
  let cancelled = false;
  let id: ReturnType<typeof setTimeout> | undefined;
  function arm(): void {
    // Always go through setTimeout, even for a zero delay, so fn never runs re-entrantly in setTimer().
    const remaining = Math.max(0, Math.ceil(deadline - performance.now()));
    id = setTimeout(() => {
      id = undefined;
      if (cancelled) return;
      if (performance.now() >= deadline) fn();
      else arm();
    }, Math.min(remaining, MAX_TIMEOUT_MS));
  }
  arm();
  return {
    cancel() {
      cancelled = true;
      if (id !== undefined) clearTimeout(id);
      id = undefined;
    },
  };
}

/**
 * The process clock: `performance.now()` (monotonic, unaffected by wall-clock adjustments) and
 * `setTimeout`.
 */
export const realClock: Clock = {
  now(): number {
    return performance.now();
  },
  setTimer(fn: () => void, delayMs: number): TimerHandle {
    if (delayMs === Infinity) return NEVER;
    const delay = delayMs > 0 ? delayMs : 0;
    return scheduleAt(fn, performance.now() + delay);
  },
};
