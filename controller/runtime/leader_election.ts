/**
 * Leader election on a `coordination.k8s.io/v1` Lease, after client-go's `tools/leaderelection`.
 *
 * Candidates read the Lease every retry period. A candidate takes it when nobody holds it, or when the
 * record has not changed for the lease duration the record itself states, measured on the candidate's own
 * clock from the moment it last saw the record change. Remote timestamps are never compared with local
 * time, so clock skew between replicas does not matter; only the rate of the clocks does, and the gap
 * between lease duration and renew deadline is the tolerance for it. Writes use optimistic concurrency
 * (resourceVersion), so two candidates cannot both win the same round.
 *
 * This is not fencing: nothing stops a leader that has lost the Lease from writing for a moment before it
 * notices. The leader stops itself when it cannot renew within the renew deadline, which others can only
 * beat after the lease duration, hence `leaseDuration > renewDeadline`.
 *
 * Differences from client-go, each on the safe side:
 * - the renew deadline counts from the start of the last successful renewal, not from the start of the
 *   current renewal round, and a leader that reads another holder in the Lease stops at once;
 * - the Lease is released only when `run`'s signal aborts, never after leadership was lost;
 * - `onStoppedLeading` is called only after `onStartedLeading` was;
 * - when `onStartedLeading` returns a promise, the release waits for it (while the Lease is surely still
 *   ours), so the next leader does not overlap with work still winding down.
 *
 * @module
 */
import { errorFromResponse, isAlreadyExists, isNotFound } from "../kube/errors.ts";
import { sleep } from "../cache/backoff.ts";
import type { KubeClient } from "../kube/client.ts";
import { apiVersionOf, collectionPath, objectPath, Resources } from "../kube/resources.ts";
import type { KubeObject } from "../kube/types.ts";
import { Logger } from "../log.ts";

/** The shortest cut-off of one Lease request, whatever the renew deadline. */
const MIN_CALL_TIMEOUT_MS = 1000;
/** client-go's JitterFactor: the renew deadline must leave room for this many retry periods. */
const JITTER_FACTOR = 1.2;
/**
 * Waits between acquisition attempts are stretched by up to this fraction, so candidates spread out.
 * (client-go's `wait.Jitter(retryPeriod, JitterFactor)` stretches them by up to 120%; 20% spreads
 * candidates just as well and takes over sooner.)
 */
const MAX_JITTER = 0.2;

/** The spec of a `coordination.k8s.io/v1` Lease. */
export interface LeaseSpec {
  holderIdentity?: string;
  leaseDurationSeconds?: number;
  /** MicroTime (RFC 3339 with microseconds). */
  acquireTime?: string;
  /** MicroTime (RFC 3339 with microseconds). */
  renewTime?: string;
  leaseTransitions?: number;
  strategy?: string;
  preferredHolder?: string;
}

/** A `coordination.k8s.io/v1` Lease. */
export interface Lease extends KubeObject {
  spec?: LeaseSpec;
}

/** Configuration of a {@linkcode LeaderElector}. */
export interface LeaderElectorOptions {
  client: KubeClient;
  /** Namespace of the Lease. */
  namespace: string;
  /** Name of the Lease. */
  name: string;
  /** Unique per process; see {@linkcode defaultIdentity}. */
  identity: string;
  /** How long others wait after the last observed change before taking over (recorded in whole seconds, rounded up). */
  leaseDurationMs: number;
  /** How long the leader keeps trying to renew before it gives up leadership. */
  renewDeadlineMs: number;
  /** Period of acquisition and renewal attempts. */
  retryPeriodMs: number;
  /**
   * Clear the Lease when `run`'s signal aborts, so another replica takes over at once instead of after the
   * lease duration. The guarded work must have stopped by then (see `onStartedLeading`).
   */
  releaseOnCancel?: boolean;
  logger?: Logger;
  /**
   * Called on acquiring the Lease. `signal` aborts when leadership is lost or `run`'s signal aborts. A
   * returned promise should settle once the guarded work has stopped; the release waits for it.
   */
  onStartedLeading(signal: AbortSignal): void | Promise<void>;
  /** Called after leadership ended, whatever the cause, if `onStartedLeading` was called. */
  onStoppedLeading(): void;
  /** Called when the observed holder changes to a non-empty identity (ours included). */
  onNewLeader?(identity: string): void;
  /** Called when this replica becomes or stops being the leader (for `leader_election_master_status`). */
  onLeaderChange?(isLeader: boolean): void;
  /** Milliseconds since the epoch; injectable for tests. */
  clock?: () => number;
}

/** An identity unique to this process: the host (pod) name and a random UUID. */
export function defaultIdentity(hostname: string): string {
  return `${hostname}_${crypto.randomUUID()}`;
}

