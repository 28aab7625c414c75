/**
 * The plugin's krew manifest (hack/release/krew.ts over hack/release/krew/cloudshell.yaml): one platform
 * per release target, each pointing at the archive compile.sh makes for it, with that archive's SHA-256;
 * a missing archive fails the release. And the workflow uploads the plugin archives and publishes the manifest.
 */
import assert from "node:assert/strict";
import { parse } from "yaml";
import { fileSha256, fillKrewManifest } from "../../hack/release/krew.ts";
import { workflow } from "./_release.ts";

interface KrewPlatform {
  selector: { matchLabels: { os: string; arch: string } };
  uri: string;
  sha256: string;
  bin: string;
  files: { from: string; to: string }[];
}

Deno.test("the krew manifest names every release target's plugin archive with its SHA-256", async () => {
  const release = await workflow("release.yml");
  const targets = release.jobs.binaries.strategy!.matrix.include!.map((m) => m.target as string);
  const dist = await Deno.makeTempDir();
  try {
    for (const target of targets) {
      const ext = target.includes("windows") ? "zip" : "tar.gz";
      await Deno.writeTextFile(`${dist}/kubectl-cloudshell-1.2.3-${target}.${ext}`, `archive of ${target}`);
    }
    const text = await fillKrewManifest("1.2.3", "someone/cloudshell", (f) => fileSha256(`${dist}/${f}`));
    const manifest = parse(text) as {
      apiVersion: string;
      kind: string;
      metadata: { name: string };
      spec: { version: string; platforms: KrewPlatform[] };
    };
    assert.equal(manifest.apiVersion, "krew.googlecontainertools.github.com/v1alpha2");
    assert.equal(manifest.kind, "Plugin");
    assert.equal(manifest.metadata.name, "cloudshell");
    assert.equal(manifest.spec.version, "v1.2.3");
    assert.equal(manifest.spec.platforms.length, targets.length);
    for (const target of targets) {
      const p = manifest.spec.platforms.find((p) => p.uri.includes(`-${target}.`));
      assert.ok(p, `a platform for ${target}`);
      const file = p.uri.split("/").at(-1)!;
      assert.equal(p.uri, `https://github.com/someone/cloudshell/releases/download/v1.2.3/${file}`);
      assert.equal(p.sha256, await fileSha256(`${dist}/${file}`));
      const exe = target.includes("windows") ? ".exe" : "";
      assert.equal(p.bin, `kubectl-cloudshell${exe}`);
      assert.equal(p.files[0].from, `kubectl-cloudshell-1.2.3-${target}/kubectl-cloudshell${exe}`);
      const os = target.includes("linux") ? "linux" : target.includes("darwin") ? "darwin" : "windows";
      const arch = target.startsWith("x86_64") ? "amd64" : "arm64";
      assert.deepEqual(p.selector.matchLabels, { os, arch });
    }
    await Deno.remove(`${dist}/kubectl-cloudshell-1.2.3-${targets[0]}.tar.gz`);
    await assert.rejects(fillKrewManifest("1.2.3", "x/y", (f) => fileSha256(`${dist}/${f}`)));
  } finally {
    await Deno.remove(dist, { recursive: true });
  }

  const upload = release.jobs.binaries.steps.find((s) => s.uses?.startsWith("actions/upload-artifact@"))!;
  assert.match(String(upload.with?.path), /dist\/kubectl-cloudshell-\*/);
  const publish = release.jobs["github-release"].steps.map((s) => s.run ?? "").join("\n");
  assert.match(publish, /hack\/release\/krew\.ts[^]*dist\/kubectl-cloudshell\.krew\.yaml/);
  assert.ok(publish.indexOf("krew.ts") < publish.indexOf("SHA256SUMS"), "the manifest is in SHA256SUMS");
});
