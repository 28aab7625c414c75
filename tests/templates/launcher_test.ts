/**
 * The launcher (templates/launcher.sh) with the real, pinned ttyd, run as the built-in template runs it:
 * `/bin/sh -c <launcher> cloudshell-launcher <ttyd flags>` with COMMAND in the environment. Each test adds
 * `-p <free port> -i lo` after the operator's flags, so ttyd listens on loopback only.
 */
import assert from "node:assert/strict";
import { onPath } from "../harness/commands.ts";
import { TtydRefused, TtydSession } from "../harness/ttyd_client.ts";
import { type Launcher, type LaunchOptions, withLauncher as launch } from "./_launcher.ts";

/** The shell that runs the launcher: /bin/sh, or BusyBox's (Alpine images such as CloudTTY's have only it). */
let shell = ["/bin/sh"];

/** The launcher under `shell`, with `env` added to its environment. */
function withLauncher(
  command: string,
  flags: string[],
  fn: (t: Launcher) => Promise<void>,
  env: Record<string, string> = {},
  opts: LaunchOptions = {},
): Promise<void> {
  return launch(command, flags, fn, { ...opts, env, shell });
}

Deno.test("launcher: a writable shell runs the command, with the ping interval the operator sets", async () => {
  await withLauncher("sh", ["--writable", "--ping-interval", "30"], async ({ page }) => {
    await using term = await TtydSession.connect(page);
    assert.deepEqual(await term.run("echo $((6*7))"), { output: "42", code: 0 });
  });
});

