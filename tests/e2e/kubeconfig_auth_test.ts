/**
 * The operator outside the cluster, with each kubeconfig of the corpus (tests/kube/testdata/corpus) against
 * the real API server, kubectl as the oracle: the API server sees the same user for the project's client
 * as for `kubectl auth whoami` (certificates, tokens, token files, exec plugins returning tokens or
 * certificates, impersonation, a proxy, merged KUBECONFIG lists); credentials refresh after a real
 * revocation (a deleted ServiceAccount); twenty parallel requests run the exec plugin once; and the
 * operator process itself reaches a Ready shell with every case kubectl accepts, and refuses at start,
 * with exit code 2 and one line, each case it cannot honour.
 */
import assert from "node:assert/strict";
import {
  KubeClient,
  type KubeObject,
  loadClusterConnection,
  Resources,
  type ResourceType,
} from "../../controller/kube/mod.ts";
import { deleteNamespaceAndWait, eventually, type TestCluster, testCluster } from "../harness/cluster.ts";
import { run } from "../harness/commands.ts";
import { ConnectProxy } from "../harness/connect_proxy.ts";
import { controlPlaneBinaries } from "../harness/control_plane.ts";
import { startTaskArgs } from "../harness/start_task.ts";
import { caseFiles, CORPUS, type CorpusCase, writeCorpus } from "../kube/_corpus.ts";
import { createCloudShell, installCrd, OperatorProcess, waitForCloudShell } from "./_operator.ts";

const V1 = "client.authentication.k8s.io/v1";
const CLUSTER_ROLE_BINDINGS: ResourceType = {
  group: "rbac.authorization.k8s.io",
  version: "v1",
  plural: "clusterrolebindings",
  kind: "ClusterRoleBinding",
  namespaced: false,
};
/** The group the corpus's impersonated and certificate users are in, bound to cluster-admin for the test. */
const CORPUS_GROUP = "e2e-corpus-group";

interface UserInfo {
  username: string;
  uid?: string;
  groups?: string[];
  extra?: Record<string, string[]>;
}

/** Who the API server takes the client for (`kubectl auth whoami`). */
async function whoAmI(client: KubeClient): Promise<UserInfo> {
  const res = await client.request({
    method: "POST",
    path: "/apis/authentication.k8s.io/v1/selfsubjectreviews",
    body: { apiVersion: "authentication.k8s.io/v1", kind: "SelfSubjectReview" },
  });
  const body = await res.json();
  if (!res.ok) throw new Error(`SelfSubjectReview: ${res.status} ${body.message}`);
  return body.status.userInfo as UserInfo;
}

async function tokenOf(client: KubeClient, namespace: string, name: string): Promise<string> {
  await client.create(Resources.serviceAccounts, {
    apiVersion: "v1",
    kind: "ServiceAccount",
    metadata: { name, namespace },
  }).catch(() => {});
  const res = await client.request({
    method: "POST",
    path: `/api/v1/namespaces/${namespace}/serviceaccounts/${name}/token`,
    body: { apiVersion: "authentication.k8s.io/v1", kind: "TokenRequest", spec: { expirationSeconds: 3600 } },
  });
  const body = await res.json();
  if (!res.ok) throw new Error(`TokenRequest: ${res.status} ${body.message}`);
  return body.status.token;
}

/** Deletes a ServiceAccount and waits until the API server refuses its token. */
async function revoke(cluster: TestCluster, namespace: string, name: string, token: string): Promise<void> {
  await cluster.client.delete(Resources.serviceAccounts, namespace, name);
  const probe = new KubeClient({
    server: cluster.connection.server,
    caPem: cluster.connection.caPem,
    source: "probe",
  });
  try {
    await eventually(`the token of ${name} to be refused`, async () => {
      const res = await probe.request({
        method: "GET",
        path: "/version",
        headers: { Authorization: `Bearer ${token}` },
      });
      await res.body?.cancel();
      return res.status === 401;
    });
  } finally {
    probe.close();
  }
}

