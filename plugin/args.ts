/**
 * The plugin's command line: a subcommand, its flags and kubectl's global flags (`-n`, `--context`,
 * `--kubeconfig`, `-o`), in kubectl's spelling (`--flag value`, `--flag=value`, flags before or after the
 * arguments). Parsing never exits and never reads the process: it returns what to run, or what to print
 * and the exit code (2 for a usage error, one line naming the flag).
 */
import { DurationError, parseDuration } from "../controller/runtime/duration.ts";
import { ExitCode } from "./exit_codes.ts";

export const COMMANDS = ["create", "open", "list", "extend", "delete"] as const;
export type CommandName = (typeof COMMANDS)[number];
export const OUTPUTS = ["json", "yaml", "name"] as const;
export type OutputFormat = (typeof OUTPUTS)[number];
export const EXPOSURES = ["ClusterIP", "NodePort", "Ingress", "VirtualService"] as const;

/** kubectl's global flags, as far as the plugin honours them. */
export interface GlobalFlags {
  namespace?: string;
  allNamespaces: boolean;
  context?: string;
  kubeconfig?: string;
  output?: OutputFormat;
}

/** How to open a shell once it is Ready. */
export interface OpenFlags {
  /** Print the URL instead of starting a browser. */
  noBrowser: boolean;
  /** Forward a local port even when the shell's own URL could be used (always for ClusterIP). */
  forward: boolean;
  /** The local port of the forward (0: any free port). */
  port: number;
  /** How long to wait for Ready. */
  timeoutMs: number;
}

/** What a new shell runs and how it is exposed. */
export interface CreateFlags extends OpenFlags {
  name?: string;
  exec?: string;
  logs?: string;
  container?: string;
  command?: string;
  ttlSeconds?: number;
  image?: string;
  readOnly: boolean;
  exposure: string;
  /** Create and wait, but neither forward nor open. */
  noOpen: boolean;
}

export type Invocation =
  | { command: "create"; global: GlobalFlags; flags: CreateFlags }
  | { command: "open"; global: GlobalFlags; name: string; flags: OpenFlags }
  | { command: "list"; global: GlobalFlags }
  | { command: "extend"; global: GlobalFlags; name: string; bySeconds: number }
  | { command: "delete"; global: GlobalFlags; names: string[] };

export type ParseResult =
  | { kind: "run"; invocation: Invocation }
  | { kind: "exit"; code: 0 | 2; output: string };

type FlagType = "string" | "bool" | "duration" | "port";
interface FlagSpec {
  long: string;
  short?: string;
  type: FlagType;
  help: string;
}

const GLOBAL: FlagSpec[] = [
  { long: "namespace", short: "n", type: "string", help: "namespace (default: the context's, else default)" },
  { long: "context", type: "string", help: "kubeconfig context to use" },
  { long: "kubeconfig", type: "string", help: "kubeconfig file (default: $KUBECONFIG, else ~/.kube/config)" },
  { long: "output", short: "o", type: "string", help: "json, yaml or name" },
  { long: "help", short: "h", type: "bool", help: "show this help" },
];

const OPEN: FlagSpec[] = [
  { long: "no-browser", type: "bool", help: "print the URL instead of opening a browser" },
  {
    long: "forward",
    type: "bool",
    help: "forward a local port for any exposure mode (always for ClusterIP)",
  },
  { long: "port", type: "port", help: "local port of the forward (default: a free one)" },
  { long: "timeout", type: "duration", help: "how long to wait for Ready (default 5m)" },
];

const FLAGS: Record<CommandName, FlagSpec[]> = {
  create: [
    { long: "exec", type: "string", help: "POD: the terminal is `kubectl exec -it POD -- sh`" },
    { long: "logs", type: "string", help: "POD: the terminal follows `kubectl logs -f POD` (read-only)" },
    { long: "container", short: "c", type: "string", help: "container of --exec or --logs" },
    { long: "command", type: "string", help: "command the terminal runs (default bash)" },
    { long: "ttl", type: "duration", help: "lifetime from start, e.g. 30m or 2h" },
    { long: "image", type: "string", help: "terminal image" },
    { long: "read-only", type: "bool", help: "an observer terminal: input is ignored" },
    { long: "exposure", type: "string", help: "ClusterIP (default), NodePort, Ingress or VirtualService" },
    { long: "no-open", type: "bool", help: "wait until Ready, print it, and exit" },
    ...OPEN,
  ],
  open: OPEN,
  list: [{ long: "all-namespaces", short: "A", type: "bool", help: "shells of every namespace" }],
  extend: [{ long: "by", type: "duration", help: "how much longer the shell may live (default 1h)" }],
  delete: [],
};

const SUMMARY: Record<CommandName, [string, string]> = {
  create: ["create [NAME] [flags]", "create a shell, wait until it is Ready, and open it"],
  open: ["open NAME [flags]", "open an existing shell"],
  list: ["list [-A]", "list shells"],
  extend: ["extend NAME [--by 1h]", "let a shell live longer"],
  delete: ["delete NAME...", "delete shells"],
};

