/**
 * Which objects are a CloudShell's own. The operator accepts an object as a
 * shell's child only when the object carries a controller ownerReference with
 * that shell's UID, the way Kubernetes' own controllers (ReplicaSet, Job) treat
 * objects they find: a namesake made by someone else, or left by an earlier
 * shell of the same name, is never adopted, never modified, and reported.
 *
 * `ensureChild` is the one way the reconciler creates a child; every kind of
 * child goes through it, so the rule cannot be forgotten for a new one.
 */
import type { KubeClient } from "../../kube/client.ts";
import { isAlreadyExists } from "../../kube/errors.ts";
import type { ResourceType } from "../../kube/resources.ts";
import type { KubeObject, OwnerReference } from "../../kube/types.ts";
import { API_VERSION, type CloudShell, KIND } from "../api.ts";

/** The controller ownerReference that ties a child to its CloudShell (and lets GC remove it). */
export function ownerReference(cs: CloudShell): OwnerReference {
  return {
    apiVersion: API_VERSION,
    kind: KIND,
    name: cs.metadata.name!,
    uid: cs.metadata.uid!,
    controller: true,
    blockOwnerDeletion: true,
  };
}

/** Whether `obj` is controlled by this CloudShell (same UID, so never a namesake's leftovers). */
export function isOwnedBy(obj: KubeObject, cs: CloudShell): boolean {
  return obj.metadata.ownerReferences?.some((r) => r.controller && r.uid === cs.metadata.uid) ?? false;
}

/**
 * An object of the name a shell's child needs exists and is not that shell's.
 * The reconciler reports it as `Ready=False` with reason `<Kind>Conflict`.
 */
export class ChildConflict extends Error {
  /** The kind of the object in the way, such as `ServiceAccount`. */
  readonly kind: string;
  readonly namespace: string;
  readonly objectName: string;

  constructor(kind: string, namespace: string, name: string) {
    super(
      `${kind} ${namespace}/${name} exists and is not owned by this CloudShell; ` +
        "the operator neither uses nor changes it: delete or rename it, or rename the CloudShell",
    );
    this.name = "ChildConflict";
    this.kind = kind;
    this.namespace = namespace;
    this.objectName = name;
  }

  /** The condition reason. */
  get reason(): string {
    return `${this.kind}Conflict`;
  }
}

/** Throws ChildConflict unless `obj` belongs to `cs`. */
export function assertOwned<T extends KubeObject>(type: ResourceType, obj: T, cs: CloudShell): T {
  if (!isOwnedBy(obj, cs)) {
    throw new ChildConflict(type.kind, obj.metadata.namespace ?? "", obj.metadata.name ?? "");
  }
  return obj;
}

/**
 * Creates a child of `cs` (`desired` must carry `ownerReference(cs)`), or
 * returns the existing one of that name when it is this shell's. An object of
 * that name that is not this shell's is left exactly as it is: ChildConflict.
 */
export async function ensureChild<T extends KubeObject>(
  client: KubeClient,
  type: ResourceType,
  desired: T,
  cs: CloudShell,
): Promise<T> {
  try {
    return await client.create<T>(type, desired);
  } catch (err) {
    if (!isAlreadyExists(err)) throw err;
  }
  const existing = await client.get<T>(type, desired.metadata.namespace, desired.metadata.name!);
  return assertOwned(type, existing, cs);
}
