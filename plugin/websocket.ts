/**
 * A small WebSocket client (RFC 6455) over any Deno connection. Deno's own WebSocket cannot present a
 * client certificate or trust a custom CA, which a kubeconfig asks for, so the caller opens the TLS
 * connection (Deno.connectTls takes both) and this module does the rest: the opening handshake, and
 * frames (client frames masked, fragmented messages joined, pings answered, the closing handshake).
 * It knows nothing of Kubernetes.
 */

const GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
const encoder = new TextEncoder();
const decoder = new TextDecoder();

export const Opcode = { continuation: 0, text: 1, binary: 2, close: 8, ping: 9, pong: 10 } as const;

/** One frame, as it travels. */
export interface Frame {
  fin: boolean;
  opcode: number;
  payload: Uint8Array;
}

/** A whole message (fragments joined). */
export interface Message {
  binary: boolean;
  data: Uint8Array;
}

/** The server answered the upgrade with something other than 101; `body` is what it said instead. */
export class HandshakeError extends Error {
  readonly status: number;
  readonly body: string;
  constructor(status: number, statusText: string, body: string) {
    super(`WebSocket upgrade refused: HTTP ${status} ${statusText}`.trim());
    this.name = "HandshakeError";
    this.status = status;
    this.body = body;
  }
}

/** Encodes one frame; `mask` (4 bytes) is required for frames a client sends. */
export function encodeFrame(frame: Frame, mask?: Uint8Array): Uint8Array {
  const { payload } = frame;
  const length = payload.length;
  const lengthBytes = length < 126 ? 0 : length < 65536 ? 2 : 8;
  const header = 2 + lengthBytes + (mask ? 4 : 0);
  const out = new Uint8Array(header + length);
  out[0] = (frame.fin ? 0x80 : 0) | (frame.opcode & 0x0f);
  const maskBit = mask ? 0x80 : 0;
  const view = new DataView(out.buffer);
  if (lengthBytes === 0) out[1] = maskBit | length;
  else if (lengthBytes === 2) {
    out[1] = maskBit | 126;
    view.setUint16(2, length);
  } else {
    out[1] = maskBit | 127;
    view.setBigUint64(2, BigInt(length));
  }
  if (mask) {
    out.set(mask, 2 + lengthBytes);
    for (let i = 0; i < length; i++) out[header + i] = payload[i] ^ mask[i & 3];
  } else {
    out.set(payload, header);
  }
  return out;
}

/** Cuts a byte stream into frames; bytes of an unfinished frame wait for the next push. */
export class FrameDecoder {
  #buffer = new Uint8Array(0);

