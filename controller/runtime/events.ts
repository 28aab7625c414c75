/**
 * Kubernetes Events about objects, as `kubectl describe` shows them. Sending
 * is fire-and-forget (an Event is never worth failing a reconcile over), and
 * identical Events about the same object are sent once per window, so an
 * object stuck in a retry loop does not flood the API server.
 */
import type { KubeClient } from "../kube/client.ts";
import { Resources } from "../kube/resources.ts";
import type { KubeObject } from "../kube/types.ts";
import { errorMessage, type Logger } from "../log.ts";

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
}

const MAX_MESSAGE = 1024;
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
      const dedupKey = `${obj.metadata.uid}\u0000${type}\u0000${reason}\u0000${message}`;
      const last = this.#lastSent.get(dedupKey);
      if (last !== undefined && now - last < window) return;
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
    const time = new Date(now).toISOString();
    const namespace = obj.metadata.namespace || "default";
    const suffix = crypto.randomUUID().replaceAll("-", "").slice(0, 16);
    try {
      await this.#opts.client.create(Resources.events, {
        apiVersion: "v1",
        kind: "Event",
        metadata: { name: `${obj.metadata.name}.${suffix}`, namespace },
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
      } as KubeObject);
    } catch (err) {
      // A namespace being deleted refuses new events; nothing to do about it.
      this.#opts.logger.debug("Could not record event", { reason, error: errorMessage(err) });
    }
  }

  #prune(olderThan: number): void {
    for (const [k, t] of this.#lastSent) {
      if (t < olderThan) this.#lastSent.delete(k);
    }
  }
}
