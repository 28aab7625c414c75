/**
 * A real Kubernetes control plane for tests: etcd, kube-apiserver,
 * kube-controller-manager, kube-scheduler and kwok (fake nodes whose pods go
 * Running and Ready), on free loopback ports, built from Go modules by
 * hack/controlplane/build.sh and cached outside the repository.
 *
 * Use `startControlPlane()` for a private cluster (fault tests that restart the
 * API server), or `sharedCluster()` to attach to the one `deno task test`
 * starts for the whole run.
 */
import { parseAllDocuments, stringify as toYaml } from "yaml";
import {
  type ClusterConnection,
  KubeClient,
  type KubeObject,
  loadClusterConnection,
  Resources,
} from "../../controller/kube/mod.ts";
import { generateCerts } from "./certs.ts";
import { ttydBinaries } from "./commands.ts";
import { KubeletStandIn } from "./kubelet/mod.ts";
import { freePort, ManagedProcess } from "./process.ts";

const REPO = new URL("../../", import.meta.url).pathname;
const SERVICE_CIDR = "10.96.0.0/16";
const SERVICE_IP = "10.96.0.1";
/** Label of the fake nodes kwok manages. */
export const KWOK_NODE_LABEL = "type=kwok";

/** Options of a control plane. */
export interface ControlPlaneOptions {
  /** How many fake nodes to register (default 2). */
  nodes?: number;
  /** Print progress to stderr. */
  verbose?: boolean;
  /**
   * Run the pods for real with the kubelet stand-in (tests/harness/kubelet) instead of letting kwok
   * fake their lifecycle; kwok then serves `kubectl exec`, `kubectl logs` and `kubectl port-forward` for
   * them.
   */
  kubelet?: boolean;
  /**
   * The fake nodes' address. Default: a random loopback address of its own (127.x.y.z), so the node
   * ports and kwok's kubelet endpoint of control planes running side by side never collide, and the
   * API server only ever dials loopback.
   */
  nodeIp?: string;
}

/** A random address in 127.0.0.0/8 other than 127.0.0.1. */
function randomLoopbackAddress(): string {
  const [a, b, c] = crypto.getRandomValues(new Uint8Array(3));
  return `127.${1 + (a % 254)}.${b}.${1 + (c % 254)}`;
}

/** Builds (or finds in the cache) the control-plane binaries and returns their directory. */
export async function controlPlaneBinaries(): Promise<string> {
  const fromEnv = Deno.env.get("CLOUDSHELL_CONTROLPLANE_BIN");
  if (fromEnv) return fromEnv;
  const out = await new Deno.Command("bash", {
    args: [`${REPO}hack/controlplane/build.sh`],
    stdout: "piped",
    stderr: "inherit",
  }).output();
  if (!out.success) throw new Error("Building the control plane failed (see the output above)");
  const lines = new TextDecoder().decode(out.stdout).trim().split("\n");
  return lines[lines.length - 1];
}

/** A running control plane. Dispose of it (or call `stop()`) to end every process. */
export class ControlPlane implements AsyncDisposable {
  readonly dir: string;
  readonly kubeconfigPath: string;
  readonly apiServerUrl: string;
  /** The fake nodes' InternalIP (loopback): node ports of the kubelet stand-in are served there. */
  readonly nodeIp: string;
  /** The control plane's kubectl. */
  readonly kubectlPath: string;
  readonly #processes: Map<string, ManagedProcess>;
  readonly #connection: ClusterConnection;
  readonly #client: KubeClient;
  readonly #verbose: boolean;
  #kubelet: KubeletStandIn | undefined;
  #stopping: Promise<void> | undefined;