const DEFAULT_TIMEOUT_MS = 5 * 60_000;
const DEFAULT_EXTEND_S = 3600;

class UsageError extends Error {}

/** Parses the arguments after `kubectl cloudshell`. */
export function parseArgs(argv: readonly string[], version: string): ParseResult {
  try {
    return parse(argv, version);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    return {
      kind: "exit",
      code: ExitCode.usage,
      output: `error: ${err.message}\nRun 'kubectl cloudshell --help' for usage.`,
    };
  }
}

function parse(argv: readonly string[], version: string): ParseResult {
  const first = argv.findIndex((a) => !a.startsWith("-"));
  // The subcommand is the first word that is not a flag or a global flag's value.
  const command = findCommand(argv);
  if (!command) {
    if (argv.includes("--help") || argv.includes("-h") || argv.length === 0) {
      return { kind: "exit", code: ExitCode.ok, output: usage() };
    }
    if (argv.includes("--version")) return { kind: "exit", code: ExitCode.ok, output: version };
    throw new UsageError(
      first >= 0 ? `unknown command "${argv[first]}"; known: ${COMMANDS.join(", ")}` : "no command given",
    );
  }
  const specs = [...GLOBAL, ...FLAGS[command.name]];
  const values = new Map<string, string | boolean | number>();
  const positional: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    if (i === command.index) continue;
    const arg = argv[i];
    if (arg === "--") {
      positional.push(...argv.slice(i + 1));
      break;
    }
    if (!arg.startsWith("-") || arg === "-") {
      positional.push(arg);
      continue;
    }
    const eq = arg.indexOf("=");
    const key = eq > 0 ? arg.slice(0, eq) : arg;
    const spec = key.startsWith("--")
      ? specs.find((s) => s.long === key.slice(2))
      : specs.find((s) => s.short !== undefined && s.short === key.slice(1));
    if (!spec) throw new UsageError(`unknown flag ${key} for "${command.name}"`);
    let raw: string | undefined = eq > 0 ? arg.slice(eq + 1) : undefined;
    if (spec.type === "bool") {
      if (raw !== undefined && raw !== "true" && raw !== "false") {
        throw new UsageError(`invalid value "${raw}" for ${key}: true or false`);
      }
      values.set(spec.long, raw !== "false");
      continue;
    }
    if (raw === undefined) {
      if (i + 1 >= argv.length) throw new UsageError(`flag ${key} needs a value`);
      raw = argv[++i];
    }
    values.set(spec.long, convert(spec, key, raw));
  }
  if (values.get("help")) return { kind: "exit", code: ExitCode.ok, output: commandUsage(command.name) };

  const str = (k: string) => values.get(k) as string | undefined;
  const bool = (k: string) => values.get(k) === true;
  const output = str("output");
  if (output !== undefined && !(OUTPUTS as readonly string[]).includes(output)) {
    throw new UsageError(`invalid value "${output}" for -o: one of ${OUTPUTS.join(", ")}`);
  }
  const namespace = str("namespace");
  if (namespace !== undefined) checkName(namespace, "namespace", 63);
  const global: GlobalFlags = {
    namespace,
    allNamespaces: bool("all-namespaces"),
    context: str("context"),
    kubeconfig: str("kubeconfig"),
    output: output as OutputFormat | undefined,
  };
  const openFlags = (): OpenFlags => ({
    noBrowser: bool("no-browser"),
    forward: bool("forward"),
    port: (values.get("port") as number | undefined) ?? 0,
    timeoutMs: (values.get("timeout") as number | undefined) ?? DEFAULT_TIMEOUT_MS,
  });
  const names = (min: number, max: number): string[] => {
    if (positional.length < min) throw new UsageError(`"${command.name}" needs the name of a shell`);
    if (positional.length > max) {
      throw new UsageError(`unexpected argument "${positional[max]}" for "${command.name}"`);
    }
    for (const n of positional) checkName(n, "shell name", 52);
    return positional;
  };

  switch (command.name) {
    case "create": {
      const [name] = names(0, 1);
      const flags: CreateFlags = {
        ...openFlags(),
        name,
        exec: str("exec"),
        logs: str("logs"),
        container: str("container"),
        command: str("command"),
        ttlSeconds: values.has("ttl") ? Math.ceil((values.get("ttl") as number) / 1000) : undefined,
        image: str("image"),
        readOnly: bool("read-only"),
        exposure: str("exposure") ?? "ClusterIP",
        noOpen: bool("no-open"),
      };
      checkCreate(flags);
      return { kind: "run", invocation: { command: "create", global, flags } };
    }
    case "open":
      return {
        kind: "run",
        invocation: { command: "open", global, name: names(1, 1)[0], flags: openFlags() },
      };
    case "list":
      names(0, 0);
      return { kind: "run", invocation: { command: "list", global } };
    case "extend": {
      const [name] = names(1, 1);
      const by = values.has("by") ? Math.ceil((values.get("by") as number) / 1000) : DEFAULT_EXTEND_S;
      if (by <= 0) throw new UsageError("--by must be positive");
      return { kind: "run", invocation: { command: "extend", global, name, bySeconds: by } };
    }
    case "delete":
      return { kind: "run", invocation: { command: "delete", global, names: names(1, Infinity) } };
  }
}

