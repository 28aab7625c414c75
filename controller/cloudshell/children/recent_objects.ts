/**
 * Objects this process has just created, standing in for the informer's copy
 * until the watch delivers it. Without this, a reconcile that runs between a
 * create and its watch event would create again, get AlreadyExists and read
 * the object back: two wasted requests per child.
 */
import type { KubeObject } from "../../kube/types.ts";

/** Recently created objects by key, each kept until the cache has it or `ttlMs` passes. */
export class RecentObjects<T extends KubeObject> {
  readonly #items = new Map<string, { obj: T; at: number }>();
  readonly #ttlMs: number;
  readonly #now: () => number;

  constructor(ttlMs: number, now: () => number) {
    this.#ttlMs = ttlMs;
    this.#now = now;
  }

  /** Remembers a created object under `key`. */
  remember(key: string, obj: T): void {
    this.#items.set(key, { obj, at: this.#now() });
  }

  /** The cached object when there is one (and then forgets ours), else ours if still fresh. */
  resolve(key: string, cached: T | undefined): T | undefined {
    const recent = this.#items.get(key);
    if (!recent) return cached;
    if (cached || this.#now() - recent.at > this.#ttlMs) {
      this.#items.delete(key);
      return cached;
    }
    return recent.obj;
  }

  /** Forgets `key` (its owner is gone). */
  forget(key: string): void {
    this.#items.delete(key);
  }
}