/** A client certificate signed by the test CA (whose key sits next to the harness's kubeconfig). */
async function signedClientCert(
  pkiDir: string,
  out: string,
  cn: string,
  org: string,
): Promise<[string, string]> {
  await Deno.writeTextFile(`${out}/client.ext`, "extendedKeyUsage=clientAuth\n");
  const openssl = async (args: string[]) => {
    const res = await run("openssl", args);
    assert.equal(res.code, 0, res.stderr);
  };
  await openssl([
    "req",
    "-newkey",
    "rsa:2048",
    "-nodes",
    "-keyout",
    `${out}/exec.key`,
    "-out",
    `${out}/exec.csr`,
    "-subj",
    `/O=${org}/CN=${cn}`,
  ]);
  await openssl([
    "x509",
    "-req",
    "-in",
    `${out}/exec.csr`,
    "-CA",
    `${pkiDir}/ca.crt`,
    "-CAkey",
    `${pkiDir}/ca.key`,
    "-CAcreateserial",
    "-out",
    `${out}/exec.crt`,
    "-days",
    "1",
    "-extfile",
    `${out}/client.ext`,
  ]);
  return [await Deno.readTextFile(`${out}/exec.crt`), await Deno.readTextFile(`${out}/exec.key`)];
}

/** Everything the corpus needs on a live cluster, set up once per test. */
async function liveCorpus(cluster: TestCluster) {
  const ns = await cluster.namespace("e2e-kcauth");
  const pki = cluster.kubeconfigPath.slice(0, cluster.kubeconfigPath.lastIndexOf("/"));
  const dir = await Deno.makeTempDir({ prefix: "kubeconfig-live-" });
  const proxy = ConnectProxy.start();
  const token = await tokenOf(cluster.client, ns, "corpus-sa");
  const [certPem, keyPem] = await signedClientCert(pki, dir, "e2e-corpus-cert", CORPUS_GROUP);
  await writeCorpus(`${dir}/corpus`, {
    server: cluster.connection.server,
    proxy: proxy.url,
    token,
    caPem: await Deno.readTextFile(`${pki}/ca.crt`),
    adminCertPem: await Deno.readTextFile(`${pki}/admin.crt`),
    adminKeyPem: await Deno.readTextFile(`${pki}/admin.key`),
  });
  const state = `${dir}/corpus/state`;
  const setTokenReply = (t: string, expiresAt?: Date) =>
    Deno.writeTextFile(
      `${state}/token-reply.json`,
      JSON.stringify({
        apiVersion: V1,
        kind: "ExecCredential",
        status: { token: t, expirationTimestamp: expiresAt?.toISOString() },
      }),
    );
  await setTokenReply(token);
  await Deno.writeTextFile(
    `${state}/cert-reply.json`,
    JSON.stringify({
      apiVersion: "client.authentication.k8s.io/v1beta1",
      kind: "ExecCredential",
      status: { clientCertificateData: certPem, clientKeyData: keyPem },
    }),
  );
  // The SA, the impersonated user and the certificate user run an operator: give them what it needs.
  const binding = `e2e-corpus-${ns}`;
  await cluster.client.create(CLUSTER_ROLE_BINDINGS, {
    apiVersion: "rbac.authorization.k8s.io/v1",
    kind: "ClusterRoleBinding",
    metadata: { name: binding },
    roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: "cluster-admin" },
    subjects: [
      { kind: "Group", apiGroup: "rbac.authorization.k8s.io", name: CORPUS_GROUP },
      { kind: "ServiceAccount", name: "corpus-sa", namespace: ns },
    ],
  } as KubeObject);
  const runs = async (file: string) =>
    (await Deno.readTextFile(`${state}/${file}`).catch(() => "")).split("\n").filter((l) => l !== "");
  return {
    ns,
    dir,
    corpus: `${dir}/corpus`,
    state,
    proxy,
    token,
    setTokenReply,
    runs,
    /** The project's connection for a case, loaded as main.ts loads it. */
    connect: (c: CorpusCase) =>
      loadClusterConnection(
        c.explicit
          ? { kubeconfigPath: caseFiles(`${dir}/corpus`, c)[0], context: c.context, env: {} }
          : { env: { KUBECONFIG: caseFiles(`${dir}/corpus`, c).join(":") }, context: c.context },
      ),
    async [Symbol.asyncDispose]() {
      await cluster.client.delete(CLUSTER_ROLE_BINDINGS, undefined, binding).catch(() => {});
      await proxy[Symbol.asyncDispose]();
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    },
  };
}

