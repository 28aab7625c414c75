/**
 * The terminal page's reading of the launcher's notices (OSC 7681) and of its own address, without a
 * browser (the page in Chromium: tests/e2e/terminal_page_test.ts).
 */
import assert from "node:assert/strict";
import {
  endMessage,
  extendHint,
  formatLeft,
  parseNotice,
} from "../../../../images/terminal/page/src/notice.ts";
import { endpoints } from "../../../../images/terminal/page/src/endpoints.ts";

Deno.test("page notices: the time left, with what the extend command needs", () => {
  assert.deepEqual(parseNotice("cloudshell;left=240;warn=300;name=my-shell;namespace=team;ttl=600"), {
    kind: "time",
    left: 240,
    warn: 300,
    name: "my-shell",
    namespace: "team",
    ttl: 600,
  });
  // No TTL: nothing to count down.
  assert.deepEqual(parseNotice("cloudshell;left=;warn=300;name=;namespace=;ttl="), {
    kind: "time",
    left: undefined,
    warn: 300,
    name: undefined,
    namespace: undefined,
    ttl: undefined,
  });
});

Deno.test("page notices: the end and its reason; anything else is not ours", () => {
  assert.deepEqual(parseNotice("cloudshell;end=ttl"), { kind: "end", reason: "ttl" });
  assert.deepEqual(parseNotice("cloudshell;end=once"), { kind: "end", reason: "once" });
  assert.deepEqual(parseNotice("cloudshell;end=shutdown"), { kind: "end", reason: "shutdown" });
  // A reason this page does not know yet is still an end.
  assert.deepEqual(parseNotice("cloudshell;end=later"), { kind: "end", reason: "shutdown" });
  assert.equal(parseNotice("other;left=5"), undefined);
  assert.equal(parseNotice("cloudshell;warn=5"), undefined);
});

Deno.test("page notices: what the page writes is only ever the launcher's facts, never markup or commands", () => {
  // Names are Kubernetes names: anything else is dropped rather than shown in the extend command.
  const odd = parseNotice("cloudshell;left=10;warn=300;name=$(rm -rf x);namespace=<b>;ttl=1e9");
  assert.equal(odd?.kind, "time");
  if (odd?.kind !== "time") return;
  assert.equal(odd.name, undefined);
  assert.equal(odd.namespace, undefined);
  assert.equal(odd.ttl, undefined);
  assert.equal(
    extendHint(odd),
    `kubectl patch cloudshell <name> --type merge -p '{"spec":{"ttlSecondsAfterStarted":3600}}'`,
  );
});

Deno.test("page notices: time left in words, the extend command, the end page's reasons", () => {
  assert.equal(formatLeft(45), "45 s");
  assert.equal(formatLeft(119.4), "119 s");
  assert.equal(formatLeft(119.6), "2 min");
  assert.equal(formatLeft(240), "4 min");
  assert.equal(formatLeft(7500), "2 h 5 min");
  assert.equal(formatLeft(-3), "0 s");
  assert.equal(
    extendHint({ kind: "time", warn: 300, name: "my-shell", namespace: "team", ttl: 600 }),
    `kubectl patch cloudshell my-shell -n team --type merge -p '{"spec":{"ttlSecondsAfterStarted":4200}}'`,
  );
  for (const reason of ["ttl", "shutdown", "once", "exited", "failed", "unreachable"] as const) {
    assert.ok(endMessage(reason).length > 10, reason);
  }
});

Deno.test("page endpoints: under the page's path prefix, with its query string for ttyd's -a", () => {
  assert.deepEqual(
    endpoints({
      protocol: "https:",
      host: "shells.example:8443",
      pathname: "/team/my-shell/",
      search: "?arg=ls",
    }),
    {
      tokenUrl: "https://shells.example:8443/team/my-shell/token",
      wsUrl: "wss://shells.example:8443/team/my-shell/ws?arg=ls",
    },
  );
  assert.deepEqual(endpoints({ protocol: "http:", host: "127.0.0.1:7681", pathname: "/", search: "" }), {
    tokenUrl: "http://127.0.0.1:7681/token",
    wsUrl: "ws://127.0.0.1:7681/ws",
  });
  // No trailing slash (a route that does not redirect): the same endpoints.
  assert.equal(
    endpoints({ protocol: "http:", host: "h", pathname: "/team/my-shell", search: "" }).wsUrl,
    "ws://h/team/my-shell/ws",
  );
});
