/**
 * From a kubeconfig to a connection: which source wins, which fields become what, and which are refused
 * (each with one line naming the field). Files are held in memory; tests/e2e/kubeconfig_auth_test.ts
 * runs the same configurations against the API server.
 */
import assert from "node:assert/strict";
import { loadClusterConnection } from "../../controller/kube/config.ts";
import { KubeconfigError } from "../../controller/kube/kubeconfig.ts";

function files(map: Record<string, string>) {
  return (path: string) => {
    if (path in map) return Promise.resolve(map[path]);
    return Promise.reject(new Deno.errors.NotFound(`No such file: ${path}`));
  };
}

function kubeconfig(cluster: string, user: string): string {
  return `current-context: c
contexts: [{name: c, context: {cluster: k, user: u, namespace: ns1}}]
clusters: [{name: k, cluster: ${cluster}}]
users: [{name: u, user: ${user}}]
`;
}

const CA = "-----BEGIN CERTIFICATE-----\nca\n-----END CERTIFICATE-----\n";

Deno.test("--kubeconfig, then KUBECONFIG, then in-cluster, then ~/.kube/config", async () => {
  const read = files({
    "/explicit": kubeconfig("{server: https://explicit}", "{}"),
    "/env": kubeconfig("{server: https://env}", "{}"),
    "/home/me/.kube/config": kubeconfig("{server: https://home}", "{}"),
    "/var/run/secrets/kubernetes.io/serviceaccount/ca.crt": CA,
    "/var/run/secrets/kubernetes.io/serviceaccount/namespace": "sa-ns\n",
    "/var/run/secrets/kubernetes.io/serviceaccount/token": "sa-token\n",
  });
  const inCluster = {
    KUBERNETES_SERVICE_HOST: "10.96.0.1",
    KUBERNETES_SERVICE_PORT: "443",
    HOME: "/home/me",
  };
  const server = async (opts: Partial<Parameters<typeof loadClusterConnection>[0]>) =>
    (await loadClusterConnection({ env: {}, readFile: read, cwd: "/", ...opts })).server;
  assert.equal(
    await server({ kubeconfigPath: "/explicit", env: { KUBECONFIG: "/env", ...inCluster } }),
    "https://explicit",
  );
  assert.equal(await server({ env: { KUBECONFIG: "/env", ...inCluster } }), "https://env");
  // A KUBECONFIG naming only missing files is an error, not a silent fall-back to somewhere else.
  await assert.rejects(server({ env: { KUBECONFIG: "/none", ...inCluster } }), KubeconfigError);
  const sa = await loadClusterConnection({ env: inCluster, readFile: read, cwd: "/" });
  assert.equal(sa.server, "https://10.96.0.1:443");
  assert.equal(sa.namespace, "sa-ns");
  assert.equal(sa.caPem, CA);
  assert.deepEqual(await sa.credentials?.get(), { token: "sa-token" });
  assert.equal(await server({ env: { HOME: "/home/me" } }), "https://home");
  assert.equal(
    await server({ env: { HOME: "/home/me" }, masterUrl: "https://master:6443/" }),
    "https://master:6443",
  );
  await assert.rejects(server({ env: {} }), /No kubeconfig found/);

  // kubectl's order (the plugin's): ~/.kube/config, when it exists, before the service account.
  assert.equal(await server({ env: inCluster, kubectlOrder: true }), "https://home");
  assert.equal(
    await server({ env: { ...inCluster, HOME: "/nobody" }, kubectlOrder: true }),
    "https://10.96.0.1:443",
  );
  assert.equal(
    await server({ env: { KUBECONFIG: "/env", ...inCluster }, kubectlOrder: true }),
    "https://env",
  );
});

