/**
 * `deno task bench`: the CloudShell lifecycle at N = 1, 100 and 1,000 on the
 * test control plane, with kwok making pods Ready at once.
 *
 * For each N it first measures the control plane alone, creation to pod Ready,
 * for N bare Jobs (kwok's own pod start time under this load) and for N sets
 * of the objects a shell needs (the floor of this design on this control
 * plane), so the operator's share is clear. Then it creates N CloudShells
 * at once and reports creation-to-Ready percentiles, creation throughput, API
 * requests per CloudShell over its whole life (counted at the API server from
 * apiserver_request_total, and by the operator itself), the operator's peak
 * memory and CPU time, and the time to delete them all.
 *
 *   deno task bench [--n 1,100,1000] [--workers 16] [--qps Q] [--burst B] [--plot FILE.svg]
 *
 * N = 5,000 is on demand (`--n 5000`): it takes the 2-core machine about half an hour. Without --qps and
 * --burst the operator runs at its defaults (no client-side throttle). For each N the table shows memory
 * and CPU per shell and the ratio of creation-to-Ready p99 to the control plane's own floor, so growth is
 * visible.
 *
 * Writes a table and issue 23's targets (met, or by how much not) to stdout, JSON to bench/results/, and an
 * SVG plot of the percentiles against N and of where the time goes (to --plot, else beside the JSON).
 */
import { parseArgs } from "node:util";
import { Informer } from "../controller/cache/mod.ts";
import { type CloudShell, CloudShells, OWNER_LABEL } from "../controller/cloudshell/api.ts";
import { KubeClient, type KubeObject, Resources } from "../controller/kube/mod.ts";
import { ControlPlane } from "../tests/harness/control_plane.ts";
import { deleteNamespaceAndWait, eventually } from "../tests/harness/cluster.ts";
import { installCrd } from "../tests/e2e/_operator.ts";
import { countRequests, diffCounts, type RequestCounts, writesByResource } from "./_apiserver_metrics.ts";
import { type Percentiles, percentiles } from "./_stats.ts";
import { CpuMeter, type CpuUse } from "./_cpu.ts";
import { bundledStartRss } from "./_bundled_start.ts";
import { OperatorUnderTest } from "./_operator_process.ts";
import { plotLifecycle } from "./_plot.ts";
import { captureShellObjects, type ShellObjects, shellObjectsNamed } from "./_shell_objects.ts";
import { targetLines } from "./_targets.ts";

const { values: args } = parseArgs({
  args: Deno.args,
  options: {
    n: { type: "string", default: "1,100,1000" },
    workers: { type: "string", default: "16" },
    // Unset: the operator's defaults, which are what users run.
    qps: { type: "string" },
    burst: { type: "string" },
    plot: { type: "string" },
    concurrency: { type: "string", default: "100" },
  },
});
const sizes = args.n.split(",").map(Number);

interface Result {
  n: number;
  controlPlanePodReady: Percentiles;
  shellObjectsPodReady: Percentiles;
  creationToReady: Percentiles;
  /** Creation to Job, Job to pod Ready, pod Ready to CloudShell Ready. */
  stages: { toJob: Percentiles; jobToPodReady: Percentiles; podReadyToReady: Percentiles };
  creationThroughputPerSec: number;
  requestsPerShell: Record<string, number>;
  operatorRequestsPerShell: Record<string, number>;
  operatorWritesPerShell: number;
  apiServerWritesPerShellOnOperatorResources: number;
  operatorPeakRssMb: number;
  /** RSS before the burst, and once all N were Ready and the burst's garbage had time to go. */
  operatorRssBeforeMb: number;
  operatorRssSteadyMb: number;
  operatorPeakHeapMb: number;
  operatorCpuSeconds: number;
  deleteAllSeconds: number;
  /** Who used the CPU from the start of each burst until all were Ready. */
  cpu: { bareJobs: CpuUse; shellObjects: CpuUse; cloudShells: CpuUse };
}

/** Runs `fn` over items with at most `limit` in flight. */
async function pool<T>(items: T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) await fn(items[next++]);
  }));
}

