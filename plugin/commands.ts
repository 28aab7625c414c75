/**
 * The plugin's commands: create (and open), open, list, extend, delete. Each takes what main.ts built
 * (a client for the user's kubeconfig, the namespace, where to write) and returns an exit code or
 * throws a PluginError; none reads the process's arguments or environment.
 */
import { type CloudShell, CloudShells, isTerminal, ttlSeconds } from "../controller/cloudshell/api.ts";
import {
  ApiError,
  type ClusterConnection,
  isAlreadyExists,
  isForbidden,
  isNotFound,
  type KubeClient,
} from "../controller/kube/mod.ts";
import { forwardUrl, needsForward, readLogin, routeUrl, terminalPod } from "./access.ts";
import type { CreateFlags, GlobalFlags, OpenFlags } from "./args.ts";
import { ExitCode, type ExitCodeValue, PluginError } from "./exit_codes.ts";
import { formatList, formatSession, formatShell, resourceName, type Session } from "./output.ts";
import { dialPortForward, LocalForward, PortForwardError } from "./port_forward.ts";
import { expiresAt, exposureMode, newCloudShell } from "./shell.ts";
import { type Progress, waitForReady } from "./wait.ts";

/** What every command gets from main.ts. */
export interface PluginContext {
  client: KubeClient;
  connection: ClusterConnection;
  /** `-n`, else the context's namespace, else `default`. */
  namespace: string;
  global: GlobalFlags;
  /** Writes to stdout (results). */
  out(text: string): void;
  /** Writes to stderr (progress, messages); knows whether it is a terminal. */
  err: Progress;
  /** Starts the user's browser on a URL (xdg-open, open, start). */
  openBrowser(url: string): Promise<void>;
  /** Aborted by Ctrl-C (SIGINT) or SIGTERM. */
  signal: AbortSignal;
  userAgent: string;
}

/** An API error as a PluginError with the right exit code and a sentence saying what was refused. */
export function apiFailure(err: unknown, doing: string): PluginError | unknown {
  if (!(err instanceof ApiError)) return err;
  const detail = err.status?.message ?? `HTTP ${err.code}`;
  const code: ExitCodeValue = isForbidden(err)
    ? ExitCode.forbidden
    : isNotFound(err)
    ? ExitCode.notFound
    : ExitCode.failure;
  return new PluginError(code, `${doing}: ${detail}`);
}

async function getShell(ctx: PluginContext, name: string): Promise<CloudShell> {
  try {
    return await ctx.client.get<CloudShell>(CloudShells, ctx.namespace, name);
  } catch (err) {
    if (isNotFound(err)) {
      throw new PluginError(
        ExitCode.notFound,
        `cloudshell "${name}" not found in namespace "${ctx.namespace}"`,
      );
    }
    throw apiFailure(err, `reading cloudshell "${name}"`);
  }
}

/** `create`: a new shell, waited for, then opened (unless --no-open). */
export async function create(ctx: PluginContext, flags: CreateFlags): Promise<number> {
  let created: CloudShell;
  try {
    created = await ctx.client.create<CloudShell>(CloudShells, newCloudShell(ctx.namespace, flags));
  } catch (err) {
    if (isAlreadyExists(err)) {
      throw new PluginError(
        ExitCode.failure,
        `cloudshell "${flags.name}" already exists in namespace "${ctx.namespace}"; open it with ` +
          `'kubectl cloudshell open ${flags.name}'`,
      );
    }
    if (isNotFound(err)) {
      throw new PluginError(
        ExitCode.failure,
        "the CloudShell API (cloudshells.cloudshell.cloudtty.io) is not installed",
      );
    }
    throw apiFailure(err, `creating a cloudshell in namespace "${ctx.namespace}"`);
  }
  const name = created.metadata.name!;
  ctx.err.write(`cloudshell/${name} created in namespace ${ctx.namespace}\n`);
  const ready = await waitForReady(ctx.client, ctx.namespace, name, flags.timeoutMs, ctx.err, ctx.signal);
  if (flags.noOpen) {
    ctx.out(ctx.global.output ? formatShell(ready, ctx.global.output) : `${ready.status?.accessUrl}\n`);
    return ExitCode.ok;
  }
  return await openReady(ctx, ready, flags);
}

/** `open`: an existing shell, waited for if it is still starting. */
export async function open(ctx: PluginContext, name: string, flags: OpenFlags): Promise<number> {
  await getShell(ctx, name);
  const ready = await waitForReady(ctx.client, ctx.namespace, name, flags.timeoutMs, ctx.err, ctx.signal);
  return await openReady(ctx, ready, flags);
}

/**
 * Opens a Ready shell: through a local forward (ClusterIP, or --forward) or at its own URL; prints the
 * session and the login; starts the browser unless --no-browser; with a forward, serves it until Ctrl-C.
 */
