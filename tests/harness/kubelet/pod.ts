/**
 * One pod of the kubelet stand-in: its container run as a local process in
 * private namespaces (sandbox.sh), with the pod's environment and volumes,
 * its status written back as a kubelet writes it, its readiness probed
 * through the pod's own loopback, and its output kept as a CRI log file that
 * kwok serves to `kubectl logs`.
 */
import { isNotFound, type KubeClient, Resources } from "../../../controller/kube/mod.ts";
import { spawnGuarded } from "../process.ts";
import { ContainerConfigError, containerEnv, expand } from "./env.ts";
import { MissingObject, type PodObjects } from "./objects.ts";
import { PodPortForwards } from "./port_forwards.ts";
import { dialPod, serve, splice } from "./tunnel.ts";
import type { Container, Pod, Probe } from "./types.ts";
import { PodVolumes } from "./volumes.ts";

const SANDBOX = new URL("./sandbox.sh", import.meta.url).pathname;
const BRIDGE = new URL("./netns_bridge.ts", import.meta.url).pathname;

/** kwok's per-pod logs, exec and port-forward objects (enabled with --enable-crds=Logs,Exec,PortForward). */
export const KwokLogs = {
  group: "kwok.x-k8s.io",
  version: "v1alpha1",
  plural: "logs",
  kind: "Logs",
  namespaced: true,
} as const;
export const KwokExec = { ...KwokLogs, plural: "execs", kind: "Exec" } as const;
export const KwokPortForward = { ...KwokLogs, plural: "portforwards", kind: "PortForward" } as const;

/** What every pod shares: the API server, the node, the programs. */
export interface PodHost {
  client: KubeClient;
  objects: PodObjects;
  /** The API server's port on 127.0.0.1 (the same number inside each pod). */
  apiPort: number;
  /** The node's address: the pod's hostIP and podIP. */
  nodeIp: string;
  /** Put first on the container's PATH: ttyd and kubectl. */
  binDir: string;
  /** Where pod directories go. */
  stateDir: string;
  log(msg: string): void;
}

/** A running (or finished) pod. */
export class PodSandbox {
  readonly uid: string;
  readonly #host: PodHost;
  readonly #pod: Pod;
  readonly #dir: string;
  readonly #stopped = new AbortController();
  #volumes: PodVolumes | undefined;
  #apiListener: Deno.Listener | undefined;
  #portForwards: PodPortForwards | undefined;
  #unsharePid: number | undefined;
  #exit: Promise<number> | undefined;
  #ready = false;

  private constructor(host: PodHost, pod: Pod, dir: string) {
    this.#host = host;
    this.#pod = pod;
    this.uid = pod.metadata.uid!;
    this.#dir = dir;
  }

  /** Starts running `pod` in the background; status changes go to the API server. */
  static launch(host: PodHost, pod: Pod, index: number): PodSandbox {
    const sandbox = new PodSandbox(host, pod, `${host.stateDir}/pods/${index}`);
    sandbox.#run().catch((err) => host.log(`pod ${sandbox.#name}: ${(err as Error).stack ?? err}`));
    return sandbox;
  }