  private constructor(
    dir: string,
    kubeconfigPath: string,
    apiServerUrl: string,
    nodeIp: string,
    bin: string,
    processes: Map<string, ManagedProcess>,
    connection: ClusterConnection,
    verbose: boolean,
  ) {
    this.dir = dir;
    this.kubeconfigPath = kubeconfigPath;
    this.apiServerUrl = apiServerUrl;
    this.nodeIp = nodeIp;
    this.kubectlPath = `${bin}/kubectl`;
    this.#processes = processes;
    this.#connection = connection;
    this.#client = new KubeClient(connection, {
      qps: 1000,
      burst: 2000,
      userAgent: "cloudshell-test-harness",
    });
    this.#verbose = verbose;
  }

  /** Starts every component and returns once nodes are Ready and the default ServiceAccount exists. */
  static async start(opts: ControlPlaneOptions = {}): Promise<ControlPlane> {
    const verbose = opts.verbose ?? false;
    const say = (msg: string) => verbose && console.error(`[control-plane] ${msg}`);
    const t0 = performance.now();
    const bin = await controlPlaneBinaries();
    const tBuilt = performance.now();
    const dir = await Deno.makeTempDir({ prefix: "cloudshell-cp-" });
    const processes = new Map<string, ManagedProcess>();
    const cleanupOnFailure = async (err: unknown): Promise<never> => {
      await Promise.all([...processes.values()].map((p) => p.stop(1_000)));
      const tails = await Promise.all(
        [...processes.values()].map(async (p) => `--- ${p.name}\n${await p.tail()}`),
      );
      await Deno.remove(dir, { recursive: true }).catch(() => {});
      throw new Error(`Control plane failed to start: ${(err as Error).message}\n${tails.join("\n")}`, {
        cause: err,
      });
    };
    try {
      const certs = await generateCerts(dir, SERVICE_IP);
      const [etcdPort, etcdPeerPort, apiPort, kcmPort, schedPort, kwokPort] = Array.from(
        { length: 6 },
        freePort,
      );
      const apiServerUrl = `https://127.0.0.1:${apiPort}`;
      const kubeconfigPath = `${dir}/kubeconfig`;
      await Deno.writeTextFile(
        kubeconfigPath,
        kubeconfigYaml(apiServerUrl, certs.caCert, certs.adminCert, certs.adminKey),
      );
      const nodeIp = opts.nodeIp ?? randomLoopbackAddress();
      await Deno.writeTextFile(`${dir}/kwok.yaml`, await kwokStages(opts.kubelet ?? false));
      const add = (name: string, argv: string[]) => {
        const p = new ManagedProcess(name, argv, `${dir}/${name}.log`);
        processes.set(name, p);
        return p;
      };

      const etcd = add("etcd", [
        `${bin}/etcd`,
        "--name=default",
        `--data-dir=${dir}/etcd`,
        `--listen-client-urls=http://127.0.0.1:${etcdPort}`,
        `--advertise-client-urls=http://127.0.0.1:${etcdPort}`,
        `--listen-peer-urls=http://127.0.0.1:${etcdPeerPort}`,
        `--initial-advertise-peer-urls=http://127.0.0.1:${etcdPeerPort}`,
        `--initial-cluster=default=http://127.0.0.1:${etcdPeerPort}`,
        // Tests throw the data away: skipping fsync makes writes an order of magnitude faster.
        "--unsafe-no-fsync",
        "--log-level=warn",
      ]);
      await etcd.start();
      await waitFor(
        "etcd",
        etcd,
        async () => (await fetch(`http://127.0.0.1:${etcdPort}/health`)).ok,
        30_000,
      );
      say(`etcd up on ${etcdPort}`);

      const apiserver = add("kube-apiserver", [
        `${bin}/kube-apiserver`,
        `--etcd-servers=http://127.0.0.1:${etcdPort}`,
        "--bind-address=127.0.0.1",
        "--advertise-address=127.0.0.1",
        // The kubernetes Service endpoint reconciler refuses loopback addresses; nothing here needs it.
        "--endpoint-reconciler-type=none",
        `--secure-port=${apiPort}`,
        `--cert-dir=${dir}/apiserver`,
        `--tls-cert-file=${certs.serverCert}`,
        `--tls-private-key-file=${certs.serverKey}`,
        `--client-ca-file=${certs.caCert}`,
        "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
        `--service-account-key-file=${certs.saPub}`,
        `--service-account-signing-key-file=${certs.saKey}`,
        `--service-cluster-ip-range=${SERVICE_CIDR}`,
        // Room for 10,000 NodePort Services (Kubernetes' default range holds 2,768): the benchmark's N = 5,000
        // shells are NodePort shells. Node ports live on each control plane's own loopback node address.
        "--service-node-port-range=30000-39999",
        "--authorization-mode=Node,RBAC",
        "--allow-privileged=true",
        "--profiling=false",
        "--event-ttl=1h",
        // exec, logs and port-forward go to a node's InternalIP (kwok, on loopback), never to its
        // Hostname, which would need a DNS lookup.
        "--kubelet-preferred-address-types=InternalIP",
        "--v=0",
      ]);
      await apiserver.start();
      const connection = await loadClusterConnection({ kubeconfigPath, env: {} });
      const probe = new KubeClient(connection, { userAgent: "cloudshell-test-harness" });
      await waitForApi(apiserver, probe, 60_000);
      say(`kube-apiserver up at ${apiServerUrl}`);

      add("kube-controller-manager", [
        `${bin}/kube-controller-manager`,
        `--kubeconfig=${kubeconfigPath}`,
        `--authentication-kubeconfig=${kubeconfigPath}`,
        `--authorization-kubeconfig=${kubeconfigPath}`,
        "--bind-address=127.0.0.1",
        `--secure-port=${kcmPort}`,
        `--service-account-private-key-file=${certs.saKey}`,
        `--root-ca-file=${certs.caCert}`,
        "--use-service-account-credentials=true",
        `--service-cluster-ip-range=${SERVICE_CIDR}`,
        "--leader-elect=false",
        // The defaults (20 qps) would make the control plane, not the operator, the bottleneck at 1,000 shells.
        "--kube-api-qps=500",
        "--kube-api-burst=1000",
        "--concurrent-job-syncs=20",
        "--concurrent-gc-syncs=20",
        "--v=0",
      ]);
      add("kube-scheduler", [
        `${bin}/kube-scheduler`,
        `--kubeconfig=${kubeconfigPath}`,
        `--authentication-kubeconfig=${kubeconfigPath}`,
        `--authorization-kubeconfig=${kubeconfigPath}`,
        "--bind-address=127.0.0.1",
        `--secure-port=${schedPort}`,
        "--leader-elect=false",
        "--kube-api-qps=500",
        "--kube-api-burst=1000",
        "--v=0",
      ]);
      add("kwok", [
        `${bin}/kwok`,
        `--kubeconfig=${kubeconfigPath}`,
        `--config=${dir}/kwok.yaml`,
        `--manage-nodes-with-label-selector=${KWOK_NODE_LABEL}`,
        `--node-ip=${nodeIp}`,
        "--cidr=10.244.0.1/16",
        "--node-lease-duration-seconds=40",
        // kwok's kubelet API (exec, logs, port-forward) on the node's own loopback address, named in the
        // Node's status.
        `--server-address=${nodeIp}:${kwokPort}`,
        `--node-port=${kwokPort}`,
        ...(opts.kubelet ? ["--enable-crds=Exec,Logs,PortForward"] : []),
      ]);
      if (opts.kubelet) await applyKwokCrds(probe);
      await Promise.all(
        ["kube-controller-manager", "kube-scheduler", "kwok"].map((n) => processes.get(n)!.start()),
      );

      const cp = new ControlPlane(
        dir,
        kubeconfigPath,
        apiServerUrl,
        nodeIp,
        bin,
        processes,
        connection,
        verbose,
      );
      probe.close();
      await cp.#registerNodes(opts.nodes ?? 2);
      await cp.#waitUntilUsable();
      if (opts.kubelet) {
        cp.#kubelet = await KubeletStandIn.start({
          client: cp.#client,
          apiPort,
          nodeIp,
          ttydDir: await ttydBinaries(),
          kubectlDir: bin,
          stateDir: `${dir}/kubelet`,
          log: verbose || Deno.env.get("CLOUDSHELL_TEST_KUBELET_LOGS")
            ? (msg) => console.error(`[kubelet] ${msg}`)
            : undefined,
        });
        say(`kubelet stand-in running pods; node ports on ${nodeIp}`);
      }
      const total = (performance.now() - t0) / 1000;
      const startOnly = (performance.now() - tBuilt) / 1000;
      console.error(
        `[control-plane] ready in ${startOnly.toFixed(1)}s (${
          total.toFixed(1)
        }s with build check) at ${apiServerUrl}; kubeconfig ${kubeconfigPath}`,
      );
      return cp;
    } catch (err) {
      return await cleanupOnFailure(err);
    }
  }

  /** Connection details for building clients. */
  connection(): ClusterConnection {
    return this.#connection;
  }

  /** The admin client of the harness (system:masters). */
  get client(): KubeClient {
    return this.#client;
  }

  /** The pid of each running control-plane program, by name (for the benchmark's CPU accounting). */
  async processIds(): Promise<Map<string, number>> {
    const pids = new Map<string, number>();
    for (const [name, p] of this.#processes) {
      const pid = await p.programPid();
      if (pid !== undefined) pids.set(name, pid);
    }
    return pids;
  }

  /** Stops kube-apiserver (for fault tests); the rest keeps running. */
  async stopApiServer(): Promise<void> {
    await this.#processes.get("kube-apiserver")!.stop();
  }

  /**
   * Starts kube-apiserver again on the same port and waits until it serves: up to 2 minutes, since a restart
   * rebuilds every watch cache from etcd, on a machine other tests keep busy meanwhile (in a full test run it
   * once took more than 1 minute).
   */
  async startApiServer(): Promise<void> {
    const p = this.#processes.get("kube-apiserver")!;
    await p.start();
    await waitForApi(p, this.#client, 120_000);
  }

  /** Stops and starts kube-apiserver. */
  async restartApiServer(): Promise<void> {
    await this.stopApiServer();
    await this.startApiServer();
  }

  /**
   * Stops every process (in reverse start order) and removes the state directory. Once: a second call (a
   * Ctrl-C that reaches a process both from the terminal and from `deno task`) waits for the first.
   */
  stop(): Promise<void> {
    this.#stopping ??= this.#stop();
    return this.#stopping;
  }

  async #stop(): Promise<void> {
    await this.#kubelet?.[Symbol.asyncDispose]();
    this.#kubelet = undefined;
    this.#client.close();
    const order = ["kwok", "kube-scheduler", "kube-controller-manager", "kube-apiserver", "etcd"];
    for (const name of order) await this.#processes.get(name)?.stop();
    if (!Deno.env.get("CLOUDSHELL_KEEP_CLUSTER_DIR")) {
      await Deno.remove(this.dir, { recursive: true }).catch(() => {});
    }
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }

  async #registerNodes(count: number): Promise<void> {
    const [key, value] = KWOK_NODE_LABEL.split("=");
    await Promise.all(Array.from({ length: count }, (_, i) =>
      this.#client.create(Resources.nodes, {
        apiVersion: "v1",
        kind: "Node",
        metadata: {
          name: `kwok-node-${i}`,
          labels: { [key]: value, "kubernetes.io/hostname": `kwok-node-${i}`, "kubernetes.io/os": "linux" },
          annotations: { "node.alpha.kubernetes.io/ttl": "0", "kwok.x-k8s.io/node": "fake" },
        },
        spec: {},
      })));
  }

  async #waitUntilUsable(): Promise<void> {
    const deadline = Date.now() + 90_000;
    const say = (msg: string) => this.#verbose && console.error(`[control-plane] ${msg}`);
    while (Date.now() < deadline) {
      for (const [name, p] of this.#processes) {
        if (!p.running) throw new Error(`${name} is not running`);
      }
      const nodes = await this.#client.list<NodeLike>(Resources.nodes).catch(() => undefined);
      const ready = nodes?.items.filter((n) =>
        n.status?.conditions?.some((c) =>
          c.type === "Ready" && c.status === "True"
        )
      ).length ?? 0;
      const sa = await this.#client.get(Resources.serviceAccounts, "default", "default").then(
        () => true,
        () => false,
      );
      if (nodes && ready === nodes.items.length && ready > 0 && sa) {
        say(`${ready} nodes Ready`);
        return;
      }
      await new Promise((r) => setTimeout(r, 200));
    }
    throw new Error("Nodes did not become Ready, or the default ServiceAccount did not appear, within 90s");
  }
}

