/**
 * Every file in samples/ is applied with kubectl (`--validate=strict`) and does what its comment says, on a
 * control plane whose terminals really run (issue 19). Two operators: one with the defaults (a shell's own
 * ServiceAccount bound to `view`), one in identity mode (the terminal acts as its creator). A test for a new
 * sample goes here; the last step fails when a sample has none.
 */
import assert from "node:assert/strict";
import { stringify } from "yaml";
import { type CloudShell, CloudShells } from "../../controller/cloudshell/api.ts";
import { type KubeObject, Resources } from "../../controller/kube/mod.ts";
import { eventually } from "../harness/cluster.ts";
import { kubectl } from "../harness/commands.ts";
import { serviceAccountToken } from "../deploy/_identity.ts";
import { installCreatorPolicy, readyCondition, waitForCloudShell, waitForGone } from "./_operator.ts";
import { openTerminal, terminalCluster, terminalOperator } from "./_terminal.ts";

const SAMPLES = new URL("../../samples/", import.meta.url).pathname;

/** A pod of the stand-in that keeps printing numbered lines. */
function ticking(name: string, labels: Record<string, string> = {}) {
  return {
    metadata: { name, labels },
    spec: {
      containers: [{
        name: "main",
        image: "busybox",
        command: ["sh", "-c", `i=0; while :; do echo "${name} line $i"; i=$((i+1)); sleep 0.5; done`],
      }],
      terminationGracePeriodSeconds: 1,
    },
  };
}