Deno.test("each honoured field becomes part of the connection", async () => {
  const read = files({
    "/k/config": kubeconfig(
      `{server: "https://rancher.example/k8s/clusters/c-1/", certificate-authority: ca.crt,
        proxy-url: "http://user:p%40ss@127.0.0.1:3128", disable-compression: true}`,
      `{client-certificate-data: ${btoa("CERT")}, client-key-data: ${btoa("KEY")}, token: static,
        as: jane, as-uid: "1234", as-groups: [dev, ops], as-user-extra: {scopes.example/x: [a, b]}}`,
    ),
    "/k/ca.crt": CA,
  });
  const conn = await loadClusterConnection({
    kubeconfigPath: "/k/config",
    env: {},
    readFile: read,
    cwd: "/",
  });
  assert.equal(
    conn.server,
    "https://rancher.example/k8s/clusters/c-1",
    "the path stays, the trailing slash goes",
  );
  assert.equal(conn.caPem, CA);
  assert.equal(conn.clientCertPem, "CERT");
  assert.equal(conn.clientKeyPem, "KEY");
  assert.deepEqual(await conn.credentials?.get(), { token: "static" });
  assert.equal(conn.credentials?.rejected({ token: "static" }), false, "a static token cannot be refreshed");
  assert.deepEqual(conn.impersonate, {
    user: "jane",
    uid: "1234",
    groups: ["dev", "ops"],
    extra: { "scopes.example/x": ["a", "b"] },
  });
  assert.deepEqual(conn.proxy, {
    transport: "http",
    url: "http://127.0.0.1:3128",
    basicAuth: { username: "user", password: "p@ss" },
  });
  assert.equal(conn.disableCompression, true);
  assert.equal(conn.namespace, "ns1");
  assert.match(conn.source, /^\/k\/config \(context c\)$/);
});

Deno.test("a token file wins over a token (client-go re-reads it), basic auth over an exec plugin", async () => {
  const read = files({
    "/c": kubeconfig("{server: https://x}", "{token: old, tokenFile: t}"),
    "/t": " from-file\n",
    "/b": kubeconfig(
      "{server: https://x}",
      "{username: u, password: p, exec: {apiVersion: client.authentication.k8s.io/v1, command: c, interactiveMode: Never}}",
    ),
  });
  const conn = await loadClusterConnection({ kubeconfigPath: "/c", env: {}, readFile: read, cwd: "/" });
  assert.deepEqual(await conn.credentials?.get(), { token: "from-file" });
  const basic = await loadClusterConnection({
    kubeconfigPath: "/b",
    env: {},
    readFile: read,
    cwd: "/",
    runPlugin: () => Promise.reject(new Error("must not run")),
  });
  assert.deepEqual(basic.basicAuth, { username: "u", password: "p" });
  assert.equal(basic.credentials, undefined);
});

