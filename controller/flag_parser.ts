/**
 * A command-line parser for a program that takes flags only, driven by a table of flags, with the help
 * text and the parsing rules of commander 14 (which the operator used before; docs/reference/cli.md is
 * generated from the help text this prints):
 *
 * - `--flag value` and `--flag=value`; `-v 3` and `-v3` for a short flag. A flag whose value is required
 *   (`<value>` in its table entry) takes the next argument whatever it is. A flag whose value is optional
 *   (`[value]`) takes the next argument unless it looks like a flag, and reads `true` without one.
 * - A repeatable flag collects every value; any other flag keeps the last one.
 * - `--version` prints the version and `-h`/`--help` the help text, wherever they stand (help wins over an
 *   unknown flag; a flag missing its value is reported first).
 * - Arguments that are not flags (and all after `--`) are returned as operands, for the caller to refuse.
 *
 * It loads nothing: the operator stopped using commander because loading any npm module starts Deno's
 * Node compatibility layer, about 6 MB of RSS for good (docs/performance.md, "Memory").
 *
 * @module
 */

/** One flag of the table. */
export interface FlagSpec {
  /** As shown in the help: `--workers <n>`, `-v, --v <int>`, `--leader-elect [bool]`. */
  readonly flags: string;
  /** The description in the help. */
  readonly help: string;
  /** The help group heading, such as `Logging:`. */
  readonly group: string;
  /** The value when the flag is not given. */
  readonly defaultValue?: string;
  /** How the help describes the default, when not by its value. */
  readonly shown?: string;
  /** Whether each occurrence adds a value, rather than replacing the last one. */
  readonly repeatable?: boolean;
}

/** The program the flags belong to, for the help text. */
export interface ProgramInfo {
  readonly name: string;
  readonly description: string;
  readonly version: string;
  /** Columns the help is wrapped to. */
  readonly helpWidth: number;
}

/** The parsed values: by long flag name, with whether each was given. */
export interface ParsedFlags {
  /** String flags' values (the default when not given); absent for flags with neither. */
  readonly values: ReadonlyMap<string, string>;
  /** Repeatable flags' values, in the order given. */
  readonly lists: ReadonlyMap<string, readonly string[]>;
  /** Long names of the flags given on the command line. */
  readonly given: ReadonlySet<string>;
  /** Arguments that are not flags, in order. */
  readonly operands: readonly string[];
  /** Long names of every flag of the table. */
  readonly names: ReadonlySet<string>;
}

/** What a command line asks for. */
export type FlagParseResult =
  | { readonly kind: "flags"; readonly flags: ParsedFlags }
  | { readonly kind: "help"; readonly output: string }
  | { readonly kind: "version"; readonly output: string }
  /** A usage error: one line, without the "Error: " prefix. */
  | { readonly kind: "error"; readonly message: string };

interface Flag {
  readonly spec: FlagSpec;
  readonly long: string;
  readonly short: string | undefined;
  readonly value: "required" | "optional";
}

const GENERAL_GROUP = "General:";
const VERSION = { flags: "--version", help: "print the version and exit" };
const HELP = { flags: "-h, --help", help: "print this help and exit" };
/** Below this many columns for descriptions, the help does not wrap them. */
const MIN_WIDTH_TO_WRAP = 40;
const NEGATIVE_NUMBER = /^-(\d+|\d*\.\d+)(e[+-]?\d+)?$/;

function parseFlag(spec: FlagSpec): Flag {
  const match = /^(?:(-[^-\s]), )?(--[^\s=]+) (<[^>]+>|\[[^\]]+\])$/.exec(spec.flags);
  if (!match) throw new Error(`Flag table: "${spec.flags}" is not "[-s, ]--long <value>" or "[value]"`);
  return { spec, short: match[1], long: match[2], value: match[3].startsWith("<") ? "required" : "optional" };
}