Deno.test("every sample applies and does what its comment says", async (t) => {
  await using cluster = await terminalCluster();
  const admin = cluster.client;
  const ns = await cluster.namespace("e2e-samples");
  const idNs = await cluster.namespace("e2e-samples-id");
  await using _op = await terminalOperator(cluster, ns);
  await using _idOp = await terminalOperator(cluster, idNs, ["--terminal-identity=creator"]);
  const tested = new Set<string>();

  const apply = async (sample: string, namespace: string, as?: string) => {
    tested.add(sample);
    const res = await kubectl(cluster.kubeconfigPath, [
      "apply",
      "--validate=strict",
      "-n",
      namespace,
      "-f",
      `${SAMPLES}${sample}`,
      ...(as ? [`--as=${as}`] : []),
    ]);
    assert.equal(res.code, 0, res.stderr);
  };
  const ready = async (namespace: string, name: string) => {
    const cs = await waitForCloudShell(
      admin,
      namespace,
      name,
      "Ready",
      (c: CloudShell) => c.status?.phase === "Ready" && !!c.status.accessUrl,
      90_000,
    );
    return cs.status!.accessUrl!;
  };

  await t.step("local_cluster.yaml: a bash terminal as its own ServiceAccount, bound to view", async () => {
    await apply("local_cluster.yaml", ns);
    await using term = await openTerminal(await ready(ns, "local-cluster-sample"));
    const whoami = await term.run("kubectl auth whoami -o jsonpath='{.status.userInfo.username}'");
    assert.deepEqual(whoami, {
      output: `system:serviceaccount:${ns}:cloudshell-local-cluster-sample`,
      code: 0,
    });
    assert.equal((await term.run("kubectl get pods -o name >/dev/null")).code, 0);
    assert.equal((await term.run("kubectl auth can-i delete pods")).output, "no");
  });

  await t.step(
    "kubeconfig_secret.yaml: a terminal with the kubeconfig of the Secret my-kubeconfig",
    async () => {
      await admin.create(Resources.serviceAccounts, {
        apiVersion: "v1",
        kind: "ServiceAccount",
        metadata: { name: "remote-user", namespace: ns },
      } as KubeObject);
      const token = await serviceAccountToken(admin, ns, "remote-user");
      const config = stringify({
        apiVersion: "v1",
        kind: "Config",
        clusters: [{
          name: "remote",
          cluster: {
            server: cluster.connection.server,
            "certificate-authority-data": btoa(cluster.connection.caPem!),
          },
        }],
        users: [{ name: "remote", user: { token } }],
        contexts: [{ name: "remote", context: { cluster: "remote", user: "remote" } }],
        "current-context": "remote",
      });
      await admin.create(Resources.secrets, {
        apiVersion: "v1",
        kind: "Secret",
        metadata: { name: "my-kubeconfig", namespace: ns },
        stringData: { config },
      } as KubeObject);
      await apply("kubeconfig_secret.yaml", ns);
      await using term = await openTerminal(await ready(ns, "cloudshell-sample"));
      const whoami = await term.run("kubectl auth whoami -o jsonpath='{.status.userInfo.username}'");
      assert.deepEqual(whoami, { output: `system:serviceaccount:${ns}:remote-user`, code: 0 });
    },
  );

  await t.step("ingress.yaml: a path in the shared Ingress cloudshell-ingress, class nginx", async () => {
    await apply("ingress.yaml", ns);
    const url = await ready(ns, "ingress-sample");
    assert.match(url, /\/apis\/v1alpha1\/cloudshell\/ingress-sample/);
    const ingress = await admin.get<KubeObject & { spec: Record<string, unknown> }>(
      Resources.ingresses,
      ns,
      "cloudshell-ingress",
    );
    assert.equal(ingress.spec.ingressClassName, "nginx");
    assert.match(JSON.stringify(ingress.spec), /\/apis\/v1alpha1\/cloudshell\/ingress-sample/);
  });

  await t.step("logs.yaml: follows Deployment web's log, ignores typing, ends with its viewer", async () => {
    const pod = ticking("web", { app: "web" });
    await admin.create({
      group: "apps",
      version: "v1",
      plural: "deployments",
      kind: "Deployment",
      namespaced: true,
    }, {
      apiVersion: "apps/v1",
      kind: "Deployment",
      metadata: { name: "web", namespace: ns },
      spec: { replicas: 1, selector: { matchLabels: { app: "web" } }, template: pod },
    } as KubeObject);
    await eventually("Deployment web's pod to run", async () => {
      const pods = await admin.list<KubeObject & { status?: { phase?: string } }>(Resources.pods, {
        namespace: ns,
        labelSelector: "app=web",
      });
      return pods.items.some((p) => p.status?.phase === "Running");
    }, 60_000);
    await apply("logs.yaml", ns);
    const term = await openTerminal(await ready(ns, "web-logs"));
    const first = await term.waitFor(/web line (\d+)\n/);
    await term.waitFor(new RegExp(`web line ${Number(first[1]) + 2}\\n`));
    term.type("echo typed-$((6*7))");
    await new Promise((r) => setTimeout(r, 1000));
    assert.ok(!term.text().includes("typed-42"), "a read-only terminal ran typed input");
    await term.close();
    await waitForGone(admin, CloudShells, ns, "web-logs", 60_000);
  });

  await t.step(
    "exec.yaml: refused before a terminal starts without the right, a shell in app with it",
    async () => {
      await admin.create(
        Resources.pods,
        {
          apiVersion: "v1",
          kind: "Pod",
          ...ticking("app"),
          metadata: { name: "app", namespace: ns },
        } as KubeObject,
      );
      await admin.create(
        Resources.pods,
        {
          apiVersion: "v1",
          kind: "Pod",
          ...ticking("app"),
          metadata: { name: "app", namespace: idNs },
        } as KubeObject,
      );
      // The defaults: the shell's ServiceAccount is bound to view, which may not exec.
      await apply("exec.yaml", ns);
      const refused = await waitForCloudShell(
        admin,
        ns,
        "app-exec",
        "refused",
        (c) => readyCondition(c)?.reason === "TargetForbidden",
        60_000,
      );
      assert.match(
        readyCondition(refused)!.message,
        /may not create pods\/exec app in namespace .*identity mode/,
      );
      const jobs = await admin.list(Resources.jobs, {
        namespace: ns,
        labelSelector: "cloudshell.cloudtty.io/owner-name=app-exec",
      });
      assert.equal(jobs.items.length, 0);

      // Identity mode, applied by carol, who may exec into app.
      await installCreatorPolicy(admin, idNs);
      await admin.create({ ...Resources.roleBindings, plural: "roles", kind: "Role" }, {
        apiVersion: "rbac.authorization.k8s.io/v1",
        kind: "Role",
        metadata: { name: "carol", namespace: idNs },
        rules: [
          {
            apiGroups: ["cloudshell.cloudtty.io"],
            resources: ["cloudshells"],
            verbs: ["get", "create", "patch"],
          },
          { apiGroups: [""], resources: ["pods"], verbs: ["get"], resourceNames: ["app"] },
          { apiGroups: [""], resources: ["pods/exec"], verbs: ["create"], resourceNames: ["app"] },
        ],
      } as never);
      await admin.create(Resources.roleBindings, {
        apiVersion: "rbac.authorization.k8s.io/v1",
        kind: "RoleBinding",
        metadata: { name: "carol", namespace: idNs },
        roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: "carol" },
        subjects: [{ apiGroup: "rbac.authorization.k8s.io", kind: "User", name: "carol" }],
      } as never);
      await eventually("app to run", async () => {
        const p = await admin.get<KubeObject & { status?: { phase?: string } }>(Resources.pods, idNs, "app");
        return p.status?.phase === "Running";
      }, 60_000);
      await apply("exec.yaml", idNs, "carol");
      await using term = await openTerminal(await ready(idNs, "app-exec"));
      assert.deepEqual(await term.run("echo $((40+2))-$HOSTNAME"), { output: "42-app", code: 0 });
    },
  );

  await t.step("no sample is left untested", async () => {
    const files: string[] = [];
    for await (const entry of Deno.readDir(SAMPLES)) if (entry.name.endsWith(".yaml")) files.push(entry.name);
    assert.deepEqual(files.filter((f) => !tested.has(f)).sort(), []);
  });
});
