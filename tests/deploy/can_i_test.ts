/**
 * deploy/'s RBAC grants nothing more than listed: `kubectl auth can-i --list` for its ServiceAccount shows
 * exactly the permissions tests/deploy/_rbac.ts lists (beyond what every ServiceAccount may do), and targeted
 * `can-i` checks deny the dangerous ones (listing Secrets, creating Pods, escalating, binding other roles).
 */
import assert from "node:assert/strict";
import { testCluster } from "../harness/cluster.ts";
import { installCrd } from "../e2e/_operator.ts";
import { installOperatorIdentity, serviceAccountToken, writeTokenKubeconfig } from "./_identity.ts";
import { DEPLOY_NAME, IDENTITY_COMPONENT, kubectl } from "./_manifests.ts";
import { CLUSTER_PERMISSIONS, NAMESPACE_PERMISSIONS, permission } from "./_rbac.ts";

/** One row of `kubectl auth can-i --list`, flattened into permissions (or non-resource URL grants). */
function parseCanIList(text: string): Set<string> {
  const lines = text.split("\n").filter((l) => l.trim() !== "");
  const header = lines.shift() ?? "";
  const cols = ["Non-Resource URLs", "Resource Names", "Verbs"].map((h) => header.indexOf(h));
  assert.ok(cols.every((c) => c > 0), `unexpected can-i header: ${header}`);
  const out = new Set<string>();
  const list = (s: string) => s.trim().replace(/^\[|\]$/g, "").split(" ").filter((x) => x !== "");
  for (const line of lines) {
    const resource = line.slice(0, cols[0]).trim();
    const urls = list(line.slice(cols[0], cols[1]));
    const names = list(line.slice(cols[1], cols[2]));
    const verbs = list(line.slice(cols[2]));
    for (const verb of verbs) {
      if (!resource) {
        for (const url of urls) out.add(`${verb} ${url}`);
        continue;
      }
      // `resource[/subresource].group`, or `resource.group/subresource`.
      const dot = resource.indexOf(".");
      let res = dot < 0 ? resource : resource.slice(0, dot);
      let group = dot < 0 ? "" : resource.slice(dot + 1);
      const sub = group.indexOf("/");
      if (sub >= 0) {
        res = `${res}${group.slice(sub)}`;
        group = group.slice(0, sub);
      }
      for (const name of names.length ? names : [undefined]) out.add(permission(verb, group, res, name));
    }
  }
  return out;
}

