/**
 * The terminal image's own page (images/terminal/page, served by ttyd as its --index) in Chromium, on
 * shells the kubelet stand-in runs with real ttyd: the time left, the end page when the TTL runs out, the
 * once message, reconnecting after a broken connection, a command that fails at once, a route's path prefix
 * with URL arguments, and file upload and download through the page (ZMODEM with lrzsz's rz and sz), also
 * with the shell kept in tmux as the image keeps it. The stand-in's "image" is this host: each shell is
 * given the page built by hack/terminal-page.sh through CLOUDSHELL_INDEX.
 */
import assert from "node:assert/strict";
import { findBrowser, openTerminalPage } from "../harness/browser.ts";
import { onPath } from "../harness/commands.ts";
import { IngressProxy } from "./_ingress_proxy.ts";
import { createCloudShell, waitForCloudShell } from "./_operator.ts";
import { openTerminal, readyShell, terminalCluster, terminalOperator, testOutputDir } from "./_terminal.ts";

const REPO = new URL("../..", import.meta.url).pathname;
const browser = findBrowser();
const pagePath = Deno.env.get("CLOUDSHELL_TERMINAL_PAGE");
const missing = "missing" in browser
  ? browser.missing
  : !pagePath || !isFile(pagePath)
  ? "the terminal page is not built (CLOUDSHELL_TERMINAL_PAGE=$(bash hack/terminal-page.sh | tail -1))"
  : undefined;
const noZmodem = onPath("rz") && onPath("sz")
  ? undefined
  : "rz and sz are not on PATH (run `bash hack/apt.sh` as root)";
const noTmux = onPath("tmux") ? undefined : "tmux is not on PATH (run `bash hack/apt.sh` as root)";
for (const why of [missing, noZmodem, noTmux]) if (why) console.error(`SKIPPED terminal page tests: ${why}`);

function isFile(path: string): boolean {
  try {
    return Deno.statSync(path).isFile;
  } catch {
    return false;
  }
}

const chromium = () => (browser as { chromium: string }).chromium;
const pageEnv = (...more: { name: string; value: string }[]) => [
  { name: "CLOUDSHELL_INDEX", value: pagePath! },
  ...more,
];

async function sha256(data: Uint8Array<ArrayBuffer>): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", data);
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

