/**
 * The ttyd client against the real, pinned ttyd running a shell locally: the
 * protocol (input, output, title, preferences, URL arguments), and the doors
 * it must be able to knock on (Origin, credential).
 */
import assert from "node:assert/strict";
import { ttydBinaries } from "./commands.ts";
import { freePort, spawnGuarded } from "./process.ts";
import { plainText, TtydRefused, TtydSession, webSocketUrl } from "./ttyd_client.ts";

async function withTtyd(args: string[], fn: (page: string) => Promise<void>): Promise<void> {
  const port = freePort();
  const ttyd = `${await ttydBinaries()}/ttyd`;
  const { child, pid } = await spawnGuarded(ttyd, ["-i", "lo", "-p", String(port), ...args], {
    stdout: "null",
    stderr: "null",
    env: { PS1: "$ " },
  });
  try {
    const page = `127.0.0.1:${port}`;
    for (let i = 0; i < 100; i++) {
      const ok = await fetch(`http://${page}/`).then(
        async (r) => (await r.body?.cancel(), true),
        () => false,
      );
      if (ok) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    await fn(page);
  } finally {
    Deno.kill(pid, "SIGKILL");
    await child.status;
  }
}

Deno.test("webSocketUrl keeps the page's path and query", () => {
  assert.equal(webSocketUrl("127.0.0.1:3/?arg=a").toString(), "ws://127.0.0.1:3/ws?arg=a");
  assert.equal(
    webSocketUrl("https://h/p/apis/v1alpha1/cloudshell/x/").toString(),
    "wss://h/p/apis/v1alpha1/cloudshell/x/ws",
  );
});

Deno.test("plainText drops colours, titles and carriage returns", () => {
  assert.equal(plainText("\x1b]0;t\x07\x1b[?2004h\x1b[1;32mok\x1b[0m\r\n"), "ok\n");
});

Deno.test("a shell over ttyd: output, exit codes, title, preferences, URL arguments", async () => {
  await withTtyd(
    ["-W", "-a", "-t", "titleFixed=QA", "sh", "-c", 'echo "args:$*"; exec sh', "sh"],
    async (page) => {
      await using term = await TtydSession.connect(`${page}/?arg=one&arg=two`);
      await term.waitFor("args:one two");
      assert.deepEqual(await term.run("echo $((6*7))"), { output: "42", code: 0 });
      assert.equal((await term.run("false")).code, 1);
      assert.match(term.title ?? "", /sh/);
      assert.equal(term.preferences?.titleFixed, "QA");
    },
  );
});

Deno.test("Origin and credential: a wrong Origin and a missing login are refused", async () => {
  await withTtyd(["-W", "-O", "-c", "qa:s3cret", "sh"], async (page) => {
    await assert.rejects(
      TtydSession.connect(page, { origin: "https://evil.example.com", credential: "qa:s3cret" }),
      TtydRefused,
    );
    await assert.rejects(TtydSession.connect(page), TtydRefused);
    await using term = await TtydSession.connect(page, { credential: "qa:s3cret" });
    assert.equal((await term.run("echo in")).output, "in");
  });
});
