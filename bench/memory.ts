/**
 * `deno run --allow-all bench/memory.ts`: the operator's peak memory under the largest CloudShells one
 * tenant may create (issue 18, "Memory"). A user who may only create CloudShells in one namespace creates
 * N of them, half valid (each runs a Job and a pod) and half refused by the operator (an env source its
 * administrator did not allow: no pod, no quota), every one as large as the CRD admits: 65536 characters of
 * env (valueFrom included), a 16 KiB command, 16 KiB of client options and of Ingress annotations, the
 * longest image and paths, and a 200 KiB annotation on the object. The operator runs from source as
 * `deno task start` runs it, on a private control plane with kwok.
 *
 * It prints the peak RSS (VmHWM) and the settled RSS for three phases: while the shells are created and
 * reconciled, after a restart with all of them in place, and while they are all deleted, against the
 * 512 MiB limit of deploy/deployment.yaml.
 *
 *   deno run --allow-all bench/memory.ts [--n 500]
 */
import { parseArgs } from "node:util";
import { type CloudShell, CloudShells } from "../controller/cloudshell/api.ts";
import { KubeClient, type KubeObject, Resources } from "../controller/kube/mod.ts";
import { ControlPlane } from "../tests/harness/control_plane.ts";
import { deleteNamespaceAndWait, eventually } from "../tests/harness/cluster.ts";
import { installCrd } from "../tests/e2e/_operator.ts";
import { OperatorUnderTest } from "./_operator_process.ts";

const { values: args } = parseArgs({
  args: Deno.args,
  options: { n: { type: "string", default: "500" }, concurrency: { type: "string", default: "10" } },
});
const N = Number(args.n);
const CONCURRENCY = Number(args.concurrency);
const LIMIT_BYTES = 512 * 1024 * 1024;
const NAMESPACE = "bench-memory";
const TENANT = "mal";

const repeat = (c: string, n: number) => c.repeat(n);

/** Env entries of exactly `total` characters, counted as the CRD's CEL rule counts them. */
function env(total: number, refused: boolean): Record<string, unknown>[] {
  const entries: Record<string, unknown>[] = [];
  let left = total;
  for (let i = 0; left > 0 && entries.length < 128; i++) {
    const name = `E${String(i).padStart(3, "0")}`;
    if (refused) {
      // fileKeyRef is refused without --allow-env-value-from: volumeName 63, path up to 1024, key 128.
      const volumeName = repeat("v", 63);
      const key = repeat("k", 128);
      const pathLength = Math.max(1, Math.min(1024, left - name.length - 63 - 128));
      entries.push({ name, valueFrom: { fileKeyRef: { volumeName, path: repeat("p", pathLength), key } } });
      left -= name.length + 63 + 128 + pathLength;
    } else {
      const value = Math.max(0, Math.min(65_536, left - name.length));
      entries.push({ name, value: repeat("x", value) });
      left -= name.length + value;
    }
  }
  return entries;
}

/** Up to 64 string entries of `total` characters in all (keys of `keyLength`). */
function stringMap(total: number, prefix: string): Record<string, string> {
  const out: Record<string, string> = {};
  const each = Math.floor(total / 64);
  for (let i = 0; i < 64; i++) {
    const key = `${prefix}${String(i).padStart(2, "0")}`;
    out[key] = repeat("a", each - key.length);
  }
  return out;
}

function largestShell(name: string, refused: boolean): CloudShell {
  return {
    apiVersion: "cloudshell.cloudtty.io/v1alpha1",
    kind: "CloudShell",
    metadata: {
      name,
      namespace: NAMESPACE,
      annotations: { "example.com/bulk": repeat("b", 200 * 1024) },
    },
    spec: {
      image: `registry.example/${repeat("i", 1000)}:latest`,
      commandAction: repeat("c", 16_384),
      exposureMode: "NodePort",
      pathPrefix: `/${repeat("p", 1023)}`,
      pathSuffix: repeat("s", 1024),
      ttydClientOptions: stringMap(16_384, "opt"),
      ingressConfig: { annotations: stringMap(16_384, "example.com/a") },
      env: env(65_536, refused),
    },
  } as unknown as CloudShell;
}

function mb(bytes: number): string {
  return (bytes / 1024 / 1024).toFixed(0);
}

async function rssBytes(pid: number): Promise<number> {
  const status = await Deno.readTextFile(`/proc/${pid}/status`);
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? 0) * 1024;
}

/** Runs `work` on each item, `CONCURRENCY` at a time. */
async function pool<T>(items: T[], work: (item: T) => Promise<unknown>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: CONCURRENCY }, async () => {
    while (next < items.length) await work(items[next++]);
  }));
}

