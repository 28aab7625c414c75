/**
 * The host a shell's Ingress rule or VirtualService answers on, from an administrator's pattern.
 *
 * A browser's origin is scheme, host and port: pages of one origin read each other's responses, and the
 * browser adds a login it cached for the origin to every request there. Shells on one host (CloudTTY's
 * layout: one path per shell under a shared host) therefore share one origin, and a page at one shell's path
 * can fetch another's `/token` and open its WebSocket, login and Origin check notwithstanding. A pattern with
 * `{name}` and `{namespace}` gives every shell a host, so an origin, of its own.
 */

/** How hosts are chosen, from `--ingress-host-pattern` or `--virtual-service-host-pattern`. */
export type HostPattern =
  /** One host per shell: `{name}` and `{namespace}` replaced. */
  | { kind: "perShell"; text: string }
  /** One host for every shell: one origin for all (an administrator's choice). */
  | { kind: "shared"; host: string }
  /** No host: CloudTTY's rules, which answer on any host the controller serves (one origin for all). */
  | { kind: "any" };

const NAME = "{name}";
const NAMESPACE = "{namespace}";
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/**
 * Reads a pattern flag; returns why it is invalid as a string. `*` is CloudTTY's layout (no host); a host
 * without placeholders is one host shared by all; otherwise both placeholders, once each, with a `.`
 * between them, so that no two shells get the same host: namespaces hold no `.`, so the label next to the
 * `.` says where the namespace ends. (`{name}-{namespace}` would give shell `a-b` in namespace `c` and
 * shell `a` in namespace `b-c` the same host, and with it one origin.)
 */
export function parseHostPattern(text: string): HostPattern | string {
  if (text === "*") return { kind: "any" };
  const names = text.split(NAME).length - 1;
  const namespaces = text.split(NAMESPACE).length - 1;
  if (names === 0 && namespaces === 0) {
    if (text.length > 253 || !DNS_SUBDOMAIN.test(text)) {
      return "expected a host, *, or a pattern such as {name}.{namespace}.shells.example.com";
    }
    return { kind: "shared", host: text };
  }
  if (names !== 1 || namespaces !== 1) {
    return "expected {name} and {namespace} once each, such as {name}.{namespace}.shells.example.com";
  }
  const nameAt = text.indexOf(NAME);
  const namespaceAt = text.indexOf(NAMESPACE);
  const between = nameAt < namespaceAt
    ? text.slice(nameAt + NAME.length, namespaceAt)
    : text.slice(namespaceAt + NAMESPACE.length, nameAt);
  if (!between.includes(".")) {
    return "expected a '.' between {name} and {namespace}, so that no two CloudShells get the same host " +
      "(with {name}-{namespace}, shell a-b of namespace c and shell a of namespace b-c would share one)";
  }
  const sample = text.replace(NAME, "a").replace(NAMESPACE, "b");
  if (sample.length > 253 || !DNS_SUBDOMAIN.test(sample)) {
    return "expected a host name around {name} and {namespace} (lowercase letters, digits, '-' and '.')";
  }
  return { kind: "perShell", text };
}

/** The host of shell `namespace/name` under a pattern; undefined for `any` (no host). */
export function hostFor(pattern: HostPattern, name: string, namespace: string): string | undefined {
  switch (pattern.kind) {
    case "perShell":
      return pattern.text.replace(NAME, name).replace(NAMESPACE, namespace);
    case "shared":
      return pattern.host;
    case "any":
      return undefined;
  }
}

/**
 * The shell whose per-shell host `host` is under the pattern, if any: a tenant who may choose hosts must
 * not choose another shell's.
 */
export function shellOfHost(
  pattern: HostPattern | undefined,
  host: string,
): { name: string; namespace: string } | undefined {
  if (pattern?.kind !== "perShell") return undefined;
  const nameFirst = pattern.text.indexOf(NAME) < pattern.text.indexOf(NAMESPACE);
  const source = pattern.text.split(/(\{name\}|\{namespace\})/).map((part) =>
    part === NAME ? "(.+)" : part === NAMESPACE ? "([a-z0-9-]+)" : part.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")
  ).join("");
  const match = new RegExp(`^${source}$`).exec(host);
  if (!match) return undefined;
  return nameFirst ? { name: match[1], namespace: match[2] } : { name: match[2], namespace: match[1] };
}

/**
 * Whether an allow list admits `value`: `*` admits anything; for hosts, `*.example.com` admits every host
 * ending in `.example.com`; otherwise the exact value.
 */
export function allowedValue(list: readonly string[], value: string): boolean {
  return list.some((entry) =>
    entry === "*" || entry === value || (entry.startsWith("*.") && value.endsWith(entry.slice(1)))
  );
}