/** Formats epoch milliseconds as a Kubernetes MicroTime, e.g. `2026-11-23T17:00:00.000000Z`. */
function microTime(ms: number): string {
  return new Date(ms).toISOString().replace(/Z$/, "000Z");
}

function positive(what: string, ms: number): void {
  if (!Number.isFinite(ms) || ms <= 0) {
    throw new RangeError(`${what} must be a positive number of milliseconds, got ${ms}`);
  }
}

/** Runs for one Lease; see the module documentation for the guarantees. */
export class LeaderElector {
  readonly #client: KubeClient;
  readonly #path: string;
  readonly #namespace: string;
  readonly #name: string;
  readonly #identity: string;
  readonly #leaseDurationMs: number;
  readonly #renewDeadlineMs: number;
  readonly #retryPeriodMs: number;
  readonly #releaseOnCancel: boolean;
  readonly #log: Logger;
  readonly #opts: LeaderElectorOptions;
  readonly #clock: () => number;
  /** The last Lease read or written, for its resourceVersion. */
  #lease: Lease | undefined;
  #observed: LeaseSpec = {};
  #observedKey = "";
  /** Local time at which the record last changed (client-go's observedTime). */
  #observedTime = 0;
  #reportedLeader = "";
  #leading: AbortController | undefined;
  #running = false;

