/**
 * What an end-to-end test asks for: a cluster to talk to. Inside `deno task
 * test` every test file shares the control plane the task started (its
 * kubeconfig is in CLOUDSHELL_TEST_KUBECONFIG); a test file run on its own
 * starts a private one. Tests isolate themselves with their own namespaces.
 * A test whose pods must really run (`{ kubelet: true }`) always gets a
 * private control plane with the kubelet stand-in.
 */
import {
  type ClusterConnection,
  isNotFound,
  KubeClient,
  loadClusterConnection,
  Resources,
} from "../../controller/kube/mod.ts";
import { startControlPlane } from "./control_plane.ts";

/** Environment variable naming the shared cluster's kubeconfig. */
export const SHARED_KUBECONFIG_ENV = "CLOUDSHELL_TEST_KUBECONFIG";

/** A cluster handle for one test file. */
export interface TestCluster extends AsyncDisposable {
  kubeconfigPath: string;
  connection: ClusterConnection;
  /** Admin client (system:masters). */
  client: KubeClient;
  /** The fake nodes' address; with the kubelet stand-in, node ports answer there. */
  nodeIp?: string;
  /** Creates a namespace with a unique name and returns the name. */
  namespace(prefix: string): Promise<string>;
}

let counter = 0;

/**
 * The shared cluster if there is one, else a private control plane stopped on dispose. With `kubelet`,
 * always a private control plane whose pods run for real (tests/harness/kubelet); with `private`, always a
 * private one (for a test that changes cluster-wide objects others rely on, such as the admission policy).
 */
export async function testCluster(opts: { kubelet?: boolean; private?: boolean } = {}): Promise<TestCluster> {
  const shared = Deno.env.get(SHARED_KUBECONFIG_ENV);
  if (shared && !opts.kubelet && !opts.private) {
    const connection = await loadClusterConnection({ kubeconfigPath: shared, env: {} });
    const client = new KubeClient(connection, { qps: 500, burst: 1000, userAgent: "cloudshell-e2e" });
    return handle(shared, connection, client, () => Promise.resolve(client.close()));
  }
  const cp = await startControlPlane({ kubelet: opts.kubelet });
  return { ...handle(cp.kubeconfigPath, cp.connection(), cp.client, () => cp.stop()), nodeIp: cp.nodeIp };
}

function handle(
  kubeconfigPath: string,
  connection: ClusterConnection,
  client: KubeClient,
  dispose: () => Promise<void>,
): TestCluster {
  return {
    kubeconfigPath,
    connection,
    client,
    async namespace(prefix: string): Promise<string> {
      const name = `${prefix}-${Date.now().toString(36)}-${(counter++).toString(36)}`.slice(0, 63);
      await client.create(Resources.namespaces, { apiVersion: "v1", kind: "Namespace", metadata: { name } });
      return name;
    },
    [Symbol.asyncDispose]: dispose,
  };
}

/** Polls `check` until it returns a value other than undefined/false, or fails after `timeoutMs`. */
export async function eventually<T>(
  what: string,
  check: () => Promise<T | undefined | false>,
  timeoutMs = 30_000,
  intervalMs = 100,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    try {
      const v = await check();
      if (v !== undefined && v !== false) return v;
    } catch (err) {
      lastError = err;
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
  const suffix = lastError ? `; last error: ${(lastError as Error).message}` : "";
  throw new Error(`Timed out after ${timeoutMs}ms waiting for ${what}${suffix}`);
}

/** Deletes a namespace and waits until the namespace controller has removed it with everything in it. */
export async function deleteNamespaceAndWait(
  client: KubeClient,
  ns: string,
  timeoutMs: number,
): Promise<void> {
  await client.delete(Resources.namespaces, undefined, ns);
  await eventually(
    `namespace ${ns} to be gone`,
    async () => {
      try {
        await client.get(Resources.namespaces, undefined, ns);
        return false;
      } catch (err) {
        if (isNotFound(err)) return true;
        throw err;
      }
    },
    timeoutMs,
    200,
  );
}

/**
 * Labels a namespace to enforce the `restricted` Pod Security level, and to warn about it, so workload
 * objects (Deployments, Jobs) whose pod templates would be refused get a warning at admission.
 */
export async function enforceRestrictedPodSecurity(client: KubeClient, ns: string): Promise<void> {
  const res = await client.request({
    method: "PATCH",
    path: `/api/v1/namespaces/${ns}`,
    contentType: "application/merge-patch+json",
    body: {
      metadata: {
        labels: {
          "pod-security.kubernetes.io/enforce": "restricted",
          "pod-security.kubernetes.io/warn": "restricted",
        },
      },
    },
  });
  await res.body?.cancel();
}
