import assert from "node:assert/strict";
import { type PlotInput, plotLifecycle } from "../../bench/_plot.ts";

const p = (p50: number, p99: number) => ({ p50, p95: p99, p99, max: p99 });

function result(n: number, scale: number): PlotInput {
  return {
    n,
    controlPlanePodReady: p(scale * 0.5, scale),
    shellObjectsPodReady: p(scale * 0.6, scale * 1.2),
    creationToReady: p(scale * 0.7, scale * 1.5),
    stages: { toJob: p(0.1, scale), jobToPodReady: p(0.1, scale * 0.4), podReadyToReady: p(0.1, 1) },
  };
}

Deno.test("the benchmark plot draws each N's percentiles, floors and stages, in N order", () => {
  const svg = plotLifecycle([result(1000, 50), result(1, 0.1), result(100, 5)]);
  assert.match(svg, /^<svg xmlns="http:\/\/www.w3.org\/2000\/svg"/);
  assert.ok(svg.trimEnd().endsWith("</svg>"));
  // Four series of three points each, and three stacked stages for each of the three N.
  assert.equal(svg.match(/<polyline /g)?.length, 4);
  assert.equal(svg.match(/<circle /g)?.length, 12);
  assert.equal(svg.match(/<rect x=/g)?.length, 9);
  const labels = [...svg.matchAll(/text-anchor="middle" font-size="11">([\d,]+)</g)].map((m) => m[1]);
  assert.deepEqual(labels, ["1", "100", "1,000", "1", "100", "1,000"]);
  assert.doesNotMatch(svg, /NaN|undefined/);
});
