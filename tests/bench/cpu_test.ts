/** The benchmark's CPU accounting: reading /proc, and the arithmetic over two readings. */
import assert from "node:assert/strict";
import { CpuMeter, cpuSecondsOf, cpuUse } from "../../bench/_cpu.ts";

Deno.test("CPU use between two readings, per process and as a share of the machine", () => {
  const before = { at: 1_000, seconds: new Map([["kube-apiserver", 10], ["operator", 1], ["gone", 5]]) };
  const after = { at: 11_000, seconds: new Map([["kube-apiserver", 19], ["operator", 2.5], ["new", 3]]) };
  const use = cpuUse(before, after, 2);
  assert.equal(use.wallSeconds, 10);
  // A process missing from either reading is left out rather than counted from zero.
  assert.deepEqual(use.seconds, { "kube-apiserver": 9, operator: 1.5 });
  assert.equal(use.machineBusyPercent, 53); // 10.5 CPU seconds over 10 s of 2 cores
});

Deno.test("cpuSecondsOf reads a live process and gives up on one that is gone", {
  ignore: Deno.build.os !== "linux",
}, async () => {
  const start = await cpuSecondsOf(Deno.pid);
  assert.ok(start !== undefined && start >= 0);
  // Burn a little CPU so the reading moves.
  const until = performance.now() + 300;
  let x = 0;
  while (performance.now() < until) x += Math.sqrt(x + 1);
  assert.ok(x > 0);
  const meter = new CpuMeter(new Map([["self", Deno.pid], ["nobody", 2 ** 22 + 1]]), 1);
  const later = await meter.read();
  assert.ok(later.seconds.get("self")! > start!);
  assert.equal(later.seconds.has("nobody"), false);
  assert.equal(await cpuSecondsOf(2 ** 22 + 1), undefined);
});