Deno.test("fields that cannot be honoured are refused at load, in one line naming the field", async () => {
  const exec = (fields: string) => `{exec: {command: c, ${fields}}}`;
  const cases: [string, string, string, RegExp][] = [
    [
      "tls-server-name",
      "{server: https://x, tls-server-name: api.internal}",
      "{}",
      /tls-server-name is not supported/,
    ],
    [
      "insecure",
      "{server: https://x, insecure-skip-tls-verify: true}",
      "{}",
      /insecure-skip-tls-verify is not supported/,
    ],
    [
      "auth-provider",
      "{server: https://x}",
      "{auth-provider: {name: oidc}}",
      /auth-provider \(oidc\) is not supported/,
    ],
    [
      "exec v1alpha1",
      "{server: https://x}",
      exec("apiVersion: client.authentication.k8s.io/v1alpha1"),
      /exec.apiVersion client.authentication.k8s.io\/v1alpha1 is not supported/,
    ],
    [
      "v1 without interactiveMode",
      "{server: https://x}",
      exec("apiVersion: client.authentication.k8s.io/v1"),
      /exec.interactiveMode must be set/,
    ],
    [
      "interactive Always",
      "{server: https://x}",
      exec("apiVersion: client.authentication.k8s.io/v1beta1, interactiveMode: Always"),
      /interactiveMode Always needs a terminal/,
    ],
    [
      "socks4 proxy",
      "{server: https://x, proxy-url: socks4://p:1080}",
      "{}",
      /proxy-url scheme socks4: is not supported/,
    ],
    ["not a URL", "{server: 'not a url'}", "{}", /server "not a url" is not a URL/],
    [
      "credentials in the server URL",
      "{server: 'https://admin:s3cret@api.example'}",
      "{}",
      /server has a username or password in its URL; give credentials in the user entry/,
    ],
    [
      "plain HTTP with a token",
      "{server: http://api.example:8080}",
      "{token: t}",
      /is plain HTTP: credentials are sent only over https/,
    ],
    [
      "missing CA file",
      "{server: https://x, certificate-authority: /none}",
      "{}",
      /certificate-authority \/none/,
    ],
  ];
  for (const [what, cluster, user, expected] of cases) {
    const read = files({ "/c": kubeconfig(cluster, user) });
    await assert.rejects(
      loadClusterConnection({ kubeconfigPath: "/c", env: {}, readFile: read, cwd: "/" }),
      (err) =>
        err instanceof KubeconfigError && expected.test(err.message) && !err.message.includes("\n") &&
        !err.message.includes("s3cret"),
      what,
    );
  }
  // Plain HTTP on loopback (a local proxy) keeps its credentials; without credentials any host is fine.
  for (const [server, user] of [["http://127.0.0.1:8001", "{token: t}"], ["http://api.example:8080", "{}"]]) {
    const read = files({ "/c": kubeconfig(`{server: "${server}"}`, user) });
    await loadClusterConnection({ kubeconfigPath: "/c", env: {}, readFile: read, cwd: "/" });
  }
  // v1beta1 defaults interactiveMode to IfAvailable, as client-go does; a SOCKS5 proxy is honoured.
  const ok = files({
    "/c": kubeconfig(
      "{server: https://x, proxy-url: socks5://127.0.0.1:1080}",
      exec("apiVersion: client.authentication.k8s.io/v1beta1"),
    ),
  });
  const conn = await loadClusterConnection({ kubeconfigPath: "/c", env: {}, readFile: ok, cwd: "/" });
  assert.deepEqual(conn.proxy, { transport: "socks5", url: "socks5://127.0.0.1:1080" });
});

Deno.test("exec plugins ask on the terminal only where there is one, and never in mode Never", async () => {
  const plugin = (mode: string) =>
    `{exec: {apiVersion: client.authentication.k8s.io/v1, command: /bin/login, interactiveMode: ${mode}}}`;
  const reply = JSON.stringify({
    apiVersion: "client.authentication.k8s.io/v1",
    kind: "ExecCredential",
    status: { token: "t" },
  });
  const cases: [string, boolean, boolean][] = [
    ["Always", true, true],
    ["IfAvailable", true, true],
    ["IfAvailable", false, false],
    ["Never", true, false],
  ];
  for (const [mode, terminal, interactive] of cases) {
    const runs: { interactive: boolean; info: { spec: { interactive: boolean } } }[] = [];
    const conn = await loadClusterConnection({
      kubeconfigPath: "/c",
      env: {},
      readFile: files({ "/c": kubeconfig("{server: https://x}", plugin(mode)) }),
      cwd: "/",
      terminal,
      runPlugin: (_command, _args, env, opts) => {
        runs.push({ interactive: opts.interactive, info: JSON.parse(env.KUBERNETES_EXEC_INFO) });
        return Promise.resolve(reply);
      },
    });
    assert.deepEqual(await conn.credentials?.get(), { token: "t" });
    const what = `${mode}, ${terminal ? "a" : "no"} terminal`;
    assert.equal(runs[0].interactive, interactive, `${what}: standard input handed over`);
    assert.equal(runs[0].info.spec.interactive, interactive, `${what}: spec.interactive`);
  }
});
