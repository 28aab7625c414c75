/**
 * Promise inspection helpers for the work queue tests, which must observe whether a `get()` is still
 * waiting without sleeping on real time.
 *
 * @module
 */

/** Observed state of a promise, updated when it settles. */
export interface Probe<V> {
  /** Whether the promise has fulfilled. */
  readonly settled: boolean;
  /** The fulfilled value, once settled. */
  readonly value: V | undefined;
}

/** Starts observing `promise`; read the result after {@link flush}. */
export function probe<V>(promise: Promise<V>): Probe<V> {
  const state: { settled: boolean; value: V | undefined } = { settled: false, value: undefined };
  promise.then((value) => {
    state.settled = true;
    state.value = value;
  });
  return state;
}

/** Lets pending promise continuations run; enough microtask turns for the short chains under test. */
export async function flush(): Promise<void> {
  for (let i = 0; i < 20; i++) await Promise.resolve();
}
