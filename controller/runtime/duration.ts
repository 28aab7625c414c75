/**
 * Go-style durations (`300ms`, `15s`, `1m30s`, `2h`) for command-line flags.
 *
 * The syntax is that of Go's `time.ParseDuration`, so values written for the Go operator keep working.
 *
 * @module
 */

const MS_PER_UNIT: Readonly<Record<string, number>> = {
  ns: 1e-6,
  us: 1e-3,
  "\u00b5s": 1e-3, // micro sign
  "\u03bcs": 1e-3, // Greek small letter mu
  ms: 1,
  s: 1_000,
  m: 60_000,
  h: 3_600_000,
};

const UNITS_HINT = "expected one of ns, us, ms, s, m, h";

/**
 * Parses a Go-style duration into milliseconds.
 *
 * A duration is an optional sign and a sequence of decimal numbers, each with an optional fraction and a
 * unit, such as `300ms`, `-1.5h` or `2h45m`. Units are `ns`, `us` (or `µs`), `ms`, `s`, `m`, `h`. The bare
 * string `0` is accepted. The result may be fractional (below one millisecond) or negative; callers check
 * the range they need.
 *
 * @example
 * ```ts
 * import { parseDuration } from "./duration.ts";
 * parseDuration("1m30s"); // 90000
 * ```
 *
 * @param s the text to parse
 * @returns the duration in milliseconds
 * @throws {DurationError} when `s` is not a valid duration
 */
export function parseDuration(s: string): number {
  let rest = s;
  let negative = false;
  if (rest.startsWith("-") || rest.startsWith("+")) {
    negative = rest.startsWith("-");
    rest = rest.slice(1);
  }
  if (rest === "0") return 0;
  if (rest === "") throw invalid(s, "expected a number followed by a unit, like 300ms, 1m30s or 2h");
  let total = 0;
  while (rest !== "") {
    const number = /^(\d*)(?:\.(\d*))?/.exec(rest);
    const whole = number?.[1] ?? "";
    const fraction = number?.[2] ?? "";
    if (whole === "" && fraction === "") {
      throw invalid(s, "expected a number followed by a unit, like 300ms, 1m30s or 2h");
    }
    rest = rest.slice(number?.[0].length ?? 0);
    const unit = /^[^\d.]*/.exec(rest)?.[0] ?? "";
    if (unit === "") throw invalid(s, `missing unit, ${UNITS_HINT}`);
    const scale = MS_PER_UNIT[unit];
    if (scale === undefined) throw invalid(s, `unknown unit "${unit}", ${UNITS_HINT}`);
    rest = rest.slice(unit.length);
    total += Number(`${whole === "" ? "0" : whole}.${fraction === "" ? "0" : fraction}`) * scale;
  }
  if (!Number.isFinite(total) || total > Number.MAX_SAFE_INTEGER) throw invalid(s, "value is too large");
  return negative ? -total : total;
}

/**
 * Formats milliseconds the way Go's `time.Duration.String` does, e.g. `1m30s`, `300ms`, `1.5s`, `0s`.
 *
 * @param ms a duration in milliseconds; sub-millisecond parts are rounded to whole microseconds
 */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms)) throw new RangeError(`Cannot format duration ${ms}: not a finite number`);
  const sign = ms < 0 ? "-" : "";
  const micros = Math.round(Math.abs(ms) * 1_000);
  if (micros === 0) return "0s";
  if (micros < 1_000) return `${sign}${micros}us`;
  if (micros < 1_000_000) return `${sign}${trimFraction(micros / 1_000)}ms`;
  const hours = Math.floor(micros / 3_600_000_000);
  const minutes = Math.floor((micros % 3_600_000_000) / 60_000_000);
  const seconds = (micros % 60_000_000) / 1_000_000;
  let out = sign;
  if (hours > 0) out += `${hours}h`;
  if (hours > 0 || minutes > 0) out += `${minutes}m`;
  return `${out}${trimFraction(seconds)}s`;
}

function trimFraction(n: number): string {
  return String(Number(n.toFixed(6)));
}

/** A string that is not a Go-style duration. */
export class DurationError extends Error {
  /** The rejected text. */
  readonly input: string;
  /** What is wrong with it, e.g. `missing unit, expected one of ns, us, ms, s, m, h`. */
  readonly detail: string;

  /**
   * Creates the error.
   *
   * @param input the rejected text
   * @param detail what is wrong with it
   */
  constructor(input: string, detail: string) {
    super(`Invalid duration "${input}": ${detail}`);
    this.name = "DurationError";
    this.input = input;
    this.detail = detail;
  }
}

function invalid(s: string, detail: string): DurationError {
  return new DurationError(s, detail);
}