function corpusCase(name: string): CorpusCase {
  const c = CORPUS.find((c) => c.name === name);
  if (!c) throw new Error(`No corpus case ${name}`);
  return c;
}

Deno.test("each live kubeconfig of the corpus: the API server sees who it sees for kubectl", async () => {
  await using cluster = await testCluster();
  await using live = await liveCorpus(cluster);
  const kubectl = `${await controlPlaneBinaries()}/kubectl`;
  for (const c of CORPUS.filter((c) => c.live)) {
    const files = caseFiles(live.corpus, c);
    const args = ["auth", "whoami", "-o", "json", ...(c.context ? [`--context=${c.context}`] : [])];
    const out = await run(kubectl, args, undefined, { KUBECONFIG: files.join(":") });
    assert.equal(out.code, 0, `${c.name}: kubectl: ${out.stderr}`);
    const theirs = JSON.parse(out.stdout).status.userInfo as UserInfo;

    const tunnelsBefore = live.proxy.tunnels.length;
    const client = new KubeClient(await live.connect(c), { userAgent: "e2e-kubeconfig-auth" });
    try {
      assert.deepEqual(await whoAmI(client), theirs, c.name);
    } finally {
      client.close();
    }
    if (c.context === "proxy") {
      const port = new URL(cluster.connection.server).port;
      assert.deepEqual(live.proxy.tunnels.slice(tunnelsBefore), [`127.0.0.1:${port}`], "through the proxy");
    }
  }
  // What the identities were, so a pass means what it says.
  const identity = async (name: string) => {
    const client = new KubeClient(await live.connect(corpusCase(name)));
    try {
      return await whoAmI(client);
    } finally {
      client.close();
    }
  };
  const jane = await identity("impersonation");
  assert.equal(jane.username, "e2e-corpus-jane");
  assert.equal(jane.uid, "42");
  // Each group and extra value its own (fetch would join repeated header names into one "a, b" value).
  assert.deepEqual(jane.extra, { "example.com/team": ["shells", "terminals"] });
  assert.deepEqual(jane.groups, [CORPUS_GROUP, "e2e-corpus-team", "system:authenticated"]);
  assert.equal((await identity("exec plugin v1beta1, client certificate")).username, "e2e-corpus-cert");
  assert.equal(
    (await identity("exec plugin v1, token")).username,
    `system:serviceaccount:${live.ns}:corpus-sa`,
  );

  // The v1 plugin was told about the cluster (provideClusterInfo) and not to be interactive.
  const [name, info] = (await live.runs("token-runs"))[0].split(/ (.*)/s);
  assert.equal(name, "token");
  const spec = JSON.parse(info).spec;
  assert.equal(spec.interactive, false);
  assert.equal(spec.cluster.server, cluster.connection.server);
  assert.equal(atob(spec.cluster["certificate-authority-data"]), cluster.connection.caPem);
});

/**
 * A reverse proxy that serves the API server below a path, as Rancher serves its clusters
 * (`/k8s/clusters/<id>`), over TLS with the API server's own certificate (kubectl sends no credentials
 * over plain HTTP): requests outside the prefix get 404, the rest go on with their own token.
 */
