/**
 * `--metrics-secure` against the real API server: /metrics over HTTPS, refused without a token (401) and
 * to a token whose user may not `get` it (403), served to one bound to the shipped metrics-reader
 * ClusterRole (200); the health probes stay plain HTTP. Tokens come from `kubectl create token`.
 */
import assert from "node:assert/strict";
import { parse as parseYaml } from "yaml";
import type { KubeObject } from "../../controller/kube/mod.ts";
import { Resources } from "../../controller/kube/mod.ts";
import { eventually, testCluster } from "../harness/cluster.ts";
import { run } from "../harness/commands.ts";
import { installCrd, OperatorProcess } from "./_operator.ts";
import { kubectl } from "./_support.ts";

const METRICS_READER = new URL("../../deploy/metrics_reader.yaml", import.meta.url).pathname;

/** --metrics-secure needs the probes on another listener than /metrics (127.0.0.1:0 in the tests). */
const HEALTH_APART = "--health-probe-bind-address=localhost:0";

const ClusterRoles = Resources.clusterRoles;
const ClusterRoleBindings = Resources.clusterRoleBindings;

/**
 * A test CA (ca.crt) and a serving certificate for 127.0.0.1 signed by it (tls.crt, tls.key), made with openssl,
 * in a new directory.
 */
async function certDir(): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "metrics-cert-" });
  const ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"];
  await Deno.writeTextFile(`${dir}/ext.cnf`, "subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\n");
  for (
    const args of [
      ["req", "-x509", ...ec, "-days", "1", "-subj", "/CN=test-ca", "-keyout", "ca.key", "-out", "ca.crt"],
      ["req", ...ec, "-subj", "/CN=cloudshell-operator", "-keyout", "tls.key", "-out", "tls.csr"],
      ["x509", "-req", "-in", "tls.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial", "-days", "1"]
        .concat(["-extfile", "ext.cnf", "-out", "tls.crt"]),
    ]
  ) {
    const res = await run(
      "openssl",
      args.map((a) =>
        a.endsWith(".key") || a.endsWith(".crt") || a.endsWith(".csr") || a === "ext.cnf" ? `${dir}/${a}` : a
      ),
    );
    assert.equal(res.code, 0, res.stderr);
  }
  return dir;
}

Deno.test("--metrics-secure: 401 without a token, 403 without the right, 200 with metrics-reader", async () => {
  await using cluster = await testCluster();
  await installCrd(cluster.client);
  const ns = await cluster.namespace("e2e-metrics-auth");
  const dir = await certDir();
  await using op = await OperatorProcess.start(cluster.kubeconfigPath, ns, [
    "--metrics-secure=true",
    `--metrics-cert-dir=${dir}`,
    HEALTH_APART,
  ]);
  assert.match(op.metricsUrl, /^https:\/\//);
  assert.equal(await op.probe("/readyz"), 200, "the probes stay plain HTTP");

  // The shipped ClusterRole, under a name of this test's own, bound to one of two ServiceAccounts.
  const role = parseYaml(await Deno.readTextFile(METRICS_READER)) as KubeObject;
  role.metadata = { name: `${role.metadata.name}-${ns}` };
  await cluster.client.create(ClusterRoles, role);
  await cluster.client.create(ClusterRoleBindings, {
    apiVersion: "rbac.authorization.k8s.io/v1",
    kind: "ClusterRoleBinding",
    metadata: { name: role.metadata.name },
    roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: role.metadata.name! },
    subjects: [{ kind: "ServiceAccount", name: "scraper", namespace: ns }],
  } as KubeObject);
  const tokens: Record<string, string> = {};
  try {
    for (const sa of ["scraper", "nobody"]) {
      await cluster.client.create(Resources.serviceAccounts, {
        apiVersion: "v1",
        kind: "ServiceAccount",
        metadata: { name: sa, namespace: ns },
      });
      const res = await kubectl(cluster.kubeconfigPath, ["create", "token", sa, "-n", ns]);
      assert.equal(res.code, 0, res.stderr);
      tokens[sa] = res.stdout.trim();
    }

    const http = Deno.createHttpClient({ caCerts: [await Deno.readTextFile(`${dir}/ca.crt`)] });
    const scrape = async (token?: string) => {
      const res = await fetch(`${op.metricsUrl}/metrics`, {
        client: http,
        headers: token ? { authorization: `Bearer ${token}` } : {},
      });
      return { status: res.status, body: await res.text() };
    };
    try {
      assert.equal((await scrape()).status, 401, "no token");
      assert.equal((await scrape("not-a-token")).status, 401, "a token the API server does not know");
      assert.equal((await scrape(tokens.nobody)).status, 403, "a token without the right");
      // RBAC reaches the authorizer's cache shortly after the binding is created.
      const allowed = await eventually(
        "the scraper's token to be allowed",
        async () => {
          const got = await scrape(tokens.scraper);
          return got.status === 200 ? got : false;
        },
        30_000,
        500,
      );
      assert.match(allowed.body, /^cloudshell_shells\{phase="Ready"\} \d+$/m);
      assert.equal((await scrape(tokens.nobody)).status, 403, "still refused");
      // An allowed token's decision is reused: more scrapes make no more reviews.
      const reviews = (body: string) =>
        Number(
          /^rest_client_requests_total\{code="201",method="POST",resource="tokenreviews"\} (\d+)$/m.exec(body)
            ?.[1],
        );
      const before = reviews((await scrape(tokens.scraper)).body);
      for (let i = 0; i < 5; i++) await scrape(tokens.scraper);
      const after = reviews((await scrape(tokens.scraper)).body);
      assert.ok(before >= 1, `TokenReviews counted: ${before}`);
      assert.equal(after, before, "scrapes within a minute reuse the decision");
    } finally {
      http.close();
    }
    // Plain HTTP on the HTTPS port gets no metrics.
    const plain = await fetch(op.metricsUrl.replace(/^https/, "http") + "/metrics").then(
      async (res) => ({ status: res.status, body: await res.text() }),
      () => ({ status: 0, body: "" }),
    );
    assert.doesNotMatch(plain.body, /cloudshell_shells/);
    // The token never reaches the logs.
    for (const token of Object.values(tokens)) {
      assert.ok(!op.logs().some((line) => line.includes(token)), "a token in the operator's logs");
    }
  } finally {
    await cluster.client.delete(ClusterRoleBindings, undefined, role.metadata.name!).catch(() => {});
    await cluster.client.delete(ClusterRoles, undefined, role.metadata.name!).catch(() => {});
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("--metrics-secure without a certificate serves a self-signed one", async () => {
  await using cluster = await testCluster();
  await installCrd(cluster.client);
  const ns = await cluster.namespace("e2e-metrics-selfsigned");
  await using op = await OperatorProcess.start(cluster.kubeconfigPath, ns, [
    "--metrics-secure",
    HEALTH_APART,
  ]);
  // curl -k: the certificate cannot be verified, but TLS works and the request reaches the token check.
  const res = await run("curl", ["-sk", "-o", "/dev/null", "-w", "%{http_code}", `${op.metricsUrl}/metrics`]);
  assert.equal(res.stdout, "401", res.stderr);
  const verified = await run("curl", ["-s", "-o", "/dev/null", `${op.metricsUrl}/metrics`]);
  assert.notEqual(verified.code, 0, "an unverifiable certificate");
});
