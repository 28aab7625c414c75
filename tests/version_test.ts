/**
 * `--version`: the release version alone on the first line, then the commit and the Deno, V8 and TypeScript
 * versions, read from the operator itself as a user runs it (`deno task start`'s flags).
 */
import assert from "node:assert/strict";
import denoConfig from "../deno.json" with { type: "json" };
import { versionText } from "../controller/version.ts";
import { run } from "./harness/commands.ts";
import { startTaskArgs } from "./harness/start_task.ts";

Deno.test("versionText(): the version alone on the first line, then one `name: value` line each", () => {
  const build = { version: "1.2.3", commit: "0123abc", deno: "2.9.5", v8: "14.1.0", typescript: "5.9.2" };
  assert.equal(versionText(build), "1.2.3\ncommit: 0123abc\ndeno: 2.9.5\nv8: 14.1.0\ntypescript: 5.9.2");
  assert.match(versionText({ ...build, commit: undefined }), /^commit: unknown$/m);
  assert.match(versionText({ ...build, commit: "" }), /^commit: unknown$/m);
});

async function version(env: Record<string, string>): Promise<string> {
  const out = await run(Deno.execPath(), startTaskArgs(["--version"]), undefined, env);
  assert.equal(out.code, 0, out.stderr);
  return out.stdout;
}

Deno.test("the operator's --version names the commit the build passed in and the Deno and V8 it runs on", async () => {
  const lines = (await version({ CLOUDSHELL_OPERATOR_COMMIT: "6c4fa9b" })).trimEnd().split("\n");
  assert.deepEqual(lines, [
    denoConfig.version,
    "commit: 6c4fa9b",
    `deno: ${Deno.version.deno}`,
    `v8: ${Deno.version.v8}`,
    `typescript: ${Deno.version.typescript}`,
  ]);
  assert.match(await version({ CLOUDSHELL_OPERATOR_COMMIT: "" }), /^commit: unknown$/m);
});
