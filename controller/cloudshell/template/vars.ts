/**
 * The variables a Job template may use, their kinds, and how the operator derives them from a CloudShell.
 *
 * Upstream CloudTTY v0.5 rendered its template with exactly `Namespace`, `Name`, `Command`, `Once`, `Ttl`,
 * `UrlArg` and `Secret`; those keep their meaning so an upstream ConfigMap renders unchanged. The others are
 * new and each exists because the default template cannot be written safely without it (see
 * templates/README.md for the reasons).
 *
 * @module
 */

import { childName, DEFAULT_COMMAND } from "../api.ts";
import { LAUNCHER_SCRIPT } from "./default_template.ts";

/** Everything a template can refer to as `{{ .Field }}`. Field names are the placeholder names. */
export interface TemplateVars {
  /** Namespace of the CloudShell, and so of the Job. */
  Namespace: string;
  /** Job name: `cloudshell-<cloudshell name>` (upstream's meaning of `.Name`). */
  Name: string;
  /** Name of the CloudShell itself. */
  CloudShellName: string;
  /** Command ttyd runs through `sh -c` for each client (`spec.commandAction`). */
  Command: string;
  /** `spec.once`: ttyd serves one client, then exits. */
  Once: boolean;
  /** `spec.urlArg`: ttyd `-a`, arguments from the URL are passed to the command. */
  UrlArg: boolean;
  /** TTL in whole seconds, 0 when the CloudShell has none. */
  Ttl: number;
  /** Name of the kubeconfig Secret, "" when the kubeconfig does not come from a Secret. */
  Secret: string;
  /** The terminal image: `spec.image`, else the `--cloudshell-image` flag, else the built-in default. */
  Image: string;
  /** The launcher shell script that starts ttyd (templates/launcher.sh), for `sh -c`. */
  Launcher: string;
  /** Extra ttyd flags derived from the spec, one argv item each; spliced into a YAML sequence. */
  TtydArgs: readonly string[];
  /** Backstop for the Job's `activeDeadlineSeconds`; null (key omitted) when there is no TTL. */
  ActiveDeadlineSeconds: number | null;
}

/** The name of a template variable, as written after the dot. */
export type VariableName = keyof TemplateVars;

/**
 * How a variable may be used and what it renders to.
 *
 * - `string`: always a string.
 * - `bool`, `int`: a YAML boolean or number when the whole unquoted scalar is the placeholder, text otherwise.
 * - `optionalInt`: only as a whole unquoted mapping value; null removes the key.
 * - `list`: only as a whole sequence item; its items are spliced into the sequence.
 */
export type VariableKind = "string" | "bool" | "int" | "optionalInt" | "list";

/** Every variable a template may use, with its kind. Anything else is a template error. */
export const VARIABLES: Readonly<Record<VariableName, VariableKind>> = Object.freeze({
  Namespace: "string",
  Name: "string",
  CloudShellName: "string",
  Command: "string",
  Once: "bool",
  UrlArg: "bool",
  Ttl: "int",
  Secret: "string",
  Image: "string",
  Launcher: "string",
  TtydArgs: "list",
  ActiveDeadlineSeconds: "optionalInt",
});

/** Returns whether `name` is a known template variable. */
export function isVariableName(name: string): name is VariableName {
  return Object.hasOwn(VARIABLES, name);
}

/** Seconds the Job deadline trails the TTL, so the operator, not the kubelet, normally ends the session. */
export const DEFAULT_DEADLINE_GRACE_SECONDS = 300;

/** The CloudShell facts the template variables are derived from. */
export interface TemplateInput {
  /** Namespace of the CloudShell. */
  namespace: string;
  /** Name of the CloudShell. */
  cloudShellName: string;
  /** `spec.commandAction`; empty means upstream's default, `bash`. */
  command: string;
  /** `spec.once`. */
  once: boolean;
  /** `spec.urlArg`. */
  urlArg: boolean;
  /** Effective TTL in seconds (`ttlSecondsAfterStarted`, else legacy `ttl`); 0 or absent for none. */
  ttlSeconds?: number;
  /** kubeconfig Secret name; absent or "" when another kubeconfig source is used. */
  secretName?: string;
  /** Effective terminal image. */
  image: string;
  /** `spec.ttydClientOptions`, rendered as `--client-option key=value` pairs sorted by key. */
  ttydClientOptions?: Readonly<Record<string, string>>;
  /** Overrides {@link DEFAULT_DEADLINE_GRACE_SECONDS}. */
  deadlineGraceSeconds?: number;
  /** `spec.readOnly`: ttyd without `--writable`. */
  readOnly?: boolean;
  /** ttyd `--check-origin`; default true. */
  checkOrigin?: boolean;
  /** ttyd `--ping-interval`; default {@link DEFAULT_PING_INTERVAL_SECONDS}. */
  pingIntervalSeconds?: number;
  /** ttyd `--auth-header` (the operator's `--terminal-auth-header`); none by default. */
  authHeader?: string;
}

/**
 * The Job's `activeDeadlineSeconds` for a TTL: TTL plus a grace period, or null when there is no TTL.
 * The reconciler patches a live Job with this value when the TTL of a running CloudShell is raised.
 */
export function activeDeadlineSecondsFor(
  ttlSeconds: number,
  graceSeconds: number = DEFAULT_DEADLINE_GRACE_SECONDS,
): number | null {
  checkSeconds("TTL", ttlSeconds);
  checkSeconds("Deadline grace", graceSeconds);
  return ttlSeconds > 0 ? ttlSeconds + graceSeconds : null;
}

