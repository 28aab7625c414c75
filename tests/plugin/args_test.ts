/**
 * The plugin's command line: kubectl's global flags anywhere, each command's flags and defaults, and a
 * usage error as exit code 2 with one line naming the flag.
 */
import assert from "node:assert/strict";
import { type Invocation, parseArgs } from "../../plugin/args.ts";

function run(...argv: string[]): Invocation {
  const parsed = parseArgs(argv, "1.2.3");
  if (parsed.kind !== "run") throw new Error(`expected a command, got exit ${parsed.code}: ${parsed.output}`);
  return parsed.invocation;
}

function usageError(...argv: string[]): string {
  const parsed = parseArgs(argv, "1.2.3");
  assert.equal(parsed.kind, "exit");
  assert.equal((parsed as { code: number }).code, 2, JSON.stringify(parsed));
  const output = (parsed as { output: string }).output;
  assert.equal(output.split("\n").length, 2, output);
  return output.split("\n")[0];
}

Deno.test("create: a bash shell on ClusterIP by default; global flags before and after the command", () => {
  const inv = run("-n", "dev", "create", "--context=kind", "--kubeconfig", "/k", "-o", "json");
  assert.equal(inv.command, "create");
  if (inv.command !== "create") return;
  assert.deepEqual(inv.global, {
    namespace: "dev",
    allNamespaces: false,
    context: "kind",
    kubeconfig: "/k",
    output: "json",
  });
  assert.equal(inv.flags.exposure, "ClusterIP");
  assert.equal(inv.flags.name, undefined);
  assert.equal(inv.flags.timeoutMs, 300_000);
  assert.equal(inv.flags.port, 0);
});

Deno.test("create: exec, logs, ttl, image, read-only and the open flags", () => {
  const inv = run(
    "create",
    "dbg",
    "--exec",
    "app-0",
    "-c",
    "main",
    "--ttl",
    "90m",
    "--image=img:1",
    "--read-only",
    "--no-browser",
    "--forward",
    "--port",
    "8080",
    "--timeout",
    "1m",
  );
  if (inv.command !== "create") throw new Error(inv.command);
  assert.deepEqual(
    { ...inv.flags },
    {
      name: "dbg",
      exec: "app-0",
      logs: undefined,
      container: "main",
      command: undefined,
      ttlSeconds: 5400,
      image: "img:1",
      readOnly: true,
      exposure: "ClusterIP",
      noOpen: false,
      noBrowser: true,
      forward: true,
      port: 8080,
      timeoutMs: 60_000,
    },
  );
});

Deno.test("the other commands", () => {
  assert.deepEqual(run("open", "s1", "--no-browser"), {
    command: "open",
    global: {
      namespace: undefined,
      allNamespaces: false,
      context: undefined,
      kubeconfig: undefined,
      output: undefined,
    },
    name: "s1",
    flags: { noBrowser: true, forward: false, port: 0, timeoutMs: 300_000 },
  });
  const list = run("list", "-A");
  assert.equal(list.command === "list" && list.global.allNamespaces, true);
  const extend = run("extend", "s1", "--by", "2h");
  assert.equal(extend.command === "extend" && extend.bySeconds, 7200);
  const byDefault = run("extend", "s1");
  assert.equal(byDefault.command === "extend" && byDefault.bySeconds, 3600);
  const del = run("delete", "a", "b");
  assert.deepEqual(del.command === "delete" && del.names, ["a", "b"]);
});

Deno.test("usage errors: exit 2, one line naming what is wrong", () => {
  assert.match(usageError("frobnicate"), /unknown command "frobnicate"/);
  assert.match(usageError("create", "--ttl", "5"), /invalid value "5" for --ttl/);
  assert.match(usageError("create", "--ttl", "-5m"), /--ttl/);
  assert.match(usageError("create", "--exposure", "LoadBalancer"), /--exposure: one of ClusterIP/);
  assert.match(
    usageError("create", "--exec", "a", "--logs", "b"),
    /--exec and --logs cannot be used together/,
  );
  assert.match(usageError("create", "-c", "x"), /needs --exec or --logs/);
  assert.match(usageError("create", "Bad_Name"), /invalid shell name "Bad_Name"/);
  assert.match(usageError("open"), /needs the name of a shell/);
  assert.match(usageError("open", "a", "b"), /unexpected argument "b"/);
  assert.match(usageError("list", "-o", "wide"), /invalid value "wide" for -o/);
  assert.match(usageError("open", "a", "--port", "70000"), /a port number/);
  assert.match(usageError("open", "a", "--nope"), /unknown flag --nope for "open"/);
  assert.match(usageError("create", "--no-browser=maybe"), /true or false/);
  assert.match(usageError("-n"), /no command given|needs a value/);
});

Deno.test("help and version exit 0", () => {
  for (const argv of [[], ["--help"], ["-h"], ["create", "--help"]]) {
    const parsed = parseArgs(argv, "1.2.3");
    assert.equal(parsed.kind === "exit" && parsed.code, 0, argv.join(" "));
    assert.match((parsed as { output: string }).output, /kubectl cloudshell/);
  }
  assert.deepEqual(parseArgs(["--version"], "1.2.3"), { kind: "exit", code: 0, output: "1.2.3" });
});
