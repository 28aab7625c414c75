/**
 * End-to-end tests through the real terminal: a private control plane whose
 * pods really run (the kubelet stand-in, tests/harness/kubelet), an operator
 * whose NodePort URLs name the node's loopback address, and ttyd sessions
 * opened on the URL a CloudShell's status gives.
 */
import type { CloudShell } from "../../controller/cloudshell/api.ts";
import type { KubeClient } from "../../controller/kube/mod.ts";
import { type TestCluster, testCluster } from "../harness/cluster.ts";
import { type TtydConnectOptions, TtydSession } from "../harness/ttyd_client.ts";
import { createCloudShell, installCrd, OperatorProcess, waitForCloudShell } from "./_operator.ts";

/** A private control plane that runs pods, with the CloudShell CRD installed. */
export async function terminalCluster(): Promise<TestCluster & { nodeIp: string }> {
  const cluster = await testCluster({ kubelet: true });
  await installCrd(cluster.client);
  return cluster as TestCluster & { nodeIp: string };
}

/** The operator, with NodePort URLs on the node's loopback address, where the stand-in serves node ports. */
export function terminalOperator(
  cluster: TestCluster & { nodeIp: string },
  namespace: string,
  args: string[] = [],
): Promise<OperatorProcess> {
  return OperatorProcess.start(cluster.kubeconfigPath, namespace, [
    `--node-port-host=${cluster.nodeIp}`,
    ...args,
  ]);
}

/** Creates a CloudShell and waits until it is Ready; returns its status URL. */
export async function readyShell(
  client: KubeClient,
  namespace: string,
  name: string,
  spec: Record<string, unknown>,
  timeoutMs = 60_000,
): Promise<string> {
  await createCloudShell(client, namespace, name, spec);
  const cs = await waitForCloudShell(
    client,
    namespace,
    name,
    "Ready with a URL",
    (c: CloudShell) => c.status?.phase === "Ready" && !!c.status.accessUrl,
    timeoutMs,
  );
  return cs.status!.accessUrl!;
}

/** Opens a ttyd session on a CloudShell's status URL. */
export function openTerminal(url: string, opts: TtydConnectOptions = {}): Promise<TtydSession> {
  return TtydSession.connect(url, opts);
}

/** Where a test keeps what it produced (screenshots): CLOUDSHELL_TEST_OUTPUT_DIR, else test-output/ in the repo. */
export async function testOutputDir(test: string): Promise<string> {
  const root = Deno.env.get("CLOUDSHELL_TEST_OUTPUT_DIR") ??
    new URL("../../test-output", import.meta.url).pathname;
  const dir = `${root}/${test}`;
  await Deno.mkdir(dir, { recursive: true });
  return dir;
}
