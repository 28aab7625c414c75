/**
 * The kubectl plugin end to end, as a user with only CloudShell and port-forward rights (and read access
 * to Secrets, for the terminal's login): on a control plane whose pods really run (the kubelet stand-in,
 * with kwok forwarding pods/portforward to them), it creates a ClusterIP shell, waits with progress,
 * forwards a loopback port through the API server, and a ttyd client and Chromium type into the
 * terminal through that forward. Then `open`, exec and logs shells, list, extend, delete; a user without
 * port-forward rights gets a clear error; usage errors exit 2.
 *
 * alice authenticates with a client certificate (the TLS path of the plugin's own WebSocket client),
 * bob with a ServiceAccount token.
 */
import assert from "node:assert/strict";
import { stringify } from "yaml";
import type { CloudShell } from "../../controller/cloudshell/api.ts";
import { CloudShells } from "../../controller/cloudshell/api.ts";
import { type KubeObject, Resources } from "../../controller/kube/mod.ts";
import type { Session } from "../../plugin/output.ts";
import { findBrowser, openTerminalPage } from "../harness/browser.ts";
import { eventually } from "../harness/cluster.ts";
import { kubectlPortForward } from "../harness/commands.ts";
import { TtydSession } from "../harness/ttyd_client.ts";
import { serviceAccountToken, writeTokenKubeconfig } from "../deploy/_identity.ts";
import { terminalCluster, terminalOperator } from "./_terminal.ts";

const PLUGIN = new URL("../../plugin/main.ts", import.meta.url).pathname;
const SHELL_ROLE = "cloudshell-e2e-plugin-shells";

const Rbac = (plural: string, kind: string, namespaced: boolean) =>
  ({ group: "rbac.authorization.k8s.io", version: "v1", plural, kind, namespaced }) as const;
const Roles = Rbac("roles", "Role", true);
const RoleBindings = Rbac("rolebindings", "RoleBinding", true);
const ClusterRoles = Rbac("clusterroles", "ClusterRole", false);

/** A running plugin process: its stdout and stderr so far, its first JSON document, its exit code. */
class PluginProcess {
  readonly #child: Deno.ChildProcess;
  stdout = "";
  stderr = "";
  readonly exited: Promise<number>;

