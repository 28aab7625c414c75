/**
 * Adds and removes one CloudShell's entry in a shared Ingress or
 * VirtualService without disturbing anyone else's. Many CloudShells write the
 * same object at once, so every change is a read-modify-write cycle that is
 * serialized per object inside the process (a keyed mutex) and guarded by the
 * object's resourceVersion against other writers (another replica during a
 * fail-over, a human with kubectl), retried on conflict.
 */
import type { KubeClient } from "../../kube/client.ts";
import { errorFromResponse, isAlreadyExists, isConflict, isNotFound } from "../../kube/errors.ts";
import { objectPath, type ResourceType } from "../../kube/resources.ts";
import type { KubeObject } from "../../kube/types.ts";
import { ingressRoutes } from "./ingress_route.ts";
import { KeyedMutex } from "../keyed_mutex.ts";
import {
  type DesiredRoute,
  madeByOperator,
  type RouteBackend,
  RouteError,
  type RouteKind,
  type RouteRef,
} from "./route_types.ts";
import { virtualServiceRoutes } from "./virtual_service_route.ts";

export {
  type DesiredRoute,
  encodeRouteRef,
  madeByOperator,
  parseRouteRef,
  type RouteBackend,
  RouteError,
  type RouteErrorReason,
  type RouteMode,
  type RouteRef,
} from "./route_types.ts";
export { type Ingress, REWRITE_TARGET_ANNOTATION } from "./ingress_route.ts";
export { type VirtualService, VirtualServices } from "./virtual_service_route.ts";

/** Tuning of a route manager; the defaults suit production. */
export interface RouteManagerOptions {
  /** Read-modify-write attempts before giving up with `RouteConflict` (default 8). */
  maxAttempts?: number;
  /** First retry delay; it doubles per attempt, with jitter (default 20 ms). */
  baseDelayMs?: number;
  /** Longest retry delay (default 1 s). */
  maxDelayMs?: number;
  /**
   * Add entries to Ingresses and VirtualServices that neither this operator nor CloudTTY made
   * (CloudTTY's behaviour; an administrator's opt-in). Default false: such an object is left alone
   * and the shell reports `IngressConflict` or `VirtualServiceConflict`.
   */
  useExistingObjects?: boolean;
}

/** The outcome of one attempt: done, or lost a race with another writer and worth another try. */
type Attempt = "done" | "retry";

/** Writes route entries into shared Ingresses and VirtualServices. */
export class RouteManager {
  readonly #client: KubeClient;
  readonly #mutex = new KeyedMutex();
  readonly #maxAttempts: number;
  readonly #baseDelayMs: number;
  readonly #maxDelayMs: number;
  readonly #useExistingObjects: boolean;

  constructor(client: KubeClient, opts: RouteManagerOptions = {}) {
    this.#client = client;
    this.#useExistingObjects = opts.useExistingObjects ?? false;
    this.#maxAttempts = opts.maxAttempts ?? 8;
    this.#baseDelayMs = opts.baseDelayMs ?? 20;
    this.#maxDelayMs = opts.maxDelayMs ?? 1_000;
  }

  /** Makes the shared object hold exactly this route's entry (creating the object if needed). */
  async ensure(route: DesiredRoute): Promise<void> {
    switch (route.mode) {
      case "Ingress":
        if (route.serviceNamespace !== route.namespace) {
          throw new RouteError(
            "BackendNamespaceMismatch",
            `Ingress ${route.namespace}/${route.objectName} cannot route to Service ` +
              `${route.serviceNamespace}/${route.serviceName}: an Ingress only reaches Services in its own namespace`,
          );
        }
        return await this.#ensure(ingressRoutes, route);
      case "VirtualService":
        return await this.#ensure(virtualServiceRoutes, route);
      default:
        throw new Error(`Unknown route mode ${JSON.stringify((route as RouteRef).mode)}`);
    }
  }

  /**
   * Takes out the entries of the route's path that lead to `backend` (the shell's own Service, and
   * nothing else); deletes the shared object when this operator made it and it is left empty.
   */
  async remove(ref: RouteRef, backend: RouteBackend): Promise<void> {
    switch (ref.mode) {
      case "Ingress":
        return await this.#remove(ingressRoutes, ref, backend);
      case "VirtualService":
        return await this.#remove(virtualServiceRoutes, ref, backend);
      default:
        throw new Error(`Unknown route mode ${JSON.stringify((ref as RouteRef).mode)}`);
    }
  }

