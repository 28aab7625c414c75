/**
 * Credentials that change while the process runs, refreshed as client-go's
 * are: a token file re-read every minute and after a 401 (projected
 * ServiceAccount tokens rotate), and exec credential plugins
 * (client.authentication.k8s.io v1 and v1beta1) run once for any number of
 * concurrent requests, cached until their `expirationTimestamp` (forever
 * without one), and run again when the API server answers 401 to what they
 * returned. A plugin may return a token or a client certificate.
 *
 * Nothing here logs: a credential must never reach a log line, so errors
 * describe what went wrong without the plugin's output.
 */

/** What a request authenticates with. */
export interface Credential {
  token?: string;
  /** A client certificate and key (PEM) from an exec plugin, in place of the kubeconfig's. */
  clientCertPem?: string;
  clientKeyPem?: string;
}

/** A source of credentials that may change. */
export interface CredentialSource {
  /** The current credential; concurrent callers share one refresh. */
  get(): Promise<Credential>;
  /**
   * The API server answered 401 to a request made with `used`. Forgets it (unless it was already
   * replaced) and returns whether a retry may succeed with a fresh one.
   */
  rejected(used: Credential): boolean;
}

/** A token that never changes (the kubeconfig's `token`): a 401 is final. */
export function staticToken(token: string): CredentialSource {
  const credential = { token };
  return { get: () => Promise.resolve(credential), rejected: () => false };
}

/** How often a token file is read again without a 401 (client-go's cached file token source). */
export const TOKEN_FILE_REREAD_MS = 60_000;

/** A token read from a file, again every minute and after a 401. */
export function tokenFile(
  path: string,
  read: (path: string) => Promise<string>,
  now: () => number = Date.now,
): CredentialSource {
  return new CachedCredential(async () => {
    const token = (await read(path)).trim();
    if (!token) throw new Error(`Token file ${path} is empty`);
    return { credential: { token }, expiresAt: now() + TOKEN_FILE_REREAD_MS };
  }, now);
}

/** A credential with an expiry; `undefined` means until the API server refuses it. */
export interface Expiring {
  credential: Credential;
  expiresAt?: number;
}

/** Caches what `fetch` returns until it expires or is refused; one fetch in flight at a time. */
export class CachedCredential implements CredentialSource {
  readonly #fetch: () => Promise<Expiring>;
  readonly #now: () => number;
  #current: Expiring | undefined;
  #pending: Promise<Credential> | undefined;

  constructor(fetch: () => Promise<Expiring>, now: () => number = Date.now) {
    this.#fetch = fetch;
    this.#now = now;
  }

  get(): Promise<Credential> {
    const current = this.#current;
    if (current && (current.expiresAt === undefined || this.#now() < current.expiresAt)) {
      return Promise.resolve(current.credential);
    }
    // Every caller that arrives while a refresh runs waits for that same refresh.
    this.#pending ??= this.#fetch().then(
      (fresh) => {
        this.#current = fresh;
        return fresh.credential;
      },
    ).finally(() => this.#pending = undefined);
    return this.#pending;
  }

  rejected(used: Credential): boolean {
    // Many requests fail with the same credential at once: only the first forgets it, the others
    // find it replaced (or being replaced) and simply retry.
    if (this.#current?.credential === used) this.#current = undefined;
    return true;
  }
}

/** The exec stanza as `config.ts` hands it over, paths resolved. */
export interface ExecPluginConfig {
  command: string;
  args: string[];
  env: { name: string; value: string }[];
  apiVersion: string;
  installHint?: string;
  /** `spec.cluster` of KUBERNETES_EXEC_INFO, when `provideClusterInfo` is set. */
  cluster?: Record<string, unknown>;
  /** Who the plugin is for, in messages. */
  user: string;
  /** The plugin may ask its user on this process's terminal (client-go's `spec.interactive`). */
  interactive?: boolean;
}

/**
 * Runs a plugin and returns its standard output; rejects if it cannot start or exits non-zero. An
 * interactive plugin gets the process's standard input.
 */
export type RunPlugin = (
  command: string,
  args: string[],
  env: Record<string, string>,
  opts: { interactive: boolean },
) => Promise<string>;

/** The API versions of ExecCredential that client-go 1.37 still speaks. */
export const EXEC_API_VERSIONS = ["client.authentication.k8s.io/v1", "client.authentication.k8s.io/v1beta1"];

/** An error of an exec plugin, with the kubeconfig's installHint when it could not run at all. */
export class ExecPluginError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "ExecPluginError";
  }
}

