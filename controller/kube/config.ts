/**
 * Where the operator's cluster credentials come from, in controller-runtime's
 * order: `--kubeconfig`, then `$KUBECONFIG` (a merged list), then the
 * in-cluster service account, then `~/.kube/config`. The chosen context
 * becomes a `ClusterConnection`, which the client turns into requests.
 *
 * Every field of the context's cluster and user is either honoured or
 * refused here, with a `KubeconfigError` naming the field: a field silently
 * ignored would make the operator act as someone else or go elsewhere.
 * Nothing here reads the environment itself: callers pass what `main.ts` read.
 */
import {
  type CredentialSource,
  EXEC_API_VERSIONS,
  execPlugin,
  type RunPlugin,
  staticToken,
  tokenFile,
} from "./credentials.ts";
import {
  KubeconfigError,
  loadKubeconfigFiles,
  type ReadFile,
  selectContext,
  type SelectedContext,
  splitKubeconfigList,
} from "./kubeconfig.ts";

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
  /** The working directory relative kubeconfig paths start from; default `Deno.cwd()`. */
  cwd?: string;
  /** Reads a file as text; defaults to `Deno.readTextFile`. */
  readFile?: ReadFile;
  /** Runs an exec credential plugin; defaults to `Deno.Command`. */
  runPlugin?: RunPlugin;
  /**
   * The process's standard input is a terminal its user types on (kubectl's test for exec plugins that ask
   * for a login): an `interactiveMode` IfAvailable or Always plugin may then use it. Default false, as for
   * the operator, which has no terminal.
   */
  terminal?: boolean;
  /**
   * kubectl's order (client-go's deferred loading): `~/.kube/config`, when it exists, before the in-cluster
   * service account. The default is controller-runtime's, which puts the service account first.
   */
  kubectlOrder?: boolean;
}

/** Who to act as (`as`, `as-uid`, `as-groups`, `as-user-extra`): sent as Impersonate-* headers. */
export interface Impersonation {
  user: string;
  uid?: string;
  groups?: string[];
  extra?: Record<string, string[]>;
}

/** Everything needed to talk to one API server. */
export interface ClusterConnection {
  /** The API server URL; a path in it (`https://host/k8s/clusters/c1`) prefixes every request. */
  server: string;
  /** PEM of the cluster CA; absent means the system trust store. */
  caPem?: string;
  clientCertPem?: string;
  clientKeyPem?: string;
  /** Token or exec credentials, refreshed as they expire or are refused. */
  credentials?: CredentialSource;
  /** `username`/`password` of the kubeconfig (HTTP basic authentication). */
  basicAuth?: { username: string; password: string };
  impersonate?: Impersonation;
  /** `proxy-url`: an HTTP(S) proxy (CONNECT) or a SOCKS5 proxy. */
  proxy?: Deno.Proxy;
  /** `disable-compression`: ask for uncompressed responses. */
  disableCompression?: boolean;
  /** Where it came from, for logs: file paths and context, or `in-cluster`. */
  source: string;
  /** The namespace of the context, or of the in-cluster service account. */
  namespace?: string;
  /** Fields kubectl would ignore too (unknown to client-go), for a warning. */
  ignoredFields?: string[];
}

const SA_DIR = "/var/run/secrets/kubernetes.io/serviceaccount";

/** Loads credentials the way controller-runtime's GetConfig does; throws KubeconfigError for bad ones. */
export async function loadClusterConnection(opts: LoadOptions): Promise<ClusterConnection> {
  const read = opts.readFile ?? ((p: string) => Deno.readTextFile(p));
  const cwd = opts.cwd ?? Deno.cwd();
  let conn: ClusterConnection;
  const envList = opts.env.KUBECONFIG ? splitKubeconfigList(opts.env.KUBECONFIG) : [];
  const home = opts.env.HOME ? `${opts.env.HOME}/.kube/config` : undefined;
  const homeFirst = opts.kubectlOrder && home !== undefined && await read(home).then(() => true, () => false);
  if (opts.kubeconfigPath) {
    conn = await fromKubeconfig({ explicitPath: opts.kubeconfigPath, cwd }, opts, read);
  } else if (envList.length > 0) {
    conn = await fromKubeconfig({ precedence: envList, cwd }, opts, read);
  } else if (opts.env.KUBERNETES_SERVICE_HOST && opts.env.KUBERNETES_SERVICE_PORT && !homeFirst) {
    conn = await inCluster(opts.env.KUBERNETES_SERVICE_HOST, opts.env.KUBERNETES_SERVICE_PORT, read);
  } else if (home) {
    conn = await fromKubeconfig({ precedence: [home], cwd }, opts, read);
  } else {
    throw new KubeconfigError("No kubeconfig found: pass --kubeconfig, set KUBECONFIG, or run in a cluster");
  }
  if (opts.masterUrl) conn = { ...conn, server: checkServer(opts.masterUrl, "--master") };
  checkPlaintext(conn);
  return conn;
}

