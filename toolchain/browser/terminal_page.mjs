// Drives a ttyd terminal page in Debian's Chromium through playwright-core
// (CDP), for the browser test and hack/dev.sh's check. Runs under Node, not
// Deno: playwright-core is a Node library. Installed by hack/browser.sh;
// tests/harness/browser.ts starts it.
//
// Input, as JSON on stdin (stdin, so a credential never shows in argv):
//   { url, chromium, screenshot?, steps?: [step], credential?: "user:password",
//     headers?: { name: value }, viewport?: { width, height }, timeoutMs?, waitFor?: [text],
//     waitForElements?: [element], read?: { name: selector } }
// step: { type: line, expect?: text, upload?: [file path], download?: file path, waitForElements?: [element] }
// element: { selector, text?, state?: "visible" (default) | "hidden" }
// Each step types its line and Enter, then waits until the terminal shows `expect` (one more
// time than before the step), so the next line is typed only when the last command is done. With
// `upload`, the line opens a file chooser (the page's, or a button on it named "Choose files"), which gets
// those files; with `download`, the line makes the browser download a file, saved at that path. A step's
// `waitForElements` are waited for last (the page's own parts, outside the terminal, in order).
// After the steps, it waits until the terminal shows each `waitFor` text (for what happens to the page
// without typing: a warning, the end of the session), then until each `waitForElements` element shows its
// text (the page's own parts, outside the terminal).
// Output, as JSON on stdout: { lines: [terminal rows], title, overlay: the text ttyd's page lays over the
// terminal, or "", read: { name: the visible text of the first element `read[name]` selects, or null } }.
// The terminal's text is read from xterm.js's buffer (ttyd's page exposes its
// Terminal as window.term); the canvas it draws is only in the screenshot.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { chromium } from "playwright-core";

const FLAGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

async function readStdin() {
  let text = "";
  for await (const chunk of process.stdin) text += chunk;
  return JSON.parse(text);
}

/** The terminal's rows as text, or undefined before ttyd's page has created its terminal. */
function terminalRows() {
  const term = globalThis.term;
  if (!term?.buffer?.active) return undefined;
  const buffer = term.buffer.active;
  const rows = [];
  for (let i = 0; i < buffer.length; i++) rows.push(buffer.getLine(i)?.translateToString(true) ?? "");
  return rows;
}

