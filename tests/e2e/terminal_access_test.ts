/**
 * The terminal's door, through the real terminal (tests/harness/kubelet runs the pods, the pinned ttyd
 * serves them): the Origin check, a login from TTYD_CREDENTIAL and a generated one, the credential kept out
 * of the pod spec, Events, logs and status, a read-only shell, URL arguments, the NetworkPolicy, and what
 * the page and the status say at TTL expiry. One control plane and one operator for the whole file.
 */
import assert from "node:assert/strict";
import { childName, type CloudShell, CloudShells, OWNER_LABEL } from "../../controller/cloudshell/api.ts";
import { type KubeObject, Resources } from "../../controller/kube/mod.ts";
import { eventually } from "../harness/cluster.ts";
import { findBrowser, openTerminalPage } from "../harness/browser.ts";
import { TtydRefused } from "../harness/ttyd_client.ts";
import { readyCondition, waitForCloudShell } from "./_operator.ts";
import { openTerminal, readyShell, terminalCluster, terminalOperator, testOutputDir } from "./_terminal.ts";

type SecretLike = KubeObject & { type?: string; data?: Record<string, string> };
type PolicyLike = KubeObject & { spec?: unknown };

const PASSWORD = "s3cret-Qx7pL2";

Deno.test("the terminal's door: Origin, logins, read-only, URL arguments, NetworkPolicy, the end", async (t) => {
  await using cluster = await terminalCluster();
  const client = cluster.client;
  const ns = await cluster.namespace("e2e-door");
  await using op = await terminalOperator(cluster, ns, [
    "--terminal-credential=generated",
    "--network-policy-cidr=10.0.0.0/8",
    "--network-policy-namespace=kubernetes.io/metadata.name=ingress-nginx",
  ]);

  /** The generated login of a shell, read from the Secret its status names, as an integrating UI would. */
  const loginOf = async (name: string): Promise<string> => {
    const cs = await client.get<CloudShell>(CloudShells, ns, name);
    const secret = await client.get<SecretLike>(Resources.secrets, ns, cs.status?.credentialSecretName ?? "");
    assert.equal(secret.type, "kubernetes.io/basic-auth");
    assert.equal(secret.metadata.ownerReferences?.[0]?.uid, cs.metadata.uid, "the shell owns its login");
    return `${atob(secret.data!.username)}:${atob(secret.data!.password)}`;
  };

  await t.step(
    "TTYD_CREDENTIAL: a login is required and works; no credential in pod spec or Events",
    async () => {
      const url = await readyShell(client, ns, "login", {
        commandAction: "bash",
        env: [{ name: "TTYD_CREDENTIAL", value: `qa:${PASSWORD}` }],
      });
      await assert.rejects(openTerminal(url), TtydRefused);
      await assert.rejects(openTerminal(url, { credential: "qa:wrong" }), TtydRefused);
      await using term = await openTerminal(url, { credential: `qa:${PASSWORD}` });
      assert.equal((await term.run("echo in")).output, "in");
      // The shell's own processes do not inherit it either.
      assert.equal((await term.run('echo "[${TTYD_CREDENTIAL:-}]"')).output, "[]");

      const job = await client.get(Resources.jobs, ns, childName("login"));
      const pods = await client.list(Resources.pods, {
        namespace: ns,
        labelSelector: `${OWNER_LABEL}=login`,
      });
      const events = await client.list(Resources.events, { namespace: ns });
      const cs = await client.get<CloudShell>(CloudShells, ns, "login");
      for (
        const [what, obj] of [["Job", job], ["Pod", pods.items], ["Events", events.items], [
          "status",
          cs.status,
        ]]
      ) {
        assert.ok(!JSON.stringify(obj).includes(PASSWORD), `the credential is in the ${what}`);
      }
      assert.ok(!op.logs().join("\n").includes(PASSWORD), "the credential is in the operator's log");
      assert.equal(await loginOf("login"), `qa:${PASSWORD}`);
    },
  );

  await t.step("a generated login, named in the status; another site's Origin is refused", async () => {
    const url = await readyShell(client, ns, "generated", { commandAction: "bash" });
    const login = await loginOf("generated");
    assert.match(login, /^cloudshell:[A-Za-z0-9_-]{32}$/);
    await assert.rejects(openTerminal(url), TtydRefused);
    await assert.rejects(
      openTerminal(url, { credential: login, origin: "https://evil.example.com" }),
      TtydRefused,
    );
    await using term = await openTerminal(url, { credential: login }); // the page's own Origin
    assert.equal((await term.run("echo $((6*7))")).output, "42");
  });

  await t.step("the NetworkPolicy admits the named sources to the ttyd port only", async () => {
    const policy = await client.get<PolicyLike>(Resources.networkPolicies, ns, childName("generated"));
    const cs = await client.get<CloudShell>(CloudShells, ns, "generated");
    assert.equal(policy.metadata.ownerReferences?.[0]?.uid, cs.metadata.uid);
    assert.deepEqual(policy.spec, {
      podSelector: { matchLabels: { [OWNER_LABEL]: "generated" } },
      policyTypes: ["Ingress"],
      ingress: [{
        from: [
          { ipBlock: { cidr: "10.0.0.0/8" } },
          { namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "ingress-nginx" } } },
        ],
        ports: [{ protocol: "TCP", port: 7681 }],
      }],
    });
  });

  await t.step("a read-only shell shows its output and ignores input", async () => {
    const url = await readyShell(client, ns, "observer", {
      readOnly: true,
      commandAction: "echo observing; exec sh",
    });
    await using term = await openTerminal(url, { credential: await loginOf("observer") });
    await term.waitFor("observing");
    term.type("echo typed-$((1+1))");
    await new Promise((r) => setTimeout(r, 1500));
    assert.doesNotMatch(term.text(), /typed-2/);
  });

  await t.step("URL arguments are appended to a plain command; client options arrive intact", async () => {
    const url = await readyShell(client, ns, "urlargs", {
      urlArg: true,
      commandAction: "kubectl get pods --watch",
      ttydClientOptions: { titleFixed: "QA Shell", fontSize: "17" },
    });
    const withArgs = `${url}${url.includes("?") ? "&" : "?"}arg=-o&arg=name`;
    await using term = await openTerminal(withArgs, { credential: await loginOf("urlargs") });
    await term.waitFor(/pod\/cloudshell-urlargs-/);
    assert.equal(term.preferences?.titleFixed, "QA Shell");
    assert.equal(term.preferences?.fontSize, 17);
  });

  await t.step("a client option ttyd would cut is refused with a condition", async () => {
    await client.create(CloudShells, {
      apiVersion: "cloudshell.cloudtty.io/v1alpha1",
      kind: "CloudShell",
      metadata: { name: "mangled", namespace: ns },
      spec: { ttydClientOptions: { titleFixed: "QA=Shell" } },
    } as CloudShell);
    const cs = await waitForCloudShell(
      client,
      ns,
      "mangled",
      "InvalidClientOption",
      (c) => readyCondition(c)?.reason === "InvalidClientOption",
    );
    assert.equal(readyCondition(cs)?.status, "False");
  });

  await t.step("at TTL expiry the page says the session ended, and the status has no URL", async () => {
    const url = await readyShell(client, ns, "brief", { ttlSecondsAfterStarted: 8, commandAction: "bash" });
    await using term = await openTerminal(url, { credential: await loginOf("brief") });
    assert.equal((await term.run("echo alive")).output, "alive");
    await term.waitFor("This session has ended", 40_000);
    const done = await waitForCloudShell(
      client,
      ns,
      "brief",
      "Complete",
      (c) => c.status?.phase === "Complete",
    );
    assert.equal(done.status?.accessUrl ?? "", "");
    await eventually("the terminal to close", () => Promise.resolve(term.isClosed));
  });

  const browser = findBrowser();
  if ("missing" in browser) console.error(`SKIPPED the browser step: ${browser.missing}`);
  await t.step({
    name: "in a real browser: the login works, and at TTL expiry the page says the session ended",
    ignore: "missing" in browser,
    fn: async () => {
      const url = await readyShell(client, ns, "browsed", {
        ttlSecondsAfterStarted: 15,
        commandAction: "bash",
      });
      const screenshot = `${await testOutputDir("terminal-access")}/session-ended.png`;
      const page = await openTerminalPage((browser as { chromium: string }).chromium, {
        url,
        credential: await loginOf("browsed"),
        steps: [{ type: "echo logged-$((20+22))", expect: "logged-42" }, {
          type: "",
          expect: "This session has ended",
        }],
        screenshot,
        timeoutMs: 45_000,
      });
      assert.ok(page.lines.some((l) => l.includes("This session has ended")), page.lines.join("\n"));
    },
  });
});
