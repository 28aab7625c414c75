/**
 * client-go's loading rules, on files held in memory: merging, precedence, relative paths and the checks of
 * ConfirmUsable. tests/kube/kubeconfig_kubectl_test.ts compares the same rules with kubectl's on disk.
 */
import assert from "node:assert/strict";
import {
  absolute,
  KubeconfigError,
  loadKubeconfigFiles,
  selectContext,
  splitKubeconfigList,
} from "../../controller/kube/kubeconfig.ts";

/** A read function over a map of files; missing ones fail as Deno's readTextFile does. */
function files(map: Record<string, string>) {
  return (path: string) => {
    if (path in map) return Promise.resolve(map[path]);
    return Promise.reject(new Deno.errors.NotFound(`No such file: ${path}`));
  };
}

const A = `
current-context: a
clusters:
- name: shared
  cluster: {server: "https://a.example:6443", certificate-authority: ca.crt}
- name: only-a
  cluster: {server: "https://only-a.example"}
users:
- name: shared
  user: {client-certificate: certs/a.crt, client-key: /abs/a.key}
contexts:
- name: a
  context: {cluster: shared, user: shared, namespace: team-a}
`;
const B = `
current-context: b
clusters:
- name: shared
  cluster: {server: "https://b.example", proxy-url: "http://proxy:3128"}
- name: only-b
  cluster: {server: "https://only-b.example"}
users:
- name: shared
  user: {token: from-b}
- name: exec-user
  user:
    exec: {apiVersion: client.authentication.k8s.io/v1, command: ./bin/plugin.sh, interactiveMode: Never}
- name: path-exec
  user:
    exec: {apiVersion: client.authentication.k8s.io/v1, command: aws, interactiveMode: Never}
- name: token-file
  user: {tokenFile: ../tokens/t}
contexts:
- name: b
  context: {cluster: only-b, user: exec-user}
- name: a
  context: {cluster: only-b, user: token-file}
- name: path
  context: {cluster: only-b, user: path-exec}
`;

Deno.test("a KUBECONFIG list: the first file wins each entry whole and the current context; missing files are skipped", async () => {
  const read = files({ "/k/a.yaml": A, "/k/sub/b.yaml": B });
  const merged = await loadKubeconfigFiles(
    { precedence: ["missing.yaml", "/k/a.yaml", "sub/b.yaml"], cwd: "/k" },
    read,
  );
  assert.deepEqual(merged.files, ["/k/a.yaml", "/k/sub/b.yaml"]);
  assert.equal(merged.currentContext, "a");
  assert.deepEqual([...merged.contexts.keys()].sort(), ["a", "b", "path"]);

  const a = selectContext(merged);
  assert.equal(a.contextName, "a");
  // The context, cluster and user of a.yaml, not b.yaml's same-named ones, and nothing of theirs mixed in.
  assert.deepEqual(a.cluster, { server: "https://a.example:6443", "certificate-authority": "/k/ca.crt" });
  assert.deepEqual(a.user, { "client-certificate": "/k/certs/a.crt", "client-key": "/abs/a.key" });
  assert.equal(a.context.namespace, "team-a");

  // A context only the second file defines, with paths relative to that file's folder.
  const b = selectContext(merged, "b");
  assert.equal(b.cluster.server, "https://only-b.example");
  assert.equal(b.user.exec?.command, "/k/sub/bin/plugin.sh");
  assert.equal(
    selectContext(merged, "path").user.exec?.command,
    "aws",
    "a bare command is looked up in PATH",
  );
});

Deno.test("a relative tokenFile leaves the file's folder with ..; the empty current-context of a first file does not win", async () => {
  const read = files({ "/k/a.yaml": "clusters: []\n", "/k/sub/b.yaml": B });
  const merged = await loadKubeconfigFiles({ precedence: ["/k/a.yaml", "/k/sub/b.yaml"], cwd: "/" }, read);
  assert.equal(merged.currentContext, "b");
  assert.equal(selectContext(merged, "a").user.tokenFile, "/k/tokens/t");
});

