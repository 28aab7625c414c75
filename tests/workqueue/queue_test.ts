import assert from "node:assert/strict";
import { Queue } from "../../controller/workqueue/queue.ts";
import { FakeClock } from "../_fake/clock.ts";
import { flush, probe } from "./_helpers.ts";

Deno.test("Queue: adds of a pending item are de-duplicated", async () => {
  const q = new Queue<string>();
  q.add("a");
  q.add("b");
  q.add("a");
  assert.equal(q.len(), 2);
  assert.equal(await q.get(), "a");
  assert.equal(await q.get(), "b");
  assert.equal(q.len(), 0);
  const next = probe(q.get());
  await flush();
  assert.equal(next.settled, false, "the duplicate 'a' must not have been queued");
});

Deno.test("Queue: items come out in FIFO order", async () => {
  const q = new Queue<string>();
  for (const item of ["c", "a", "d", "b"]) q.add(item);
  const got = [await q.get(), await q.get(), await q.get(), await q.get()];
  assert.deepEqual(got, ["c", "a", "d", "b"]);
});

Deno.test("Queue: higher priorities come out first, FIFO within a priority", async () => {
  const q = new Queue<string>();
  q.add("low-1");
  q.add("high-1", 1);
  q.add("low-2", 0);
  q.add("urgent", 5);
  q.add("high-2", 1);
  assert.equal(q.len(), 5);
  const got = [];
  for (let i = 0; i < 5; i++) got.push(await q.get());
  assert.deepEqual(got, ["urgent", "high-1", "high-2", "low-1", "low-2"]);
  assert.equal(q.len(), 0);
});

Deno.test("Queue: re-adding a pending item with a higher priority raises it once; a lower one is ignored", async () => {
  const q = new Queue<string>();
  for (const item of ["a", "b", "c"]) q.add(item);
  q.add("x", 1);
  q.add("c", 1); // raised behind x
  q.add("x", 0); // never lowered
  assert.equal(q.len(), 4, "raising must not duplicate");
  const got = [];
  for (let i = 0; i < 4; i++) got.push(await q.get());
  assert.deepEqual(got, ["x", "c", "a", "b"]);
  const next = probe(q.get());
  await flush();
  assert.equal(next.settled, false, "the stale low-priority entry of 'c' must not come out");
  for (const item of got) q.done(item);
});

Deno.test("Queue: an item raised while processing is queued at the raised priority by done", async () => {
  const q = new Queue<string>();
  q.add("a");
  assert.equal(await q.get(), "a");
  q.add("b");
  q.add("a"); // dirty at priority 0 while processing
  q.add("a", 2); // raised while still processing
  assert.equal(q.len(), 1, "a processing item is not queued");
  q.done("a");
  assert.equal(await q.get(), "a");
  assert.equal(await q.get(), "b");
});

Deno.test("Queue: a stale entry left by raising does not make an item come out twice", async () => {
  const q = new Queue<string>();
  q.add("a");
  q.add("b");
  q.add("a", 1); // leaves a stale entry for "a" at priority 0, ahead of "b"
  assert.equal(await q.get(), "a");
  q.done("a");
  q.add("a"); // queued again at 0, behind "b"
  assert.equal(q.len(), 2);
  const got = [await q.get(), await q.get()];
  assert.deepEqual(got.sort(), ["a", "b"]);
  const next = probe(q.get());
  await flush();
  assert.equal(next.settled, false);
});

Deno.test("Queue: an item re-added while processing is processed again after done, by one worker", async () => {
  const q = new Queue<string>();
  q.add("a");
  assert.equal(await q.get(), "a"); // worker 1 holds "a"
  q.add("a");
  q.add("a");
  assert.equal(q.len(), 0, "a processing item must not be queued");
  const worker2 = probe(q.get());
  await flush();
  assert.equal(worker2.settled, false, "worker 2 must not receive 'a' while worker 1 holds it");

  q.done("a");
  await flush();
  assert.equal(worker2.settled, true);
  assert.equal(worker2.value, "a");
  q.done("a");
  assert.equal(q.len(), 0, "both re-adds collapse into a single extra round");
  const worker3 = probe(q.get());
  await flush();
  assert.equal(worker3.settled, false);
});

Deno.test("Queue: done of an item that was not re-added does not queue it", async () => {
  const q = new Queue<string>();
  q.add("a");
  await q.get();
  q.done("a");
  assert.equal(q.len(), 0);
  q.done("a"); // not processing: must not queue a ghost copy
  q.done("zzz");
  assert.equal(q.len(), 0);
});

