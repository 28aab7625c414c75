/**
 * The informer's cache: objects by key, with a namespace index and optional
 * label indexes, read through a `Lister`. Objects in the store are frozen: a
 * caller that wants to change one must copy it first (`structuredClone`), so a
 * reconciler can never corrupt the cache by accident.
 */
import { keyFor, keyOf, type ObjectKey } from "../kube/object_key.ts";
import type { KubeObject } from "../kube/types.ts";

/** Read-only view of a store. */
export interface Lister<T extends KubeObject> {
  /** One object, or undefined. */
  get(namespace: string | undefined, name: string): T | undefined;
  /** All objects, optionally in one namespace and matching every given label. */
  list(opts?: { namespace?: string; labels?: Record<string, string> }): T[];
  /** Objects whose indexed label `labelKey` has `value` (the label must be indexed). */
  byLabel(labelKey: string, value: string): T[];
  /** Number of objects. */
  size(): number;
}

/** A keyed object store with namespace and label indexes. */
export class Store<T extends KubeObject> implements Lister<T> {
  readonly #items = new Map<ObjectKey, T>();
  readonly #byNamespace = new Map<string, Set<ObjectKey>>();
  readonly #indexedLabels: readonly string[];
  /**
   * Per indexed label, the keys by label value: one key alone as itself, several in a Set. Most values name
   * one object (a shell's owner label on its one Job, pod and Service), and a Set per value would cost each
   * cached object about 180 bytes more (docs/performance.md, "Memory").
   */
  readonly #byLabel = new Map<string, Map<string, ObjectKey | Set<ObjectKey>>>();

  /** `indexedLabels`: label keys to index for `byLabel` lookups. */
  constructor(indexedLabels: readonly string[] = []) {
    this.#indexedLabels = indexedLabels;
    for (const l of indexedLabels) this.#byLabel.set(l, new Map());
  }

  get(namespace: string | undefined, name: string): T | undefined {
    return this.#items.get(keyFor(namespace, name));
  }

  /** Looks up by key. */
  getByKey(key: ObjectKey): T | undefined {
    return this.#items.get(key);
  }

  list(opts: { namespace?: string; labels?: Record<string, string> } = {}): T[] {
    const keys = opts.namespace !== undefined
      ? this.#byNamespace.get(opts.namespace) ?? []
      : this.#items.keys();
    const out: T[] = [];
    for (const key of keys) {
      const obj = this.#items.get(key)!;
      if (opts.labels && !matchesLabels(obj, opts.labels)) continue;
      out.push(obj);
    }
    return out;
  }

  byLabel(labelKey: string, value: string): T[] {
    const index = this.#byLabel.get(labelKey);
    if (!index) throw new Error(`Label ${labelKey} is not indexed`);
    const keys = index.get(value);
    if (keys === undefined) return [];
    return typeof keys === "string" ? [this.#items.get(keys)!] : [...keys].map((k) => this.#items.get(k)!);
  }

  size(): number {
    return this.#items.size;
  }

  /** All keys. */
  keys(): IterableIterator<ObjectKey> {
    return this.#items.keys();
  }

  /** Inserts or replaces an object; returns the one it replaced. */
  upsert(obj: T): T | undefined {
    const key = keyOf(obj);
    const old = this.#items.get(key);
    if (old) this.#unindex(key, old);
    deepFreeze(obj);
    this.#items.set(key, obj);
    this.#index(key, obj);
    return old;
  }

  /** Removes an object by key; returns it if it was there. */
  remove(key: ObjectKey): T | undefined {
    const old = this.#items.get(key);
    if (!old) return undefined;
    this.#unindex(key, old);
    this.#items.delete(key);
    return old;
  }

  #index(key: ObjectKey, obj: T): void {
    const ns = obj.metadata.namespace ?? "";
    let set = this.#byNamespace.get(ns);
    if (!set) this.#byNamespace.set(ns, set = new Set());
    set.add(key);
    for (const label of this.#indexedLabels) {
      const value = obj.metadata.labels?.[label];
      if (value === undefined) continue;
      const index = this.#byLabel.get(label)!;
      const keys = index.get(value);
      if (keys === undefined || keys === key) index.set(value, key);
      else if (typeof keys === "string") index.set(value, new Set([keys, key]));
      else keys.add(key);
    }
  }

  #unindex(key: ObjectKey, obj: T): void {
    const ns = obj.metadata.namespace ?? "";
    const set = this.#byNamespace.get(ns);
    set?.delete(key);
    if (set?.size === 0) this.#byNamespace.delete(ns);
    for (const label of this.#indexedLabels) {
      const value = obj.metadata.labels?.[label];
      if (value === undefined) continue;
      const index = this.#byLabel.get(label)!;
      const keys = index.get(value);
      if (keys === key) {
        index.delete(value);
      } else if (typeof keys === "object") {
        keys.delete(key);
        if (keys.size === 1) index.set(value, keys.values().next().value!);
      }
    }
  }
}

/** Whether an object carries every label of `selector` with the same value. */
export function matchesLabels(obj: KubeObject, selector: Record<string, string>): boolean {
  const labels = obj.metadata.labels ?? {};
  for (const [k, v] of Object.entries(selector)) {
    if (labels[k] !== v) return false;
  }
  return true;
}

function deepFreeze(value: unknown): void {
  if (value === null || typeof value !== "object" || Object.isFrozen(value)) return;
  Object.freeze(value);
  for (const v of Object.values(value)) deepFreeze(v);
}
