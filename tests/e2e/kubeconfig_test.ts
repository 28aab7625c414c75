/**
 * Where a terminal's kubeconfig comes from, against a real control plane:
 * `secretRef` with the AllowSecretStoreKubeconfig gate on, the legacy
 * `configmapName` with it off, and neither (a per-CloudShell ServiceAccount
 * bound to the ClusterRole of `--kubeconfig-clusterrole`). A named Secret or
 * ConfigMap exposes only its `config` key, and the operator never reads it.
 */
import assert from "node:assert/strict";
import { type CloudShell, OWNER_LABEL } from "../../controller/cloudshell/api.ts";
import { isForbidden, type KubeObject, Resources } from "../../controller/kube/mod.ts";
import { eventually, testCluster } from "../harness/cluster.ts";
import {
  createCloudShell,
  installCrd,
  OperatorProcess,
  readyCondition,
  waitForCloudShell,
} from "./_operator.ts";
import { eventsAbout, ownedNames, waitForEvent } from "./_support.ts";

interface Volume {
  name: string;
  secret?: { secretName?: string; defaultMode?: number };
  configMap?: { name?: string };
  projected?: { sources: Record<string, Record<string, unknown>>[] };
}
interface Container {
  name: string;
  env?: { name: string; value?: string }[];
  volumeMounts?: { name: string; mountPath: string; readOnly?: boolean }[];
}
interface Job extends KubeObject {
  spec: {
    template: {
      spec: {
        serviceAccountName?: string;
        automountServiceAccountToken?: boolean;
        containers: Container[];
        volumes?: Volume[];
      };
    };
  };
}
type RoleBinding = KubeObject & {
  roleRef: { kind: string; name: string };
  subjects: { kind: string; name: string; namespace: string }[];
};

/** A kubeconfig whose token is easy to look for where it must never appear. */
const TOKEN = "e2e-secret-token-7f3c9a";
const KUBECONFIG_TEXT = `apiVersion: v1
kind: Config
clusters: [{name: remote, cluster: {server: "https://remote.example.test:6443"}}]
users: [{name: remote, user: {token: ${TOKEN}}}]
contexts: [{name: remote, context: {cluster: remote, user: remote}}]
current-context: remote
`;

const isReady = (cs: CloudShell) => cs.status?.phase === "Ready";

function kubeconfigVolume(job: Job): Volume | undefined {
  return job.spec.template.spec.volumes?.find((v) => v.name === "kubeconfig");
}

function terminal(job: Job): Container {
  return job.spec.template.spec.containers.find((c) => c.name === "web-tty")!;
}

