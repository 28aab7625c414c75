/**
 * Identity mode end to end (issue 19): the operator runs under deploy/'s RBAC with the identity component, the
 * API server records each CloudShell's creator (deploy/components/identity's MutatingAdmissionPolicy), and
 * the terminals really run (the kubelet stand-in, real ttyd and kubectl). Users are impersonated by the
 * admin client, each with their own rights:
 * - alice may exec into pod `app` only, and read logs in another namespace;
 * - bob may create CloudShells and nothing else;
 * - carol, with a UID, groups and extra values, may create CloudShells.
 * In the terminal kubectl is alice, exactly: whoami names her, she reaches what she may and nothing more, and
 * `--as` anyone else is refused. bob's exec shell is refused before any terminal starts.
 */
import assert from "node:assert/strict";
import { type CloudShell, CloudShells } from "../../controller/cloudshell/api.ts";
import { type KubeObject, Resources } from "../../controller/kube/mod.ts";
import { eventually } from "../harness/cluster.ts";
import { kubectl } from "../harness/commands.ts";
import { installOperatorIdentity, serviceAccountToken, writeTokenKubeconfig } from "../deploy/_identity.ts";
import { DEPLOY, DEPLOY_NAME } from "../deploy/_manifests.ts";
import {
  AdmissionPolicyBindings,
  createCloudShell,
  installAdmissionPolicy,
  installCreatorPolicy,
  OperatorProcess,
  readyCondition,
  waitForCloudShell,
  waitForGone,
} from "./_operator.ts";
import { openTerminal, readyShell, terminalCluster } from "./_terminal.ts";
import { grantRole } from "./_support.ts";

/** A pod of the stand-in that keeps printing numbered ticks. */
function ticker(namespace: string, name: string): KubeObject {
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name, namespace },
    spec: {
      containers: [{
        name: "main",
        image: "busybox",
        command: ["sh", "-c", `i=0; while :; do echo "${name} tick $i"; i=$((i+1)); sleep 0.5; done`],
      }],
      terminationGracePeriodSeconds: 1,
    },
  } as KubeObject;
}

