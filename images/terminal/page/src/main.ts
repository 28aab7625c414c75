/**
 * The terminal image's page: xterm.js on ttyd's WebSocket, with what the launcher tells it (time left, why
 * the session ended), reconnecting after a broken connection, and ZMODEM upload and download. The terminal
 * is `window.term`, as on ttyd's page, for scripts and the tests' browser driver.
 */
import { Terminal } from "@xterm/xterm";
import { FitAddon } from "@xterm/addon-fit";
import { endpoints } from "./endpoints.ts";
import { type EndReason, NOTICE_OSC, parseNotice } from "./notice.ts";
import { Transfers } from "./transfer.ts";
import { fetchToken, TtydConnection } from "./ttyd.ts";
import { chooseFiles, connectionOverlay, hideEnd, saveFile, showEnd, TimeIndicator } from "./view.ts";

// Output flow control as ttyd's page does it: after every LIMIT bytes, count the writes xterm.js has not
// drawn yet, and ask ttyd to pause above HIGH_WATER of them and to resume below LOW_WATER.
const LIMIT = 100_000;
const HIGH_WATER = 10;
const LOW_WATER = 4;
// Reconnecting after a broken connection: 1 s, doubling to 30 s, for about five minutes.
const RETRY_FIRST_MS = 1000;
const RETRY_MAX_MS = 30_000;
const RETRY_ATTEMPTS = 14;

const { tokenUrl, wsUrl } = endpoints(location);
const term = new Terminal({
  fontSize: 14,
  fontFamily: "Menlo, Consolas, 'DejaVu Sans Mono', 'Liberation Mono', monospace",
  scrollback: 10_000,
  theme: { background: "#1e1e1e", foreground: "#d4d4d4", cursor: "#aeafad" },
});
(globalThis as unknown as { term: Terminal }).term = term;
const fit = new FitAddon();
term.loadAddon(fit);
term.open(document.getElementById("terminal")!);
fit.fit();
addEventListener("resize", () => fit.fit());

const time = new TimeIndicator();
let connection: TtydConnection | undefined;
let endReason: EndReason | undefined;
let connectedBefore = false;
let attempts = 0;
// ttyd closes abnormally (1006) both for a broken connection and for a command that exits with an error:
// a session that ends so within seconds of opening, twice running, is the command failing, not the network.
const QUICK_FAILURE_MS = 5000;
let openedAt = 0;
let quickFailures = 0;
let ttydTitle = document.title;

term.parser.registerOscHandler(NOTICE_OSC, (payload) => {
  const notice = parseNotice(payload);
  if (notice?.kind === "time" && endReason === undefined) time.show(notice);
  if (notice?.kind === "end" && endReason === undefined) {
    // Shown at once (a refused `once` client stays connected a few seconds, to read the terminal's line).
    endReason = notice.reason;
    time.hide();
    showEnd(endReason);
  }
  return true;
});

let written = 0;
let pending = 0;
let paused = false;
function write(data: Uint8Array): void {
  written += data.length;
  if (written <= LIMIT) {
    term.write(data);
    return;
  }
  written = 0;
  pending++;
  if (pending > HIGH_WATER && !paused) {
    paused = true;
    connection?.pause();
  }
  term.write(data, () => {
    pending = Math.max(pending - 1, 0);
    if (pending < LOW_WATER && paused) {
      paused = false;
      connection?.resume();
    }
  });
}

const transfers = new Transfers({
  toTerminal: write,
  toShell: (data) => connection?.input(data),
  progress: (text) => term.write(`\r\x1b[K${text}`),
  report: (text) => term.write(`\r\x1b[K${text}\r\n`),
  chooseFiles,
  save: saveFile,
  busy: (active) => {
    term.options.disableStdin = active;
    if (!active) term.focus();
  },
});

term.onData((data) => connection?.input(data));
term.onBinary((data) => connection?.input(Uint8Array.from(data, (c) => c.charCodeAt(0))));
term.onResize(({ cols, rows }) => connection?.resize(cols, rows));
term.onTitleChange((title) => {
  if (title) document.title = `${title} | ${ttydTitle}`;
});

/** ttyd's `-t` options that are xterm.js options (fontSize, theme, ...); the others do not apply here. */
function applyPreferences(prefs: Record<string, unknown>): void {
  const options = term.options as Record<string, unknown>;
  for (const [key, value] of Object.entries(prefs)) {
    if (key in options && typeof value === typeof options[key]) {
      options[key] = value;
    }
  }
  fit.fit();
}

async function connect(): Promise<void> {
  const token = await fetchToken(tokenUrl);
  if (token === undefined) {
    retryOrGiveUp();
    return;
  }
  connection = new TtydConnection(
    wsUrl,
    token,
    () => ({ columns: term.cols, rows: term.rows }),
    {
      open() {
        attempts = 0;
        openedAt = performance.now();
        // A new session, or with tmux the same shell again: either redraws what it shows.
        if (connectedBefore) term.reset();
        connectedBefore = true;
        connectionOverlay(undefined);
        term.options.disableStdin = false;
        term.focus();
      },
      output: (data) => transfers.consume(data),
      title(title) {
        ttydTitle = title;
        document.title = title;
      },
      preferences: applyPreferences,
      // The launcher's end notice comes just before the close: let xterm.js parse what came before it.
      close: (code) => term.write("", () => closed(code)),
    },
  );
}

function closed(code: number): void {
  connection = undefined;
  paused = false;
  pending = written = 0;
  if (endReason !== undefined) {
    time.hide();
    connectionOverlay(undefined);
    showEnd(endReason);
    return;
  }
  if (code === 1000) {
    // The shell exited on its own. A new one only if ttyd is still there to start it.
    void fetchToken(tokenUrl).then((token) => {
      time.hide();
      showEnd("exited", token === undefined ? undefined : () => void connect());
    });
    return;
  }
  const wasOpen = openedAt > 0;
  quickFailures = wasOpen && performance.now() - openedAt < QUICK_FAILURE_MS ? quickFailures + 1 : 0;
  openedAt = 0;
  if (quickFailures >= 2) {
    quickFailures = 0;
    time.hide();
    connectionOverlay(undefined);
    showEnd("failed", () => void connect(), "Try again");
    return;
  }
  retryOrGiveUp();
}

/** A broken connection (no word from the launcher): try again, waiting longer each time. */
function retryOrGiveUp(): void {
  if (attempts >= RETRY_ATTEMPTS) {
    time.hide();
    connectionOverlay(undefined);
    showEnd("unreachable", () => {
      attempts = 0;
      void connect();
    }, "Try again");
    return;
  }
  const delay = Math.min(RETRY_FIRST_MS * 2 ** attempts, RETRY_MAX_MS);
  attempts++;
  connectionOverlay(
    `The connection was lost. Reconnecting in ${Math.round(delay / 1000)} s` +
      (connectedBefore ? " (to the same shell where the terminal keeps it)…" : "…"),
  );
  setTimeout(() => void connect(), delay);
}

hideEnd();
void connect();
