/**
 * A recording reverse proxy in front of the API server, for proving which requests the operator makes.
 *
 * It listens on plain HTTP on loopback and forwards every request, with the caller's own `Authorization`
 * header, to the API server over TLS. It presents no client certificate of its own: the API server
 * authenticates the caller's bearer token and nothing else, so the caller's identity (and RBAC) is exactly
 * what it would be without the proxy. Watches are streamed through; a caller that hangs up cancels the
 * response body, which closes the upstream connection.
 */
import { type RequestAttributes, requestAttributes } from "./_rbac.ts";

/** One request that went through the proxy. */
export interface RecordedRequest {
  method: string;
  url: URL;
  /** What the API server authorized; undefined for non-resource paths. */
  attributes?: RequestAttributes;
  accept: string;
  /** The JSON body of a write, parsed. */
  body?: Record<string, unknown>;
  /** The API server's status code, 0 when it did not answer. */
  status: number;
}

const HOP_BY_HOP = [
  "connection",
  "keep-alive",
  "transfer-encoding",
  "te",
  "upgrade",
  "host",
  "content-length",
];

/** A running recording proxy; dispose of it to stop it. */
export class RecordingProxy implements AsyncDisposable {
  readonly requests: RecordedRequest[] = [];
  readonly #server: Deno.HttpServer<Deno.NetAddr>;
  readonly #client: Deno.HttpClient;
  readonly #upstream: string;

  private constructor(upstream: string, caPem: string | undefined) {
    this.#upstream = upstream;
    this.#client = Deno.createHttpClient({ caCerts: caPem ? [caPem] : undefined, http2: false });
    this.#server = Deno.serve(
      { hostname: "127.0.0.1", port: 0, onListen: () => {} },
      (req) => this.#forward(req),
    );
  }

  /** Starts a proxy to the API server at `upstream`, trusting `caPem`. */
  static start(upstream: string, caPem: string | undefined): RecordingProxy {
    return new RecordingProxy(upstream, caPem);
  }

  /** The URL to give clients instead of the API server's. */
  get url(): string {
    return `http://127.0.0.1:${this.#server.addr.port}`;
  }

  async #forward(req: Request): Promise<Response> {
    const url = new URL(req.url);
    const record: RecordedRequest = {
      method: req.method,
      url,
      attributes: requestAttributes(req.method, url),
      accept: req.headers.get("accept") ?? "",
      status: 0,
    };
    this.requests.push(record);
    const headers = new Headers(req.headers);
    for (const h of HOP_BY_HOP) headers.delete(h);
    // Uncompressed answers, so the body can be passed on as it comes.
    headers.delete("accept-encoding");
    let body: ArrayBuffer | undefined;
    if (req.method !== "GET" && req.method !== "HEAD") {
      body = await req.arrayBuffer();
      try {
        record.body = JSON.parse(new TextDecoder().decode(body));
      } catch {
        // Not JSON: recorded without a body.
      }
    }
    try {
      const res = await fetch(new URL(url.pathname + url.search, this.#upstream), {
        method: req.method,
        headers,
        body,
        client: this.#client,
        redirect: "manual",
      });
      record.status = res.status;
      const out = new Headers(res.headers);
      for (const h of [...HOP_BY_HOP, "content-encoding"]) out.delete(h);
      return new Response(res.body, { status: res.status, headers: out });
    } catch (err) {
      return new Response(`proxy: ${(err as Error).message}`, { status: 502 });
    }
  }

  /** Stops listening and closes connections. */
  async [Symbol.asyncDispose](): Promise<void> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise((resolve) => timer = setTimeout(resolve, 5_000));
    await Promise.race([this.#server.shutdown(), timeout]);
    clearTimeout(timer);
    this.#client.close();
  }
}