Deno.test("--kubeconfig names one file that must exist; a list of only missing files is an error", async () => {
  const read = files({ "/k/a.yaml": A, "/k/sub/b.yaml": B });
  await assert.rejects(
    loadKubeconfigFiles({ explicitPath: "/k/none.yaml", cwd: "/" }, read),
    (err) =>
      err instanceof KubeconfigError &&
      /Cannot read kubeconfig \/k\/none\.yaml: no such file/.test(err.message),
  );
  const explicit = await loadKubeconfigFiles({ explicitPath: "/k/sub/b.yaml", cwd: "/" }, read);
  assert.equal(explicit.currentContext, "b");
  await assert.rejects(
    loadKubeconfigFiles({ precedence: ["/x", "/y"], cwd: "/" }, read),
    /No kubeconfig found: \/x, \/y do not exist/,
  );
});

Deno.test("splitKubeconfigList drops empty entries and duplicates, keeping the order", () => {
  assert.deepEqual(splitKubeconfigList("a::b:a:"), ["a", "b"]);
  assert.equal(absolute("../x/./y", "/k/sub"), "/k/x/y");
  assert.equal(absolute("/abs", "/k"), "/abs");
});

Deno.test("ConfirmUsable's checks, each a one-line error naming what is wrong", async () => {
  const cases: [string, string, RegExp][] = [
    ["no current context", "clusters: []", /has no current-context; pass --context/],
    ["unknown context", "current-context: x", /has no context "x"/],
    [
      "missing cluster",
      "current-context: c\ncontexts: [{name: c, context: {cluster: k, user: u}}]\nusers: [{name: u, user: {}}]",
      /Cluster "k" of context "c" is not in/,
    ],
    [
      "missing user",
      "current-context: c\ncontexts: [{name: c, context: {cluster: k, user: u}}]\nclusters: [{name: k, cluster: {server: https://x}}]",
      /User "u" of context "c" is not in/,
    ],
    ["no server", ctx("{}", "{}"), /Cluster "k" has no server/],
    [
      "CA twice",
      ctx("{server: https://x, certificate-authority: a, certificate-authority-data: Zm9v}", "{}"),
      /certificate-authority and certificate-authority-data are both set/,
    ],
    [
      "cert without key",
      ctx("{server: https://x}", "{client-certificate: c}"),
      /client-certificate without client-key/,
    ],
    [
      "token and basic",
      ctx("{server: https://x}", "{token: t, username: u}"),
      /token and username\/password/,
    ],
    ["groups without as", ctx("{server: https://x}", "{as-groups: [g]}"), /without as/],
    [
      "exec without apiVersion",
      ctx("{server: https://x}", "{exec: {command: c}}"),
      /exec.apiVersion is not set/,
    ],
    ["bad namespace", ctx("{server: https://x}", "{}", "Team_A"), /namespace "Team_A" is not a valid/],
    ["wrong type", ctx("{server: 6443}", "{}"), /clusters\[0\]\.cluster\.server must be a string/],
    ["not YAML", "clusters: [", /is not valid YAML/],
  ];
  for (const [what, text, expected] of cases) {
    await assert.rejects(
      async () =>
        selectContext(await loadKubeconfigFiles({ explicitPath: "/c", cwd: "/" }, files({ "/c": text }))),
      (err) => err instanceof KubeconfigError && expected.test(err.message) && !err.message.includes("\n"),
      what,
    );
  }
});

Deno.test("fields client-go does not know are collected for a warning, as kubectl ignores them", async () => {
  const text = ctx("{server: https://x, colour: red}", "{tokn: typo}");
  const merged = await loadKubeconfigFiles({ explicitPath: "/c", cwd: "/" }, files({ "/c": text }));
  assert.deepEqual(merged.unknownFields, ["/c: clusters[0].cluster.colour", "/c: users[0].user.tokn"]);
  assert.equal(selectContext(merged).cluster.server, "https://x");
});

/** One context `c` with cluster `k` and user `u` of the given stanzas. */
function ctx(cluster: string, user: string, namespace?: string): string {
  const ns = namespace ? `, namespace: ${namespace}` : "";
  return `current-context: c
contexts: [{name: c, context: {cluster: k, user: u${ns}}}]
clusters: [{name: k, cluster: ${cluster}}]
users: [{name: u, user: ${user}}]
`;
}