  #ensure<T extends KubeObject>(kind: RouteKind<T>, route: DesiredRoute): Promise<void> {
    const client = this.#client;
    return this.#cycle(kind.type, route, async () => {
      const current = await this.#get(kind, route);
      if (!current) {
        await kind.checkServed?.(client, route.namespace);
        try {
          await client.create(kind.type, kind.build(route));
          return "done";
        } catch (err) {
          // Another writer created it first: merge into theirs.
          if (isAlreadyExists(err)) return "retry";
          throw err;
        }
      }
      if (!this.#useExistingObjects && !madeByOperator(current)) {
        throw new RouteError(
          kind.type.kind === "Ingress" ? "IngressConflict" : "VirtualServiceConflict",
          `${kind.type.kind} ${route.namespace}/${route.objectName} exists and was not created by ` +
            "cloudshell-operator; the operator does not change it: choose another name, or let an " +
            "administrator label it app.kubernetes.io/managed-by=cloudshell-operator",
        );
      }
      const next = kind.add(current, route);
      if (!next) return "done";
      return await this.#update(kind.type, next);
    });
  }

  #remove<T extends KubeObject>(kind: RouteKind<T>, ref: RouteRef, backend: RouteBackend): Promise<void> {
    return this.#cycle(kind.type, ref, async () => {
      const current = await this.#get(kind, ref);
      if (!current) return "done";
      const removal = kind.remove(current, ref, backend);
      switch (removal.action) {
        case "none":
          return "done";
        case "update":
          return await this.#update(kind.type, removal.object);
        case "delete":
          try {
            await deleteUnchanged(this.#client, kind.type, current);
            return "done";
          } catch (err) {
            if (isNotFound(err)) return "done";
            // Someone changed it since we read it (maybe added a path): look again.
            if (isConflict(err)) return "retry";
            throw err;
          }
      }
    });
  }

  async #get<T extends KubeObject>(kind: RouteKind<T>, ref: RouteRef): Promise<T | undefined> {
    try {
      return await this.#client.get<T>(kind.type, ref.namespace, ref.objectName);
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

  async #update<T extends KubeObject>(type: ResourceType, next: T): Promise<Attempt> {
    try {
      // `next` carries the resourceVersion it was read at, so a concurrent change fails with 409.
      await this.#client.update(type, next);
      return "done";
    } catch (err) {
      // Conflict: someone wrote in between. NotFound: someone deleted it in between (recreate it next time).
      if (isConflict(err) || isNotFound(err)) return "retry";
      throw err;
    }
  }

  /** Runs read-modify-write attempts under the object's lock until one is done or the budget is spent. */
  #cycle(type: ResourceType, ref: RouteRef, attempt: () => Promise<Attempt>): Promise<void> {
    const key = `${type.group}/${type.plural}/${ref.namespace}/${ref.objectName}`;
    return this.#mutex.run(key, async () => {
      for (let i = 0; i < this.#maxAttempts; i++) {
        if (i > 0) await sleep(this.#delay(i - 1));
        if (await attempt() === "done") return;
      }
      throw new RouteError(
        "RouteConflict",
        `Gave up writing ${type.kind} ${ref.namespace}/${ref.objectName} for path ${ref.path} after ` +
          `${this.#maxAttempts} attempts: other writers kept changing it`,
      );
    });
  }

  /** Exponential backoff with jitter, so two writers that collided do not collide again in lockstep. */
  #delay(retry: number): number {
    const ceiling = Math.min(this.#maxDelayMs, this.#baseDelayMs * 2 ** retry);
    return ceiling / 2 + Math.random() * ceiling / 2;
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Deletes `obj` only if it is still the version we read: a writer that added a
 * path after our read must not lose it. The client's `delete` takes a uid
 * precondition only, hence the raw request.
 */
async function deleteUnchanged(client: KubeClient, type: ResourceType, obj: KubeObject): Promise<void> {
  const path = objectPath(type, obj.metadata.namespace, obj.metadata.name ?? "");
  const res = await client.request({
    method: "DELETE",
    path,
    body: {
      kind: "DeleteOptions",
      apiVersion: "v1",
      preconditions: { uid: obj.metadata.uid, resourceVersion: obj.metadata.resourceVersion },
    },
    resource: type.plural,
  });
  if (res.ok) {
    await res.body?.cancel();
    return;
  }
  throw await errorFromResponse(res, `DELETE ${path}`);
}
