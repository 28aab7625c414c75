/** bench/_targets.ts: each of issue 23's targets stated as met, or by how much it is not. */
import assert from "node:assert/strict";
import { type TargetInput, targetLines } from "../../bench/_targets.ts";

const run = (n: number, over: Partial<TargetInput> = {}): TargetInput => ({
  n,
  p99: 50,
  floorP99: 45,
  operatorPeakRssMb: 90,
  operatorRssBeforeMb: 60,
  operatorRssSteadyMb: 80,
  operatorWritesPerShell: 6,
  ...over,
});

Deno.test("targets met are said to be met", () => {
  const lines = targetLines([run(1), run(100), run(1000)], 55);
  assert.equal(lines.length, 5, lines.join("\n"));
  for (const line of lines) assert.match(line, /: met$/);
  assert.match(lines[0], /50\.0 s against 45\.0 s, 1\.11x/);
});

Deno.test("targets missed say by how much; N = 5,000's only when it ran", () => {
  const lines = targetLines(
    [
      run(1000, { p99: 114.6, floorP99: 44.8, operatorPeakRssMb: 111.6 }),
      run(5000, { operatorRssSteadyMb: 210 }),
    ],
    73.8,
  );
  assert.match(lines[0], /2\.56x: NOT met, by 60\.8 s$/);
  assert.match(lines[1], /2\.15x: NOT met, by 53\.1 s$/);
  assert.match(lines[2], /111\.6 MB: NOT met, by 14\.6 MB$/);
  assert.match(lines[3], /30\.0 KB: NOT met, by 10\.0 KB$/);
  assert.match(lines[4], /73\.8 MB from source: NOT met, by 13\.8 MB$/);
  assert.equal(targetLines([run(100)], 50).length, 2, "no N = 1,000 or 5,000 lines without those runs");
});

Deno.test("the start RSS of a bundle is told beside the verdict, which stays the from-source figure's", () => {
  const line = targetLines([run(100)], 61.1, 53.9).at(0)!;
  assert.match(
    line,
    /61\.1 MB from source: NOT met, by 1\.1 MB \(bundled into one file, nearer the compiled binary: 53\.9 MB\)$/,
  );
});
