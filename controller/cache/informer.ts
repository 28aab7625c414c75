/**
 * An informer: list, then watch, keeping a `Store` current and telling
 * handlers what changed. It adds what client-node's informer lacks: a
 * has-synced flag, paginated lists, bookmarks, relist on `410 Gone`, watch
 * restarts with backoff after any error (API server restarts included), an
 * inactivity watchdog for dead connections, optional resync, and objects
 * stripped of managedFields to save memory.
 *
 * Contract for handlers (as client-go's shared informer): they run after the
 * store is updated, in event order, and must not block or throw; they should
 * only turn objects into work-queue keys. On delete a handler may receive the
 * last state the informer knew rather than the final one (after a relist).
 */
import type { KubeClient } from "../kube/client.ts";
import { ApiError, isForbidden, isGone } from "../kube/errors.ts";
import { keyOf, type ObjectKey } from "../kube/object_key.ts";
import { apiVersionOf, type ResourceType } from "../kube/resources.ts";
import type { KubeObject, WatchEvent } from "../kube/types.ts";
import { Backoff, sleep } from "./backoff.ts";
import { type Lister, Store } from "./store.ts";

/** Callbacks for changes seen by an informer. */
export interface EventHandler<T> {
  onAdd?(obj: T): void;
  onUpdate?(oldObj: T, newObj: T): void;
  onDelete?(obj: T): void;
}

/** Counters an informer reports (all optional). */
export interface InformerMetrics {
  /** A watch or list event applied to the store. */
  event?(resource: string, type: "add" | "update" | "delete"): void;
  /** A full list, with why (`initial`, `gone`, `error`). */
  list?(resource: string, reason: string): void;
  /** A watch that ended and is being restarted, with why. */
  watchRestart?(resource: string, reason: string): void;
}

/** Where an informer reports problems. */
export interface InformerLogger {
  debug(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
}

/** Options of an informer. */
export interface InformerOptions<T> {
  namespace?: string;
  labelSelector?: string;
  fieldSelector?: string;
  /** Label keys to index for `lister.byLabel()`. */
  indexedLabels?: string[];
  /** Every `resyncMs`, call `onUpdate(obj, obj)` for every object (0 = never). */
  resyncMs?: number;
  /** Page size of list calls. */
  pageSize?: number;
  /** Applied to every object before it is stored; default drops managedFields. */
  transform?: (obj: T) => T;
  /** Server-side watch timeout; default a random 5-10 minutes, as client-go. */
  watchTimeoutSeconds?: number;
  /**
   * A watch silent this long (no event, no bookmark) is taken for dead and started again from the last
   * resourceVersion; default WATCH_SILENCE_MS.
   */
  watchSilenceMs?: number;
  backoff?: Backoff;
  metrics?: InformerMetrics;
  logger?: InformerLogger;
}

/**
 * kube-apiserver sends a watch that asked for bookmarks one about every minute (the watch cache's
 * bookmarkFrequency), even when nothing changes; measured on the test control plane, the first one of a
 * watch on a quiet type can take two minutes. Silence beyond that means the connection died without a FIN
 * (a NAT or load balancer dropped it), which client-go notices only when its 5-10 minute timeout ends the
 * watch. Restarting a watch that was only quiet costs one request (from the last resourceVersion, no list).
 */
export const WATCH_SILENCE_MS = 150_000;

/** Drops `metadata.managedFields`, which no controller reads and which can double an object's size. */
export function dropManagedFields<T extends KubeObject>(obj: T): T {
  if ("managedFields" in obj.metadata) delete (obj.metadata as Record<string, unknown>).managedFields;
  return obj;
}

/** Keeps a local cache of one resource type in sync with the API server. */
export class Informer<T extends KubeObject> {
  readonly #client: KubeClient;
  readonly #type: ResourceType;
  readonly #opts: InformerOptions<T>;
  readonly #store: Store<T>;
  readonly #handlers: EventHandler<T>[] = [];
  readonly #backoff: Backoff;
  #resourceVersion = "";
  #synced = false;
  #syncWaiters: (() => void)[] = [];

  constructor(client: KubeClient, type: ResourceType, opts: InformerOptions<T> = {}) {
    this.#client = client;
    this.#type = type;
    this.#opts = opts;
    this.#store = new Store<T>(opts.indexedLabels ?? []);
    this.#backoff = opts.backoff ?? new Backoff();
  }

