/**
 * The launcher's part in a session's life (templates/launcher.sh): a command that is not in the image, the
 * idle timeout, the warning before the TTL, and what a session is told when it ends. Real ttyd on loopback.
 */
import assert from "node:assert/strict";
import { TtydSession } from "../harness/ttyd_client.ts";
import { withLauncher } from "./_launcher.ts";
import { LAUNCHER_SCRIPT } from "../../controller/cloudshell/template/mod.ts";
import { onPath } from "../harness/commands.ts";

Deno.test("launcher: its text survives the kubelet's expansion of a pod's command", () => {
  // The built-in template passes the launcher as an argument of the container's command, where the kubelet
  // replaces $(NAME) by the variable's value and "$$" by "$".
  assert.doesNotMatch(LAUNCHER_SCRIPT, /\$\$/);
  assert.doesNotMatch(LAUNCHER_SCRIPT, /\$\([A-Za-z_][A-Za-z0-9_]*\)/);
});

Deno.test("launcher: a command whose program is not in the image ends it at once, naming it", async () => {
  await withLauncher("kubeclt get pods", ["--writable"], async ({ status, terminationMessage }) => {
    assert.equal((await status).code, 127);
    assert.match(
      await terminationMessage(),
      /^CommandNotFound: the command "kubeclt" is not in the terminal image/,
    );
  }, { waitForPage: false });
  // Builtins, programs on PATH and commands the shell must interpret start as before.
  for (const command of ["exec sh", "sh", 'X=1 sh -c "echo $X"', "kubectl version | cat"]) {
    await withLauncher(command, ["--writable"], async ({ page, terminationMessage }) => {
      assert.equal(await fetch(`http://${page}/`).then((r) => (r.body?.cancel(), r.status)), 200);
      assert.equal(await terminationMessage(), "");
    });
  }
});

Deno.test("launcher: with no client for the idle timeout it ends 0 and reports IdleTimeout", async () => {
  await withLauncher("sh", ["--writable"], async ({ status, terminationMessage }) => {
    const started = Date.now();
    assert.equal((await status).code, 0);
    assert.ok(Date.now() - started >= 1_500, "ended before the idle timeout");
    assert.match(await terminationMessage(), /^IdleTimeout: no client was connected to the terminal for 2s/);
  }, { session: { "idle-timeout": "2" } });
});

Deno.test("launcher: a connected client keeps it alive past the idle timeout; leaving starts the clock", async () => {
  await withLauncher("sh", ["--writable"], async ({ page, status, terminationMessage }) => {
    const term = await TtydSession.connect(page);
    // A silent client counts as much as a busy one.
    await new Promise((r) => setTimeout(r, 4_000));
    assert.equal((await term.run("echo still-here")).output, "still-here");
    await term.close();
    assert.equal((await status).code, 0);
    assert.match(await terminationMessage(), /^IdleTimeout:/);
  }, { session: { "idle-timeout": "2" } });
});

