/**
 * The low findings of issue 18, as the review ran them: a tenant who may only handle CloudShells (impersonated,
 * a Role of exactly those verbs) against the operator under deploy/'s ServiceAccount and RBAC, started with
 * `--terminal-credential=generated` and a NetworkPolicy flag, and restarted as a Deployment would be:
 * - login Secrets do not pile up: a shell whose Job is never created gets one Secret whatever the restarts
 *   (none when its ServiceAccount has a namesake in the way);
 * - under `generated` a TTYD_CREDENTIAL from a pod field (resolving to "") cannot opt out of the login;
 * - escape sequences a tenant writes reach conditions and Events escaped;
 * - a deleted NetworkPolicy is made again, and a shell started before the flag gets one.
 */
import assert from "node:assert/strict";
import { childName, type CloudShell, CloudShells, OWNER_LABEL } from "../../controller/cloudshell/api.ts";
import { KubeClient, type KubeObject, Resources } from "../../controller/kube/mod.ts";
import { eventually, testCluster } from "../harness/cluster.ts";
import { installOperatorIdentity, serviceAccountToken, writeTokenKubeconfig } from "../deploy/_identity.ts";
import { DEPLOY_NAME } from "../deploy/_manifests.ts";
import {
  createCloudShell,
  installCrd,
  OperatorProcess,
  readyCondition,
  waitForCloudShell,
} from "./_operator.ts";
import { eventsAbout, grantRole, waitForEvent } from "./_support.ts";

// deno-lint-ignore no-control-regex
const RAW_CONTROL = /[\u0000-\u001f\u007f]/;

async function refused(admin: KubeClient, ns: string, name: string, reason: string): Promise<CloudShell> {
  const cs = await waitForCloudShell(admin, ns, name, reason, (c) => readyCondition(c)?.reason === reason);
  assert.equal(readyCondition(cs)?.status, "False");
  await waitForEvent(admin, ns, name, "Warning", reason);
  return cs;
}

async function loginSecrets(admin: KubeClient, ns: string, shell: string): Promise<string[]> {
  const list = await admin.list<KubeObject>(Resources.secrets, {
    namespace: ns,
    labelSelector: `${OWNER_LABEL}=${shell}`,
  });
  return list.items.map((s) => s.metadata.name!).sort();
}