interface NodeLike {
  metadata: { name?: string };
  status?: { conditions?: { type: string; status: string }[] };
}

async function waitFor(
  name: string,
  proc: ManagedProcess,
  check: () => Promise<boolean>,
  timeoutMs: number,
): Promise<void> {
  let exited = false;
  proc.exited().then(() => exited = true);
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (exited) throw new Error(`${name} exited during start-up`);
    if (await check().catch(() => false)) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${name} did not become ready within ${timeoutMs / 1000}s`);
}

/** Waits until kube-apiserver's /readyz passes; a timeout says what its last answer was (which checks failed). */
async function waitForApi(proc: ManagedProcess, client: KubeClient, timeoutMs: number): Promise<void> {
  let last = "no answer";
  try {
    await waitFor("kube-apiserver", proc, async () => {
      try {
        const res = await client.request({
          method: "GET",
          path: "/readyz?verbose",
          signal: AbortSignal.timeout(2_000),
        });
        const body = await res.text();
        if (!res.ok) last = `HTTP ${res.status}: ${failedChecks(body)}`;
        return res.ok;
      } catch (err) {
        last = err instanceof Error ? err.message : String(err);
        throw err;
      }
    }, timeoutMs);
  } catch (err) {
    throw new Error(`${err instanceof Error ? err.message : err}; its last /readyz answer: ${last}`);
  }
}

/** The failed checks of a verbose /readyz body ("[-]etcd failed: ..." lines), or the body's start. */
function failedChecks(body: string): string {
  const failed = body.split("\n").filter((l) => l.startsWith("[-]"));
  return failed.length > 0 ? failed.join("; ") : body.slice(0, 200);
}

function kubeconfigYaml(server: string, caFile: string, certFile: string, keyFile: string): string {
  return toYaml({
    apiVersion: "v1",
    kind: "Config",
    clusters: [{ name: "cloudshell-test", cluster: { server, "certificate-authority": caFile } }],
    users: [{ name: "admin", user: { "client-certificate": certFile, "client-key": keyFile } }],
    contexts: [{ name: "cloudshell-test", context: { cluster: "cloudshell-test", user: "admin" } }],
    "current-context": "cloudshell-test",
  });
}

/**
 * kwok's Stage set: all of kwok_stages.yaml, or with the kubelet stand-in only the node stages (the
 * stand-in moves pods itself, so no Stage may fight it).
 */
async function kwokStages(kubelet: boolean): Promise<string> {
  const text = await Deno.readTextFile(new URL("./kwok_stages.yaml", import.meta.url));
  if (!kubelet) return text;
  return parseAllDocuments(text)
    .map((d) => d.toJS() as { spec?: { resourceRef?: { kind?: string } } })
    .filter((stage) => stage.spec?.resourceRef?.kind === "Node")
    .map((stage) => toYaml(stage))
    .join("---\n");
}

/**
 * Installs kwok's Exec, Logs and PortForward CRDs (before kwok starts, which watches them) and waits until
 * they serve.
 */
async function applyKwokCrds(client: KubeClient): Promise<void> {
  const text = await Deno.readTextFile(new URL("./kubelet/kwok_crds.yaml", import.meta.url));
  const crds = parseAllDocuments(text).map((d) => d.toJS() as KubeObject).filter(Boolean);
  for (const crd of crds) {
    await client.patch(Resources.customResourceDefinitions, undefined, crd.metadata.name!, crd, "apply", {
      force: true,
    });
  }
  const deadline = Date.now() + 30_000;
  for (const crd of crds) {
    while (true) {
      const got = await client.get<
        KubeObject & { status?: { conditions?: { type: string; status: string }[] } }
      >(
        Resources.customResourceDefinitions,
        undefined,
        crd.metadata.name!,
      );
      if (got.status?.conditions?.some((c) => c.type === "Established" && c.status === "True")) break;
      if (Date.now() > deadline) throw new Error(`CRD ${crd.metadata.name} was not Established within 30s`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

/** Starts a private control plane (fault tests, or tests run on their own). */
export function startControlPlane(opts: ControlPlaneOptions = {}): Promise<ControlPlane> {
  return ControlPlane.start(opts);
}