Deno.test({
  name: "the terminal image's page in Chromium: time left, end page, once, upload and download",
  ignore: missing !== undefined,
  fn: async (t) => {
    await using cluster = await terminalCluster();
    const client = cluster.client;
    const ns = await cluster.namespace("e2e-page");
    await using _op = await terminalOperator(cluster, ns);
    const out = await testOutputDir("terminal-page");

    await t.step(
      "the time left, with how to extend it; at the TTL the end page says why, offering nothing",
      async () => {
        // About a minute from the Job's creation: time for Chromium to start on a busy machine; all of it is
        // within the default five-minute warning, so the indicator shows the command that extends it.
        await createCloudShell(client, ns, "timed", {
          commandAction: "bash",
          ttlSecondsAfterStarted: 60,
          env: pageEnv(),
        });
        const cs = await waitForCloudShell(
          client,
          ns,
          "timed",
          "Ready",
          (c) => c.status?.phase === "Ready" && !!c.status.accessUrl,
        );
        const page = await openTerminalPage(chromium(), {
          url: cs.status!.accessUrl!,
          steps: [{ type: "echo page-$((6*7))", expect: "page-42" }],
          waitForElements: [
            { selector: "#cloudshell-time", text: "Ends in" },
            { selector: "#cloudshell-time", text: `kubectl patch cloudshell timed -n ${ns} --type merge` },
            { selector: "#cloudshell-end", text: "Its time (the CloudShell's TTL) is up." },
          ],
          read: {
            end: "#cloudshell-end",
            restart: "#cloudshell-end-restart",
            reconnecting: "#cloudshell-overlay",
            time: "#cloudshell-time",
          },
          screenshot: `${out}/end.png`,
          timeoutMs: 120_000,
        });
        assert.match(page.read.end!, /This session has ended\s+Its time \(the CloudShell's TTL\) is up\./);
        assert.equal(page.read.restart, null, "no new session where none can be had");
        assert.equal(page.read.reconnecting, null, "no reconnecting");
        assert.equal(page.read.time, null, "the indicator is gone");
        assert.equal(page.overlay, "", "none of ttyd's overlays");
        // The terminal's own line is there too, for the record under the end page.
        assert.ok(
          page.lines.some((l) => l.includes("This session has ended: its time")),
          page.lines.join("\n"),
        );
      },
    );

    await t.step("a second client of a once shell is told why it cannot connect", async () => {
      const url = await readyShell(client, ns, "single", {
        commandAction: "bash",
        once: true,
        env: pageEnv(),
      });
      await using first = await openTerminal(url);
      assert.equal((await first.run("echo mine")).output, "mine");
      const page = await openTerminalPage(chromium(), {
        url,
        waitForElements: [{ selector: "#cloudshell-end", text: "serves one client only (once)" }],
        read: { end: "#cloudshell-end", restart: "#cloudshell-end-restart" },
        screenshot: `${out}/once.png`,
        timeoutMs: 60_000,
      });
      assert.match(
        page.read.end!,
        /This terminal is in use\s+This terminal serves one client only \(once\), and another one has it\. Each user needs a CloudShell of their own\./,
      );
      assert.equal(page.read.restart, null);
      assert.equal((await first.run("echo still-mine")).output, "still-mine");
    });

    await t.step({
      name: "after a broken connection the page says so and reconnects by itself, to the same shell (tmux)",
      ignore: noTmux !== undefined,
      fn: async () => {
        const url = await readyShell(client, ns, "sticky", {
          commandAction: "bash",
          env: pageEnv({ name: "CLOUDSHELL_RECONNECT", value: "tmux" }),
        });
        const page = await openTerminalPage(chromium(), {
          url,
          steps: [
            { type: "export MARK=kept-$((40+2)); echo marked-$((1+1))", expect: "marked-2" },
            {
              // The connection breaks: ttyd's client process (tmux's) is killed, and ttyd closes abnormally.
              type: "kill -9 $(tmux display-message -p '#{client_pid}')",
              waitForElements: [
                { selector: "#cloudshell-overlay", text: "The connection was lost. Reconnecting in 1 s" },
                { selector: "#cloudshell-overlay", state: "hidden" },
              ],
            },
            { type: "echo mark-is-$MARK", expect: "mark-is-kept-42" },
          ],
          read: { end: "#cloudshell-end" },
          screenshot: `${out}/reconnected.png`,
          timeoutMs: 60_000,
        });
        assert.equal(page.read.end, null);
      },
    });

    await t.step(
      "a command that fails as soon as it starts: two tries, then the end page says so",
      async () => {
        const url = await readyShell(client, ns, "failing", {
          // The pause lets ttyd read the output before the process is gone (it may lose what a command that
          // exits at once wrote).
          commandAction: "echo failing-now; sleep 1; exit 3",
          env: pageEnv(),
        });
        const page = await openTerminalPage(chromium(), {
          url,
          waitForElements: [{
            selector: "#cloudshell-end",
            text: "The shell ends with an error as soon as it starts.",
          }],
          read: { restart: "#cloudshell-end-restart", reconnecting: "#cloudshell-overlay" },
          timeoutMs: 60_000,
        });
        assert.equal(page.read.restart, "Try again");
        assert.equal(page.read.reconnecting, null);
        assert.ok(
          page.lines.some((l) => l.includes("failing-now")),
          "the command's own output stays readable",
        );
      },
    );

    await t.step("under a route's path prefix, with the URL's arguments for the command", async () => {
      const url = await readyShell(client, ns, "args", {
        // With shell syntax the arguments come as "$@"; the pause lets ttyd read the output before the
        // process is gone (it may lose what a command that exits at once wrote).
        commandAction: 'echo got "$@"; sleep 1',
        urlArg: true,
        env: pageEnv(),
      });
      const backend = url.replace(/^\w+:\/\//, "").replace(/\/.*$/, "");
      // The ingress stand-in takes the route's prefix off, as the operator's routes ask ingress controllers to.
      await using proxy = IngressProxy.start(() =>
        Promise.resolve([{ path: "/team/args", target: backend }])
      );
      const page = await openTerminalPage(chromium(), {
        url: `127.0.0.1:${proxy.port}/team/args/?arg=first&arg=second`,
        waitForElements: [{ selector: "#cloudshell-end", text: "The shell exited." }],
        timeoutMs: 60_000,
      });
      const why = JSON.stringify({ lines: page.lines.filter(Boolean), requests: proxy.requests });
      // The arguments reached the command through the WebSocket's query string.
      assert.ok(page.lines.some((l) => l.includes("got first second")), why);
      assert.ok(proxy.requests.some((r) => r.includes("/team/args/token")), why);
      assert.ok(proxy.requests.some((r) => r.includes("/team/args/ws ")), why);
    });

    // Every byte value, so that a transfer that is not 8-bit clean shows.
    const upload = new Uint8Array(4096).map((_, i) => (i * 7 + (i >> 8)) & 0xff);
    const uploadPath = `${out}/upload.bin`;
    await Deno.writeFile(uploadPath, upload);
    const uploadSum = await sha256(upload);

    /**
     * Uploads through `rz`, checks the shell's copy, downloads through `sz`, checks the browser's copy; then,
     * with `exit`, ends the shell and checks the end page.
     */
    const transfer = async (
      name: string,
      env: { name: string; value: string }[],
      setup: string,
      exit: boolean,
    ) => {
      const url = await readyShell(client, ns, name, { commandAction: "bash", env: pageEnv(...env) });
      const downloadPath = `${out}/${name}-download.bin`;
      const page = await openTerminalPage(chromium(), {
        url,
        steps: [
          { type: `${setup}cd "$(mktemp -d)" && echo ready-$((1+1))`, expect: "ready-2" },
          { type: "rz; echo rz-exit-$?", upload: [uploadPath], expect: "rz-exit-0" },
          { type: "sha256sum upload.bin", expect: uploadSum },
          {
            type: "head -c 20000 /dev/urandom >down.bin; sha256sum down.bin; sz down.bin; echo sz-exit-$?",
            download: downloadPath,
            expect: "sz-exit-0",
          },
          // Then the shell exits: ttyd is still there, so a new session can be had. (Not in tmux, which clears
          // the screen this test reads.)
          ...(exit
            ? [{
              type: "exit",
              waitForElements: [{ selector: "#cloudshell-end", text: "The shell exited." }],
            }]
            : []),
        ],
        read: { restart: "#cloudshell-end-restart" },
        screenshot: `${out}/${name}.png`,
        timeoutMs: 60_000,
      });
      if (exit) assert.equal(page.read.restart, "Start a new session");
      const shellSum = page.lines.join("\n").match(/([0-9a-f]{64})\s+down\.bin/)?.[1];
      assert.ok(shellSum, page.lines.join("\n"));
      const downloaded = await Deno.readFile(downloadPath);
      assert.equal(downloaded.length, 20000);
      assert.equal(await sha256(downloaded), shellSum);
      console.error(
        `${name}: uploaded ${upload.length} bytes, downloaded ${downloaded.length} bytes, both intact`,
      );
    };

    await t.step({
      name: "upload (rz opens the browser's file chooser) and download (sz file) through the page",
      ignore: noZmodem !== undefined,
      fn: () => transfer("files", [], "", true),
    });

    await t.step({
      name: "the same with the shell in tmux, as the image keeps it (rz and sz go around tmux)",
      ignore: noZmodem !== undefined || noTmux !== undefined,
      fn: async () => {
        // The image installs images/terminal/zmodem/tmux-zmodem.sh as /usr/local/bin/rz and sz.
        const bin = await Deno.makeTempDir({ prefix: "tmux-zmodem-" });
        for (const name of ["rz", "sz"]) {
          await Deno.symlink(`${REPO}images/terminal/zmodem/tmux-zmodem.sh`, `${bin}/${name}`);
        }
        try {
          await transfer(
            "tmux-files",
            [{ name: "CLOUDSHELL_RECONNECT", value: "tmux" }],
            `PATH=${bin}:$PATH; `,
            false,
          );
        } finally {
          await Deno.remove(bin, { recursive: true });
        }
      },
    });
  },
});
