/**
 * Faults and migration against a real control plane: CloudShells deleted
 * while they are being created leave nothing behind; an operator killed in the
 * middle of creating shells is replaced by one that finishes the work without
 * duplicating anything; and CloudTTY's own samples and README manifests apply
 * with `kubectl apply --validate=strict` and become Ready.
 */
import assert from "node:assert/strict";
import { type CloudShell, CloudShells, FINALIZER, OWNER_LABEL } from "../../controller/cloudshell/api.ts";
import { type Ingress, VirtualServices } from "../../controller/cloudshell/routing/routes.ts";
import { type KubeObject, Resources } from "../../controller/kube/mod.ts";
import { eventually, testCluster } from "../harness/cluster.ts";
import {
  createCloudShell,
  installCrd,
  OperatorProcess,
  readyCondition,
  waitForCloudShell,
  waitForGone,
} from "./_operator.ts";
import {
  cloudShellRows,
  eventsAbout,
  installVirtualServiceCrd,
  kubectl,
  ownedNames,
  sleep,
  waitUntilQuiet,
} from "./_support.ts";

const isReady = (cs: CloudShell) => cs.status?.phase === "Ready";

type Job = KubeObject & { spec: { template: { spec: { containers: { name: string; image?: string }[] } } } };

Deno.test("CloudShells deleted in the middle of their creation leave nothing behind", async () => {
  await using cluster = await testCluster();
  await installCrd(cluster.client);
  await installVirtualServiceCrd(cluster.client);
  const ns = await cluster.namespace("e2e-early-delete");
  await using op = await OperatorProcess.start(cluster.kubeconfigPath, ns);
  const client = cluster.client;
  const specs: Record<string, unknown>[] = [
    {},
    { exposureMode: "ClusterIP", secretRef: { name: "missing" } },
    { exposureMode: "Ingress", ingressConfig: { ingressName: "early" } },
    { exposureMode: "VirtualService", virtualServiceConfig: { virtualServiceName: "early", gateway: "gw" } },
  ];
  // Each shell is deleted after a different delay, so deletions land in different steps of creation.
  const delays = [0, 20, 50, 100, 200, 400];
  const names: string[] = [];
  await Promise.all(specs.flatMap((spec, i) =>
    delays.map(async (delay, j) => {
      const name = `early-${i}-${j}`;
      names.push(name);
      await createCloudShell(client, ns, name, spec);
      await sleep(delay);
      await client.delete(CloudShells, ns, name);
    })
  ));
  // No finalizer keeps them: the operator either never added one or removed it with the route.
  await eventually("every CloudShell to be gone", async () => {
    return (await client.list(CloudShells, { namespace: ns })).items.length === 0;
  }, 20_000);
  // Children created in the race go by garbage collection (their owner no longer exists).
  await eventually("no owned object to be left", async () => {
    const left = [
      ...await ownedNames(client, Resources.jobs, ns),
      ...await ownedNames(client, Resources.services, ns),
      ...await ownedNames(client, Resources.serviceAccounts, ns),
      ...await ownedNames(client, Resources.roleBindings, ns),
      ...await ownedNames(client, Resources.pods, ns),
    ];
    return left.length === 0;
  }, 60_000);
  assert.deepEqual((await client.list(Resources.ingresses, { namespace: ns })).items, [], "no Ingress left");
  assert.deepEqual(
    (await client.list(VirtualServices, { namespace: ns })).items,
    [],
    "no VirtualService left",
  );
  // And the operator settles: no retry loop over objects that are gone.
  await waitUntilQuiet(op, 2_000);
  assert.equal(op.exited, false);
  assert.ok(!op.logs().some((l) => l.includes("Unhandled promise rejection")));
  assert.equal(names.length, specs.length * delays.length);
});

