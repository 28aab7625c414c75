/**
 * `kubectl port-forward` for one pod port, through the API server: a listener on 127.0.0.1 (never beyond
 * loopback), and for each connection to it one `pods/portforward` WebSocket with the kubelet's channel
 * protocol (`v4.channel.k8s.io`): channel 0 carries the data, channel 1 the kubelet's errors, and the
 * first message on each says the port (2 bytes, little-endian). Kubernetes' own authentication and RBAC
 * decide who gets through: the request carries the kubeconfig's credentials, exactly as the client's.
 */
import { type ClusterConnection, type Credential, impersonationHeaders } from "../controller/kube/mod.ts";
import { HandshakeError, WebSocketConnection } from "./websocket.ts";

export const PORT_FORWARD_PROTOCOL = "v4.channel.k8s.io";
const DATA = 0;
const ERROR = 1;

/** Why a forward could not be opened, with the API server's own message when it gave one. */
export class PortForwardError extends Error {
  /** HTTP status of the refusal (403: no right to pods/portforward), or 0. */
  readonly status: number;
  constructor(message: string, status = 0) {
    super(message);
    this.name = "PortForwardError";
    this.status = status;
  }
}

/** The pod port to reach. */
export interface ForwardTarget {
  namespace: string;
  pod: string;
  port: number;
}

/** Opens one stream to the pod port: a WebSocket on which `pipe` carries a connection's bytes. */
export async function dialPortForward(
  conn: ClusterConnection,
  target: ForwardTarget,
  userAgent: string,
): Promise<WebSocketConnection> {
  if (conn.proxy) {
    throw new PortForwardError("port-forward through the kubeconfig's proxy-url is not supported");
  }
  const server = new URL(conn.server);
  const path = `${server.pathname.replace(/\/+$/, "")}/api/v1/namespaces/${
    encodeURIComponent(target.namespace)
  }/pods/${encodeURIComponent(target.pod)}/portforward?ports=${target.port}`;
  for (let attempt = 0;; attempt++) {
    const cred = await conn.credentials?.get();
    const socket = await connect(server, conn, cred);
    try {
      return await WebSocketConnection.open(socket, {
        path,
        host: server.host,
        protocols: [PORT_FORWARD_PROTOCOL],
        headers: requestHeaders(conn, cred, userAgent),
      });
    } catch (err) {
      if (!(err instanceof HandshakeError)) throw err;
      // client-go: a 401 to a refreshable credential means it expired; fetch a new one and try once more.
      if (err.status === 401 && cred && attempt === 0 && conn.credentials?.rejected(cred)) continue;
      throw new PortForwardError(refusal(err), err.status);
    }
  }
}

/** The API server's message from a refusal (a metav1.Status as JSON), else the HTTP status. */
function refusal(err: HandshakeError): string {
  const json = /\{[^]*\}/.exec(err.body)?.[0];
  try {
    const status = JSON.parse(json ?? "") as { message?: string };
    if (status.message) return status.message;
  } catch {
    // Not a Status.
  }
  return err.message;
}

async function connect(
  server: URL,
  conn: ClusterConnection,
  cred: Credential | undefined,
): Promise<Deno.Conn> {
  const hostname = server.hostname.replace(/^\[|\]$/g, "");
  const secure = server.protocol === "https:";
  const port = Number(server.port) || (secure ? 443 : 80);
  if (!secure) return await Deno.connect({ hostname, port });
  // An exec plugin's certificate replaces the kubeconfig's, as in the client.
  const cert = cred?.clientCertPem ?? conn.clientCertPem;
  const key = cred?.clientKeyPem ?? conn.clientKeyPem;
  return await Deno.connectTls({
    hostname,
    port,
    caCerts: conn.caPem ? [conn.caPem] : undefined,
    ...(cert && key ? { cert, key } : {}),
    alpnProtocols: ["http/1.1"],
  });
}