Deno.test("Queue: concurrent waiting workers each receive distinct items in call order", async () => {
  const q = new Queue<string>();
  const workers = [probe(q.get()), probe(q.get()), probe(q.get())];
  q.add("x");
  q.add("x");
  q.add("y");
  await flush();
  assert.deepEqual(workers.map((w) => w.value), ["x", "y", undefined]);
  assert.equal(workers[2].settled, false);
  q.add("z");
  await flush();
  assert.equal(workers[2].value, "z");
});

Deno.test("Queue: get waits while empty and wakes on add", async () => {
  const q = new Queue<string>();
  const pending = probe(q.get());
  await flush();
  assert.equal(pending.settled, false);
  q.add("a");
  await flush();
  assert.equal(pending.settled, true);
  assert.equal(pending.value, "a");
});

Deno.test("Queue: shutDown wakes waiting getters with undefined and stops the queue", async () => {
  const q = new Queue<string>();
  const a = probe(q.get());
  const b = probe(q.get());
  assert.equal(q.shuttingDown(), false);
  q.shutDown();
  await flush();
  assert.equal(q.shuttingDown(), true);
  assert.deepEqual([a.settled, a.value, b.settled, b.value], [true, undefined, true, undefined]);
  q.add("late");
  assert.equal(q.len(), 0, "adds after shutDown are ignored");
  assert.equal(await q.get(), undefined);
});

Deno.test("Queue: after shutDown get resolves undefined even with items left", async () => {
  const q = new Queue<string>();
  q.add("a");
  q.shutDown();
  assert.equal(await q.get(), undefined);
  assert.equal(q.len(), 1);
});

Deno.test("Queue: shutDownWithDrain hands out the backlog, rejects adds, waits for in-flight items", async () => {
  const q = new Queue<string>();
  q.add("a");
  q.add("b");
  assert.equal(await q.get(), "a");
  const drained = probe(q.shutDownWithDrain());
  assert.equal(q.shuttingDown(), true);
  q.add("c");
  assert.equal(q.len(), 1, "new adds are rejected while draining");
  assert.equal(await q.get(), "b", "the backlog is still handed out");
  assert.equal(await q.get(), undefined, "get resolves undefined once the backlog is empty");
  q.done("a");
  await flush();
  assert.equal(drained.settled, false, "'b' is still in flight");
  q.done("b");
  await flush();
  assert.equal(drained.settled, true);
});

Deno.test("Queue: shutDownWithDrain waits for an item re-queued by done", async () => {
  const q = new Queue<string>();
  q.add("a");
  await q.get();
  q.add("a"); // re-added before the shutdown, so it is still owed a run
  const drained = probe(q.shutDownWithDrain());
  q.done("a");
  await flush();
  assert.equal(drained.settled, false);
  assert.equal(await q.get(), "a");
  q.done("a");
  await flush();
  assert.equal(drained.settled, true);
});

Deno.test("Queue: shutDownWithDrain resolves at once when idle, and wakes waiting getters", async () => {
  const q = new Queue<string>();
  const waiting = probe(q.get());
  const drained = probe(q.shutDownWithDrain());
  await flush();
  assert.equal(waiting.settled, true);
  assert.equal(waiting.value, undefined);
  assert.equal(drained.settled, true);
});

Deno.test("Queue: shutDown releases a pending drain without waiting for in-flight items", async () => {
  const q = new Queue<string>();
  q.add("a");
  await q.get();
  const drained = probe(q.shutDownWithDrain());
  await flush();
  assert.equal(drained.settled, false);
  q.shutDown();
  await flush();
  assert.equal(drained.settled, true);
});

Deno.test("Queue: metrics hooks report adds, waits, work time and depth", async () => {
  const clock = new FakeClock(1000);
  const events: string[] = [];
  const q = new Queue<string>({
    clock,
    metrics: {
      onAdd: (item) => events.push(`add ${item}`),
      onGet: (item, waitedMs) => events.push(`get ${item} ${waitedMs}`),
      onDone: (item, workedMs) => events.push(`done ${item} ${workedMs}`),
      depth: (n) => events.push(`depth ${n}`),
    },
  });
  q.add("a");
  q.add("a"); // duplicate: not reported
  q.add("b");
  clock.step(5);
  assert.equal(await q.get(), "a");
  clock.step(7);
  q.add("a"); // re-added while processing: counted as an add, queued only at done
  clock.step(3);
  q.done("a");
  clock.step(2);
  assert.equal(await q.get(), "b");
  assert.equal(await q.get(), "a");
  q.done("zzz"); // not processing: no onDone
  assert.deepEqual(events, [
    "add a",
    "depth 1",
    "add b",
    "depth 2",
    "get a 5",
    "depth 1",
    "add a",
    "done a 10",
    "depth 2",
    "get b 17",
    "depth 1",
    "get a 5",
    "depth 0",
  ]);
});
