/**
 * kubectl is the oracle of the loading rules: every case of the corpus is resolved by the project and by
 * `kubectl config view --minify --flatten --raw` with the same KUBECONFIG list (or --kubeconfig) and
 * --context, and the two are compared field by field. Cases kubectl accepts but the operator cannot honour
 * are refused when the connection is built, with a line naming the field. No cluster is contacted.
 */
import assert from "node:assert/strict";
import { connectionFor } from "../../controller/kube/config.ts";
import {
  absolute,
  KubeconfigError,
  loadKubeconfigFiles,
  selectContext,
} from "../../controller/kube/kubeconfig.ts";
import { run } from "../harness/commands.ts";
import { controlPlaneBinaries } from "../harness/control_plane.ts";
import { caseFiles, CORPUS, flattenLikeKubectl, normalize, writeCorpus } from "./_corpus.ts";

/** What client-go's ResolveLocalPaths does to the user stanza of `config view` output before using it. */
function resolveAsKubectlRuns(view: { users: { user: Record<string, unknown> }[] }, userFile: string): void {
  const user = view.users[0].user;
  const dir = userFile.slice(0, userFile.lastIndexOf("/"));
  if (typeof user.tokenFile === "string") user.tokenFile = absolute(user.tokenFile, dir);
  const exec = user.exec as { command?: string } | undefined;
  if (exec?.command?.includes("/")) exec.command = absolute(exec.command, dir);
}

const PEM = (what: string) => `-----BEGIN ${what}-----\nY29ycHVz\n-----END ${what}-----\n`;

Deno.test("the corpus resolves as kubectl resolves it, field by field", async () => {
  const kubectl = `${await controlPlaneBinaries()}/kubectl`;
  const dir = await Deno.makeTempDir({ prefix: "kubeconfig-corpus-" });
  try {
    await writeCorpus(dir, {
      server: "https://127.0.0.1:6443",
      proxy: "http://127.0.0.1:3128",
      token: "corpus-token",
      caPem: PEM("CERTIFICATE"),
      adminCertPem: PEM("CERTIFICATE"),
      adminKeyPem: PEM("PRIVATE KEY"),
    });
    // Relative KUBECONFIG entries start from the working directory: run both from a neighbour of the corpus.
    for (const c of CORPUS) {
      const files = caseFiles(dir, c);
      const args = ["config", "view", "--minify", "--flatten", "--raw", "-o", "json"];
      if (c.context) args.push(`--context=${c.context}`);
      if (c.explicit) args.push(`--kubeconfig=${files[0]}`);
      const out = await run(kubectl, args, undefined, c.explicit ? {} : { KUBECONFIG: files.join(":") });
      assert.equal(out.code, 0, `${c.name}: kubectl: ${out.stderr}`);
      const theirs = JSON.parse(out.stdout);
      delete theirs.kind;
      delete theirs.apiVersion;
      delete theirs.preferences;

      const merged = await loadKubeconfigFiles(
        c.explicit ? { explicitPath: files[0], cwd: dir } : { precedence: files, cwd: dir },
        (p) => Deno.readTextFile(p),
      );
      const selected = selectContext(merged, c.context);
      // `config view` prints the exec command and tokenFile as written (it only embeds the files it
      // flattens); kubectl resolves them when it runs, against the folder of the file that named them. The
      // live test (tests/e2e/kubeconfig_auth_test.ts) runs kubectl's plugin from elsewhere to prove it.
      resolveAsKubectlRuns(theirs, selected.userFile);
      assert.deepEqual(normalize(await flattenLikeKubectl(selected)), normalize(theirs), c.name);

      if (c.refused) {
        await assert.rejects(
          connectionFor(selected),
          (err) =>
            err instanceof KubeconfigError && c.refused!.test(err.message) && !err.message.includes("\n"),
          c.name,
        );
      } else {
        await connectionFor(selected);
      }
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("kubectl and the project refuse the same broken kubeconfigs", async () => {
  const kubectl = `${await controlPlaneBinaries()}/kubectl`;
  const dir = await Deno.makeTempDir({ prefix: "kubeconfig-bad-" });
  try {
    const cases: [string, string, string[]][] = [
      ["a context that is not there", "current-context: x\n", ["--context=nope"]],
      ["a missing --kubeconfig", "", ["--kubeconfig=/nonexistent/config"]],
    ];
    for (const [what, text, flags] of cases) {
      await Deno.writeTextFile(`${dir}/config`, text);
      const out = await run(kubectl, ["config", "view", "--minify", "--raw", ...flags], undefined, {
        KUBECONFIG: `${dir}/config`,
      });
      assert.notEqual(out.code, 0, `${what}: kubectl accepted it`);
      const explicit = flags.find((f) => f.startsWith("--kubeconfig="))?.slice("--kubeconfig=".length);
      const context = flags.find((f) => f.startsWith("--context="))?.slice("--context=".length);
      await assert.rejects(
        async () =>
          selectContext(
            await loadKubeconfigFiles(
              explicit ? { explicitPath: explicit, cwd: dir } : { precedence: [`${dir}/config`], cwd: dir },
              (p) => Deno.readTextFile(p),
            ),
            context,
          ),
        KubeconfigError,
        what,
      );
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