/** Authorization and impersonation as the client sends them (controller/kube/client.ts). */
function requestHeaders(
  conn: ClusterConnection,
  cred: Credential | undefined,
  userAgent: string,
): [string, string][] {
  const headers: [string, string][] = [["User-Agent", userAgent]];
  if (cred?.token) headers.push(["Authorization", `Bearer ${cred.token}`]);
  else if (conn.basicAuth) {
    const raw = new TextEncoder().encode(`${conn.basicAuth.username}:${conn.basicAuth.password}`);
    headers.push(["Authorization", `Basic ${btoa(String.fromCharCode(...raw))}`]);
  }
  if (conn.impersonate) headers.push(...impersonationHeaders(conn.impersonate));
  return headers;
}

/**
 * Copies bytes between a local connection and a port-forward WebSocket until either side ends, then
 * closes both. The kubelet's error message, if it sends one, is passed to `onError`.
 */
export async function pipe(
  local: Deno.Conn,
  ws: WebSocketConnection,
  onError: (message: string) => void,
): Promise<void> {
  const seenPort = new Set<number>();
  const fromPod = (async () => {
    const writer = local.writable.getWriter();
    try {
      while (true) {
        const message = await ws.read();
        if (!message || message.data.length === 0) break;
        const channel = message.data[0];
        let data = message.data.subarray(1);
        // The first message of each channel is the port number, not data.
        if (!seenPort.has(channel)) {
          seenPort.add(channel);
          data = data.subarray(2);
        }
        if (data.length === 0) continue;
        if (channel === DATA) await writer.write(data);
        else if (channel === ERROR) onError(new TextDecoder().decode(data).trim());
      }
    } finally {
      await writer.close().catch(() => {});
    }
  })();
  const toPod = (async () => {
    const reader = local.readable.getReader();
    try {
      while (true) {
        const { value, done } = await reader.read();
        if (done) break;
        const message = new Uint8Array(value.length + 1);
        message[0] = DATA;
        message.set(value, 1);
        await ws.send(message);
      }
    } finally {
      reader.releaseLock();
    }
  })();
  // Either direction ending ends the stream: ttyd's WebSocket lives inside it, so half-open is no use.
  await Promise.race([fromPod.catch(() => {}), toPod.catch(() => {})]);
  await ws.close();
  try {
    local.close();
  } catch {
    // Already closed.
  }
  await Promise.allSettled([fromPod, toPod]);
}

/** A local port forwarding to a pod port; close it to stop listening (open streams end with it). */
export class LocalForward {
  readonly port: number;
  readonly #listener: Deno.Listener;
  readonly #open = new Set<Deno.Conn>();
  readonly done: Promise<void>;

  /**
   * Listens on 127.0.0.1:`localPort` (0: any free port). Each connection opens its own stream; `onError`
   * hears why one could not be opened or ended with an error.
   */
  constructor(
    localPort: number,
    dial: () => Promise<WebSocketConnection>,
    onError: (err: Error) => void,
  ) {
    this.#listener = Deno.listen({ hostname: "127.0.0.1", port: localPort });
    this.port = (this.#listener.addr as Deno.NetAddr).port;
    this.done = this.#serve(dial, onError);
  }

  async #serve(dial: () => Promise<WebSocketConnection>, onError: (err: Error) => void): Promise<void> {
    try {
      for await (const local of this.#listener) {
        this.#open.add(local);
        (async () => {
          try {
            const ws = await dial();
            await pipe(local, ws, (message) => onError(new PortForwardError(message)));
          } catch (err) {
            onError(err as Error);
            try {
              local.close();
            } catch {
              // Already closed.
            }
          } finally {
            this.#open.delete(local);
          }
        })();
      }
    } catch {
      // The listener was closed.
    }
  }

  /** Stops listening and ends every open stream. */
  async close(): Promise<void> {
    try {
      this.#listener.close();
    } catch {
      // Already closed.
    }
    for (const conn of this.#open) {
      try {
        conn.close();
      } catch {
        // Already closed.
      }
    }
    await this.done;
  }
}
