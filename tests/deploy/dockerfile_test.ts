/**
 * The image recipe, checked without a container engine (the test machines have none): the Dockerfile's
 * stages, the `deno task compile` it runs, and that the build context lets in every file the operator's
 * module graph loads.
 */
import assert from "node:assert/strict";
import denoConfig from "../../deno.json" with { type: "json" };
import { admitted, parseDockerfile } from "./_dockerfile.ts";
import { REPO, run } from "./_manifests.ts";

/** The flags of a task's `deno` command that grant permissions or tune V8 (and its code cache), sorted. */
function permissionFlags(task: string): string[] {
  return task.split(/\s+/).filter((a) => /^--(allow-|v8-flags=|no-code-cache$)/.test(a)).sort();
}

const dockerfile = parseDockerfile(await Deno.readTextFile(`${REPO}Dockerfile`));
const [globalArgs, builder, final] = dockerfile;

Deno.test("the Dockerfile builds in a pinned Deno stage and runs in a distroless one, as non-root", async () => {
  assert.equal(dockerfile.length, 3, "global ARGs, a builder stage and a final stage");
  const toolchain = JSON.parse(await Deno.readTextFile(`${REPO}toolchain/package.json`));
  assert.deepEqual(globalArgs, [{ keyword: "ARG", args: `DENO_VERSION=${toolchain.devDependencies.deno}` }]);
  assert.match(builder[0].args, /^docker\.io\/denoland\/deno:[a-z-]*\$\{DENO_VERSION\} AS builder$/);

  // The builder type-checks, then compiles with the project's own task, then runs the binary once.
  const runs = builder.filter((i) => i.keyword === "RUN").map((i) => i.args);
  const check = runs.findIndex((r) => /\bdeno check\b.*\bmain\.ts\b/.test(r));
  const compile = runs.findIndex((r) => /\bdeno task compile\b/.test(r));
  assert.ok(check >= 0 && compile > check, `check, then compile: ${JSON.stringify(runs)}`);
  assert.ok(runs.some((r) => /\bdeno install --frozen\b/.test(r)), "dependencies as locked in deno.lock");
  const output = /--output[= ](\S+)/.exec(denoConfig.tasks.compile)?.[1];
  assert.ok(output, "the compile task names its output");
  assert.match(runs[compile], new RegExp(`\\./${output.replace(/[./]/g, "\\$&")} --version`));

  // The final stage: distroless with glibc (a compiled Deno binary links against it), the binary only.
  assert.equal(final[0].args, "gcr.io/distroless/cc-debian12:nonroot");
  assert.deepEqual(final.filter((i) => i.keyword === "RUN"), [], "distroless has no shell");
  const copies = final.filter((i) => i.keyword === "COPY").map((i) => i.args);
  const workdir = builder.find((i) => i.keyword === "WORKDIR")?.args;
  assert.deepEqual(copies, [`--from=builder ${workdir}/${output} /cloudshell-operator`]);
  assert.deepEqual(final.filter((i) => i.keyword === "USER").map((i) => i.args), ["65532:65532"]);
  assert.deepEqual(final.filter((i) => i.keyword === "ENTRYPOINT").map((i) => JSON.parse(i.args)), [[
    "/cloudshell-operator",
  ]]);
});

Deno.test("deno task compile grants the binary what `deno task start` grants, with its V8 flags and version", async () => {
  const { compile, start } = denoConfig.tasks;
  assert.match(compile, /^deno compile /);
  assert.deepEqual(
    permissionFlags(compile),
    permissionFlags(start),
    "the compiled binary must run with the permissions, V8 flags and code cache `deno task start` runs with " +
      "(in-cluster: --allow-net, --allow-read for the ServiceAccount token and CA, --allow-env, " +
      "--allow-sys=hostname for the leader-election identity; outside: --allow-run for the kubeconfig's " +
      "exec credential plugin), no more",
  );
  assert.ok(!/--allow-all|-A\b/.test(compile), "no blanket permissions");
  assert.match(compile, /\bmain\.ts$/);

  // The version comes from deno.json, imported by main.ts, so the compiled binary carries it.
  const info = await run(Deno.execPath(), ["info", "--json", `${REPO}main.ts`]);
  assert.equal(info.code, 0, info.stderr);
  const graph = JSON.parse(info.stdout) as { modules: { specifier: string }[] };
  assert.ok(graph.modules.some((m) => m.specifier === `file://${REPO}deno.json`));
});

Deno.test("the build context and the builder's COPY lines hold every file main.ts loads", async () => {
  const info = await run(Deno.execPath(), ["info", "--json", `${REPO}main.ts`]);
  assert.equal(info.code, 0, info.stderr);
  const graph = JSON.parse(info.stdout) as { modules: { specifier: string }[] };
  const local = graph.modules.map((m) => m.specifier).filter((s) => s.startsWith(`file://${REPO}`))
    .map((s) => s.slice(`file://${REPO}`.length));
  assert.ok(local.length > 20, "the module graph");
  const needed = [...local, "deno.json", "deno.lock"];

  const rules = (await Deno.readTextFile(`${REPO}.dockerignore`)).split("\n").map((l) => l.trim())
    .filter((l) => l !== "" && !l.startsWith("#"));
  const copied = builder.filter((i) => i.keyword === "COPY").flatMap((i) => {
    const parts = i.args.split(/\s+/).filter((p) => !p.startsWith("--"));
    return parts.slice(0, -1);
  }).map((p) => p.replace(/\/+$/, ""));
  for (const file of needed) {
    assert.ok(admitted(rules, file), `.dockerignore keeps out ${file}`);
    assert.ok(
      copied.some((c) => file === c || file.startsWith(`${c}/`)),
      `no COPY in the builder stage brings in ${file}`,
    );
  }
  // And the bulk stays out of the context.
  for (const file of ["node_modules/x", "toolchain/package.json", "tests/deploy/rbac_test.ts", ".git/HEAD"]) {
    assert.ok(!admitted(rules, file), `${file} is sent to the builder`);
  }
});
