/**
 * Removes identity grants whose shell is gone. A grant (identity.ts) is cluster-scoped and outlives its
 * CloudShell if someone strips the shell's finalizer or force-deletes its namespace. Its binding names the
 * shell's ServiceAccount by namespace and name only, so a later shell of the same name, created by someone
 * else, would get the right to act as the earlier shell's creator. This sweep, at start and then every few
 * minutes on the leader, deletes such grants: those labelled as the operator's whose shell no longer exists
 * with the UID the grant was made for.
 */
import { sleep } from "../../cache/backoff.ts";
import type { Lister } from "../../cache/store.ts";
import type { KubeClient } from "../../kube/client.ts";
import { isForbidden, isNotFound } from "../../kube/errors.ts";
import { Resources } from "../../kube/resources.ts";
import type { KubeObject } from "../../kube/types.ts";
import { errorMessage, type Logger } from "../../log.ts";
import { type CloudShell, CloudShells, MANAGED_BY, MANAGED_BY_LABEL, OWNER_LABEL } from "../api.ts";
import { OWNER_NAMESPACE_LABEL, OWNER_UID_LABEL } from "./identity.ts";

/** How often the leader looks for orphaned grants. */
export const GRANT_SWEEP_PERIOD_MS = 5 * 60_000;

/** Options of the sweep. */
export interface GrantSweeperOptions {
  client: KubeClient;
  /** The CloudShell cache: a shell found there with the grant's UID needs no request. */
  cloudShells: Lister<CloudShell>;
  logger: Logger;
  periodMs?: number;
}

/** Which shell a grant was made for, from its labels; undefined for an object without all of them. */
function ownerOf(grant: KubeObject): { namespace: string; name: string; uid: string } | undefined {
  const labels = grant.metadata.labels ?? {};
  const namespace = labels[OWNER_NAMESPACE_LABEL];
  const name = labels[OWNER_LABEL];
  const uid = labels[OWNER_UID_LABEL];
  return namespace && name && uid ? { namespace, name, uid } : undefined;
}

/** Sweeps orphaned identity grants now and then; a leader runnable. */
export class GrantSweeper {
  readonly name = "identity-grant-sweeper";
  readonly #opts: GrantSweeperOptions;

  constructor(opts: GrantSweeperOptions) {
    this.#opts = opts;
  }

  /** Sweeps every period until aborted. */
  async run(signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      try {
        await this.sweep();
      } catch (err) {
        this.#opts.logger.warn("Could not sweep orphaned identity grants", { error: errorMessage(err) });
      }
      await sleep(this.#opts.periodMs ?? GRANT_SWEEP_PERIOD_MS, signal);
    }
  }

  /** One sweep; returns the names of the grants removed (a binding and its role share a name). */
  async sweep(): Promise<string[]> {
    const { client } = this.#opts;
    const selector = `${MANAGED_BY_LABEL}=${MANAGED_BY},${OWNER_UID_LABEL}`;
    const removed = new Set<string>();
    // Bindings first: a binding without its role grants nothing, a role without a binding is inert.
    for (const type of [Resources.clusterRoleBindings, Resources.clusterRoles]) {
      const grants = (await client.list<KubeObject>(type, { labelSelector: selector })).items;
      for (const grant of grants) {
        const owner = ownerOf(grant);
        if (!owner || await this.#ownerExists(owner)) continue;
        try {
          await client.delete(type, undefined, grant.metadata.name!);
        } catch (err) {
          if (!isNotFound(err)) throw err;
        }
        removed.add(grant.metadata.name!);
        this.#opts.logger.info("Removed an identity grant whose CloudShell is gone", {
          kind: type.kind,
          name: grant.metadata.name,
          cloudshell: `${owner.namespace}/${owner.name}`,
          uid: owner.uid,
        });
      }
    }
    return [...removed];
  }

  /**
   * Whether the shell the grant was made for still exists: in the cache, else as the API server says. A
   * shell the operator may not read (another install's namespace) is assumed to exist: not ours to judge.
   */
  async #ownerExists(owner: { namespace: string; name: string; uid: string }): Promise<boolean> {
    if (this.#opts.cloudShells.get(owner.namespace, owner.name)?.metadata.uid === owner.uid) return true;
    try {
      const live = await this.#opts.client.get<CloudShell>(CloudShells, owner.namespace, owner.name);
      return live.metadata.uid === owner.uid;
    } catch (err) {
      if (isNotFound(err)) return false;
      if (isForbidden(err)) return true;
      throw err;
    }
  }
}
