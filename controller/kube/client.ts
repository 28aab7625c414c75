/**
 * A small Kubernetes API client over Deno's native `fetch`, with client-go's
 * transport behaviour: credentials that refresh (a 401 makes a token file be
 * re-read or an exec plugin run again, and the request is sent once more),
 * impersonation headers, a proxy, server URLs with a path, client-side
 * throttling, and bounded retries of 429 and 5xx answers that honour
 * Retry-After.
 *
 * Why not `@kubernetes/client-node`: see docs/development.md.
 */
import type { ClusterConnection, Impersonation } from "./config.ts";
import type { Credential } from "./credentials.ts";
import { cancellableTimeout } from "./cancellable_timeout.ts";
import { errorFromResponse } from "./errors.ts";
import { abortableSleep, Semaphore, TokenBucket } from "./rate_limit.ts";
import { DEFAULT_RETRY, NO_RETRY, retryDelayMs, type RetryPolicy } from "./retry.ts";
import { collectionPath, objectPath, type ResourceType } from "./resources.ts";
import type { KubeObject, ObjectList, WatchEvent } from "./types.ts";

/** Options of a client. */
export interface ClientOptions {
  /**
   * Requests per second before throttling (client-go's QPS). Negative: no client-side throttle, as in
   * client-go; the API server's Priority and Fairness then paces the client with 429 answers.
   */
  qps?: number;
  /** Requests allowed in a burst above `qps`. */
  burst?: number;
  userAgent?: string;
  /** Sent as `fieldManager` on every write, so managed fields name us. */
  fieldManager?: string;
  /** Timeout of a non-watch request. */
  requestTimeoutMs?: number;
  /**
   * Non-watch requests in flight at once. Over HTTP/1.1 each one holds a TLS connection, so this bounds
   * the connections (and their buffers) a burst of reconciles opens; the rest queue in the client.
   */
  maxInFlight?: number;
  /** Called after every request, for metrics. */
  onRequest?: (info: RequestInfo) => void;
  /** Retries of 429 and 5xx answers; default DEFAULT_RETRY. */
  retry?: RetryPolicy;
}

/** What `onRequest` learns about a finished request. */
export interface RequestInfo {
  method: string;
  /** The resource plural, or the raw path for non-resource requests. */
  resource: string;
  /** HTTP status, or 0 when no answer came. */
  code: number;
  durationMs: number;
}

/** Selectors and paging of a list or watch. */
export interface ListOptions {
  namespace?: string;
  labelSelector?: string;
  fieldSelector?: string;
  limit?: number;
  continue?: string;
  resourceVersion?: string;
  signal?: AbortSignal;
}

/** Options of a watch. */
export interface WatchOptions extends ListOptions {
  resourceVersion: string;
  /** Ask the server to end the watch after this long (it ends it anyway, eventually). */
  timeoutSeconds?: number;
  signal: AbortSignal;
}

/** The patch content types the API server accepts. */
export type PatchType = "merge" | "json" | "strategic" | "apply";

const PATCH_CONTENT_TYPES: Record<PatchType, string> = {
  merge: "application/merge-patch+json",
  json: "application/json-patch+json",
  strategic: "application/strategic-merge-patch+json",
  apply: "application/apply-patch+yaml",
};

/** A request in the form the client sends it. */
export interface RawRequest {
  method: string;
  path: string;
  query?: Record<string, string | number | boolean | undefined>;
  body?: unknown;
  contentType?: string;
  headers?: Record<string, string>;
  signal?: AbortSignal;
  /** Skip the default request timeout (watches, long polls). */
  noTimeout?: boolean;
  /** Label for metrics and errors. */
  resource?: string;
  /** Overrides the client's retry policy for this request. */
  retry?: RetryPolicy;
}

/** What clients derived from one another share: the connection and its HTTP clients. */
class Transport {
  readonly conn: ClusterConnection;
  /** The Authorization header of the kubeconfig's username and password, built once. */
  readonly basicAuthorization: string | undefined;
  readonly #base: Deno.HttpClient;
  /** HTTP clients for client certificates an exec plugin returned, by certificate. */
  readonly #byCert = new Map<string, Deno.HttpClient>();