Deno.test("tenants: one login Secret per shell, no opting out of the login, escaped messages, NetworkPolicies kept", async () => {
  await using cluster = await testCluster();
  const admin = cluster.client;
  await installCrd(admin);
  const opNs = await cluster.namespace("e2e-harden-op");
  const ns = await cluster.namespace("e2e-harden");
  await using _identity = await installOperatorIdentity(cluster, opNs);
  await grantRole(admin, ns, "shells", [{
    apiGroups: ["cloudshell.cloudtty.io"],
    resources: ["cloudshells"],
    verbs: ["create", "get", "list", "watch", "update", "patch", "delete"],
  }], { users: ["mal"] });
  const mal = new KubeClient(cluster.connection, {}, { user: "mal", groups: ["system:authenticated"] });
  const dir = await Deno.makeTempDir({ prefix: "cloudshell-harden-" });
  let op: OperatorProcess | undefined;
  try {
    const token = await serviceAccountToken(admin, opNs, DEPLOY_NAME);
    const kubeconfig = await writeTokenKubeconfig(
      dir,
      cluster.connection.server,
      token,
      cluster.connection.caPem,
    );
    const start = (flags: string[]) =>
      OperatorProcess.start(kubeconfig, ns, [
        `--operator-namespace=${opNs}`,
        "--terminal-credential=generated",
        ...flags,
      ]);

    // Before the NetworkPolicy flag: a shell that starts without one.
    op = await start([]);
    await createCloudShell(mal, ns, "early", {});
    await eventually(
      "early's Job",
      async () => (await admin.get(Resources.jobs, ns, childName("early"))) ?? false,
    );
    await op.stop();

    // Names in the way, made by an administrator: a ServiceAccount (so the shell's own account cannot be made)
    // and a Job (so the Job cannot be made, after the account, binding and login).
    await admin.create(Resources.serviceAccounts, {
      apiVersion: "v1",
      kind: "ServiceAccount",
      metadata: { name: childName("sa-taken"), namespace: ns },
    } as KubeObject);
    await admin.create(Resources.jobs, {
      apiVersion: "batch/v1",
      kind: "Job",
      metadata: { name: childName("job-taken"), namespace: ns },
      spec: {
        suspend: true,
        template: { spec: { restartPolicy: "Never", containers: [{ name: "c", image: "busybox" }] } },
      },
    } as KubeObject);

    const fenced = ["--network-policy-cidr=10.0.0.0/8"];
    op = await start(fenced);
    await createCloudShell(mal, ns, "sa-taken", {});
    await createCloudShell(mal, ns, "job-taken", {});
    // N8: a pod field standing in for the login (an annotation the pod lacks resolves to "").
    await createCloudShell(mal, ns, "optout", {
      env: [{
        name: "TTYD_CREDENTIAL",
        valueFrom: { fieldRef: { fieldPath: "metadata.annotations['nonexistent']" } },
      }],
    });
    // N9: escape sequences in what the tenant writes, echoed by the operator's messages.
    await createCloudShell(mal, ns, "esc", {
      env: [{ name: "A\u001b]0;PWNED-TITLE\u0007\u001b[2J\u001b[31mFAKE", value: "1" }],
    });
    await createCloudShell(mal, ns, "esc2", {
      exposureMode: "Ingress",
      ingressConfig: { ingressName: "x\u001b[31mRED\u001b[0m\nlevel=error msg=forged" },
    });
    await createCloudShell(mal, ns, "fenced", {});

    await refused(admin, ns, "sa-taken", "ServiceAccountConflict");
    await refused(admin, ns, "job-taken", "JobConflict");
    const optout = await refused(admin, ns, "optout", "InvalidCredential");
    assert.match(readyCondition(optout)?.message ?? "", /--terminal-credential=generated/);
    for (const name of ["esc", "esc2"]) {
      const reason = name === "esc" ? "InvalidEnv" : "InvalidIngressConfig";
      const cs = await refused(admin, ns, name, reason);
      const message = readyCondition(cs)?.message ?? "";
      assert.doesNotMatch(message, RAW_CONTROL, `${name}: condition`);
      assert.match(message, /\\u001b/, `${name}: the escape shows as text`);
      for (const event of await eventsAbout(admin, ns, name, "CloudShell")) {
        assert.doesNotMatch(event.message, RAW_CONTROL, `${name}: Event ${event.reason}`);
      }
    }
    for (const name of ["optout", "esc", "esc2"]) {
      await assert.rejects(
        () => admin.get(Resources.jobs, ns, childName(name)),
        (e) => (e as { code?: number }).code === 404,
      );
    }

    // N10: the shell started before the flag now has its NetworkPolicy, and so does the new one.
    const early = await eventually(
      "early's NetworkPolicy",
      async () => (await admin.get(Resources.networkPolicies, ns, childName("early"))) ?? false,
    );
    const first = await eventually(
      "fenced's NetworkPolicy",
      async () => (await admin.get(Resources.networkPolicies, ns, childName("fenced"))) ?? false,
    );
    // Deleted by someone: made again, without any change to the shell.
    await admin.delete(Resources.networkPolicies, ns, childName("fenced"));
    await eventually("fenced's NetworkPolicy to be made again", async () => {
      const again = await admin.get(Resources.networkPolicies, ns, childName("fenced"));
      return again.metadata.uid !== first.metadata.uid;
    });
    assert.ok(early.metadata.ownerReferences?.some((o) => o.kind === "CloudShell" && o.name === "early"));

    // N7: restarts. The shell whose account is taken never got a login Secret (it is made after the account
    // and binding); the one whose Job is taken got one, named in its status, and keeps that one.
    const jobTaken = await loginSecrets(admin, ns, "job-taken");
    assert.equal(jobTaken.length, 1, `job-taken: ${jobTaken}`);
    assert.deepEqual(await loginSecrets(admin, ns, "sa-taken"), []);
    for (let i = 0; i < 2; i++) {
      await op.stop();
      const restarted = op = await start(fenced);
      // Each start reconciles it again, up to the Job it cannot create.
      await eventually("job-taken to be reconciled after the restart", () =>
        Promise.resolve(
          restarted.logs().some((l) =>
            l.includes("Reconcile failed, will retry") && l.includes(`${ns}/job-taken`)
          ),
        ));
    }
    assert.deepEqual(await loginSecrets(admin, ns, "job-taken"), jobTaken);
    assert.deepEqual(await loginSecrets(admin, ns, "sa-taken"), []);
    const jt = await admin.get<CloudShell>(CloudShells, ns, "job-taken");
    assert.equal(jt.status?.credentialSecretName, jobTaken[0]);
  } finally {
    await op?.stop();
    mal.close();
    await Deno.remove(dir, { recursive: true });
  }
});
