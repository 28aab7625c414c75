/**
 * A mutex per key: callers with the same key run one after another, in the
 * order they asked; callers with different keys never wait for each other.
 * Used to serialize read-modify-write cycles on one shared object inside the
 * process, so concurrent reconciles do not burn their conflict retries on
 * each other.
 */

/** Serializes async work by key. */
export class KeyedMutex {
  /** The promise the next caller of a key must wait for; absent when the key is idle. */
  readonly #tails = new Map<string, Promise<void>>();

  /** Runs `fn` once every earlier caller with the same key has finished, and returns its result. */
  async run<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const previous = this.#tails.get(key) ?? Promise.resolve();
    let release!: () => void;
    const done = new Promise<void>((resolve) => release = resolve);
    // The chain only holds promises that resolve, so one caller's failure never blocks the next.
    const tail = previous.then(() => done);
    this.#tails.set(key, tail);
    try {
      await previous;
      return await fn();
    } finally {
      release();
      // Drop idle keys so a long-running process does not keep one entry per object it ever touched.
      if (this.#tails.get(key) === tail) this.#tails.delete(key);
    }
  }

  /** How many keys are held or waited for (for tests and metrics). */
  get size(): number {
    return this.#tails.size;
  }
}