Deno.test("secretRef (gate on): only the Secret's config key is mounted, and the operator never reads it", async () => {
  await using cluster = await testCluster();
  await installCrd(cluster.client);
  const ns = await cluster.namespace("e2e-kc-secret");
  await using op = await OperatorProcess.start(cluster.kubeconfigPath, ns);
  const client = cluster.client;

  // A shell may come before its Secret: the operator does not look (it may not read Secrets), the Job
  // names it, and on a real node the kubelet holds the pod in ContainerCreating until it exists.
  const created = await createCloudShell(client, ns, "remote", {
    secretRef: { name: "my-kubeconfig" },
    commandAction: "bash",
  });
  await eventually("the Job, before the Secret exists", async () => {
    return (await ownedNames(client, Resources.jobs, ns)).includes("cloudshell-remote");
  });
  await client.create(Resources.secrets, {
    apiVersion: "v1",
    kind: "Secret",
    metadata: { name: "my-kubeconfig", namespace: ns },
    // Whatever else the Secret holds stays out of the terminal.
    stringData: { config: KUBECONFIG_TEXT, token: "not-for-the-terminal" },
  } as KubeObject);
  const ready = await waitForCloudShell(client, ns, "remote", "Ready", isReady);
  assert.equal(ready.metadata.uid, created.metadata.uid, "the same CloudShell, not a new one");
  assert.equal(readyCondition(ready)?.status, "True");
  const warnings = (await eventsAbout(client, ns, "remote", "CloudShell")).filter((e) =>
    e.type === "Warning"
  );
  assert.deepEqual(warnings, []);

  const job = await client.get<Job>(Resources.jobs, ns, "cloudshell-remote");
  assert.deepEqual(kubeconfigVolume(job), {
    name: "kubeconfig",
    secret: { secretName: "my-kubeconfig", defaultMode: 0o440, items: [{ key: "config", path: "config" }] },
  });
  const container = terminal(job);
  assert.ok(
    container.env?.some((e) => e.name === "KUBECONFIG" && e.value === "/usr/local/kubeconfig/config"),
  );
  assert.ok(container.volumeMounts?.some((m) => m.name === "kubeconfig" && m.readOnly));
  assert.equal(job.spec.template.spec.automountServiceAccountToken, false);
  assert.equal(job.spec.template.spec.serviceAccountName, undefined);
  // With a kubeconfig of its own, the shell gets no ServiceAccount.
  assert.deepEqual(await ownedNames(client, Resources.serviceAccounts, ns), []);
  assert.deepEqual(await ownedNames(client, Resources.roleBindings, ns), []);

  // The operator never reads the kubeconfig's bytes, so they appear nowhere it writes.
  assert.ok(!JSON.stringify(job).includes(TOKEN));
  assert.ok(!JSON.stringify(ready).includes(TOKEN));
  assert.ok(!op.logs().join("\n").includes(TOKEN));
});

Deno.test("configmapName (gate off) mounts the ConfigMap's config key; --kubeconfig-clusterrole is used", async () => {
  await using cluster = await testCluster();
  await installCrd(cluster.client);
  const ns = await cluster.namespace("e2e-kc-cm");
  await using op = await OperatorProcess.start(cluster.kubeconfigPath, ns, [
    "--feature-gates=AllowSecretStoreKubeconfig=false",
    "--kubeconfig-clusterrole=edit",
  ]);
  const client = cluster.client;
  assert.match(await op.metrics(), /feature_enabled\{name="AllowSecretStoreKubeconfig"[^}]*\} 0/);
  await client.create(Resources.configMaps, {
    apiVersion: "v1",
    kind: "ConfigMap",
    metadata: { name: "legacy-kubeconfig", namespace: ns },
    data: { config: KUBECONFIG_TEXT },
  } as KubeObject);

  // CloudTTY's early README sample, which predates secretRef.
  await createCloudShell(client, ns, "legacy", {
    configmapName: "legacy-kubeconfig",
    runAsUser: "root",
    commandAction: "kubectl -n kube-system logs -f kube-apiserver-cn-stack",
    once: false,
  });
  // With the gate off, secretRef is ignored (with a warning) and the shell gets a ServiceAccount.
  await createCloudShell(client, ns, "secret-only", { secretRef: { name: "my-kubeconfig" } });

  await waitForCloudShell(client, ns, "legacy", "Ready", isReady);
  const job = await client.get<Job>(Resources.jobs, ns, "cloudshell-legacy");
  assert.deepEqual(kubeconfigVolume(job), {
    name: "kubeconfig",
    configMap: { name: "legacy-kubeconfig", defaultMode: 0o440, items: [{ key: "config", path: "config" }] },
  });
  assert.ok(terminal(job).env?.some((e) => e.name === "KUBECONFIG"));

  await waitForCloudShell(client, ns, "secret-only", "Ready", isReady);
  await waitForEvent(client, ns, "secret-only", "Warning", "SecretKubeconfigIgnored");
  const saJob = await client.get<Job>(Resources.jobs, ns, "cloudshell-secret-only");
  assert.ok(kubeconfigVolume(saJob)?.projected, "a projected ServiceAccount token, not the Secret");
  const binding = await client.get<RoleBinding>(Resources.roleBindings, ns, "cloudshell-secret-only");
  assert.deepEqual(binding.roleRef, {
    apiGroup: "rbac.authorization.k8s.io",
    kind: "ClusterRole",
    name: "edit",
  });
  // Only the shell without a kubeconfig source got an account.
  assert.deepEqual(await ownedNames(client, Resources.serviceAccounts, ns), ["cloudshell-secret-only"]);
});