  get #name(): string {
    return `${this.#pod.metadata.namespace}/${this.#pod.metadata.name}`;
  }

  /** Whether the container runs and its readiness probe passed. */
  get ready(): boolean {
    return this.#ready;
  }

  /** The pod's labels and namespace, for Service selection. */
  get pod(): Pod {
    return this.#pod;
  }

  /** The container port a Service's targetPort or a probe names (a number, or a port name). */
  containerPort(target: number | string | undefined, fallback: number): number | undefined {
    if (target === undefined) return fallback;
    if (typeof target === "number") return target;
    if (/^\d+$/.test(target)) return Number(target);
    for (const c of this.#pod.spec.containers) {
      const port = c.ports?.find((p) => p.name === target);
      if (port) return port.containerPort;
    }
    return undefined;
  }

  /** A connection to `port` on the pod's loopback. */
  dial(port: number): Promise<Deno.Conn> {
    return dialPod(`${this.#dir}/sockets/ports.sock`, port);
  }

  /**
   * Stops the container as a kubelet does: SIGTERM, then SIGKILL after `graceSeconds`, and waits until
   * every process of the pod is gone.
   */
  async stop(graceSeconds: number): Promise<void> {
    this.#stopped.abort();
    const exit = this.#exit;
    if (exit) {
      const init = await this.#initPid();
      if (init !== undefined) signal(init, "SIGTERM");
      const timer = setTimeout(() => {
        // Killing PID 1 of the pod's PID namespace kills every process in it.
        this.#initPid().then((pid) => pid !== undefined && signal(pid, "SIGKILL"));
      }, graceSeconds * 1000);
      await exit;
      clearTimeout(timer);
    }
    this.#cleanup();
  }

  /** Takes a newer copy of the pod: its downward API files follow changed labels and annotations. */
  async refresh(pod: Pod): Promise<void> {
    if (!this.#volumes) return;
    await PodVolumes.refreshDownward(
      { ...this.#pod, metadata: pod.metadata },
      `${this.#dir}/volumes`,
      this.#host.nodeIp,
    );
  }

  /** Removes the pod's files (after stop). */
  async remove(): Promise<void> {
    await Deno.remove(this.#dir, { recursive: true }).catch(() => {});
  }

  async #run(): Promise<void> {
    const pod = this.#pod;
    const [container, ...others] = pod.spec.containers;
    if (others.length > 0 || (pod.spec.initContainers?.length ?? 0) > 0) {
      return await this.#fail("Unsupported", "the kubelet stand-in runs pods of exactly one container");
    }
    await Deno.mkdir(`${this.#dir}/sockets`, { recursive: true });
    await Deno.mkdir(`${this.#dir}/home`, { recursive: true });
    const nodeIp = this.#host.nodeIp;

    // Like a kubelet, wait for missing Secrets and ConfigMaps instead of failing the pod.
    let paths: Map<string, string> | undefined;
    while (!paths) {
      if (this.#stopped.signal.aborted) return;
      try {
        const made = await PodVolumes.materialise(
          pod,
          `${this.#dir}/volumes`,
          this.#host.objects,
          nodeIp,
          (err) => this.#host.log(`pod ${this.#name}: token renewal failed: ${err}`),
        );
        this.#volumes = made.volumes;
        paths = made.paths;
      } catch (err) {
        if (!(err instanceof MissingObject)) {
          return await this.#fail("CreateContainerConfigError", String(err));
        }
        await sleep(1_000);
      }
    }

    let env: Record<string, string>;
    try {
      env = await containerEnv(
        pod,
        container,
        { apiHost: "127.0.0.1", apiPort: this.#host.apiPort },
        nodeIp,
        this.#host.objects,
      );
    } catch (err) {
      if (err instanceof ContainerConfigError || err instanceof MissingObject) {
        return await this.#fail("CreateContainerConfigError", err.message);
      }
      throw err;
    }
    const home = `${this.#dir}/home`;
    const hostname = (pod.spec.hostname ?? pod.metadata.name!).slice(0, 63);
    // The pod's /tmp is the host's (the pod directory may be under it, so no tmpfs can go over it):
    // TMPDIR points programs at a temporary directory of the pod's own instead, removed with the pod.
    await Deno.mkdir(`${this.#dir}/tmp`, { mode: 0o1777 });
    await Deno.chmod(`${this.#dir}/tmp`, 0o1777);
    const runtime = {
      // What the image and the container runtime would give: a PATH with the image's programs (here
      // the host's, with ttyd and kubectl first), a home, the hostname.
      PATH: `${this.#host.binDir}:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin`,
      HOME: home,
      HOSTNAME: hostname,
      TMPDIR: `${this.#dir}/tmp`,
    };
    const fullEnv = { ...runtime, ...env };
    const argv = [...(container.command ?? []), ...(container.args ?? [])].map((a) => expand(a, fullEnv));
    if (argv.length === 0) {
      return await this.#fail("Unsupported", "no command: the stand-in has no image entrypoint");
    }

    await this.#writePlan(container, paths, hostname, home);
    this.#apiListener = Deno.listen({ transport: "unix", path: `${this.#dir}/sockets/api.sock` });
    const apiPort = this.#host.apiPort;
    serve(this.#apiListener, async (conn) => {
      splice(conn, await Deno.connect({ hostname: "127.0.0.1", port: apiPort }));
    });

    this.#portForwards = new PodPortForwards(
      nodeIp,
      (container.ports ?? []).map((p) => p.containerPort),
      (port) => this.dial(port),
    );

    if (this.#stopped.signal.aborted) return this.#cleanup();
    const { child, pid } = await spawnGuarded("unshare", [
      "--mount",
      "--net",
      "--uts",
      "--pid",
      "--fork",
      "--kill-child",
      "--mount-proc",
      "--propagation=private",
      "sh",
      SANDBOX,
      this.#dir,
      "--",
      ...argv,
    ], { clearEnv: true, env: fullEnv, stdin: "null", stdout: "piped", stderr: "piped" });
    this.#unsharePid = pid;
    const startedAt = new Date().toISOString();
    const logFile = `${this.#dir}/${container.name}.log`;
    const pumps = Promise.all([
      criLog(child.stdout, "stdout", logFile),
      criLog(child.stderr, "stderr", logFile),
    ]);
    this.#exit = child.status.then(async (s) => {
      await pumps.catch(() => {});
      return s.code;
    });

    await this.#patchStatus(runningStatus(pod, container, nodeIp, startedAt, false));
    await this.#registerWithKwok(container, logFile, home, hostname);
    this.#probe(container, startedAt);

    const code = await this.#exit;
    this.#ready = false;
    this.#host.log(`pod ${this.#name}: container ${container.name} exited with ${code}`);
    // Also after a deletion, as a kubelet does: the Job controller counts the pod by its final state.
    const message = await this.#terminationMessage();
    await this.#patchStatus(terminatedStatus(pod, container, nodeIp, startedAt, code, message));
  }

  async #probe(container: Container, startedAt: string): Promise<void> {
    const probe = container.readinessProbe;
    const period = (probe?.periodSeconds ?? 10) * 1000;
    await sleep((probe?.initialDelaySeconds ?? 0) * 1000);
    // Probe faster than the period until the first success, so tests do not wait for a whole period.
    const interval = Math.min(period, 200);
    while (!this.#stopped.signal.aborted) {
      if (await this.#probeOnce(probe)) {
        this.#ready = true;
        await this.#patchStatus(runningStatus(this.#pod, container, this.#host.nodeIp, startedAt, true));
        return;
      }
      await sleep(interval);
    }
  }

  async #probeOnce(probe: Probe | undefined): Promise<boolean> {
    if (!probe || probe.exec) return true; // No probe (or an exec probe, not implemented): ready once started.
    const target = probe.tcpSocket?.port ?? probe.httpGet?.port;
    const port = target === undefined ? undefined : this.containerPort(target, 0);
    if (port === undefined) return false;
    let conn: Deno.Conn | undefined;
    try {
      conn = await this.dial(port);
      if (probe.httpGet) {
        const path = probe.httpGet.path ?? "/";
        await conn.write(new TextEncoder().encode(`GET ${path} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n`));
        const buf = new Uint8Array(64);
        const n = await conn.read(buf);
        const status = Number(new TextDecoder().decode(buf.subarray(0, n ?? 0)).split(" ")[1]);
        return status >= 200 && status < 400;
      }
      return true;
    } catch {
      return false;
    } finally {
      try {
        conn?.close();
      } catch {
        // Closed by the peer.
      }
    }
  }

  async #writePlan(
    container: Container,
    paths: Map<string, string>,
    hostname: string,
    home: string,
  ): Promise<void> {
    const mounts = (container.volumeMounts ?? [])
      .map((m) => {
        const source = paths.get(m.name);
        if (!source) throw new Error(`volumeMount ${m.name} names no volume`);
        return [
          m.subPath ? `${source}/${m.subPath}` : source,
          m.mountPath.replace(/\/+$/, "") || "/",
          m.readOnly ? "ro" : "rw",
        ];
      })
      // Parents before children, so a mount inside another one lands on top of it.
      .sort((a, b) => a[1].split("/").length - b[1].split("/").length);
    const sc = { ...this.#pod.spec.securityContext, ...container.securityContext };
    // The termination message file, bind-mounted at the container's path as a kubelet does (world-writable:
    // the container may run as any user).
    await Deno.writeFile(`${this.#dir}/termination-log`, new Uint8Array(), { mode: 0o666 });
    await Deno.chmod(`${this.#dir}/termination-log`, 0o666);
    const files: Record<string, string> = {
      termination: `${container.terminationMessagePath ?? "/dev/termination-log"}\n`,
      hostname,
      mounts: mounts.map((m) => m.join("\t")).join("\n") + "\n",
      workdir: container.workingDir ?? home,
      user: sc.runAsUser !== undefined ? `${sc.runAsUser}:${sc.runAsGroup ?? sc.runAsUser}` : "",
      bridge: [
        Deno.execPath(),
        "run",
        "--no-config",
        "--no-lock",
        "--quiet",
        "--allow-net",
        "--allow-read",
        "--allow-write",
        BRIDGE,
        `${this.#dir}/sockets`,
        String(this.#host.apiPort),
      ].join("\n") + "\n",
    };
    for (const [name, text] of Object.entries(files)) await Deno.writeTextFile(`${this.#dir}/${name}`, text);
  }

  /**
   * Tells kwok where this pod's log is, where `kubectl exec` commands run (on the host, in the pod's home)
   * and where `kubectl port-forward` streams go (the pod's port listeners).
   */
  async #registerWithKwok(
    container: Container,
    logFile: string,
    home: string,
    hostname: string,
  ): Promise<void> {
    const pod = this.#pod;
    const metadata = {
      name: pod.metadata.name,
      namespace: pod.metadata.namespace,
      ownerReferences: [{ apiVersion: "v1", kind: "Pod", name: pod.metadata.name!, uid: pod.metadata.uid! }],
    };
    // Only literal values: a CR must not carry what the pod got from Secrets.
    const envs = [
      { name: "HOSTNAME", value: hostname },
      { name: "HOME", value: home },
      ...(container.env ?? []).filter((e) => e.value !== undefined && !e.valueFrom).map((e) => ({
        name: e.name,
        value: e.value!,
      })),
    ];
    const objects = [
      [KwokLogs, { spec: { logs: [{ containers: [container.name], logsFile: logFile, follow: true }] } }],
      [KwokExec, { spec: { execs: [{ containers: [container.name], local: { workDir: home, envs } }] } }],
      [KwokPortForward, { spec: { forwards: this.#portForwards?.forwards ?? [] } }],
    ] as const;
    for (const [type, body] of objects) {
      await this.#host.client.create(type, {
        apiVersion: "kwok.x-k8s.io/v1alpha1",
        kind: type.kind,
        metadata,
        ...body,
      }).catch((err) => this.#host.log(`pod ${this.#name}: creating kwok ${type.kind} failed: ${err}`));
    }
  }

  /** What the container wrote to its termination message file, at most 4096 bytes (the kubelet's limit). */
  async #terminationMessage(): Promise<string | undefined> {
    try {
      const bytes = await Deno.readFile(`${this.#dir}/termination-log`);
      return bytes.length ? new TextDecoder().decode(bytes.subarray(0, 4096)) : undefined;
    } catch {
      return undefined;
    }
  }

  async #fail(reason: string, message: string): Promise<void> {
    this.#host.log(`pod ${this.#name}: ${reason}: ${message}`);
    const container = this.#pod.spec.containers[0];
    const now = new Date().toISOString();
    await this.#patchStatus({
      phase: "Failed",
      reason,
      message,
      conditions: conditions(false, "PodFailed"),
      containerStatuses: [{
        name: container.name,
        image: container.image ?? "",
        imageID: "",
        ready: false,
        started: false,
        restartCount: 0,
        state: { terminated: { exitCode: 128, reason, message, startedAt: now, finishedAt: now } },
      }],
    });
  }

  async #patchStatus(status: Record<string, unknown>): Promise<void> {
    const { namespace, name } = this.#pod.metadata;
    try {
      await this.#host.client.patch(Resources.pods, namespace, name!, { status }, "merge", {
        subresource: "status",
      });
    } catch (err) {
      if (!isNotFound(err)) this.#host.log(`pod ${this.#name}: status update failed: ${err}`);
    }
  }

  async #initPid(): Promise<number | undefined> {
    if (this.#unsharePid === undefined) return undefined;
    const out = await new Deno.Command("pgrep", { args: ["-P", String(this.#unsharePid)], stdout: "piped" })
      .output();
    const pid = Number(new TextDecoder().decode(out.stdout).trim().split("\n")[0]);
    return pid > 0 ? pid : undefined;
  }

  #cleanup(): void {
    this.#volumes?.[Symbol.dispose]();
    this.#portForwards?.close();
    try {
      this.#apiListener?.close();
    } catch {
      // Already closed.
    }
  }
}

function conditions(ready: boolean, reason?: string): Record<string, unknown>[] {
  const now = new Date().toISOString();
  const c = (type: string, status: boolean, why?: string) => ({
    type,
    status: status ? "True" : "False",
    lastTransitionTime: now,
    ...(why && !status ? { reason: why } : {}),
  });
  return [
    c("PodReadyToStartContainers", true),
    c("PodScheduled", true),
    c("Initialized", true),
    c("ContainersReady", ready, reason ?? "ContainersNotReady"),
    c("Ready", ready, reason ?? "ContainersNotReady"),
  ];
}

function runningStatus(pod: Pod, container: Container, nodeIp: string, startedAt: string, ready: boolean) {
  return {
    phase: "Running",
    hostIP: nodeIp,
    hostIPs: [{ ip: nodeIp }],
    podIP: nodeIp,
    podIPs: [{ ip: nodeIp }],
    startTime: startedAt,
    conditions: conditions(ready),
    containerStatuses: [{
      name: container.name,
      image: container.image ?? "",
      imageID: "",
      containerID: `standin://${pod.metadata.uid}`,
      ready,
      started: true,
      restartCount: 0,
      state: { running: { startedAt } },
    }],
  };
}

function terminatedStatus(
  pod: Pod,
  container: Container,
  nodeIp: string,
  startedAt: string,
  code: number,
  message: string | undefined,
) {
  const reason = code === 0 ? "Completed" : "Error";
  return {
    phase: code === 0 ? "Succeeded" : "Failed",
    hostIP: nodeIp,
    podIP: nodeIp,
    conditions: conditions(false, code === 0 ? "PodCompleted" : "PodFailed"),
    containerStatuses: [{
      name: container.name,
      image: container.image ?? "",
      imageID: "",
      containerID: `standin://${pod.metadata.uid}`,
      ready: false,
      started: false,
      restartCount: 0,
      state: {
        terminated: {
          exitCode: code,
          reason,
          ...(message !== undefined && { message }),
          startedAt,
          finishedAt: new Date().toISOString(),
        },
      },
    }],
  };
}

/** Appends a stream to a log file in the CRI format kwok (and the kubelet) read: `<time> <stream> F <line>`. */
async function criLog(
  stream: ReadableStream<Uint8Array>,
  name: "stdout" | "stderr",
  path: string,
): Promise<void> {
  const file = await Deno.open(path, { append: true, create: true, write: true });
  const encoder = new TextEncoder();
  let partial = "";
  const write = (line: string) =>
    file.write(encoder.encode(`${new Date().toISOString()} ${name} F ${line}\n`));
  try {
    for await (const text of stream.pipeThrough(new TextDecoderStream())) {
      const lines = (partial + text).split("\n");
      partial = lines.pop()!;
      for (const line of lines) await write(line);
    }
    if (partial) await write(partial);
  } finally {
    file.close();
  }
}

function signal(pid: number, sig: Deno.Signal): void {
  try {
    Deno.kill(pid, sig);
  } catch {
    // Already gone.
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
