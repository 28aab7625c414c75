/**
 * The GitHub Actions workflows, read as data (actionlint, run by hack/test.sh, checks their syntax and
 * expressions): actions pinned by commit, the release building each binary on its own platform and each
 * image natively for both architectures, and CI running the same command as .ci/run with the pinned builds
 * cached under a key made of the pins.
 */
import assert from "node:assert/strict";
import { parse as parseYaml } from "yaml";
import { allSteps, REPO, workflow, workflows } from "./_release.ts";

Deno.test("every action is pinned by a full commit SHA, commented with the version it was published as", async () => {
  const shaOf = new Map<string, string>();
  let count = 0;
  for (const [file, { text }] of await workflows()) {
    for (const [, action, sha, comment] of text.matchAll(/uses:\s*(\S+?)@(\S+)(.*)$/gm)) {
      count++;
      assert.match(sha, /^[0-9a-f]{40}$/, `${file}: ${action}@${sha} is not pinned by commit`);
      assert.match(comment, /^ # v\d+(\.\d+)*$/, `${file}: ${action} says which version the commit is`);
      assert.equal(shaOf.get(action) ?? sha, sha, `${action} is pinned to two commits`);
      shaOf.set(action, sha);
    }
  }
  assert.ok(count > 10);
});

Deno.test("the release compiles the five targets, each on a runner of its own platform that runs --version", async () => {
  const release = await workflow("release.yml");
  const matrix = release.jobs.binaries.strategy!.matrix.include!;
  assert.deepEqual(Object.fromEntries(matrix.map((m) => [m.target, m.runner])), {
    "x86_64-unknown-linux-gnu": "ubuntu-24.04",
    "aarch64-unknown-linux-gnu": "ubuntu-24.04-arm",
    "x86_64-apple-darwin": "macos-15-intel",
    "aarch64-apple-darwin": "macos-15",
    "x86_64-pc-windows-msvc": "windows-2025",
  });
  assert.equal(release.jobs.binaries["runs-on"], "${{ matrix.runner }}");
  const compile = release.jobs.binaries.steps.find((s) => s.run?.includes("hack/release/compile.sh"))!;
  assert.equal(compile.env?.REQUIRE_NATIVE, "1", "a binary whose --version was not run fails the job");
  assert.equal(compile.env?.TARGET, "${{ matrix.target }}");

  // The GitHub release: every binary archive, the SBOM, the chart, and SHA256SUMS over all of them.
  const publish = release.jobs["github-release"].steps.map((s) => s.run ?? s.uses ?? "").join("\n");
  assert.match(publish, /hack\/release\/sbom\.ts/);
  assert.match(publish, /sha256sum -- \* >SHA256SUMS/);
  assert.match(publish, /actions\/attest-build-provenance@/);
  assert.match(publish, /gh release create "\$TAG" dist\/\* /);
  assert.deepEqual(
    [release.jobs["github-release"].needs].flat().sort(),
    ["binaries", "chart", "version"],
  );

  // The download instructions (docs/getting-started.md) name these assets and these targets.
  const compileScript = await Deno.readTextFile(`${REPO}hack/release/compile.sh`);
  assert.match(compileScript, /^name="cloudshell-operator-\$version-\$target"$/m);
  assert.match(compileScript, /"dist\/\$name\.tar\.gz"/);
  assert.match(compileScript, /"\$name\.zip"/);
  const guide = await Deno.readTextFile(`${REPO}docs/getting-started.md`);
  assert.ok(guide.includes(`releases/download/v$version/cloudshell-operator-$version-$target.tar.gz"`));
  assert.ok(guide.includes("releases/download/v$version/SHA256SUMS"));
  assert.ok(guide.includes("sha256sum -c --ignore-missing SHA256SUMS"));
  assert.ok(guide.includes("cloudshell-operator-<version>.cdx.json") && publish.includes(".cdx.json"));
  const listed = /^Targets: (.*?)\. /ms.exec(guide)?.[1].replaceAll("\n", " ");
  assert.deepEqual(
    [...(listed ?? "").matchAll(/`([^`]+)`/g)].map((m) => m[1]).sort(),
    matrix.map((m) => m.target).sort(),
  );
});

Deno.test("both images are built natively for amd64 and arm64, with provenance, under the chart's names", async () => {
  const release = await workflow("release.yml");
  const { matrix } = release.jobs.images.strategy!;
  assert.deepEqual(matrix.image, ["cloudshell-operator", "cloudshell-terminal"]);
  assert.deepEqual(matrix.platform, ["linux/amd64", "linux/arm64"]);
  const include = matrix.include!;
  assert.deepEqual(
    include.filter((i) => i.dockerfile).map((i) => [i.image, i.dockerfile]),
    [["cloudshell-operator", "Dockerfile"], ["cloudshell-terminal", "images/terminal/Dockerfile"]],
  );
  assert.deepEqual(
    include.filter((i) => i.runner).map((i) => [i.platform, i.runner]),
    [["linux/amd64", "ubuntu-24.04"], ["linux/arm64", "ubuntu-24.04-arm"]],
  );
  const build = release.jobs.images.steps.find((s) => s.uses?.startsWith("docker/build-push-action@"))!;
  assert.equal(build.with?.provenance, "mode=max");
  assert.equal(build.with?.sbom, true);
  assert.equal(build.with?.platforms, "${{ matrix.platform }}");
  assert.match(String(build.with?.outputs), /push-by-digest=true/);
  const merge = release.jobs["images-merge"].steps.map((s) => s.run ?? "").join("\n");
  assert.match(merge, /imagetools create --tag "\$IMAGE:\$VERSION"/);

  // The names the chart installs by default are the ones pushed (ghcr.io/<owner>/<image>).
  const values = parseYaml(await Deno.readTextFile(`${REPO}deploy/chart/values.yaml`)) as {
    image: { registry: string; repository: string };
  };
  assert.equal(values.image.registry, "ghcr.io");
  assert.equal(values.image.repository, "cloudtty/cloudshell-operator");
  const guide = await Deno.readTextFile(`${REPO}docs/getting-started.md`);
  for (const image of matrix.image as string[]) {
    assert.ok(
      guide.includes(`ghcr.io/cloudtty/${image}`),
      `docs/getting-started.md names ghcr.io/cloudtty/${image}`,
    );
  }
  const chart = release.jobs.chart.steps.map((s) => s.run ?? "").join("\n");
  assert.match(
    chart,
    /helm push "dist\/cloudshell-operator-\$VERSION\.tgz" "oci:\/\/ghcr\.io\/\$OWNER\/charts"/,
  );
  assert.ok(
    guide.includes("oci://ghcr.io/cloudtty/charts/cloudshell-operator"),
    "the chart address in docs/getting-started.md",
  );
});

Deno.test("CI runs .ci/run's command on pull requests, caching the pinned builds under a key of the pins", async () => {
  const ci = await workflow("ci.yml");
  assert.ok("pull_request" in ci.on);
  const steps = allSteps(ci);
  const test = steps.find((s) => s.run?.includes(".ci/run"));
  assert.ok(test, "CI runs .ci/run");
  assert.match(await Deno.readTextFile(`${REPO}.ci/run`), /^exec bash hack\/test\.sh$/m);

  const cache = steps.find((s) => s.uses?.startsWith("actions/cache@"))!;
  assert.equal(cache.with?.path, "~/.cache/cloudshell-operator");
  assert.match(String(cache.with?.key), /\$\{\{ steps\.pins\.outputs\.key \}\}/);
  // Every script hack/test.sh runs that builds into the cache directory is part of the key.
  const pins = steps.find((s) => s.id === "pins")!.run!;
  const testScript = await Deno.readTextFile(`${REPO}hack/test.sh`);
  const builds: string[] = [];
  for (const [, script] of testScript.matchAll(/bash (hack\/\S+\.sh)/g)) {
    if ((await Deno.readTextFile(`${REPO}${script}`)).includes("/cloudshell-operator}")) builds.push(script);
  }
  assert.ok(builds.includes("hack/controlplane/build.sh") && builds.includes("hack/actionlint/build.sh"));
  for (const build of builds) assert.ok(pins.includes(build), `the cache key leaves out ${build}`);

  // As root on Debian, as .ci/run expects (apt for Chromium; namespaces for the kubelet stand-in).
  const job = ci.jobs.test as unknown as { container: { image: string; options: string } };
  assert.match(job.container.image, /^debian:/);
  assert.equal(job.container.options, "--privileged");
});

Deno.test("CI builds both images for both platforms without pushing, the release's recipes", async () => {
  const ci = await workflow("ci.yml");
  const release = await workflow("release.yml");
  assert.deepEqual(ci.jobs.images.strategy!.matrix, release.jobs.images.strategy!.matrix);
  const build = ci.jobs.images.steps.find((s) => s.uses?.startsWith("docker/build-push-action@"))!;
  assert.equal(build.with?.push, false);
  assert.equal(build.with?.file, "${{ matrix.dockerfile }}");
  assert.equal(build.with?.platforms, "${{ matrix.platform }}");
});
