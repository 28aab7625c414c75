/**
 * Kubernetes Events about objects, as `kubectl describe` shows them. Sending
 * is fire-and-forget (an Event is never worth failing a reconcile over), and
 * identical Events about the same object are sent once per window, so an
 * object stuck in a retry loop does not flood the API server.
 */
import type { KubeClient } from "../kube/client.ts";
import { isAlreadyExists } from "../kube/errors.ts";
import { Resources } from "../kube/resources.ts";
import type { RetryPolicy } from "../kube/retry.ts";
import type { KubeObject } from "../kube/types.ts";
import { errorMessage, type Logger } from "../log.ts";
import { printable } from "./printable.ts";

/** `Normal` for transitions, `Warning` for problems. */
export type EventType = "Normal" | "Warning";

/** Options of a recorder. */
export interface EventRecorderOptions {
  client: KubeClient;
  /** `source.component` / `reportingComponent`, e.g. `cloudshell-operator`. */
  component: string;
  /** `reportingInstance`, e.g. the pod name. */
  instance: string;
  logger: Logger;
  /** Identical events about one object are sent once per window. */
  dedupWindowMs?: number;
  now?: () => number;
  /** How the client retries sending one Event; default EVENT_RETRY. */
  retry?: RetryPolicy;
}

const MAX_MESSAGE = 1024;
/**
 * Events are retried by the client (one mechanism for every request), and also when the API server does not
 * answer at all: five attempts, 1 s then doubling up to 4 s, span about 10 s, enough to outlast an API server
 * restart (client-go's recorder also retries). Repeating a create is harmless: every attempt sends the same
 * name, so one whose answer was lost shows as AlreadyExists.
 */
export const EVENT_RETRY: RetryPolicy = {
  maxAttempts: 5,
  initialDelayMs: 1_000,
  maxDelayMs: 4_000,
  retryNoAnswer: true,
};
const PRUNE_AT = 10_000;

/** Records Events about objects. */
export class EventRecorder {
  readonly #opts: EventRecorderOptions;
  readonly #lastSent = new Map<string, number>();
  readonly #pending = new Set<Promise<void>>();

  constructor(opts: EventRecorderOptions) {
    this.#opts = opts;
  }

  /**
   * Records an event about `obj`; returns at once. `dedup: false` sends it even if an identical one
   * went out within the window, for callers that already send once per occurrence (a rejected
   * template version: the same broken text coming back after a fix is a new occurrence).
   */
  event(
    obj: KubeObject,
    type: EventType,
    reason: string,
    message: string,
    opts: { dedup?: boolean } = {},
  ): void {
    const now = (this.#opts.now ?? Date.now)();
    const window = this.#opts.dedupWindowMs ?? 10 * 60_000;
    if (opts.dedup ?? true) {
      // A digest of the message, not the message: the key's size stays fixed however long what users wrote.
      const dedupKey = `${obj.metadata.uid}\u0000${type}\u0000${reason}\u0000${digest(message)}`;
      const last = this.#lastSent.get(dedupKey);
      if (last !== undefined && now - last < window) return;
      this.#lastSent.delete(dedupKey);
      this.#lastSent.set(dedupKey, now);
      if (this.#lastSent.size > PRUNE_AT) this.#prune(now - window);
    }
    const p = this.#send(obj, type, reason, message, now).finally(() => this.#pending.delete(p));
    this.#pending.add(p);
  }

  /** Waits for events being sent (shutdown, tests). */
  async flush(): Promise<void> {
    await Promise.all([...this.#pending]);
  }

  async #send(obj: KubeObject, type: EventType, reason: string, message: string, now: number): Promise<void> {
    const event = this.#eventFor(obj, type, reason, message, now);
    try {
      await this.#opts.client.create(Resources.events, event, { retry: this.#opts.retry ?? EVENT_RETRY });
    } catch (err) {
      // The name is ours alone: AlreadyExists means an attempt whose answer was lost did land.
      if (isAlreadyExists(err)) return;
      // A namespace being deleted refuses new events, and an API server gone for long drops them:
      // Events are best-effort.
      this.#opts.logger.debug("Could not record event", { reason, error: errorMessage(err) });
    }
  }

  #eventFor(obj: KubeObject, type: EventType, reason: string, message: string, now: number): KubeObject {
    const time = new Date(now).toISOString();
    message = printable(message);
    const suffix = crypto.randomUUID().replaceAll("-", "").slice(0, 16);
    return {
      apiVersion: "v1",
      kind: "Event",
      metadata: { name: `${obj.metadata.name}.${suffix}`, namespace: obj.metadata.namespace || "default" },
      involvedObject: {
        apiVersion: obj.apiVersion,
        kind: obj.kind,
        name: obj.metadata.name,
        namespace: obj.metadata.namespace,
        uid: obj.metadata.uid,
        resourceVersion: obj.metadata.resourceVersion,
      },
      reason,
      message: message.length > MAX_MESSAGE ? `${message.slice(0, MAX_MESSAGE - 3)}...` : message,
      type,
      count: 1,
      firstTimestamp: time,
      lastTimestamp: time,
      source: { component: this.#opts.component },
      reportingComponent: this.#opts.component,
      reportingInstance: this.#opts.instance,
    } as KubeObject;
  }

  /** How many Events are remembered for deduplication (bounded by PRUNE_AT). */
  get remembered(): number {
    return this.#lastSent.size;
  }

  #prune(olderThan: number): void {
    for (const [k, t] of this.#lastSent) {
      if (t < olderThan) this.#lastSent.delete(k);
    }
    // Still full of recent keys (many objects failing at once): forget the oldest, down to 90% so this
    // runs once per thousand Events. Forgetting costs at most one repeated Event; remembering without
    // bound would cost the operator's memory.
    for (const k of this.#lastSent.keys()) {
      if (this.#lastSent.size <= PRUNE_AT * 0.9) break;
      this.#lastSent.delete(k);
    }
  }
}

/** A 64-bit FNV-1a digest of `text`, as hex: a fixed-size stand-in for a message in dedup keys. */
export function digest(text: string): string {
  let h1 = 0x811c9dc5;
  let h2 = 0x050c5d1f;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    h1 = Math.imul(h1 ^ c, 0x01000193);
    h2 = Math.imul(h2 ^ c, 0x01000193) ^ (h1 >>> 15);
  }
  return (h1 >>> 0).toString(16).padStart(8, "0") + (h2 >>> 0).toString(16).padStart(8, "0");
}