Deno.test("an operator killed while creating shells is replaced by one that finishes without duplicates", async () => {
  await using cluster = await testCluster();
  await installCrd(cluster.client);
  const ns = await cluster.namespace("e2e-restart");
  const client = cluster.client;
  const names = Array.from({ length: 20 }, (_, i) => `shell-${i}`);
  const ingressShells = new Set(names.filter((_, i) => i % 2 === 1));
  for (const name of names) {
    await createCloudShell(
      client,
      ns,
      name,
      ingressShells.has(name) ? { exposureMode: "Ingress", ingressConfig: { ingressName: "restart" } } : {},
    );
  }

  // A slow first operator (few API requests per second), so it is surely killed halfway.
  const first = await OperatorProcess.start(cluster.kubeconfigPath, ns, [
    "--kube-api-qps=4",
    "--kube-api-burst=1",
    "--workers=4",
  ]);
  try {
    await eventually("the first operator to create some Jobs", async () => {
      return (await ownedNames(client, Resources.jobs, ns)).length >= 4;
    }, 60_000);
  } finally {
    await first.stop("SIGKILL");
  }
  const jobsBefore = new Map(
    (await client.list(Resources.jobs, { namespace: ns, labelSelector: OWNER_LABEL })).items.map((
      j,
    ) => [j.metadata.name!, j.metadata.uid!]),
  );
  const readyBefore = (await client.list<CloudShell>(CloudShells, { namespace: ns })).items.filter(isReady);
  assert.ok(jobsBefore.size < names.length, `killed halfway: ${jobsBefore.size} Jobs of ${names.length}`);
  assert.ok(readyBefore.length < names.length, "killed before every shell was Ready");

  await using _second = await OperatorProcess.start(cluster.kubeconfigPath, ns);
  for (const name of names) await waitForCloudShell(client, ns, name, "Ready", isReady, 60_000);

  const jobs = await client.list(Resources.jobs, { namespace: ns });
  assert.deepEqual(jobs.items.map((j) => j.metadata.name).sort(), names.map((n) => `cloudshell-${n}`).sort());
  for (const [name, uid] of jobsBefore) {
    assert.equal(jobs.items.find((j) => j.metadata.name === name)?.metadata.uid, uid, `${name} was kept`);
  }
  for (const name of names) {
    const pods = await client.list(Resources.pods, {
      namespace: ns,
      labelSelector: `${OWNER_LABEL}=${name}`,
    });
    assert.equal(pods.items.length, 1, `one pod for ${name}`);
    const cs = await client.get<CloudShell>(CloudShells, ns, name);
    const finalizers = cs.metadata.finalizers ?? [];
    assert.equal(finalizers.filter((f) => f === FINALIZER).length, ingressShells.has(name) ? 1 : 0, name);
    const readyEvents = (await eventsAbout(client, ns, name, "CloudShell")).filter((e) =>
      e.reason === "Ready"
    );
    assert.ok(readyEvents.length <= 1, `${name}: at most one Ready Event, got ${readyEvents.length}`);
    assert.equal(readyCondition(cs)?.status, "True");
  }
  assert.deepEqual(
    await ownedNames(client, Resources.services, ns),
    names.map((n) => `cloudshell-${n}`).sort(),
  );
  assert.deepEqual(
    await ownedNames(client, Resources.serviceAccounts, ns),
    names.map((n) => `cloudshell-${n}`).sort(),
  );
  const ingress = await client.get<Ingress>(Resources.ingresses, ns, "restart");
  const paths = (ingress.spec?.rules ?? []).flatMap((r) => r.http?.paths ?? []).map((p) => p.path!);
  assert.deepEqual(paths.sort(), [...ingressShells].map((n) => `/apis/v1alpha1/cloudshell/${n}`).sort());
});

/**
 * CloudTTY's `config/samples/` (reference section 9), with their namespace `cloudtty-system` standing for
 * the test namespace. The stale fields (`configmapName`, `runAsUser`) are as upstream has them.
 */
