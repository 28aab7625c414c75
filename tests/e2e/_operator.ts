/**
 * Running the operator in end-to-end tests: the CRD installed into the test
 * cluster, and the operator started as a real process from source (or from
 * the compiled binary when CLOUDSHELL_OPERATOR_BIN is set), watching only the
 * test's namespace so test files can share one cluster.
 */
import { parse as parseYaml, parseAllDocuments } from "yaml";
import {
  isNotFound,
  type KubeClient,
  type KubeObject,
  Resources,
  type ResourceType,
} from "../../controller/kube/mod.ts";
import { type CloudShell, CloudShells } from "../../controller/cloudshell/api.ts";
import { eventually } from "../harness/cluster.ts";
import { spawnGuarded } from "../harness/process.ts";
import { startTaskArgs } from "../harness/start_task.ts";

const REPO = new URL("../../", import.meta.url).pathname;

/** ValidatingAdmissionPolicies and their bindings (admissionregistration.k8s.io/v1). */
export const AdmissionPolicies: ResourceType = {
  group: "admissionregistration.k8s.io",
  version: "v1",
  plural: "validatingadmissionpolicies",
  kind: "ValidatingAdmissionPolicy",
  namespaced: false,
};
/** ClusterRoles (rbac.authorization.k8s.io/v1). */
export const ClusterRoles: ResourceType = {
  group: "rbac.authorization.k8s.io",
  version: "v1",
  plural: "clusterroles",
  kind: "ClusterRole",
  namespaced: false,
};
export const AdmissionPolicyBindings: ResourceType = {
  ...AdmissionPolicies,
  plural: "validatingadmissionpolicybindings",
  kind: "ValidatingAdmissionPolicyBinding",
};

/**
 * Applies deploy/admission_policy.yaml (or another policy file of deploy/: its policy and binding) with server-side apply. It is
 * cluster-wide and the same for every test: an admin passes it, restricted users meet what a real install
 * gives them. The API server starts enforcing it within a second or so (its policy informer).
 */
export async function installAdmissionPolicy(
  client: KubeClient,
  file = "deploy/admission_policy.yaml",
): Promise<void> {
  const text = await Deno.readTextFile(`${REPO}${file}`);
  for (const doc of parseAllDocuments(text)) {
    const obj = doc.toJS() as KubeObject | null;
    if (!obj) continue;
    const type = obj.kind === AdmissionPolicies.kind ? AdmissionPolicies : AdmissionPolicyBindings;
    await client.patch(type, undefined, obj.metadata.name!, obj, "apply", { force: true });
  }
}

/** MutatingAdmissionPolicies and their bindings (admissionregistration.k8s.io/v1, Kubernetes 1.36+). */
export const MutatingPolicies: ResourceType = {
  ...AdmissionPolicies,
  plural: "mutatingadmissionpolicies",
  kind: "MutatingAdmissionPolicy",
};
export const MutatingPolicyBindings: ResourceType = {
  ...AdmissionPolicies,
  plural: "mutatingadmissionpolicybindings",
  kind: "MutatingAdmissionPolicyBinding",
};

/**
 * Applies deploy/components/identity/creator_policy.yaml, the MutatingAdmissionPolicy that records each
 * CloudShell's creator, and waits until a CloudShell created by an admin comes back with its creator.
 */
export async function installCreatorPolicy(client: KubeClient, probeNamespace: string): Promise<void> {
  const text = await Deno.readTextFile(`${REPO}deploy/components/identity/creator_policy.yaml`);
  for (const doc of parseAllDocuments(text)) {
    const obj = doc.toJS() as KubeObject | null;
    if (!obj) continue;
    const type = obj.kind === MutatingPolicies.kind ? MutatingPolicies : MutatingPolicyBindings;
    await client.patch(type, undefined, obj.metadata.name!, obj, "apply", { force: true });
  }
  // The policy informer of the API server takes a moment; a dry-run create shows when it acts.
  await eventually("the creator policy to record creators", async () => {
    const res = await client.request({
      method: "POST",
      path:
        `/apis/${CloudShells.group}/${CloudShells.version}/namespaces/${probeNamespace}/cloudshells?dryRun=All`,
      body: {
        apiVersion: `${CloudShells.group}/${CloudShells.version}`,
        kind: "CloudShell",
        metadata: { name: "probe" },
      },
    });
    const body = await res.json() as CloudShell;
    return res.ok && !!body.spec?.creator?.username;
  });
}

/**
 * Applies deploy/terminal_cluster_role.yaml, the role the operator binds by default for a shell without a
 * kubeconfig (--kubeconfig-clusterrole). Cluster-wide and the same for every test.
 */
export async function installTerminalClusterRole(client: KubeClient): Promise<void> {
  const role = parseYaml(await Deno.readTextFile(`${REPO}deploy/terminal_cluster_role.yaml`)) as KubeObject;
  await client.patch(ClusterRoles, undefined, role.metadata.name!, role, "apply", { force: true });
}

