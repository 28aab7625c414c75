/**
 * Bad CloudShells against a real control plane. The API server's schema
 * rejects an unknown exposure mode and oversized fields outright; everything the schema cannot
 * express becomes `Ready=False` with a specific reason and one Warning Event,
 * creates nothing, and leaves the operator idle (no retry loop, no repeated
 * writes) until the spec is fixed, which then makes the shell Ready.
 */
import assert from "node:assert/strict";
import { type CloudShell, CloudShells } from "../../controller/cloudshell/api.ts";
import { isInvalid, Resources } from "../../controller/kube/mod.ts";
import { testCluster } from "../harness/cluster.ts";
import {
  createCloudShell,
  installCrd,
  OperatorProcess,
  readyCondition,
  waitForCloudShell,
} from "./_operator.ts";
import {
  assertQuiet,
  cloudShellRows,
  eventsAbout,
  installVirtualServiceCrd,
  ownedNames,
} from "./_support.ts";

/** One bad spec: the reason it must get, a fragment of the message, and a merge patch that fixes it. */
interface BadCase {
  name: string;
  spec: Record<string, unknown>;
  reason: string;
  message: RegExp;
  fix?: Record<string, unknown>;
}

const LONG_NAME = "a-cloudshell-name-that-is-too-long-for-its-job-name-x";

const CASES: BadCase[] = [
  {
    name: "no-vs-config",
    spec: { exposureMode: "VirtualService" },
    reason: "MissingVirtualServiceConfig",
    message: /virtualServiceConfig/,
    fix: { virtualServiceConfig: { gateway: "istio-system/istio-gateway" } },
  },
  {
    name: "pipe-option",
    spec: { ttydClientOptions: { fontSize: "16", fontFamily: "Mono|Sans" } },
    reason: "InvalidClientOption",
    message: /delimiter '\|'/,
    fix: { ttydClientOptions: { fontFamily: "Mono, Sans" } },
  },
  {
    name: "pipe-key",
    spec: { ttydClientOptions: { "font|Size": "16" } },
    reason: "InvalidClientOption",
    message: /font\|Size/,
    fix: { ttydClientOptions: { "font|Size": null, fontSize: "16" } },
  },
  {
    // ttyd would cut the value at "=" and show "QA".
    name: "equals-option",
    spec: { ttydClientOptions: { titleFixed: "QA=Shell" } },
    reason: "InvalidClientOption",
    message: /'=' in its value/,
    fix: { ttydClientOptions: { titleFixed: "QA Shell" } },
  },
  {
    name: "bad-credential",
    spec: { env: [{ name: "TTYD_CREDENTIAL", value: "no-colon-here" }] },
    reason: "InvalidCredential",
    message: /username:password/,
    fix: { env: [{ name: "TTYD_CREDENTIAL", value: "qa:s3cret" }] },
  },
  {
    name: "bad-ingress-name",
    spec: { exposureMode: "Ingress", ingressConfig: { ingressName: "Shells_Ingress" } },
    reason: "InvalidIngressConfig",
    message: /ingressName "Shells_Ingress"/,
    fix: { ingressConfig: { ingressName: "shells-ingress" } },
  },
  {
    name: "other-ns-ingress",
    spec: { exposureMode: "Ingress", ingressConfig: { namespace: "kube-system" } },
    reason: "InvalidIngressConfig",
    message: /differs from the CloudShell's namespace/,
    fix: { ingressConfig: { namespace: null } },
  },
  {
    name: "other-ns-vs",
    spec: {
      exposureMode: "VirtualService",
      virtualServiceConfig: { gateway: "istio-system/istio-gateway", namespace: "kube-system" },
    },
    reason: "RouteNamespaceNotAllowed",
    message: /virtualServiceConfig.namespace "kube-system" is not allowed/,
    fix: { virtualServiceConfig: { namespace: null } },
  },
  {
    name: "snippet",
    spec: {
      exposureMode: "Ingress",
      ingressConfig: { annotations: { "nginx.ingress.kubernetes.io/server-snippet": "return 200;" } },
    },
    reason: "IngressAnnotationNotAllowed",
    message: /"nginx.ingress.kubernetes.io\/server-snippet" is not allowed/,
    fix: { ingressConfig: { annotations: null } },
  },
  {
    name: "bad-host",
    spec: { exposureMode: "Ingress", ingressConfig: { host: "*.*.example.com" } },
    reason: "InvalidIngressConfig",
    message: /wildcard/,
    fix: { ingressConfig: { host: "*.shells.example.com" } },
  },
  {
    name: "bad-prefix",
    spec: { exposureMode: "Ingress", pathPrefix: "foo" },
    reason: "InvalidPath",
    message: /must start with '\/'/,
    fix: { pathPrefix: "/foo" },
  },
  {
    name: "bad-env-name",
    spec: { env: [{ name: "A=B", value: "1" }] },
    reason: "InvalidEnv",
    message: /env name "A=B" is invalid/,
    fix: { env: [{ name: "POD_NAMESPACE", value: "aaa" }] },
  },
  {
    name: LONG_NAME,
    spec: {},
    reason: "NameTooLong",
    message: /at most 52 characters/,
  },
];

const isReady = (cs: CloudShell) => cs.status?.phase === "Ready";

