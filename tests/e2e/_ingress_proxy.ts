/**
 * A stand-in for an ingress controller, on loopback: it routes each request by its Host header and path to
 * a backend, as an Ingress rule says (the longest matching path prefix of the rule for that host, or of a
 * rule without a host), takes the prefix off the path (the rewrite the operator asks for) and passes the
 * Host, Origin and Authorization headers through, as ingress-nginx does. WebSocket upgrades are spliced.
 * Every request gets its own upstream connection (`Connection: close` both ways), so a browser never sends a
 * second request down a connection routed for the first.
 *
 * A route's target is a backend (`host:port`) or a page the proxy serves itself: the attacker's own page,
 * which in a cluster their image would serve (spec.image is theirs; the kubelet stand-in ignores images).
 */

/** One path of one rule. */
export interface ProxyRoute {
  /** The rule's host; undefined matches every host. */
  host?: string;
  /** The path prefix (Ingress `pathType: Prefix`). */
  path: string;
  /** `host:port` of the backend, or a page to serve. */
  target: string | { page: string };
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** A running stand-in; dispose of it to stop it. */
export class IngressProxy implements AsyncDisposable {
  /** Each request as `host path -> target`, for failure messages. */
  readonly requests: string[] = [];
  readonly #listener: Deno.TcpListener;
  readonly #routes: () => Promise<ProxyRoute[]>;
  readonly #accepting: Promise<void>;
  readonly #open = new Set<Deno.Conn>();

  private constructor(listener: Deno.TcpListener, routes: () => Promise<ProxyRoute[]>) {
    this.#listener = listener;
    this.#routes = routes;
    this.#accepting = this.#accept();
  }

  /** Starts on a free loopback port; `routes` is asked on every request (the Ingresses as they are now). */
  static start(routes: () => Promise<ProxyRoute[]>): IngressProxy {
    return new IngressProxy(Deno.listen({ hostname: "127.0.0.1", port: 0 }), routes);
  }

  /** The port browsers reach it on (their host names map to 127.0.0.1). */
  get port(): number {
    return (this.#listener.addr as Deno.NetAddr).port;
  }

  async #accept(): Promise<void> {
    for await (const conn of this.#listener) {
      this.#open.add(conn);
      void this.#serve(conn).catch(() => {}).finally(() => {
        this.#open.delete(conn);
        try {
          conn.close();
        } catch { /* closed */ }
      });
    }
  }

  async #serve(client: Deno.Conn): Promise<void> {
    const { head, rest } = await readHead(client);
    if (head === undefined) return;
    const [requestLine, ...headerLines] = head.split("\r\n");
    const [method, target, version] = requestLine.split(" ");
    const header = (name: string) =>
      headerLines.find((l) => l.toLowerCase().startsWith(`${name}:`))?.slice(name.length + 1).trim();
    const host = (header("host") ?? "").replace(/:\d+$/, "");
    const path = target.split("?")[0];
    const route = pick(await this.#routes(), host, path);
    this.requests.push(`${host} ${path} -> ${route ? JSON.stringify(route.target) : "404"}`);
    if (!route) return await writeAll(client, response(404, "no rule for this host and path"));
    if (typeof route.target !== "string") {
      return await writeAll(client, response(200, route.target.page, "text/html"));
    }

    // The prefix comes off; what follows it (or `/`) goes to the backend.
    const upstreamTarget = (target.slice(route.path.length).replace(/^(?=[^/])/, "/")) || "/";
    const upgrade = /upgrade/i.test(header("connection") ?? "");
    const lines = headerLines.filter((l) => upgrade || !/^(connection|keep-alive):/i.test(l));
    if (!upgrade) lines.push("Connection: close");
    const [hostname, port] = route.target.split(":");
    const upstream = await Deno.connect({ hostname, port: Number(port) });
    this.#open.add(upstream);
    try {
      await writeAll(
        upstream,
        encoder.encode(`${method} ${upstreamTarget} ${version}\r\n${lines.join("\r\n")}\r\n\r\n`),
      );
      if (rest.length) await writeAll(upstream, rest);
      await Promise.all([
        client.readable.pipeTo(upstream.writable, { preventClose: true }).catch(() => {}),
        upstream.readable.pipeTo(client.writable, { preventClose: true }).catch(() => {}),
      ].map((p) =>
        p.finally(() => {
          // One side is done: so is the exchange (a response read to its end, or a socket closed).
          for (const c of [client, upstream]) {
            try {
              c.close();
            } catch { /* closed */ }
          }
        })
      ));
    } finally {
      this.#open.delete(upstream);
    }
  }

  async [Symbol.asyncDispose](): Promise<void> {
    this.#listener.close();
    for (const conn of this.#open) {
      try {
        conn.close();
      } catch { /* closed */ }
    }
    await this.#accepting.catch(() => {});
  }
}

/** The route for a request: rules for its host first, then rules without a host; longest prefix wins. */
function pick(routes: ProxyRoute[], host: string, path: string): ProxyRoute | undefined {
  const matches = (r: ProxyRoute) => path === r.path || path.startsWith(`${r.path.replace(/\/$/, "")}/`);
  const byLength = (a: ProxyRoute, b: ProxyRoute) => b.path.length - a.path.length;
  return routes.filter((r) => r.host === host && matches(r)).sort(byLength)[0] ??
    routes.filter((r) => r.host === undefined && matches(r)).sort(byLength)[0];
}

/** Reads up to the end of a request's head; returns the head and any bytes read after it. */
async function readHead(conn: Deno.Conn): Promise<{ head?: string; rest: Uint8Array }> {
  let buffered = new Uint8Array(0);
  const chunk = new Uint8Array(16_384);
  while (buffered.length < 65_536) {
    const n = await conn.read(chunk);
    if (n === null) return { rest: buffered };
    const next = new Uint8Array(buffered.length + n);
    next.set(buffered);
    next.set(chunk.subarray(0, n), buffered.length);
    buffered = next;
    const end = decoder.decode(buffered).indexOf("\r\n\r\n");
    if (end >= 0) {
      const headBytes = encoder.encode(decoder.decode(buffered).slice(0, end)).length;
      return {
        head: decoder.decode(buffered.subarray(0, headBytes)),
        rest: buffered.subarray(headBytes + 4),
      };
    }
  }
  return { rest: buffered };
}

function response(status: number, body: string, type = "text/plain"): Uint8Array {
  const bytes = encoder.encode(body);
  const reason = status === 200 ? "OK" : "Not Found";
  return encoder.encode(
    `HTTP/1.1 ${status} ${reason}\r\nContent-Type: ${type}; charset=utf-8\r\nContent-Length: ${bytes.length}\r\n` +
      `Connection: close\r\n\r\n${body}`,
  );
}

async function writeAll(conn: Deno.Conn, bytes: Uint8Array): Promise<void> {
  let written = 0;
  while (written < bytes.length) written += await conn.write(bytes.subarray(written));
}
