// Terminal escape sequences start with a control character (ESC), by definition.
// deno-lint-ignore-file no-control-regex
/**
 * A client of ttyd's WebSocket protocol, for tests that drive a terminal as a
 * browser would, without one.
 *
 * The protocol (ttyd 1.7, subprotocol `tty`): the client's first message is a
 * JSON object `{AuthToken, columns, rows}`; after it every message starts with
 * one command byte. Client to server: `0` input, `1` resize (JSON
 * `{columns, rows}`), `2` pause, `3` resume. Server to client: `0` output,
 * `1` window title, `2` preferences (the JSON of the `--client-option`s).
 * Arguments from the page URL (`?arg=a&arg=b`, with ttyd's `-a`) go on the
 * WebSocket URL, as ttyd's page sends them.
 *
 * With a credential (`ttyd -c user:password`) ttyd checks two things: the
 * `Authorization: Basic` header of the WebSocket handshake (a browser sends
 * the one it logged in with) and `AuthToken`, the base64 of the credential
 * (ttyd's page reads it from `/token`). This client does both.
 */

/** How to connect. */
export interface TtydConnectOptions {
  /**
   * The Origin header of the handshake. Default: the page's own origin, as a browser on the terminal
   * page sends; `null` sends none.
   */
  origin?: string | null;
  /** `user:password` for a terminal started with `ttyd -c`. */
  credential?: string;
  /** More handshake headers, such as the one an authenticating proxy adds (`ttyd --auth-header`). */
  headers?: Record<string, string>;
  columns?: number;
  rows?: number;
  /** How long the handshake may take (default 10 s). */
  timeoutMs?: number;
}

/** Why the server closed the connection. */
export interface TtydClose {
  code: number;
  reason: string;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** The WebSocket URL of a terminal page (`http://host:port/path?arg=x` -> `ws://host:port/path/ws?arg=x`). */
export function webSocketUrl(pageUrl: string): URL {
  const url = new URL(pageUrl.includes("://") ? pageUrl : `http://${pageUrl}`);
  url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
  url.pathname = `${url.pathname.replace(/\/+$/, "")}/ws`;
  return url;
}

/** Terminal output without escape sequences and carriage returns, for matching text. */
export function plainText(output: string): string {
  return output
    // OSC (titles, hyperlinks): ESC ] ... BEL or ESC \
    .replace(/\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)/g, "")
    // CSI (colours, cursor movement, modes such as bracketed paste)
    .replace(/\x1b\[[0-?]*[ -/]*[@-~]/g, "")
    // Other two-byte escapes (charset selection, keypad modes)
    .replace(/\x1b[()][0-9A-Za-z]|\x1b[=>78DEHMNOZc]/g, "")
    .replace(/\r/g, "");
}

/** One terminal session over ttyd's WebSocket. Dispose of it to close the socket. */
export class TtydSession implements AsyncDisposable {
  readonly #ws: WebSocket;
  readonly #closed: Promise<TtydClose>;
  #output = "";
  #title: string | undefined;
  #preferences: Record<string, unknown> | undefined;
  #waiters: (() => void)[] = [];
  #isClosed = false;
  #marks = 0;

  private constructor(ws: WebSocket) {
    this.#ws = ws;
    this.#closed = new Promise((resolve) => {
      ws.addEventListener("close", (e) => {
        this.#isClosed = true;
        this.#wake();
        resolve({ code: e.code, reason: e.reason });
      });
    });
    ws.addEventListener("message", (e) => this.#onMessage(e.data as ArrayBuffer));
  }