  constructor(conn: ClusterConnection, http?: Deno.HttpClient) {
    this.conn = conn;
    if (conn.basicAuth) {
      const { username, password } = conn.basicAuth;
      this.basicAuthorization = `Basic ${
        btoa(String.fromCharCode(...new TextEncoder().encode(`${username}:${password}`)))
      }`;
    }
    this.#base = http ?? this.#create(conn.clientCertPem, conn.clientKeyPem);
  }

  /** The HTTP client for a credential: the kubeconfig's certificate, or the one the plugin returned. */
  httpFor(cred: Credential | undefined): Deno.HttpClient {
    if (!cred?.clientCertPem || !cred.clientKeyPem) return this.#base;
    let http = this.#byCert.get(cred.clientCertPem);
    if (!http) {
      // A rotated certificate gets a new pool; old pools stay for requests still using them (a watch)
      // until close(). Plugins rotate certificates in hours, so they are few.
      http = this.#create(cred.clientCertPem, cred.clientKeyPem);
      this.#byCert.set(cred.clientCertPem, http);
    }
    return http;
  }

  close(): void {
    this.#base.close();
    for (const http of this.#byCert.values()) http.close();
    this.#byCert.clear();
  }

  #create(cert: string | undefined, key: string | undefined): Deno.HttpClient {
    return Deno.createHttpClient({
      caCerts: this.conn.caPem ? [this.conn.caPem] : undefined,
      cert,
      key,
      proxy: this.conn.proxy,
      // HTTP/1.1: HTTP/2 was no faster for writes against kube-apiserver on Deno 2.9.5 (a POST: 3.2 ms
      // p50 over HTTP/2, 3.0 ms over HTTP/1.1, measured here), and over HTTP/1.1 each watch has a
      // connection of its own, so a connection that dies takes one watch with it, not all of them.
      http2: false,
    });
  }
}

/** A typed client for one cluster connection. */
export class KubeClient {
  readonly #transport: Transport;
  /** Undefined when the client does not throttle itself. */
  readonly #bucket: TokenBucket | undefined;
  readonly #inFlight: Semaphore;
  readonly #opts: Required<Omit<ClientOptions, "onRequest">> & Pick<ClientOptions, "onRequest">;
  readonly #impersonate?: Impersonation;