  constructor(args: string[], env: Record<string, string> = {}) {
    const bin = Deno.env.get("CLOUDSHELL_PLUGIN_BIN");
    this.#child = new Deno.Command(bin ?? Deno.execPath(), {
      args: bin ? args : ["run", "--allow-all", "--quiet", PLUGIN, ...args],
      env,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const collect = async (stream: ReadableStream<Uint8Array>, into: "stdout" | "stderr") => {
      for await (const text of stream.pipeThrough(new TextDecoderStream())) this[into] += text;
    };
    const pumps = Promise.all([collect(this.#child.stdout, "stdout"), collect(this.#child.stderr, "stderr")]);
    this.exited = this.#child.status.then(async (s) => {
      await pumps;
      return s.code;
    });
  }

  /** The JSON document on stdout, once complete (the plugin prints it once it is forwarding). */
  async json<T>(timeoutMs = 90_000): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    let ended = false;
    this.exited.then(() => ended = true);
    while (true) {
      try {
        return JSON.parse(this.stdout) as T;
      } catch {
        // Not complete yet.
      }
      if (ended) throw new Error(`the plugin exited without JSON; stderr:\n${this.stderr}`);
      if (Date.now() > deadline) throw new Error(`no JSON from the plugin; stderr:\n${this.stderr}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  /** Ctrl-C, and the exit code. */
  async interrupt(): Promise<number> {
    this.#child.kill("SIGINT");
    return await this.exited;
  }
}

/** Runs the plugin to its end. */
async function plugin(args: string[], env?: Record<string, string>) {
  const p = new PluginProcess(args, env);
  const code = await p.exited;
  return { code, stdout: p.stdout, stderr: p.stderr };
}

/** A kubeconfig for `user` with a client certificate signed by the test control plane's CA. */
async function certificateKubeconfig(
  cpDir: string,
  server: string,
  user: string,
  dir: string,
): Promise<string> {
  const openssl = async (args: string[]) => {
    const out = await new Deno.Command("openssl", { args, cwd: dir, stdout: "null", stderr: "piped" })
      .output();
    if (!out.success) throw new Error(new TextDecoder().decode(out.stderr));
  };
  await Deno.writeTextFile(`${dir}/client.ext`, "extendedKeyUsage=clientAuth\n");
  await openssl([
    "req",
    "-newkey",
    "rsa:2048",
    "-nodes",
    "-keyout",
    "u.key",
    "-out",
    "u.csr",
    "-subj",
    `/CN=${user}`,
  ]);
  await openssl([
    "x509",
    "-req",
    "-in",
    "u.csr",
    "-CA",
    `${cpDir}/ca.crt`,
    "-CAkey",
    `${cpDir}/ca.key`,
    "-CAcreateserial",
    "-out",
    "u.crt",
    "-days",
    "1",
    "-extfile",
    "client.ext",
  ]);
  const path = `${dir}/kubeconfig`;
  await Deno.writeTextFile(
    path,
    stringify({
      apiVersion: "v1",
      kind: "Config",
      "current-context": user,
      clusters: [{ name: "test", cluster: { server, "certificate-authority": `${cpDir}/ca.crt` } }],
      users: [{ name: user, user: { "client-certificate": `${dir}/u.crt`, "client-key": `${dir}/u.key` } }],
      contexts: [{ name: user, context: { cluster: "test", user } }],
    }),
    { mode: 0o600 },
  );
  return path;
}

Deno.test("kubectl cloudshell: create, wait, forward through the API server, type; open, exec, logs, list, extend, delete", async (t) => {
  await using cluster = await terminalCluster();
  const client = cluster.client;
  const ns = await cluster.namespace("e2e-plugin");
  const cpDir = cluster.kubeconfigPath.replace(/\/[^/]+$/, "");
  const server = cluster.connection.server;

  // The shells' own ServiceAccounts may exec into pods and read their logs (for the exec and logs shells).
  await client.create(ClusterRoles, {
    apiVersion: "rbac.authorization.k8s.io/v1",
    kind: "ClusterRole",
    metadata: { name: SHELL_ROLE },
    rules: [
      { apiGroups: [""], resources: ["pods", "pods/log"], verbs: ["get", "list"] },
      { apiGroups: [""], resources: ["pods/exec"], verbs: ["create", "get"] },
    ],
  } as KubeObject);
  await using _op = await terminalOperator(cluster, ns, [
    `--kubeconfig-clusterrole=${SHELL_ROLE}`,
    "--terminal-credential=generated",
  ]);

  // The users: CloudShells, finding pods, and (for alice only) pods/portforward; reading Secrets for the login.
  const rules = (forward: boolean) => [
    { apiGroups: ["cloudshell.cloudtty.io"], resources: ["cloudshells"], verbs: ["*"] },
    { apiGroups: [""], resources: ["pods"], verbs: ["get", "list"] },
    { apiGroups: [""], resources: ["secrets"], verbs: ["get"] },
    ...(forward ? [{ apiGroups: [""], resources: ["pods/portforward"], verbs: ["create", "get"] }] : []),
  ];
  for (const [role, forward] of [["shell-user", true], ["shell-user-no-forward", false]] as const) {
    await client.create(Roles, {
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: "Role",
      metadata: { name: role, namespace: ns },
      rules: rules(forward),
    } as KubeObject);
  }
  await client.create(Resources.serviceAccounts, {
    apiVersion: "v1",
    kind: "ServiceAccount",
    metadata: { name: "bob", namespace: ns },
  });
  for (
    const [role, subject] of [
      ["shell-user", { kind: "User", name: "alice", apiGroup: "rbac.authorization.k8s.io" }],
      ["shell-user-no-forward", { kind: "ServiceAccount", name: "bob", namespace: ns }],
    ] as const
  ) {
    await client.create(RoleBindings, {
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: "RoleBinding",
      metadata: { name: role, namespace: ns },
      roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: role },
      subjects: [subject],
    } as KubeObject);
  }
  // The users' kubeconfigs and keys, removed with the test.
  const usersDir = await Deno.makeTempDir({ prefix: "plugin-users-" });
  await using _users = { [Symbol.asyncDispose]: () => Deno.remove(usersDir, { recursive: true }) };
  await Deno.mkdir(`${usersDir}/alice`);
  await Deno.mkdir(`${usersDir}/bob`);
  const alice = await certificateKubeconfig(cpDir, server, "alice", `${usersDir}/alice`);
  const bob = await writeTokenKubeconfig(
    `${usersDir}/bob`,
    server,
    await serviceAccountToken(client, ns, "bob"),
    await Deno.readTextFile(`${cpDir}/ca.crt`),
  );
  const asAlice = ["--kubeconfig", alice, "-n", ns];
  let shellName = "";

  await t.step("create: progress while waiting, then a forward a ttyd client types through", async () => {
    const p = new PluginProcess(["create", ...asAlice, "--ttl", "30m", "--no-browser", "-o", "json"]);
    const session = await p.json<Session>();
    shellName = session.name;
    assert.match(shellName, /^shell-/);
    assert.equal(session.exposureMode, "ClusterIP");
    assert.match(session.url, /^http:\/\/127\.0\.0\.1:\d+\/$/);
    assert.equal(session.forward?.podPort, 7681);
    assert.match(session.accessUrl, /:7681\?ttl=1800$/);
    assert.ok(session.login, `the login alice may read: ${p.stderr}`);
    assert.equal(session.login.username, "cloudshell");
    assert.ok(session.expiresAt && Date.parse(session.expiresAt) > Date.now());
    // Progress: what it waits for, and the time spent.
    assert.match(p.stderr, new RegExp(`Waiting for cloudshell/${shellName} to be Ready: .* \\d+s`));
    assert.match(p.stderr, new RegExp(`cloudshell/${shellName}: Ready after \\d+s`));
    assert.match(p.stderr, /Ctrl-C ends the forward/);

    const credential = `${session.login.username}:${session.login.password}`;
    {
      await using term = await TtydSession.connect(session.url, { credential });
      assert.deepEqual(await term.run("echo through-the-api-server-$((6*7))"), {
        output: "through-the-api-server-42",
        code: 0,
      });
      const whoami = await term.run("kubectl auth whoami -o jsonpath='{.status.userInfo.username}'");
      assert.equal(whoami.output, `system:serviceaccount:${ns}:cloudshell-${shellName}`);
    }

    // The oracle: kubectl port-forward, as alice, reaches the same terminal.
    {
      await using oracle = await kubectlPortForward(alice, ["-n", ns, `pod/${session.forward!.pod}`], 7681);
      await using term = await TtydSession.connect(`127.0.0.1:${oracle.localPort}`, { credential });
      assert.equal((await term.run("echo via-kubectl")).output, "via-kubectl");
    }

    const browser = findBrowser();
    if ("missing" in browser) {
      console.error(`SKIPPED the browser part: ${browser.missing}`);
    } else {
      const page = await openTerminalPage(browser.chromium, {
        url: session.url,
        // The login with every request, as a proxy would add it: the browser's 401-then-retry would reuse
        // a connection ttyd closed, which kwok's port-forward never reports closed (harness README).
        headers: { Authorization: `Basic ${btoa(credential)}` },
        steps: [{ type: "echo typed-in-chromium-$((40+2))", expect: "typed-in-chromium-42" }],
        timeoutMs: 60_000,
      });
      assert.ok(page.lines.some((l) => l.includes("typed-in-chromium-42")), page.lines.join("\n"));
    }

    // Ctrl-C ends the forward and the plugin, not the shell.
    assert.equal(await p.interrupt(), 0, p.stderr);
    assert.match(p.stderr, /Forward ended; cloudshell\/\S+ keeps running until/);
    const shell = await client.get<CloudShell>(CloudShells, ns, shellName);
    assert.equal(shell.status?.phase, "Ready");
  });

  await t.step("open: an existing shell, forwarded again", async () => {
    const p = new PluginProcess(["open", shellName, ...asAlice, "--no-browser", "-o", "json"]);
    const session = await p.json<Session>();
    await using term = await TtydSession.connect(session.url, {
      credential: `${session.login!.username}:${session.login!.password}`,
    });
    assert.equal((await term.run("echo again")).output, "again");
    assert.equal(await p.interrupt(), 0, p.stderr);
  });

  await t.step(
    "a user without pods/portforward: exit 4 and the API server's reason, before any URL",
    async () => {
      const out = await plugin(["open", shellName, "--kubeconfig", bob, "-n", ns, "--no-browser"]);
      assert.equal(out.code, 4, out.stderr);
      assert.equal(out.stdout, "");
      assert.match(
        out.stderr,
        /^error: cannot port-forward to pod\/cloudshell-\S+ \(cloudshell\/shell-\S+\): /m,
      );
      assert.match(out.stderr, /cannot (create|get) resource "pods\/portforward"/);
    },
  );

  await t.step("exec and logs shells, through the forward", async () => {
    await client.create(Resources.pods, {
      apiVersion: "v1",
      kind: "Pod",
      metadata: { name: "app", namespace: ns },
      spec: {
        containers: [{
          name: "app",
          image: "busybox",
          command: ["sh", "-c", 'i=0; while :; do echo "tick $i"; i=$((i+1)); sleep 0.5; done'],
        }],
        terminationGracePeriodSeconds: 1,
      },
    } as KubeObject);
    await eventually("pod app to run", async () => {
      const pod = await client.get<KubeObject & { status?: { phase?: string } }>(Resources.pods, ns, "app");
      return pod.status?.phase === "Running";
    });

    const exec = new PluginProcess([
      "create",
      "exec-app",
      ...asAlice,
      "--exec",
      "app",
      "-c",
      "app",
      "--no-browser",
      "-o",
      "json",
    ]);
    const execSession = await exec.json<Session>();
    {
      await using term = await TtydSession.connect(execSession.url, {
        credential: `${execSession.login!.username}:${execSession.login!.password}`,
      });
      assert.equal((await term.run("echo $((40+2))-$HOSTNAME")).output, "42-app");
    }
    assert.equal(await exec.interrupt(), 0, exec.stderr);

    const logs = new PluginProcess([
      "create",
      "logs-app",
      ...asAlice,
      "--logs",
      "app",
      "--no-browser",
      "-o",
      "json",
    ]);
    const logsSession = await logs.json<Session>();
    {
      await using term = await TtydSession.connect(logsSession.url, {
        credential: `${logsSession.login!.username}:${logsSession.login!.password}`,
      });
      const first = await term.waitFor(/tick (\d+)\n/);
      await term.waitFor(new RegExp(`tick ${Number(first[1]) + 2}\\n`));
    }
    assert.equal(await logs.interrupt(), 0, logs.stderr);
    const logsShell = await client.get<CloudShell>(CloudShells, ns, "logs-app");
    assert.equal(logsShell.spec?.readOnly, true);
    assert.equal(logsShell.spec?.commandAction, "kubectl logs -f app");
  });

  await t.step(
    "a NodePort shell opens at its own URL (no forward); --no-open -o yaml; a timeout exits 3",
    async () => {
      const nodePort = await plugin([
        "create",
        "np",
        ...asAlice,
        "--exposure",
        "NodePort",
        "--no-browser",
        "-o",
        "json",
      ]);
      assert.equal(nodePort.code, 0, nodePort.stderr);
      const session = JSON.parse(nodePort.stdout) as Session;
      assert.equal(session.forward, null);
      assert.match(
        session.url,
        new RegExp(`^http://${cluster.nodeIp!.replaceAll(".", "\\.")}:\\d+(\\?ttl=\\d+)?$`),
      );
      {
        await using term = await TtydSession.connect(session.url, {
          credential: `${session.login!.username}:${session.login!.password}`,
        });
        assert.equal((await term.run("echo by-node-port")).output, "by-node-port");
      }
      const noOpen = await plugin(["create", "quiet", ...asAlice, "--no-open", "-o", "yaml"]);
      assert.equal(noOpen.code, 0, noOpen.stderr);
      assert.match(noOpen.stdout, /^kind: CloudShell$/m);
      assert.match(noOpen.stdout, /^ {2}phase: Ready$/m);
      await plugin(["delete", "np", "quiet", ...asAlice]);

      // No operator watches this namespace: nothing ever answers, and --timeout ends the wait.
      const elsewhere = await cluster.namespace("e2e-plugin-none");
      const late = await plugin([
        "create",
        "--kubeconfig",
        cluster.kubeconfigPath,
        "-n",
        elsewhere,
        "--timeout",
        "2s",
      ]);
      assert.equal(late.code, 3, late.stderr);
      assert.match(
        late.stderr,
        /error: cloudshell\/shell-\S+ not Ready after \ds \(--timeout\): NoStatus: waiting for the operator/,
      );
    },
  );