/** Watches objects and records when each first satisfies `done`, keyed by `keyOf`. */
function stopwatch<T extends KubeObject>(
  client: KubeClient,
  type: Parameters<KubeClient["list"]>[0],
  namespace: string,
  keyOf: (obj: T) => string | undefined,
  done: (obj: T) => boolean,
) {
  const at = new Map<string, number>();
  const restarts: string[] = [];
  const informer = new Informer<T>(client, type, {
    namespace,
    metrics: {
      list: (_r, reason) => restarts.push(`list (${reason})`),
      watchRestart: (_r, reason) => restarts.push(`watch ${reason}`),
    },
    logger: {
      debug: () => {},
      warn: (msg, fields) => console.error(`[bench] ${type.plural} informer: ${msg}`, fields ?? ""),
      error: (msg, fields) => console.error(`[bench] ${type.plural} informer: ${msg}`, fields ?? ""),
    },
  });
  const record = (obj: T) => {
    const key = keyOf(obj);
    if (key && !at.has(key) && done(obj)) at.set(key, performance.now());
  };
  informer.addHandler({ onAdd: record, onUpdate: (_o, n) => record(n) });
  const stop = new AbortController();
  const running = informer.run(stop.signal);
  return {
    at,
    ready: () => informer.waitForSync(AbortSignal.timeout(30_000)),
    async waitFor(count: number, timeoutMs: number): Promise<void> {
      const deadline = Date.now() + timeoutMs;
      let progressAt = Date.now();
      let last = at.size;
      while (at.size < count) {
        if (Date.now() > deadline) throw new Error(`Only ${at.size} of ${count} done after ${timeoutMs} ms`);
        if (at.size !== last) [last, progressAt] = [at.size, Date.now()];
        if (Date.now() - progressAt > 30_000) {
          // Stalled: compare with the server, to tell a slow cluster from an event the watch lost.
          const listed = await client.list<T>(type, { namespace });
          const doneOnServer = listed.items.filter((o) => done(o)).length;
          const cached = informer.lister.list();
          console.error(
            `[bench] ${type.plural}: ${at.size} of ${count} seen done, ${doneOnServer} done on the server, ` +
              `cache holds ${cached.length} (${cached.filter(done).length} done); informer: ${
                restarts.join(", ")
              }`,
          );
          progressAt = Date.now();
        }
        await new Promise((r) => setTimeout(r, 50));
      }
    },
    async close() {
      stop.abort();
      await running;
    },
  };
}

type PodLike = KubeObject & { status?: { phase?: string; conditions?: { type: string; status: string }[] } };
const podReady = (p: PodLike) =>
  p.status?.phase === "Running" &&
  (p.status.conditions?.some((c) => c.type === "Ready" && c.status === "True") ?? false);

/**
 * The control plane alone, without the operator, creation to pod Ready:
 * - "jobs": N bare Jobs, which is kwok's own pod start time under this load;
 * - "shell-objects": the objects of N shells, copies of the warm-up shell's own (_shell_objects.ts),
 *   created as fast as the control plane takes them the way the operator creates them (ServiceAccount,
 *   then Job, RoleBinding and NodePort Service together), until each pod is Ready and its Service exists.
 *   Every clock starts at the start of the burst, as every shell's does when N are created at once: this
 *   is the floor of this design on this control plane, what an operator that cost nothing would reach.
 */
async function baseline(
  client: KubeClient,
  meter: CpuMeter,
  n: number,
  kind: "jobs" | "shell-objects",
  shell: ShellObjects,
): Promise<{ latency: Percentiles; cpu: CpuUse }> {
  const ns = `bench-baseline-${kind}-${n}`;
  await client.create(Resources.namespaces, { apiVersion: "v1", kind: "Namespace", metadata: { name: ns } });
  await waitForDefaultServiceAccount(client, ns);
  const watch = stopwatch<PodLike>(
    client,
    Resources.pods,
    ns,
    (p) => p.metadata.labels?.["job-name"],
    podReady,
  );
  await watch.ready();
  const created = new Map<string, number>();
  const finished = new Map<string, number>();
  const cpuStart = await meter.read();
  const burstStart = performance.now();
  await pool([...Array(n).keys()], Number(args.concurrency), async (i) => {
    const name = `job-${i}`;
    // Bare Jobs' clocks start when each exists; a shell's objects' at the start of the burst.
    let t = burstStart;
    if (kind === "jobs") {
      await client.create(Resources.jobs, {
        apiVersion: "batch/v1",
        kind: "Job",
        metadata: { name, namespace: ns },
        spec: {
          backoffLimit: 0,
          template: {
            metadata: { labels: { app: name } },
            spec: { restartPolicy: "Never", containers: [{ name: "web-tty", image: "terminal" }] },
          },
        },
      } as KubeObject);
      t = performance.now();
    } else {
      const objects = shellObjectsNamed(shell, name, ns);
      await client.create(Resources.serviceAccounts, objects.serviceAccount);
      await Promise.all([
        client.create(Resources.jobs, objects.job),
        client.create(Resources.roleBindings, objects.roleBinding),
        client.create(Resources.services, objects.service),
      ]);
    }
    created.set(name, t);
    // A shell is reachable once its Service exists too, which may be after its pod is Ready.
    finished.set(name, performance.now());
  });
  await watch.waitFor(n, 600_000);
  const cpu = await meter.since(cpuStart);
  await watch.close();
  const latencies = [...created].map(([name, t]) => Math.max(watch.at.get(name)!, finished.get(name)!) - t);
  await deleteNamespace(client, ns);
  return { latency: percentiles(latencies), cpu };
}