/**
 * client-go sends no credentials at all to an `http://` server (kubectl then acts anonymously). Sending them
 * would put a token in plain text on the network, and dropping them silently would make the operator act as
 * someone else: so credentials for a plain-HTTP server are refused, except on loopback, where nothing
 * crosses a network (a local proxy such as `kubectl proxy` or a test's).
 */
function checkPlaintext(conn: ClusterConnection): void {
  const url = new URL(conn.server);
  if (url.protocol !== "http:") return;
  const host = url.hostname.replace(/^\[|\]$/g, "");
  const loopback = host === "localhost" || host === "::1" || /^127\.\d+\.\d+\.\d+$/.test(host);
  const hasCredentials = conn.credentials || conn.basicAuth || conn.clientCertPem || conn.impersonate;
  if (hasCredentials && !loopback) {
    throw new KubeconfigError(
      `Kubeconfig server ${url.origin} is plain HTTP: credentials are sent only over https (kubectl sends none ` +
        "to it); use an https server URL",
    );
  }
}

async function inCluster(host: string, port: string, read: ReadFile): Promise<ClusterConnection> {
  const hostPart = host.includes(":") ? `[${host}]` : host;
  const [caPem, namespace] = await Promise.all([
    read(`${SA_DIR}/ca.crt`).catch((err) => {
      throw new KubeconfigError(`In-cluster: cannot read ${SA_DIR}/ca.crt: ${(err as Error).message}`);
    }),
    read(`${SA_DIR}/namespace`).then((s) => s.trim(), () => undefined),
  ]);
  return {
    server: `https://${hostPart}:${port}`,
    caPem,
    credentials: tokenFile(`${SA_DIR}/token`, read),
    source: "in-cluster",
    namespace,
  };
}

async function fromKubeconfig(
  files: Parameters<typeof loadKubeconfigFiles>[0],
  opts: LoadOptions,
  read: ReadFile,
): Promise<ClusterConnection> {
  const merged = await loadKubeconfigFiles(files, read);
  const selected = selectContext(merged, opts.context);
  const conn = await connectionFor(selected, opts, read);
  conn.source = `${merged.files.join(":")} (context ${selected.contextName})`;
  conn.ignoredFields = merged.unknownFields;
  return conn;
}

/** Turns a selected context into a connection, refusing what cannot be honoured. */
export async function connectionFor(
  s: SelectedContext,
  opts: Pick<LoadOptions, "runPlugin" | "terminal"> = {},
  read: ReadFile = (p) => Deno.readTextFile(p),
): Promise<ClusterConnection> {
  const c = s.cluster;
  const u = s.user;
  const cl = `cluster "${s.clusterName}"`;
  const us = `user "${s.userName}"`;
  // Deno's HTTP client has no setting for these; going on without them would connect differently.
  if (c["tls-server-name"]) {
    throw new KubeconfigError(
      `Kubeconfig ${cl}: tls-server-name is not supported (Deno's HTTP client cannot set the TLS server name); ` +
        "use a server URL whose host the certificate names",
    );
  }
  if (c["insecure-skip-tls-verify"]) {
    throw new KubeconfigError(
      `Kubeconfig ${cl}: insecure-skip-tls-verify is not supported; give the cluster's certificate-authority`,
    );
  }
  if (u["auth-provider"]) {
    throw new KubeconfigError(
      `Kubeconfig ${us}: auth-provider (${u["auth-provider"].name ?? "unnamed"}) is not supported; ` +
        "use an exec credential plugin (kubelogin, gke-gcloud-auth-plugin, aws eks get-token)",
    );
  }
  const fileOrData = async (field: string, file?: string, data?: string): Promise<string | undefined> => {
    if (data) {
      try {
        return new TextDecoder().decode(Uint8Array.from(atob(data), (ch) => ch.charCodeAt(0)));
      } catch {
        throw new KubeconfigError(`Kubeconfig ${field}-data is not valid base64`);
      }
    }
    if (!file) return undefined;
    try {
      return await read(file);
    } catch (err) {
      throw new KubeconfigError(`Kubeconfig ${field} ${file}: ${(err as Error).message}`);
    }
  };
  const conn: ClusterConnection = {
    server: checkServer(c.server!, `Kubeconfig ${cl} server`),
    caPem: await fileOrData(
      `${cl} certificate-authority`,
      c["certificate-authority"],
      c["certificate-authority-data"],
    ),
    clientCertPem: await fileOrData(
      `${us} client-certificate`,
      u["client-certificate"],
      u["client-certificate-data"],
    ),
    clientKeyPem: await fileOrData(`${us} client-key`, u["client-key"], u["client-key-data"]),
    source: s.userFile,
    namespace: s.context.namespace,
  };
  if (c["proxy-url"]) conn.proxy = proxyFor(c["proxy-url"], cl);
  if (c["disable-compression"]) conn.disableCompression = true;
  const execApiVersion = u.exec ? checkExec(u.exec, us, opts.terminal ?? false) : undefined;
  if (u.as) {
    conn.impersonate = {
      user: u.as,
      uid: u["as-uid"] || undefined,
      groups: u["as-groups"] ?? [],
      extra: u["as-user-extra"] ?? {},
    };
  }
  if (u.username || u.password) conn.basicAuth = { username: u.username ?? "", password: u.password ?? "" };
  // client-go's order: a token file (re-read) over a token; either, or basic auth, sets the Authorization
  // header, and then an exec plugin is not asked.
  if (u.tokenFile) {
    conn.credentials = tokenFile(u.tokenFile, read);
  } else if (u.token) {
    conn.credentials = staticToken(u.token);
  } else if (u.exec && !conn.basicAuth) {
    conn.credentials = execPlugin({
      command: u.exec.command!,
      args: u.exec.args ?? [],
      env: u.exec.env ?? [],
      apiVersion: execApiVersion!,
      installHint: u.exec.installHint,
      cluster: u.exec.provideClusterInfo ? execClusterInfo(s, conn.caPem) : undefined,
      user: s.userName,
      interactive: (opts.terminal ?? false) && u.exec.interactiveMode !== "Never",
    }, opts.runPlugin);
  }
  return conn;
}