/** Polls the terminal's rows until `check` accepts them; fails with the rows after `timeout` ms. */
async function until(page, timeout, what, check) {
  const deadline = Date.now() + timeout;
  let rows;
  while (Date.now() < deadline) {
    rows = await page.evaluate(terminalRows);
    if (rows && check(rows)) return rows;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for ${what}; terminal rows:\n${(rows ?? []).join("\n")}`);
}

/**
 * Gives `files` to the file chooser the last line opens: the page may open it at once (the Enter counts as a
 * user's gesture) or wait for a click on its "Choose files" button.
 */
async function chooseFiles(page, chooser, files, timeout) {
  const opened = await Promise.race([chooser, new Promise((r) => setTimeout(() => r(undefined), 3_000))]);
  if (opened) return await opened.setFiles(files);
  await page.getByRole("button", { name: /choose files/i }).click({ timeout });
  await (await chooser).setFiles(files);
}

/** Waits until the element is visible with its text, or hidden; fails with what the page shows instead. */
async function waitForElement(page, { selector, text, state }, timeout) {
  const found = page.locator(selector);
  try {
    await (text ? found.filter({ hasText: text }) : found).first().waitFor({
      state: state ?? "visible",
      timeout,
    });
  } catch (error) {
    throw new Error(`${error.message}\n${await pageState(page)}`);
  }
}

/** What the page shows, for a failure's message: the terminal's rows, its own parts, the focus. */
async function pageState(page) {
  const state = await page.evaluate(() => {
    const visible = (id) => {
      const el = document.getElementById(id);
      return el && !el.hidden ? el.innerText : null;
    };
    return {
      end: visible("cloudshell-end"),
      overlay: visible("cloudshell-overlay"),
      upload: visible("cloudshell-upload"),
      focus: document.activeElement?.outerHTML.slice(0, 120) ?? null,
      stdinDisabled: globalThis.term?.options.disableStdin ?? null,
    };
  }).catch((error) => ({ unreadable: String(error) }));
  const rows = await page.evaluate(terminalRows).catch(() => undefined);
  return `page: ${JSON.stringify(state)}\nterminal rows:\n${(rows ?? []).join("\n").trimEnd()}`;
}

async function main() {
  const plan = await readStdin();
  const timeout = plan.timeoutMs ?? 20_000;
  const profile = await mkdtemp(join(tmpdir(), "cloudshell-chromium-"));
  const [username, ...rest] = (plan.credential ?? "").split(":");
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: plan.chromium,
    headless: true,
    args: FLAGS,
    viewport: plan.viewport ?? { width: 1000, height: 560 },
    httpCredentials: plan.credential ? { username, password: rest.join(":") } : undefined,
    extraHTTPHeaders: plan.headers,
  });
  try {
    const page = context.pages()[0] ?? await context.newPage();
    // The page's own console lines (its warnings about transfers and connections), for a failure's message.
    page.on("console", (message) => {
      if (message.type() === "warning" || message.type() === "error") {
        process.stderr.write(`page console ${message.type()}: ${message.text()}\n`);
      }
    });
    const url = plan.url.includes("://") ? plan.url : `http://${plan.url}`;
    await page.goto(url, { timeout });
    // ttyd's page creates the terminal, then the shell's first output (its prompt) arrives.
    await until(page, timeout, "the terminal's first output", (rows) => rows.join("").trim().length > 0);
    // Focus, for typing (only then: by the end of a session the page may lay its own parts over it).
    if (plan.steps?.length) await page.locator(".xterm").click();
    for (const step of plan.steps ?? []) {
      const count = (rows) => rows.join("\n").split(step.expect).length - 1;
      const before = step.expect ? count(await page.evaluate(terminalRows)) : 0;
      const chooser = step.upload ? page.waitForEvent("filechooser", { timeout }) : undefined;
      const download = step.download ? page.waitForEvent("download", { timeout }) : undefined;
      await page.keyboard.type(step.type, { delay: 10 });
      await page.keyboard.press("Enter");
      if (chooser) await chooseFiles(page, chooser, step.upload, timeout);
      if (download) await (await download).saveAs(step.download);
      if (step.expect) {
        await until(page, timeout, JSON.stringify(step.expect), (rows) => count(rows) > before);
      }
      for (const element of step.waitForElements ?? []) await waitForElement(page, element, timeout);
    }
    for (const text of plan.waitFor ?? []) {
      await until(page, timeout, JSON.stringify(text), (rows) => rows.join("\n").includes(text));
    }
    for (const element of plan.waitForElements ?? []) await waitForElement(page, element, timeout);
    const lines = await page.evaluate(terminalRows);
    const read = {};
    for (const [name, selector] of Object.entries(plan.read ?? {})) {
      const found = page.locator(selector).first();
      read[name] = await found.isVisible() ? await found.innerText() : null;
    }
    // ttyd's page lays its messages ("Press ⏎ to Reconnect") over the terminal in a div of its own, which
    // has no class: it is known by its style.
    const overlay = await page.evaluate(() =>
      [...document.querySelectorAll("div")].find((d) => d.style.fontSize === "xx-large")?.textContent ?? ""
    );
    if (plan.screenshot) await page.screenshot({ path: plan.screenshot });
    const title = await page.title();
    process.stdout.write(JSON.stringify({ lines, title, overlay, read }) + "\n");
  } finally {
    await context.close();
    await rm(profile, { recursive: true, force: true });
  }
}

main().catch((err) => {
  process.stderr.write(`${err?.stack ?? err}\n`);
  process.exit(1);
});