/**
 * Deletes a namespace and waits until it is gone. Tearing down 1,000 shells' objects keeps the control plane
 * busy for about a minute; a burst measured meanwhile would pay for the previous one's cleanup.
 */
async function deleteNamespace(client: KubeClient, ns: string): Promise<void> {
  const start = performance.now();
  await deleteNamespaceAndWait(client, ns, 600_000);
  console.error(`[bench] namespace ${ns} deleted in ${((performance.now() - start) / 1000).toFixed(1)} s`);
}

async function waitForDefaultServiceAccount(client: KubeClient, ns: string): Promise<void> {
  for (let i = 0; i < 200; i++) {
    try {
      await client.get(Resources.serviceAccounts, ns, "default");
      return;
    } catch {
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}

async function measure(
  client: KubeClient,
  operator: OperatorUnderTest,
  meter: CpuMeter,
  n: number,
  shell: ShellObjects,
): Promise<Result> {
  console.error(`[bench] N=${n}: the control plane alone, bare Jobs`);
  const bareJobs = await baseline(client, meter, n, "jobs", shell);
  console.error(`[bench] N=${n}: the control plane alone, each shell's objects`);
  const shellObjects = await baseline(client, meter, n, "shell-objects", shell);
  const ns = `bench-shells-${n}`;
  await client.create(Resources.namespaces, { apiVersion: "v1", kind: "Namespace", metadata: { name: ns } });
  await waitForDefaultServiceAccount(client, ns);
  const watch = stopwatch<CloudShell>(
    client,
    CloudShells,
    ns,
    (c) => c.metadata.name,
    (c) => c.status?.phase === "Ready",
  );
  // Where the time goes, per shell: until its Job exists (the operator), until its pod is Ready (the
  // control plane), until the CloudShell says Ready (the operator again).
  const jobWatch = stopwatch<KubeObject>(
    client,
    Resources.jobs,
    ns,
    (j) => j.metadata.labels?.[OWNER_LABEL],
    () => true,
  );
  const podWatch = stopwatch<PodLike>(
    client,
    Resources.pods,
    ns,
    (p) => p.metadata.labels?.[OWNER_LABEL],
    podReady,
  );
  await Promise.all([watch.ready(), jobWatch.ready(), podWatch.ready()]);
  const rssBefore = await operator.rssBytes();
  const apiBefore = await countRequests(client);
  const opBefore = await operator.requestCounts();
  operator.resetPeak();
  const sampling = new AbortController();
  const heapPeak = operator.sampleHeap(sampling.signal);

  const created = new Map<string, number>();
  const cpuStart = await meter.read();
  const t0 = performance.now();
  await pool([...Array(n).keys()], Number(args.concurrency), async (i) => {
    const name = `shell-${i}`;
    await client.create(CloudShells, sampleShell(name, ns));
    // Creation is when the object exists: the create returned.
    created.set(name, performance.now());
  });
  const createSeconds = (performance.now() - t0) / 1000;
  console.error(`[bench] N=${n}: ${n} CloudShells created in ${createSeconds.toFixed(1)} s`);
  await watch.waitFor(n, 600_000);
  const allReady = (performance.now() - t0) / 1000;
  const burstCpu = await meter.since(cpuStart);
  console.error(`[bench] N=${n}: all Ready after ${allReady.toFixed(1)} s; deleting them`);
  await Promise.all([watch.close(), jobWatch.close(), podWatch.close()]);
  // Steady state with N live shells: what the caches keep, once V8 had a moment to collect the burst.
  await new Promise((r) => setTimeout(r, STEADY_WAIT_MS));
  const rssSteady = await operator.rssBytes();
  const creationToReady = percentiles([...created].map(([name, t]) => watch.at.get(name)! - t));
  const stages = {
    toJob: percentiles([...created].map(([name, t]) => jobWatch.at.get(name)! - t)),
    jobToPodReady: percentiles([...created].map(([name]) => podWatch.at.get(name)! - jobWatch.at.get(name)!)),
    podReadyToReady: percentiles([...created].map(([name]) => watch.at.get(name)! - podWatch.at.get(name)!)),
  };

  // The rest of the life: deletion, until every CloudShell and Job is gone.
  const d0 = performance.now();
  await pool([...created.keys()], Number(args.concurrency), async (name) => {
    await client.delete(CloudShells, ns, name);
  });
  await eventually("every CloudShell and Job to be gone", async () => {
    const [shells, jobs] = await Promise.all([
      client.list(CloudShells, { namespace: ns, limit: 1 }),
      client.list(Resources.jobs, { namespace: ns, labelSelector: OWNER_LABEL, limit: 1 }),
    ]);
    return shells.items.length === 0 && jobs.items.length === 0;
  }, 600_000);
  const deleteAllSeconds = (performance.now() - d0) / 1000;
  // Let the operator see the deletions (it may still react to them) before counting.
  await new Promise((r) => setTimeout(r, 2_000));
  const lifeCpu = await meter.since(cpuStart);

  sampling.abort();
  const apiDelta = diffCounts(await countRequests(client), apiBefore);
  const opDelta = diffCounts(await operator.requestCounts(), opBefore);
  const perShell = (c: RequestCounts) =>
    Object.fromEntries([...c].map(([k, v]) => [k, Math.round((v / n) * 100) / 100]).sort());
  const opWrites = [...opDelta].filter(([k]) => !k.startsWith("GET ")).reduce((s, [, v]) => s + v, 0);
  const result: Result = {
    n,
    controlPlanePodReady: bareJobs.latency,
    shellObjectsPodReady: shellObjects.latency,
    creationToReady,
    stages,
    creationThroughputPerSec: Math.round(n / Math.max(allReady, createSeconds) * 10) / 10,
    requestsPerShell: perShell(apiDelta),
    operatorRequestsPerShell: perShell(opDelta),
    operatorWritesPerShell: Math.round((opWrites / n) * 100) / 100,
    apiServerWritesPerShellOnOperatorResources: Math.round((writesByResource(apiDelta) / n) * 100) / 100,
    operatorPeakRssMb: mb(await operator.peakRssBytes()),
    operatorRssBeforeMb: mb(rssBefore),
    operatorRssSteadyMb: mb(rssSteady),
    operatorPeakHeapMb: Math.round((await heapPeak) / 1e5) / 10,
    operatorCpuSeconds: lifeCpu.seconds.operator ?? NaN,
    deleteAllSeconds: Math.round(deleteAllSeconds * 100) / 100,
    cpu: { bareJobs: bareJobs.cpu, shellObjects: shellObjects.cpu, cloudShells: burstCpu },
  };
  await deleteNamespace(client, ns);
  return result;
}

/** How long the steady-state memory reading waits after the last shell is Ready. */
const STEADY_WAIT_MS = 10_000;

/** Bytes as MB with one decimal. */
function mb(bytes: number): number {
  return Math.round(bytes / 1e5) / 10;
}

/** CloudTTY's README sample: bash, NodePort, no kubeconfig (so a ServiceAccount of its own). */
function sampleShell(name: string, namespace: string): CloudShell {
  return {
    apiVersion: "cloudshell.cloudtty.io/v1alpha1",
    kind: "CloudShell",
    metadata: { name, namespace },
    spec: { commandAction: "bash", ttlSecondsAfterStarted: 3600, once: false },
  } as CloudShell;
}

/**
 * One shell's whole life, which absorbs one-off costs that are not the operator's: the API server sets up
 * storage for a new CRD on first use, and the garbage collector learns new types only every 30 s. Returns
 * that shell's objects, for the floor.
 */
async function warmUp(client: KubeClient): Promise<ShellObjects> {
  const ns = "bench-warm-up";
  await client.create(Resources.namespaces, { apiVersion: "v1", kind: "Namespace", metadata: { name: ns } });
  await waitForDefaultServiceAccount(client, ns);
  await client.create(CloudShells, sampleShell("warm-up", ns));
  await eventually(
    "the warm-up CloudShell to be Ready",
    async () => (await client.get<CloudShell>(CloudShells, ns, "warm-up")).status?.phase === "Ready",
    60_000,
  );
  const objects = await captureShellObjects(client, ns, "warm-up");
  await client.delete(CloudShells, ns, "warm-up");
  await eventually(
    "the warm-up Job to be garbage-collected",
    async () => (await client.list(Resources.jobs, { namespace: ns })).items.length === 0,
    120_000,
  );
  await deleteNamespace(client, ns);
  return objects;
}

/** The processes whose CPU time the table shows, the busiest first. */
const CPU_ROWS = [
  "kube-apiserver",
  "kube-controller-manager",
  "etcd",
  "kube-scheduler",
  "kwok",
  "operator",
  "benchmark",
];

/** Megabytes over N shells, as kilobytes per shell. */
function perShellKb(megabytes: number, n: number): string {
  return (megabytes * 1000 / n).toFixed(1);
}

function table(results: Result[]): string {
  const f = (x: number) => x.toFixed(2);
  const rows = [
    ["N", ...results.map((r) => String(r.n))],
    [
      "control plane alone, bare Jobs: pod Ready p50/p99 (s)",
      ...results.map((r) => `${f(r.controlPlanePodReady.p50)} / ${f(r.controlPlanePodReady.p99)}`),
    ],
    [
      "control plane alone, N shells' objects at once: Ready p50/p99 (s)",
      ...results.map((r) => `${f(r.shellObjectsPodReady.p50)} / ${f(r.shellObjectsPodReady.p99)}`),
    ],
    ["CloudShell Ready p50 (s)", ...results.map((r) => f(r.creationToReady.p50))],
    ["CloudShell Ready p95 (s)", ...results.map((r) => f(r.creationToReady.p95))],
    ["CloudShell Ready p99 (s)", ...results.map((r) => f(r.creationToReady.p99))],
    ["CloudShell Ready max (s)", ...results.map((r) => f(r.creationToReady.max))],
    [
      "p99 minus bare-Job p99 (s)",
      ...results.map((r) => f(r.creationToReady.p99 - r.controlPlanePodReady.p99)),
    ],
    [
      "p99 minus shells' objects p99 (s)",
      ...results.map((r) => f(r.creationToReady.p99 - r.shellObjectsPodReady.p99)),
    ],
    [
      "stage: created to Job p50/p99 (s)",
      ...results.map((r) => `${f(r.stages.toJob.p50)} / ${f(r.stages.toJob.p99)}`),
    ],
    [
      "stage: Job to pod Ready p50/p99 (s)",
      ...results.map((r) => `${f(r.stages.jobToPodReady.p50)} / ${f(r.stages.jobToPodReady.p99)}`),
    ],
    [
      "stage: pod Ready to Ready p50/p99 (s)",
      ...results.map((r) => `${f(r.stages.podReadyToReady.p50)} / ${f(r.stages.podReadyToReady.p99)}`),
    ],
    ["throughput (shells/s)", ...results.map((r) => String(r.creationThroughputPerSec))],
    ["operator writes per shell", ...results.map((r) => String(r.operatorWritesPerShell))],
    [
      "API-server writes per shell (operator-only resources, no Events)",
      ...results.map((r) => String(r.apiServerWritesPerShellOnOperatorResources)),
    ],
    [
      "p99 / shells' objects p99 (the floor)",
      ...results.map((r) => (r.creationToReady.p99 / r.shellObjectsPodReady.p99).toFixed(2) + "x"),
    ],
    ["operator peak RSS (MB)", ...results.map((r) => String(r.operatorPeakRssMb))],
    [
      "operator RSS before / with N Ready (MB)",
      ...results.map((r) => `${r.operatorRssBeforeMb} / ${r.operatorRssSteadyMb}`),
    ],
    [
      "memory per shell: steady / peak (KB)",
      ...results.map((r) =>
        [r.operatorRssSteadyMb, r.operatorPeakRssMb].map((m) => perShellKb(m - r.operatorRssBeforeMb, r.n))
          .join(" / ")
      ),
    ],
    ["operator CPU per shell (ms)", ...results.map((r) => (r.operatorCpuSeconds * 1000 / r.n).toFixed(1))],
    ["operator peak V8 heap in use (MB)", ...results.map((r) => String(r.operatorPeakHeapMb))],
    ["operator CPU (s)", ...results.map((r) => String(r.operatorCpuSeconds))],
    ["delete all (s)", ...results.map((r) => String(r.deleteAllSeconds))],
    [
      `machine CPU busy, % of ${navigator.hardwareConcurrency} cores: bare Jobs / objects / CloudShells`,
      ...results.map((r) =>
        [r.cpu.bareJobs, r.cpu.shellObjects, r.cpu.cloudShells].map((c) => `${c.machineBusyPercent}%`).join(
          " / ",
        )
      ),
    ],
    ...CPU_ROWS.map((name) => [
      `CPU during the CloudShell burst (s): ${name}`,
      ...results.map((r) => String(r.cpu.cloudShells.seconds[name] ?? "n/a")),
    ]),
  ];
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  return rows.map((r) => r.map((c, i) => c.padEnd(widths[i])).join(" | ")).join("\n");
}

const cp = await ControlPlane.start({ nodes: 10 });
const client = new KubeClient(cp.connection(), { qps: 5000, burst: 5000, userAgent: "cloudshell-bench" });
let operator: OperatorUnderTest | undefined;
try {
  await installCrd(client);
  // Beside the from-source figure, the same start as one bundled file, nearer the compiled binary.
  const bundled = Deno.env.get("CLOUDSHELL_OPERATOR_BIN")
    ? undefined
    : await bundledStartRss(cp.kubeconfigPath);
  const bundledStartRssMb = typeof bundled === "number" ? mb(bundled) : undefined;
  if (typeof bundled === "object") console.error(`[bench] no bundled start: ${bundled.unavailable}`);
  operator = await OperatorUnderTest.start(cp.kubeconfigPath, [
    `--workers=${args.workers}`,
    ...(args.qps ? [`--kube-api-qps=${args.qps}`] : []),
    ...(args.burst ? [`--kube-api-burst=${args.burst}`] : []),
  ]);
  // Right after start: informers synced (start waits for /readyz), nothing to do yet.
  const startRssMb = mb(await operator.rssBytes());
  console.error(`[bench] operator RSS right after start: ${startRssMb} MB`);
  console.error("[bench] warm-up");
  const shell = await warmUp(client);
  // Every process on the machine that matters: on 2 cores they all compete for the same CPU.
  const meter = new CpuMeter(
    new Map([...await cp.processIds(), ["operator", operator.pid], ["benchmark", Deno.pid]]),
  );
  const results: Result[] = [];
  for (const n of sizes) {
    console.error(`[bench] N=${n}`);
    results.push(await measure(client, operator, meter, n, shell));
  }
  console.log(`operator RSS right after start: ${startRssMb} MB`);
  if (bundledStartRssMb !== undefined) {
    console.log(
      `operator RSS right after start, bundled into one file (deno bundle): ${bundledStartRssMb} MB`,
    );
  }
  console.log(table(results));
  console.log("\nIssue 23's targets (spawn to a waiting shell Ready: bench/startup.ts):");
  const targets = results.map((r) => ({
    ...r,
    p99: r.creationToReady.p99,
    floorP99: r.shellObjectsPodReady.p99,
  }));
  for (const line of targetLines(targets, startRssMb, bundledStartRssMb)) console.log(`- ${line}`);
  console.log("\nAPI requests per CloudShell at the API server, by verb and resource (all clients):");
  for (const r of results) console.log(`N=${r.n}: ${JSON.stringify(r.requestsPerShell)}`);
  console.log("\nRequests per CloudShell sent by the operator, by verb and resource:");
  for (const r of results) console.log(`N=${r.n}: ${JSON.stringify(r.operatorRequestsPerShell)}`);
  await Deno.mkdir(new URL("./results/", import.meta.url), { recursive: true });
  const file = new URL(
    `./results/lifecycle-${new Date().toISOString().replace(/[:.]/g, "-")}.json`,
    import.meta.url,
  );
  await Deno.writeTextFile(
    file,
    JSON.stringify({ settings: args, startRssMb, bundledStartRssMb, results }, null, 2),
  );
  console.log(`\nJSON: ${file.pathname}`);
  const svg = args.plot ?? file.pathname.replace(/\.json$/, ".svg");
  await Deno.writeTextFile(svg, plotLifecycle(results));
  console.log(`SVG: ${svg}`);
} finally {
  await operator?.stop();
  client.close();
  await cp.stop();
}
