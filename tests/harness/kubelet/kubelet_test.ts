/**
 * The kubelet stand-in on its own, with plain pods: what a container sees
 * (environment, volumes, a bound token with the projection's audience and
 * expiry, its hostname, an empty network), its exit code in the pod status,
 * `kubectl logs` and `kubectl port-forward` through kwok, and deletion with
 * SIGKILL after the grace period.
 */
import assert from "node:assert/strict";
import { type KubeObject, Resources } from "../../../controller/kube/mod.ts";
import { eventually, testCluster } from "../cluster.ts";
import { kubectl, kubectlPortForward } from "../commands.ts";

interface PodStatus extends KubeObject {
  status?: {
    phase?: string;
    conditions?: { type: string; status: string }[];
    containerStatuses?: { state?: { terminated?: { exitCode: number; message?: string } } }[];
  };
}

Deno.test("kubelet stand-in: a pod's environment, volumes, token, exit code, logs and deletion", async (t) => {
  await using cluster = await testCluster({ kubelet: true });
  const client = cluster.client;
  const ns = await cluster.namespace("kubelet");
  await client.create(Resources.secrets, {
    apiVersion: "v1",
    kind: "Secret",
    metadata: { name: "creds", namespace: ns },
    stringData: { user: "alice", "nested.key": "in-a-subdir" },
  } as KubeObject);
  await client.create(Resources.configMaps, {
    apiVersion: "v1",
    kind: "ConfigMap",
    metadata: { name: "settings", namespace: ns },
    data: { colour: "blue" },
  } as KubeObject);
  await client.create(Resources.serviceAccounts, {
    apiVersion: "v1",
    kind: "ServiceAccount",
    metadata: { name: "worker", namespace: ns },
  });
  const podStatus = (name: string) => client.get<PodStatus>(Resources.pods, ns, name);
  const logsOf = async (name: string) => {
    const out = await kubectl(cluster.kubeconfigPath, ["-n", ns, "logs", name]);
    assert.equal(out.code, 0, out.stderr);
    return out.stdout;
  };

  await t.step(
    "env, volumes and a bound token as the container sees them; exit code in the status",
    async () => {
      const script = [
        'echo "user=$USER colour=$COLOUR pod=$POD greeting=$GREETING host=$(hostname)"',
        'echo "api=$KUBERNETES_SERVICE_HOST:$KUBERNETES_SERVICE_PORT"',
        'echo "nested=$(cat /etc/creds/sub/nested) colour-file=$(cat /etc/settings/colour)"',
        'echo "ns-file=$(cat /var/run/secrets/tokens/namespace) mode=$(stat -c %a /etc/creds/sub/nested)"',
        'echo "token=$(cat /var/run/secrets/tokens/token)"',
        'echo "links=$(ip -o link | wc -l)"',
        "touch /etc/creds/x 2>/dev/null && echo writable || echo read-only",
        "echo \"tty=$(python3 -c 'import os, pty; print(os.ttyname(pty.openpty()[1]))')\"",
        "echo 'Why: the end' >/dev/termination-log",
        "exit 3",
      ].join("; ");
      await client.create(Resources.pods, {
        apiVersion: "v1",
        kind: "Pod",
        metadata: { name: "probe", namespace: ns, labels: { app: "probe" } },
        spec: {
          restartPolicy: "Never",
          serviceAccountName: "worker",
          automountServiceAccountToken: false,
          containers: [{
            name: "main",
            image: "busybox",
            command: ["sh", "-c", script],
            env: [
              { name: "USER", valueFrom: { secretKeyRef: { name: "creds", key: "user" } } },
              { name: "COLOUR", valueFrom: { configMapKeyRef: { name: "settings", key: "colour" } } },
              { name: "POD", valueFrom: { fieldRef: { fieldPath: "metadata.name" } } },
              { name: "GREETING", value: "hello $(USER)" },
            ],
            volumeMounts: [
              { name: "creds", mountPath: "/etc/creds", readOnly: true },
              { name: "settings", mountPath: "/etc/settings" },
              { name: "tokens", mountPath: "/var/run/secrets/tokens", readOnly: true },
            ],
          }],
          volumes: [
            {
              name: "creds",
              secret: {
                secretName: "creds",
                items: [{ key: "nested.key", path: "sub/nested", mode: 0o400 }],
              },
            },
            { name: "settings", configMap: { name: "settings" } },
            {
              name: "tokens",
              projected: {
                sources: [
                  {
                    serviceAccountToken: { path: "token", audience: "e2e-audience", expirationSeconds: 900 },
                  },
                  {
                    downwardAPI: {
                      items: [{ path: "namespace", fieldRef: { fieldPath: "metadata.namespace" } }],
                    },
                  },
                ],
              },
            },
          ],
        },
      } as KubeObject);
      const done = await eventually("pod probe to fail with its exit code", async () => {
        const pod = await podStatus("probe");
        return pod.status?.phase === "Failed" ? pod : false;
      });
      assert.equal(done.status?.containerStatuses?.[0]?.state?.terminated?.exitCode, 3);
      // The termination message, as a kubelet reports it; terminals still open under the pod's /dev.
      assert.equal(done.status?.containerStatuses?.[0]?.state?.terminated?.message, "Why: the end\n");
      const log = await logsOf("probe");
      assert.match(log, /user=alice colour=blue pod=probe greeting=hello alice host=probe\n/);
      assert.match(log, /api=127\.0\.0\.1:\d+\n/);
      assert.match(log, /nested=in-a-subdir colour-file=blue\n/);
      assert.match(log, new RegExp(`ns-file=${ns} mode=400\\n`));
      assert.match(log, /links=1\n/, "the pod's network namespace has only loopback");
      assert.match(log, /read-only\n/);
      assert.match(log, /tty=\/dev\/pts\/\d+\n/);
      const token = /token=(\S+)\n/.exec(log)![1];
      const claims = JSON.parse(atob(token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/")));
      assert.deepEqual(claims.aud, ["e2e-audience"]);
      assert.equal(claims.exp - claims.iat, 900);
      assert.equal(claims["kubernetes.io"].pod.name, "probe");
      assert.equal(claims["kubernetes.io"].serviceaccount.name, "worker");
    },
  );

  await t.step(
    "kubectl port-forward reaches a declared port of a pod, by pod and through its Service",
    async () => {
      await client.create(Resources.pods, {
        apiVersion: "v1",
        kind: "Pod",
        metadata: { name: "web", namespace: ns, labels: { app: "web" } },
        spec: {
          containers: [{
            name: "main",
            image: "python",
            command: ["sh", "-c", "echo served-from-the-pod >index.html && exec python3 -m http.server 8080"],
            ports: [{ name: "http", containerPort: 8080 }],
            readinessProbe: { tcpSocket: { port: "http" } },
          }],
        },
      } as KubeObject);
      await client.create(Resources.services, {
        apiVersion: "v1",
        kind: "Service",
        metadata: { name: "web", namespace: ns },
        spec: { selector: { app: "web" }, ports: [{ port: 80, targetPort: "http" }] },
      } as KubeObject);
      await eventually("pod web to be Ready", async () => {
        const pod = await podStatus("web");
        return pod.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True");
      });
      for (const [target, port] of [["pod/web", 8080], ["svc/web", 80]] as const) {
        await using forward = await kubectlPortForward(cluster.kubeconfigPath, ["-n", ns, target], port);
        const res = await fetch(`http://127.0.0.1:${forward.localPort}/index.html`);
        assert.equal(await res.text(), "served-from-the-pod\n", target);
      }
    },
  );

  await t.step("deleting a pod that ignores SIGTERM kills it after the grace period", async () => {
    await client.create(Resources.pods, {
      apiVersion: "v1",
      kind: "Pod",
      metadata: { name: "stubborn", namespace: ns },
      spec: {
        terminationGracePeriodSeconds: 2,
        containers: [{
          name: "main",
          image: "busybox",
          command: ["sh", "-c", "trap 'echo got TERM' TERM; echo started; while :; do sleep 0.2; done"],
          readinessProbe: { exec: { command: ["true"] } },
        }],
      },
    } as KubeObject);
    await eventually("pod stubborn to be Ready", async () => {
      const pod = await podStatus("stubborn");
      return pod.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True");
    });
    await eventually("its first log line", async () => (await logsOf("stubborn")).includes("started"));
    const t0 = Date.now();
    await client.delete(Resources.pods, ns, "stubborn");
    await eventually("pod stubborn to be gone", async () => {
      try {
        await podStatus("stubborn");
        return false;
      } catch {
        return true;
      }
    }, 20_000);
    const took = Date.now() - t0;
    assert.ok(took >= 1_800, `removed after ${took} ms, before its 2 s grace period`);
  });

  await t.step("the host's file system is unchanged by the pods' mounts", async () => {
    await assert.rejects(Deno.stat("/var/run/secrets/tokens"));
    await assert.rejects(Deno.stat("/etc/creds"));
  });
});
