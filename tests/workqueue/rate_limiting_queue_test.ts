import assert from "node:assert/strict";
import { ItemExponentialFailureRateLimiter } from "../../controller/workqueue/rate_limiter.ts";
import { RateLimitingQueue } from "../../controller/workqueue/rate_limiting_queue.ts";
import { FakeClock } from "../_fake/clock.ts";

Deno.test("RateLimitingQueue: addRateLimited delays by the limiter's backoff, forget resets it", async () => {
  const clock = new FakeClock();
  const q = new RateLimitingQueue<string>({
    clock,
    rateLimiter: new ItemExponentialFailureRateLimiter(10, 1000),
  });
  q.addRateLimited("a");
  assert.equal(q.numRequeues("a"), 1);
  clock.step(9);
  assert.equal(q.len(), 0);
  clock.step(1);
  assert.equal(q.len(), 1, "first retry after 10 ms");

  assert.equal(await q.get(), "a");
  q.addRateLimited("a"); // failed again: 20 ms
  q.done("a");
  assert.equal(q.numRequeues("a"), 2);
  clock.step(19);
  assert.equal(q.len(), 0);
  clock.step(1);
  assert.equal(q.len(), 1, "second retry after 20 ms");

  assert.equal(await q.get(), "a");
  q.forget("a"); // succeeded
  q.done("a");
  assert.equal(q.numRequeues("a"), 0);
  q.addRateLimited("a");
  clock.step(10);
  assert.equal(q.len(), 1, "backoff starts over after forget");
});

Deno.test("RateLimitingQueue: forget does not remove a queued item", () => {
  const clock = new FakeClock();
  const q = new RateLimitingQueue<string>({ clock });
  q.add("a");
  q.forget("a");
  assert.equal(q.len(), 1);
});

Deno.test("RateLimitingQueue: defaults to the controller rate limiter on the given clock", () => {
  const clock = new FakeClock();
  const q = new RateLimitingQueue<string>({ clock });
  q.addRateLimited("a");
  assert.equal(clock.hasWaiters(), true, "the delay must go through the fake clock");
  clock.step(4);
  assert.equal(q.len(), 0);
  clock.step(1);
  assert.equal(q.len(), 1, "5 ms base backoff");
});

Deno.test("RateLimitingQueue: onRetry is reported; nothing happens after shutdown", () => {
  const clock = new FakeClock();
  const retries: string[] = [];
  const adds: string[] = [];
  const q = new RateLimitingQueue<string>({
    clock,
    rateLimiter: new ItemExponentialFailureRateLimiter(10, 1000),
    metrics: { onRetry: (item) => retries.push(item), onAdd: (item) => adds.push(item) },
  });
  q.addRateLimited("a");
  q.addRateLimited("b");
  clock.step(10);
  assert.deepEqual(retries, ["a", "b"]);
  assert.deepEqual(adds, ["a", "b"], "base queue hooks still fire when the delayed items arrive");
  q.shutDown();
  q.addRateLimited("a");
  assert.deepEqual(retries, ["a", "b"]);
  assert.equal(q.numRequeues("a"), 1, "the limiter is not consulted once shutting down");
  assert.equal(clock.hasWaiters(), false);
});

Deno.test("RateLimitingQueue: workers retry a failing item with backoff until it succeeds", async () => {
  const clock = new FakeClock();
  const q = new RateLimitingQueue<string>({
    clock,
    rateLimiter: new ItemExponentialFailureRateLimiter(10, 1000),
  });
  const attempts: number[] = [];
  q.add("a");
  for (let round = 0; round < 4; round++) {
    // Run whatever is ready, the way a worker loop does.
    while (q.len() > 0) {
      const item = await q.get();
      assert.equal(item, "a");
      attempts.push(clock.now());
      if (attempts.length < 3) q.addRateLimited(item);
      else q.forget(item);
      q.done(item);
    }
    clock.step(10);
  }
  assert.deepEqual(attempts, [0, 10, 30], "retried after 10 ms then 20 ms, then left alone");
  assert.equal(q.numRequeues("a"), 0);
});
