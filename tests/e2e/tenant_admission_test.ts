/**
 * Tenants against the admission policy and the CRD's limits (issue 12, attacks 4 and 6). Restricted users
 * (impersonated; a Role lets them handle CloudShells in their namespace and nothing else) face the operator
 * running under deploy/'s ServiceAccount and RBAC:
 * - a CloudShell may name as its kubeconfig only a Secret its creator may read; the Secret is mounted with
 *   its `config` key alone, and the operator itself never requests a Secret;
 * - env entries that read a Secret are refused at admission when the creator may not read it, and by the
 *   operator (Ready=False and an Event) when its administrator has not allowed them;
 * - a plain TTYD_CREDENTIAL (kept by the operator in a Secret) needs a creator who may create Secrets;
 * - an oversized CloudShell is refused with 422 and never reaches the operator.
 */
import assert from "node:assert/strict";
import { childName, type CloudShell, CloudShells } from "../../controller/cloudshell/api.ts";
import {
  isForbidden,
  isInvalid,
  isNotFound,
  KubeClient,
  type KubeObject,
  Resources,
} from "../../controller/kube/mod.ts";
import { eventually, testCluster } from "../harness/cluster.ts";
import { installOperatorIdentity, serviceAccountToken, writeTokenKubeconfig } from "../deploy/_identity.ts";
import { DEPLOY_NAME } from "../deploy/_manifests.ts";
import { RecordingProxy } from "../deploy/_proxy.ts";
import {
  AdmissionPolicies,
  createCloudShell,
  installCrd,
  OperatorProcess,
  readyCondition,
  waitForCloudShell,
  waitForGone,
} from "./_operator.ts";
import { ownedNames, waitForEvent } from "./_support.ts";

type Volume = { name: string; secret?: { secretName: string; items?: { key: string; path: string }[] } };
type Container = { name: string; image?: string; env?: { name: string; value?: string }[] };
type Job = KubeObject & { spec: { template: { spec: { volumes?: Volume[]; containers?: Container[] } } } };
type Policy = KubeObject & { status?: { typeChecking?: { expressionWarnings?: unknown[] } } };

const isReady = (cs: CloudShell) => cs.status?.phase === "Ready";
const Roles = { ...Resources.roleBindings, plural: "roles", kind: "Role" };

/** Whether a create was refused by the admission policy, naming `what`. */
function deniedFor(what: RegExp) {
  return (err: unknown) => {
    assert.ok(isForbidden(err), `403 Forbidden, got ${err}`);
    assert.match((err as Error).message, /ValidatingAdmissionPolicy 'cloudshell-creator-can-read'/);
    assert.match((err as Error).message, what);
    return true;
  };
}