async function openReady(ctx: PluginContext, cs: CloudShell, flags: OpenFlags): Promise<number> {
  const name = cs.metadata.name!;
  const login = await readLogin(ctx.client, cs).catch((err) => {
    throw apiFailure(err, `reading the login of cloudshell/${name}`);
  });
  let forward: LocalForward | undefined;
  let session: Session;
  const base = {
    name,
    namespace: ctx.namespace,
    exposureMode: exposureMode(cs.spec ?? {}),
    accessUrl: cs.status?.accessUrl ?? "",
    login: login.kind === "readable" ? login.login : null,
    credentialSecretName: login.kind === "none" ? null : login.secret,
    expiresAt: expiresAt(cs)?.toISOString() ?? null,
  };
  if (needsForward(cs, flags.forward)) {
    const pod = await terminalPod(ctx.client, cs).catch((err) => {
      throw apiFailure(err, `finding the terminal pod of cloudshell/${name}`);
    });
    const target = { namespace: ctx.namespace, pod: pod.name, port: pod.port };
    const dial = () => dialPortForward(ctx.connection, target, ctx.userAgent);
    // One stream now, so a missing right shows here, before any URL is printed.
    try {
      await (await dial()).close();
    } catch (err) {
      if (err instanceof PortForwardError) {
        const code = err.status === 403 ? ExitCode.forbidden : ExitCode.failure;
        throw new PluginError(
          code,
          `cannot port-forward to pod/${pod.name} (cloudshell/${name}): ${err.message}`,
        );
      }
      throw err;
    }
    forward = new LocalForward(flags.port, dial, (e) => ctx.err.write(`forward: ${e.message}\n`));
    session = {
      ...base,
      url: forwardUrl(forward.port),
      forward: { pod: pod.name, localPort: forward.port, podPort: pod.port },
    };
  } else {
    session = { ...base, url: routeUrl(cs), forward: null };
  }

  ctx.out(ctx.global.output ? formatSession(session, ctx.global.output) : `${session.url}\n`);
  if (login.kind === "readable") {
    ctx.err.write(`Login: username ${login.login.username}, password ${login.login.password}\n`);
  } else if (login.kind === "unreadable") {
    ctx.err.write(`The terminal asks for a login, kept in Secret ${login.secret}, which ${login.why}\n`);
  }
  if (!flags.noBrowser) {
    await ctx.openBrowser(session.url).catch((err) =>
      ctx.err.write(`Could not start a browser (${(err as Error).message}); open ${session.url}\n`)
    );
  }
  if (!forward) return ExitCode.ok;

  const ends = session.expiresAt ? `until ${session.expiresAt}` : "until it is deleted";
  ctx.err.write(
    `Forwarding 127.0.0.1:${forward.port} -> pod/${session.forward!.pod}:${
      session.forward!.podPort
    } through ` +
      `the API server. Ctrl-C ends the forward; the shell keeps running ${ends}.\n`,
  );
  await new Promise<void>((resolve) => {
    if (ctx.signal.aborted) return resolve();
    ctx.signal.addEventListener("abort", () => resolve(), { once: true });
  });
  await forward.close();
  ctx.err.write(`Forward ended; cloudshell/${name} keeps running ${ends}\n`);
  return ExitCode.ok;
}

/** `list`: the shells of the namespace, or of all with -A. */
export async function list(ctx: PluginContext): Promise<number> {
  const all = ctx.global.allNamespaces;
  let shells: CloudShell[];
  try {
    shells =
      (await ctx.client.list<CloudShell>(CloudShells, { namespace: all ? undefined : ctx.namespace })).items;
  } catch (err) {
    throw apiFailure(err, `listing cloudshells${all ? "" : ` in namespace "${ctx.namespace}"`}`);
  }
  const text = formatList(shells, ctx.global.output, all);
  if (text === "" && !ctx.global.output) {
    ctx.err.write(`No cloudshells found${all ? "" : ` in namespace ${ctx.namespace}`}.\n`);
  }
  ctx.out(text);
  return ExitCode.ok;
}

/**
 * `extend`: the shell may live `bySeconds` longer than it would have. A shell without a TTL gets one that
 * ends `bySeconds` from now. The patch carries the resourceVersion it was computed from, so a concurrent
 * change makes it fail rather than be overwritten.
 */
export async function extend(ctx: PluginContext, name: string, bySeconds: number): Promise<number> {
  const cs = await getShell(ctx, name);
  if (isTerminal(cs.status?.phase)) {
    throw new PluginError(
      ExitCode.notReady,
      `cloudshell/${name} has already ended (phase ${cs.status?.phase})`,
    );
  }
  const started = cs.status?.lastScheduleTime ? Date.parse(cs.status.lastScheduleTime) : Date.now();
  const current = ttlSeconds(cs.spec ?? {}) ?? Math.ceil((Date.now() - started) / 1000);
  const ttl = current + bySeconds;
  let patched: CloudShell;
  try {
    patched = await ctx.client.patch<CloudShell>(
      CloudShells,
      ctx.namespace,
      name,
      { metadata: { resourceVersion: cs.metadata.resourceVersion }, spec: { ttlSecondsAfterStarted: ttl } },
      "merge",
    );
  } catch (err) {
    throw apiFailure(err, `extending cloudshell "${name}"`);
  }
  if (ctx.global.output) {
    ctx.out(formatShell(patched, ctx.global.output));
  } else {
    const ends = expiresAt(patched);
    ctx.out(
      `cloudshell/${name} extended: ttlSecondsAfterStarted ${ttl}${
        ends ? `, ends at ${ends.toISOString()}` : ""
      }\n`,
    );
  }
  return ExitCode.ok;
}

/** `delete`: every named shell; the worst outcome decides the exit code. */
export async function remove(ctx: PluginContext, names: string[]): Promise<number> {
  let code: number = ExitCode.ok;
  for (const name of names) {
    try {
      await ctx.client.delete(CloudShells, ctx.namespace, name);
      ctx.out(ctx.global.output === "name" ? `${resourceName(name)}\n` : `cloudshell "${name}" deleted\n`);
    } catch (err) {
      const failure = isNotFound(err)
        ? new PluginError(ExitCode.notFound, `cloudshell "${name}" not found in namespace "${ctx.namespace}"`)
        : apiFailure(err, `deleting cloudshell "${name}"`);
      if (!(failure instanceof PluginError)) throw failure;
      ctx.err.write(`error: ${failure.message}\n`);
      code = Math.max(code, failure.code);
    }
  }
  return code;
}
