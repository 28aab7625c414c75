import assert from "node:assert/strict";
import { realClock } from "../../controller/workqueue/clock.ts";
import { FakeClock } from "../_fake/clock.ts";

Deno.test("FakeClock: step fires due timers in time order, including ones scheduled meanwhile", () => {
  const clock = new FakeClock(100);
  const fired: string[] = [];
  clock.setTimer(() => fired.push(`b@${clock.now()}`), 20);
  clock.setTimer(() => {
    fired.push(`a@${clock.now()}`);
    clock.setTimer(() => fired.push(`nested@${clock.now()}`), 5);
    clock.setTimer(() => fired.push(`too-late@${clock.now()}`), 50);
  }, 10);
  const cancelled = clock.setTimer(() => fired.push("cancelled"), 1);
  cancelled.cancel();
  clock.step(30);
  assert.deepEqual(fired, ["a@110", "nested@115", "b@120"]);
  assert.equal(clock.now(), 130);
  assert.equal(clock.hasWaiters(), true, "the 50 ms timer is still pending");
  clock.step(30);
  assert.deepEqual(fired.at(-1), "too-late@160");
  assert.equal(clock.hasWaiters(), false);
});

Deno.test("FakeClock: zero delays wait for step, infinite delays never fire", () => {
  const clock = new FakeClock();
  let fired = 0;
  clock.setTimer(() => fired++, 0);
  clock.setTimer(() => fired++, Infinity);
  assert.equal(fired, 0);
  clock.step(0);
  assert.equal(fired, 1);
  clock.step(1e12);
  assert.equal(fired, 1);
});

Deno.test("realClock: runs a zero-delay timer asynchronously, and cancel prevents firing", async () => {
  const fired: string[] = [];
  realClock.setTimer(() => fired.push("cancelled"), 0).cancel();
  await new Promise<void>((resolve) => {
    realClock.setTimer(() => {
      fired.push("kept");
      resolve();
    }, 0);
    assert.deepEqual(fired, [], "never runs inside setTimer");
  });
  assert.deepEqual(fired, ["kept"]);
});