interface ExecCredentialReply {
  apiVersion?: string;
  kind?: string;
  status?: {
    token?: string;
    clientCertificateData?: string;
    clientKeyData?: string;
    expirationTimestamp?: string;
  };
}

/** An exec credential plugin, run as client-go runs it. */
export function execPlugin(
  config: ExecPluginConfig,
  run: RunPlugin = runCommand,
  now: () => number = Date.now,
): CredentialSource {
  return new CachedCredential(() => runExec(config, run), now);
}

async function runExec(config: ExecPluginConfig, run: RunPlugin): Promise<Expiring> {
  const env: Record<string, string> = {};
  for (const e of config.env) env[e.name] = e.value;
  env.KUBERNETES_EXEC_INFO = JSON.stringify({
    apiVersion: config.apiVersion,
    kind: "ExecCredential",
    spec: {
      interactive: config.interactive ?? false,
      ...(config.cluster ? { cluster: config.cluster } : {}),
    },
  });
  const what = `exec plugin ${config.command} of user "${config.user}"`;
  let out: string;
  try {
    out = await run(config.command, config.args, env, { interactive: config.interactive ?? false });
  } catch (err) {
    const hint = config.installHint ? `; ${config.installHint.trim().replace(/\s*\n\s*/g, " ")}` : "";
    throw new ExecPluginError(`Running the ${what} failed: ${(err as Error).message}${hint}`, { cause: err });
  }
  // The reply holds the secret: errors describe it, never quote it.
  let reply: ExecCredentialReply;
  try {
    reply = JSON.parse(out);
  } catch {
    throw new ExecPluginError(`The ${what} did not print an ExecCredential as JSON`);
  }
  if (reply?.kind !== "ExecCredential") {
    throw new ExecPluginError(`The ${what} printed kind ${JSON.stringify(reply?.kind)}, not ExecCredential`);
  }
  if (reply.apiVersion !== config.apiVersion) {
    throw new ExecPluginError(
      `The ${what} is configured for ${config.apiVersion} but returned ${JSON.stringify(reply.apiVersion)}`,
    );
  }
  const status = reply.status;
  if (!status) throw new ExecPluginError(`The ${what} returned no status`);
  const hasCert = Boolean(status.clientCertificateData);
  const hasKey = Boolean(status.clientKeyData);
  if (hasCert !== hasKey) {
    throw new ExecPluginError(
      `The ${what} returned a client ${hasCert ? "certificate without a key" : "key without a certificate"}`,
    );
  }
  if (!status.token && !hasCert) {
    throw new ExecPluginError(`The ${what} returned neither a token nor a client certificate and key`);
  }
  let expiresAt: number | undefined;
  if (status.expirationTimestamp) {
    expiresAt = Date.parse(status.expirationTimestamp);
    if (Number.isNaN(expiresAt)) {
      throw new ExecPluginError(`The ${what} returned an invalid expirationTimestamp`);
    }
  }
  const credential: Credential = status.token
    ? { token: status.token }
    : { clientCertPem: status.clientCertificateData, clientKeyPem: status.clientKeyData };
  return { credential, expiresAt };
}

/** Runs a plugin with the process's environment plus `env`; its stderr goes to ours, as in client-go. */
async function runCommand(
  command: string,
  args: string[],
  env: Record<string, string>,
  opts: { interactive: boolean },
): Promise<string> {
  const out = await new Deno.Command(command, {
    args,
    env,
    stdin: opts.interactive ? "inherit" : "null",
    stdout: "piped",
    stderr: "inherit",
  }).output();
  if (!out.success) throw new Error(`it exited with code ${out.code}`);
  return new TextDecoder().decode(out.stdout);
}