Deno.test("no kubeconfig: a per-CloudShell ServiceAccount bound to view, with a projected token", async () => {
  await using cluster = await testCluster();
  await installCrd(cluster.client);
  const ns = await cluster.namespace("e2e-kc-sa");
  await using _op = await OperatorProcess.start(cluster.kubeconfigPath, ns);
  const client = cluster.client;
  // A ConfigMap kubeconfig is ignored while the gate is on (its default), with a warning.
  await createCloudShell(client, ns, "local", { configmapName: "my-kubeconfig" });
  const cs = await waitForCloudShell(client, ns, "local", "Ready", isReady);
  await waitForEvent(client, ns, "local", "Warning", "ConfigMapKubeconfigIgnored");

  const sa = await client.get<KubeObject & { automountServiceAccountToken?: boolean }>(
    Resources.serviceAccounts,
    ns,
    "cloudshell-local",
  );
  assert.equal(sa.automountServiceAccountToken, false);
  assert.equal(sa.metadata.labels?.[OWNER_LABEL], "local");
  assert.equal(sa.metadata.ownerReferences?.[0]?.uid, cs.metadata.uid);
  const binding = await client.get<RoleBinding>(Resources.roleBindings, ns, "cloudshell-local");
  assert.deepEqual(binding.roleRef, {
    apiGroup: "rbac.authorization.k8s.io",
    kind: "ClusterRole",
    name: "view",
  });
  assert.deepEqual(binding.subjects, [{ kind: "ServiceAccount", name: "cloudshell-local", namespace: ns }]);
  assert.equal(binding.metadata.ownerReferences?.[0]?.uid, cs.metadata.uid);

  const job = await client.get<Job>(Resources.jobs, ns, "cloudshell-local");
  const pod = job.spec.template.spec;
  assert.equal(pod.serviceAccountName, "cloudshell-local");
  assert.equal(pod.automountServiceAccountToken, false);
  const sources = kubeconfigVolume(job)?.projected?.sources ?? [];
  assert.deepEqual(sources.map((s) => Object.keys(s)[0]), [
    "serviceAccountToken",
    "configMap",
    "downwardAPI",
  ]);
  assert.deepEqual(sources[0].serviceAccountToken, { path: "token", expirationSeconds: 3600 });
  assert.equal(sources[1].configMap.name, "kube-root-ca.crt");
  const container = terminal(job);
  assert.ok(
    container.volumeMounts?.some((m) =>
      m.name === "kubeconfig" && m.mountPath === "/var/run/secrets/kubernetes.io/serviceaccount" && m.readOnly
    ),
    "the token is where kubectl's in-cluster config looks",
  );
  assert.ok(!container.env?.some((e) => e.name === "KUBECONFIG"), "no KUBECONFIG pointing at nothing");

  // The terminal gets exactly the ClusterRole's rights: ask the API server as the ServiceAccount.
  // (It shares the admin client's connections, so it is not closed on its own.)
  const asShell = client.impersonating(`system:serviceaccount:${ns}:cloudshell-local`, [
    "system:serviceaccounts",
    `system:serviceaccounts:${ns}`,
    "system:authenticated",
  ]);
  await asShell.list(Resources.pods, { namespace: ns });
  await assert.rejects(
    () => asShell.list(Resources.secrets, { namespace: ns }),
    (err) => isForbidden(err),
    "view does not read Secrets",
  );
  await assert.rejects(
    () => asShell.list(Resources.pods, { namespace: "default" }),
    (err) => isForbidden(err),
    "the binding is for the shell's namespace only",
  );
  const warnings = (await eventsAbout(client, ns, "local", "CloudShell")).filter((e) => e.type === "Warning");
  assert.deepEqual(warnings.map((e) => e.reason), ["ConfigMapKubeconfigIgnored"]);
});