Deno.test("launcher: the warning before the TTL, again after the TTL moved, and why the session ended", async () => {
  const now = () => Math.floor(Date.now() / 1000);
  await withLauncher("sh", ["--writable"], async ({ page, pid, status, setSession }) => {
    const term = await TtydSession.connect(page);
    await term.run("true");
    await setSession("ends-at", String(now() + 100));
    await term.waitFor(
      /This session ends in \d+ seconds, when its TTL runs out\. To keep it longer, raise the TTL: kubectl patch cloudshell shell -n team --type merge -p '\{"spec":\{"ttlSecondsAfterStarted":4200\}\}'/,
    );
    // Raised, but still within the warning: told again, with the new end.
    const mark = term.text().length;
    await setSession("ends-at", String(now() + 170));
    await term.waitFor(/This session ends in about 3 minutes/, 10_000, mark);
    // Its end: the operator stops the pod at the TTL, and the session says why.
    await setSession("ends-at", String(now()));
    Deno.kill(pid, "SIGTERM");
    await term.closed();
    assert.match(term.text(), /This session has ended: its time \(the CloudShell's TTL\) is up\./);
    await status;
  }, { session: { "warn-before": "300", ttl: "600", name: "shell", namespace: "team" } });
});

/** The notices the launcher sent the terminal image's page: the payloads of `ESC ] 7681 ; cloudshell ; ... BEL`. */
function pageNotices(term: TtydSession): string[] {
  const [esc, bel] = [String.fromCharCode(27), String.fromCharCode(7)];
  return term.output.split(`${esc}]7681;cloudshell;`).slice(1).map((rest) =>
    rest.slice(0, rest.indexOf(bel))
  );
}

async function noticeCount(term: TtydSession, count: number): Promise<string[]> {
  for (let waited = 0; waited < 10_000; waited += 100) {
    if (pageNotices(term).length >= count) return pageNotices(term);
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`fewer than ${count} page notices: ${JSON.stringify(pageNotices(term))}`);
}

Deno.test("launcher: tells the page (OSC 7681) the time left, again when the TTL moves, and why it ended", async () => {
  const now = () => Math.floor(Date.now() / 1000);
  await withLauncher("sh", ["--writable"], async ({ page, pid, status, setSession }) => {
    const term = await TtydSession.connect(page);
    await term.run("true");
    const [first] = await noticeCount(term, 1);
    const left = Number(/^left=(\d+);/.exec(first)?.[1]);
    assert.ok(left > 2980 && left <= 3000, first);
    assert.match(first, /;warn=300;name=shell;namespace=team;ttl=600$/);
    // Seconds left, not a time of day; and xterm.js shows nothing of it (nor does the plain text here).
    assert.doesNotMatch(term.text(), /7681|cloudshell;/);

    await setSession("ends-at", String(now() + 200));
    const moved = (await noticeCount(term, 2))[1];
    assert.match(moved, /^left=(19\d|200);/);
    // Only a change is told again.
    await new Promise((r) => setTimeout(r, 2_000));
    assert.equal(pageNotices(term).length, 2);

    await setSession("ends-at", String(now()));
    Deno.kill(pid, "SIGTERM");
    await term.closed();
    assert.equal(pageNotices(term).at(-1), "end=ttl");
    await status;
  }, {
    session: {
      "ends-at": String(now() + 3000),
      "warn-before": "300",
      ttl: "600",
      name: "shell",
      namespace: "team",
    },
  });
});

Deno.test("launcher: a session that opens within the warning time is warned too; none before it", async () => {
  const ends = String(Math.floor(Date.now() / 1000) + 1000);
  await withLauncher("sh", ["--writable"], async ({ page, setSession }) => {
    const early = await TtydSession.connect(page);
    await early.run("true");
    await new Promise((r) => setTimeout(r, 2_000));
    assert.doesNotMatch(early.text(), /This session ends/);
    await early.close();
    await setSession("warn-before", "1200");
    await using late = await TtydSession.connect(page);
    // Generous: on a loaded machine the launcher's once-a-second look and the warning can lag.
    await late.waitFor(/This session ends in about 1[67] minutes/, 30_000);
  }, { session: { "ends-at": ends, "warn-before": "60" } });
});

// Looked up, not spawned: spawning a missing program throws at once, before any skip could run.
const tmux = onPath("tmux");
if (!tmux) console.error("SKIPPED the reconnect tests: tmux is not on PATH (run `bash hack/apt.sh` as root)");

Deno.test({
  name: "launcher: with tmux a dropped connection comes back to the same shell, its job and its output",
  ignore: !tmux,
  fn: async () => {
    // tmux redraws with cursor movements, so matches here allow for lost spaces and line breaks.
    await withLauncher("bash", ["--writable"], async ({ page }) => {
      const first = await TtydSession.connect(page);
      await first.waitFor(/[$#] /);
      first.type("export MARK=kept-$((40+2)); sleep 1000 & echo first-output-$((6*7))");
      await first.waitFor("first-output-42");
      await first.close();
      await using again = await TtydSession.connect(page);
      // The screen as it was: the scrollback of the same shell.
      await again.waitFor("first-output-42");
      const mark = again.text().length;
      again.type("echo mark-is-$MARK; jobs");
      await again.waitFor("mark-is-kept-42", 15_000, mark);
      await again.waitFor(/Running\s*sleep 1000/, 15_000, mark);
      // A second tab sees the same session.
      await using tab = await TtydSession.connect(page);
      await tab.waitFor("mark-is-kept-42");
      again.type("echo from-the-other-$((1+1))");
      await tab.waitFor("from-the-other-2");
    }, { env: { CLOUDSHELL_RECONNECT: "tmux" } });
  },
});

Deno.test("launcher: without CLOUDSHELL_RECONNECT (CloudTTY's image) each connection gets its own shell", async () => {
  await withLauncher("sh", ["--writable"], async ({ page }) => {
    const first = await TtydSession.connect(page);
    assert.equal((await first.run("export MARK=first; echo set")).output, "set");
    await first.close();
    await using again = await TtydSession.connect(page);
    assert.equal((await again.run('echo "[$MARK]"')).output, "[]");
  });
});

Deno.test("launcher: once: a second client is told why it cannot have the terminal; the first one's end ends it", async () => {
  await withLauncher("sh", ["--writable", "--once"], async ({ page, status }) => {
    const first = await TtydSession.connect(page);
    assert.equal((await first.run("echo first")).output, "first");
    const second = await TtydSession.connect(page);
    await second.waitFor(
      "This terminal serves one client only (once), and another one has it. Each user needs a CloudShell of their own.",
    );
    await second.closed();
    assert.ok(pageNotices(second).includes("end=once"), "the page is told why too");
    assert.ok(!pageNotices(first).some((n) => n.startsWith("end=")));
    assert.equal((await first.run("echo still-mine")).output, "still-mine");
    await first.close();
    assert.equal((await status).code, 0);
  });
});

const busybox = onPath("busybox");
if (!busybox) {
  console.error("SKIPPED the BusyBox session tests: busybox is not on PATH (run `bash hack/apt.sh` as root)");
}

Deno.test({
  name: "launcher: under BusyBox's sh (CloudTTY's Alpine image): command check, idle timeout, warning, once",
  ignore: !busybox,
  fn: async (t) => {
    const shell = [busybox!, "sh"];
    await t.step("a command not in the image", async () => {
      await withLauncher("kubeclt", ["--writable"], async ({ status, terminationMessage }) => {
        assert.equal((await status).code, 127);
        assert.match(await terminationMessage(), /^CommandNotFound: the command "kubeclt"/);
      }, { shell, waitForPage: false });
    });
    await t.step("the idle timeout", async () => {
      await withLauncher("sh", ["--writable"], async ({ status, terminationMessage }) => {
        assert.equal((await status).code, 0);
        assert.match(await terminationMessage(), /^IdleTimeout:/);
      }, { shell, session: { "idle-timeout": "2" } });
    });
    await t.step("the warning before the TTL", async () => {
      const ends = String(Math.floor(Date.now() / 1000) + 200);
      await withLauncher("sh", ["--writable"], async ({ page }) => {
        await using term = await TtydSession.connect(page);
        await term.waitFor(/This session ends in about [34] minutes/);
      }, { shell, session: { "ends-at": ends, "warn-before": "300" } });
    });
    await t.step("once", async () => {
      await withLauncher("sh", ["--writable", "--once"], async ({ page, status }) => {
        const first = await TtydSession.connect(page);
        await first.run("true");
        await using second = await TtydSession.connect(page);
        await second.waitFor("This terminal serves one client only (once)");
        await first.close();
        assert.equal((await status).code, 0);
      }, { shell });
    });
  },
});
