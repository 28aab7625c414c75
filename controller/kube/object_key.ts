/**
 * Object keys: `namespace/name`, or `name` for cluster-scoped objects, as in
 * client-go's MetaNamespaceKeyFunc. Keys are strings so they compare by value
 * in Sets and Maps (the work queue relies on that).
 */
import type { KubeObject } from "./types.ts";

/** A `namespace/name` (or `name`) key. */
export type ObjectKey = string & { readonly __brand: "ObjectKey" };

/** The key of an object from its metadata. */
export function keyOf(obj: KubeObject): ObjectKey {
  return keyFor(obj.metadata.namespace, obj.metadata.name ?? "");
}

/** The key for a namespace and name. */
export function keyFor(namespace: string | undefined, name: string): ObjectKey {
  return (namespace ? `${namespace}/${name}` : name) as ObjectKey;
}

/** Splits a key back into namespace (`""` when cluster-scoped) and name. */
export function splitKey(key: ObjectKey | string): { namespace: string; name: string } {
  const slash = key.indexOf("/");
  if (slash < 0) return { namespace: "", name: key };
  return { namespace: key.slice(0, slash), name: key.slice(slash + 1) };
}
