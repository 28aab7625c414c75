/**
 * kube-proxy's part, for NodePort Services only: each node port is a
 * listener on the node's loopback address, and each connection goes to a
 * Ready pod the stand-in runs that the Service selects, through that pod's
 * bridge. ClusterIPs are not served (nothing could route them here).
 */
import type { PodSandbox } from "./pod.ts";
import { serve, splice } from "./tunnel.ts";
import type { Service } from "./types.ts";

interface Listening {
  listener: Deno.Listener;
  /** namespace/name/port of the Service port it serves. */
  key: string;
}

/** The node ports of every NodePort Service, kept in step with `sync`. */
export class NodePorts {
  readonly #nodeIp: string;
  readonly #pods: () => Iterable<PodSandbox>;
  readonly #log: (msg: string) => void;
  readonly #open = new Map<number, Listening>();
  readonly #targets = new Map<number, { service: Service; port: number; targetPort?: number | string }>();

  constructor(nodeIp: string, pods: () => Iterable<PodSandbox>, log: (msg: string) => void) {
    this.#nodeIp = nodeIp;
    this.#pods = pods;
    this.#log = log;
  }

  /** Opens the ports of `services` that are not open yet and closes the ports no Service has any more. */
  sync(services: Service[]): void {
    const wanted = new Map<
      number,
      { service: Service; port: number; targetPort?: number | string; key: string }
    >();
    for (const s of services) {
      if (s.spec.type !== "NodePort" && s.spec.type !== "LoadBalancer") continue;
      for (const p of s.spec.ports ?? []) {
        if (!p.nodePort || (p.protocol ?? "TCP") !== "TCP") continue;
        const key = `${s.metadata.namespace}/${s.metadata.name}/${p.port}`;
        wanted.set(p.nodePort, { service: s, port: p.port, targetPort: p.targetPort, key });
      }
    }
    for (const [nodePort, open] of this.#open) {
      if (wanted.get(nodePort)?.key === open.key) continue;
      open.listener.close();
      this.#open.delete(nodePort);
      this.#targets.delete(nodePort);
    }
    for (const [nodePort, target] of wanted) {
      this.#targets.set(nodePort, target);
      if (this.#open.has(nodePort)) continue;
      let listener: Deno.Listener;
      try {
        listener = Deno.listen({ hostname: this.#nodeIp, port: nodePort });
      } catch (err) {
        this.#log(`node port ${this.#nodeIp}:${nodePort} of ${target.key}: ${err}`);
        continue;
      }
      this.#open.set(nodePort, { listener, key: target.key });
      serve(listener, (conn) => this.#forward(nodePort, conn));
    }
  }

  async #forward(nodePort: number, conn: Deno.Conn): Promise<void> {
    const target = this.#targets.get(nodePort);
    const selector = target?.service.spec.selector;
    if (!target || !selector) return conn.close();
    const ns = target.service.metadata.namespace;
    const backend = [...this.#pods()].find((p) =>
      p.ready && p.pod.metadata.namespace === ns &&
      Object.entries(selector).every(([k, v]) => p.pod.metadata.labels?.[k] === v)
    );
    const port = backend?.containerPort(target.targetPort, target.port);
    // No Ready endpoint: refuse, as kube-proxy does.
    if (!backend || port === undefined) return conn.close();
    splice(conn, await backend.dial(port));
  }

  /** Closes every listener. */
  close(): void {
    for (const { listener } of this.#open.values()) listener.close();
    this.#open.clear();
    this.#targets.clear();
  }
}
