/**
 * A real browser on a terminal page: Debian's Chromium driven over CDP by the
 * pinned playwright-core, which runs under Node (toolchain/browser/, set
 * up by hack/browser.sh). Deno only starts it and reads its JSON answer.
 */
import { onPath } from "./commands.ts";

const DRIVER = new URL("../../toolchain/browser/terminal_page.mjs", import.meta.url).pathname;
const DRIVER_MODULES =
  new URL("../../toolchain/browser/node_modules/playwright-core", import.meta.url).pathname;

/** What to do on the page. */
export interface TerminalPagePlan {
  /** The terminal's URL (a CloudShell's `status.accessUrl`; `host:port` means http). */
  url: string;
  /**
   * What to type, in order: each line is followed by Enter, then the page is watched until `expect`
   * appears once more than before (so a prompt can say the command is done).
   */
  steps?: {
    type: string;
    expect?: string;
    /** Files for the file chooser the line opens (`rz` on the terminal image's page). */
    upload?: string[];
    /** Where to save the file the line makes the browser download (`sz file`). */
    download?: string;
    /** Then: elements of the page to wait for, in order (an overlay that comes and goes). */
    waitForElements?: PageElement[];
  }[];
  /** Where to save a PNG of the page at the end. */
  screenshot?: string;
  /** The window's size in CSS pixels (default 1000 x 560); ttyd fits the terminal to it. */
  viewport?: { width: number; height: number };
  /** `user:password` for a terminal behind a login (given to the browser as HTTP credentials). */
  credential?: string;
  /**
   * Headers sent with every request, the WebSocket handshake's too: what a proxy in front of the terminal
   * adds (an `Authorization` it holds), so the browser never meets the login prompt.
   */
  headers?: Record<string, string>;
  /** After the steps: texts the terminal must show, waited for in order (a warning, the session's end). */
  waitFor?: string[];
  /** Then: elements of the page (outside the terminal) to wait for, in order. */
  waitForElements?: PageElement[];
  /** Elements whose visible text the result reports, by a name of the caller's. */
  read?: Record<string, string>;
  timeoutMs?: number;
}

/** An element of the page outside the terminal: visible (with a text, when given), or hidden. */
export interface PageElement {
  selector: string;
  text?: string;
  state?: "visible" | "hidden";
}

/** What the page showed. */
export interface TerminalPageResult {
  /** The terminal's rows as text, read from xterm.js's buffer. */
  lines: string[];
  /** The page title (ttyd sets it to the command and host). */
  title: string;
  /** The text ttyd's page lays over the terminal at the end ("Press ⏎ to Reconnect"), or "". */
  overlay: string;
  /** The visible text of each element `read` named (null when it is absent or hidden). */
  read: Record<string, string | null>;
}

/**
 * Where Chromium is (CLOUDSHELL_CHROMIUM, else `chromium` on PATH), and why not when it is not usable:
 * no executable, or the driver's npm package not installed (`bash hack/browser.sh` does both).
 */
export function findBrowser(): { chromium: string } | { missing: string } {
  const fromEnv = Deno.env.get("CLOUDSHELL_CHROMIUM");
  const chromium = fromEnv && isFile(fromEnv) ? fromEnv : onPath("chromium");
  if (!chromium) return { missing: "no chromium executable (run `bash hack/browser.sh` as root)" };
  if (!isFile(`${DRIVER_MODULES}/package.json`)) {
    return { missing: "playwright-core is not installed (run `bash hack/browser.sh`)" };
  }
  return { chromium };
}

/** Opens the page in a fresh headless Chromium profile, does what the plan says, and closes it. */
export async function openTerminalPage(
  chromium: string,
  plan: TerminalPagePlan,
): Promise<TerminalPageResult> {
  return await runDriver<TerminalPageResult>(DRIVER, { ...plan, chromium });
}

function isFile(path: string): boolean {
  try {
    return Deno.statSync(path).isFile;
  } catch {
    return false;
  }
}

/** The shared-origin attack of issue 18 (toolchain/browser/origin_attack.mjs). */
export interface OriginAttackPlan {
  /** The victim's terminal, which she opens first with her login. */
  victimUrl: string;
  /** The attacker's page, which she opens next (a link the attacker sent). */
  attackerUrl: string;
  /** The victim's `user:password`, which the browser holds for her terminal's origin. */
  credential: string;
  /** Host patterns Chromium resolves to 127.0.0.1 (the ingress stand-in), e.g. `*.shells.example.test`. */
  resolve: string[];
  /** What the page tries to run in the victim's terminal. */
  command: string;
  timeoutMs?: number;
}

/** What the attacker's page managed, as it reported it, and the victim's own terminal. */
export interface OriginAttackResult {
  victimLines: string[];
  attack: { token: string; output: string; log: string[] };
}

/** Runs the shared-origin attack in a fresh headless Chromium profile. */
export async function runOriginAttack(chromium: string, plan: OriginAttackPlan): Promise<OriginAttackResult> {
  const driver = new URL("../../toolchain/browser/origin_attack.mjs", import.meta.url).pathname;
  return await runDriver<OriginAttackResult>(driver, { ...plan, chromium });
}

/** Runs a Node driver script with `input` as JSON on its stdin and parses the JSON it prints. */
async function runDriver<T>(driver: string, input: unknown): Promise<T> {
  const child = new Deno.Command("node", {
    args: [driver],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const writer = child.stdin.getWriter();
  await writer.write(new TextEncoder().encode(JSON.stringify(input)));
  await writer.close();
  const out = await child.output();
  const decoder = new TextDecoder();
  if (!out.success) throw new Error(`the browser driver failed:\n${decoder.decode(out.stderr)}`);
  return JSON.parse(decoder.decode(out.stdout)) as T;
}
