/**
 * LeaderElector against a real API server: acquisition, renewal, release on cancel, takeover after a crash,
 * a stolen Lease, clock skew, and the validation of durations.
 */
import assert from "node:assert/strict";
import { KubeClient, Resources, type ResourceType } from "../../controller/kube/mod.ts";
import { Logger } from "../../controller/log.ts";
import {
  defaultIdentity,
  LeaderElector,
  type LeaderElectorOptions,
  type Lease,
} from "../../controller/runtime/leader_election.ts";
import { eventually, testCluster } from "../harness/cluster.ts";

const LEASE_MS = 3_000;
const RENEW_MS = 2_000;
const RETRY_MS = 300;
const LEASE_NAME = "test-leader";
/** Not among the runtime's resources: only this test writes Roles. */
const ROLES: ResourceType = {
  group: "rbac.authorization.k8s.io",
  version: "v1",
  plural: "roles",
  kind: "Role",
  namespaced: true,
};
const MICRO_TIME = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/;

/** One campaigning elector and everything its callbacks saw. */
class Candidate {
  readonly identity: string;
  readonly controller = new AbortController();
  readonly elector: LeaderElector;
  /** The promise of `run`. */
  readonly done: Promise<void>;
  /** "started" and "stopped", in order. */
  readonly events: string[] = [];
  readonly newLeaders: string[] = [];
  readonly leaderChanges: boolean[] = [];
  readonly logs: string[] = [];
  startedAt?: number;
  stoppedAt?: number;
  leadingSignal?: AbortSignal;

  constructor(client: KubeClient, namespace: string, name: string, extra: Partial<LeaderElectorOptions>) {
    this.identity = defaultIdentity(name);
    this.elector = new LeaderElector({
      client,
      namespace,
      name: LEASE_NAME,
      identity: this.identity,
      leaseDurationMs: LEASE_MS,
      renewDeadlineMs: RENEW_MS,
      retryPeriodMs: RETRY_MS,
      logger: new Logger({ level: "debug", sink: (line) => this.logs.push(line) }),
      onStartedLeading: (signal) => {
        this.events.push("started");
        this.startedAt = Date.now();
        this.leadingSignal = signal;
      },
      onStoppedLeading: () => {
        this.events.push("stopped");
        this.stoppedAt = Date.now();
      },
      onNewLeader: (identity) => this.newLeaders.push(identity),
      onLeaderChange: (isLeader) => this.leaderChanges.push(isLeader),
      ...extra,
    });
    this.done = this.elector.run(this.controller.signal);
  }
}

/** Candidates of one test, all stopped when the test ends, whatever its outcome. */
class Candidates implements AsyncDisposable {
  readonly #client: KubeClient;
  readonly #namespace: string;
  readonly #all: Candidate[] = [];

  constructor(client: KubeClient, namespace: string) {
    this.#client = client;
    this.#namespace = namespace;
  }

