/**
 * The host's end of a pod's network bridge (netns_bridge.ts): a connection to
 * a port inside the pod's network namespace, and the copy loop shared by the
 * NodePort listeners and the API server bridge.
 */

const encoder = new TextEncoder();

/** Connects to 127.0.0.1:`port` inside the pod whose bridge listens on `socket`; rejects when nothing listens. */
export async function dialPod(socket: string, port: number): Promise<Deno.Conn> {
  const conn = await Deno.connect({ transport: "unix", path: socket });
  try {
    await conn.write(encoder.encode(`${port}\n`));
    // The bridge answers exactly "ok\n" once the inner connection is up, and closes otherwise.
    const answer = new Uint8Array(3);
    let got = 0;
    while (got < 3) {
      const n = await conn.read(answer.subarray(got));
      if (n === null) throw new Error(`nothing listens on port ${port} in the pod`);
      got += n;
    }
    if (new TextDecoder().decode(answer) !== "ok\n") {
      throw new Error("unexpected answer from the pod's bridge");
    }
    return conn;
  } catch (err) {
    conn.close();
    throw err;
  }
}

/**
 * Copies both ways until both directions end, then closes both connections. An end or error of one direction
 * only half-closes the other side's writing: pipeTo's default would cancel the source on a failed write, and
 * cancelling a connection's readable closes the whole connection, dropping what the other direction had not
 * yet delivered (a WebSocket's close frame, which the browser then saw as an abnormal close).
 */
export async function splice(a: Deno.Conn, b: Deno.Conn): Promise<void> {
  const options = { preventCancel: true, preventAbort: true };
  await Promise.all([
    a.readable.pipeTo(b.writable, options).catch(() => {}),
    b.readable.pipeTo(a.writable, options).catch(() => {}),
  ]);
  for (const c of [a, b]) {
    try {
      c.close();
    } catch {
      // Already closed by pipeTo.
    }
  }
}

/** Serves `listener` until it is closed, handing each connection to `handle` (errors close it). */
export async function serve(
  listener: Deno.Listener,
  handle: (conn: Deno.Conn) => Promise<void>,
): Promise<void> {
  try {
    for await (const conn of listener) {
      handle(conn).catch(() => {
        try {
          conn.close();
        } catch {
          // Already closed.
        }
      });
    }
  } catch {
    // The listener was closed.
  }
}
