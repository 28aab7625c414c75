/**
 * ttyd 1.7's WebSocket protocol, client side (html/src of ttyd 1.7.7 is the reference). Subprotocol `tty`,
 * binary frames whose first byte is a command. The client first sends JSON `{AuthToken, columns, rows}`,
 * then '0' + input, '1' + JSON `{columns, rows}` on a resize, '2' and '3' to pause and resume the output.
 * The server sends '0' + output, '1' + the window title, '2' + JSON preferences (ttyd's `-t` options).
 */
export interface TtydEvents {
  open(): void;
  output(data: Uint8Array): void;
  title(title: string): void;
  preferences(prefs: Record<string, unknown>): void;
  /** The WebSocket closed (1000: ttyd ended the session normally; 1006: the connection broke). */
  close(code: number): void;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/**
 * The AuthToken ttyd wants when it has a login ("" without one), or undefined when ttyd cannot be reached or
 * does not answer within `timeoutMs`: a request that hangs must not leave the page waiting with no word.
 */
export async function fetchToken(
  tokenUrl: string,
  timeoutMs = 10_000,
): Promise<string | undefined> {
  try {
    const response = await fetch(tokenUrl, {
      credentials: "same-origin",
      cache: "no-store",
      signal: AbortSignal.timeout(timeoutMs),
    });
    if (!response.ok) return undefined;
    const body = await response.json() as { token?: string };
    return body.token ?? "";
  } catch {
    return undefined;
  }
}

export class TtydConnection {
  private socket: WebSocket;

  constructor(
    wsUrl: string,
    token: string,
    size: () => { columns: number; rows: number },
    events: TtydEvents,
  ) {
    this.socket = new WebSocket(wsUrl, ["tty"]);
    this.socket.binaryType = "arraybuffer";
    this.socket.onopen = () => {
      this.socket.send(
        encoder.encode(JSON.stringify({ AuthToken: token, ...size() })),
      );
      events.open();
    };
    this.socket.onmessage = (event: MessageEvent) => {
      const frame = new Uint8Array(event.data as ArrayBuffer);
      const body = frame.subarray(1);
      switch (String.fromCharCode(frame[0])) {
        case "0":
          events.output(body);
          break;
        case "1":
          events.title(decoder.decode(body));
          break;
        case "2":
          events.preferences(
            JSON.parse(decoder.decode(body)) as Record<string, unknown>,
          );
          break;
      }
    };
    this.socket.onclose = (event: CloseEvent) => events.close(event.code);
  }

  get open(): boolean {
    return this.socket.readyState === WebSocket.OPEN;
  }

  input(data: string | Uint8Array): void {
    if (!this.open) return;
    const bytes = typeof data === "string" ? encoder.encode(data) : data;
    const frame = new Uint8Array(bytes.length + 1);
    frame[0] = 0x30; // '0'
    frame.set(bytes, 1);
    this.socket.send(frame);
  }

  resize(columns: number, rows: number): void {
    if (this.open) {
      this.socket.send(encoder.encode("1" + JSON.stringify({ columns, rows })));
    }
  }

  pause(): void {
    if (this.open) this.socket.send(encoder.encode("2"));
  }

  resume(): void {
    if (this.open) this.socket.send(encoder.encode("3"));
  }

  close(): void {
    this.socket.close();
  }
}