  add(name: string, extra: Partial<LeaderElectorOptions> = {}): Candidate {
    const c = new Candidate(this.#client, this.#namespace, name, extra);
    this.#all.push(c);
    return c;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    for (const c of this.#all) c.controller.abort();
    await Promise.allSettled(this.#all.map((c) => c.done));
  }
}

function getLease(client: KubeClient, namespace: string): Promise<Lease> {
  return client.get<Lease>(Resources.leases, namespace, LEASE_NAME);
}

/** Resolves with `promise`, or fails the test if it takes longer than `ms`. */
async function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`Timed out after ${ms}ms waiting for ${what}`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function leads(c: Candidate): () => Promise<boolean> {
  return () => Promise.resolve(c.elector.isLeader());
}

Deno.test("LeaderElector creates the Lease, renews it and releases it when cancelled", async () => {
  await using cluster = await testCluster();
  const ns = await cluster.namespace("le-acquire");
  await using group = new Candidates(cluster.client, ns);
  const a = group.add("a");
  await eventually("a to lead", leads(a), 10_000, 20);

  const first = await getLease(cluster.client, ns);
  assert.equal(first.spec?.holderIdentity, a.identity);
  assert.equal(first.spec?.leaseDurationSeconds, LEASE_MS / 1000);
  assert.equal(first.spec?.leaseTransitions, 0);
  assert.match(first.spec?.acquireTime ?? "", MICRO_TIME);
  assert.match(first.spec?.renewTime ?? "", MICRO_TIME);
  assert.equal(a.elector.getLeader(), a.identity);
  assert.deepEqual(a.newLeaders, [a.identity]);
  assert.deepEqual(a.leaderChanges, [true]);
  assert.deepEqual(a.events, ["started"]);
  assert.equal(a.leadingSignal?.aborted, false);

  const renewed = await eventually(
    "renewTime to advance",
    async () => {
      const lease = await getLease(cluster.client, ns);
      return Date.parse(lease.spec?.renewTime ?? "") > Date.parse(first.spec?.renewTime ?? "") && lease;
    },
    3 * RETRY_MS + 1_000,
    50,
  );
  assert.equal(renewed.spec?.holderIdentity, a.identity);
  assert.equal(renewed.spec?.acquireTime, first.spec?.acquireTime, "a renewal keeps the acquire time");
  assert.equal(renewed.spec?.leaseTransitions, 0);

  a.controller.abort();
  await within(a.done, RENEW_MS, "run() to return after cancel");
  assert.equal(a.leadingSignal?.aborted, true);
  assert.deepEqual(a.events, ["started", "stopped"]);
  assert.deepEqual(a.leaderChanges, [true, false]);
  assert.equal(a.elector.isLeader(), false);
  const released = await getLease(cluster.client, ns);
  assert.equal(released.spec?.holderIdentity ?? "", "");
  assert.equal(released.spec?.leaseDurationSeconds, 1);
  assert.equal(released.spec?.leaseTransitions, 0);
});

Deno.test("LeaderElector: of two candidates one leads, and a release hands over at once", async () => {
  await using cluster = await testCluster();
  const ns = await cluster.namespace("le-handover");
  await using group = new Candidates(cluster.client, ns);
  const a = group.add("a");
  const b = group.add("b");
  const leader = await eventually(
    "a leader",
    () => Promise.resolve([a, b].find((c) => c.elector.isLeader())),
    10_000,
    20,
  );
  const follower = leader === a ? b : a;

  // Across several renewals, exactly one leads and the follower knows who.
  for (const deadline = Date.now() + 4 * RETRY_MS; Date.now() < deadline;) {
    assert.equal([a, b].filter((c) => c.elector.isLeader()).length, 1);
    await delay(25);
  }
  assert.deepEqual(follower.events, []);
  assert.equal(follower.elector.getLeader(), leader.identity);
  assert.deepEqual(follower.newLeaders, [leader.identity]);
  assert.equal((await getLease(cluster.client, ns)).spec?.holderIdentity, leader.identity);

  const cancelledAt = Date.now();
  leader.controller.abort();
  await within(leader.done, RENEW_MS, "the leader's run() to return");
  assert.deepEqual(leader.events, ["started", "stopped"]);
  await eventually("the follower to lead", leads(follower), LEASE_MS, 10);
  const takeoverMs = (follower.startedAt ?? Infinity) - cancelledAt;
  assert.ok(takeoverMs < LEASE_MS / 2, `takeover took ${takeoverMs}ms, expected well under ${LEASE_MS}ms`);
  const lease = await getLease(cluster.client, ns);
  assert.equal(lease.spec?.holderIdentity, follower.identity);
  assert.equal(lease.spec?.leaseDurationSeconds, LEASE_MS / 1000);
  assert.equal(lease.spec?.leaseTransitions, 1);
  assert.deepEqual(follower.newLeaders, [leader.identity, follower.identity]);
});

Deno.test("LeaderElector takes over from a crashed leader after the lease duration, not before", async () => {
  await using cluster = await testCluster();
  const ns = await cluster.namespace("le-crash");
  await using group = new Candidates(cluster.client, ns);
  // Without release, cancelling is a crash as far as the Lease is concerned: it just stops being renewed.
  const a = group.add("a", { releaseOnCancel: false });
  await eventually("a to lead", leads(a), 10_000, 20);
  const b = group.add("b");
  await eventually("b to observe a", () => Promise.resolve(b.elector.getLeader() === a.identity), 5_000, 20);

  a.controller.abort();
  await within(a.done, RENEW_MS, "a's run() to return");
  assert.deepEqual(a.events, ["started", "stopped"]);
  const abandoned = await getLease(cluster.client, ns);
  assert.equal(abandoned.spec?.holderIdentity, a.identity, "the Lease was not released");
  const lastRenew = Date.parse(abandoned.spec?.renewTime ?? "");

  await eventually("b to lead", leads(b), LEASE_MS + 3_000, 10);
  const afterMs = (b.startedAt ?? Infinity) - lastRenew;
  // b saw a's last renewal after a wrote it, so it cannot expire earlier than one lease duration later; b
  // polls every retry period (+20% jitter) and must have noticed within about two of them.
  assert.ok(
    afterMs >= LEASE_MS - 50,
    `b took over ${afterMs}ms after a's last renewal, before the lease expired`,
  );
  assert.ok(afterMs <= LEASE_MS + 1_500, `b took over ${afterMs}ms after a's last renewal, too late`);
  const lease = await getLease(cluster.client, ns);
  assert.equal(lease.spec?.holderIdentity, b.identity);
  assert.equal(lease.spec?.leaseTransitions, 1);
});

Deno.test("LeaderElector stops leading when its Lease is stolen, without overwriting it", async () => {
  await using cluster = await testCluster();
  const ns = await cluster.namespace("le-stolen");
  await using group = new Candidates(cluster.client, ns);
  const a = group.add("a");
  await eventually("a to lead", leads(a), 10_000, 20);

  // a renews concurrently, so the steal may meet a Conflict: retry it on a fresh read.
  const stolenAt = await eventually(
    "the Lease to be stolen",
    async () => {
      const lease = await getLease(cluster.client, ns);
      const now = new Date().toISOString().replace("Z", "000Z");
      await cluster.client.update<Lease>(Resources.leases, {
        ...lease,
        spec: {
          ...lease.spec,
          holderIdentity: "thief",
          acquireTime: now,
          renewTime: now,
          leaseDurationSeconds: 30,
        },
      });
      return Date.now();
    },
    5_000,
    10,
  );

  await within(a.done, RENEW_MS + RETRY_MS + 1_000, "a's run() to return");
  assert.equal(a.controller.signal.aborted, false, "run() returned on its own: leadership was lost");
  assert.deepEqual(a.events, ["started", "stopped"]);
  assert.equal(a.leadingSignal?.aborted, true);
  assert.match(String(a.leadingSignal?.reason), /thief/);
  assert.deepEqual(a.leaderChanges, [true, false]);
  assert.equal(a.elector.isLeader(), false);
  assert.equal(a.elector.getLeader(), "thief");
  assert.deepEqual(a.newLeaders, [a.identity, "thief"]);
  // It stepped down on reading the other holder, not only when the renew deadline ran out.
  const stepDownMs = (a.stoppedAt ?? Infinity) - stolenAt;
  assert.ok(stepDownMs < 2 * RETRY_MS + 500, `stepped down ${stepDownMs}ms after the steal`);
  await delay(2 * RETRY_MS);
  assert.equal((await getLease(cluster.client, ns)).spec?.holderIdentity, "thief");
});

Deno.test("LeaderElector gives up when it cannot renew within the renew deadline", async () => {
  await using cluster = await testCluster();
  const ns = await cluster.namespace("le-deadline");
  // The candidate acts as a user whose right to the Lease we can take away, so its renewals fail.
  const user = "le-candidate";
  await cluster.client.create(ROLES, {
    apiVersion: "rbac.authorization.k8s.io/v1",
    kind: "Role",
    metadata: { name: "lease-writer", namespace: ns },
    rules: [{
      apiGroups: ["coordination.k8s.io"],
      resources: ["leases"],
      verbs: ["get", "create", "update"],
    }],
  });
  await cluster.client.create(Resources.roleBindings, {
    apiVersion: "rbac.authorization.k8s.io/v1",
    kind: "RoleBinding",
    metadata: { name: "lease-writer", namespace: ns },
    roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: "lease-writer" },
    subjects: [{ apiGroup: "rbac.authorization.k8s.io", kind: "User", name: user }],
  });
  await using group = new Candidates(cluster.client, ns);
  const a = group.add("a", { client: cluster.client.impersonating(user) });
  await eventually("a to lead", leads(a), 10_000, 20);
  await delay(2 * RETRY_MS);
  assert.ok(a.elector.isLeader());

  const revokedAt = Date.now();
  await cluster.client.delete(Resources.roleBindings, ns, "lease-writer");
  await within(a.done, RENEW_MS + RETRY_MS + 2_000, "a's run() to return");
  assert.equal(a.controller.signal.aborted, false, "run() returned on its own: leadership was lost");
  assert.deepEqual(a.events, ["started", "stopped"]);
  assert.equal(a.leadingSignal?.aborted, true);
  assert.match(String(a.leadingSignal?.reason), /renew deadline/);
  assert.deepEqual(a.leaderChanges, [true, false]);
  // Renewals are retried until the deadline: a last success came at most a retry period before the
  // revocation, so giving up much earlier than the renew deadline after it would be premature.
  const stopMs = (a.stoppedAt ?? Infinity) - revokedAt;
  assert.ok(stopMs >= RENEW_MS - RETRY_MS - 200, `gave up ${stopMs}ms after the revocation, too early`);
  assert.ok(stopMs <= RENEW_MS + RETRY_MS + 1_000, `gave up ${stopMs}ms after the revocation, too late`);
  // The point of the deadline: the leader stops before anyone else may consider the Lease expired.
  const lease = await getLease(cluster.client, ns);
  assert.equal(lease.spec?.holderIdentity, a.identity, "a lost Lease is left to expire, not released");
  const expiresAt = Date.parse(lease.spec?.renewTime ?? "") + LEASE_MS;
  assert.ok((a.stoppedAt ?? Infinity) < expiresAt, "the leader outlived its Lease");
});

Deno.test("LeaderElector ignores remote timestamps: skewed clocks neither steal nor block", async () => {
  await using cluster = await testCluster();
  const ns = await cluster.namespace("le-skew");
  await using group = new Candidates(cluster.client, ns);
  const a = group.add("a", { releaseOnCancel: false });
  await eventually("a to lead", leads(a), 10_000, 20);
  const hour = 3_600_000;
  // To "ahead", a's renewTime is an hour old; to "behind", an hour in the future.
  const ahead = group.add("ahead", { clock: () => Date.now() + hour });
  const behind = group.add("behind", { clock: () => Date.now() - hour });

  for (const deadline = Date.now() + LEASE_MS + 500; Date.now() < deadline;) {
    assert.ok(a.elector.isLeader(), "the leader kept the Lease");
    assert.ok(
      !ahead.elector.isLeader() && !behind.elector.isLeader(),
      "a skewed candidate took a live Lease",
    );
    await delay(50);
  }
  assert.equal((await getLease(cluster.client, ns)).spec?.holderIdentity, a.identity);

  // "behind" must still notice a crashed leader (no release) after the lease duration.
  ahead.controller.abort();
  await within(ahead.done, RENEW_MS, "ahead's run() to return");
  const crashedAt = Date.now();
  a.controller.abort();
  await eventually("behind to lead", leads(behind), LEASE_MS + 3_000, 20);
  const afterMs = (behind.startedAt ?? Infinity) - crashedAt;
  assert.ok(afterMs >= LEASE_MS - RETRY_MS - 200, `behind took over ${afterMs}ms after the crash`);
  assert.equal((await getLease(cluster.client, ns)).spec?.holderIdentity, behind.identity);
});

Deno.test("LeaderElector rejects durations that break leaseDuration > renewDeadline > 1.2 × retryPeriod", () => {
  const client = new KubeClient({ server: "https://127.0.0.1:1", source: "test" });
  try {
    const make = (leaseDurationMs: number, renewDeadlineMs: number, retryPeriodMs: number) =>
      new LeaderElector({
        client,
        namespace: "default",
        name: "lease",
        identity: "me",
        leaseDurationMs,
        renewDeadlineMs,
        retryPeriodMs,
        onStartedLeading() {},
        onStoppedLeading() {},
      });
    assert.throws(() => make(2_000, 2_000, 300), RangeError);
    assert.throws(() => make(1_500, 2_000, 300), /^RangeError: Lease duration \(1500ms\) must be greater/);
    assert.throws(() => make(3_000, 1_200, 1_000), /^RangeError: Renew deadline \(1200ms\) must be greater/);
    assert.throws(() => make(3_000, 1_000, 1_000), RangeError);
    assert.throws(() => make(3_000, 2_000, 0), /^RangeError: Retry period must be a positive number/);
    assert.throws(() => make(3_000, 2_000, -1), RangeError);
    assert.throws(
      () => make(Number.NaN, 2_000, 300),
      /^RangeError: Lease duration must be a positive number/,
    );
    assert.throws(() => make(Infinity, 2_000, 300), RangeError);
    assert.throws(() => make(3_000, 0, 300), /^RangeError: Renew deadline must be a positive number/);
    assert.ok(make(3_000, 1_201, 1_000));
    assert.ok(make(15_000, 10_000, 2_000));
    assert.throws(
      () =>
        new LeaderElector({
          client,
          namespace: "default",
          name: "lease",
          identity: "",
          leaseDurationMs: 3_000,
          renewDeadlineMs: 2_000,
          retryPeriodMs: 300,
          onStartedLeading() {},
          onStoppedLeading() {},
        }),
      /identity must not be empty/,
    );
    assert.match(
      defaultIdentity("pod-1"),
      /^pod-1_[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/,
    );
  } finally {
    client.close();
  }
});
