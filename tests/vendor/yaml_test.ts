/**
 * vendor/yaml is the locked npm package's browser build, unchanged: every file there is compared byte for
 * byte with the package Deno fetched for deno.json's `npm:yaml@…` (checked against deno.lock's integrity
 * hash on download), and the package's browser build has no file the copy lacks.
 */
import assert from "node:assert/strict";
import denoConfig from "../../deno.json" with { type: "json" };

const REPO = new URL("../../", import.meta.url).pathname;
const VENDOR = `${REPO}vendor/yaml/`;
/** Files of vendor/yaml that are ours, not the package's. */
const OURS = new Set(["mod.ts"]);

async function deno(args: string[]): Promise<string> {
  const out = await new Deno.Command(Deno.execPath(), { args, cwd: REPO, stdout: "piped", stderr: "piped" })
    .output();
  const text = new TextDecoder();
  assert.equal(out.code, 0, text.decode(out.stderr));
  return text.decode(out.stdout);
}

async function files(root: string, dir = ""): Promise<string[]> {
  const found: string[] = [];
  for await (const entry of Deno.readDir(`${root}${dir}`)) {
    const path = `${dir}${entry.name}`;
    if (entry.isDirectory) found.push(...await files(root, `${path}/`));
    else found.push(path);
  }
  return found.sort();
}

Deno.test("vendor/yaml is the browser build, LICENSE and package.json of the locked npm package", async () => {
  const spec = denoConfig.imports.yaml;
  const [, version] = /^npm:yaml@(\d+\.\d+\.\d+)$/.exec(spec) ?? [];
  assert.ok(version, `deno.json imports yaml from a pinned npm version: ${spec}`);
  const mod = await Deno.readTextFile(`${VENDOR}mod.ts`);
  assert.ok(mod.includes(`// @ts-types="${spec}"`), "mod.ts takes its types from the same version");

  // Fetched (or found in the cache) and verified against deno.lock, as `deno install --frozen` does.
  await deno(["cache", "--frozen", "vendor/yaml/mod.ts"]);
  const npmCache = JSON.parse(await deno(["info", "--json"])).npmCache as string;
  const pkg = `${npmCache}/registry.npmjs.org/yaml/${version}/`;

  const vendored = (await files(VENDOR)).filter((f) => !OURS.has(f));
  const expected = ["LICENSE", "package.json", ...(await files(`${pkg}browser/`)).map((f) => `browser/${f}`)];
  assert.deepEqual(vendored, expected.sort());
  for (const file of vendored) {
    assert.deepEqual(await Deno.readFile(`${VENDOR}${file}`), await Deno.readFile(`${pkg}${file}`), file);
  }
});
