/**
 * A kubelet stand-in for the test control plane: the pods kwok's fake nodes
 * are given really run, as local processes (see README.md in this folder).
 *
 * For each pod bound to a node it starts a PodSandbox (pod.ts); when the pod
 * is being deleted it stops the container within the grace period and then
 * removes the pod, as a kubelet does; NodePort Services are served on the
 * node's loopback address (node_ports.ts). kwok keeps the nodes alive and
 * serves `kubectl exec`, `kubectl logs` and `kubectl port-forward` from what the
 * stand-in registers with it; no kwok Stage touches pods on such a control plane.
 *
 * Opt-in per control plane: `ControlPlane.start({ kubelet: true })`.
 */
import { Informer } from "../../../controller/cache/mod.ts";
import { type KubeClient, objectPath, Resources } from "../../../controller/kube/mod.ts";
import { NodePorts } from "./node_ports.ts";
import { ObjectReader } from "./objects.ts";
import { type PodHost, PodSandbox } from "./pod.ts";
import type { Pod, Service } from "./types.ts";

export { KwokExec, KwokLogs } from "./pod.ts";

/** Where the stand-in runs pods. */
export interface KubeletOptions {
  /** An admin client of the cluster. */
  client: KubeClient;
  /** The API server's port on 127.0.0.1. */
  apiPort: number;
  /** The fake nodes' address (loopback), where node ports are served. */
  nodeIp: string;
  /** Directory holding ttyd (hack/ttyd.sh). */
  ttydDir: string;
  /** Directory holding kubectl (the control-plane build). */
  kubectlDir: string;
  /** A directory for pod files; removed on dispose. */
  stateDir: string;
  /** Where to report what happens (default: nowhere). */
  log?: (msg: string) => void;
}

/**
 * Why pods cannot get namespaces of their own here (not root, no unshare or ip), or undefined when they
 * can: the stand-in needs them.
 */
export async function whyPodsCannotRun(): Promise<string | undefined> {
  const out = await new Deno.Command("unshare", {
    args: ["--mount", "--net", "--uts", "--pid", "--fork", "--mount-proc", "ip", "link", "set", "lo", "up"],
    stdout: "null",
    stderr: "piped",
  }).output().catch((err) => ({ success: false, stderr: new TextEncoder().encode(String(err)) }));
  if (out.success) return undefined;
  return "the kubelet stand-in runs each pod in namespaces of its own and needs root (CAP_SYS_ADMIN), " +
    `util-linux's unshare and iproute2's ip: ${new TextDecoder().decode(out.stderr).trim()}`;
}

/** The running stand-in. Dispose of it to stop every pod and close every port. */
export class KubeletStandIn implements AsyncDisposable {
  readonly #host: PodHost;
  readonly #stop = new AbortController();
  readonly #sandboxes = new Map<string, PodSandbox>();
  readonly #finished = new Set<string>();
  readonly #queue = new Map<string, Promise<void>>();
  readonly #nodePorts: NodePorts;
  readonly #services: Informer<Service>;
  readonly #pods: Informer<Pod>;
  readonly #runs: Promise<void>[] = [];
  #next = 0;

  private constructor(host: PodHost, client: KubeClient) {
    this.#host = host;
    this.#nodePorts = new NodePorts(host.nodeIp, () => this.#sandboxes.values(), host.log);
    this.#pods = new Informer<Pod>(client, Resources.pods);
    this.#services = new Informer<Service>(client, Resources.services);
  }