  /**
   * Validates the configuration like client-go's `NewLeaderElector`.
   *
   * @throws {RangeError} unless leaseDuration > renewDeadline > 1.2 × retryPeriod > 0
   */
  constructor(opts: LeaderElectorOptions) {
    positive("Lease duration", opts.leaseDurationMs);
    positive("Renew deadline", opts.renewDeadlineMs);
    positive("Retry period", opts.retryPeriodMs);
    if (opts.leaseDurationMs <= opts.renewDeadlineMs) {
      throw new RangeError(
        `Lease duration (${opts.leaseDurationMs}ms) must be greater than the renew deadline (${opts.renewDeadlineMs}ms)`,
      );
    }
    if (opts.renewDeadlineMs <= JITTER_FACTOR * opts.retryPeriodMs) {
      throw new RangeError(
        `Renew deadline (${opts.renewDeadlineMs}ms) must be greater than ${JITTER_FACTOR} × the retry period (${opts.retryPeriodMs}ms)`,
      );
    }
    if (!opts.identity) throw new Error("Leader election identity must not be empty");
    if (!opts.namespace || !opts.name) throw new Error("Leader election Lease needs a namespace and a name");
    this.#client = opts.client;
    this.#namespace = opts.namespace;
    this.#name = opts.name;
    this.#path = objectPath(Resources.leases, opts.namespace, opts.name);
    this.#identity = opts.identity;
    this.#leaseDurationMs = opts.leaseDurationMs;
    this.#renewDeadlineMs = opts.renewDeadlineMs;
    this.#retryPeriodMs = opts.retryPeriodMs;
    this.#releaseOnCancel = opts.releaseOnCancel ?? true;
    this.#log = (opts.logger ?? new Logger()).with({
      lease: `${opts.namespace}/${opts.name}`,
      identity: opts.identity,
    });
    this.#opts = opts;
    this.#clock = opts.clock ?? Date.now;
  }

  /** Whether this replica is leading now (between `onStartedLeading` and the end of leadership). */
  isLeader(): boolean {
    return this.#leading !== undefined;
  }

  /** The holder identity last observed in the Lease, `""` if none. */
  getLeader(): string {
    return this.#observed.holderIdentity ?? "";
  }

  /**
   * Campaigns until the Lease is acquired, leads until leadership is lost or `signal` aborts, and returns.
   * A caller whose `run` returned without its signal aborted has lost leadership and should exit.
   */
  async run(signal: AbortSignal): Promise<void> {
    if (this.#running) throw new Error("Leader election is already running");
    this.#running = true;
    try {
      const acquiredAt = await this.#acquire(signal);
      if (acquiredAt !== undefined) await this.#lead(signal, acquiredAt);
    } finally {
      this.#running = false;
    }
  }

  /** Returns the local time the winning attempt started, or undefined if `signal` aborted first. */
  async #acquire(signal: AbortSignal): Promise<number | undefined> {
    this.#log.info("Attempting to acquire leader lease");
    while (!signal.aborted) {
      const started = this.#clock();
      // Not cut short by `signal`: a write that lands unseen would leave us holding the Lease unawares.
      const acquired = await this.#tryAcquireOrRenew(AbortSignal.timeout(this.#renewDeadlineMs));
      this.#reportTransition();
      if (acquired) {
        this.#log.info("Acquired leader lease");
        return started;
      }
      await sleep(this.#retryPeriodMs * (1 + MAX_JITTER * Math.random()), signal);
    }
    return undefined;
  }

  async #lead(signal: AbortSignal, acquiredAt: number): Promise<void> {
    if (signal.aborted) {
      // Won at the moment we were told to stop: hand the Lease back without starting anything.
      if (this.#releaseOnCancel) await this.#release();
      return;
    }
    const leading = new AbortController();
    const stop = () => leading.abort(signal.reason);
    signal.addEventListener("abort", stop, { once: true });
    this.#leading = leading;
    this.#callback("onLeaderChange", () => this.#opts.onLeaderChange?.(true));
    let work: Promise<void> | undefined;
    this.#callback("onStartedLeading", () => {
      const result = this.#opts.onStartedLeading(leading.signal);
      if (result instanceof Promise) {
        work = result.catch((err) => this.#log.error("Leading work failed", { err }));
      }
    });
    let lastRenew = acquiredAt;
    let lost = "";
    while (!signal.aborted) {
      await sleep(this.#retryPeriodMs, signal);
      if (signal.aborted) break;
      const deadline = lastRenew + this.#renewDeadlineMs;
      const started = this.#clock();
      if (started >= deadline) {
        lost = "renew deadline exceeded";
        break;
      }
      const renewed = await this.#tryAcquireOrRenew(AbortSignal.timeout(deadline - started));
      this.#reportTransition();
      if (renewed) {
        lastRenew = started;
      } else if (this.getLeader() !== "" && this.getLeader() !== this.#identity) {
        lost = `lease taken over by ${this.getLeader()}`;
        break;
      } else if (this.#clock() >= deadline) {
        lost = "renew deadline exceeded";
        break;
      }
    }
    signal.removeEventListener("abort", stop);
    this.#leading = undefined;
    leading.abort(lost ? new Error(`Leader election lost: ${lost}`) : signal.reason);
    this.#callback("onLeaderChange", () => this.#opts.onLeaderChange?.(false));
    if (lost) {
      this.#log.error("Leader election lost", { reason: lost });
    } else {
      this.#log.info("Stopped leading on request");
      if (this.#releaseOnCancel && await this.#settled(work, lastRenew + this.#renewDeadlineMs)) {
        await this.#release();
      }
    }
    this.#callback("onStoppedLeading", () => this.#opts.onStoppedLeading());
  }

  /** Waits for the leading work until `until` (local time); true if it settled (or there was none). */
  async #settled(work: Promise<void> | undefined, until: number): Promise<boolean> {
    if (!work) return true;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timedOut = new Promise<false>((resolve) => {
      timer = setTimeout(() => resolve(false), Math.max(0, until - this.#clock()));
    });
    const done = await Promise.race([work.then(() => true), timedOut]);
    clearTimeout(timer);
    if (!done) {
      this.#log.warn("Leading work still running; leaving the lease to expire instead of releasing it");
    }
    return done;
  }

  /** One round of client-go's tryAcquireOrRenew; never throws. */
  async #tryAcquireOrRenew(signal: AbortSignal): Promise<boolean> {
    const now = this.#clock();
    const record: LeaseSpec = {
      holderIdentity: this.#identity,
      leaseDurationSeconds: Math.ceil(this.#leaseDurationMs / 1000),
      acquireTime: microTime(now),
      renewTime: microTime(now),
    };
    // Fast path: while our own record is valid, write over it without reading it first.
    if (this.#lease && this.#observed.holderIdentity === this.#identity && this.#valid(now)) {
      const spec = { ...this.#lease.spec, ...record, acquireTime: this.#observed.acquireTime };
      try {
        await this.#write("PUT", { ...this.#lease, spec }, signal);
        return true;
      } catch (err) {
        if (signal.aborted) return this.#failed("Cannot renew leader lease", err);
        this.#log.debug("Optimistic lease renewal failed; rereading the lease", { err });
      }
    }
    let lease: Lease;
    try {
      lease = await this.#call<Lease>("GET", this.#path, undefined, signal);
    } catch (err) {
      if (!isNotFound(err)) return this.#failed("Cannot get leader lease", err);
      const created: Lease = {
        apiVersion: apiVersionOf(Resources.leases),
        kind: Resources.leases.kind,
        metadata: { name: this.#name, namespace: this.#namespace },
        spec: { ...record, leaseTransitions: 0 },
      };
      try {
        await this.#write("POST", created, signal);
        return true;
      } catch (err) {
        if (isAlreadyExists(err)) return false; // another candidate created it first
        return this.#failed("Cannot create leader lease", err);
      }
    }
    this.#observe(lease);
    const holder = lease.spec?.holderIdentity ?? "";
    if (holder !== "" && holder !== this.#identity && this.#valid(now)) {
      this.#log.debug("Leader lease is held by another and has not expired", { holder });
      return false;
    }
    const spec: LeaseSpec = { ...lease.spec, ...record };
    if (holder === this.#identity) {
      spec.acquireTime = lease.spec?.acquireTime;
      spec.leaseTransitions = lease.spec?.leaseTransitions ?? 0;
    } else {
      spec.leaseTransitions = (lease.spec?.leaseTransitions ?? 0) + 1;
    }
    try {
      await this.#write("PUT", { ...lease, spec }, signal);
      return true;
    } catch (err) {
      return this.#failed("Cannot update leader lease", err);
    }
  }

  /** Hands the Lease back as client-go does: no holder, a one-second duration, transitions kept. */
  async #release(): Promise<void> {
    const signal = AbortSignal.timeout(this.#renewDeadlineMs);
    try {
      const lease = await this.#call<Lease>("GET", this.#path, undefined, signal);
      if (lease.spec?.holderIdentity !== this.#identity) {
        this.#observe(lease);
        this.#log.info("Leader lease no longer ours; nothing to release", {
          holder: lease.spec?.holderIdentity,
        });
        return;
      }
      const now = microTime(this.#clock());
      const spec: LeaseSpec = {
        ...lease.spec,
        holderIdentity: "",
        leaseDurationSeconds: 1,
        acquireTime: now,
        renewTime: now,
      };
      await this.#write("PUT", { ...lease, spec }, signal);
      this.#log.info("Released leader lease");
    } catch (err) {
      this.#log.warn("Cannot release leader lease; it will expire", { err });
    }
  }

  /** Creates or replaces the Lease and records what was written as observed now. */
  async #write(method: "POST" | "PUT", lease: Lease, signal: AbortSignal): Promise<void> {
    const path = method === "POST" ? collectionPath(Resources.leases, this.#namespace) : this.#path;
    const written = await this.#call<Lease>(method, path, lease, signal);
    this.#lease = written;
    this.#observed = { ...written.spec };
    this.#observedKey = recordKey(written.spec);
    this.#observedTime = this.#clock();
  }

  /** Notes a record read from the server; the observation time moves only when the record changed. */
  #observe(lease: Lease): void {
    this.#lease = lease;
    const key = recordKey(lease.spec);
    if (key === this.#observedKey) return;
    this.#observed = { ...lease.spec };
    this.#observedKey = key;
    this.#observedTime = this.#clock();
  }

  /** Whether the observed record is within the duration it states, counted from when we saw it change. */
  #valid(now: number): boolean {
    return this.#observedTime + (this.#observed.leaseDurationSeconds ?? 0) * 1000 > now;
  }

  #reportTransition(): void {
    const holder = this.getLeader();
    if (holder === "" || holder === this.#reportedLeader) return;
    this.#reportedLeader = holder;
    this.#log.info("New leader observed", { leader: holder });
    this.#callback("onNewLeader", () => this.#opts.onNewLeader?.(holder));
  }

  #failed(msg: string, err: unknown): false {
    this.#log.warn(msg, { err });
    return false;
  }

  /** Runs a user callback; its exceptions are logged, never allowed to break the election loop. */
  #callback(name: string, fn: () => void): void {
    try {
      fn();
    } catch (err) {
      this.#log.error("Leader election callback failed", { callback: name, err });
    }
  }

  // Through `request` rather than get/update: those take no signal, and an unanswered renewal must be cut
  // at the renew deadline.
  /**
   * One Lease request, cut off after half the renew deadline (at least a second), as controller-runtime's
   * leader-election client does: a call stuck in a queue then leaves time for a second try before the
   * deadline, instead of one call spending all of it.
   */
  async #call<T>(method: string, path: string, body: unknown, signal: AbortSignal): Promise<T> {
    const callTimeout = AbortSignal.timeout(Math.max(this.#renewDeadlineMs / 2, MIN_CALL_TIMEOUT_MS));
    const res = await this.#client.request({
      method,
      path,
      body,
      signal: AbortSignal.any([signal, callTimeout]),
      resource: Resources.leases.plural,
    });
    if (!res.ok) throw await errorFromResponse(res, `${method} ${path}`);
    return await res.json() as T;
  }
}

/** The fields whose change counts as a change of the record (metadata-only updates do not). */
function recordKey(spec: LeaseSpec | undefined): string {
  return JSON.stringify([
    spec?.holderIdentity ?? "",
    spec?.leaseDurationSeconds ?? 0,
    spec?.acquireTime ?? "",
    spec?.renewTime ?? "",
    spec?.leaseTransitions ?? 0,
  ]);
}