Deno.test("tenants can mount only what they may read, and cannot push oversized CloudShells", async () => {
  await using cluster = await testCluster();
  const admin = cluster.client;
  await installCrd(admin);
  const opNs = await cluster.namespace("e2e-tenant-op");
  const ns = await cluster.namespace("e2e-tenant");
  await using _identity = await installOperatorIdentity(cluster, opNs);

  // The policy compiled without warnings (a typo in a field path would show here).
  const policy = await eventually("the admission policy to be type-checked", async () => {
    const p = await admin.get<Policy>(AdmissionPolicies, undefined, "cloudshell-creator-can-read");
    return p.status?.typeChecking ? p : false;
  });
  assert.deepEqual(policy.status?.typeChecking?.expressionWarnings ?? [], []);

  // alice and bob may handle CloudShells in the namespace; bob may also read the Secret "readable".
  const rbac = (kind: string, name: string, body: Record<string, unknown>) =>
    admin.create(kind === "Role" ? Roles : Resources.roleBindings, {
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind,
      metadata: { name, namespace: ns },
      ...body,
    } as KubeObject);
  await rbac("Role", "shells", {
    rules: [{
      apiGroups: ["cloudshell.cloudtty.io"],
      resources: ["cloudshells"],
      verbs: ["get", "list", "watch", "create", "update", "patch", "delete"],
    }],
  });
  await rbac("Role", "read-readable", {
    rules: [{ apiGroups: [""], resources: ["secrets"], verbs: ["get"], resourceNames: ["readable"] }],
  });
  const bind = (role: string, users: string[]) => ({
    roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: role },
    subjects: users.map((name) => ({ apiGroup: "rbac.authorization.k8s.io", kind: "User", name })),
  });
  await rbac("RoleBinding", "shells", bind("shells", ["alice", "bob"]));
  await rbac("RoleBinding", "read-readable", bind("read-readable", ["bob"]));
  const as = (user: string) =>
    new KubeClient(cluster.connection, {}, { user, groups: ["system:authenticated"] });
  const alice = as("alice");
  const bob = as("bob");
  try {
    const secret = (name: string, data: Record<string, string>) =>
      admin.create(Resources.secrets, {
        apiVersion: "v1",
        kind: "Secret",
        metadata: { name, namespace: ns },
        stringData: data,
      } as KubeObject);
    // The victim: a Secret neither tenant may read (say, a token of a powerful ServiceAccount).
    const victim = await secret("victim", {
      config: "apiVersion: v1\nkind: Config\n",
      token: "victim-token",
    });
    await secret("readable", { config: "apiVersion: v1\nkind: Config\n", token: "bob-may-see-this" });

    const dir = await Deno.makeTempDir({ prefix: "cloudshell-tenant-" });
    await using proxy = RecordingProxy.start(cluster.connection.server, cluster.connection.caPem);
    const token = await serviceAccountToken(admin, opNs, DEPLOY_NAME);
    const kubeconfig = await writeTokenKubeconfig(dir, proxy.url, token);
    await using _op = await OperatorProcess.start(kubeconfig, ns, [`--operator-namespace=${opNs}`]);
    await Deno.remove(dir, { recursive: true });

    // Attack 4: mount a Secret one may not read. Refused at admission, naming the Secret and the user;
    // the policy informer may take a moment to start enforcing a freshly installed policy.
    await eventually("alice's CloudShell naming the victim Secret to be denied", async () => {
      try {
        await createCloudShell(alice, ns, "steal", { secretRef: { name: "victim" } });
      } catch (err) {
        return deniedFor(/alice may not get Secret victim in namespace/)(err);
      }
      await admin.delete(CloudShells, ns, "steal");
      return false;
    });
    // The legacy field too, and env entries reading it.
    await assert.rejects(
      () => createCloudShell(alice, ns, "steal-cm", { configmapName: "victim" }),
      deniedFor(/alice may not get ConfigMap victim/),
    );
    await assert.rejects(
      () =>
        createCloudShell(alice, ns, "steal-env", {
          env: [
            { name: "OK", valueFrom: { fieldRef: { fieldPath: "metadata.name" } } },
            { name: "T", valueFrom: { secretKeyRef: { name: "victim", key: "token" } } },
          ],
        }),
      deniedFor(/spec\.env: alice may not get Secret victim/),
    );

    // A plain TTYD_CREDENTIAL becomes a Secret the operator creates: only for one who may create Secrets.
    await assert.rejects(
      () => createCloudShell(alice, ns, "steal-login", { env: [{ name: "TTYD_CREDENTIAL", value: "a:b" }] }),
      deniedFor(/TTYD_CREDENTIAL: alice may not create Secrets in namespace/),
    );

    // bob may read "readable", so his shell is admitted; only its config key reaches the terminal. In
    // Ingress mode the operator also writes the shell itself (its finalizer), which the policy lets pass
    // although the operator may not read the Secret: the name is not new in its request.
    await createCloudShell(bob, ns, "bobs", { secretRef: { name: "readable" }, exposureMode: "Ingress" });
    await waitForCloudShell(admin, ns, "bobs", "Ready", isReady);
    const job = await admin.get<Job>(Resources.jobs, ns, childName("bobs"));
    assert.deepEqual(job.spec.template.spec.volumes?.find((v) => v.name === "kubeconfig")?.secret, {
      secretName: "readable",
      defaultMode: 0o440,
      items: [{ key: "config", path: "config" }],
    });
    // alice may edit bob's shell (her Role says so), but not point it at the victim.
    const bobs = await alice.get<CloudShell>(CloudShells, ns, "bobs");
    await assert.rejects(
      () => alice.patch(CloudShells, ns, "bobs", { spec: { secretRef: { name: "victim" } } }, "merge"),
      deniedFor(/alice may not get Secret victim/),
    );
    // Issue 18's co-editor attack: nor change the image and command of a shell mounting a Secret she may
    // not read. Admitted, its next Job (the terminal restarted by deleting its Job) would run her command
    // with bob's kubeconfig. Every spec change is checked against every name the shell holds.
    await assert.rejects(
      () =>
        alice.patch(CloudShells, ns, "bobs", {
          spec: {
            image: "registry.example/alice/exfil:latest",
            commandAction: "cat /usr/local/kubeconfig/config",
          },
        }, "merge"),
      deniedFor(/spec\.secretRef\.name: alice may not get Secret readable/),
    );
    await assert.rejects(
      () => alice.patch(CloudShells, ns, "bobs", { spec: { ttlSecondsAfterStarted: 600 } }, "merge"),
      deniedFor(/alice may not get Secret readable/),
    );
    // Writes that leave the spec as it was pass (labels, as the operator's finalizer writes do).
    await alice.patch(CloudShells, ns, "bobs", { metadata: { labels: { team: "a" } } }, "merge");
    const edited = await admin.get<CloudShell>(CloudShells, ns, "bobs");
    assert.equal(edited.spec?.secretRef?.name, "readable");
    assert.equal(edited.spec?.image, undefined);
    assert.ok(Number(edited.metadata.resourceVersion) > Number(bobs.metadata.resourceVersion));
    // The terminal restarted: the new Job runs bob's spec, with bob's command and image.
    const firstJob = job.metadata.uid;
    await admin.delete(Resources.jobs, ns, childName("bobs"), { propagationPolicy: "Background" });
    const again = await eventually("bobs' Job to be created again", async () => {
      const j = await admin.get<Job>(Resources.jobs, ns, childName("bobs"));
      return j.metadata.uid !== firstJob ? j : false;
    });
    const container = again.spec.template.spec.containers?.find((c) => c.name === "web-tty");
    assert.ok(container, "the terminal container");
    assert.doesNotMatch(container.image ?? "", /alice/);
    assert.doesNotMatch(JSON.stringify(container.env ?? []), /exfil|cat \/usr\/local/);
    // bob himself may change his shell's spec (he may read what it names).
    await bob.patch(CloudShells, ns, "bobs", { spec: { ttlSecondsAfterStarted: 600 } }, "merge");

    // An env entry reading a Secret bob may read passes admission, and the operator, not allowed by its
    // administrator (--allow-env-value-from), refuses it with a reason and an Event, creating nothing.
    await createCloudShell(bob, ns, "bobs-env", {
      env: [{ name: "T", valueFrom: { secretKeyRef: { name: "readable", key: "token" } } }],
    });
    const refused = await waitForCloudShell(
      admin,
      ns,
      "bobs-env",
      "Ready=False EnvSourceNotAllowed",
      (cs) => readyCondition(cs)?.reason === "EnvSourceNotAllowed",
    );
    assert.match(readyCondition(refused)?.message ?? "", /--allow-env-value-from=secretKeyRef/);
    await waitForEvent(admin, ns, "bobs-env", "Warning", "EnvSourceNotAllowed");

    // Attack 6: oversized CloudShells are refused by the schema with 422, whoever sends them.
    const big = "x".repeat(70_000);
    const oversized: [string, Record<string, unknown>, RegExp][] = [
      [
        "env-count",
        { env: Array.from({ length: 129 }, (_, i) => ({ name: `V${i}`, value: "1" })) },
        /spec\.env/,
      ],
      ["env-bytes", {
        env: [{ name: "A", value: big.slice(0, 40_000) }, { name: "B", value: big.slice(0, 40_000) }],
      }, /at most 65536 characters/],
      ["env-value", { env: [{ name: "A", value: big }] }, /spec\.env\[0\]\.value/],
      ["command", { commandAction: big }, /spec\.commandAction/],
      ["options", {
        ttydClientOptions: Object.fromEntries(Array.from({ length: 65 }, (_, i) => [`o${i}`, "1"])),
      }, /spec\.ttydClientOptions/],
      ["options-bytes", {
        ttydClientOptions: {
          a: big.slice(0, 4000),
          b: big.slice(0, 4000),
          c: big.slice(0, 4000),
          d: big.slice(0, 4000),
          e: big.slice(0, 4000),
        },
      }, /at most 16384 characters/],
      [
        "annotations",
        { ingressConfig: { annotations: { a: big.slice(0, 5000) } } },
        /spec\.ingressConfig\.annotations/,
      ],
      ["value-from", {
        env: [{
          name: "A",
          valueFrom: {
            fieldRef: { fieldPath: "metadata.name" },
            resourceFieldRef: { resource: "limits.cpu" },
          },
        }],
      }, /exactly one source/],
    ];
    for (const [name, spec, field] of oversized) {
      await assert.rejects(() => createCloudShell(alice, ns, name, spec), (err) => {
        assert.ok(isInvalid(err), `${name}: 422 Invalid, got ${err}`);
        assert.match((err as Error).message, field, name);
        return true;
      });
    }

    // The victim is untouched, no Job mounts it, and the operator never asked for any Secret.
    const after = await admin.get(Resources.secrets, ns, "victim");
    assert.equal(after.metadata.resourceVersion, victim.metadata.resourceVersion);
    assert.deepEqual(await ownedNames(admin, Resources.jobs, ns), [childName("bobs")]);
    for (const name of ["steal", "steal-cm", "steal-env", "steal-login", ...oversized.map(([n]) => n)]) {
      await assert.rejects(() => admin.get(CloudShells, ns, name), isNotFound, `${name} was not created`);
    }
    const secretRequests = proxy.requests.filter((r) => r.attributes?.resource === "secrets");
    assert.deepEqual(secretRequests.map((r) => `${r.method} ${r.url.pathname}`), []);

    // And the operator's last write, removing its finalizer, passes too.
    assert.ok((await admin.get<CloudShell>(CloudShells, ns, "bobs")).metadata.finalizers?.length);
    await bob.delete(CloudShells, ns, "bobs");
    await waitForGone(admin, CloudShells, ns, "bobs");
  } finally {
    alice.close();
    bob.close();
  }
});
