/**
 * Defence in depth for a stolen operator token (issue 18): with deploy/operator_admission_policy.yaml
 * installed, the operator's own ServiceAccount token (deploy/'s RBAC) can no longer do what the review did
 * with it: a Job in another namespace running as a powerful ServiceAccount, a ServiceAccount token Secret,
 * a RoleBinding of `view` for everyone. The operator itself, under the same token and policy, still takes
 * shells with their own account, a kubeconfig Secret, a generated login and a NetworkPolicy to Ready.
 * A private control plane: the policy is cluster-wide and matches every account named cloudshell-operator.
 */
import assert from "node:assert/strict";
import { childName, type CloudShell } from "../../controller/cloudshell/api.ts";
import {
  isForbidden,
  KubeClient,
  type KubeObject,
  loadClusterConnection,
  Resources,
} from "../../controller/kube/mod.ts";
import { eventually, testCluster } from "../harness/cluster.ts";
import { installOperatorIdentity, serviceAccountToken, writeTokenKubeconfig } from "../deploy/_identity.ts";
import { DEPLOY_NAME } from "../deploy/_manifests.ts";
import {
  createCloudShell,
  installAdmissionPolicy,
  installCrd,
  OperatorProcess,
  waitForCloudShell,
} from "./_operator.ts";

const POLICY = "cloudshell-operator-limits";
const isReady = (cs: CloudShell) => cs.status?.phase === "Ready";

function deniedByPolicy(err: unknown): boolean {
  assert.ok(isForbidden(err), `403 Forbidden, got ${err}`);
  assert.match((err as Error).message, new RegExp(`ValidatingAdmissionPolicy '${POLICY}'`));
  return true;
}