/** An argument that may be a flag, as commander tells them apart. */
function maybeFlag(arg: string): boolean {
  return arg.length > 1 && arg[0] === "-";
}

/** The flags of one program. */
export class FlagParser {
  readonly #program: ProgramInfo;
  readonly #flags: readonly Flag[];
  readonly #byName = new Map<string, Flag>();

  constructor(program: ProgramInfo, specs: readonly FlagSpec[]) {
    this.#program = program;
    this.#flags = specs.map(parseFlag);
    for (const flag of this.#flags) {
      for (const name of [flag.long, flag.short]) {
        if (name === undefined) continue;
        if (this.#byName.has(name) || name === "--version" || name === "--help" || name === "-h") {
          throw new Error(`Flag table: ${name} twice`);
        }
        this.#byName.set(name, flag);
      }
    }
  }

  /** Parses `argv` (the arguments after the program name). */
  parse(argv: readonly string[]): FlagParseResult {
    const values = new Map<string, string>();
    const lists = new Map<string, string[]>();
    const given = new Set<string>();
    for (const flag of this.#flags) {
      if (flag.spec.defaultValue !== undefined) values.set(flag.long, flag.spec.defaultValue);
    }
    const set = (flag: Flag, value: string) => {
      given.add(flag.long);
      if (flag.spec.repeatable) lists.set(flag.long, [...(lists.get(flag.long) ?? []), value]);
      else values.set(flag.long, value);
    };

    const operands: string[] = [];
    // From the first unknown flag on, arguments that are not flags are kept with it (as commander does).
    const unknown: string[] = [];
    let dest = operands;
    for (let i = 0; i < argv.length; i++) {
      const arg = argv[i];
      if (arg === "--") {
        if (dest === unknown) dest.push(arg);
        dest.push(...argv.slice(i + 1));
        break;
      }
      if (arg === "--version") return { kind: "version", output: `${this.#program.version}\n` };
      const flag = maybeFlag(arg) ? this.#byName.get(arg) : undefined;
      if (flag?.value === "required") {
        if (i + 1 >= argv.length) return { kind: "error", message: `Flag ${flag.long} needs a value` };
        set(flag, argv[++i]);
        continue;
      }
      if (flag?.value === "optional") {
        const next = argv[i + 1];
        const takesNext = next !== undefined && (!maybeFlag(next) || NEGATIVE_NUMBER.test(next));
        set(flag, takesNext ? argv[++i] : "true");
        continue;
      }
      // -v3: a short flag with its value attached.
      const short = arg.length > 2 && arg[0] === "-" && arg[1] !== "-"
        ? this.#byName.get(arg.slice(0, 2))
        : undefined;
      if (short) {
        set(short, arg.slice(2));
        continue;
      }
      if (/^--[^=]+=/.test(arg)) {
        const eq = arg.indexOf("=");
        const named = this.#byName.get(arg.slice(0, eq));
        if (named) {
          set(named, arg.slice(eq + 1));
          continue;
        }
      }
      if (dest === operands && maybeFlag(arg) && !NEGATIVE_NUMBER.test(arg)) dest = unknown;
      dest.push(arg);
    }

    if (unknown.some((arg) => arg === "-h" || arg === "--help")) return { kind: "help", output: this.help() };
    if (unknown.length > 0) return { kind: "error", message: this.#unknownFlag(unknown[0]) };
    const names = new Set(this.#flags.map((f) => f.long));
    return { kind: "flags", flags: { values, lists, given, operands: [...operands, ...unknown], names } };
  }

  /** The help text. */
  help(): string {
    const { name, description, helpWidth } = this.#program;
    const items: { group: string; term: string; description: string }[] = this.#flags.map(({ spec }) => ({
      group: spec.group,
      term: spec.flags,
      description: spec.defaultValue === undefined
        ? spec.help
        : `${spec.help} (default: ${(spec.shown ?? spec.defaultValue) || JSON.stringify(spec.defaultValue)})`,
    }));
    items.push({ group: GENERAL_GROUP, term: VERSION.flags, description: VERSION.help });
    items.push({ group: GENERAL_GROUP, term: HELP.flags, description: HELP.help });
    const termWidth = Math.max(...items.map((i) => i.term.length));