/**
 * Applies deploy/crd.yaml with server-side apply and waits until it is Established, and installs the
 * admission policy shipped with it.
 */
export async function installCrd(client: KubeClient): Promise<void> {
  await installAdmissionPolicy(client);
  await installTerminalClusterRole(client);
  const crd = parseYaml(await Deno.readTextFile(`${REPO}deploy/crd.yaml`)) as KubeObject;
  await client.patch(Resources.customResourceDefinitions, undefined, crd.metadata.name!, crd, "apply", {
    force: true,
  });
  await eventually("the CloudShell CRD to be Established", async () => {
    const got = await client.get<
      KubeObject & { status?: { conditions?: { type: string; status: string }[] } }
    >(
      Resources.customResourceDefinitions,
      undefined,
      crd.metadata.name!,
    );
    return got.status?.conditions?.some((c) => c.type === "Established" && c.status === "True");
  });
}

/**
 * CloudTTY's route layout and freedoms, which an administrator now chooses by flag: routes without a host
 * (one origin for all shells), and any host, class, gateway and exportTo a shell asks for.
 */
export const CLOUDTTY_ROUTE_FLAGS: readonly string[] = [
  "--ingress-host-pattern=*",
  "--virtual-service-host-pattern=*",
  "--ingress-hosts-allowed=*",
  "--ingress-classes-allowed=*",
  "--virtual-service-gateways-allowed=*",
  "--virtual-service-export-to-allowed=*",
];

/** A running operator process. */
export class OperatorProcess implements AsyncDisposable {
  readonly #pid: number;
  readonly #lines: string[] = [];
  readonly #done: Promise<Deno.CommandStatus>;
  #metricsUrl: string | undefined;
  #healthUrl: string | undefined;
  #exited = false;