/** Seconds between ttyd's WebSocket pings: below the 60 s idle timeout of common proxies (nginx). */
export const DEFAULT_PING_INTERVAL_SECONDS = 30;

/** What the ttyd flags of a CloudShell are made of. */
export interface TtydFlags {
  /** `spec.once`: `--once`. */
  once: boolean;
  /** `spec.urlArg`: `-a`. */
  urlArg: boolean;
  /** `spec.readOnly`: no `--writable`. Default false. */
  readOnly?: boolean;
  /** `--check-origin` (the operator's `--terminal-check-origin`). Default true. */
  checkOrigin?: boolean;
  /** `--ping-interval`; default {@link DEFAULT_PING_INTERVAL_SECONDS}. */
  pingIntervalSeconds?: number;
  /**
   * `--auth-header <name>`: ttyd serves only requests carrying this header, which an authenticating proxy
   * sets once it has logged the user in (the operator's `--terminal-auth-header`).
   */
  authHeader?: string;
  /** `spec.ttydClientOptions`: `--client-option key=value` each. */
  clientOptions?: Readonly<Record<string, string>>;
}

/**
 * ttyd flags for a CloudShell, one argv item each: `--writable` unless read-only, `--check-origin`,
 * `--ping-interval <s>`, `--once`, `-a`, then `--client-option key=value` per client option in key order
 * (sorted so that the same spec always renders the same Job). Throws a RangeError for a client option that
 * ttyd would cut (ttyd splits at every "="; validation reports such values to the user first).
 */
export function ttydArgsFor(flags: TtydFlags): string[] {
  const args: string[] = [];
  if (!flags.readOnly) args.push("--writable");
  if (flags.checkOrigin ?? true) args.push("--check-origin");
  if (flags.authHeader) args.push("--auth-header", flags.authHeader);
  const ping = flags.pingIntervalSeconds ?? DEFAULT_PING_INTERVAL_SECONDS;
  if (!Number.isSafeInteger(ping) || ping < 1) {
    throw new RangeError("The ping interval must be whole seconds, >= 1");
  }
  args.push("--ping-interval", String(ping));
  if (flags.once) args.push("--once");
  if (flags.urlArg) args.push("-a");
  const options = flags.clientOptions ?? {};
  for (const key of Object.keys(options).sort()) {
    if (key === "" || key.startsWith("-") || key.includes("=") || options[key].includes("=")) {
      throw new RangeError(
        `ttyd client option ${
          JSON.stringify(key)
        }: ttyd cuts keys and values at "=" (and a key must not be empty or start with "-")`,
      );
    }
    args.push("--client-option", `${key}=${options[key]}`);
  }
  return args;
}

/** Builds the template variables for one CloudShell. */
export function buildTemplateVars(input: TemplateInput): TemplateVars {
  const ttl = input.ttlSeconds ?? 0;
  return {
    Namespace: input.namespace,
    Name: childName(input.cloudShellName),
    CloudShellName: input.cloudShellName,
    Command: input.command === "" ? DEFAULT_COMMAND : input.command,
    Once: input.once,
    UrlArg: input.urlArg,
    Ttl: ttl,
    Secret: input.secretName ?? "",
    Image: input.image,
    Launcher: LAUNCHER_SCRIPT,
    TtydArgs: ttydArgsFor({
      once: input.once,
      urlArg: input.urlArg,
      readOnly: input.readOnly,
      checkOrigin: input.checkOrigin,
      pingIntervalSeconds: input.pingIntervalSeconds,
      authHeader: input.authHeader,
      clientOptions: input.ttydClientOptions,
    }),
    ActiveDeadlineSeconds: activeDeadlineSecondsFor(ttl, input.deadlineGraceSeconds),
  };
}

/** Variables used to trial-render a template when it is loaded, so a broken one is rejected before use. */
export const SAMPLE_TEMPLATE_VARS: Readonly<TemplateVars> = Object.freeze(buildTemplateVars({
  namespace: "default",
  cloudShellName: "sample",
  command: "bash",
  once: true,
  urlArg: true,
  ttlSeconds: 3600,
  secretName: "sample-kubeconfig",
  image: "ghcr.io/cloudtty/cloudshell:v0.8.9",
  ttydClientOptions: { fontSize: "14" },
}));

/** Throws a RangeError unless `vars` holds values of the right kind for every variable. */
export function checkTemplateVars(vars: TemplateVars): void {
  for (const [name, kind] of Object.entries(VARIABLES) as [VariableName, VariableKind][]) {
    const value: unknown = vars[name];
    const ok = kind === "string"
      ? typeof value === "string"
      : kind === "bool"
      ? typeof value === "boolean"
      : kind === "int"
      ? isSeconds(value)
      : kind === "optionalInt"
      ? value === null || (isSeconds(value) && value > 0)
      : Array.isArray(value) && value.every((item) => typeof item === "string");
    if (!ok) {
      throw new RangeError(`Template variable ${name} has an invalid value ${JSON.stringify(value)}`);
    }
  }
}

function isSeconds(value: unknown): value is number {
  return typeof value === "number" && Number.isSafeInteger(value) && value >= 0;
}

function checkSeconds(what: string, value: number): void {
  if (!isSeconds(value)) throw new RangeError(`${what} must be a non-negative whole number of seconds`);
}
