// The shared-origin attack (issue 18) in Debian's Chromium through playwright-core: a victim logs into her
// terminal, then opens a link to a page of the attacker's; the page tries to read the victim's `/token` (the
// browser adds the login it holds for the victim's origin) and to drive her terminal over its WebSocket.
// Runs under Node; tests/harness/browser.ts starts it.
//
// Input, as JSON on stdin (so the login never shows in argv):
//   { chromium, victimUrl, attackerUrl, credential: "user:password", resolve: ["*.example.com", ...],
//     command, timeoutMs? }
// `resolve` lists host patterns Chromium maps to 127.0.0.1 (where the test's ingress stand-in listens).
// The page's script gets `victimUrl` and `command` in its query string; it reports what it read as JSON in
// `window.attackResult`.
// Output, as JSON on stdout: { victimLines: [the victim's terminal rows], attack: <the page's report> }.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { chromium } from "playwright-core";

async function readStdin() {
  let text = "";
  for await (const chunk of process.stdin) text += chunk;
  return JSON.parse(text);
}

function terminalRows() {
  const buffer = globalThis.term?.buffer?.active;
  if (!buffer) return undefined;
  const rows = [];
  for (let i = 0; i < buffer.length; i++) rows.push(buffer.getLine(i)?.translateToString(true) ?? "");
  return rows;
}

async function main() {
  const plan = await readStdin();
  const timeout = plan.timeoutMs ?? 30_000;
  const profile = await mkdtemp(join(tmpdir(), "cloudshell-chromium-"));
  const [username, ...rest] = plan.credential.split(":");
  const victimOrigin = new URL(plan.victimUrl).origin;
  const rules = plan.resolve.map((host) => `MAP ${host} 127.0.0.1`).join(",");
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: plan.chromium,
    headless: true,
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--no-first-run",
      "--disable-background-networking",
      `--host-resolver-rules=${rules}`,
    ],
    // The login the victim typed for her terminal's origin; the browser answers that origin's challenges
    // with it, wherever the request comes from (as its cache of HTTP logins does).
    httpCredentials: { username, password: rest.join(":"), origin: victimOrigin },
  });
  try {
    const victim = context.pages()[0] ?? await context.newPage();
    await victim.goto(plan.victimUrl, { timeout });
    const deadline = Date.now() + timeout;
    let victimLines;
    while (Date.now() < deadline) {
      victimLines = await victim.evaluate(terminalRows);
      if (victimLines?.join("").trim()) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    // The link the attacker sent her.
    const attacker = await context.newPage();
    const link = new URL(plan.attackerUrl);
    link.searchParams.set("victim", plan.victimUrl);
    link.searchParams.set("command", plan.command);
    await attacker.goto(link.href, { timeout });
    await attacker.waitForFunction(() => globalThis.attackResult !== undefined, undefined, { timeout });
    const attack = await attacker.evaluate(() => globalThis.attackResult);
    process.stdout.write(JSON.stringify({ victimLines, attack }) + "\n");
  } finally {
    await context.close();
    await rm(profile, { recursive: true, force: true });
  }
}

main().catch((err) => {
  process.stderr.write(`${err?.stack ?? err}\n`);
  process.exit(1);
});
