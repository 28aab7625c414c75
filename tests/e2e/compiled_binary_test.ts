/**
 * The compiled binary through the same end-to-end lifecycle as the source.
 *
 * `deno compile` needs `denort`, which it downloads unless DENORT_BIN names a
 * local copy; without DENORT_BIN this test reports itself ignored (skipped),
 * never passed.
 */
import assert from "node:assert/strict";

const REPO = new URL("../../", import.meta.url).pathname;
const denort = Deno.env.get("DENORT_BIN");

Deno.test({
  name: "the compiled binary runs the lifecycle tests (needs DENORT_BIN)",
  ignore: !denort,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "cloudshell-bin-" });
    try {
      const bin = `${dir}/cloudshell-operator`;
      // The same permissions and entry point as `deno task compile`.
      const tasks = JSON.parse(await Deno.readTextFile(`${REPO}deno.json`)).tasks as Record<string, string>;
      const args = tasks.compile.split(" ").slice(1).map((a) =>
        a.startsWith("--output=") ? `--output=${bin}` : a
      );
      const compiled = await new Deno.Command(Deno.execPath(), {
        args,
        cwd: REPO,
        env: { DENORT_BIN: denort! },
      })
        .output();
      assert.ok(compiled.success, new TextDecoder().decode(compiled.stderr));
      const version = await new Deno.Command(bin, { args: ["--version"] }).output();
      assert.ok(version.success);
      const run = await new Deno.Command(Deno.execPath(), {
        args: ["test", "--allow-all", "tests/e2e/lifecycle_test.ts", "tests/e2e/runtime_test.ts"],
        cwd: REPO,
        env: { CLOUDSHELL_OPERATOR_BIN: bin },
        stdout: "inherit",
        stderr: "inherit",
      }).output();
      assert.ok(run.success, "the lifecycle tests passed against the compiled binary");
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