Deno.test("launcher: CLOUDSHELL_INDEX names the page ttyd serves (the terminal image's own); missing, ttyd's", async () => {
  const dir = await Deno.makeTempDir({ prefix: "launcher-index-" });
  try {
    await Deno.writeTextFile(`${dir}/index.html`, "<!DOCTYPE html><title>our page</title>");
    await withLauncher("sh", ["--writable"], async ({ page }) => {
      assert.match(await (await fetch(`http://${page}/`)).text(), /<title>our page<\/title>/);
    }, { CLOUDSHELL_INDEX: `${dir}/index.html` });
    await withLauncher("sh", ["--writable"], async ({ page }) => {
      assert.match(await (await fetch(`http://${page}/`)).text(), /<title>ttyd - Terminal<\/title>/);
    }, { CLOUDSHELL_INDEX: `${dir}/missing.html` });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("launcher: without --writable the terminal ignores input", async () => {
  await withLauncher("echo ready; exec sh", [], async ({ page }) => {
    await using term = await TtydSession.connect(page);
    await term.waitFor("ready");
    term.type("echo typed-$((1+1))");
    await new Promise((r) => setTimeout(r, 1000));
    assert.doesNotMatch(term.text(), /typed-2/);
  });
});

Deno.test("launcher: URL arguments reach the command, appended or as $@", async () => {
  // A command that exits at once may lose its output in ttyd; these stay until the test ends.
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/show-args`, '#!/bin/sh\necho "args $*"\nexec sleep 60\n', {
      mode: 0o755,
    });
    await withLauncher(`${dir}/show-args`, ["-a"], async ({ page }) => {
      await using term = await TtydSession.connect(`${page}/?arg=one&arg=two%20three`);
      await term.waitFor("args one two three");
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
  await withLauncher('echo "n=$# first=$1"; exec sleep 60', ["--url-arg"], async ({ page }) => {
    await using term = await TtydSession.connect(`${page}/?arg=a%20b&arg=c`);
    await term.waitFor("n=2 first=a b");
  });
});

Deno.test("launcher: --check-origin refuses another site's page", async () => {
  await withLauncher("sh", ["--writable", "--check-origin"], async ({ page }) => {
    await assert.rejects(TtydSession.connect(page, { origin: "https://evil.example.com" }), TtydRefused);
    await using term = await TtydSession.connect(page); // the page's own origin
    assert.equal((await term.run("echo in")).output, "in");
  });
});

Deno.test("launcher: TTYD_CREDENTIAL from the environment requires the login and stays out of sessions", async () => {
  await withLauncher("sh", ["--writable"], async ({ page }) => {
    await assert.rejects(TtydSession.connect(page), TtydRefused);
    await assert.rejects(TtydSession.connect(page, { credential: "qa:wrong" }), TtydRefused);
    await using term = await TtydSession.connect(page, { credential: "qa:s3cret" });
    assert.equal((await term.run('echo "[${TTYD_CREDENTIAL:-}]"')).output, "[]");
  }, { TTYD_CREDENTIAL: "qa:s3cret" });
});

Deno.test("launcher: ttyd's log (the container log) holds no login, and still says why a client was refused", async () => {
  const login = "qa:s3cret-Log-7c1d";
  let log = "";
  await withLauncher(
    "sh",
    ["--writable", "--check-origin"],
    async ({ page }) => {
      await assert.rejects(TtydSession.connect(page, { credential: "qa:wrong" }), TtydRefused);
      await assert.rejects(
        TtydSession.connect(page, { credential: login, origin: "https://evil.example.com" }),
        TtydRefused,
      );
      await using term = await TtydSession.connect(page, { credential: login });
      assert.equal((await term.run("echo in")).output, "in");
    },
    { TTYD_CREDENTIAL: login },
    { onLog: (text) => log = text },
  );
  // ttyd 1.7 at its default level prints `credential: <base64>`; neither form may be there.
  for (const secret of [login, btoa(login), "s3cret-Log-7c1d"]) {
    assert.ok(!log.includes(secret), `the login is in the log:\n${log}`);
  }
  assert.doesNotMatch(log, /credential:/);
  assert.match(log, /different origin/, `the refused Origin is not in the log:\n${log}`);
});

Deno.test("launcher: behind an authenticating proxy, ttyd serves only requests carrying its header", async () => {
  await withLauncher(
    "sh",
    ["--writable", "--check-origin", "--auth-header", "X-Forwarded-User"],
    async ({ page }) => {
      const without = await fetch(`http://${page}/`);
      await without.body?.cancel();
      assert.equal(without.status, 407);
      const proxied = await fetch(`http://${page}/`, { headers: { "X-Forwarded-User": "alice" } });
      await proxied.body?.cancel();
      assert.equal(proxied.status, 200);
      await assert.rejects(TtydSession.connect(page), TtydRefused);
      await using term = await TtydSession.connect(page, { headers: { "X-Forwarded-User": "alice" } });
      assert.equal((await term.run("echo in")).output, "in");
    },
  );
});

Deno.test("launcher: listens on IPv6 loopback too, where the host has IPv6", async () => {
  if (!(await Deno.stat("/proc/net/if_inet6").then(() => true, () => false))) return;
  await withLauncher("sh", ["--writable"], async ({ page }) => {
    const port = page.split(":")[1];
    await using term = await TtydSession.connect(`[::1]:${port}`);
    assert.equal((await term.run("echo v6")).output, "v6");
  });
});

Deno.test("launcher: SIGTERM tells each session it ended before ttyd stops", async () => {
  await withLauncher("sh", ["--writable"], async ({ page, pid, status }) => {
    const term = await TtydSession.connect(page);
    await term.run("true");
    Deno.kill(pid, "SIGTERM");
    await term.closed();
    // ttyd's page keeps its "Press Enter to Reconnect" overlay; the terminal above it says why.
    assert.match(term.text(), /This session has ended/);
    await status;
  });
});

Deno.test("launcher: with --once the container exits 0 after the one client left", async () => {
  await withLauncher("sh", ["--writable", "--once"], async ({ page, status }) => {
    const term = await TtydSession.connect(page);
    await term.run("true");
    await term.close();
    assert.equal((await status).code, 0);
  });
});

/** BusyBox, installed by hack/apt.sh where it can be (as root with apt-get). */
const BUSYBOX = onPath("busybox");
if (!BUSYBOX) {
  console.error("SKIPPED the BusyBox launcher test: busybox is not on PATH (run `bash hack/apt.sh` as root)");
}

Deno.test({
  name: "launcher: the same under BusyBox's sh, where it is installed",
  ignore: !BUSYBOX,
}, async (t) => {
  shell = [BUSYBOX!, "sh"];
  try {
    await t.step("URL arguments", async () => {
      await withLauncher('echo "n=$# first=$1"; exec sleep 60', ["-a"], async ({ page }) => {
        await using term = await TtydSession.connect(`${page}/?arg=a%20b&arg=c`);
        await term.waitFor("n=2 first=a b");
      });
    });
    await t.step("a login from TTYD_CREDENTIAL", async () => {
      await withLauncher("sh", ["--writable"], async ({ page }) => {
        await assert.rejects(TtydSession.connect(page), TtydRefused);
        await using term = await TtydSession.connect(page, { credential: "qa:s3cret" });
        assert.equal((await term.run("echo in")).output, "in");
      }, { TTYD_CREDENTIAL: "qa:s3cret" });
    });
    await t.step("the end of a session", async () => {
      await withLauncher("sh", ["--writable"], async ({ page, pid, status }) => {
        const term = await TtydSession.connect(page);
        await term.run("true");
        Deno.kill(pid, "SIGTERM");
        await term.closed();
        assert.match(term.text(), /This session has ended/);
        await status;
      });
    });
  } finally {
    shell = ["/bin/sh"];
  }
});
