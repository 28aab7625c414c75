/**
 * The kubelet's port-forward, through kwok: `pods/portforward` requests reach kwok's kubelet endpoint,
 * which forwards each stream to the target a kwok `PortForward` object names for that pod and port. The
 * pod's ports are inside its own network namespace, so for each port its container declares the stand-in
 * opens a listener on the node's loopback address that dials that port in the pod (through its bridge),
 * and the pod's PortForward object points kwok there. Nothing listens beyond loopback.
 */
import { serve, splice } from "./tunnel.ts";

/** One entry of a kwok PortForward's `spec.forwards`. */
export interface KwokForward {
  ports: number[];
  target: { address: string; port: number };
}

/** The listeners of one pod's ports; close them with the pod. */
export class PodPortForwards {
  readonly #listeners: Deno.Listener[] = [];
  readonly forwards: KwokForward[] = [];

  /** Listens on `address` (a free port each) for every port in `ports`, dialling it in the pod. */
  constructor(address: string, ports: number[], dial: (port: number) => Promise<Deno.Conn>) {
    for (const port of new Set(ports)) {
      const listener = Deno.listen({ hostname: address, port: 0 });
      this.#listeners.push(listener);
      this.forwards.push({ ports: [port], target: { address, port: (listener.addr as Deno.NetAddr).port } });
      // Nothing listening in the pod yet (or any more): the stream is closed, as a kubelet closes it.
      serve(listener, async (conn) => void splice(conn, await dial(port)));
    }
  }

  close(): void {
    for (const listener of this.#listeners) {
      try {
        listener.close();
      } catch {
        // Already closed.
      }
    }
  }
}
