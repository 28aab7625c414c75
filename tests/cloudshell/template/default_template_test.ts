import assert from "node:assert/strict";
import {
  LAUNCHER_SCRIPT,
  LAUNCHER_SOURCE,
  withoutCommentLines,
} from "../../../controller/cloudshell/template/mod.ts";
import { run } from "../../harness/commands.ts";

Deno.test("withoutCommentLines drops whole comment lines and blank lines, and nothing else", () => {
  const script = '#!/bin/sh\n# why\nset -eu\n\n  # indented why\n  echo "a # b" # said\n';
  assert.equal(withoutCommentLines(script), 'set -eu\n  echo "a # b" # said\n');
});

/**
 * bash prints a function's body as it parsed it (`declare -f`), without comments but with every string as
 * written: the same print for both means no blank or `#` line was inside a multi-line string.
 */
async function parsedAsBash(script: string): Promise<string> {
  const out = await run("bash", ["-c", `launcher() {\n${script}\n}\ndeclare -f launcher`]);
  assert.equal(out.code, 0, out.stderr);
  return out.stdout;
}

Deno.test("the launcher a Job carries is the file's commands, about half its size", async () => {
  assert.equal(await parsedAsBash(LAUNCHER_SCRIPT), await parsedAsBash(LAUNCHER_SOURCE));
  assert.ok(LAUNCHER_SCRIPT.length < LAUNCHER_SOURCE.length * 0.6, `${LAUNCHER_SCRIPT.length} bytes`);
});
