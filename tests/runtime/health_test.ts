import assert from "node:assert/strict";
import { HealthChecks, type HealthKind } from "../../controller/runtime/health.ts";

async function probe(
  health: HealthChecks,
  kind: HealthKind,
  path: string,
): Promise<{ status: number; body: string; type: string | null }> {
  const res = await health.respond(kind, new URL(path, "http://localhost"));
  return { status: res.status, body: await res.text(), type: res.headers.get("content-type") };
}

Deno.test("HealthChecks answers 200 ok with no checks registered", async () => {
  const health = new HealthChecks();
  assert.deepEqual(await probe(health, "liveness", "/healthz"), {
    status: 200,
    body: "ok",
    type: "text/plain; charset=utf-8",
  });
  assert.equal((await probe(health, "readiness", "/readyz")).body, "ok");
});

Deno.test("HealthChecks keeps liveness and readiness apart", async () => {
  const health = new HealthChecks();
  health.addLiveness("ping", () => true);
  health.addReadiness("ping", () => "not ready"); // the same name in the other set is allowed
  assert.equal((await probe(health, "liveness", "/healthz")).status, 200);
  assert.equal((await probe(health, "readiness", "/readyz")).status, 500);
});

Deno.test("HealthChecks lists failing checks with their reasons, and passing ones only when verbose", async (t) => {
  const health = new HealthChecks();
  health.addReadiness("ping", () => true);
  health.addReadiness("informers", () => Promise.resolve("cloudshells not synced"));
  health.addReadiness("leader", () => true);

  await t.step("failure", async () => {
    const { status, body } = await probe(health, "readiness", "/readyz");
    assert.equal(status, 500);
    assert.equal(body, "[-]informers failed: cloudshells not synced\nreadyz check failed\n");
  });

  await t.step("failure, verbose", async () => {
    const { status, body } = await probe(health, "readiness", "/readyz?verbose");
    assert.equal(status, 500);
    assert.equal(
      body,
      "[-]informers failed: cloudshells not synced\n[+]leader ok\n[+]ping ok\nreadyz check failed\n",
    );
  });

  await t.step("excluded failure", async () => {
    assert.deepEqual(await probe(health, "readiness", "/readyz?exclude=informers"), {
      status: 200,
      body: "ok",
      type: "text/plain; charset=utf-8",
    });
  });

  await t.step("excluded, verbose, with an unknown name", async () => {
    const { status, body } = await probe(
      health,
      "readiness",
      "/readyz?verbose&exclude=informers,nope&exclude=ping",
    );
    assert.equal(status, 200);
    assert.equal(
      body,
      '[+]leader ok\nwarn: some health checks cannot be excluded: no matches for "nope"\nreadyz check passed\n',
    );
  });
});

Deno.test("HealthChecks passing verbose output ends with the endpoint name", async () => {
  const health = new HealthChecks();
  health.addLiveness("ping", () => true);
  assert.deepEqual(await probe(health, "liveness", "/healthz?verbose=1"), {
    status: 200,
    body: "[+]ping ok\nhealthz check passed\n",
    type: "text/plain; charset=utf-8",
  });
});

Deno.test("HealthChecks turns throws, rejections and empty reasons into failures", async () => {
  const health = new HealthChecks();
  health.addLiveness("throws", () => {
    throw new Error("watchdog tripped", { cause: new Error("no event for 600s") });
  });
  health.addLiveness("rejects", () => Promise.reject(new Error("boom")));
  health.addLiveness("empty", () => "");
  const report = await health.run("liveness");
  assert.equal(report.ok, false);
  assert.deepEqual(report.results, [
    { name: "empty", ok: false, reason: "unhealthy" },
    { name: "rejects", ok: false, reason: "boom" },
    { name: "throws", ok: false, reason: "watchdog tripped: no event for 600s" },
  ]);
});

Deno.test("HealthChecks runs checks concurrently", async () => {
  const health = new HealthChecks();
  const trace: string[] = [];
  for (const name of ["a", "b"]) {
    health.addReadiness(name, async (): Promise<true> => {
      trace.push(`start ${name}`);
      await Promise.resolve();
      trace.push(`end ${name}`);
      return true;
    });
  }
  assert.equal((await health.run("readiness")).ok, true);
  assert.deepEqual(trace, ["start a", "start b", "end a", "end b"]);
});

Deno.test("HealthChecks answers a single check at /<endpoint>/<name>", async () => {
  const health = new HealthChecks();
  health.addLiveness("ping", () => true);
  health.addReadiness("informers", () => "not synced");
  assert.equal((await probe(health, "liveness", "/healthz/ping")).body, "ok");
  assert.deepEqual(await probe(health, "readiness", "/readyz/informers"), {
    status: 500,
    body: "internal server error: not synced\n",
    type: "text/plain; charset=utf-8",
  });
  const missing = await probe(health, "readiness", "/readyz/ping");
  assert.equal(missing.status, 404);
  assert.match(missing.body, /readyz check "ping" not found/);
});

Deno.test("HealthChecks rejects invalid and duplicate names", () => {
  const health = new HealthChecks();
  health.addReadiness("informers", () => true);
  assert.throws(() => health.addReadiness("informers", () => true), {
    message: 'Cannot add readiness check "informers": name already used',
  });
  for (const name of ["", "a/b", "a,b", "a b", "-a"]) {
    assert.throws(() => health.addLiveness(name, () => true), {
      message: `Cannot add liveness check "${name}": invalid name`,
    });
  }
});