    const lines = [`Usage: ${name} [flags]`, "", boxWrap(description, helpWidth), ""];
    const groups = new Map<string, string[]>();
    for (const item of items) {
      const group = groups.get(item.group) ?? [];
      groups.set(item.group, group);
      group.push(formatItem(item.term, termWidth, item.description, helpWidth));
    }
    for (const [heading, group] of groups) lines.push(heading, ...group, "");
    return lines.join("\n");
  }

  /** `Unknown flag "--x"`, with the one closest flag name when there is a single one. */
  #unknownFlag(arg: string): string {
    const names = [...this.#flags.map((f) => f.long), "--version", "--help"];
    const similar = arg.startsWith("--") ? closest(arg, names) : [];
    return `Unknown flag "${arg}"${similar.length === 1 ? `: did you mean ${similar[0]}?` : ""}`;
  }
}

/** Term, padded, and its description wrapped below the description column (commander's formatItem). */
function formatItem(term: string, termWidth: number, description: string, helpWidth: number): string {
  const indent = "  ";
  const spacer = 2;
  const remaining = helpWidth - termWidth - spacer - indent.length;
  // Text with its own indented lines (the feature gates) is kept as written.
  const formatted = remaining < MIN_WIDTH_TO_WRAP || /\n[^\S\r\n]/.test(description)
    ? description
    : boxWrap(description, remaining).replace(/\n/g, "\n" + " ".repeat(termWidth + spacer));
  return indent + term.padEnd(termWidth) + " ".repeat(spacer) + formatted.replace(/\n/g, `\n${indent}`);
}

/** Wraps at whitespace to `width` columns, keeping existing line breaks (commander's boxWrap). */
function boxWrap(text: string, width: number): string {
  if (width < MIN_WIDTH_TO_WRAP) return text;
  const wrapped: string[] = [];
  for (const line of text.split(/\r\n|\n/)) {
    const chunks = line.match(/\s*\S+/g);
    if (chunks === null) {
      wrapped.push("");
      continue;
    }
    let current = chunks[0];
    for (const chunk of chunks.slice(1)) {
      if (current.length + chunk.length <= width) {
        current += chunk;
      } else {
        wrapped.push(current);
        current = chunk.trimStart();
      }
    }
    wrapped.push(current);
  }
  return wrapped.join("\n");
}

/** Edits (with transpositions) from `a` to `b`; anything over 3 counts as the longer length. */
function editDistance(a: string, b: string): number {
  if (Math.abs(a.length - b.length) > 3) return Math.max(a.length, b.length);
  const d: number[][] = [];
  for (let i = 0; i <= a.length; i++) d[i] = [i];
  for (let j = 0; j <= b.length; j++) d[0][j] = j;
  for (let j = 1; j <= b.length; j++) {
    for (let i = 1; i <= a.length; i++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
        d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
      }
    }
  }
  return d[a.length][b.length];
}

/** The flag names closest to `arg` (fewest edits, at most 3, and over 40 % alike), sorted. */
function closest(arg: string, names: readonly string[]): string[] {
  const word = arg.slice(2);
  let similar: string[] = [];
  let best = 3;
  for (const name of new Set(names)) {
    const candidate = name.slice(2);
    if (candidate.length <= 1) continue;
    const distance = editDistance(word, candidate);
    const length = Math.max(word.length, candidate.length);
    if ((length - distance) / length <= 0.4) continue;
    if (distance < best) {
      best = distance;
      similar = [name];
    } else if (distance === best) {
      similar.push(name);
    }
  }
  // Plain code-unit order: flag names are ASCII, and localeCompare would load ICU's collation data.
  return similar.sort();
}