  /** The resource this informer watches. */
  get resource(): ResourceType {
    return this.#type;
  }

  /** Read-only access to the cache. */
  get lister(): Lister<T> {
    return this.#store;
  }

  /** Registers handlers; objects already cached are replayed to `onAdd`. */
  addHandler(handler: EventHandler<T>): void {
    this.#handlers.push(handler);
    for (const obj of this.#store.list()) this.#call(handler, "onAdd", obj);
  }

  /** Whether the first full list has been stored. */
  hasSynced(): boolean {
    return this.#synced;
  }

  /** Resolves true once synced, or false if the signal aborts first. */
  waitForSync(signal: AbortSignal): Promise<boolean> {
    if (this.#synced) return Promise.resolve(true);
    if (signal.aborted) return Promise.resolve(false);
    return new Promise((resolve) => {
      const onAbort = () => resolve(false);
      signal.addEventListener("abort", onAbort, { once: true });
      this.#syncWaiters.push(() => {
        signal.removeEventListener("abort", onAbort);
        resolve(true);
      });
    });
  }

  /** Lists and watches until the signal aborts. Never rejects. */
  async run(signal: AbortSignal): Promise<void> {
    let needList = true;
    let listReason = "initial";
    const resync = this.#opts.resyncMs ? setInterval(() => this.#resync(), this.#opts.resyncMs) : undefined;
    try {
      while (!signal.aborted) {
        try {
          if (needList) {
            await this.#listAndReplace(listReason, signal);
            needList = false;
            this.#backoff.reset();
          }
          const sawEvents = await this.#watchOnce(signal);
          if (sawEvents) this.#backoff.reset();
          this.#opts.metrics?.watchRestart?.(this.#type.plural, "closed");
        } catch (err) {
          if (signal.aborted) break;
          if (isGone(err)) {
            // Our resourceVersion fell out of the server's window: relist at once.
            this.#opts.logger?.debug("Watch expired, relisting", { resource: this.#type.plural });
            needList = true;
            listReason = "gone";
            continue;
          }
          const delay = this.#backoff.next();
          const context = { resource: this.#type.plural, error: err, retryInMs: Math.round(delay) };
          if (isForbidden(err)) {
            // No retry helps until someone grants the permission or points the flags elsewhere: say so.
            this.#opts.logger?.error(
              "Not allowed to list or watch; retrying until the RBAC or the flags change",
              {
                namespace: this.#opts.namespace ?? "(all)",
                ...context,
              },
            );
          } else {
            this.#opts.logger?.warn("List or watch failed, retrying", context);
          }
          this.#opts.metrics?.watchRestart?.(this.#type.plural, "error");
          if (needList) listReason = "error";
          await sleep(delay, signal);
        }
      }
    } finally {
      if (resync) clearInterval(resync);
    }
  }