  /** Starts watching pods and Services and returns once both caches have synced. */
  static async start(opts: KubeletOptions): Promise<KubeletStandIn> {
    const problem = await whyPodsCannotRun();
    if (problem) throw new Error(`Cannot run pods: ${problem}`);
    const binDir = `${opts.stateDir}/bin`;
    await Deno.mkdir(`${opts.stateDir}/pods`, { recursive: true });
    await Deno.mkdir(binDir, { recursive: true });
    // The "image": the host's programs, with these two first on PATH.
    await Deno.symlink(`${opts.ttydDir}/ttyd`, `${binDir}/ttyd`);
    await Deno.symlink(`${opts.kubectlDir}/kubectl`, `${binDir}/kubectl`);
    const log = opts.log ?? (() => {});
    const host: PodHost = {
      client: opts.client,
      objects: new ObjectReader(opts.client),
      apiPort: opts.apiPort,
      nodeIp: opts.nodeIp,
      binDir,
      stateDir: opts.stateDir,
      log,
    };
    const kubelet = new KubeletStandIn(host, opts.client);
    kubelet.#pods.addHandler({
      onAdd: (pod) => kubelet.#enqueue(pod),
      onUpdate: (_, pod) => kubelet.#enqueue(pod),
      onDelete: (pod) => kubelet.#enqueue(pod, true),
    });
    const syncServices = () => kubelet.#nodePorts.sync(kubelet.#services.lister.list());
    kubelet.#services.addHandler({ onAdd: syncServices, onUpdate: syncServices, onDelete: syncServices });
    const signal = kubelet.#stop.signal;
    kubelet.#runs.push(kubelet.#pods.run(signal), kubelet.#services.run(signal));
    await Promise.all([kubelet.#pods.waitForSync(signal), kubelet.#services.waitForSync(signal)]);
    return kubelet;
  }

  /** Handles one pod's events one at a time, in order. */
  #enqueue(pod: Pod, gone = false): void {
    const uid = pod.metadata.uid!;
    const previous = this.#queue.get(uid) ?? Promise.resolve();
    const next = previous.then(() => this.#sync(pod, gone)).catch((err) =>
      this.#host.log(`pod ${pod.metadata.namespace}/${pod.metadata.name}: ${err}`)
    );
    this.#queue.set(uid, next);
    next.then(() => {
      if (this.#queue.get(uid) === next) this.#queue.delete(uid);
    });
  }

  async #sync(pod: Pod, gone: boolean): Promise<void> {
    if (this.#stop.signal.aborted) return;
    const uid = pod.metadata.uid!;
    const sandbox = this.#sandboxes.get(uid);
    if (gone) {
      // Removed without us (a force delete): kill at once.
      if (sandbox) await this.#end(sandbox, 0);
      this.#finished.delete(uid);
      return;
    }
    if (pod.metadata.deletionTimestamp) {
      const grace = (pod.metadata as { deletionGracePeriodSeconds?: number }).deletionGracePeriodSeconds ??
        pod.spec.terminationGracePeriodSeconds ?? 30;
      if (sandbox) await this.#end(sandbox, grace);
      await this.#forceDelete(pod);
      return;
    }
    if (sandbox) return await sandbox.refresh(pod);
    const phase = pod.status?.phase;
    if (
      this.#finished.has(uid) || !pod.spec.nodeName || phase === "Succeeded" || phase === "Failed"
    ) {
      return;
    }
    this.#host.log(`pod ${pod.metadata.namespace}/${pod.metadata.name}: starting`);
    this.#sandboxes.set(uid, PodSandbox.launch(this.#host, pod, this.#next++));
  }

  async #end(sandbox: PodSandbox, graceSeconds: number): Promise<void> {
    await sandbox.stop(graceSeconds);
    await sandbox.remove();
    this.#sandboxes.delete(sandbox.uid);
    this.#finished.add(sandbox.uid);
  }

  /** What a kubelet does once a deleted pod's containers are gone: delete it for good. */
  async #forceDelete(pod: Pod): Promise<void> {
    const res = await this.#host.client.request({
      method: "DELETE",
      path: objectPath(Resources.pods, pod.metadata.namespace, pod.metadata.name!),
      body: {
        kind: "DeleteOptions",
        apiVersion: "v1",
        gracePeriodSeconds: 0,
        preconditions: { uid: pod.metadata.uid },
      },
      resource: "pods",
    });
    await res.body?.cancel();
    if (!res.ok && res.status !== 404 && res.status !== 409) {
      this.#host.log(
        `pod ${pod.metadata.namespace}/${pod.metadata.name}: delete failed with HTTP ${res.status}`,
      );
    }
  }

  /** Stops every pod (SIGKILL: the test is over), closes every port and removes the pods' files. */
  async [Symbol.asyncDispose](): Promise<void> {
    this.#stop.abort();
    this.#nodePorts.close();
    await Promise.all([...this.#sandboxes.values()].map((s) => s.stop(0).then(() => s.remove())));
    this.#sandboxes.clear();
    await Promise.all(this.#runs);
  }
}
