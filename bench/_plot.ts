/**
 * The benchmark's picture, as a self-contained SVG (no plotting library, so the docs can embed what a run
 * wrote): creation-to-Ready percentiles against N beside the control plane's own floor, and where the time
 * of a shell goes at each N.
 */
import type { Percentiles } from "./_stats.ts";

/** What the plot reads of one N's result. */
export interface PlotInput {
  n: number;
  controlPlanePodReady: Percentiles;
  shellObjectsPodReady: Percentiles;
  creationToReady: Percentiles;
  stages: { toJob: Percentiles; jobToPodReady: Percentiles; podReadyToReady: Percentiles };
}

const WIDTH = 920;
const HEIGHT = 400;
/** Where the legends start, below the axis titles. */
const LEGEND_Y = 60 + 260 + 58;
const PANEL = { width: 400, height: 260, top: 60 };
const LEFT = [70, 530];
const COLORS = { p50: "#1f77b4", p99: "#d62728", floor: "#2ca02c", bare: "#7f7f7f" };
const STAGE_COLORS = ["#9467bd", "#8c564b", "#17becf"];

/** Rounds an axis maximum up to 1, 2 or 5 times a power of ten. */
function niceMax(x: number): number {
  if (!(x > 0)) return 1;
  const p = 10 ** Math.floor(Math.log10(x));
  return [1, 2, 5, 10].map((m) => m * p).find((m) => m >= x)!;
}

function escape(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}

function text(x: number, y: number, s: string, attrs = ""): string {
  return `<text x="${x.toFixed(1)}" y="${y.toFixed(1)}" ${attrs}>${escape(s)}</text>`;
}

/** Axes, ticks and title of one panel; returns the SVG and the y scale. */
function axes(left: number, title: string, yMax: number, xLabels: string[]): {
  svg: string[];
  y: (v: number) => number;
  x: (i: number) => number;
} {
  const bottom = PANEL.top + PANEL.height;
  const y = (v: number) => bottom - (v / yMax) * PANEL.height;
  const step = PANEL.width / xLabels.length;
  const x = (i: number) => left + step * (i + 0.5);
  const svg = [
    text(left, PANEL.top - 24, title, 'font-weight="bold"'),
    `<line x1="${left}" y1="${bottom}" x2="${left + PANEL.width}" y2="${bottom}" stroke="#333"/>`,
    `<line x1="${left}" y1="${PANEL.top}" x2="${left}" y2="${bottom}" stroke="#333"/>`,
    text(left - 50, PANEL.top - 6, "seconds", 'font-size="11"'),
  ];
  for (let i = 0; i <= 4; i++) {
    const v = (yMax * i) / 4;
    svg.push(
      `<line x1="${left}" y1="${y(v).toFixed(1)}" x2="${left + PANEL.width}" y2="${
        y(v).toFixed(1)
      }" stroke="#ddd"/>`,
      text(left - 8, y(v) + 4, String(Number(v.toPrecision(3))), 'text-anchor="end" font-size="11"'),
    );
  }
  xLabels.forEach((label, i) =>
    svg.push(text(x(i), bottom + 18, label, 'text-anchor="middle" font-size="11"'))
  );
  svg.push(text(left + PANEL.width / 2, bottom + 36, "shells created at once (N)", 'text-anchor="middle"'));
  return { svg, y, x };
}

/** Renders the SVG for the results of one run, smallest N first. */
export function plotLifecycle(results: readonly PlotInput[]): string {
  const rs = [...results].sort((a, b) => a.n - b.n);
  const labels = rs.map((r) => r.n.toLocaleString("en-US"));
  const out: string[] = [];

  // Left: percentiles against N, and the floors of the same run.
  const series: [string, string, (r: PlotInput) => number][] = [
    ["CloudShell p99", COLORS.p99, (r) => r.creationToReady.p99],
    ["CloudShell p50", COLORS.p50, (r) => r.creationToReady.p50],
    ["floor p99: each shell's objects, no operator", COLORS.floor, (r) => r.shellObjectsPodReady.p99],
    ["bare Jobs p99", COLORS.bare, (r) => r.controlPlanePodReady.p99],
  ];
  const yMax = niceMax(Math.max(...rs.flatMap((r) => series.map(([, , f]) => f(r)))));
  const left = axes(LEFT[0], "Created to Ready", yMax, labels);
  out.push(...left.svg);
  series.forEach(([name, color, f], s) => {
    const points = rs.map((r, i) => `${left.x(i).toFixed(1)},${left.y(f(r)).toFixed(1)}`);
    const dash = s >= 2 ? ' stroke-dasharray="5,4"' : "";
    out.push(
      `<polyline points="${points.join(" ")}" fill="none" stroke="${color}" stroke-width="2"${dash}/>`,
    );
    rs.forEach((r, i) =>
      out.push(`<circle cx="${left.x(i).toFixed(1)}" cy="${left.y(f(r)).toFixed(1)}" r="3" fill="${color}"/>`)
    );
    out.push(
      text(
        LEFT[0] + (s >= 2 ? 150 : 0),
        LEGEND_Y + (s % 2) * 14,
        `— ${name}`,
        `fill="${color}" font-size="11"`,
      ),
    );
  });

  // Right: where a shell's time goes (p99 of each stage; they need not add up to the total's p99).
  const stages: [string, (r: PlotInput) => number][] = [
    ["created to Job (operator)", (r) => r.stages.toJob.p99],
    ["Job to pod Ready (control plane)", (r) => r.stages.jobToPodReady.p99],
    ["pod Ready to Ready (operator)", (r) => r.stages.podReadyToReady.p99],
  ];
  const stackMax = niceMax(Math.max(...rs.map((r) => stages.reduce((sum, [, f]) => sum + f(r), 0))));
  const right = axes(LEFT[1], "Where the time goes (p99 of each stage)", stackMax, labels);
  out.push(...right.svg);
  const barWidth = Math.min(60, PANEL.width / rs.length / 2);
  rs.forEach((r, i) => {
    let base = 0;
    stages.forEach(([, f], s) => {
      const v = f(r);
      const top = right.y(base + v);
      const height = right.y(base) - top;
      out.push(
        `<rect x="${(right.x(i) - barWidth / 2).toFixed(1)}" y="${top.toFixed(1)}" width="${barWidth}" ` +
          `height="${Math.max(0, height).toFixed(1)}" fill="${STAGE_COLORS[s]}"/>`,
      );
      base += v;
    });
  });
  stages.forEach(([name], s) =>
    out.push(
      text(
        LEFT[1] + (s === 2 ? 200 : 0),
        LEGEND_Y + (s % 2) * 14,
        `■ ${name}`,
        `fill="${STAGE_COLORS[s]}" font-size="11"`,
      ),
    )
  );

  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${HEIGHT + 20}" ` +
    `viewBox="0 0 ${WIDTH} ${HEIGHT + 20}" font-family="sans-serif" font-size="12">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    ...out,
    "</svg>",
    "",
  ].join("\n");
}
