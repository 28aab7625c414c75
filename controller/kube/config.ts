/**
 * Loading cluster credentials: a kubeconfig file (with contexts, client
 * certificates, tokens and exec credential plugins) or the in-cluster service
 * account. The result is a `ClusterConnection`, which the client turns into a
 * Deno HTTP client. Nothing here reads the environment itself: callers pass
 * what `main.ts` read, so tests can load configs without touching the process.
 */
import { parse as parseYaml } from "yaml";

/** Where to look for credentials. */
export interface LoadOptions {
  /** `--kubeconfig`: an explicit file wins over everything else. */
  kubeconfigPath?: string;
  /** `--context`: a context other than `current-context`. */
  context?: string;
  /** `--master`: overrides the server URL of the chosen cluster. */
  masterUrl?: string;
  /** The process environment, as read by the caller. */
  env: Readonly<Record<string, string | undefined>>;
  /** Reads a file as text; defaults to `Deno.readTextFile`. */
  readFile?: (path: string) => Promise<string>;
  /** Runs an exec credential plugin; defaults to `Deno.Command`. */
  runPlugin?: (command: string, args: string[], env: Record<string, string>) => Promise<string>;
}

/** Supplies a bearer token per request; may refresh it (rotating files, exec plugins). */
export type TokenSource = () => Promise<string | undefined>;

/** Everything needed to talk to one API server. */
export interface ClusterConnection {
  server: string;
  /** PEM of the cluster CA; absent means the system trust store. */
  caPem?: string;
  clientCertPem?: string;
  clientKeyPem?: string;
  token?: TokenSource;
  /** Where it came from, for logs: a file path or `in-cluster`. */
  source: string;
  /** The namespace of the context, or of the in-cluster service account. */
  namespace?: string;
}

const SA_DIR = "/var/run/secrets/kubernetes.io/serviceaccount";
const TOKEN_REREAD_MS = 60_000;

/** Loads credentials the way kubectl does: --kubeconfig, $KUBECONFIG, in-cluster, ~/.kube/config. */
export async function loadClusterConnection(opts: LoadOptions): Promise<ClusterConnection> {
  const read = opts.readFile ?? ((p: string) => Deno.readTextFile(p));
  let conn: ClusterConnection;
  if (opts.kubeconfigPath) {
    conn = await fromKubeconfigFile(opts.kubeconfigPath, opts, read);
  } else if (opts.env.KUBECONFIG) {
    const first = opts.env.KUBECONFIG.split(":").find((p) => p !== "");
    if (!first) throw new Error("KUBECONFIG is set but names no file");
    conn = await fromKubeconfigFile(first, opts, read);
  } else if (opts.env.KUBERNETES_SERVICE_HOST && opts.env.KUBERNETES_SERVICE_PORT) {
    conn = await inCluster(opts.env.KUBERNETES_SERVICE_HOST, opts.env.KUBERNETES_SERVICE_PORT, read);
  } else if (opts.env.HOME) {
    conn = await fromKubeconfigFile(`${opts.env.HOME}/.kube/config`, opts, read);
  } else {
    throw new Error("No kubeconfig found: pass --kubeconfig, set KUBECONFIG, or run in a cluster");
  }
  return opts.masterUrl ? { ...conn, server: opts.masterUrl } : conn;
}

async function inCluster(
  host: string,
  port: string,
  read: (p: string) => Promise<string>,
): Promise<ClusterConnection> {
  const hostPart = host.includes(":") ? `[${host}]` : host;
  const [caPem, namespace] = await Promise.all([
    read(`${SA_DIR}/ca.crt`),
    read(`${SA_DIR}/namespace`).then((s) => s.trim(), () => undefined),
  ]);
  return {
    server: `https://${hostPart}:${port}`,
    caPem,
    token: fileTokenSource(`${SA_DIR}/token`, read),
    source: "in-cluster",
    namespace,
  };
}

/** Re-reads a token file every minute: projected tokens are rotated by the kubelet. */
function fileTokenSource(path: string, read: (p: string) => Promise<string>): TokenSource {
  let cached: string | undefined;
  let readAt = -Infinity;
  return async () => {
    if (cached === undefined || Date.now() - readAt > TOKEN_REREAD_MS) {
      cached = (await read(path)).trim();
      readAt = Date.now();
    }
    return cached;
  };
}

interface Named<T> {
  name: string;
  [key: string]: unknown;
  cluster?: T;
  context?: T;
  user?: T;
}

interface KubeconfigCluster {
  server?: string;
  "certificate-authority"?: string;
  "certificate-authority-data"?: string;
  "insecure-skip-tls-verify"?: boolean;
}

