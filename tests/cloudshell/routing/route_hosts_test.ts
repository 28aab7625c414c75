import assert from "node:assert/strict";
import {
  allowedValue,
  hostFor,
  parseHostPattern,
  shellOfHost,
} from "../../../controller/cloudshell/routing/route_hosts.ts";

Deno.test("parseHostPattern(): per-shell, shared and CloudTTY's hostless layout", () => {
  assert.deepEqual(parseHostPattern("{name}.{namespace}.shells.example.com"), {
    kind: "perShell",
    text: "{name}.{namespace}.shells.example.com",
  });
  assert.deepEqual(parseHostPattern("ns-{namespace}.sh-{name}.example.com"), {
    kind: "perShell",
    text: "ns-{namespace}.sh-{name}.example.com",
  });
  assert.deepEqual(parseHostPattern("shells.example.com"), { kind: "shared", host: "shells.example.com" });
  assert.deepEqual(parseHostPattern("*"), { kind: "any" });
});

Deno.test("parseHostPattern(): patterns that could give two shells one host are refused", () => {
  // Shell a-b of namespace c and shell a of namespace b-c would both be a-b-c.shells.example.com.
  assert.match(parseHostPattern("{name}-{namespace}.shells.example.com") as string, /'\.' between/);
  assert.match(parseHostPattern("{name}.shells.example.com") as string, /once each/);
  assert.match(parseHostPattern("{name}.{name}.{namespace}.x") as string, /once each/);
  assert.match(parseHostPattern("{name}.{namespace}.Shells_.com") as string, /host name/);
  assert.match(parseHostPattern("https://shells.example.com") as string, /expected a host/);
});

Deno.test("hostFor() and shellOfHost() are inverse under a per-shell pattern", () => {
  const pattern = { kind: "perShell", text: "{name}.{namespace}.shells.example.com" } as const;
  for (const [name, namespace] of [["a-b", "c"], ["a", "b-c"], ["web.v2", "team-a"]]) {
    const host = hostFor(pattern, name, namespace)!;
    assert.deepEqual(shellOfHost(pattern, host), { name, namespace });
  }
  assert.equal(hostFor(pattern, "a-b", "c") === hostFor(pattern, "a", "b-c"), false);
  const reversed = { kind: "perShell", text: "{namespace}.{name}.example.com" } as const;
  assert.deepEqual(shellOfHost(reversed, "team.web.v2.example.com"), { name: "web.v2", namespace: "team" });
  assert.equal(shellOfHost(pattern, "bank.example.com"), undefined);
  assert.equal(shellOfHost({ kind: "shared", host: "s.example.com" }, "s.example.com"), undefined);
  assert.equal(hostFor({ kind: "shared", host: "s.example.com" }, "a", "b"), "s.example.com");
  assert.equal(hostFor({ kind: "any" }, "a", "b"), undefined);
});

Deno.test("allowedValue(): exact values, *.domain for its subdomains, * for anything", () => {
  assert.ok(allowedValue(["shells.example.com"], "shells.example.com"));
  assert.ok(!allowedValue(["shells.example.com"], "x.shells.example.com"));
  assert.ok(allowedValue(["*.example.com"], "x.example.com"));
  assert.ok(!allowedValue(["*.example.com"], "example.com"));
  assert.ok(!allowedValue(["*.example.com"], "evil-example.com"));
  assert.ok(allowedValue(["*"], "anything"));
  assert.ok(!allowedValue([], "anything"));
});