/** The exec plugin's API version, after checking the fields client-go checks. */
function checkExec(
  exec: NonNullable<SelectedContext["user"]["exec"]>,
  us: string,
  terminal: boolean,
): string {
  const apiVersion = exec.apiVersion!;
  if (!EXEC_API_VERSIONS.includes(apiVersion)) {
    throw new KubeconfigError(
      `Kubeconfig ${us}: exec.apiVersion ${apiVersion} is not supported (${EXEC_API_VERSIONS.join(", ")})`,
    );
  }
  // v1beta1 defaults to IfAvailable when loaded; v1 makes the kubeconfig say it (client-go's validation).
  const mode = exec.interactiveMode;
  if (mode === undefined) {
    throw new KubeconfigError(`Kubeconfig ${us}: exec.interactiveMode must be set for ${apiVersion}`);
  }
  if (mode === "Always" && !terminal) {
    throw new KubeconfigError(
      `Kubeconfig ${us}: exec.interactiveMode Always needs a terminal, and standard input is not one; ` +
        "use IfAvailable or Never (or run this from a terminal)",
    );
  }
  if (mode !== "Always" && mode !== "IfAvailable" && mode !== "Never") {
    throw new KubeconfigError(`Kubeconfig ${us}: exec.interactiveMode ${JSON.stringify(mode)} is not valid`);
  }
  return apiVersion;
}

/** `spec.cluster` of KUBERNETES_EXEC_INFO (client-go's Cluster of ExecCredential). */
function execClusterInfo(s: SelectedContext, caPem: string | undefined): Record<string, unknown> {
  const c = s.cluster;
  const info: Record<string, unknown> = { server: c.server };
  if (caPem) info["certificate-authority-data"] = btoa(caPem);
  if (c["proxy-url"]) info["proxy-url"] = c["proxy-url"];
  if (c["disable-compression"]) info["disable-compression"] = true;
  const ext = c.extensions?.find((e) => e.name === "client.authentication.k8s.io/exec");
  if (ext) info.config = ext.extension;
  return info;
}

function checkServer(server: string, what: string): string {
  let url: URL;
  try {
    url = new URL(server);
  } catch {
    throw new KubeconfigError(`${what} ${JSON.stringify(server)} is not a URL`);
  }
  // Checked first, and the URL never repeated: it would carry the password into this error and the log.
  if (url.username || url.password) {
    throw new KubeconfigError(
      `${what} has a username or password in its URL; give credentials in the user entry (token, ` +
        "username and password, client certificate)",
    );
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") {
    throw new KubeconfigError(`${what} ${JSON.stringify(server)} is not an http or https URL`);
  }
  if (url.search || url.hash) {
    throw new KubeconfigError(`${what} ${JSON.stringify(server)} has a query or fragment`);
  }
  return server.replace(/\/+$/, "");
}

/** `proxy-url` as Deno's HTTP client takes it: http, https and socks5 as in client-go. */
function proxyFor(proxyUrl: string, cl: string): Deno.Proxy {
  let url: URL;
  try {
    url = new URL(proxyUrl);
  } catch {
    // Not quoted: a proxy URL may carry a password.
    throw new KubeconfigError(`Kubeconfig ${cl}: proxy-url is not a URL`);
  }
  const transport = ({ "http:": "http", "https:": "https", "socks5:": "socks5" } as const)[
    url.protocol as "http:" | "https:" | "socks5:"
  ];
  if (!transport) {
    throw new KubeconfigError(
      `Kubeconfig ${cl}: proxy-url scheme ${url.protocol} is not supported (http, https, socks5)`,
    );
  }
  const basicAuth = url.username
    ? { username: decodeURIComponent(url.username), password: decodeURIComponent(url.password) }
    : undefined;
  const bare = `${url.protocol}//${url.host}`;
  return basicAuth ? { transport, url: bare, basicAuth } : { transport, url: bare };
}