  async #listAndReplace(reason: string, signal: AbortSignal): Promise<void> {
    this.#opts.metrics?.list?.(this.#type.plural, reason);
    const fresh = new Map<ObjectKey, T>();
    let cont: string | undefined;
    let resourceVersion = "";
    do {
      const page = await this.#client.list<T>(this.#type, {
        namespace: this.#opts.namespace,
        labelSelector: this.#opts.labelSelector,
        fieldSelector: this.#opts.fieldSelector,
        limit: this.#opts.pageSize ?? 500,
        continue: cont,
        signal,
      });
      for (const item of page.items) {
        const obj = this.#transform(item);
        fresh.set(keyOf(obj), obj);
      }
      cont = page.metadata.continue || undefined;
      resourceVersion = page.metadata.resourceVersion ?? "";
    } while (cont);
    // Apply the new state, then tell handlers: deletions for what vanished.
    for (const key of [...this.#store.keys()]) {
      if (!fresh.has(key)) this.#applyDelete(key);
    }
    for (const obj of fresh.values()) this.#applyUpsert(obj);
    this.#resourceVersion = resourceVersion;
    if (!this.#synced) {
      this.#synced = true;
      for (const w of this.#syncWaiters) w();
      this.#syncWaiters = [];
    }
  }

  /** One watch from the current resourceVersion; returns whether any event arrived. */
  async #watchOnce(signal: AbortSignal): Promise<boolean> {
    const timeoutSeconds = this.#opts.watchTimeoutSeconds ?? Math.floor(300 * (1 + Math.random()));
    const watchdog = new AbortController();
    const watchSignal = AbortSignal.any([signal, watchdog.signal]);
    // A connection that dies without a FIN never ends the stream: bookmarks are its heartbeat.
    const silenceMs = this.#opts.watchSilenceMs ?? WATCH_SILENCE_MS;
    // One timer per watch, not one per event: it checks when the last event came, and waits for the rest.
    let lastEventAt = performance.now();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const armWatchdog = (delayMs: number) => {
      timer = setTimeout(() => {
        const quietMs = performance.now() - lastEventAt;
        if (quietMs >= silenceMs) watchdog.abort(new Error("watch went silent"));
        else armWatchdog(silenceMs - quietMs);
      }, delayMs);
    };
    armWatchdog(silenceMs);
    let sawEvents = false;
    try {
      const events = this.#client.watch<T>(this.#type, {
        namespace: this.#opts.namespace,
        labelSelector: this.#opts.labelSelector,
        fieldSelector: this.#opts.fieldSelector,
        resourceVersion: this.#resourceVersion,
        timeoutSeconds,
        signal: watchSignal,
      });
      for await (const event of events) {
        lastEventAt = performance.now();
        sawEvents = true;
        this.#applyEvent(event);
      }
      return sawEvents;
    } catch (err) {
      if (watchdog.signal.aborted && !signal.aborted) {
        this.#opts.metrics?.watchRestart?.(this.#type.plural, "silent");
        return sawEvents;
      }
      throw err;
    } finally {
      clearTimeout(timer);
    }
  }

  #applyEvent(event: WatchEvent<T>): void {
    switch (event.type) {
      case "ADDED":
      case "MODIFIED": {
        const obj = this.#transform(event.object);
        this.#applyUpsert(obj);
        this.#resourceVersion = obj.metadata.resourceVersion ?? this.#resourceVersion;
        return;
      }
      case "DELETED": {
        const obj = this.#transform(event.object);
        const key = keyOf(obj);
        if (this.#store.getByKey(key)) {
          this.#store.remove(key);
          this.#opts.metrics?.event?.(this.#type.plural, "delete");
          for (const h of this.#handlers) this.#call(h, "onDelete", obj);
        }
        this.#resourceVersion = obj.metadata.resourceVersion ?? this.#resourceVersion;
        return;
      }
      case "BOOKMARK":
        this.#resourceVersion = event.object.metadata.resourceVersion ?? this.#resourceVersion;
        return;
      case "ERROR":
        throw new ApiError(event.object.code ?? 500, event.object, `watch ${this.#type.plural}`);
    }
  }

  #applyUpsert(obj: T): void {
    const old = this.#store.upsert(obj);
    if (!old) {
      this.#opts.metrics?.event?.(this.#type.plural, "add");
      for (const h of this.#handlers) this.#call(h, "onAdd", obj);
    } else if (old.metadata.resourceVersion !== obj.metadata.resourceVersion) {
      this.#opts.metrics?.event?.(this.#type.plural, "update");
      for (const h of this.#handlers) this.#call(h, "onUpdate", old, obj);
    }
  }

  #applyDelete(key: ObjectKey): void {
    const old = this.#store.remove(key);
    if (!old) return;
    this.#opts.metrics?.event?.(this.#type.plural, "delete");
    for (const h of this.#handlers) this.#call(h, "onDelete", old);
  }

  #resync(): void {
    for (const obj of this.#store.list()) {
      for (const h of this.#handlers) this.#call(h, "onUpdate", obj, obj);
    }
  }

  #transform(obj: T): T {
    // Items of a list carry no kind; every cached object does, so consumers can refer to it.
    obj.apiVersion ??= apiVersionOf(this.#type);
    obj.kind ??= this.#type.kind;
    return (this.#opts.transform ?? dropManagedFields)(obj);
  }

  /** Calls a handler, containing its exceptions: an escaped one would kill the process under Deno. */
  #call(handler: EventHandler<T>, method: "onAdd" | "onDelete", obj: T): void;
  #call(handler: EventHandler<T>, method: "onUpdate", oldObj: T, newObj: T): void;
  #call(handler: EventHandler<T>, method: keyof EventHandler<T>, a: T, b?: T): void {
    try {
      if (method === "onUpdate") handler.onUpdate?.(a, b!);
      else handler[method]?.(a);
    } catch (err) {
      this.#opts.logger?.warn("Event handler threw", { resource: this.#type.plural, error: err });
    }
  }
}
