/**
 * An HTTP CONNECT proxy on loopback, as a kubeconfig's `proxy-url` names one: it records every tunnel it
 * opens and can freeze the open ones (bytes stop flowing, no connection closes), which is what a NAT or
 * load balancer that drops a connection looks like to both ends. Tunnels go to loopback only.
 */

/** A running proxy; dispose of it to stop it. */
export class ConnectProxy implements AsyncDisposable {
  /** `host:port` of every CONNECT, in order. */
  readonly tunnels: string[] = [];
  readonly #listener: Deno.TcpListener;
  readonly #open = new Set<{ frozen: boolean; close(): void }>();
  readonly #accepting: Promise<void>;

  private constructor(listener: Deno.TcpListener) {
    this.#listener = listener;
    this.#accepting = this.#accept();
  }

  /** Starts a proxy on a free loopback port. */
  static start(): ConnectProxy {
    return new ConnectProxy(Deno.listen({ hostname: "127.0.0.1", port: 0 }));
  }

  /** `http://127.0.0.1:<port>`, for `proxy-url`. */
  get url(): string {
    return `http://127.0.0.1:${(this.#listener.addr as Deno.NetAddr).port}`;
  }

  /** Stops forwarding on every tunnel open now, keeping the connections open; new tunnels work. */
  freezeOpenTunnels(): number {
    for (const t of this.#open) t.frozen = true;
    return this.#open.size;
  }

  async #accept(): Promise<void> {
    for await (const conn of this.#listener) void this.#serve(conn).catch(() => conn.close());
  }

  async #serve(client: Deno.TcpConn): Promise<void> {
    const head = await readHead(client);
    const target = /^CONNECT (\S+) HTTP\/1\.[01]\r\n/.exec(head.text)?.[1];
    const [host, port] = target ? splitHostPort(target) : [undefined, undefined];
    if (!host || !port || !(host === "localhost" || host.startsWith("127.") || host === "[::1]")) {
      await client.write(new TextEncoder().encode("HTTP/1.1 403 Forbidden\r\n\r\n"));
      client.close();
      return;
    }
    this.tunnels.push(target!);
    const upstream = await Deno.connect({ hostname: host.replace(/^\[|\]$/g, ""), port });
    await client.write(new TextEncoder().encode("HTTP/1.1 200 Connection established\r\n\r\n"));
    if (head.rest.length) await upstream.write(head.rest);
    const tunnel = {
      frozen: false,
      close: () => {
        for (const c of [client, upstream]) {
          try {
            c.close();
          } catch {
            // Already closed.
          }
        }
      },
    };
    this.#open.add(tunnel);
    const pipe = async (from: Deno.TcpConn, to: Deno.TcpConn) => {
      const buf = new Uint8Array(64 * 1024);
      while (true) {
        const n = await from.read(buf);
        if (n === null) break;
        // Frozen: swallow the bytes, as a dead path would, and never close.
        if (tunnel.frozen) continue;
        let off = 0;
        while (off < n) off += await to.write(buf.subarray(off, n));
      }
    };
    await Promise.race([pipe(client, upstream), pipe(upstream, client)]).catch(() => {});
    if (!tunnel.frozen) {
      this.#open.delete(tunnel);
      tunnel.close();
    }
  }

  async [Symbol.asyncDispose](): Promise<void> {
    this.#listener.close();
    await this.#accepting.catch(() => {});
    for (const t of this.#open) t.close();
    this.#open.clear();
  }
}

/** Reads up to the end of the request head; returns it and whatever bytes came after it. */
async function readHead(conn: Deno.TcpConn): Promise<{ text: string; rest: Uint8Array }> {
  let data = new Uint8Array(0);
  const buf = new Uint8Array(4096);
  while (data.length < 16_384) {
    const n = await conn.read(buf);
    if (n === null) break;
    const next = new Uint8Array(data.length + n);
    next.set(data);
    next.set(buf.subarray(0, n), data.length);
    data = next;
    const text = new TextDecoder().decode(data);
    const end = text.indexOf("\r\n\r\n");
    if (end >= 0) {
      const headBytes = new TextEncoder().encode(text.slice(0, end + 4)).length;
      return { text: text.slice(0, end + 4), rest: data.subarray(headBytes) };
    }
  }
  return { text: "", rest: new Uint8Array(0) };
}

function splitHostPort(target: string): [string, number] {
  const i = target.lastIndexOf(":");
  return [target.slice(0, i), Number(target.slice(i + 1))];
}