  push(bytes: Uint8Array): Frame[] {
    const joined = new Uint8Array(this.#buffer.length + bytes.length);
    joined.set(this.#buffer);
    joined.set(bytes, this.#buffer.length);
    const frames: Frame[] = [];
    let at = 0;
    while (true) {
      const frame = decodeAt(joined, at);
      if (!frame) break;
      frames.push(frame.frame);
      at = frame.next;
    }
    this.#buffer = joined.slice(at);
    return frames;
  }
}

function decodeAt(buf: Uint8Array, at: number): { frame: Frame; next: number } | undefined {
  if (buf.length - at < 2) return undefined;
  const fin = (buf[at] & 0x80) !== 0;
  const opcode = buf[at] & 0x0f;
  const masked = (buf[at + 1] & 0x80) !== 0;
  let length = buf[at + 1] & 0x7f;
  let pos = at + 2;
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  if (length === 126) {
    if (buf.length - pos < 2) return undefined;
    length = view.getUint16(pos);
    pos += 2;
  } else if (length === 127) {
    if (buf.length - pos < 8) return undefined;
    const big = view.getBigUint64(pos);
    if (big > BigInt(Number.MAX_SAFE_INTEGER)) throw new Error("WebSocket frame too large");
    length = Number(big);
    pos += 8;
  }
  let mask: Uint8Array | undefined;
  if (masked) {
    if (buf.length - pos < 4) return undefined;
    mask = buf.slice(pos, pos + 4);
    pos += 4;
  }
  if (buf.length - pos < length) return undefined;
  const payload = buf.slice(pos, pos + length);
  if (mask) { for (let i = 0; i < length; i++) payload[i] ^= mask[i & 3]; }
  return { frame: { fin, opcode, payload }, next: pos + length };
}

/** What the opening handshake sends besides the WebSocket headers. */
export interface HandshakeOptions {
  /** The request target: path and query. */
  path: string;
  /** The Host header. */
  host: string;
  protocols: string[];
  /** Further request headers as name-value pairs, each sent on its own line (a name may repeat). */
  headers?: readonly (readonly [string, string])[];
}

/** An open WebSocket. Messages are read one at a time; `null` means the connection ended. */
export class WebSocketConnection {
  /** The subprotocol the server chose. */
  readonly protocol: string;
  readonly #conn: Deno.Conn;
  readonly #decoder: FrameDecoder;
  #pending: Frame[] = [];
  #closed = false;
  #writing: Promise<unknown> = Promise.resolve();

  private constructor(conn: Deno.Conn, protocol: string, decoder: FrameDecoder, pending: Frame[]) {
    this.#conn = conn;
    this.protocol = protocol;
    this.#decoder = decoder;
    this.#pending = pending;
  }

  /** Sends the opening handshake on `conn` and returns the open WebSocket; closes `conn` on failure. */
  static async open(conn: Deno.Conn, opts: HandshakeOptions): Promise<WebSocketConnection> {
    try {
      const key = btoa(String.fromCharCode(...crypto.getRandomValues(new Uint8Array(16))));
      const headers: (readonly [string, string])[] = [
        ["Host", opts.host],
        ["Upgrade", "websocket"],
        ["Connection", "Upgrade"],
        ["Sec-WebSocket-Key", key],
        ["Sec-WebSocket-Version", "13"],
        ...(opts.protocols.length ? [["Sec-WebSocket-Protocol", opts.protocols.join(", ")] as const] : []),
        ...(opts.headers ?? []),
      ];
      let request = `GET ${opts.path} HTTP/1.1\r\n`;
      for (const [name, value] of headers) request += `${name}: ${value}\r\n`;
      await writeAll(conn, encoder.encode(`${request}\r\n`));

      const { head, rest } = await readHead(conn);
      const [statusLine, ...lines] = head.split("\r\n");
      const [, code, text] = /^HTTP\/1\.[01] (\d{3}) ?(.*)$/.exec(statusLine) ?? [];
      const answer = new Headers();
      for (const line of lines) {
        const colon = line.indexOf(":");
        if (colon > 0) answer.append(line.slice(0, colon).trim(), line.slice(colon + 1).trim());
      }
      if (code !== "101") {
        throw new HandshakeError(Number(code) || 0, text ?? statusLine, await readBody(conn, answer, rest));
      }
      const expected = await acceptKey(key);
      if (answer.get("Sec-WebSocket-Accept") !== expected) {
        throw new Error("WebSocket upgrade answered with a wrong Sec-WebSocket-Accept");
      }
      const protocol = answer.get("Sec-WebSocket-Protocol") ?? "";
      if (opts.protocols.length && !opts.protocols.includes(protocol)) {
        throw new Error(`the server chose WebSocket subprotocol "${protocol}", not one of ours`);
      }
      const decoder = new FrameDecoder();
      return new WebSocketConnection(conn, protocol, decoder, decoder.push(rest));
    } catch (err) {
      closeQuietly(conn);
      throw err;
    }
  }

  /** The next whole message; answers pings on the way; `null` once the connection is closed. */
  async read(): Promise<Message | null> {
    const parts: Uint8Array[] = [];
    let binary = true;
    while (true) {
      const frame = await this.#nextFrame();
      if (!frame) return null;
      switch (frame.opcode) {
        case Opcode.ping:
          await this.#write({ fin: true, opcode: Opcode.pong, payload: frame.payload }).catch(() => {});
          continue;
        case Opcode.pong:
          continue;
        case Opcode.close:
          // Answer the closing handshake, then the connection is done.
          await this.#write({ fin: true, opcode: Opcode.close, payload: frame.payload.slice(0, 2) })
            .catch(() => {});
          this.#end();
          return null;
        case Opcode.text:
        case Opcode.binary:
          binary = frame.opcode === Opcode.binary;
          parts.length = 0;
          break;
        case Opcode.continuation:
          break;
        default:
          this.#end();
          throw new Error(`WebSocket frame with unknown opcode ${frame.opcode}`);
      }
      parts.push(frame.payload);
      if (frame.fin) return { binary, data: concat(parts) };
    }
  }

  /** Sends one binary message. */
  send(data: Uint8Array): Promise<void> {
    return this.#write({ fin: true, opcode: Opcode.binary, payload: data });
  }

  /** Starts the closing handshake (1000: normal closure) and stops using the connection. */
  async close(code = 1000): Promise<void> {
    if (this.#closed) return;
    const payload = new Uint8Array(2);
    new DataView(payload.buffer).setUint16(0, code);
    await this.#write({ fin: true, opcode: Opcode.close, payload }).catch(() => {});
    this.#end();
  }

  async #nextFrame(): Promise<Frame | undefined> {
    const buf = new Uint8Array(64 * 1024);
    while (this.#pending.length === 0) {
      if (this.#closed) return undefined;
      let n: number | null;
      try {
        n = await this.#conn.read(buf);
      } catch {
        n = null;
      }
      if (n === null) {
        this.#end();
        return undefined;
      }
      this.#pending = this.#decoder.push(buf.subarray(0, n));
    }
    return this.#pending.shift();
  }

  #write(frame: Frame): Promise<void> {
    if (this.#closed) return Promise.reject(new Error("the WebSocket is closed"));
    const bytes = encodeFrame(frame, crypto.getRandomValues(new Uint8Array(4)));
    // One frame at a time: frames written concurrently must not interleave.
    const next = this.#writing.then(() => writeAll(this.#conn, bytes));
    this.#writing = next.catch(() => {});
    return next;
  }

  #end(): void {
    if (this.#closed) return;
    this.#closed = true;
    closeQuietly(this.#conn);
  }
}

/** base64(SHA-1(key + GUID)), what the server must answer in Sec-WebSocket-Accept. */
export async function acceptKey(key: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-1", encoder.encode(key + GUID));
  return btoa(String.fromCharCode(...new Uint8Array(digest)));
}

async function writeAll(conn: Deno.Conn, bytes: Uint8Array): Promise<void> {
  let at = 0;
  while (at < bytes.length) at += await conn.write(bytes.subarray(at));
}

/** Reads the response head (up to the blank line); `rest` is what came after it. */
async function readHead(conn: Deno.Conn): Promise<{ head: string; rest: Uint8Array }> {
  let seen: Uint8Array = new Uint8Array(0);
  const buf = new Uint8Array(4096);
  while (seen.length < 64 * 1024) {
    const n = await conn.read(buf);
    if (n === null) throw new Error("the server closed the connection during the WebSocket upgrade");
    seen = concat([seen, buf.subarray(0, n)]);
    const end = indexOfBlankLine(seen);
    if (end >= 0) return { head: decoder.decode(seen.subarray(0, end)), rest: seen.slice(end + 4) };
  }
  throw new Error("the WebSocket upgrade answer has no end of headers");
}

/** The body of a refusal (Content-Length, or up to 64 KiB until the server closes). */
async function readBody(conn: Deno.Conn, headers: Headers, rest: Uint8Array): Promise<string> {
  const length = Number(headers.get("Content-Length") ?? NaN);
  let body = rest;
  const buf = new Uint8Array(4096);
  const limit = Number.isFinite(length) ? Math.min(length, 64 * 1024) : 64 * 1024;
  while (body.length < limit) {
    const n = await conn.read(buf).catch(() => null);
    if (n === null) break;
    body = concat([body, buf.subarray(0, n)]);
  }
  return decoder.decode(body.subarray(0, limit));
}

function indexOfBlankLine(bytes: Uint8Array): number {
  for (let i = 0; i + 3 < bytes.length; i++) {
    if (bytes[i] === 13 && bytes[i + 1] === 10 && bytes[i + 2] === 13 && bytes[i + 3] === 10) return i;
  }
  return -1;
}

function concat(parts: Uint8Array[]): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

function closeQuietly(conn: Deno.Conn): void {
  try {
    conn.close();
  } catch {
    // Already closed.
  }
}
