import assert from "node:assert/strict";
import { FlagParser, type FlagParseResult, type FlagSpec } from "../controller/flag_parser.ts";

const SPECS: FlagSpec[] = [
  { flags: "--name <name>", help: "a name", group: "Things:", defaultValue: "x" },
  { flags: "--path <path>", help: "a path", group: "Things:", defaultValue: "", shown: "none" },
  { flags: "--tag <tag>", help: "repeatable: a tag", group: "Things:", repeatable: true },
  { flags: "--enabled [bool]", help: "whether", group: "Switches:", defaultValue: "false" },
  { flags: "-v, --v <int>", help: "verbosity", group: "Switches:", defaultValue: "0" },
];
const parser = new FlagParser(
  { name: "demo", description: "A demo.", version: "v1.2.3", helpWidth: 60 },
  SPECS,
);

function flags(result: FlagParseResult) {
  assert.equal(result.kind, "flags", JSON.stringify(result));
  return result.kind === "flags" ? result.flags : assert.fail();
}

Deno.test("FlagParser: --flag value and --flag=value, the last one wins, defaults otherwise", () => {
  const f = flags(parser.parse(["--name", "a", "--name=b", "--path="]));
  assert.equal(f.values.get("--name"), "b");
  assert.equal(f.values.get("--path"), "");
  assert.equal(f.values.get("--v"), "0");
  assert.deepEqual([...f.given].sort(), ["--name", "--path"]);
  assert.deepEqual(f.operands, []);
  // A required value is taken whatever it looks like.
  assert.equal(flags(parser.parse(["--name", "--v"])).values.get("--name"), "--v");
});

Deno.test("FlagParser: short flags, optional values, repeatable flags, operands", () => {
  assert.equal(flags(parser.parse(["-v3"])).values.get("--v"), "3");
  assert.equal(flags(parser.parse(["-v", "4"])).values.get("--v"), "4");
  assert.equal(flags(parser.parse(["--enabled"])).values.get("--enabled"), "true");
  assert.equal(flags(parser.parse(["--enabled", "false"])).values.get("--enabled"), "false");
  assert.equal(flags(parser.parse(["--enabled", "-1"])).values.get("--enabled"), "-1");
  const f = flags(parser.parse(["--enabled", "--tag", "a", "--tag=b"]));
  assert.equal(f.values.get("--enabled"), "true");
  assert.deepEqual(f.lists.get("--tag"), ["a", "b"]);
  assert.deepEqual(flags(parser.parse(["run", "-1", "--", "--name"])).operands, ["run", "-1", "--name"]);
});

Deno.test("FlagParser: errors, help and version", () => {
  assert.deepEqual(parser.parse(["--nmae", "a"]), {
    kind: "error",
    message: 'Unknown flag "--nmae": did you mean --name?',
  });
  assert.deepEqual(parser.parse(["--zzzzzz"]), { kind: "error", message: 'Unknown flag "--zzzzzz"' });
  assert.deepEqual(parser.parse(["-x"]), { kind: "error", message: 'Unknown flag "-x"' });
  assert.deepEqual(parser.parse(["--name"]), { kind: "error", message: "Flag --name needs a value" });
  assert.deepEqual(parser.parse(["-v"]), { kind: "error", message: "Flag --v needs a value" });
  assert.deepEqual(parser.parse(["--bogus", "--version"]), { kind: "version", output: "v1.2.3\n" });
  assert.equal(parser.parse(["--bogus", "-h"]).kind, "help");
  assert.equal(parser.parse(["--name", "--help"]).kind, "flags", "--help is --name's value here");
});

Deno.test("FlagParser: the help text groups, aligns and wraps as commander did", () => {
  const result = parser.parse(["--help"]);
  assert.equal(result.kind, "help");
  assert.equal(
    result.kind === "help" ? result.output : "",
    [
      "Usage: demo [flags]",
      "",
      "A demo.",
      "",
      "Things:",
      "  --name <name>     a name (default: x)",
      "  --path <path>     a path (default: none)",
      "  --tag <tag>       repeatable: a tag",
      "",
      "Switches:",
      "  --enabled [bool]  whether (default: false)",
      "  -v, --v <int>     verbosity (default: 0)",
      "",
      "General:",
      "  --version         print the version and exit",
      "  -h, --help        print this help and exit",
      "",
    ].join("\n"),
  );
  const long = new FlagParser({ name: "d", description: "D.", version: "1", helpWidth: 60 }, [
    { flags: "--long <x>", help: "word ".repeat(20).trim(), group: "G:" },
  ]);
  const text = long.help();
  assert.ok(text.split("\n").every((line) => line.length <= 60), text);
  assert.match(text, /\n {14}word word/, "continuation lines start at the description column");
});
