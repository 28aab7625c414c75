/**
 * What the plugin prints on stdout: a table for people, or `-o json|yaml|name` for scripts. Progress and
 * errors go to stderr, so stdout stays parseable.
 */
import { stringify as toYaml } from "../vendor/yaml/mod.ts";
import { type CloudShell, GROUP } from "../controller/cloudshell/api.ts";
import type { OutputFormat } from "./args.ts";
import type { Login } from "./access.ts";
import { expiresAt, exposureMode, readiness } from "./shell.ts";

/** kubectl's `-o name` for a shell. */
export function resourceName(name: string): string {
  return `cloudshell.${GROUP}/${name}`;
}

/** An opened shell, as `create` and `open` print it with `-o json|yaml`. */
export interface Session {
  name: string;
  namespace: string;
  exposureMode: string;
  /** What to open: the forward's loopback URL, or the shell's own. */
  url: string;
  /** `status.accessUrl`, as the operator wrote it. */
  accessUrl: string;
  /** The local forward, when there is one. */
  forward: { pod: string; localPort: number; podPort: number } | null;
  /** The terminal's login, when it has one and the user may read it. */
  login: Login | null;
  /** The Secret holding the login, when the shell has one. */
  credentialSecretName: string | null;
  /** When the shell ends (RFC 3339), if it has a TTL. */
  expiresAt: string | null;
}

/** A session in the chosen format (a trailing newline included). */
export function formatSession(session: Session, format: OutputFormat): string {
  switch (format) {
    case "json":
      return `${JSON.stringify(session, null, 2)}\n`;
    case "yaml":
      return toYaml(session);
    case "name":
      return `${resourceName(session.name)}\n`;
  }
}

/** One shell object in the chosen format (what `extend` prints). */
export function formatShell(cs: CloudShell, format: OutputFormat): string {
  switch (format) {
    case "json":
      return `${JSON.stringify(cs, null, 2)}\n`;
    case "yaml":
      return toYaml(cs);
    case "name":
      return `${resourceName(cs.metadata.name!)}\n`;
  }
}

/** `list` in the chosen format, or as a table. */
export function formatList(
  shells: CloudShell[],
  format: OutputFormat | undefined,
  allNamespaces: boolean,
  now = Date.now(),
): string {
  if (format === "name") return shells.map((cs) => `${resourceName(cs.metadata.name!)}\n`).join("");
  if (format === "json" || format === "yaml") {
    const list = { apiVersion: "v1", kind: "List", items: shells };
    return format === "json" ? `${JSON.stringify(list, null, 2)}\n` : toYaml(list);
  }
  if (shells.length === 0) return "";
  const rows = shells.map((cs) => {
    const state = readiness(cs);
    const ends = expiresAt(cs);
    return [
      ...(allNamespaces ? [cs.metadata.namespace ?? ""] : []),
      cs.metadata.name ?? "",
      state.state === "ready" ? "True" : "False",
      state.state === "ready" ? (cs.status?.phase ?? "") : state.reason,
      exposureMode(cs.spec ?? {}),
      cs.spec?.commandAction ?? "bash",
      ends ? (ends.getTime() > now ? `in ${age(ends.getTime() - now)}` : "expired") : "-",
      cs.metadata.creationTimestamp ? age(now - Date.parse(cs.metadata.creationTimestamp)) : "",
    ];
  });
  const header = [
    ...(allNamespaces ? ["NAMESPACE"] : []),
    "NAME",
    "READY",
    "STATUS",
    "MODE",
    "COMMAND",
    "ENDS",
    "AGE",
  ];
  return table([header, ...rows]);
}

function table(rows: string[][]): string {
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => Math.min(r[i].length, 40))));
  return rows.map((r) =>
    r.map((cell, i) => {
      const text = cell.length > 40 ? `${cell.slice(0, 39)}…` : cell;
      return i === r.length - 1 ? text : text.padEnd(widths[i] + 3);
    }).join("")
  ).join("\n") + "\n";
}

/** kubectl's short ages: 45s, 3m, 2h, 4d. */
export function age(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  if (s < 120) return `${s}s`;
  if (s < 2 * 3600) return `${Math.floor(s / 60)}m`;
  if (s < 2 * 86400) return `${Math.floor(s / 3600)}h`;
  return `${Math.floor(s / 86400)}d`;
}
