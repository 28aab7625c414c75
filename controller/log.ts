/**
 * A small structured logger: levels, `text` (logfmt) or `json` lines, child loggers with fields.
 *
 * Secret-looking fields are redacted wherever they appear (see {@linkcode isSecretKey}), and errors are
 * written as their message and cause chain, never as whole objects. Lines go to stderr unless a sink is
 * given.
 *
 * @example
 * ```ts
 * import { Logger } from "./log.ts";
 * const log = new Logger({ format: "json" }).with({ controller: "cloudshell" });
 * log.info("Reconciled", { key: "default/demo", durationMs: 12 });
 * ```
 *
 * @module
 */

/** Severity of a log line, lowest first. */
export type LogLevel = "debug" | "info" | "warn" | "error";

/** Line format: logfmt-like `key=value` pairs or one JSON object per line. */
export type LogFormat = "text" | "json";

/** Every level, lowest first. */
export const LOG_LEVELS: readonly LogLevel[] = Object.freeze(["debug", "info", "warn", "error"]);

/** Every format. */
export const LOG_FORMATS: readonly LogFormat[] = Object.freeze(["text", "json"]);

/** Structured context attached to a line. */
export type LogFields = Readonly<Record<string, unknown>>;

/** Receives each formatted line, without the trailing newline. */
export type LogSink = (line: string) => void;

/** The value written in place of a secret-looking field. */
export const REDACTED = "[REDACTED]";

/** Construction options of {@linkcode Logger}. */
export interface LoggerOptions {
  /** Lines below this level are dropped. @default {"info"} */
  level?: LogLevel;
  /** Line format. @default {"text"} */
  format?: LogFormat;
  /** Where lines go. @default {stderrSink} */
  sink?: LogSink;
  /** Clock for the `time` field. @default {() => new Date()} */
  now?: () => Date;
}

const SEVERITY: Readonly<Record<LogLevel, number>> = { debug: 0, info: 1, warn: 2, error: 3 };
const SECRET_KEY = /token|password|secret|credential|kubeconfig|authorization|cert|key$/i;
const NEVER_SECRET = new Set(["key", "name", "namespace"]);
const RESERVED = new Set(["time", "level", "msg"]);
const MAX_DEPTH = 8;
const MAX_CAUSES = 10;
const ENCODER = new TextEncoder();

/**
 * Tells whether a field is redacted: its key matches
 * `/token|password|secret|credential|kubeconfig|authorization|cert|key$/i`, except the exact keys `key`,
 * `name` and `namespace` (object keys and names, never secret).
 *
 * @param key a field name, at any nesting level
 */
export function isSecretKey(key: string): boolean {
  return !NEVER_SECRET.has(key) && SECRET_KEY.test(key);
}

/**
 * Renders an error as its message followed by its cause chain, `outer: inner: innermost`.
 *
 * A cause whose message already ends the previous one (Go-style wrapping) is not repeated. Non-error
 * values are rendered with `String()` for primitives and by their `message` for error-like objects.
 *
 * @param err anything that was thrown
 */
export function errorMessage(err: unknown): string {
  const parts: string[] = [];
  let current: unknown = err;
  for (let i = 0; i < MAX_CAUSES && current !== undefined && current !== null; i++) {
    const message = describeThrown(current);
    if (!parts.at(-1)?.endsWith(message)) parts.push(message);
    current = typeof current === "object" && "cause" in current ? current.cause : undefined;
  }
  return parts.join(": ");
}

/** The default sink: writes the line and a newline to stderr, ignoring write failures. */
export function stderrSink(line: string): void {
  const bytes = ENCODER.encode(`${line}\n`);
  try {
    for (let written = 0; written < bytes.length;) {
      written += Deno.stderr.writeSync(bytes.subarray(written));
    }
  } catch {
    // A closed stderr must not take the operator down.
  }
}

/** A structured logger; cheap to derive children from with {@linkcode Logger.with}. */
export class Logger {
  /** Lines below this level are dropped. */
  readonly level: LogLevel;
  /** Line format. */
  readonly format: LogFormat;
  readonly #sink: LogSink;
  readonly #now: () => Date;
  #fields: LogFields;