  constructor(
    conn: ClusterConnection,
    opts: ClientOptions = {},
    impersonate?: Impersonation,
    http?: Deno.HttpClient | Transport,
  ) {
    this.#transport = http instanceof Transport ? http : new Transport(conn, http);
    this.#opts = {
      qps: opts.qps ?? 50,
      burst: opts.burst ?? 100,
      userAgent: opts.userAgent ?? "cloudshell-operator",
      fieldManager: opts.fieldManager ?? "cloudshell-operator",
      requestTimeoutMs: opts.requestTimeoutMs ?? 30_000,
      maxInFlight: opts.maxInFlight ?? 32,
      onRequest: opts.onRequest,
      retry: opts.retry ?? DEFAULT_RETRY,
    };
    this.#bucket = this.#opts.qps < 0 ? undefined : new TokenBucket(this.#opts.qps, this.#opts.burst);
    this.#inFlight = new Semaphore(this.#opts.maxInFlight);
    // The kubeconfig's `as` unless this client was made to act as someone else.
    this.#impersonate = impersonate ?? conn.impersonate;
  }

  /** The API server URL. */
  get server(): string {
    return this.#transport.conn.server;
  }

  /**
   * A client that acts as another user (for RBAC checks), sharing the connection pool: a user name with its
   * groups, or a whole identity (UID and extra values too).
   */
  impersonating(who: string | Impersonation, groups: string[] = [], opts: ClientOptions = {}): KubeClient {
    return new KubeClient(
      this.#transport.conn,
      { ...this.#opts, ...opts },
      typeof who === "string" ? { user: who, groups } : who,
      this.#transport,
    );
  }

  /**
   * A client with its own throttle and in-flight slots over the same connections, like client-go's
   * separate rest config for the leader-election client: its requests never queue behind this one's.
   */
  withOwnLimits(opts: ClientOptions = {}): KubeClient {
    return new KubeClient(
      this.#transport.conn,
      { ...this.#opts, ...opts },
      this.#impersonate,
      this.#transport,
    );
  }

  /** Closes idle connections; the client, and every client made from it, is unusable afterwards. */
  close(): void {
    this.#transport.close();
  }

  /** Reads one object. */
  get<T extends KubeObject>(type: ResourceType, namespace: string | undefined, name: string): Promise<T> {
    return this.#json<T>({ method: "GET", path: objectPath(type, namespace, name), resource: type.plural });
  }

  /** Lists one page of objects. */
  list<T extends KubeObject>(type: ResourceType, opts: ListOptions = {}): Promise<ObjectList<T>> {
    return this.#json<ObjectList<T>>({
      method: "GET",
      path: collectionPath(type, opts.namespace),
      query: {
        labelSelector: opts.labelSelector,
        fieldSelector: opts.fieldSelector,
        limit: opts.limit,
        continue: opts.continue,
        resourceVersion: opts.resourceVersion,
      },
      signal: opts.signal,
      resource: type.plural,
    });
  }

  /** Creates an object in `obj.metadata.namespace`. */
  create<T extends KubeObject>(
    type: ResourceType,
    obj: T,
    opts: { dryRun?: boolean; retry?: RetryPolicy } = {},
  ): Promise<T> {
    return this.#json<T>({
      method: "POST",
      path: collectionPath(type, obj.metadata.namespace),
      query: { fieldManager: this.#opts.fieldManager, dryRun: opts.dryRun ? "All" : undefined },
      body: obj,
      resource: type.plural,
      retry: opts.retry,
    });
  }

  /** Replaces an object (optimistic concurrency through `metadata.resourceVersion`). */
  update<T extends KubeObject>(type: ResourceType, obj: T, opts: { subresource?: string } = {}): Promise<T> {
    const name = obj.metadata.name;
    if (!name) throw new Error(`Cannot update a ${type.kind} without a name`);
    return this.#json<T>({
      method: "PUT",
      path: objectPath(type, obj.metadata.namespace, name, opts.subresource),
      query: { fieldManager: this.#opts.fieldManager },
      body: obj,
      resource: type.plural,
    });
  }

  /** Patches an object. */
  patch<T extends KubeObject>(
    type: ResourceType,
    namespace: string | undefined,
    name: string,
    patch: unknown,
    patchType: PatchType,
    opts: { subresource?: string; force?: boolean } = {},
  ): Promise<T> {
    return this.#json<T>({
      method: "PATCH",
      path: objectPath(type, namespace, name, opts.subresource),
      query: { fieldManager: this.#opts.fieldManager, force: opts.force },
      body: patch,
      contentType: PATCH_CONTENT_TYPES[patchType],
      resource: type.plural,
    });
  }

  /** Deletes an object; NotFound is an error, let the caller decide. */
  async delete(
    type: ResourceType,
    namespace: string | undefined,
    name: string,
    opts: { propagationPolicy?: "Background" | "Foreground" | "Orphan"; uid?: string } = {},
  ): Promise<void> {
    const body = {
      kind: "DeleteOptions",
      apiVersion: "v1",
      propagationPolicy: opts.propagationPolicy,
      preconditions: opts.uid ? { uid: opts.uid } : undefined,
    };
    await this.#json({
      method: "DELETE",
      path: objectPath(type, namespace, name),
      body,
      resource: type.plural,
    });
  }

  /** Streams watch events until the server ends the watch or the signal aborts. */
  async *watch<T extends KubeObject>(type: ResourceType, opts: WatchOptions): AsyncGenerator<WatchEvent<T>> {
    const res = await this.request({
      method: "GET",
      path: collectionPath(type, opts.namespace),
      query: {
        watch: true,
        allowWatchBookmarks: true,
        resourceVersion: opts.resourceVersion,
        labelSelector: opts.labelSelector,
        fieldSelector: opts.fieldSelector,
        timeoutSeconds: opts.timeoutSeconds,
      },
      signal: opts.signal,
      noTimeout: true,
      resource: type.plural,
    });
    if (!res.ok) throw await errorFromResponse(res, `watch ${type.plural}`);
    if (!res.body) return;
    yield* readJsonLines<WatchEvent<T>>(res.body, opts.signal);
  }

  /**
   * Sends a request and returns the raw response (errors are not thrown for HTTP codes). A 401 to a
   * credential that can be refreshed is retried once with a fresh one; 429 and 5xx as the retry policy says.
   * The request's timeout goes on while the caller reads the body.
   */
  async request(req: RawRequest): Promise<Response> {
    return await this.#exchange(req, (res) => Promise.resolve(res), false);
  }

  /**
   * Sends `req` and hands the response to `read` within the request's timeout. With `settle`, the timeout is
   * called off once `read` is done, rather than left to fire (cancellable_timeout.ts).
   */
  async #exchange<T>(req: RawRequest, read: (res: Response) => Promise<T>, settle: boolean): Promise<T> {
    const url = this.#url(req);
    const body = req.body === undefined ? undefined : JSON.stringify(req.body);
    const policy = req.retry ?? (req.noTimeout ? NO_RETRY : this.#opts.retry);
    const deadline = req.noTimeout ? Infinity : Date.now() + this.#opts.requestTimeoutMs;
    const timeout = req.noTimeout ? undefined : cancellableTimeout(this.#opts.requestTimeoutMs, "request");
    const signals = [req.signal, timeout?.signal].filter((s): s is AbortSignal => s !== undefined);
    const signal = signals.length > 1 ? AbortSignal.any(signals) : signals[0];
    try {
      return await read(await this.#sendWithRetries(req, url, body, policy, deadline, signal));
    } finally {
      if (settle) timeout?.clear();
    }
  }

  /** Sends until the answer is final: retried as `policy` says while `deadline` allows. */
  async #sendWithRetries(
    req: RawRequest,
    url: URL,
    body: string | undefined,
    policy: RetryPolicy,
    deadline: number,
    signal: AbortSignal | undefined,
  ): Promise<Response> {
    let refreshed = false;
    for (let attempt = 1;; attempt++) {
      const cred = await this.#transport.conn.credentials?.get();
      let res: Response;
      try {
        res = await this.#sendOnce(req, url, body, cred, signal);
      } catch (err) {
        const wait = retryDelayMs(policy, attempt, 0, null);
        if (wait === undefined || signal?.aborted || Date.now() + wait >= deadline) throw err;
        await abortableSleep(wait, signal);
        continue;
      }
      if (res.status === 401 && cred && !refreshed && this.#transport.conn.credentials?.rejected(cred)) {
        // client-go: a 401 means the token expired or was revoked; ask for a new one and try once more.
        refreshed = true;
        await res.body?.cancel();
        attempt--;
        continue;
      }
      const wait = retryDelayMs(policy, attempt, res.status, res.headers.get("Retry-After"));
      if (wait === undefined || Date.now() + wait >= deadline) return res;
      await res.body?.cancel();
      await abortableSleep(wait, signal);
    }
  }

  #url(req: RawRequest): URL {
    // A server URL may carry a path (a proxy in front of several clusters): every request goes below it.
    const url = new URL(`${this.#transport.conn.server}${req.path}`);
    for (const [k, v] of Object.entries(req.query ?? {})) {
      if (v !== undefined && v !== "") url.searchParams.set(k, String(v));
    }
    return url;
  }

  async #sendOnce(
    req: RawRequest,
    url: URL,
    body: string | undefined,
    cred: Credential | undefined,
    signal: AbortSignal | undefined,
  ): Promise<Response> {
    const conn = this.#transport.conn;
    const headers = new Headers(req.headers);
    headers.set("User-Agent", this.#opts.userAgent);
    if (!headers.has("Accept")) headers.set("Accept", "application/json");
    if (conn.disableCompression) headers.set("Accept-Encoding", "identity");
    if (body !== undefined) headers.set("Content-Type", req.contentType ?? "application/json");
    if (cred?.token) headers.set("Authorization", `Bearer ${cred.token}`);
    else if (this.#transport.basicAuthorization) {
      headers.set("Authorization", this.#transport.basicAuthorization);
    }
    await this.#bucket?.take(signal);
    // Watches stream for minutes: they must not hold one of the slots of ordinary requests.
    const release = req.noTimeout ? () => {} : await this.#inFlight.acquire();
    const started = performance.now();
    let code = 0;
    try {
      const res = await fetch(url, {
        method: req.method,
        // Pairs, not a Headers object: fetch joins a Headers object's repeated names into one "a, b" line,
        // which the API server would read as one group (or extra value) named "a, b".
        headers: [...headers, ...(this.#impersonate ? impersonationHeaders(this.#impersonate) : [])],
        body,
        signal,
        client: this.#transport.httpFor(cred),
      });
      code = res.status;
      return res;
    } finally {
      release();
      this.#opts.onRequest?.({
        method: req.method,
        resource: req.resource ?? req.path,
        code,
        durationMs: performance.now() - started,
      });
    }
  }

  async #json<T>(req: RawRequest): Promise<T> {
    return await this.#exchange(req, async (res) => {
      if (!res.ok) throw await errorFromResponse(res, `${req.method} ${req.path}`, req.resource);
      return await res.json() as T;
    }, true);
  }
}

