import assert from "node:assert/strict";
import {
  BucketRateLimiter,
  defaultControllerRateLimiter,
  ItemExponentialFailureRateLimiter,
  MaxOfRateLimiter,
} from "../../controller/workqueue/rate_limiter.ts";
import { FakeClock } from "../_fake/clock.ts";

Deno.test("ItemExponentialFailureRateLimiter: doubles per failure up to the cap", () => {
  const limiter = new ItemExponentialFailureRateLimiter<string>(5, 1000);
  const delays = Array.from({ length: 10 }, () => limiter.when("a"));
  assert.deepEqual(delays, [5, 10, 20, 40, 80, 160, 320, 640, 1000, 1000]);
  assert.equal(limiter.numRequeues("a"), 10);
});

Deno.test("ItemExponentialFailureRateLimiter: items back off independently and forget resets", () => {
  const limiter = new ItemExponentialFailureRateLimiter<string>(1, 100);
  limiter.when("a");
  limiter.when("a");
  assert.equal(limiter.when("b"), 1);
  assert.equal(limiter.when("a"), 4);
  limiter.forget("a");
  assert.equal(limiter.numRequeues("a"), 0);
  assert.equal(limiter.numRequeues("b"), 1);
  assert.equal(limiter.when("a"), 1);
});

Deno.test("ItemExponentialFailureRateLimiter: many failures stay capped, never overflow", () => {
  const limiter = new ItemExponentialFailureRateLimiter<string>(5, 1_000_000);
  let last = 0;
  for (let i = 0; i < 5000; i++) last = limiter.when("a");
  assert.equal(last, 1_000_000);
  const zero = new ItemExponentialFailureRateLimiter<string>(0, 10);
  for (let i = 0; i < 5000; i++) last = zero.when("a");
  assert.equal(last, 0, "a zero base must not become NaN or the cap");
});

Deno.test("ItemExponentialFailureRateLimiter: rejects invalid bounds", () => {
  assert.throws(() => new ItemExponentialFailureRateLimiter(-1, 10), RangeError);
  assert.throws(() => new ItemExponentialFailureRateLimiter(10, 5), RangeError);
  assert.throws(() => new ItemExponentialFailureRateLimiter(NaN, 5), RangeError);
});

Deno.test("BucketRateLimiter: burst is free, then reservations are spaced at 1/qps", () => {
  const clock = new FakeClock();
  const limiter = new BucketRateLimiter<string>(10, 3, clock);
  const delays = ["a", "b", "c", "d", "e", "f"].map((item) => limiter.when(item));
  assert.deepEqual(delays, [0, 0, 0, 100, 200, 300]);
  assert.equal(limiter.numRequeues("d"), 0);
});

Deno.test("BucketRateLimiter: tokens refill with time, up to the burst", () => {
  const clock = new FakeClock();
  const limiter = new BucketRateLimiter<string>(10, 2, clock);
  limiter.when("a");
  limiter.when("a");
  assert.equal(limiter.when("a"), 100, "bucket empty: wait one interval");
  clock.step(100); // pays the debt back to zero tokens
  assert.equal(limiter.when("a"), 100);
  clock.step(150); // 1.5 tokens minus the debt of 1 leaves half a token
  assert.equal(limiter.when("a"), 50);
  clock.step(60_000); // a long pause refills only up to the burst
  assert.deepEqual([limiter.when("a"), limiter.when("a"), limiter.when("a")], [0, 0, 100]);
  limiter.forget("a"); // no-op: the bucket is shared
  assert.equal(limiter.when("a"), 200);
});

Deno.test("BucketRateLimiter: rejects invalid parameters; infinite qps never waits", () => {
  const clock = new FakeClock();
  assert.throws(() => new BucketRateLimiter(0, 1, clock), RangeError);
  assert.throws(() => new BucketRateLimiter(10, 0, clock), RangeError);
  const unlimited = new BucketRateLimiter<string>(Infinity, 1, clock);
  assert.deepEqual([unlimited.when("a"), unlimited.when("a"), unlimited.when("a")], [0, 0, 0]);
});

Deno.test("MaxOfRateLimiter: takes the longest delay and highest requeue count; forgets in all", () => {
  const clock = new FakeClock();
  const exponential = new ItemExponentialFailureRateLimiter<string>(5, 1000);
  const bucket = new BucketRateLimiter<string>(1, 2, clock);
  const limiter = new MaxOfRateLimiter<string>(exponential, bucket);
  assert.equal(limiter.when("a"), 5);
  assert.equal(limiter.when("a"), 10);
  assert.equal(limiter.when("b"), 1000, "the bucket is empty after two tokens");
  assert.equal(exponential.numRequeues("a"), 2, "every limiter records every requeue");
  assert.equal(limiter.numRequeues("a"), 2);
  limiter.forget("a");
  assert.equal(limiter.numRequeues("a"), 0);
  assert.equal(exponential.numRequeues("b"), 1);
});

Deno.test("defaultControllerRateLimiter: 5 ms backoff, and the 10 qps / 100 burst bucket beyond that", () => {
  const clock = new FakeClock();
  const limiter = defaultControllerRateLimiter<string>(clock);
  const first = Array.from({ length: 100 }, (_, i) => limiter.when(`item-${i}`));
  assert.ok(first.every((delay) => delay === 5), "within the burst, the per-item backoff rules");
  assert.equal(limiter.when("item-100"), 100, "the 101st retry waits for a token at 10 qps");
  assert.equal(limiter.when("item-0"), 200, "max of per-item 10 ms and the bucket's 200 ms");
  assert.equal(limiter.numRequeues("item-0"), 2);
});

Deno.test("defaultControllerRateLimiter: the numbers can be overridden", () => {
  const clock = new FakeClock();
  const limiter = defaultControllerRateLimiter<string>(clock, {
    baseDelayMs: 1,
    maxDelayMs: 3,
    qps: 1,
    burst: 1000,
  });
  assert.deepEqual([1, 2, 3, 4].map(() => limiter.when("a")), [1, 2, 3, 3]);
  const slow = defaultControllerRateLimiter<string>(clock, { qps: 2, burst: 1 });
  assert.deepEqual([slow.when("a"), slow.when("b")], [5, 500]);
});