interface KubeconfigUser {
  token?: string;
  tokenFile?: string;
  "client-certificate"?: string;
  "client-certificate-data"?: string;
  "client-key"?: string;
  "client-key-data"?: string;
  username?: string;
  password?: string;
  exec?: ExecConfig;
}

interface ExecConfig {
  command: string;
  args?: string[];
  env?: { name: string; value: string }[];
  apiVersion?: string;
}

interface KubeconfigContext {
  cluster: string;
  user?: string;
  namespace?: string;
}

interface Kubeconfig {
  "current-context"?: string;
  clusters?: Named<KubeconfigCluster>[];
  contexts?: Named<KubeconfigContext>[];
  users?: Named<KubeconfigUser>[];
}

async function fromKubeconfigFile(
  path: string,
  opts: LoadOptions,
  read: (p: string) => Promise<string>,
): Promise<ClusterConnection> {
  let text: string;
  try {
    text = await read(path);
  } catch (err) {
    throw new Error(`Cannot read kubeconfig ${path}`, { cause: err });
  }
  const doc = parseYaml(text) as Kubeconfig | null;
  if (!doc || typeof doc !== "object") throw new Error(`Kubeconfig ${path} is empty or not a mapping`);
  const contextName = opts.context ?? doc["current-context"];
  if (!contextName) throw new Error(`Kubeconfig ${path} has no current-context; pass --context`);
  const context = doc.contexts?.find((c) => c.name === contextName)?.context;
  if (!context) throw new Error(`Kubeconfig ${path} has no context "${contextName}"`);
  const cluster = doc.clusters?.find((c) => c.name === context.cluster)?.cluster;
  if (!cluster?.server) throw new Error(`Kubeconfig ${path} has no server for cluster "${context.cluster}"`);
  const user = doc.users?.find((u) => u.name === context.user)?.user ?? {};
  const dir = path.includes("/") ? path.slice(0, path.lastIndexOf("/")) : ".";
  const resolve = (p: string) => (p.startsWith("/") ? p : `${dir}/${p}`);
  const fileOrData = async (file?: string, data?: string): Promise<string | undefined> => {
    if (data) return atob(data);
    if (file) return await read(resolve(file));
    return undefined;
  };
  if (cluster["insecure-skip-tls-verify"]) {
    throw new Error(
      `Kubeconfig ${path}: insecure-skip-tls-verify is not supported; give the cluster's certificate-authority`,
    );
  }
  if (user.username || user.password) {
    throw new Error(`Kubeconfig ${path}: basic authentication is not supported; use a token or certificate`);
  }
  const conn: ClusterConnection = {
    server: cluster.server,
    caPem: await fileOrData(cluster["certificate-authority"], cluster["certificate-authority-data"]),
    clientCertPem: await fileOrData(user["client-certificate"], user["client-certificate-data"]),
    clientKeyPem: await fileOrData(user["client-key"], user["client-key-data"]),
    source: path,
    namespace: context.namespace,
  };
  if (user.token) {
    const token = user.token;
    conn.token = () => Promise.resolve(token);
  } else if (user.tokenFile) {
    conn.token = fileTokenSource(resolve(user.tokenFile), read);
  } else if (user.exec) {
    conn.token = execTokenSource(user.exec, opts);
  }
  return conn;
}

interface ExecCredential {
  status?: { token?: string; expirationTimestamp?: string };
}

/** Runs a client-go exec credential plugin and caches its token until it expires. */
function execTokenSource(exec: ExecConfig, opts: LoadOptions): TokenSource {
  const run = opts.runPlugin ?? runCommand;
  let token: string | undefined;
  let expiresAt = 0;
  return async () => {
    if (token !== undefined && Date.now() < expiresAt) return token;
    const env: Record<string, string> = {};
    for (const e of exec.env ?? []) env[e.name] = e.value;
    env.KUBERNETES_EXEC_INFO = JSON.stringify({
      apiVersion: exec.apiVersion ?? "client.authentication.k8s.io/v1",
      kind: "ExecCredential",
      spec: { interactive: false },
    });
    const out = await run(exec.command, exec.args ?? [], env);
    const cred = JSON.parse(out) as ExecCredential;
    if (!cred.status?.token) throw new Error(`Exec credential plugin ${exec.command} returned no token`);
    token = cred.status.token;
    // Without an expiry, ask again in five minutes rather than never.
    expiresAt = cred.status.expirationTimestamp
      ? Date.parse(cred.status.expirationTimestamp) - 30_000
      : Date.now() + 300_000;
    return token;
  };
}

async function runCommand(command: string, args: string[], env: Record<string, string>): Promise<string> {
  const out = await new Deno.Command(command, { args, env, stdout: "piped", stderr: "piped" }).output();
  if (!out.success) {
    throw new Error(`Exec credential plugin ${command} exited with code ${out.code}`);
  }
  return new TextDecoder().decode(out.stdout);
}