Deno.test("a stolen operator token creates only what the operator makes for a CloudShell", async () => {
  await using cluster = await testCluster({ private: true });
  const admin = cluster.client;
  await installCrd(admin);
  await installAdmissionPolicy(admin, "deploy/operator_admission_policy.yaml");
  const opNs = await cluster.namespace("e2e-token-op");
  const ns = await cluster.namespace("e2e-token");
  const system = await cluster.namespace("e2e-token-system");
  await using _identity = await installOperatorIdentity(cluster, opNs);
  // A powerful account in another namespace, as kube-system has (clusterrole-aggregation-controller).
  await admin.create(Resources.serviceAccounts, {
    apiVersion: "v1",
    kind: "ServiceAccount",
    metadata: { name: "powerful", namespace: system },
  } as KubeObject);
  await admin.create(Resources.secrets, {
    apiVersion: "v1",
    kind: "Secret",
    metadata: { name: "kc", namespace: ns },
    stringData: { config: "apiVersion: v1\nkind: Config\n" },
  } as KubeObject);

  const dir = await Deno.makeTempDir({ prefix: "cloudshell-token-" });
  const token = await serviceAccountToken(admin, opNs, DEPLOY_NAME);
  const kubeconfig = await writeTokenKubeconfig(
    dir,
    cluster.connection.server,
    token,
    cluster.connection.caPem,
  );
  const stolen = new KubeClient(await loadClusterConnection({ kubeconfigPath: kubeconfig, env: {} }), {});
  try {
    const job = (namespace: string, name: string, pod: Record<string, unknown>, owner?: string) => ({
      apiVersion: "batch/v1",
      kind: "Job",
      metadata: {
        name,
        namespace,
        ...(owner && {
          ownerReferences: [{
            apiVersion: "cloudshell.cloudtty.io/v1alpha1",
            kind: "CloudShell",
            name: owner,
            uid: "00000000-0000-0000-0000-000000000001",
            controller: true,
          }],
        }),
      },
      spec: {
        template: {
          spec: { restartPolicy: "Never", containers: [{ name: "c", image: "busybox" }], ...pod },
        },
      },
    } as KubeObject);
    const owned = {
      ownerReferences: [{
        apiVersion: "cloudshell.cloudtty.io/v1alpha1",
        kind: "CloudShell",
        name: "x",
        uid: "00000000-0000-0000-0000-000000000001",
        controller: true,
      }],
    };
    // The review's Job: another namespace, a powerful account. Refused once the API server enforces it.
    await eventually("the operator policy to be enforced", async () => {
      try {
        await stolen.create(Resources.jobs, job(system, "pwn", { serviceAccountName: "powerful" }), {
          dryRun: true,
        });
        return false;
      } catch (err) {
        return isForbidden(err) && deniedByPolicy(err);
      }
    });
    // Dressed up as a shell's Job: still not as another account, nor with its token projected.
    await assert.rejects(
      () =>
        stolen.create(Resources.jobs, job(system, "cloudshell-x", { serviceAccountName: "powerful" }, "x")),
      deniedByPolicy,
    );
    await assert.rejects(
      () =>
        stolen.create(
          Resources.jobs,
          job(system, "cloudshell-x", {
            automountServiceAccountToken: false,
            volumes: [{ name: "t", projected: { sources: [{ serviceAccountToken: { path: "token" } }] } }],
          }, "x"),
        ),
      deniedByPolicy,
    );
    await assert.rejects(
      () =>
        stolen.create(
          Resources.jobs,
          job(system, "cloudshell-x", {
            serviceAccountName: "cloudshell-x",
            hostPID: true,
            volumes: [{ name: "s", secret: { secretName: "anything" } }],
          }, "x"),
        ),
      deniedByPolicy,
    );
    // A ServiceAccount token Secret for the powerful account, and an Opaque Secret.
    await assert.rejects(
      () =>
        stolen.create(Resources.secrets, {
          apiVersion: "v1",
          kind: "Secret",
          metadata: {
            name: "tok",
            namespace: system,
            annotations: { "kubernetes.io/service-account.name": "powerful" },
          },
          type: "kubernetes.io/service-account-token",
        } as KubeObject),
      deniedByPolicy,
    );
    await assert.rejects(
      () =>
        stolen.create(Resources.secrets, {
          apiVersion: "v1",
          kind: "Secret",
          metadata: { name: "cloudshell-x-login-a", namespace: system, ...owned },
          type: "Opaque",
          stringData: { token: "t" },
        } as KubeObject),
      deniedByPolicy,
    );
    // view for everyone.
    await assert.rejects(
      () =>
        stolen.create(Resources.roleBindings, {
          apiVersion: "rbac.authorization.k8s.io/v1",
          kind: "RoleBinding",
          metadata: { name: "cloudshell-x", namespace: system, ...owned },
          roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: "view" },
          subjects: [{ apiGroup: "rbac.authorization.k8s.io", kind: "Group", name: "system:authenticated" }],
        } as KubeObject),
      deniedByPolicy,
    );
    for (const name of ["pwn", "cloudshell-x"]) {
      await assert.rejects(
        () => admin.get(Resources.jobs, system, name),
        (e) => (e as { code?: number }).code === 404,
      );
    }

    // The operator's own objects pass: its own account and binding, a kubeconfig Secret, logins, a fence.
    await using _op = await OperatorProcess.start(kubeconfig, ns, [
      `--operator-namespace=${opNs}`,
      "--terminal-credential=generated",
      "--network-policy-cidr=10.0.0.0/8",
    ]);
    await createCloudShell(admin, ns, "own", {});
    await createCloudShell(admin, ns, "kc", { secretRef: { name: "kc" } });
    await createCloudShell(admin, ns, "given", { env: [{ name: "TTYD_CREDENTIAL", value: "qa:pw" }] });
    for (const name of ["own", "kc", "given"]) {
      const cs = await waitForCloudShell(admin, ns, name, "Ready", isReady, 60_000);
      assert.ok(cs.status?.credentialSecretName, `${name} has its login`);
      await admin.get(Resources.jobs, ns, childName(name));
    }
  } finally {
    stolen.close();
    await Deno.remove(dir, { recursive: true });
  }
});