  /**
   * Creates a root logger.
   *
   * @param options level, format, sink and clock
   */
  constructor(options: LoggerOptions = {}) {
    this.level = options.level ?? "info";
    this.format = options.format ?? "text";
    this.#sink = options.sink ?? stderrSink;
    this.#now = options.now ?? (() => new Date());
    this.#fields = {};
  }

  /**
   * Returns a child logger that adds `fields` to every line; a line's own fields override them.
   *
   * @param fields context such as `{ controller: "cloudshell" }`
   */
  with(fields: LogFields): Logger {
    const child = new Logger({ level: this.level, format: this.format, sink: this.#sink, now: this.#now });
    child.#fields = { ...this.#fields, ...fields };
    return child;
  }

  /**
   * Tells whether lines of `level` are written.
   *
   * @param level the level to test
   */
  enabled(level: LogLevel): boolean {
    return SEVERITY[level] >= SEVERITY[this.level];
  }

  /**
   * Logs at debug level.
   *
   * @param msg a constant message
   * @param fields structured context
   */
  debug(msg: string, fields?: LogFields): void {
    this.#log("debug", msg, fields);
  }

  /**
   * Logs at info level.
   *
   * @param msg a constant message
   * @param fields structured context
   */
  info(msg: string, fields?: LogFields): void {
    this.#log("info", msg, fields);
  }

  /**
   * Logs at warn level.
   *
   * @param msg a constant message
   * @param fields structured context
   */
  warn(msg: string, fields?: LogFields): void {
    this.#log("warn", msg, fields);
  }

  /**
   * Logs at error level.
   *
   * @param msg a constant message
   * @param fields structured context; pass the error as e.g. `{ err }`
   */
  error(msg: string, fields?: LogFields): void {
    this.#log("error", msg, fields);
  }

  #log(level: LogLevel, msg: string, fields: LogFields | undefined): void {
    if (!this.enabled(level)) return;
    const entries: [string, unknown][] = [["time", this.#now().toISOString()], ["level", level], [
      "msg",
      msg,
    ]];
    for (const [key, value] of Object.entries({ ...this.#fields, ...fields })) {
      if (value === undefined) continue;
      const safe = isSecretKey(key) ? REDACTED : normalize(value, new WeakSet(), 0);
      entries.push([RESERVED.has(key) ? `fields.${key}` : key, safe]);
    }
    const line = this.format === "json"
      ? JSON.stringify(Object.fromEntries(entries))
      : entries.map(([key, value]) => `${textKey(key)}=${textValue(value)}`).join(" ");
    this.#sink(line);
  }
}

/** Makes a value safe to serialise: redacts nested secrets, renders errors, breaks cycles. */
function normalize(value: unknown, seen: WeakSet<object>, depth: number): unknown {
  if (value instanceof Error) return errorMessage(value);
  switch (typeof value) {
    case "bigint":
    case "symbol":
      return value.toString();
    case "function":
      return `[function ${value.name || "anonymous"}]`;
    case "object":
      break;
    default:
      return value;
  }
  if (value === null) return null;
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? "Invalid Date" : value.toISOString();
  if (ArrayBuffer.isView(value) || value instanceof ArrayBuffer) return `[${value.byteLength} bytes]`;
  if (seen.has(value)) return "[circular]";
  if (depth >= MAX_DEPTH) return "[too deep]";
  seen.add(value);
  try {
    if (Array.isArray(value) || value instanceof Set) {
      return [...value].map((item) => normalize(item, seen, depth + 1));
    }
    const source = value instanceof Map ? [...value].map(([k, v]) => [String(k), v]) : Object.entries(value);
    const out: Record<string, unknown> = {};
    for (const [key, item] of source) {
      out[key] = isSecretKey(key) ? REDACTED : normalize(item, seen, depth + 1);
    }
    return out;
  } finally {
    seen.delete(value);
  }
}

function describeThrown(value: unknown): string {
  if (value instanceof Error) return value.message || value.name;
  if (typeof value === "object" && value !== null) {
    return "message" in value && typeof value.message === "string" ? value.message : "non-error value";
  }
  return String(value);
}

function textKey(key: string): string {
  return key === "" ? "_" : key.replace(/[\s="\\\p{Cc}]/gu, "_");
}

function textValue(value: unknown): string {
  const s = typeof value === "string" ? value : JSON.stringify(value) ?? String(value);
  return s === "" || /[\s="\\\p{Cc}]/u.test(s) ? JSON.stringify(s) : s;
}
