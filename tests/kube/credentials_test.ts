/**
 * Credentials that refresh, with the plugin run replaced by a function (the real plugins, shell scripts,
 * run in tests/e2e/kubeconfig_auth_test.ts): one run for concurrent callers, cached until expiry, a 401
 * forgets the credential once, and every way an ExecCredential can be wrong.
 */
import assert from "node:assert/strict";
import {
  CachedCredential,
  type Credential,
  execPlugin,
  type ExecPluginConfig,
  ExecPluginError,
  tokenFile,
} from "../../controller/kube/credentials.ts";

const V1 = "client.authentication.k8s.io/v1";

function config(overrides: Partial<ExecPluginConfig> = {}): ExecPluginConfig {
  return {
    command: "/bin/plugin",
    args: ["get"],
    env: [{ name: "A", value: "1" }],
    apiVersion: V1,
    user: "u",
    ...overrides,
  };
}

function reply(status: Record<string, unknown>, apiVersion = V1): string {
  return JSON.stringify({ apiVersion, kind: "ExecCredential", status });
}

Deno.test("exec: twenty concurrent callers share one run; the credential is cached until it expires", async () => {
  let now = 1_000_000;
  const runs: Record<string, string>[] = [];
  const plugin = execPlugin(config(), async (_cmd, _args, env) => {
    runs.push(env);
    await new Promise((r) => setTimeout(r, 20));
    return reply({ token: `t${runs.length}`, expirationTimestamp: new Date(now + 60_000).toISOString() });
  }, () => now);
  const got = await Promise.all(Array.from({ length: 20 }, () => plugin.get()));
  assert.equal(runs.length, 1);
  assert.ok(got.every((c) => c.token === "t1"));
  assert.equal(runs[0].A, "1");
  assert.deepEqual(JSON.parse(runs[0].KUBERNETES_EXEC_INFO), {
    apiVersion: V1,
    kind: "ExecCredential",
    spec: { interactive: false },
  });
  now += 59_000;
  assert.equal((await plugin.get()).token, "t1");
  now += 2_000;
  assert.equal((await plugin.get()).token, "t2", "run again once expired");
});

Deno.test("exec: without an expiry the credential lasts until a 401; concurrent 401s cause one run", async () => {
  let runs = 0;
  const plugin = execPlugin(config(), () => Promise.resolve(reply({ token: `t${++runs}` })));
  const first = await plugin.get();
  assert.equal((await plugin.get()).token, "t1");
  // Ten requests fail with t1 at once: the first forgets it, the rest see it gone and retry too.
  assert.ok(Array.from({ length: 10 }, () => plugin.rejected(first)).every((retry) => retry));
  const after = await Promise.all(Array.from({ length: 10 }, () => plugin.get()));
  assert.equal(runs, 2);
  assert.ok(after.every((c) => c.token === "t2"));
  // A late 401 for the old credential does not throw the new one away.
  plugin.rejected(first);
  assert.equal((await plugin.get()).token, "t2");
  assert.equal(runs, 2);
});

Deno.test("exec: a client certificate instead of a token; cluster info when provideClusterInfo is set", async () => {
  let info: unknown;
  const cluster = { server: "https://x", "certificate-authority-data": btoa("CA"), config: { region: "eu" } };
  const plugin = execPlugin(config({ cluster }), (_c, _a, env) => {
    info = JSON.parse(env.KUBERNETES_EXEC_INFO);
    return Promise.resolve(reply({ clientCertificateData: "CERT", clientKeyData: "KEY" }));
  });
  assert.deepEqual(await plugin.get(), { clientCertPem: "CERT", clientKeyPem: "KEY" });
  assert.deepEqual((info as { spec: unknown }).spec, { interactive: false, cluster });
});

Deno.test("exec: a wrong reply is an error that describes it without quoting the secret", async () => {
  const cases: [string, string, RegExp][] = [
    [
      "other apiVersion",
      reply({ token: "SECRET" }, "client.authentication.k8s.io/v1beta1"),
      /configured for client.authentication.k8s.io\/v1 but returned "client.authentication.k8s.io\/v1beta1"/,
    ],
    ["not JSON", "SECRET", /did not print an ExecCredential as JSON/],
    [
      "other kind",
      JSON.stringify({ apiVersion: V1, kind: "Secret", status: { token: "SECRET" } }),
      /kind "Secret"/,
    ],
    ["no status", JSON.stringify({ apiVersion: V1, kind: "ExecCredential" }), /returned no status/],
    ["nothing", reply({}), /neither a token nor a client certificate/],
    ["cert alone", reply({ clientCertificateData: "SECRET" }), /certificate without a key/],
    ["bad expiry", reply({ token: "SECRET", expirationTimestamp: "soon" }), /invalid expirationTimestamp/],
  ];
  for (const [what, out, expected] of cases) {
    const plugin = execPlugin(config(), () => Promise.resolve(out));
    await assert.rejects(
      plugin.get(),
      (err) =>
        err instanceof ExecPluginError && expected.test(err.message) && !err.message.includes("SECRET"),
      what,
    );
  }
});

Deno.test("exec: a plugin that cannot run shows the installHint in one line; the next call runs it again", async () => {
  let calls = 0;
  const plugin = execPlugin(
    config({ installHint: "Install it:\n  brew install plugin\n" }),
    () =>
      ++calls === 1
        ? Promise.reject(new Error("Failed to spawn: No such file"))
        : Promise.resolve(reply({ token: "t" })),
  );
  await assert.rejects(plugin.get(), (err) =>
    err instanceof ExecPluginError &&
    err.message ===
      'Running the exec plugin /bin/plugin of user "u" failed: Failed to spawn: No such file; ' +
        "Install it: brew install plugin");
  assert.equal((await plugin.get()).token, "t", "a failure is not cached");
});

Deno.test("token file: read again after a minute and after a 401", async () => {
  let now = 0;
  let content = "one\n";
  let reads = 0;
  const source = tokenFile("/t", () => {
    reads++;
    return Promise.resolve(content);
  }, () => now);
  const first = await source.get();
  assert.equal(first.token, "one");
  content = "two";
  now += 30_000;
  assert.equal((await source.get()).token, "one");
  assert.equal(source.rejected(first), true);
  assert.equal((await source.get()).token, "two", "a 401 makes it read the file at once");
  content = "three";
  now += 61_000;
  assert.equal((await source.get()).token, "three");
  assert.equal(reads, 3);
});

Deno.test("CachedCredential: a fetch that fails is not cached and shared failures reach every waiter", async () => {
  let n = 0;
  const cached = new CachedCredential(async (): Promise<{ credential: Credential }> => {
    await new Promise((r) => setTimeout(r, 5));
    if (++n === 1) throw new Error("down");
    return { credential: { token: "ok" } };
  });
  const results = await Promise.allSettled([cached.get(), cached.get()]);
  assert.deepEqual(results.map((r) => r.status), ["rejected", "rejected"]);
  assert.equal((await cached.get()).token, "ok");
  assert.equal(n, 2);
});
