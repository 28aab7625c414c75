/**
 * A session's life, end to end with real ttyd in pods the kubelet stand-in runs: a command that is not in
 * the image, status.expirationTime and the Events when the TTL moves, the warning before the TTL ends, the
 * idle timeout (and a connected client holding it off). One control plane and one operator for the file.
 */
import assert from "node:assert/strict";
import { type CloudShell, CloudShells } from "../../controller/cloudshell/api.ts";
import { createCloudShell, readyCondition, waitForCloudShell } from "./_operator.ts";
import { waitForEvent } from "./_support.ts";
import { findBrowser, openTerminalPage } from "../harness/browser.ts";
import { openTerminal, readyShell, terminalCluster, terminalOperator, testOutputDir } from "./_terminal.ts";

const ended = (cs: CloudShell) => cs.status?.phase === "Complete" || cs.status?.phase === "Failed";

Deno.test("a session's life: command check, TTL end and warning, idle timeout", async (t) => {
  await using cluster = await terminalCluster();
  const client = cluster.client;
  const ns = await cluster.namespace("e2e-session");
  await using _op = await terminalOperator(cluster, ns);

  await t.step("a command whose program is not in the image ends the shell Failed, naming it", async () => {
    await createCloudShell(client, ns, "typo", { commandAction: "kubeclt get pods" });
    const cs = await waitForCloudShell(client, ns, "typo", "Failed", ended, 60_000);
    assert.equal(cs.status?.phase, "Failed");
    const ready = readyCondition(cs);
    assert.equal(ready?.reason, "CommandNotFound");
    assert.match(ready?.message ?? "", /the command "kubeclt" is not in the terminal image/);
    const event = await waitForEvent(client, ns, "typo", "Warning", "CommandNotFound");
    assert.match(event.message, /kubeclt/);
  });

  await t.step(
    "expirationTime moves with the TTL, with an Event; the terminal warns, then says why it ended",
    async () => {
      const url = await readyShell(client, ns, "timed", {
        ttlSecondsAfterStarted: 3600,
        commandAction: "bash",
      });
      const first = await client.get<CloudShell>(CloudShells, ns, "timed");
      const started = Date.parse(first.status!.lastScheduleTime!);
      assert.equal(Date.parse(first.status!.expirationTime!), started + 3600_000);
      await using term = await openTerminal(url);
      assert.equal((await term.run("echo alive")).output, "alive");
      assert.doesNotMatch(term.text(), /This session ends/);

      // Four minutes left from now: within the default five-minute warning.
      const ttl = Math.ceil((Date.now() - started) / 1000) + 240;
      await client.patch(CloudShells, ns, "timed", { spec: { ttlSecondsAfterStarted: ttl } }, "merge");
      const moved = await waitForCloudShell(
        client,
        ns,
        "timed",
        "a new expirationTime",
        (cs) => cs.status?.expirationTime !== first.status!.expirationTime,
      );
      assert.equal(Date.parse(moved.status!.expirationTime!), started + ttl * 1000);
      const shortened = await waitForEvent(client, ns, "timed", "Normal", "TTLShortened");
      assert.match(shortened.message, new RegExp(`now ends at ${moved.status!.expirationTime}`));
      await term.waitFor(
        new RegExp(
          `This session ends in about [34] minutes, when its TTL runs out\\. To keep it longer, raise the TTL: ` +
            `kubectl patch cloudshell timed -n ${ns} --type merge`,
        ),
        30_000,
      );

      await client.patch(CloudShells, ns, "timed", { spec: { ttlSecondsAfterStarted: ttl + 600 } }, "merge");
      await waitForEvent(client, ns, "timed", "Normal", "TTLExtended");

      // The end: a TTL that runs out in a few seconds, warned about and then told.
      const soon = Math.ceil((Date.now() - started) / 1000) + 12;
      await client.patch(CloudShells, ns, "timed", { spec: { ttlSecondsAfterStarted: soon } }, "merge");
      await term.waitFor(/This session ends in \d+ seconds, when its TTL runs out/, 15_000);
      await term.closed();
      assert.match(term.text(), /This session has ended: its time \(the CloudShell's TTL\) is up\./);
      const done = await waitForCloudShell(client, ns, "timed", "Complete", ended, 30_000);
      assert.equal(readyCondition(done)?.reason, "Expired");
      assert.ok(Date.parse(done.status!.expirationTime!) > started + 1000, "expirationTime is when it ended");
    },
  );

  await t.step(
    "with no client for the idle timeout the shell ends Complete, IdleTimeout, with a Warning",
    async () => {
      await createCloudShell(client, ns, "idle", { commandAction: "bash", idleTimeoutSeconds: 3 });
      const cs = await waitForCloudShell(client, ns, "idle", "Complete", ended, 60_000);
      assert.equal(cs.status?.phase, "Complete");
      assert.equal(readyCondition(cs)?.reason, "IdleTimeout");
      assert.match(readyCondition(cs)?.message ?? "", /no client was connected to the terminal for 3s/);
      await waitForEvent(client, ns, "idle", "Warning", "IdleTimeout");
    },
  );

  await t.step(
    "a connected client, even a silent one, holds the idle timeout off; leaving starts it",
    async () => {
      // A long idle timeout first, so the shell cannot time out before the client is there on a busy machine;
      // then a short one, which reaches the running terminal through its pod's annotations.
      const url = await readyShell(client, ns, "watched", { commandAction: "bash", idleTimeoutSeconds: 600 });
      const term = await openTerminal(url);
      await client.patch(CloudShells, ns, "watched", { spec: { idleTimeoutSeconds: 3 } }, "merge");
      await new Promise((r) => setTimeout(r, 8_000));
      assert.equal((await term.run("echo still-here")).output, "still-here");
      assert.equal((await client.get<CloudShell>(CloudShells, ns, "watched")).status?.phase, "Ready");
      await term.close();
      const cs = await waitForCloudShell(client, ns, "watched", "Complete", ended, 30_000);
      assert.equal(readyCondition(cs)?.reason, "IdleTimeout");
    },
  );

  await t.step(
    "a client that drops its connection comes back to its shell variable and running job",
    async () => {
      // The stand-in's "image" is the host: it asks for tmux as the operator's terminal image does.
      const url = await readyShell(client, ns, "sticky", {
        commandAction: "bash",
        env: [{ name: "CLOUDSHELL_RECONNECT", value: "tmux" }],
      });
      const first = await openTerminal(url);
      await first.waitFor(/[$#] /);
      first.type("export MARK=kept-$((40+2)); sleep 1000 & echo first-output-$((6*7))");
      await first.waitFor("first-output-42");
      await first.close();
      await using again = await openTerminal(url);
      await again.waitFor("first-output-42");
      const mark = again.text().length;
      again.type("echo mark-is-$MARK; jobs");
      // tmux redraws with cursor movements: spaces may be missing from the plain text.
      await again.waitFor("mark-is-kept-42", 15_000, mark);
      await again.waitFor(/Running\s*sleep 1000/, 15_000, mark);
    },
  );

  const browser = findBrowser();
  if ("missing" in browser) console.error(`SKIPPED the browser steps: ${browser.missing}`);
  await t.step({
    name: "in Chromium: the warning, then the end of the session and why",
    ignore: "missing" in browser,
    fn: async () => {
      // A TTL that ends about 45 s after the Job's creation: time for Chromium to start on a busy machine.
      await createCloudShell(client, ns, "page-end", { commandAction: "bash", ttlSecondsAfterStarted: 45 });
      const cs = await waitForCloudShell(
        client,
        ns,
        "page-end",
        "Ready",
        (c) => c.status?.phase === "Ready" && !!c.status.accessUrl,
      );
      const page = await openTerminalPage((browser as { chromium: string }).chromium, {
        url: cs.status!.accessUrl!,
        waitFor: [
          "when its TTL runs out. To keep it longer, raise the TTL",
          "This session has ended: its time (the CloudShell's TTL) is up.",
        ],
        screenshot: `${await testOutputDir("session")}/end.png`,
        timeoutMs: 90_000,
      });
      assert.ok(page.lines.some((l) => l.includes("This session has ended")), page.lines.join("\n"));
      // The launcher's notices for the terminal image's page (OSC 7681) leave no trace on ttyd's stock page.
      assert.doesNotMatch(page.lines.join("\n"), /7681|cloudshell;|left=/);
      console.error(`the page's overlay at the end: ${JSON.stringify(page.overlay)}`);
    },
  });

  await t.step({
    name: "in Chromium: a second client of a once shell is told why it cannot connect",
    ignore: "missing" in browser,
    fn: async () => {
      const url = await readyShell(client, ns, "single", { commandAction: "bash", once: true });
      await using first = await openTerminal(url);
      assert.equal((await first.run("echo mine")).output, "mine");
      const page = await openTerminalPage((browser as { chromium: string }).chromium, {
        url,
        waitFor: ["This terminal serves one client only (once), and another one has it."],
        screenshot: `${await testOutputDir("session")}/once.png`,
        timeoutMs: 60_000,
      });
      assert.ok(page.lines.some((l) => l.includes("Each user needs a CloudShell of their own.")));
      assert.equal((await first.run("echo still-mine")).output, "still-mine");
    },
  });
});
