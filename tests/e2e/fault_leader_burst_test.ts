/**
 * The leader under a burst, installed as a user installs it: deploy/ applied with kubectl (its RBAC, its
 * admission policies and its FlowSchema), both replicas running as deploy/'s ServiceAccount
 * (hack/operator-kubeconfig.sh), so API Priority and Fairness treats them as it treats the shipped
 * Deployment, and at the binary's default flags, election timings included (15 s, 10 s, 2 s; or those of
 * CLOUDSHELL_LEADER_BURST_ELECTION, such as "4s,3s,500ms"). While a
 * burst of CloudShells (1,000 unless CLOUDSHELL_LEADER_BURST says otherwise) is created at once against
 * the same API server, the leader must keep its Lease: no lost leadership, no second leader, the standby
 * idle; and every shell must end Ready with one of each child.
 *
 * fault_leader_test.ts runs its replicas as the cluster admin, whom Priority and Fairness exempts; this one
 * is what the FlowSchema is for. A private control plane: the burst would slow every other test on a shared
 * one, and deploy/ is cluster-wide.
 *
 * It prints what it measured (renewals seen, the longest gap between two, Lease call latency, failed
 * renewals, requests Priority and Fairness queued or refused): docs/performance.md quotes it.
 */
import assert from "node:assert/strict";
import type { CloudShell } from "../../controller/cloudshell/api.ts";
import { CloudShells } from "../../controller/cloudshell/api.ts";
import type { Lease } from "../../controller/runtime/leader_election.ts";
import { parseDuration } from "../../controller/runtime/duration.ts";
import { type KubeClient, Resources } from "../../controller/kube/mod.ts";
import { controlPlaneBinaries, startControlPlane } from "../harness/control_plane.ts";
import { eventually } from "../harness/cluster.ts";
import { run } from "../harness/commands.ts";
import { OperatorProcess } from "./_operator.ts";
import { classify, FLOW_SCHEMAS, uidOf } from "../deploy/_flow_control.ts";
import {
  assertOneOfEach,
  createCloudShells,
  logEntries,
  metricSum,
  reconciles,
  type Sample,
  samples,
  type ShellToCreate,
} from "./_support.ts";

const REPO = new URL("../../", import.meta.url).pathname;
const NAMESPACE = "cloudshell-system";
const ACCOUNT = "cloudshell-operator";
const FLOW_SCHEMA = "cloudshell-operator-leader-election";
/** Lease duration, renew deadline and retry period. */
const [LEASE, RENEW_DEADLINE, RETRY] = (Deno.env.get("CLOUDSHELL_LEADER_BURST_ELECTION") ?? "15s,10s,2s")
  .split(",");
const RENEW_DEADLINE_MS = parseDuration(RENEW_DEADLINE);
const RETRY_MS = parseDuration(RETRY);
const BURST = Number(Deno.env.get("CLOUDSHELL_LEADER_BURST") ?? "1000");

/** Runs a command with the control plane's kubectl on PATH and its admin kubeconfig; throws on failure. */
async function sh(kubeconfig: string, command: string): Promise<string> {
  const out = await run("bash", ["-euc", command], undefined, {
    KUBECONFIG: kubeconfig,
    PATH: `${await controlPlaneBinaries()}:${Deno.env.get("PATH")}`,
  });
  assert.equal(out.code, 0, `${command}:\n${out.stderr}`);
  return out.stdout.trim();
}

/** The API server's own metrics. */
async function apiServerMetrics(client: KubeClient): Promise<string> {
  const res = await client.request({ method: "GET", path: "/metrics", headers: { Accept: "text/plain" } });
  return await res.text();
}

const sum = (list: Sample[], match: Record<string, string>) =>
  list.filter((s) => Object.entries(match).every(([k, v]) => s.labels[k] === v))
    .reduce((total, s) => total + s.value, 0);

/** The smallest histogram bucket bound below which a fraction `q` of the observations fell. */
function bucketQuantile(buckets: Sample[], q: number): string {
  const sorted = buckets.map((s) => ({ le: Number(s.labels.le), n: s.value })).sort((a, b) => a.le - b.le);
  const total = sorted.at(-1)?.n ?? 0;
  const bound = sorted.find((b) => b.n >= q * total)?.le;
  return total === 0 || bound === undefined
    ? "n/a"
    : bound === Infinity
    ? "> the largest bucket"
    : `<= ${bound} s`;
}