const UPSTREAM_SAMPLES = `apiVersion: cloudshell.cloudtty.io/v1alpha1
kind: CloudShell
metadata:
  name: cloudshell-sample
spec:
  secretRef:
    name: "my-kubeconfig"
  commandAction: "bash"
  ttlSecondsAfterStarted: 500
  once: false
  image: ghcr.io/cloudtty/cloudshell:v0.6.0
---
apiVersion: cloudshell.cloudtty.io/v1alpha1
kind: CloudShell
metadata:
  name: cloudshell-simple
spec:
  secretRef:
    name: "my-kubeconfig"
  env:
  - name: POD_NAMESPACE
    value: aaa
  - name: POD_NAME
    value: bbb
---
apiVersion: cloudshell.cloudtty.io/v1alpha1
kind: CloudShell
metadata:
  name: nginx-demo
  namespace: cloudtty-system
spec:
  configmapName: "my-kubeconfig"
  runAsUser: "root"
  commandAction: "bash"
  exposureMode: "Ingress"
  pathPrefix: "/apis/cloudtty.io/"
  ttlSecondsAfterStarted: 500
  once: false
  ingressConfig:
    ingressName: "cloudshell-ingress-demo"
    namespace: "cloudtty-system"
    ingressClassName: "nginx"
---
apiVersion: cloudshell.cloudtty.io/v1alpha1
kind: CloudShell
metadata:
  name: local-cluster-sample
spec:
  commandAction: "bash"
  ttlSecondsAfterStarted: 500
  once: false
---
apiVersion: cloudshell.cloudtty.io/v1alpha1
kind: CloudShell
metadata:
  name: cloudshell-sample1
  namespace: cloudtty-system
spec:
  secretRef:
    name: "my-kubeconfig"
  commandAction: "bash"
  cleanup: true
---
apiVersion: cloudshell.cloudtty.io/v1alpha1
kind: CloudShell
metadata:
  name: vs-demo
  namespace: cloudtty-system
spec:
  secretRef:
    name: "my-kubeconfig"
  runAsUser: "root"
  commandAction: "bash"
  exposureMode: "VirtualService"
  pathPrefix: "/apis/cloudtty.io/"
  ttlSecondsAfterStarted: 500
  once: false
  virtualServiceConfig:
    virtualServiceName: "cloudshell-vs-demo"
    namespace: "cloudtty-system"
    gateway: "istio-system/istio-gateway"
    export_to: "istio-system"
---
apiVersion: cloudshell.cloudtty.io/v1alpha1
kind: CloudShell
metadata:
  name: cloudshell-node-shell
spec:
  configmapName: "<KUBECONFIg>"
  commandAction: "kubectl node-shell <NODE_NAME>"
`;

/** The manifests of CloudTTY's READMEs (the seeds), all named `cloudshell-sample`. */
const README_MANIFESTS = [
  `apiVersion: cloudshell.cloudtty.io/v1alpha1
kind: CloudShell
metadata:
  name: cloudshell-sample
spec:
  configmapName: "my-kubeconfig"
  runAsUser: "root"
  commandAction: "kubectl -n kube-system logs -f kube-apiserver-cn-stack"
  once: false
`,
  `apiVersion: cloudshell.cloudtty.io/v1alpha1
kind: CloudShell
metadata:
  name: cloudshell-sample
spec:
  secretRef:
    name: "my-kubeconfig"
  image: ghcr.io/cloudtty/customize_cloudshell:latest
`,
  `apiVersion: cloudshell.cloudtty.io/v1alpha1
kind: CloudShell
metadata:
  name: cloudshell-sample
spec:
  secretRef:
    name: "my-kubeconfig"
  runAsUser: "root"
  commandAction: "kubectl -n kube-system logs -f kube-apiserver-cn-stack"
  once: false
`,
];