  /**
   * Opens a session on the terminal whose page is `pageUrl` (what a CloudShell's `status.accessUrl`
   * names; a scheme-less `host:port` means http). Resolves once the server accepted the handshake and
   * the init message was sent; a server that refuses the handshake rejects it.
   */
  static async connect(pageUrl: string, opts: TtydConnectOptions = {}): Promise<TtydSession> {
    const url = webSocketUrl(pageUrl);
    const headers: Record<string, string> = { ...opts.headers };
    const origin = opts.origin === undefined ? `http://${url.host}` : opts.origin;
    if (origin !== null) headers.Origin = origin;
    if (opts.credential !== undefined) headers.Authorization = `Basic ${btoa(opts.credential)}`;
    // Deno's WebSocket takes request headers, which a browser's does not (it sends Origin by itself).
    const ws = new WebSocket(url, { protocols: ["tty"], headers } as unknown as string[]);
    ws.binaryType = "arraybuffer";
    const session = new TtydSession(ws);
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        ws.close();
        reject(new Error(`ttyd handshake with ${url} timed out`));
      }, opts.timeoutMs ?? 10_000);
      ws.addEventListener("open", () => {
        clearTimeout(timer);
        resolve();
      }, { once: true });
      ws.addEventListener("close", (e) => {
        clearTimeout(timer);
        reject(new TtydRefused(url.toString(), e.code, e.reason));
      }, { once: true });
    });
    const init = {
      AuthToken: opts.credential === undefined ? "" : btoa(opts.credential),
      columns: opts.columns ?? 120,
      rows: opts.rows ?? 30,
    };
    ws.send(encoder.encode(JSON.stringify(init)));
    return session;
  }

  /** Everything the terminal printed so far, raw. */
  get output(): string {
    return this.#output;
  }

  /** The output so far without escape sequences. */
  text(): string {
    return plainText(this.#output);
  }

  /** The last window title the server sent (ttyd sends `<command> (<hostname>)`). */
  get title(): string | undefined {
    return this.#title;
  }

  /** The client options the server sent (`--client-option` key=value pairs, as JSON). */
  get preferences(): Record<string, unknown> | undefined {
    return this.#preferences;
  }

  /** Whether the server has closed the connection. */
  get isClosed(): boolean {
    return this.#isClosed;
  }

  /** Resolves when the connection closes, with the close code and reason. */
  closed(): Promise<TtydClose> {
    return this.#closed;
  }

  /** Sends keystrokes. */
  send(input: string): void {
    this.#ws.send(encoder.encode(`0${input}`));
  }

  /** Types a line and presses Enter. */
  type(line: string): void {
    this.send(`${line}\r`);
  }

  /** Tells the server the terminal's new size. */
  resize(columns: number, rows: number): void {
    this.#ws.send(encoder.encode(`1${JSON.stringify({ columns, rows })}`));
  }

  /**
   * Waits until the plain-text output (from offset `from` on) matches `pattern`, and returns the match.
   * Fails with the output so far after `timeoutMs`, or when the connection closes first.
   */
  async waitFor(pattern: string | RegExp, timeoutMs = 15_000, from = 0): Promise<RegExpMatchArray> {
    const re = typeof pattern === "string" ? new RegExp(escapeRegExp(pattern)) : pattern;
    const deadline = Date.now() + timeoutMs;
    while (true) {
      const match = this.text().slice(from).match(re);
      if (match) return match;
      if (this.#isClosed) throw new Error(`terminal closed before ${re} appeared; output:\n${this.text()}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out waiting for ${re}; output:\n${this.text()}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.#waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  /**
   * Runs a command in a shell terminal and returns what it printed (plain text, trimmed), and its exit
   * code. Works by typing the command between two echoed markers, the second with `$?`; each marker is
   * split in the typed line, so the terminal's echo of the input (which may come before or after the
   * prompt) never matches it.
   */
  async run(command: string, timeoutMs = 20_000): Promise<{ output: string; code: number }> {
    const id = `${this.#marks++}_${crypto.randomUUID().slice(0, 8)}`;
    const [begin, end] = [`__BEGIN${id}__`, `__END${id}__`];
    const split = (m: string) => `'${m.slice(0, 4)}' '${m.slice(4)}'`;
    const from = this.text().length;
    this.type(
      `printf '\\n%s%s\\n' ${split(begin)}; ${command}; printf '\\n%s%s:%s\\n' ${split(end)} "$?"`,
    );
    const done = await this.waitFor(
      new RegExp(`\\n${begin}\\n([^]*?)\\n${end}:(\\d+)\\n`),
      timeoutMs,
      from,
    );
    return { output: done[1].trim(), code: Number(done[2]) };
  }

  /** Closes the connection (normal closure) and waits until it is closed. */
  async close(): Promise<void> {
    if (!this.#isClosed) this.#ws.close(1000);
    await this.#closed;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  #onMessage(data: ArrayBuffer): void {
    const bytes = new Uint8Array(data);
    const payload = decoder.decode(bytes.subarray(1));
    switch (String.fromCharCode(bytes[0])) {
      case "0":
        this.#output += payload;
        break;
      case "1":
        this.#title = payload;
        break;
      case "2":
        this.#preferences = JSON.parse(payload) as Record<string, unknown>;
        break;
    }
    this.#wake();
  }

  #wake(): void {
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const w of waiters) w();
  }
}

/** The server refused or dropped the handshake (wrong Origin, missing credential, no such page). */
export class TtydRefused extends Error {
  readonly code: number;
  constructor(url: string, code: number, reason: string) {
    super(`ttyd at ${url} refused the connection (close code ${code}${reason ? `: ${reason}` : ""})`);
    this.name = "TtydRefused";
    this.code = code;
  }
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}