Deno.test({
  name: `a ${BURST}-shell burst as deploy/'s ServiceAccount with its FlowSchema: the leader keeps its Lease`,
  ignore: !(BURST > 0),
  async fn() {
    // 1,000 pods need ten of kwok's 110-pod nodes.
    await using cp = await startControlPlane({ nodes: Math.max(2, Math.ceil(BURST / 100) + 1) });
    const admin = cp.client;
    const work = await Deno.makeTempDir({ prefix: "cloudshell-leader-burst-" });
    try {
      await sh(cp.kubeconfigPath, `cd ${REPO} && kubectl apply --server-side -k deploy/ >/dev/null`);
      const kubeconfig = await sh(
        cp.kubeconfigPath,
        `bash ${REPO}hack/operator-kubeconfig.sh ${work}/operator`,
      );

      // The API server's configuration controller takes the FlowSchema up asynchronously.
      const schemaUid = await uidOf(
        admin,
        `${FLOW_SCHEMAS}/${FLOW_SCHEMA}`,
      );
      const leasePath = `/apis/coordination.k8s.io/v1/namespaces/${NAMESPACE}/leases/${ACCOUNT}`;
      const asOperator = admin.impersonating(`system:serviceaccount:${NAMESPACE}:${ACCOUNT}`);
      await eventually("the FlowSchema to classify the operator's Lease calls", async () => {
        return (await classify(asOperator, leasePath)).flowSchema === schemaUid;
      });

      const election = [
        "--leader-elect=true",
        `--leader-elect-lease-duration=${LEASE}`,
        `--leader-elect-renew-deadline=${RENEW_DEADLINE}`,
        `--leader-elect-retry-period=${RETRY}`,
        // The default level: the tests' debug level writes a few lines per reconcile.
        "--log-level=info",
      ];
      const replica = () => OperatorProcess.start(kubeconfig, NAMESPACE, election, { allNamespaces: true });
      await using leader = await replica();
      const getLease = () => admin.get<Lease>(Resources.leases, NAMESPACE, ACCOUNT);
      const held = await eventually("the first replica to lead", async () => {
        const lease = await getLease();
        return logEntries(leader, "Starting workers").length > 0 && lease.spec?.holderIdentity
          ? lease
          : false;
      });
      await using standby = await replica();
      const identity = held.spec!.holderIdentity!;

      // Every version of the Lease the API server stores, watched as the admin (whom Priority and Fairness
      // exempts): who holds it, and each renewal's time.
      const holders = new Set<string>();
      const renewals: number[] = [];
      const watching = new AbortController();
      const watchLease = (async () => {
        let resourceVersion = held.metadata.resourceVersion!;
        while (!watching.signal.aborted) {
          try {
            for await (
              const event of admin.watch<Lease>(Resources.leases, {
                namespace: NAMESPACE,
                fieldSelector: `metadata.name=${ACCOUNT}`,
                resourceVersion,
                signal: watching.signal,
              })
            ) {
              if (event.type !== "ADDED" && event.type !== "MODIFIED") continue;
              resourceVersion = event.object.metadata.resourceVersion!;
              holders.add(event.object.spec?.holderIdentity ?? "");
              renewals.push(Date.parse(event.object.spec?.renewTime ?? ""));
            }
          } catch {
            // Ended by the abort, or by the API server: watch again from the last version seen.
          }
        }
      })();

      const apfBefore = samples(
        await apiServerMetrics(admin),
        "apiserver_flowcontrol_dispatched_requests_total",
      );
      const ns = "burst";
      await admin.create(Resources.namespaces, {
        apiVersion: "v1",
        kind: "Namespace",
        metadata: { name: ns },
      });
      const shells: ShellToCreate[] = Array.from(
        { length: BURST },
        (_, i) => ({ name: `shell-${i}`, spec: {} }),
      );
      const started = Date.now();
      await createCloudShells(admin, ns, shells, { concurrency: 64, timeoutMs: 600_000 });
      const created = (Date.now() - started) / 1000;
      await eventually(
        "every CloudShell to be Ready",
        async () => {
          const list = await admin.list<CloudShell>(CloudShells, { namespace: ns });
          return list.items.length === BURST && list.items.every((cs) => cs.status?.phase === "Ready");
        },
        900_000,
        1_000,
      );
      const allReady = (Date.now() - started) / 1000;
      watching.abort();
      await watchLease;

      // What happened to the Lease during the burst, as the leader saw it and as the API server did.
      const gaps = renewals.slice(1).map((t, i) => t - renewals[i]).filter((g) => g > 0);
      const longestGap = Math.max(0, ...gaps);
      const failed = logEntries(leader).filter((e) =>
        /^Cannot (renew|get|update) leader lease/.test(String(e.msg))
      );
      // An exited leader (it exits when it loses the Lease) serves no metrics: its log says why.
      const leaderMetrics = await leader.metrics().catch(() => "");
      const electionLog = logEntries(leader).filter((e) => /lease|leader/i.test(String(e.msg)));
      if (leader.exited || logEntries(leader, "Leader election lost").length > 0) {
        console.log(
          `[leader-burst] the leader's election log:\n${
            electionLog.map((e) => JSON.stringify(e)).join("\n")
          }`,
        );
      }
      const leaseCalls = samples(leaderMetrics, "rest_client_request_duration_seconds_bucket")
        .filter((s) => s.labels.resource === "leases" && s.labels.verb === "PUT");
      const apiText = await apiServerMetrics(admin);
      const dispatched = samples(apiText, "apiserver_flowcontrol_dispatched_requests_total");
      const ourLeaseCalls = sum(dispatched, { flow_schema: FLOW_SCHEMA }) -
        sum(apfBefore, { flow_schema: FLOW_SCHEMA });
      const rejected = samples(apiText, "apiserver_flowcontrol_rejected_requests_total");
      const waited = samples(apiText, "apiserver_flowcontrol_request_wait_duration_seconds_bucket")
        .filter((s) => s.labels.flow_schema === "service-accounts" && s.labels.execute === "true");
      const operatorRequests = samples(leaderMetrics, "rest_client_requests_total");
      console.log(
        `[leader-burst] ${BURST} CloudShells created in ${created.toFixed(1)} s, all Ready after ${
          allReady.toFixed(1)
        } s; Lease renewals seen ${renewals.length}, longest gap between two ${
          (longestGap / 1000).toFixed(2)
        } s ` +
          `(renew deadline ${RENEW_DEADLINE_MS / 1000} s, retry period ${
            RETRY_MS / 1000
          } s); leader's Lease PUT ` +
          `p99 ${bucketQuantile(leaseCalls, 0.99)}, max ${
            bucketQuantile(leaseCalls, 1)
          }; failed Lease calls ` +
          `${failed.length}; Lease calls in ${FLOW_SCHEMA}: ${ourLeaseCalls}; operator requests answered 429: ${
            sum(operatorRequests, { code: "429" })
          } of ${sum(operatorRequests, {})}; requests refused by Priority and Fairness: ${
            JSON.stringify(
              Object.fromEntries(
                rejected.map((s) => [`${s.labels.flow_schema}/${s.labels.reason}`, s.value]),
              ),
            )
          }; service-accounts requests queued p99 ${bucketQuantile(waited, 0.99)}`,
      );

      // The leader led throughout: one holder, no transition, never lost, never stopped.
      assert.deepEqual([...holders], [identity], "the Lease changed hands during the burst");
      const lease = await getLease();
      assert.equal(lease.spec?.holderIdentity, identity);
      assert.equal(lease.spec?.leaseTransitions, held.spec?.leaseTransitions);
      assert.deepEqual(logEntries(leader, "Leader election lost"), []);
      assert.equal(leader.exited, false, "the leader exited");
      assert.ok(longestGap < RENEW_DEADLINE_MS, `${longestGap} ms without a renewal`);
      assert.ok(ourLeaseCalls > 0, "the leader's Lease calls went through the FlowSchema");
      // The standby never led nor reconciled.
      assert.equal(await reconciles(standby), 0, "the standby reconciled");
      assert.equal(await metricSum(standby, "leader_election_master_status"), 0);
      assert.deepEqual(logEntries(standby, "Starting workers"), []);
      assert.equal(await metricSum(leader, "leader_election_master_status"), 1);
      // Nothing doubled or lost.
      await assertOneOfEach(admin, ns, shells.map((s) => s.name));
    } finally {
      await Deno.remove(work, { recursive: true });
    }
  },
});