Deno.test("CloudTTY's samples and README manifests apply with --validate=strict and become Ready", async () => {
  await using cluster = await testCluster();
  await installCrd(cluster.client);
  await installVirtualServiceCrd(cluster.client);
  const ns = await cluster.namespace("e2e-samples");
  const client = cluster.client;
  const kc = (args: string[], stdin?: string) => kubectl(cluster.kubeconfigPath, args, stdin);
  await client.create(Resources.secrets, {
    apiVersion: "v1",
    kind: "Secret",
    metadata: { name: "my-kubeconfig", namespace: ns },
    stringData: { config: "apiVersion: v1\nkind: Config\n" },
  } as KubeObject);
  await using _op = await OperatorProcess.start(cluster.kubeconfigPath, ns);

  // Strict validation is really on: a field the CRD does not have is refused, not pruned.
  const unknown = await kc(
    ["apply", "--validate=strict", "-n", ns, "-f", "-"],
    README_MANIFESTS[0].replace("once: false", "once: false\n  userName: root"),
  );
  assert.notEqual(unknown.code, 0);
  assert.match(unknown.stderr, /unknown field "spec\.userName"/);

  const samples = UPSTREAM_SAMPLES.replaceAll("cloudtty-system", ns);
  const applied = await kc(["apply", "--validate=strict", "-n", ns, "-f", "-"], samples);
  assert.equal(applied.code, 0, applied.stderr);
  assert.equal(applied.stderr, "", "no warnings either");
  const names = [
    "cloudshell-sample",
    "cloudshell-simple",
    "nginx-demo",
    "local-cluster-sample",
    "cloudshell-sample1",
    "vs-demo",
    "cloudshell-node-shell",
  ];
  const shells = new Map<string, CloudShell>();
  for (const name of names) shells.set(name, await waitForCloudShell(client, ns, name, "Ready", isReady));

  assert.equal(
    shells.get("nginx-demo")?.status?.accessUrl,
    "/apis/cloudtty.io/apis/v1alpha1/cloudshell/nginx-demo?ttl=500",
  );
  assert.equal(
    shells.get("vs-demo")?.status?.accessUrl,
    "/apis/cloudtty.io/apis/v1alpha1/cloudshell/vs-demo?ttl=500",
  );
  assert.match(
    shells.get("local-cluster-sample")?.status?.accessUrl ?? "",
    /^shell\.example\.test:\d+\?ttl=500$/,
  );
  const ingress = await client.get<Ingress>(Resources.ingresses, ns, "cloudshell-ingress-demo");
  assert.equal(ingress.spec?.ingressClassName, "nginx");
  await client.get(VirtualServices, ns, "cloudshell-vs-demo");
  const sampleJob = await client.get<Job>(Resources.jobs, ns, "cloudshell-cloudshell-sample");
  assert.equal(sampleJob.spec.template.spec.containers[0].image, "ghcr.io/cloudtty/cloudshell:v0.6.0");
  // The legacy fields are kept as given (and ignored).
  const nginx = await client.get<CloudShell>(CloudShells, ns, "nginx-demo");
  assert.equal(nginx.spec?.runAsUser, "root");
  assert.equal(nginx.spec?.configmapName, "my-kubeconfig");

  // kubectl's columns, as CloudTTY users read them (without upstream's always-empty USER).
  const nginxRow = (await cloudShellRows(cluster.kubeconfigPath, ns)).get("nginx-demo");
  assert.deepEqual(nginxRow?.slice(0, 7), [
    "nginx-demo",
    "True",
    "TerminalReady",
    "bash",
    "Ingress",
    "/apis/cloudtty.io/apis/v1alpha1/cloudshell/nginx-demo?ttl=500",
    "Ready",
  ]);

  // The README manifests share a name: each in turn replaces the previous shell. The first follows logs in
  // kube-system with its configmapName ignored (the AllowSecretStoreKubeconfig gate is on), so its terminal
  // would be the shell's own account, bound to view in this namespace only: it is refused before it starts
  // (TargetForbidden, naming the missing right) rather than going Ready and printing Forbidden.
  for (const [i, manifest] of README_MANIFESTS.entries()) {
    await client.delete(CloudShells, ns, "cloudshell-sample");
    await waitForGone(client, CloudShells, ns, "cloudshell-sample", 10_000);
    await waitForGone(client, Resources.jobs, ns, "cloudshell-cloudshell-sample");
    const result = await kc(["apply", "--validate=strict", "-n", ns, "-f", "-"], manifest);
    assert.equal(result.code, 0, result.stderr);
    if (i === 0) {
      const refused = await waitForCloudShell(
        client,
        ns,
        "cloudshell-sample",
        "refused",
        (c) => readyCondition(c)?.reason === "TargetForbidden",
      );
      assert.match(
        readyCondition(refused)!.message,
        /may not get pods kube-apiserver-cn-stack in namespace kube-system/,
      );
      continue;
    }
    const cs = await waitForCloudShell(client, ns, "cloudshell-sample", "Ready", isReady);
    assert.equal(readyCondition(cs)?.status, "True");
  }
});
