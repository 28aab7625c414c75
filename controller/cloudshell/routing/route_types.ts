/**
 * The vocabulary of routes: which entry a CloudShell owns in a shared Ingress
 * or VirtualService, what it should look like, and the errors a caller can
 * turn into a condition. Kept apart from the manager so each route kind can
 * use it without an import cycle.
 */
import type { KubeClient } from "../../kube/client.ts";
import type { ResourceType } from "../../kube/resources.ts";
import type { KubeObject } from "../../kube/types.ts";
import { MANAGED_BY, MANAGED_BY_LABEL, OWNER_LABEL } from "../api.ts";

/** The modes that add an entry to a shared object. */
export type RouteMode = "Ingress" | "VirtualService";

/** One route entry a CloudShell added to a shared object. */
export interface RouteRef {
  mode: RouteMode;
  /** Namespace of the shared Ingress or VirtualService. */
  namespace: string;
  /** Name of the shared Ingress or VirtualService. */
  objectName: string;
  /** The route path; it identifies the entry inside the shared object. */
  path: string;
}

/**
 * The Service a shell's route entry leads to. It is what marks an entry as the
 * shell's own: no two live shells have the same Service, and a tenant cannot
 * make the operator write an entry leading to someone else's, so the operator
 * changes or removes only entries that lead to the shell's own Service.
 */
export interface RouteBackend {
  serviceName: string;
  serviceNamespace: string;
}

/** The entry a CloudShell wants, and how to create the shared object if it is missing. */
export interface DesiredRoute extends RouteRef, RouteBackend {
  /** The CloudShell's name: the owner label of a created object, and the VirtualService route name. */
  owner: string;
  /** Used only when the Ingress is created, except `host` (the rule the path goes in). */
  ingress?: { className?: string; annotations?: Record<string, string>; host?: string };
  /**
   * Used only when the VirtualService is created, except `hosts`: a VirtualService answering on other hosts
   * is not joined (RouteHostConflict), as that would put the shell on another's origin. Absent: `["*"]`.
   */
  virtualService?: { gateway?: string; exportTo?: string; hosts?: string[] };
}

/** Why a route could not be written, as a condition reason. */
export type RouteErrorReason =
  | "VirtualServiceCRDMissing"
  | "RouteConflict"
  | "BackendNamespaceMismatch"
  /** The path is taken by an entry that leads elsewhere (another shell's, or someone's own). */
  | "RoutePathConflict"
  /** The shared VirtualService answers on other hosts than the shell's. */
  | "RouteHostConflict"
  /** The shared object exists and was not made by this operator (or CloudTTY). */
  | "IngressConflict"
  | "VirtualServiceConflict";

/** A route failure the caller should report to the user rather than only retry. */
export class RouteError extends Error {
  /** A `Ready` condition reason. */
  readonly reason: RouteErrorReason;

  constructor(reason: RouteErrorReason, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "RouteError";
    this.reason = reason;
  }
}

const MODES: readonly string[] = ["Ingress", "VirtualService"] satisfies RouteMode[];

/** Serializes a route reference for an annotation (JSON with a fixed key order). */
export function encodeRouteRef(ref: RouteRef): string {
  return JSON.stringify({
    mode: ref.mode,
    namespace: ref.namespace,
    objectName: ref.objectName,
    path: ref.path,
  });
}

/** Reads an annotation written by `encodeRouteRef`; undefined when it is absent or malformed. */
export function parseRouteRef(s: string | undefined): RouteRef | undefined {
  if (!s) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(s);
  } catch {
    return undefined;
  }
  if (typeof value !== "object" || value === null) return undefined;
  const { mode, namespace, objectName, path } = value as Record<string, unknown>;
  const nonEmpty = (v: unknown): v is string => typeof v === "string" && v !== "";
  if (!nonEmpty(mode) || !MODES.includes(mode)) return undefined;
  if (!nonEmpty(namespace) || !nonEmpty(objectName) || !nonEmpty(path)) return undefined;
  return { mode: mode as RouteMode, namespace, objectName, path };
}

/** What `remove` should do with a shared object. */
export type Removal<T> = { action: "none" } | { action: "update"; object: T } | { action: "delete" };

/** How one kind of shared object holds route entries. The functions are pure: they never mutate their input. */
export interface RouteKind<T extends KubeObject> {
  readonly type: ResourceType;
  /** A new shared object holding only this route. */
  build(route: DesiredRoute): T;
  /**
   * The object with the route set, or undefined when it is already exactly right. Throws
   * `RoutePathConflict` when the path is held by an entry leading to another backend: never replaced.
   */
  add(current: T, route: DesiredRoute): T | undefined;
  /** What to do to take out the entries of `ref.path` that lead to `backend` (and only those). */
  remove(current: T, ref: RouteRef, backend: RouteBackend): Removal<T>;
  /** Called when the object was not found, to tell a missing type from a missing object (throws). */
  checkServed?(client: KubeClient, namespace: string): Promise<void>;
}

/** Labels that say an operator made a shared object: ours, and CloudTTY's (for objects it left behind). */
const MADE_BY_OPERATOR_LABELS = [OWNER_LABEL, "worker.cloudtty.io/owner-name"];

/**
 * Whether a shared Ingress or VirtualService was made by this operator or by
 * CloudTTY for CloudShells. Only someone who may write the object could have
 * labelled it so, and labelling it is their consent to shells adding entries.
 */
export function madeByOperator(obj: KubeObject): boolean {
  const labels = obj.metadata.labels ?? {};
  return labels[MANAGED_BY_LABEL] === MANAGED_BY || MADE_BY_OPERATOR_LABELS.some((l) => l in labels);
}

/** Replaces every item of `list` that `matches` with a copy of `item`, or appends it when none does. */
export function replaceOrAppend<T>(list: T[], matches: (existing: T) => boolean, item: T): void {
  let found = false;
  for (let i = 0; i < list.length; i++) {
    if (!matches(list[i])) continue;
    list[i] = structuredClone(item);
    found = true;
  }
  if (!found) list.push(item);
}
