/**
 * Deep equality of JSON values (what API objects are made of: null, booleans, numbers, strings, arrays and
 * plain objects), with object keys in any order. The operator uses it instead of node:util's
 * `isDeepStrictEqual`, because importing a `node:` module loads part of Deno's Node compatibility layer,
 * about 3 MB of RSS for the operator's two uses (docs/performance.md, "Memory").
 *
 * @module
 */

/**
 * Whether `a` and `b` are the same JSON value. A key whose value is `undefined` counts as absent, as in the
 * JSON the API server would receive.
 */
export function jsonEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== "object" || typeof b !== "object" || a === null || b === null) return false;
  if (Array.isArray(a) || Array.isArray(b)) {
    if (!Array.isArray(a) || !Array.isArray(b) || a.length !== b.length) return false;
    return a.every((item, i) => jsonEqual(item, b[i]));
  }
  const x = a as Record<string, unknown>;
  const y = b as Record<string, unknown>;
  const keys = (o: Record<string, unknown>) => Object.keys(o).filter((k) => o[k] !== undefined);
  const xKeys = keys(x);
  if (xKeys.length !== keys(y).length) return false;
  return xKeys.every((k) => Object.hasOwn(y, k) && jsonEqual(x[k], y[k]));
}