Deno.test("identity mode: the terminal acts as its creator, with exactly their rights", async (t) => {
  await using cluster = await terminalCluster();
  const admin = cluster.client;
  const opNs = await cluster.namespace("e2e-id-op");
  const ns = await cluster.namespace("e2e-id");
  const logsNs = await cluster.namespace("e2e-id-logs");
  await installCreatorPolicy(admin, ns);
  await using _rbac = await installOperatorIdentity(cluster, opNs, [`${DEPLOY}/components/identity`]);

  const rbac = (namespace: string, name: string, rules: unknown[], users: string[]) =>
    grantRole(admin, namespace, name, rules, { users });
  const shells = {
    apiGroups: ["cloudshell.cloudtty.io"],
    resources: ["cloudshells"],
    verbs: ["create", "get", "list", "watch", "patch", "delete"],
  };
  await rbac(ns, "shells", [shells], ["alice", "bob", "carol"]);
  await rbac(ns, "exec-app", [
    { apiGroups: [""], resources: ["pods"], verbs: ["get", "list"] },
    { apiGroups: [""], resources: ["pods/exec"], verbs: ["create"], resourceNames: ["app"] },
  ], ["alice"]);
  await rbac(logsNs, "logs", [{ apiGroups: [""], resources: ["pods", "pods/log"], verbs: ["get", "list"] }], [
    "alice",
  ]);
  const alice = admin.impersonating("alice");
  const bob = admin.impersonating("bob");

  await admin.create(Resources.pods, ticker(ns, "app"));
  await admin.create(Resources.pods, ticker(ns, "vault"));
  await admin.create(Resources.pods, ticker(logsNs, "web"));
  for (const [namespace, name] of [[ns, "app"], [ns, "vault"], [logsNs, "web"]]) {
    await eventually(`pod ${name} to run`, async () => {
      const pod = await admin.get<KubeObject & { status?: { phase?: string } }>(
        Resources.pods,
        namespace,
        name,
      );
      return pod.status?.phase === "Running";
    }, 60_000);
  }

  // The operator, as deploy/'s ServiceAccount with the identity component's rights.
  const dir = await Deno.makeTempDir({ prefix: "cloudshell-identity-" });
  const token = await serviceAccountToken(admin, opNs, DEPLOY_NAME);
  const kubeconfig = await writeTokenKubeconfig(
    dir,
    cluster.connection.server,
    token,
    cluster.connection.caPem,
  );
  await using _op = await OperatorProcess.start(kubeconfig, ns, [
    `--operator-namespace=${opNs}`,
    `--node-port-host=${cluster.nodeIp}`,
    "--terminal-identity=creator",
  ]);
  await Deno.remove(dir, { recursive: true });

  await t.step("the API server records the creator, whatever the client claims", async () => {
    const cs = await createCloudShell(alice, ns, "claims-admin", {
      commandAction: "bash",
      creator: { username: "admin", groups: ["system:masters"] },
    });
    assert.deepEqual(cs.spec?.creator, {
      username: "alice",
      uid: "",
      groups: ["system:authenticated"],
      extra: {},
    });
    await assert.rejects(
      admin.patch(CloudShells, ns, "claims-admin", { spec: { creator: { username: "admin" } } }, "merge"),
      /cannot be added, changed or removed/,
    );
    // Re-applying the manifest (server-side apply, without the record) changes the spec and keeps the record:
    // the API server's own write belongs to no field manager.
    const applied = await alice.patch<CloudShell>(
      CloudShells,
      ns,
      "claims-admin",
      {
        apiVersion: "cloudshell.cloudtty.io/v1alpha1",
        kind: "CloudShell",
        metadata: { name: "claims-admin", namespace: ns },
        spec: { commandAction: "sh" },
      },
      "apply",
      { force: true },
    );
    assert.equal(applied.spec?.commandAction, "sh");
    assert.equal(applied.spec?.creator?.username, "alice");
    await admin.delete(CloudShells, ns, "claims-admin");
  });

  await t.step(
    "a console: kubectl is alice, reaches what she may, and cannot become anyone else",
    async () => {
      const url = await readyShell(alice, ns, "console", { commandAction: "bash" }, 90_000);
      await using term = await openTerminal(url);
      const whoami = await term.run("kubectl auth whoami -o jsonpath='{.status.userInfo.username}'");
      assert.deepEqual(whoami, { output: "alice", code: 0 });
      const inApp = await term.run("kubectl exec app -- echo in-app");
      assert.deepEqual(inApp, { output: "in-app", code: 0 });
      const inVault = await term.run("kubectl exec vault -- echo in-vault");
      assert.equal(inVault.code, 1);
      assert.match(inVault.output, /Forbidden.*pods\/exec|cannot create resource "pods\/exec"/);
      const logs = await term.run(`kubectl -n ${logsNs} logs --tail=1 web`);
      assert.equal(logs.code, 0, logs.output);
      assert.match(logs.output, /web tick \d+/);
      for (
        const other of [
          "kubectl --as=bob get pods",
          "kubectl --as=alice --as-group=system:masters get secrets",
          `kubectl --as=system:serviceaccount:${opNs}:${DEPLOY_NAME} get pods`,
          "kubectl --as=alice --as-uid=1234 get pods",
        ]
      ) {
        const res = await term.run(other);
        assert.equal(res.code, 1, `${other}: ${res.output}`);
        assert.match(res.output, /cannot impersonate/, `${other}: ${res.output}`);
      }
      // Without the kubeconfig's impersonation, the token is the shell's ServiceAccount, which may do nothing.
      const bare = await term.run("KUBECONFIG=/dev/null kubectl get pods");
      assert.equal(bare.code, 1);
      assert.match(bare.output, /Forbidden/);
    },
  );

  await t.step("an exec terminal runs in the pod alice may exec into", async () => {
    const url = await readyShell(alice, ns, "exec", { commandAction: "kubectl exec -it app -- sh" }, 90_000);
    await using exec = await openTerminal(url);
    assert.deepEqual(await exec.run("echo $((40+2))-$HOSTNAME"), { output: "42-app", code: 0 });
  });

  await t.step("a logs terminal follows a pod in another namespace alice may read", async () => {
    const url = await readyShell(
      alice,
      ns,
      "logs",
      { commandAction: `kubectl -n ${logsNs} logs -f web` },
      90_000,
    );
    await using logs = await openTerminal(url);
    const first = await logs.waitFor(/web tick (\d+)\n/);
    await logs.waitFor(new RegExp(`web tick ${Number(first[1]) + 2}\\n`));
  });

  await t.step("bob, without the rights, is refused before a terminal starts", async () => {
    for (
      const [name, command, missing] of [
        ["bob-exec", "kubectl exec -it app -- sh", "get pods app"],
        ["bob-logs", `kubectl -n ${logsNs} logs -f web`, "get pods web"],
        ["alice-vault", "kubectl exec -it vault -- sh", "create pods/exec vault"],
      ]
    ) {
      const creator = name.startsWith("bob") ? bob : alice;
      await createCloudShell(creator, ns, name, { commandAction: command });
      const cs = await waitForCloudShell(
        admin,
        ns,
        name,
        "refused",
        (c: CloudShell) => readyCondition(c)?.reason === "TargetForbidden",
        60_000,
      );
      assert.match(readyCondition(cs)!.message, new RegExp(`may not ${missing}`));
      assert.equal(cs.status?.accessUrl ?? "", "");
      const jobs = await admin.list(Resources.jobs, {
        namespace: ns,
        labelSelector: `cloudshell.cloudtty.io/owner-name=${name}`,
      });
      assert.equal(jobs.items.length, 0, `${name}: no terminal Job`);
    }
  });

  await t.step("the grant is exactly alice, and goes with the shell", async () => {
    const cs = await admin.get<CloudShell>(CloudShells, ns, "console");
    const name = `cloudshell-identity-${cs.metadata.uid}`;
    const role = await admin.get<KubeObject & { rules: unknown[] }>(Resources.clusterRoles, undefined, name);
    assert.deepEqual(role.rules, [
      { apiGroups: [""], resources: ["users"], verbs: ["impersonate"], resourceNames: ["alice"] },
      {
        apiGroups: [""],
        resources: ["groups"],
        verbs: ["impersonate"],
        resourceNames: ["system:authenticated"],
      },
    ]);
    // kubectl auth can-i as the shell's ServiceAccount: alice's name and group, and nothing else.
    const account = `--as=system:serviceaccount:${ns}:cloudshell-console`;
    const checks: [string, string[]][] = [
      ["yes", ["impersonate", "users/alice"]],
      ["yes", ["impersonate", "groups/system:authenticated"]],
      ["no", ["impersonate", "users/bob"]],
      ["no", ["impersonate", "groups/system:masters"]],
      ["no", ["impersonate", "serviceaccounts", "-n", ns]],
      ["no", ["impersonate", "uids.authentication.k8s.io/1234"]],
      ["no", ["get", "pods", "-n", ns]],
    ];
    for (const [answer, args] of checks) {
      const res = await kubectl(cluster.kubeconfigPath, ["auth", "can-i", ...args, account]);
      assert.equal(res.stdout.trim(), answer, `can-i ${args.join(" ")}`);
    }
    await admin.delete(CloudShells, ns, "console");
    await waitForGone(admin, CloudShells, ns, "console");
    await waitForGone(admin, Resources.clusterRoles, undefined, name, 10_000);
    await waitForGone(admin, Resources.clusterRoleBindings, undefined, name, 10_000);
  });
  await t.step(
    "a creator with a UID and extra values is all of them in the terminal, and no other",
    async () => {
      const carol = admin.impersonating({
        user: "carol",
        uid: "carol-uid",
        groups: ["team-blue"],
        extra: { "example.com/team": ["blue"], "scopes": ["read", "write"] },
      });
      const url = await readyShell(carol, ns, "carol", { commandAction: "bash" }, 90_000);
      const cs = await admin.get<CloudShell>(CloudShells, ns, "carol");
      assert.deepEqual(cs.spec?.creator, {
        username: "carol",
        uid: "carol-uid",
        groups: ["team-blue", "system:authenticated"],
        extra: { "example.com/team": ["blue"], scopes: ["read", "write"] },
      });
      await using term = await openTerminal(url);
      const whoami = await term.run("kubectl auth whoami -o json");
      assert.equal(whoami.code, 0, whoami.output);
      const info = JSON.parse(whoami.output).status.userInfo;
      assert.deepEqual(
        { ...info, groups: [...info.groups].sort() },
        {
          username: "carol",
          uid: "carol-uid",
          groups: ["system:authenticated", "team-blue"],
          extra: { "example.com/team": ["blue"], scopes: ["read", "write"] },
        },
      );
      // What carol may do (read CloudShells) works as herself, and with any part of her identity changed the
      // impersonation is refused before RBAC looks at the request.
      const own = await term.run(`kubectl get cloudshells -n ${ns} -o name`);
      assert.equal(own.code, 0, own.output);
      assert.match(own.output, /cloudshell\.cloudtty\.io\/carol/);
      const asCarol = "kubectl --as=carol --as-uid=carol-uid";
      for (
        const other of [
          `${asCarol} --as-user-extra=example.com/team=red`,
          `${asCarol} --as-user-extra=scopes=admin`,
          `${asCarol} --as-user-extra=other=blue`,
          "kubectl --as=carol --as-uid=alice-uid",
        ]
      ) {
        const res = await term.run(`${other} get cloudshells -n ${ns} -o name`);
        assert.equal(res.code, 1, `${other}: ${res.output}`);
        // kubectl reports a refused impersonation of its discovery requests as "Forbidden: unknown".
        assert.match(res.output, /cannot impersonate|Forbidden/, `${other}: ${res.output}`);
      }
      await admin.delete(CloudShells, ns, "carol");
    },
  );

  await t.step(
    "a shell that ends (TTL, no cleanup) loses its grant and its finalizer, and stays Complete",
    async () => {
      await readyShell(alice, ns, "brief", { commandAction: "bash", ttlSecondsAfterStarted: 600 }, 90_000);
      const cs = await admin.get<CloudShell>(CloudShells, ns, "brief");
      const name = `cloudshell-identity-${cs.metadata.uid}`;
      await admin.get(Resources.clusterRoles, undefined, name);
      assert.ok(cs.metadata.finalizers?.includes("cloudtty.io/cloudshell-controller"));
      await admin.patch(CloudShells, ns, "brief", { spec: { ttlSecondsAfterStarted: 1 } }, "merge");
      await waitForCloudShell(
        admin,
        ns,
        "brief",
        "Complete without a finalizer",
        (c) => c.status?.phase === "Complete" && !c.metadata.finalizers?.length,
        60_000,
      );
      await waitForGone(admin, Resources.clusterRoles, undefined, name, 10_000);
      await waitForGone(admin, Resources.clusterRoleBindings, undefined, name, 10_000);
    },
  );

  await t.step("without the policy that keeps the record honest, no terminal acts as a creator", async () => {
    await admin.delete(AdmissionPolicyBindings, undefined, "cloudshell-creator-record");
    // The operator reads the policy every 5 s.
    await eventually(
      "the operator to see the policy gone",
      async () => {
        await createCloudShell(alice, ns, "unguarded", { commandAction: "bash" }).catch(() => {});
        const cs = await admin.get<CloudShell>(CloudShells, ns, "unguarded");
        if (readyCondition(cs)?.reason === "CreatorPolicyMissing") return true;
        await admin.delete(CloudShells, ns, "unguarded").catch(() => {});
        await waitForGone(admin, CloudShells, ns, "unguarded");
        return false;
      },
      60_000,
      1000,
    );
    // Jobs of earlier tries (shells deleted above) may still wait for the garbage collector: only this one's count.
    const uid = (await admin.get<CloudShell>(CloudShells, ns, "unguarded")).metadata.uid;
    const jobs = await admin.list(Resources.jobs, {
      namespace: ns,
      labelSelector: "cloudshell.cloudtty.io/owner-name=unguarded",
    });
    assert.equal(jobs.items.filter((j) => j.metadata.ownerReferences?.some((r) => r.uid === uid)).length, 0);
    // Back in force: the shell starts by itself.
    await installAdmissionPolicy(admin);
    await waitForCloudShell(admin, ns, "unguarded", "Ready", (c) => c.status?.phase === "Ready", 150_000);
  });
});