/**
 * client-go's impersonation headers, one per group and per extra value (the API server reads each line as
 * one value); extra keys are percent-encoded as the API server expects.
 */
export function impersonationHeaders(who: Impersonation): [string, string][] {
  const headers: [string, string][] = [["Impersonate-User", who.user]];
  if (who.uid) headers.push(["Impersonate-Uid", who.uid]);
  for (const g of who.groups ?? []) headers.push(["Impersonate-Group", g]);
  for (const [key, values] of Object.entries(who.extra ?? {})) {
    for (const v of values) headers.push([`Impersonate-Extra-${encodeURIComponent(key)}`, v]);
  }
  return headers;
}

/**
 * Splits a byte stream into newline-delimited JSON values. Ends when the stream does, or when `signal`
 * aborts: the reader is cancelled then, because an aborted fetch does not always end its body, and a pending
 * read would otherwise wait forever (seen in the benchmark, where informers stopped mid-watch never returned).
 *
 * The bytes are decoded here, not piped through a TextDecoderStream: every watch event of every informer
 * passes through this loop, and a transform stream costs several promise hops per chunk (about 5% of the
 * operator's CPU in a profiled 1,000-shell burst).
 */
export async function* readJsonLines<T>(
  body: ReadableStream<Uint8Array>,
  signal?: AbortSignal,
): AsyncGenerator<T> {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  const cancel = () => void reader.cancel(signal?.reason).catch(() => {});
  signal?.addEventListener("abort", cancel, { once: true });
  let buffer = "";
  try {
    while (true) {
      if (signal?.aborted) throw signal.reason;
      const { value, done } = await reader.read();
      if (signal?.aborted) throw signal.reason;
      if (done) break;
      buffer += decoder.decode(value, { stream: true });
      let nl: number;
      while ((nl = buffer.indexOf("\n")) >= 0) {
        const line = buffer.slice(0, nl).trim();
        buffer = buffer.slice(nl + 1);
        if (line) yield JSON.parse(line) as T;
      }
    }
    buffer += decoder.decode();
    if (buffer.trim()) yield JSON.parse(buffer) as T;
  } finally {
    signal?.removeEventListener("abort", cancel);
    // Not awaited: cancelling a body whose fetch was aborted may never settle.
    void reader.cancel().catch(() => {});
  }
}
