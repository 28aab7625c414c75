/**
 * What the launcher (templates/launcher.sh) tells the page in-band: a private OSC escape sequence written
 * to each client's terminal, `ESC ] 7681 ; cloudshell ; key=value ; ... BEL`. xterm.js ignores OSCs it has
 * no handler for, so ttyd's stock page and CloudTTY's show nothing of it. Keys:
 *   left=<seconds until the TTL ends, empty when there is none>, warn=<seconds of the warning window>,
 *   name, namespace, ttl=<the TTL in seconds>: the time left, sent to each new session and on every change;
 *   end=<ttl|shutdown|once>: why the session ends, sent just before the launcher hangs up.
 * Seconds rather than a time of day, so the browser's clock does not matter.
 */
export const NOTICE_OSC = 7681;

export type EndReason = "ttl" | "shutdown" | "once" | "exited" | "failed" | "unreachable";

export interface TimeNotice {
  kind: "time";
  /** Seconds left when it was sent; undefined: the session has no end time. */
  left?: number;
  warn: number;
  name?: string;
  namespace?: string;
  ttl?: number;
}

export interface EndNotice {
  kind: "end";
  reason: EndReason;
}

/** The notice in an OSC 7681 payload (what follows `7681;`), or undefined when it is not one of ours. */
export function parseNotice(
  payload: string,
): TimeNotice | EndNotice | undefined {
  const [tag, ...pairs] = payload.split(";");
  if (tag !== "cloudshell") return undefined;
  const fields = new Map<string, string>();
  for (const pair of pairs) {
    const eq = pair.indexOf("=");
    if (eq > 0) fields.set(pair.slice(0, eq), pair.slice(eq + 1));
  }
  const end = fields.get("end");
  if (end !== undefined) {
    return {
      kind: "end",
      reason: end === "ttl" || end === "once" ? end : "shutdown",
    };
  }
  if (!fields.has("left")) return undefined;
  const seconds = (key: string) => {
    const value = fields.get(key) ?? "";
    return /^\d+$/.test(value) ? Number(value) : undefined;
  };
  const label = (key: string) => {
    const value = fields.get(key) ?? "";
    return /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/.test(value) ? value : undefined;
  };
  return {
    kind: "time",
    left: seconds("left"),
    warn: seconds("warn") ?? 300,
    name: label("name"),
    namespace: label("namespace"),
    ttl: seconds("ttl"),
  };
}

/** "2 h 5 min", "4 min", "45 s": how long is left, in the words the indicator shows. */
export function formatLeft(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  if (s < 120) return `${s} s`;
  const minutes = Math.round(s / 60);
  if (minutes < 120) return `${minutes} min`;
  return `${Math.floor(minutes / 60)} h ${minutes % 60} min`;
}

/** The command that keeps the session an hour longer, as the terminal's own warning gives it. */
export function extendHint(notice: TimeNotice): string {
  const ns = notice.namespace ? ` -n ${notice.namespace}` : "";
  const ttl = (notice.ttl ?? 0) + 3600;
  return `kubectl patch cloudshell ${notice.name ?? "<name>"}${ns} --type merge -p ` +
    `'{"spec":{"ttlSecondsAfterStarted":${ttl}}}'`;
}

/** Why the session ended, in a sentence for the end page. */
export function endMessage(reason: EndReason): string {
  switch (reason) {
    case "ttl":
      return "Its time (the CloudShell's TTL) is up.";
    case "shutdown":
      return "The terminal was shut down: its CloudShell was deleted or has ended.";
    case "once":
      return "This terminal serves one client only (once), and another one has it. " +
        "Each user needs a CloudShell of their own.";
    case "exited":
      return "The shell exited.";
    case "failed":
      return "The shell ends with an error as soon as it starts.";
    case "unreachable":
      return "The connection was lost and the terminal no longer answers.";
  }
}