Deno.test("kubectl auth can-i: deploy/'s ServiceAccount holds the listed permissions and nothing more", async () => {
  await using cluster = await testCluster();
  await installCrd(cluster.client);
  const opNs = await cluster.namespace("deploy-cani");
  const other = await cluster.namespace("deploy-cani-other");
  await using identity = await installOperatorIdentity(cluster, opNs);
  const kc = cluster.kubeconfigPath;
  // What any ServiceAccount may do (discovery, self-reviews): subtracted from the operator's list.
  const nobody = `system:serviceaccount:${opNs}:nobody`;

  const canIList = async (user: string, namespace: string) => {
    const res = await kubectl(kc, ["auth", "can-i", "--list", `--as=${user}`, "-n", namespace]);
    assert.equal(res.code, 0, res.stderr);
    return parseCanIList(res.stdout);
  };
  for (
    const [namespace, expected] of [
      [opNs, [...Object.keys(CLUSTER_PERMISSIONS), ...Object.keys(NAMESPACE_PERMISSIONS)]],
      [other, Object.keys(CLUSTER_PERMISSIONS)],
    ] as const
  ) {
    const baseline = await canIList(nobody, namespace);
    const granted = [...await canIList(identity.user, namespace)].filter((p) => !baseline.has(p));
    assert.deepEqual(granted.sort(), [...expected].sort(), `can-i --list in ${namespace}`);
  }

  // [allowed?, can-i arguments]: the dangerous ones, and the edges of what is granted.
  const checks: [boolean, string[]][] = [
    // No rule on Secrets at all: a kubeconfig Secret is the kubelet's to mount, never the operator's to read.
    [false, ["get", "secrets", "-n", other]],
    [false, ["get", "secrets", "--all-namespaces"]],
    [false, ["get", "configmaps", "-n", other]],
    [false, ["list", "secrets", "--all-namespaces"]],
    [false, ["list", "secrets", "-n", other]],
    [false, ["watch", "secrets", "--all-namespaces"]],
    // The terminal's login Secret, under a generated name; never read, changed or deleted.
    [true, ["create", "secrets", "-n", other]],
    [false, ["update", "secrets", "-n", other]],
    [false, ["patch", "secrets", "-n", other]],
    [false, ["delete", "secrets", "-n", other]],
    [false, ["deletecollection", "secrets", "-n", other]],
    [false, ["*", "*", "--all-namespaces"]],
    [false, ["*", "secrets", "-n", opNs]],
    [false, ["create", "pods", "-n", other]],
    [false, ["create", "pods", "--subresource=exec", "-n", other]],
    [false, ["get", "pods", "-n", other]],
    [false, ["delete", "pods", "-n", other]],
    [true, ["create", "jobs.batch", "-n", other]],
    [false, ["update", "jobs.batch", "-n", other]],
    [false, ["create", "clusterrolebindings"]],
    [false, ["create", "clusterroles"]],
    [false, ["escalate", "clusterroles"]],
    [false, ["update", "clusterroles/view"]],
    [true, ["bind", "clusterroles/view"]],
    [false, ["bind", "clusterroles/cluster-admin"]],
    [false, ["bind", "clusterroles/admin"]],
    [false, ["bind", "clusterroles/edit"]],
    [false, ["bind", "clusterroles"]],
    [false, ["create", "roles", "-n", other]],
    [false, ["bind", "roles", "-n", other]],
    [false, ["escalate", "roles", "-n", other]],
    [true, ["create", "rolebindings", "-n", other]],
    [false, ["update", "rolebindings", "-n", other]],
    [false, ["delete", "rolebindings", "-n", other]],
    [true, ["create", "serviceaccounts", "-n", other]],
    [false, ["create", "serviceaccounts", "--subresource=token", "-n", other]],
    [false, ["impersonate", "serviceaccounts", "-n", other]],
    [false, ["impersonate", "users"]],
    [false, ["impersonate", "groups"]],
    [false, ["get", "configmaps", "-n", other]],
    [false, ["list", "configmaps", "-n", opNs]],
    [true, ["list", "configmaps/cloudshell-job-template", "-n", opNs]],
    [false, ["list", "configmaps/cloudshell-job-template", "-n", other]],
    [false, ["update", "configmaps/cloudshell-job-template", "-n", opNs]],
    [true, ["create", "leases.coordination.k8s.io", "-n", opNs]],
    [true, ["update", "leases.coordination.k8s.io/cloudshell-operator", "-n", opNs]],
    [false, ["update", "leases.coordination.k8s.io/kube-controller-manager", "-n", opNs]],
    [false, ["delete", "leases.coordination.k8s.io/cloudshell-operator", "-n", opNs]],
    [false, ["create", "leases.coordination.k8s.io", "-n", other]],
    [false, ["create", "cloudshells.cloudshell.cloudtty.io", "-n", other]],
    [false, ["update", "cloudshells.cloudshell.cloudtty.io", "-n", other]],
    [true, ["delete", "cloudshells.cloudshell.cloudtty.io", "-n", other]],
    [false, ["create", "customresourcedefinitions.apiextensions.k8s.io"]],
    [false, ["list", "namespaces"]],
    [false, ["update", "nodes"]],
    [false, ["get", "nodes", "--subresource=proxy"]],
    [false, ["create", "certificatesigningrequests.certificates.k8s.io"]],
    [false, ["update", "mutatingwebhookconfigurations.admissionregistration.k8s.io"]],
    [false, ["create", "deployments.apps", "-n", other]],
    [true, ["update", "ingresses.networking.k8s.io", "-n", other]],
    [false, ["patch", "ingresses.networking.k8s.io", "-n", other]],
  ];
  const wrong: string[] = [];
  for (let i = 0; i < checks.length; i += 8) {
    await Promise.all(
      checks.slice(i, i + 8).map(async ([allowed, args]) => {
        const res = await kubectl(kc, ["auth", "can-i", ...args, `--as=${identity.user}`]);
        if (res.code > 1) throw new Error(`kubectl auth can-i ${args.join(" ")}: ${res.stderr}`);
        if ((res.code === 0) !== allowed) wrong.push(`can-i ${args.join(" ")}: ${res.stdout.trim()}`);
      }),
    );
  }
  assert.deepEqual(wrong, [], "can-i answers");
});

