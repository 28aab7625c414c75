/**
 * Request counts from Prometheus text: the API server's apiserver_request_total
 * (every client) and the operator's rest_client_requests_total (its own).
 */
import type { KubeClient } from "../controller/kube/mod.ts";

/** Requests by `VERB resource[/subresource]`. */
export type RequestCounts = Map<string, number>;

function labels(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const m of text.matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) out[m[1]] = m[2];
  return out;
}

/** Sums a counter's samples by a key made from its labels. */
export function sumBy(
  text: string,
  metric: string,
  key: (l: Record<string, string>) => string,
): RequestCounts {
  const counts: RequestCounts = new Map();
  for (const line of text.split("\n")) {
    if (!line.startsWith(`${metric}{`)) continue;
    const close = line.lastIndexOf("}");
    const k = key(labels(line.slice(metric.length + 1, close)));
    counts.set(k, (counts.get(k) ?? 0) + Number(line.slice(close + 2)));
  }
  return counts;
}

/** The API server's request counts, as seen by it. */
export async function countRequests(client: KubeClient): Promise<RequestCounts> {
  const res = await client.request({ method: "GET", path: "/metrics", headers: { Accept: "text/plain" } });
  const text = await res.text();
  return sumBy(
    text,
    "apiserver_request_total",
    (l) => `${l.verb} ${l.resource}${l.subresource ? `/${l.subresource}` : ""}`,
  );
}

/** `after - before`, dropping zeros. */
export function diffCounts(after: RequestCounts, before: RequestCounts): RequestCounts {
  const out: RequestCounts = new Map();
  for (const [k, v] of after) {
    const d = v - (before.get(k) ?? 0);
    if (d > 0) out.set(k, d);
  }
  return out;
}

/**
 * Writes at the API server to what only the operator writes: creations of
 * Jobs, Services, ServiceAccounts and RoleBindings, and changes to
 * CloudShells and their status. (Events come from every component, deletions
 * of children from the garbage collector, Job and pod status from the control
 * plane; the operator's own count covers its Events.)
 */
export function writesByResource(counts: RequestCounts): number {
  let total = 0;
  for (const [k, v] of counts) {
    const [verb, resource] = k.split(" ");
    const created = verb === "POST" &&
      ["jobs", "services", "serviceaccounts", "rolebindings"].includes(resource);
    const changed = ["PUT", "PATCH", "APPLY"].includes(verb) &&
      ["cloudshells", "cloudshells/status"].includes(resource);
    if (created || changed) total += v;
  }
  return total;
}
