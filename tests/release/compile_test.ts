/**
 * hack/release/compile.sh, the release workflow's build of one binary. `deno compile` needs denort, which
 * it downloads unless DENORT_BIN names a local copy; without DENORT_BIN this test reports itself ignored
 * (skipped), never passed, like tests/e2e/compiled_binary_test.ts.
 */
import assert from "node:assert/strict";
import denoConfig from "../../deno.json" with { type: "json" };
import { run } from "../harness/commands.ts";
import { REPO } from "./_release.ts";

Deno.test({
  name:
    "compile.sh builds this machine's target, checks both binaries' --version and packs each with its page and LICENSE",
  ignore: !Deno.env.get("DENORT_BIN"),
  async fn() {
    const version = denoConfig.version;
    const target = Deno.build.target;
    const name = `cloudshell-operator-${version}-${target}`;
    const archive = `${REPO}dist/${name}.tar.gz`;
    const built = await run("env", [
      `REQUIRE_NATIVE=1`,
      "bash",
      `${REPO}hack/release/compile.sh`,
      target,
      version,
    ]);
    assert.equal(built.code, 0, built.stderr);
    assert.match(built.stderr, new RegExp(`prints --version ${version.replaceAll(".", "\\.")}`));
    const listing = await run("tar", ["-tzf", archive]);
    assert.deepEqual(listing.stdout.trim().split("\n").sort(), [
      `${name}/`,
      `${name}/LICENSE`,
      `${name}/README.md`,
      `${name}/cloudshell-operator`,
    ]);
    await Deno.remove(archive);
    const pluginName = `kubectl-cloudshell-${version}-${target}`;
    const pluginListing = await run("tar", ["-tzf", `${REPO}dist/${pluginName}.tar.gz`]);
    assert.deepEqual(pluginListing.stdout.trim().split("\n").sort(), [
      `${pluginName}/`,
      `${pluginName}/LICENSE`,
      `${pluginName}/README.md`,
      `${pluginName}/kubectl-cloudshell`,
    ]);
    assert.match(
      built.stderr,
      new RegExp(`kubectl-cloudshell prints --version ${version.replaceAll(".", "\\.")}`),
    );
    await Deno.remove(`${REPO}dist/${pluginName}.tar.gz`);

    // A version the binary does not print fails the build.
    const wrong = await run("bash", [`${REPO}hack/release/compile.sh`, target, "9.9.9"]);
    assert.equal(wrong.code, 1);
    assert.match(wrong.stderr, /the binary says "[^"]+", expected "9\.9\.9"/);
  },
});