function prefixProxy(
  upstream: string,
  caPem: string | undefined,
  prefix: string,
  tls: { cert: string; key: string },
) {
  const http = Deno.createHttpClient({ caCerts: caPem ? [caPem] : undefined, http2: false });
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {}, ...tls }, async (req) => {
    const url = new URL(req.url);
    if (!url.pathname.startsWith(`${prefix}/`)) return new Response("not below the prefix", { status: 404 });
    const headers = new Headers(req.headers);
    headers.delete("host");
    const res = await fetch(`${upstream}${url.pathname.slice(prefix.length)}${url.search}`, {
      method: req.method,
      headers,
      body: req.body,
      client: http,
    });
    // fetch has already decompressed the body: the length and encoding of the answer no longer apply.
    const answer = new Headers(res.headers);
    answer.delete("content-encoding");
    answer.delete("content-length");
    return new Response(res.body, { status: res.status, headers: answer });
  });
  return {
    url: `https://127.0.0.1:${server.addr.port}${prefix}`,
    async [Symbol.asyncDispose]() {
      await server.shutdown();
      http.close();
    },
  };
}

Deno.test("a server URL with a path: every request goes below it, for kubectl and for the project alike", async () => {
  await using cluster = await testCluster();
  const ns = await cluster.namespace("e2e-kcprefix");
  const token = await tokenOf(cluster.client, ns, "prefixed");
  const pki = cluster.kubeconfigPath.slice(0, cluster.kubeconfigPath.lastIndexOf("/"));
  await using proxy = prefixProxy(cluster.connection.server, cluster.connection.caPem, "/k8s/clusters/c-1", {
    cert: await Deno.readTextFile(`${pki}/server.crt`),
    key: await Deno.readTextFile(`${pki}/server.key`),
  });
  const dir = await Deno.makeTempDir({ prefix: "kubeconfig-prefix-" });
  try {
    const kubeconfig = `${dir}/config`;
    await Deno.writeTextFile(
      kubeconfig,
      JSON.stringify({
        apiVersion: "v1",
        kind: "Config",
        clusters: [{
          name: "c",
          cluster: { server: `${proxy.url}/`, "certificate-authority": `${pki}/ca.crt` },
        }],
        users: [{ name: "u", user: { token } }],
        contexts: [{ name: "c", context: { cluster: "c", user: "u" } }],
        "current-context": "c",
      }),
    );
    const kubectl = `${await controlPlaneBinaries()}/kubectl`;
    const out = await run(kubectl, [`--kubeconfig=${kubeconfig}`, "auth", "whoami", "-o", "json"]);
    assert.equal(out.code, 0, out.stderr);
    const client = new KubeClient(await loadClusterConnection({ kubeconfigPath: kubeconfig, env: {} }));
    try {
      assert.deepEqual(await whoAmI(client), JSON.parse(out.stdout).status.userInfo);
      assert.equal((await whoAmI(client)).username, `system:serviceaccount:${ns}:prefixed`);
    } finally {
      client.close();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("exec plugin and tokenFile: one run for twenty parallel requests, a revocation refreshed at the first 401, a run after expiry", async () => {
  await using cluster = await testCluster();
  await using live = await liveCorpus(cluster);
  const other = await tokenOf(cluster.client, live.ns, "corpus-next");
  const exec = new KubeClient(await live.connect(corpusCase("exec plugin v1, token")), {
    qps: 100,
    burst: 100,
  });
  const fromFile = new KubeClient(await live.connect(corpusCase("tokenFile")));
  const sa = (name: string) => `system:serviceaccount:${live.ns}:${name}`;
  try {
    const users = await Promise.all(Array.from({ length: 20 }, () => whoAmI(exec)));
    assert.ok(users.every((u) => u.username === sa("corpus-sa")));
    assert.equal((await live.runs("token-runs")).length, 1, "twenty requests, one plugin run");
    assert.equal((await whoAmI(fromFile)).username, sa("corpus-sa"));

    // The token is revoked for real. The plugin now hands out another ServiceAccount's token, and the
    // token file is rotated as the kubelet rotates a projected token (the new file replaces the old).
    await revoke(cluster, live.ns, "corpus-sa", live.token);
    await live.setTokenReply(other);
    await Deno.writeTextFile(`${live.state}/token.new`, other);
    await Deno.rename(`${live.state}/token.new`, `${live.state}/token`);
    // Each client meets one 401, refreshes, and its request succeeds with the new identity: no error, and
    // for the file no wait for the next minute's re-read.
    assert.equal((await whoAmI(exec)).username, sa("corpus-next"));
    assert.equal((await live.runs("token-runs")).length, 2, "the 401 ran the plugin once more");
    assert.equal((await whoAmI(fromFile)).username, sa("corpus-next"));
  } finally {
    exec.close();
    fromFile.close();
  }

  // A credential with an expiry is used until then, and the plugin runs again after it.
  await live.setTokenReply(other, new Date(Date.now() + 2_000));
  const expiring = new KubeClient(await live.connect(corpusCase("exec plugin v1, token")));
  try {
    await whoAmI(expiring);
    await whoAmI(expiring);
    assert.equal((await live.runs("token-runs")).length, 3);
    await new Promise((r) => setTimeout(r, 2_100));
    await whoAmI(expiring);
    assert.equal((await live.runs("token-runs")).length, 4, "run again once expired");
  } finally {
    expiring.close();
  }
});

Deno.test("the operator reaches a Ready shell with each live case, and refuses each case it cannot honour with exit code 2", async () => {
  await using cluster = await testCluster();
  await installCrd(cluster.client);
  await using live = await liveCorpus(cluster);
  const cases = CORPUS.filter((c) => c.live);
  const namespaces: string[] = [];
  try {
    // In parallel: each operator watches a namespace of its own.
    await Promise.all(cases.map(async (c, i) => {
      const ns = await cluster.namespace(`e2e-kcop-${i}`);
      namespaces.push(ns);
      const files = caseFiles(live.corpus, c);
      await using _op = await OperatorProcess.start(
        files.join(":"),
        ns,
        c.context ? [`--context=${c.context}`] : [],
        { kubeconfigEnv: !c.explicit },
      );
      await createCloudShell(cluster.client, ns, "shell", { exposureMode: "ClusterIP" });
      await waitForCloudShell(
        cluster.client,
        ns,
        "shell",
        `Ready with ${c.name}`,
        (cs) => cs.status?.phase === "Ready",
        90_000,
      );
    }));
  } finally {
    await Promise.all(
      namespaces.map((ns) => deleteNamespaceAndWait(cluster.client, ns, 60_000).catch(() => {})),
    );
  }

  // With the permissions of `deno task start` (those the compiled binary embeds).
  for (const c of CORPUS.filter((c) => c.refused)) {
    const out = await run(
      Deno.execPath(),
      startTaskArgs([
        `--kubeconfig=${caseFiles(live.corpus, c)[0]}`,
        `--context=${c.context}`,
        "--leader-elect=false",
        "--metrics-bind-address=0",
        "--health-probe-bind-address=0",
      ]),
    );
    assert.equal(out.code, 2, `${c.name}: ${out.stderr}`);
    const lines = out.stderr.trim().split("\n").filter((l) =>
      !l.includes('"level"') && !l.startsWith("time=")
    );
    assert.equal(lines.length, 1, `${c.name}: one line: ${out.stderr}`);
    assert.match(lines[0], c.refused!);
  }

  // A plugin that cannot run is reported at start, with the kubeconfig's installHint, and exit code 2.
  await Deno.remove(`${live.corpus}/cloud/plugins/token.sh`);
  const missing = await run(
    Deno.execPath(),
    startTaskArgs([
      "--context=exec-v1",
      "--leader-elect=false",
      "--metrics-bind-address=0",
      "--health-probe-bind-address=0",
    ]),
    undefined,
    { KUBECONFIG: caseFiles(live.corpus, corpusCase("exec plugin v1, token")).join(":") },
  );
  assert.equal(missing.code, 2, missing.stderr);
  assert.match(
    missing.stderr,
    /exec plugin .*token\.sh of user "exec-token" failed: .*; token\.sh comes with the corpus/,
  );
});
