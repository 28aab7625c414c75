import assert from "node:assert/strict";
import { DelayingQueue } from "../../controller/workqueue/delaying_queue.ts";
import { FakeClock } from "../_fake/clock.ts";
import { flush, probe } from "./_helpers.ts";

/** Takes everything currently queued, marking each item done. */
async function takeAll(q: DelayingQueue<string>): Promise<string[]> {
  const items: string[] = [];
  while (q.len() > 0) {
    const item = await q.get();
    assert.ok(item !== undefined);
    items.push(item);
    q.done(item);
  }
  return items;
}

Deno.test("DelayingQueue: items become ready in ready-time order, not add order", async () => {
  const clock = new FakeClock();
  const q = new DelayingQueue<string>({ clock });
  q.addAfter("a", 30);
  q.addAfter("b", 10);
  q.addAfter("c", 20);
  clock.step(9);
  assert.equal(q.len(), 0, "nothing is ready before its delay");
  clock.step(1);
  assert.deepEqual(await takeAll(q), ["b"]);
  clock.step(25);
  assert.deepEqual(await takeAll(q), ["c", "a"]);
  assert.equal(clock.hasWaiters(), false, "no timer is left once nothing waits");
});

Deno.test("DelayingQueue: one step past several ready times queues them in ready-time order", async () => {
  const clock = new FakeClock();
  const q = new DelayingQueue<string>({ clock });
  q.addAfter("late", 30);
  q.addAfter("tie-1", 20);
  q.addAfter("early", 10);
  q.addAfter("tie-2", 20);
  clock.step(100);
  assert.deepEqual(await takeAll(q), ["early", "tie-1", "tie-2", "late"]);
});

Deno.test("DelayingQueue: a single timer is armed for the earliest waiting item", () => {
  const clock = new FakeClock();
  const q = new DelayingQueue<string>({ clock });
  for (let i = 0; i < 50; i++) q.addAfter(`item-${i}`, 100 + i);
  assert.equal(clock.pendingTimers(), 1);
  q.addAfter("sooner", 5);
  assert.equal(clock.pendingTimers(), 1, "re-arming must cancel the previous timer");
  clock.step(5);
  assert.equal(q.len(), 1);
  assert.equal(clock.pendingTimers(), 1);
});

Deno.test("DelayingQueue: an item already waiting keeps the earlier ready time", async () => {
  const clock = new FakeClock();
  const q = new DelayingQueue<string>({ clock });
  q.addAfter("a", 50);
  q.addAfter("a", 10); // earlier: moves it forward
  clock.step(10);
  assert.deepEqual(await takeAll(q), ["a"]);
  clock.step(100);
  assert.equal(q.len(), 0, "the later request was merged, not kept as a second entry");

  q.addAfter("b", 10);
  q.addAfter("b", 50); // later: ignored
  clock.step(10);
  assert.deepEqual(await takeAll(q), ["b"]);
  clock.step(100);
  assert.equal(q.len(), 0);
  assert.equal(clock.hasWaiters(), false);
});

Deno.test("DelayingQueue: a zero or negative delay adds immediately without a timer", () => {
  const clock = new FakeClock();
  const q = new DelayingQueue<string>({ clock });
  q.addAfter("zero", 0);
  q.addAfter("negative", -5);
  q.addAfter("nan", NaN);
  assert.equal(q.len(), 3);
  assert.equal(clock.hasWaiters(), false);
});

Deno.test("DelayingQueue: a delayed item wakes a waiting worker", async () => {
  const clock = new FakeClock();
  const q = new DelayingQueue<string>({ clock });
  const worker = probe(q.get());
  q.addAfter("a", 10);
  clock.step(9);
  await flush();
  assert.equal(worker.settled, false);
  clock.step(1);
  await flush();
  assert.equal(worker.value, "a");
});

Deno.test("DelayingQueue: a delayed add of a queued item is de-duplicated on arrival", () => {
  const clock = new FakeClock();
  const q = new DelayingQueue<string>({ clock });
  q.add("a");
  q.addAfter("a", 5);
  clock.step(5);
  assert.equal(q.len(), 1);
});

Deno.test("DelayingQueue: shutDown cancels the timer, drops waiting items and ignores addAfter", async () => {
  const clock = new FakeClock();
  const q = new DelayingQueue<string>({ clock });
  q.addAfter("a", 10);
  assert.equal(clock.hasWaiters(), true);
  q.shutDown();
  assert.equal(clock.hasWaiters(), false);
  q.addAfter("b", 10);
  q.addAfter("c", 0);
  assert.equal(clock.hasWaiters(), false);
  clock.step(100);
  assert.equal(q.len(), 0);
  assert.equal(await q.get(), undefined);
});

Deno.test("DelayingQueue: shutDownWithDrain cancels the timer and does not wait for delayed items", async () => {
  const clock = new FakeClock();
  const q = new DelayingQueue<string>({ clock });
  q.addAfter("a", 10);
  const drained = probe(q.shutDownWithDrain());
  await flush();
  assert.equal(drained.settled, true);
  assert.equal(clock.hasWaiters(), false);
  clock.step(100);
  assert.equal(q.len(), 0);
});