Deno.test("an unknown exposureMode or too many env entries are rejected by the API server's schema", async () => {
  await using cluster = await testCluster();
  await installCrd(cluster.client);
  const ns = await cluster.namespace("e2e-bad-mode");
  await assert.rejects(
    () => createCloudShell(cluster.client, ns, "mode", { exposureMode: "LoadBalancer" }),
    (err) => {
      assert.ok(isInvalid(err), `422 Invalid, got ${err}`);
      assert.match(
        (err as Error).message,
        /spec\.exposureMode: Unsupported value: "LoadBalancer": supported values: "ClusterIP", "NodePort", "Ingress", "VirtualService"/,
      );
      return true;
    },
  );
  // Sizes too (tenant_admission_test.ts has the rest): more than 128 env entries never reach the operator.
  await assert.rejects(
    () =>
      createCloudShell(cluster.client, ns, "env", {
        env: Array.from({ length: 129 }, (_, i) => ({ name: `VAR_${i}`, value: String(i) })),
      }),
    (err) =>
      isInvalid(err) && /spec\.env: Too many: 129: must have at most 128 items/.test((err as Error).message),
  );
  // Upstream's JSON field types hold too: a number is not a mode.
  await assert.rejects(
    () => createCloudShell(cluster.client, ns, "mode", { exposureMode: 7 }),
    (err) => isInvalid(err) && /spec\.exposureMode/.test((err as Error).message),
  );
});

Deno.test("bad specs get Ready=False with a reason and one Warning Event, create nothing, and loop not", async () => {
  await using cluster = await testCluster();
  await installCrd(cluster.client);
  // The fixed VirtualService shell needs the type to exist.
  await installVirtualServiceCrd(cluster.client);
  const ns = await cluster.namespace("e2e-bad-input");
  await using op = await OperatorProcess.start(cluster.kubeconfigPath, ns);
  const client = cluster.client;
  const created = new Map<string, string>();
  for (const c of CASES) {
    const cs = await createCloudShell(client, ns, c.name, c.spec);
    created.set(c.name, cs.metadata.uid!);
  }

  for (const c of CASES) {
    const cs = await waitForCloudShell(
      client,
      ns,
      c.name,
      `Ready=False reason ${c.reason}`,
      (cs) => readyCondition(cs)?.reason === c.reason,
    );
    const cond = readyCondition(cs)!;
    assert.equal(cond.status, "False", c.name);
    assert.match(cond.message, c.message, c.name);
    assert.equal(cond.observedGeneration, cs.metadata.generation, c.name);
    assert.equal(cs.status?.phase, "Pending", c.name);
    assert.equal(cs.status?.accessUrl ?? "", "", `${c.name} has no URL`);
  }
  // What `kubectl get` shows of them: not ready, why, the defaults applied, no URL, Pending.
  const rows = await cloudShellRows(cluster.kubeconfigPath, ns);
  for (const c of CASES) {
    const row = rows.get(c.name);
    const mode = (c.spec.exposureMode as string | undefined) ?? "NodePort";
    assert.deepEqual(row?.slice(0, 6), [c.name, "False", c.reason, "bash", mode, "Pending"]);
  }
  // Events are sent in the background: wait for all of them before checking the operator is idle.
  const eventsOf = async (c: BadCase) =>
    (await eventsAbout(client, ns, c.name, "CloudShell")).filter((e) => e.type === "Warning");
  for (const c of CASES) {
    const warnings = await eventsOf(c);
    const deadline = Date.now() + 10_000;
    while (warnings.length === 0 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 100));
      warnings.push(...await eventsOf(c));
    }
    assert.equal(warnings.length, 1, `${c.name}: one Warning Event, got ${JSON.stringify(warnings)}`);
    assert.equal(warnings[0].reason, c.reason);
    assert.match(warnings[0].message, c.message);
    assert.equal(warnings[0].involvedObject.uid, created.get(c.name));
  }
  assert.deepEqual(await ownedNames(client, Resources.jobs, ns), [], "no Job for a bad spec");
  assert.deepEqual(await ownedNames(client, Resources.services, ns), [], "no Service for a bad spec");
  assert.deepEqual(await ownedNames(client, Resources.serviceAccounts, ns), []);
  assert.deepEqual((await client.list(Resources.ingresses, { namespace: ns })).items, []);

  // Nothing retries a spec that only a user can fix: no reconciles, no writes.
  const versions = async () =>
    (await client.list<CloudShell>(CloudShells, { namespace: ns })).items.map((cs) =>
      `${cs.metadata.name}@${cs.metadata.resourceVersion}`
    ).sort();
  await assertQuiet(op, 2_500, versions);
  for (const c of CASES) assert.equal((await eventsOf(c)).length, 1, `${c.name}: still one Event`);

  // Fixing the spec is enough: the same CloudShells become Ready.
  const fixable = CASES.filter((c) => c.fix);
  for (const c of fixable) {
    await client.patch(CloudShells, ns, c.name, { spec: c.fix }, "merge");
  }
  for (const c of fixable) {
    const cs = await waitForCloudShell(client, ns, c.name, "Ready after the fix", isReady);
    assert.equal(cs.metadata.uid, created.get(c.name));
    assert.equal(readyCondition(cs)?.status, "True", c.name);
    assert.equal(readyCondition(cs)?.reason, "TerminalReady", c.name);
  }
  const fixedPrefix = await client.get<CloudShell>(CloudShells, ns, "bad-prefix");
  assert.equal(fixedPrefix.status?.accessUrl, "/foo/apis/v1alpha1/cloudshell/bad-prefix");
  const fixedHost = await client.get<CloudShell>(CloudShells, ns, "bad-host");
  assert.equal(fixedHost.status?.accessUrl, "*.shells.example.com/apis/v1alpha1/cloudshell/bad-host");
  // The name cannot be fixed: that shell still has nothing.
  const long = await client.get<CloudShell>(CloudShells, ns, LONG_NAME);
  assert.equal(readyCondition(long)?.reason, "NameTooLong");
  assert.deepEqual(
    (await ownedNames(client, Resources.jobs, ns)).length,
    fixable.length,
    "one Job per fixed shell, none for the long name",
  );
});
