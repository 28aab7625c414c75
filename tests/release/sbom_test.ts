/**
 * The SBOM attached to a release (hack/release/sbom.ts): what `deno compile` embeds, read from deno.lock and
 * toolchain/package.json.
 */
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import denoConfig from "../../deno.json" with { type: "json" };
import { operatorSbom } from "../../hack/release/sbom.ts";
import { run } from "../harness/commands.ts";
import { REPO } from "./_release.ts";

interface Component {
  "bom-ref": string;
  name: string;
  version: string;
  purl: string;
  hashes?: { alg: string; content: string }[];
}

Deno.test("the SBOM lists the Deno runtime and every locked npm package with its hash and dependencies", async () => {
  const sbom = await operatorSbom() as {
    bomFormat: string;
    specVersion: string;
    metadata: { component: { name: string; version: string; "bom-ref": string } };
    components: Component[];
    dependencies: { ref: string; dependsOn: string[] }[];
  };
  assert.equal(sbom.bomFormat, "CycloneDX");
  assert.equal(sbom.specVersion, "1.6");
  assert.equal(sbom.metadata.component.version, denoConfig.version);

  const toolchain = JSON.parse(await Deno.readTextFile(`${REPO}toolchain/package.json`));
  const deno = sbom.components.find((c) => c.name === "deno")!;
  assert.equal(deno.version, toolchain.devDependencies.deno);

  const lock = JSON.parse(await Deno.readTextFile(`${REPO}deno.lock`));
  const locked = Object.entries(lock.npm as Record<string, { integrity: string }>);
  assert.equal(sbom.components.length, locked.length + 1);
  for (const [key, { integrity }] of locked) {
    const c = sbom.components.find((c) => `${c.name}@${c.version}` === key);
    assert.ok(c, `${key} is missing`);
    assert.match(c.purl, /^pkg:npm\/(%40[^/]+\/)?[^@/]+@\d/);
    const [alg, b64] = integrity.split("-");
    assert.equal(alg, "sha512");
    assert.deepEqual(c.hashes, [{ alg: "SHA-512", content: Buffer.from(b64, "base64").toString("hex") }]);
  }

  // Every reference resolves; the operator depends on the runtime and on exactly its direct imports.
  const refs = new Set(sbom.components.map((c) => c["bom-ref"]));
  for (const d of sbom.dependencies) {
    for (const r of d.dependsOn) assert.ok(refs.has(r), `${d.ref} -> ${r}`);
  }
  const root = sbom.dependencies.find((d) => d.ref === sbom.metadata.component["bom-ref"])!;
  const direct = Object.values(denoConfig.imports).map((spec) => {
    const [, name, version] = /^npm:(@?[^@]+)@(.+)$/.exec(spec)!;
    return sbom.components.find((c) => c.name === name && c.version === version)!["bom-ref"];
  });
  assert.deepEqual(root.dependsOn.sort(), [deno["bom-ref"], ...direct].sort());
});

Deno.test("sbom.ts writes the SBOM to the file it is given, and says how to call it otherwise", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const out = `${dir}/sbom.cdx.json`;
    const ok = await run(Deno.execPath(), [
      "run",
      "--allow-read",
      "--allow-write",
      `${REPO}hack/release/sbom.ts`,
      out,
    ]);
    assert.equal(ok.code, 0, ok.stderr);
    assert.deepEqual(JSON.parse(await Deno.readTextFile(out)), await operatorSbom());
    const usage = await run(Deno.execPath(), ["run", "--allow-read", `${REPO}hack/release/sbom.ts`]);
    assert.equal(usage.code, 2);
    assert.match(usage.stderr, /^usage: /);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