  await t.step("list, extend, delete; KUBECONFIG and --context as kubectl reads them", async () => {
    const listed = await plugin(["list", "-n", ns, "-o", "name"], { KUBECONFIG: alice });
    assert.equal(listed.code, 0, listed.stderr);
    assert.deepEqual(
      listed.stdout.trim().split("\n").sort(),
      [
        `cloudshell.cloudshell.cloudtty.io/${shellName}`,
        "cloudshell.cloudshell.cloudtty.io/exec-app",
        "cloudshell.cloudshell.cloudtty.io/logs-app",
      ].sort(),
    );
    // A second file in KUBECONFIG adds a context with a namespace: --context picks it, and no -n is needed.
    const extra = `${usersDir}/extra`;
    await Deno.writeTextFile(
      extra,
      stringify({
        apiVersion: "v1",
        kind: "Config",
        contexts: [{ name: "alice-here", context: { cluster: "test", user: "alice", namespace: ns } }],
      }),
    );
    const inContext = await plugin(["list", "--context", "alice-here", "-o", "name"], {
      KUBECONFIG: `${alice}:${extra}`,
    });
    assert.equal(inContext.code, 0, inContext.stderr);
    assert.equal(inContext.stdout, listed.stdout);
    const table = await plugin(["list", ...asAlice]);
    assert.match(table.stdout, /^NAME\s+READY\s+STATUS\s+MODE\s+COMMAND\s+ENDS\s+AGE\n/);
    assert.match(table.stdout, new RegExp(`${shellName}\\s+True\\s+Ready\\s+ClusterIP\\s+bash\\s+in \\d+m`));

    const extended = await plugin(["extend", shellName, ...asAlice, "--by", "1h", "-o", "json"]);
    assert.equal(extended.code, 0, extended.stderr);
    assert.equal((JSON.parse(extended.stdout) as CloudShell).spec?.ttlSecondsAfterStarted, 1800 + 3600);

    const deleted = await plugin(["delete", shellName, "exec-app", "logs-app", ...asAlice]);
    assert.equal(deleted.code, 0, deleted.stderr);
    assert.match(deleted.stdout, new RegExp(`cloudshell "${shellName}" deleted`));
    const gone = await plugin(["open", shellName, ...asAlice, "--no-browser"]);
    assert.equal(gone.code, 5, gone.stderr);
    assert.match(gone.stderr, /not found/);
  });

  await t.step("usage errors exit 2 with one line; a bad kubeconfig too", async () => {
    const bad = await plugin(["create", ...asAlice, "--ttl", "5"]);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /^error: invalid value "5" for --ttl/);
    const missing = await plugin(["list", "--kubeconfig", "/nonexistent/kubeconfig"]);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /^error: Cannot read kubeconfig \/nonexistent\/kubeconfig/);
  });
});
