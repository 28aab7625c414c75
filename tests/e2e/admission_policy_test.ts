/**
 * Fail closed without the admission policy (issue 18, "Without the admission policy the Secret protection
 * fails open, silently"). On a private control plane (the test deletes the cluster-wide binding, which other
 * tests rely on), the operator runs under deploy/'s RBAC; alice may only create and read CloudShells. With the
 * binding deleted, the API server admits her shell naming a Secret she may not read, as the review found; the
 * operator now says so at start, refuses that shell (Ready=False AdmissionPolicyMissing, a Warning Event, no
 * Job), runs a shell that names nothing, and keeps refusing the unchecked spec after the binding is back.
 */
import assert from "node:assert/strict";
import { childName, type CloudShell, CloudShells } from "../../controller/cloudshell/api.ts";
import {
  isForbidden,
  isNotFound,
  KubeClient,
  type KubeObject,
  Resources,
} from "../../controller/kube/mod.ts";
import { eventually, testCluster } from "../harness/cluster.ts";
import { installOperatorIdentity, serviceAccountToken, writeTokenKubeconfig } from "../deploy/_identity.ts";
import { DEPLOY_NAME } from "../deploy/_manifests.ts";
import {
  AdmissionPolicyBindings,
  createCloudShell,
  installAdmissionPolicy,
  installCrd,
  OperatorProcess,
  readyCondition,
  waitForCloudShell,
} from "./_operator.ts";
import { grantRole, waitForEvent } from "./_support.ts";

const POLICY = "cloudshell-creator-can-read";

Deno.test("without the admission policy, shells naming a Secret get no Job; with it back, unchecked specs stay refused", async () => {
  await using cluster = await testCluster({ private: true });
  const admin = cluster.client;
  await installCrd(admin);
  const opNs = await cluster.namespace("e2e-nopolicy-op");
  const ns = await cluster.namespace("e2e-nopolicy");
  await using _identity = await installOperatorIdentity(cluster, opNs);
  await grantRole(admin, ns, "create-shells", [{
    apiGroups: ["cloudshell.cloudtty.io"],
    resources: ["cloudshells"],
    verbs: ["create", "get", "list", "watch"],
  }], { users: ["alice"] });
  await admin.create(Resources.secrets, {
    apiVersion: "v1",
    kind: "Secret",
    metadata: { name: "victim", namespace: ns },
    stringData: { config: "apiVersion: v1\nkind: Config\n" },
  } as KubeObject);
  const alice = new KubeClient(cluster.connection, {}, { user: "alice", groups: ["system:authenticated"] });
  try {
    // The attack of the review: the binding is deleted, and the API server admits alice's shell.
    await admin.delete(AdmissionPolicyBindings, undefined, POLICY);
    await eventually("alice's shell naming the victim to be admitted", async () => {
      try {
        return await createCloudShell(alice, ns, "nopol", { secretRef: { name: "victim" } });
      } catch (err) {
        if (isForbidden(err)) return false;
        throw err;
      }
    });

    const dir = await Deno.makeTempDir({ prefix: "cloudshell-nopolicy-" });
    const token = await serviceAccountToken(admin, opNs, DEPLOY_NAME);
    const kubeconfig = await writeTokenKubeconfig(
      dir,
      cluster.connection.server,
      token,
      cluster.connection.caPem,
    );
    const start = () => OperatorProcess.start(kubeconfig, ns, [`--operator-namespace=${opNs}`]);
    await using op = await start();

    // The start-up log says why, naming the missing binding.
    await eventually("the operator to log that the policy is not in force", () =>
      Promise.resolve(
        op.logs().some((l) =>
          l.includes("The admission policy is not in force") &&
          l.includes(`ValidatingAdmissionPolicyBinding ${POLICY} does not exist`)
        ),
      ));
    const refused = await waitForCloudShell(
      admin,
      ns,
      "nopol",
      "Ready=False AdmissionPolicyMissing",
      (cs) => readyCondition(cs)?.reason === "AdmissionPolicyMissing",
    );
    assert.equal(readyCondition(refused)?.status, "False");
    assert.match(readyCondition(refused)?.message ?? "", /does not exist/);
    await waitForEvent(admin, ns, "nopol", "Warning", "AdmissionPolicyMissing");

    // A shell that names nothing runs as before.
    await createCloudShell(alice, ns, "plain", {});
    await eventually(
      "plain's Job",
      async () => (await admin.get(Resources.jobs, ns, childName("plain"))) ?? false,
    );

    // The binding comes back: the policy checks new requests again, but nopol's spec was never checked.
    await installAdmissionPolicy(admin);
    await eventually("the policy to deny alice again", async () => {
      try {
        await createCloudShell(alice, ns, "probe", { secretRef: { name: "victim" } });
        await admin.delete(CloudShells, ns, "probe");
        return false;
      } catch (err) {
        return isForbidden(err);
      }
    });
    await eventually(
      "the operator to log that the policy is in force",
      () => Promise.resolve(op.logs().some((l) => l.includes("The admission policy is in force"))),
    );
    // A restart reconciles nopol again with the policy in force: its spec is still the unchecked one.
    await op.stop();
    await using _op2 = await start();
    await Deno.remove(dir, { recursive: true });
    await waitForCloudShell(
      admin,
      ns,
      "nopol",
      "still refused as unchecked",
      (cs) => /admitted while the admission policy was not in force/.test(readyCondition(cs)?.message ?? ""),
    );
    await assert.rejects(() => admin.get(Resources.jobs, ns, childName("nopol")), isNotFound);
    const nopol = await admin.get<CloudShell>(CloudShells, ns, "nopol");
    assert.equal(readyCondition(nopol)?.reason, "AdmissionPolicyMissing");
  } finally {
    alice.close();
  }
});