Deno.test("kubectl auth can-i: identity mode lets the operator impersonate anyone, and so do anything", async () => {
  await using cluster = await testCluster();
  await installCrd(cluster.client);
  const opNs = await cluster.namespace("deploy-cani-id");
  const other = await cluster.namespace("deploy-cani-id-other");
  await using identity = await installOperatorIdentity(cluster, opNs, [IDENTITY_COMPONENT]);
  const kc = cluster.kubeconfigPath;
  const checks: [boolean, string[]][] = [
    // What the component adds: every identity may be impersonated, so the per-shell grant passes RBAC's check.
    [true, ["impersonate", "users/anyone"]],
    [true, ["impersonate", "groups/system:masters"]],
    [true, ["create", "clusterroles"]],
    [true, ["create", "clusterrolebindings"]],
    [true, ["delete", "clusterroles"]],
    [true, ["list", "clusterrolebindings"]],
    // Not added: escalate and bind (RBAC checks the grant against the impersonate rights it holds instead),
    // ServiceAccount impersonation (shells of ServiceAccounts are refused), updates of roles.
    [false, ["escalate", "clusterroles"]],
    [false, ["bind", "clusterroles"]],
    [false, ["update", "clusterroles"]],
    [false, ["impersonate", "serviceaccounts", "-n", other]],
    // Still nothing directly: no Secrets, no exec.
    [false, ["get", "secrets", "-n", other]],
    [false, ["create", "pods", "--subresource=exec", "-n", other]],
  ];
  const wrong: string[] = [];
  for (const [allowed, args] of checks) {
    const res = await kubectl(kc, ["auth", "can-i", ...args, `--as=${identity.user}`]);
    if (res.code > 1) throw new Error(`kubectl auth can-i ${args.join(" ")}: ${res.stderr}`);
    if ((res.code === 0) !== allowed) wrong.push(`can-i ${args.join(" ")}: ${res.stdout.trim()}`);
  }
  assert.deepEqual(wrong, [], "can-i answers");

  // What a stolen operator token can then do: act as a member of system:masters, i.e. anything.
  const dir = await Deno.makeTempDir({ prefix: "cloudshell-cani-" });
  try {
    const token = await serviceAccountToken(cluster.client, opNs, DEPLOY_NAME);
    const stolen = await writeTokenKubeconfig(
      dir,
      cluster.connection.server,
      token,
      cluster.connection.caPem,
    );
    const asMasters = ["--as=mallory", "--as-group=system:masters"];
    for (
      const args of [["*", "*", "--all-namespaces"], ["get", "secrets", "-n", other], [
        "create",
        "clusterrolebindings",
      ]]
    ) {
      const res = await kubectl(stolen, ["auth", "can-i", ...args, ...asMasters]);
      assert.equal(
        res.stdout.trim(),
        "yes",
        `a stolen token, impersonating system:masters: can-i ${args.join(" ")}`,
      );
    }
    // UIDs and extra values too (kubectl's can-i cannot name those resources, so a real request).
    const whoami = await kubectl(stolen, [
      "auth",
      "whoami",
      "--as=mallory",
      "--as-uid=1234",
      "--as-user-extra=scopes=x",
    ]);
    assert.equal(whoami.code, 0, whoami.stderr);
    assert.match(whoami.stdout, /1234/);
    const plain = await kubectl(stolen, ["get", "secrets", "-n", other]);
    assert.notEqual(plain.code, 0, "without impersonation the token itself still reads no Secret");
    const masters = await kubectl(stolen, ["get", "secrets", "-n", other, ...asMasters]);
    assert.equal(masters.code, 0, masters.stderr);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