  private constructor(child: Deno.ChildProcess, pid: number) {
    this.#pid = pid;
    const collect = async (stream: ReadableStream<Uint8Array>) => {
      const reader = stream.pipeThrough(new TextDecoderStream()).getReader();
      let buffer = "";
      while (true) {
        const { value, done } = await reader.read();
        if (done) break;
        buffer += value;
        let nl;
        while ((nl = buffer.indexOf("\n")) >= 0) {
          this.#onLine(buffer.slice(0, nl));
          buffer = buffer.slice(nl + 1);
        }
      }
      if (buffer) this.#onLine(buffer);
    };
    const pumps = Promise.all([collect(child.stdout), collect(child.stderr)]);
    this.#done = child.status.then(async (s) => {
      this.#exited = true;
      await pumps.catch(() => {});
      return s;
    });
  }

  /**
   * Starts the operator with `args` added to the test defaults, and waits until it is ready. It watches
   * only `namespace` (where it also runs), unless `allNamespaces` is set: only for a private control
   * plane, since on the shared one it would act on every other test's shells. With `kubeconfigEnv`,
   * `kubeconfig` is passed as $KUBECONFIG (a list) instead of --kubeconfig.
   */
  static async start(
    kubeconfig: string,
    namespace: string,
    args: string[] = [],
    opts: { allNamespaces?: boolean; kubeconfigEnv?: boolean } = {},
  ): Promise<OperatorProcess> {
    const bin = Deno.env.get("CLOUDSHELL_OPERATOR_BIN");
    const common = [
      // `kubeconfigEnv`: `kubeconfig` is a KUBECONFIG list, given as the environment variable.
      ...(opts.kubeconfigEnv ? [] : [`--kubeconfig=${kubeconfig}`]),
      ...(opts.allNamespaces ? [] : [`--watch-namespace=${namespace}`]),
      `--operator-namespace=${namespace}`,
      "--leader-elect=false",
      "--metrics-bind-address=127.0.0.1:0",
      "--health-probe-bind-address=127.0.0.1:0",
      "--log-format=json",
      "--log-level=debug",
      "--node-port-host=shell.example.test",
      // Tests written for CloudTTY's routes run under its shared layout, chosen as an administrator would;
      // tests of per-shell hosts pass their own flags, which come later and win.
      ...CLOUDTTY_ROUTE_FLAGS,
      ...args,
    ];
    const [program, programArgs] = bin ? [bin, common] : [Deno.execPath(), startTaskArgs(common)];
    return await OperatorProcess.run(
      program,
      programArgs,
      opts.kubeconfigEnv ? { KUBECONFIG: kubeconfig } : {},
    );
  }

  /**
   * Starts `program` with `args` (which must run the operator with JSON logs and a health address) and
   * `env` added to the environment, and waits until it is ready.
   */
  static async run(
    program: string,
    args: string[],
    env: Record<string, string> = {},
  ): Promise<OperatorProcess> {
    const op = await OperatorProcess.spawn(program, args, env);
    const ready = await eventually("the operator to serve /readyz", async () => {
      // An exited operator ends the wait at once (a thrown error would only be retried until the timeout).
      if (op.exited) return "exited";
      if (!op.#healthUrl) return false;
      const res = await fetch(`${op.#healthUrl}/readyz`);
      await res.body?.cancel();
      return res.ok;
    }, 60_000);
    if (ready === "exited") throw new Error(`operator exited:\n${op.logs().slice(-20).join("\n")}`);
    return op;
  }

  /** Starts `program` as `run` does, without waiting until it is ready. */
  static async spawn(
    program: string,
    args: string[],
    env: Record<string, string> = {},
  ): Promise<OperatorProcess> {
    // Under the guard, the operator dies with the test process even if that is killed outright.
    const { child, pid } = await spawnGuarded(program, args, {
      env,
      stdout: "piped",
      stderr: "piped",
      stdin: "null",
    });
    return new OperatorProcess(child, pid);
  }

  get exited(): boolean {
    return this.#exited;
  }

  #onLine(line: string): void {
    this.#lines.push(line);
    if (Deno.env.get("CLOUDSHELL_TEST_OPERATOR_LOGS")) console.error(`[operator] ${line}`);
    try {
      const entry = JSON.parse(line) as Record<string, unknown>;
      if (
        (entry.msg === "Serving HTTP" || entry.msg === "Serving HTTPS") && typeof entry.address === "string"
      ) {
        const endpoints = String(entry.endpoints ?? "");
        const base = `${entry.msg === "Serving HTTPS" ? "https" : "http"}://${entry.address}`;
        if (endpoints.includes("metrics")) this.#metricsUrl = base;
        if (endpoints.includes("health")) this.#healthUrl = base;
      }
    } catch {
      // Not a JSON log line (a Deno warning, say): kept for logs() anyway.
    }
  }

  /** Every line the operator wrote so far. */
  logs(): string[] {
    return [...this.#lines];
  }

  /** The base URL of the metrics endpoint (`http://` or, with `--metrics-secure`, `https://`). */
  get metricsUrl(): string {
    if (!this.#metricsUrl) throw new Error("the operator serves no /metrics");
    return this.#metricsUrl;
  }

  /** The Prometheus text of /metrics. */
  async metrics(): Promise<string> {
    const res = await fetch(`${this.#metricsUrl}/metrics`);
    return await res.text();
  }

  /** The HTTP status of a health endpoint (`/healthz` or `/readyz`). */
  async probe(path: "/healthz" | "/readyz"): Promise<number> {
    const res = await fetch(`${this.#healthUrl}${path}`);
    await res.body?.cancel();
    return res.status;
  }

  /** The OS process id (to tell replicas apart in fault tests). */
  get pid(): number {
    return this.#pid;
  }

  /** Sends a signal and waits for the exit code. */
  async stop(signal: Deno.Signal = "SIGTERM"): Promise<number> {
    if (!this.#exited) {
      try {
        Deno.kill(this.#pid, signal);
      } catch {
        // Already gone.
      }
    }
    return (await this.#done).code;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop("SIGKILL");
  }
}

/** Creates a CloudShell from a spec. */
export function createCloudShell(
  client: KubeClient,
  namespace: string,
  name: string,
  spec: Record<string, unknown>,
): Promise<CloudShell> {
  return client.create<CloudShell>(CloudShells, {
    apiVersion: "cloudshell.cloudtty.io/v1alpha1",
    kind: "CloudShell",
    metadata: { name, namespace },
    spec,
  } as CloudShell);
}

/** Waits until a CloudShell satisfies `check`, returning it. */
export function waitForCloudShell(
  client: KubeClient,
  namespace: string,
  name: string,
  what: string,
  check: (cs: CloudShell) => boolean,
  timeoutMs = 30_000,
): Promise<CloudShell> {
  return eventually(`CloudShell ${name}: ${what}`, async () => {
    const cs = await client.get<CloudShell>(CloudShells, namespace, name);
    return check(cs) ? cs : false;
  }, timeoutMs);
}

/** Waits until an object is gone. */
export function waitForGone(
  client: KubeClient,
  type: Parameters<KubeClient["get"]>[0],
  namespace: string | undefined,
  name: string,
  // Garbage collection of children of a freshly installed CRD waits for the collector's 30 s resync.
  timeoutMs = 60_000,
): Promise<true> {
  return eventually(`${type.kind} ${name} to be gone`, async () => {
    try {
      await client.get(type, namespace, name);
      return false;
    } catch (err) {
      if (isNotFound(err)) return true;
      throw err;
    }
  }, timeoutMs);
}

/** The Ready condition of a CloudShell. */
export function readyCondition(cs: CloudShell) {
  return cs.status?.conditions?.find((c) => c.type === "Ready");
}