/** Every shell has the status the operator gives it: Ready (valid) or Ready=False (refused). */
async function allReconciled(client: KubeClient, count: number): Promise<void> {
  await eventually(
    `${count} CloudShells reconciled`,
    async () => {
      const list = await client.list<CloudShell>(CloudShells, { namespace: NAMESPACE });
      const done = list.items.filter((cs) => {
        const ready = cs.status?.conditions?.find((c) => c.type === "Ready");
        return cs.status?.phase === "Ready" || ready?.reason === "EnvSourceNotAllowed";
      }).length;
      console.error(`[bench] ${done}/${count} reconciled`);
      return done === count;
    },
    1_800_000,
    5_000,
  );
}

interface Phase {
  phase: string;
  peakRssMb: number;
  settledRssMb: number;
}

const cp = await ControlPlane.start({ nodes: 5 });
const admin = new KubeClient(cp.connection(), { qps: 5000, burst: 5000, userAgent: "cloudshell-bench" });
const tenant = new KubeClient(cp.connection(), { qps: 200, burst: 400, userAgent: "bench-tenant" }, {
  user: TENANT,
  groups: ["system:authenticated"],
});
let operator: OperatorUnderTest | undefined;
const phases: Phase[] = [];
try {
  await installCrd(admin);
  await admin.create(Resources.namespaces, {
    apiVersion: "v1",
    kind: "Namespace",
    metadata: { name: NAMESPACE },
  });
  // The tenant may create and read CloudShells in the namespace, nothing else.
  await admin.create({ ...Resources.roleBindings, plural: "roles", kind: "Role" }, {
    apiVersion: "rbac.authorization.k8s.io/v1",
    kind: "Role",
    metadata: { name: "create-shells", namespace: NAMESPACE },
    rules: [{
      apiGroups: ["cloudshell.cloudtty.io"],
      resources: ["cloudshells"],
      verbs: ["create", "get", "list"],
    }],
  } as KubeObject);
  await admin.create(Resources.roleBindings, {
    apiVersion: "rbac.authorization.k8s.io/v1",
    kind: "RoleBinding",
    metadata: { name: "create-shells", namespace: NAMESPACE },
    roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: "create-shells" },
    subjects: [{ apiGroup: "rbac.authorization.k8s.io", kind: "User", name: TENANT }],
  } as KubeObject);
  const flags = ["--workers=16", "--kube-api-qps=200", "--kube-api-burst=400"];
  operator = await OperatorUnderTest.start(cp.kubeconfigPath, flags);
  const idle = await rssBytes(operator.pid);
  console.error(`[bench] operator idle: ${mb(idle)} MiB`);

  const sample = JSON.stringify(largestShell("x".repeat(52), true));
  console.error(`[bench] one refused shell: ${sample.length} bytes as JSON`);
  const names = Array.from(
    { length: N },
    (_, i) => `${i % 2 ? "refused" : "valid"}-${String(i).padStart(4, "0")}-`,
  )
    .map((n) => n + "x".repeat(52 - n.length));

  operator.resetPeak();
  await pool(names, (name) => tenant.create(CloudShells, largestShell(name, name.startsWith("refused"))));
  await allReconciled(admin, N);
  await new Promise((r) => setTimeout(r, 10_000));
  phases.push({
    phase: `create ${N}`,
    peakRssMb: Number(mb(await operator.peakRssBytes())),
    settledRssMb: Number(mb(await rssBytes(operator.pid))),
  });

  await operator.stop();
  operator = await OperatorUnderTest.start(cp.kubeconfigPath, flags);
  await allReconciled(admin, N);
  await new Promise((r) => setTimeout(r, 10_000));
  phases.push({
    phase: `restart with ${N}`,
    peakRssMb: Number(mb(await operator.peakRssBytes())),
    settledRssMb: Number(mb(await rssBytes(operator.pid))),
  });

  operator.resetPeak();
  await deleteNamespaceAndWait(admin, NAMESPACE, 1_800_000);
  await new Promise((r) => setTimeout(r, 5_000));
  phases.push({
    phase: `delete ${N}`,
    peakRssMb: Number(mb(await operator.peakRssBytes())),
    settledRssMb: Number(mb(await rssBytes(operator.pid))),
  });

  console.log(`Operator memory, ${N} largest CloudShells (half valid, half refused) from one tenant`);
  console.log(`idle before: ${mb(idle)} MiB RSS; limit (deploy/deployment.yaml): ${mb(LIMIT_BYTES)} MiB`);
  console.log("phase | peak RSS (VmHWM) MiB | settled RSS MiB | peak / limit");
  for (const p of phases) {
    const share = ((p.peakRssMb * 1024 * 1024) / LIMIT_BYTES * 100).toFixed(0);
    console.log(`${p.phase} | ${p.peakRssMb} | ${p.settledRssMb} | ${share}%`);
  }
} finally {
  await operator?.stop();
  tenant.close();
  admin.close();
  await cp.stop();
}
