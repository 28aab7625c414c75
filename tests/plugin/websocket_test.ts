/**
 * The plugin's WebSocket client: frames byte for byte (RFC 6455's own examples), lengths at each encoding's
 * edge, frames cut anywhere in the stream, and the handshake against Deno's own WebSocket server (a large echo,
 * the closing handshake, a refusal with its body).
 */
import assert from "node:assert/strict";
import {
  acceptKey,
  encodeFrame,
  FrameDecoder,
  HandshakeError,
  Opcode,
  WebSocketConnection,
} from "../../plugin/websocket.ts";

const text = (s: string) => new TextEncoder().encode(s);

Deno.test("frames: RFC 6455's examples, masked and unmasked", () => {
  // RFC 6455 section 5.7: a single-frame unmasked text message "Hello", and the same masked.
  assert.deepEqual(
    [...encodeFrame({ fin: true, opcode: Opcode.text, payload: text("Hello") })],
    [0x81, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f],
  );
  const masked = encodeFrame(
    { fin: true, opcode: Opcode.text, payload: text("Hello") },
    new Uint8Array([0x37, 0xfa, 0x21, 0x3d]),
  );
  assert.deepEqual([...masked], [0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58]);
  const [frame] = new FrameDecoder().push(masked);
  assert.deepEqual(frame, { fin: true, opcode: Opcode.text, payload: text("Hello") });
});

Deno.test("frames: 7-bit, 16-bit and 64-bit lengths, cut at every byte", () => {
  for (const size of [0, 125, 126, 65535, 65536, 70_000]) {
    const payload = crypto.getRandomValues(new Uint8Array(Math.min(size, 65536))).slice(0, size);
    const full = new Uint8Array(size);
    full.set(payload);
    const bytes = encodeFrame(
      { fin: false, opcode: Opcode.binary, payload: full },
      new Uint8Array([1, 2, 3, 4]),
    );
    const header = size < 126 ? 2 : size < 65536 ? 4 : 10;
    assert.equal(bytes.length, header + 4 + size, `size ${size}`);
    const decoder = new FrameDecoder();
    // In three pieces, cut inside the header and inside the payload.
    const cuts = [1, header + 2, bytes.length];
    const frames = [];
    let from = 0;
    for (const cut of cuts) {
      frames.push(...decoder.push(bytes.subarray(from, cut)));
      from = cut;
    }
    assert.equal(frames.length, 1, `size ${size}`);
    assert.equal(frames[0].fin, false);
    assert.deepEqual(frames[0].payload, full);
  }
});

Deno.test("frames: two frames in one push, the second unfinished until the next", () => {
  const a = encodeFrame({ fin: true, opcode: Opcode.binary, payload: text("one") });
  const b = encodeFrame({ fin: true, opcode: Opcode.binary, payload: text("two") });
  const decoder = new FrameDecoder();
  const joined = new Uint8Array([...a, ...b.subarray(0, 3)]);
  assert.deepEqual(decoder.push(joined).map((f) => new TextDecoder().decode(f.payload)), ["one"]);
  assert.deepEqual(decoder.push(b.subarray(3)).map((f) => new TextDecoder().decode(f.payload)), ["two"]);
});

Deno.test("Sec-WebSocket-Accept: RFC 6455's example key", async () => {
  assert.equal(await acceptKey("dGhlIHNhbXBsZSBub25jZQ=="), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
});

Deno.test("against Deno's WebSocket server: subprotocol, a 120 kB echo, close; a refusal keeps its body", async () => {
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, (req) => {
    if (req.headers.get("Authorization") !== "Bearer good") {
      return Response.json({ kind: "Status", message: "forbidden: not you" }, { status: 403 });
    }
    const { socket, response } = Deno.upgradeWebSocket(req, { protocol: "v4.channel.k8s.io" });
    socket.binaryType = "arraybuffer";
    socket.onmessage = (e) => {
      const data = new Uint8Array(e.data as ArrayBuffer);
      if (data[0] === 0x63) socket.close(1000, "bye"); // "c"
      else socket.send(new Uint8Array([...data, ...data]));
    };
    return response;
  });
  const port = server.addr.port;
  const dial = () => Deno.connect({ hostname: "127.0.0.1", port });
  try {
    const refused = await WebSocketConnection.open(await dial(), {
      path: "/x",
      host: `127.0.0.1:${port}`,
      protocols: ["v4.channel.k8s.io"],
    }).catch((e) => e);
    assert.ok(refused instanceof HandshakeError);
    assert.equal(refused.status, 403);
    assert.match(refused.body, /forbidden: not you/);

    const ws = await WebSocketConnection.open(await dial(), {
      path: "/x?ports=1",
      host: `127.0.0.1:${port}`,
      protocols: ["v4.channel.k8s.io"],
      headers: [["Authorization", "Bearer good"]],
    });
    assert.equal(ws.protocol, "v4.channel.k8s.io");
    const big = crypto.getRandomValues(new Uint8Array(60_000));
    big[0] = 0;
    await ws.send(big);
    const echo = await ws.read();
    assert.equal(echo?.binary, true);
    assert.deepEqual(echo?.data, new Uint8Array([...big, ...big]));
    await ws.send(text("c"));
    assert.equal(await ws.read(), null, "the server's close ends the connection");
  } finally {
    await server.shutdown();
  }
});

Deno.test("a message in fragments with a ping between them: joined, and the ping answered", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const served = (async () => {
    const conn = await listener.accept();
    const buf = new Uint8Array(4096);
    const n = (await conn.read(buf))!;
    const key = /Sec-WebSocket-Key: (\S+)/i.exec(new TextDecoder().decode(buf.subarray(0, n)))![1];
    const frames = [
      encodeFrame({ fin: false, opcode: Opcode.text, payload: text("Hel") }),
      encodeFrame({ fin: true, opcode: Opcode.ping, payload: text("p") }),
      encodeFrame({ fin: true, opcode: Opcode.continuation, payload: text("lo") }),
    ];
    await conn.write(
      new Uint8Array([
        ...text(
          `HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
            `Sec-WebSocket-Accept: ${await acceptKey(key)}\r\n\r\n`,
        ),
        ...frames.flatMap((f) => [...f]),
      ]),
    );
    const decoder = new FrameDecoder();
    const answers = [];
    while (answers.length === 0) answers.push(...decoder.push(buf.subarray(0, (await conn.read(buf))!)));
    conn.close();
    return answers[0];
  })();
  const port = (listener.addr as Deno.NetAddr).port;
  const ws = await WebSocketConnection.open(await Deno.connect({ hostname: "127.0.0.1", port }), {
    path: "/",
    host: "x",
    protocols: [],
  });
  const message = await ws.read();
  assert.deepEqual(message, { binary: false, data: text("Hello") });
  const pong = await served;
  assert.deepEqual(pong, { fin: true, opcode: Opcode.pong, payload: text("p") });
  assert.equal(await ws.read(), null);
  listener.close();
});