/** The subcommand and its position: the first argument that is neither a flag nor a flag's value. */
function findCommand(argv: readonly string[]): { name: CommandName; index: number } | undefined {
  const valued = new Set(
    GLOBAL.filter((s) => s.type !== "bool").flatMap((
      s,
    ) => [`--${s.long}`, ...(s.short ? [`-${s.short}`] : [])]),
  );
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === "--") return undefined;
    if (arg.startsWith("-")) {
      if (valued.has(arg)) i++;
      continue;
    }
    if ((COMMANDS as readonly string[]).includes(arg)) return { name: arg as CommandName, index: i };
    return undefined;
  }
  return undefined;
}

function convert(spec: FlagSpec, key: string, raw: string): string | number {
  switch (spec.type) {
    case "duration":
      try {
        const ms = parseDuration(raw);
        if (ms <= 0) throw new UsageError(`invalid value "${raw}" for ${key}: must be positive`);
        return ms;
      } catch (err) {
        if (err instanceof DurationError) {
          throw new UsageError(`invalid value "${raw}" for ${key}: ${err.message} (e.g. 30m, 2h)`);
        }
        throw err;
      }
    case "port": {
      const port = Number(raw);
      if (!/^\d+$/.test(raw) || port > 65535) {
        throw new UsageError(`invalid value "${raw}" for ${key}: a port number`);
      }
      return port;
    }
    default:
      if (raw === "") throw new UsageError(`flag ${key} needs a value`);
      return raw;
  }
}

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/;
const C_IDENTIFIER = /^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;

function checkName(value: string, what: string, max: number): void {
  if (value.length > max || !DNS_LABEL.test(value)) {
    throw new UsageError(
      `invalid ${what} "${value}": lower-case letters, digits and '-', at most ${max} characters`,
    );
  }
}

function checkCreate(f: CreateFlags): void {
  const uses = [f.exec && "--exec", f.logs && "--logs", f.command && "--command"].filter(Boolean);
  if (uses.length > 1) throw new UsageError(`${uses.join(" and ")} cannot be used together`);
  for (const [flag, pod] of [["--exec", f.exec], ["--logs", f.logs]] as const) {
    if (pod !== undefined && (pod.length > 253 || !DNS_SUBDOMAIN.test(pod))) {
      throw new UsageError(`invalid pod name "${pod}" for ${flag}`);
    }
  }
  if (f.container !== undefined) {
    if (!f.exec && !f.logs) throw new UsageError("-c/--container needs --exec or --logs");
    if (!C_IDENTIFIER.test(f.container) || f.container.length > 63) {
      throw new UsageError(`invalid container name "${f.container}"`);
    }
  }
  if (!(EXPOSURES as readonly string[]).includes(f.exposure)) {
    throw new UsageError(`invalid value "${f.exposure}" for --exposure: one of ${EXPOSURES.join(", ")}`);
  }
  if (f.noOpen && (f.noBrowser || f.forward)) {
    throw new UsageError("--no-open cannot be used with --no-browser or --forward");
  }
}

function flagLines(specs: FlagSpec[]): string {
  return specs.map((s) => {
    const names = `${s.short ? `-${s.short}, ` : "    "}--${s.long}${
      s.type === "bool" ? "" : ` <${s.type}>`
    }`;
    return `  ${names.padEnd(28)} ${s.help}`;
  }).join("\n");
}

/** The top-level help. */
export function usage(): string {
  const commands = COMMANDS.map((c) => `  ${SUMMARY[c][0].padEnd(28)} ${SUMMARY[c][1]}`).join("\n");
  return `Browser terminals in the cluster (CloudShells), opened through the API server.

Usage:
  kubectl cloudshell <command> [flags]

Commands:
${commands}

Global flags:
${flagLines(GLOBAL)}

Examples:
  kubectl cloudshell create                     # a bash shell, opened in the browser
  kubectl cloudshell create --exec my-pod -c app
  kubectl cloudshell create --logs my-pod --ttl 30m
  kubectl cloudshell open my-shell --no-browser -o json
  kubectl cloudshell extend my-shell --by 2h

Exit codes: 0 ok, 1 failure, 2 usage error, 3 the shell did not become Ready, 4 forbidden, 5 not found.`;
}

/** The help of one command. */
export function commandUsage(command: CommandName): string {
  return `${SUMMARY[command][1]}

Usage:
  kubectl cloudshell ${SUMMARY[command][0]}

Flags:
${flagLines(FLAGS[command])}

Global flags:
${flagLines(GLOBAL)}`;
}
