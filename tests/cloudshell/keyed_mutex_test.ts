import assert from "node:assert/strict";
import { KeyedMutex } from "../../controller/cloudshell/keyed_mutex.ts";

const tick = (ms = 1) => new Promise((r) => setTimeout(r, ms));

Deno.test("callers with the same key run one at a time, in order", async () => {
  const mutex = new KeyedMutex();
  const log: string[] = [];
  let inside = 0;
  let most = 0;
  await Promise.all(Array.from({ length: 10 }, (_, i) =>
    mutex.run("k", async () => {
      inside++;
      most = Math.max(most, inside);
      log.push(`start ${i}`);
      await tick();
      log.push(`end ${i}`);
      inside--;
    })));
  assert.equal(most, 1);
  assert.deepEqual(log, Array.from({ length: 10 }, (_, i) => [`start ${i}`, `end ${i}`]).flat());
  assert.equal(mutex.size, 0, "idle keys are dropped");
});

Deno.test("different keys do not wait for each other", async () => {
  const mutex = new KeyedMutex();
  let release!: () => void;
  const blocked = mutex.run("a", () => new Promise<void>((r) => release = r));
  const other = await mutex.run("b", () => Promise.resolve("b done"));
  assert.equal(other, "b done");
  assert.equal(mutex.size, 1);
  release();
  await blocked;
  assert.equal(mutex.size, 0);
});

Deno.test("a failing caller releases the lock and its error reaches only itself", async () => {
  const mutex = new KeyedMutex();
  const first = mutex.run("k", async () => {
    await tick();
    throw new Error("boom");
  });
  const second = mutex.run("k", () => Promise.resolve(42));
  await assert.rejects(first, /boom/);
  assert.equal(await second, 42);
  assert.equal(mutex.size, 0);
});
