/**
 * The manager runs an operator's parts in order: informers first (their
 * caches warm up on every replica, so a new leader starts at once), then,
 * once every cache has synced and this replica leads, the controllers. On
 * shutdown it stops taking work, drains reconciles in flight, releases the
 * Lease and stops the informers. It knows nothing of any particular resource.
 */
import type { Logger } from "../log.ts";
import type { HealthChecks } from "./health.ts";
import { LeaderElector, type LeaderElectorOptions } from "./leader_election.ts";

/** Something with a cache that must sync before controllers start. */
export interface Syncable {
  readonly resource: { plural: string };
  run(signal: AbortSignal): Promise<void>;
  hasSynced(): boolean;
  waitForSync(signal: AbortSignal): Promise<boolean>;
}

/** Something that runs only on the leader until its signal aborts. */
export interface LeaderRunnable {
  readonly name: string;
  run(signal: AbortSignal, drainTimeoutMs: number): Promise<void>;
}

/** How the manager ended. */
export type ManagerExit = "stopped" | "lost-leadership";

/** Options of a manager. */
export interface ManagerOptions {
  logger: Logger;
  health: HealthChecks;
  /** Leader election settings; undefined runs controllers without electing (single replica). */
  leaderElection?: Omit<LeaderElectorOptions, "onStartedLeading" | "onStoppedLeading" | "logger">;
  /** Time reconciles in flight get to finish on shutdown. */
  drainTimeoutMs: number;
}

/** Runs informers and, on the leader, controllers. */
export class Manager {
  readonly #opts: ManagerOptions;
  readonly #informers: Syncable[] = [];
  readonly #runnables: LeaderRunnable[] = [];
  #leading = false;

  constructor(opts: ManagerOptions) {
    this.#opts = opts;
    opts.health.addLiveness("ping", () => true);
    opts.health.addReadiness("informers-synced", () => {
      const pending = this.#informers.filter((i) => !i.hasSynced()).map((i) => i.resource.plural);
      return pending.length === 0 ? true : `waiting for caches: ${pending.join(", ")}`;
    });
  }

  /** Adds an informer; it runs on every replica. */
  addInformer(informer: Syncable): void {
    this.#informers.push(informer);
  }

  /** Adds a controller (or anything) that runs only while this replica leads. */
  addLeaderRunnable(runnable: LeaderRunnable): void {
    this.#runnables.push(runnable);
  }

  /** Whether this replica is running its controllers now. */
  isLeading(): boolean {
    return this.#leading;
  }

  /** Runs until `signal` aborts ("stopped") or leadership is lost ("lost-leadership"). */
  async run(signal: AbortSignal): Promise<ManagerExit> {
    const log = this.#opts.logger;
    const informerStop = new AbortController();
    const informersDone = Promise.all(this.#informers.map((i) => i.run(informerStop.signal)));
    try {
      log.info("Waiting for caches to sync", { informers: this.#informers.map((i) => i.resource.plural) });
      const synced = await Promise.all(this.#informers.map((i) => i.waitForSync(signal)));
      if (!synced.every(Boolean)) return "stopped";
      log.info("Caches synced");
      const election = this.#opts.leaderElection;
      if (!election) {
        await this.#lead(signal);
        return "stopped";
      }
      let lost = false;
      const elector = new LeaderElector({
        ...election,
        logger: log.with({ component: "leader-election" }),
        onStartedLeading: (leadSignal) => this.#lead(leadSignal),
        onStoppedLeading: () => {
          if (!signal.aborted) lost = true;
        },
      });
      await elector.run(signal);
      return lost ? "lost-leadership" : "stopped";
    } finally {
      informerStop.abort();
      await informersDone;
    }
  }

  async #lead(signal: AbortSignal): Promise<void> {
    this.#leading = true;
    this.#opts.logger.info("Starting controllers", { controllers: this.#runnables.map((r) => r.name) });
    try {
      await Promise.all(this.#runnables.map((r) => r.run(signal, this.#opts.drainTimeoutMs)));
    } finally {
      this.#leading = false;
    }
  }
}
