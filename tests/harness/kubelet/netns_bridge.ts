/**
 * Runs inside a pod's network namespace (started by sandbox.sh), where only
 * loopback exists, and connects it to the host through unix sockets, which
 * the file system shares across network namespaces:
 *
 * - in: `SOCKETS/ports.sock` accepts a connection, reads one line naming a
 *   port, dials 127.0.0.1:PORT in the pod, answers `ok` (or closes when
 *   nothing listens there) and then copies bytes both ways. The stand-in
 *   serves NodePorts and runs probes through it.
 * - out: 127.0.0.1:API_PORT in the pod is copied to `SOCKETS/api.sock`, where
 *   the stand-in's host side dials the real API server on the same port. So
 *   KUBERNETES_SERVICE_HOST/PORT mean the same address inside and outside.
 *
 * Usage: deno run --allow-net --allow-read --allow-write netns_bridge.ts SOCKETS API_PORT
 */
import { splice } from "./tunnel.ts";

const [sockets, apiPort] = Deno.args;
const encoder = new TextEncoder();

/** Reads bytes up to and including the first newline (the client sends nothing more before our answer). */
async function readLine(conn: Deno.Conn): Promise<string | undefined> {
  const buf = new Uint8Array(64);
  let line = "";
  while (line.length < 64) {
    const n = await conn.read(buf);
    if (n === null) return undefined;
    line += new TextDecoder().decode(buf.subarray(0, n));
    const nl = line.indexOf("\n");
    if (nl >= 0) return line.slice(0, nl);
  }
  return undefined;
}

async function inward(conn: Deno.Conn): Promise<void> {
  const port = Number(await readLine(conn).catch(() => undefined));
  let target: Deno.Conn;
  try {
    if (!(port > 0 && port < 65536)) throw new Error("bad port");
    target = await Deno.connect({ hostname: "127.0.0.1", port });
  } catch {
    conn.close();
    return;
  }
  await conn.write(encoder.encode("ok\n"));
  await splice(conn, target);
}

async function outward(conn: Deno.Conn): Promise<void> {
  let host: Deno.Conn;
  try {
    host = await Deno.connect({ transport: "unix", path: `${sockets}/api.sock` });
  } catch {
    conn.close();
    return;
  }
  await splice(conn, host);
}

const api = Deno.listen({ hostname: "127.0.0.1", port: Number(apiPort) });
// Listening on ports.sock last: its existence tells sandbox.sh that both directions work.
const ports = Deno.listen({ transport: "unix", path: `${sockets}/ports.sock` });
await Promise.all([
  (async () => {
    for await (const conn of api) outward(conn);
  })(),
  (async () => {
    for await (const conn of ports) inward(conn);
  })(),
]);
