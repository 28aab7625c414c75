/**
 * Issue 23's targets, checked against one run of the lifecycle benchmark: each line says the target, the
 * figure measured, and whether it is met or by how much it is not. Targets whose N was not run are left out.
 * Spawn to a waiting shell Ready is bench/startup.ts's.
 */

/** What the targets read from one N of a run. */
export interface TargetInput {
  n: number;
  /** Created to Ready p99, and the same objects' p99 with no operator (the floor), in seconds. */
  p99: number;
  floorP99: number;
  operatorPeakRssMb: number;
  operatorRssBeforeMb: number;
  operatorRssSteadyMb: number;
  operatorWritesPerShell: number;
}

/** CloudTTY v0.5.7 on the same machine: 1,000 shells at once, created to Ready p99 (s). */
const CLOUDTTY_P99_1000 = 246;
/** CloudTTY v0.5.7's peak RSS at N = 1,000 in the same setup (MB). */
const CLOUDTTY_PEAK_RSS_1000_MB = 97;

function verdict(met: boolean, by: string): string {
  return met ? "met" : `NOT met, by ${by}`;
}

/**
 * One line per target, for the results of a run and the operator's RSS right after start (from source, and
 * bundled into one file where that was measured: context for the verdict, which is the from-source figure's).
 */
export function targetLines(
  results: TargetInput[],
  startRssMb: number,
  bundledStartRssMb?: number,
): string[] {
  const lines: string[] = [];
  const at = (n: number) => results.find((r) => r.n === n);
  const r1000 = at(1000);
  if (r1000) {
    const ratio = r1000.p99 / r1000.floorP99;
    lines.push(
      `N = 1,000 created to Ready p99 within 1.2x the floor: ${r1000.p99.toFixed(1)} s against ${
        r1000.floorP99.toFixed(1)
      } s, ${ratio.toFixed(2)}x: ${
        verdict(ratio <= 1.2, `${(r1000.p99 - 1.2 * r1000.floorP99).toFixed(1)} s`)
      }`,
    );
    const goal = CLOUDTTY_P99_1000 / 4;
    lines.push(
      `N = 1,000 p99 at least 4x better than CloudTTY v0.5.7's ${CLOUDTTY_P99_1000} s (<= ${
        goal.toFixed(1)
      } s): ${(CLOUDTTY_P99_1000 / r1000.p99).toFixed(2)}x: ${
        verdict(r1000.p99 <= goal, `${(r1000.p99 - goal).toFixed(1)} s`)
      }`,
    );
    lines.push(
      `N = 1,000 operator peak RSS below CloudTTY v0.5.7's ${CLOUDTTY_PEAK_RSS_1000_MB} MB: ${r1000.operatorPeakRssMb} MB: ${
        verdict(
          r1000.operatorPeakRssMb < CLOUDTTY_PEAK_RSS_1000_MB,
          `${(r1000.operatorPeakRssMb - CLOUDTTY_PEAK_RSS_1000_MB).toFixed(1)} MB`,
        )
      }`,
    );
  }
  const r5000 = at(5000);
  if (r5000) {
    const kb = (r5000.operatorRssSteadyMb - r5000.operatorRssBeforeMb) * 1000 / r5000.n;
    lines.push(
      `N = 5,000 steady memory per shell under 20 KB: ${kb.toFixed(1)} KB: ${
        verdict(kb < 20, `${(kb - 20).toFixed(1)} KB`)
      }`,
    );
  }
  const bundled = bundledStartRssMb === undefined
    ? ""
    : ` (bundled into one file, nearer the compiled binary: ${bundledStartRssMb} MB)`;
  lines.push(
    `operator RSS right after start under 60 MB: ${startRssMb} MB from source: ${
      verdict(startRssMb < 60, `${(startRssMb - 60).toFixed(1)} MB`)
    }${bundled}`,
  );
  const writes = Math.max(...results.map((r) => r.operatorWritesPerShell));
  lines.push(
    `operator writes per shell at most 6: ${writes} (the most of any N): ${
      verdict(writes <= 6, `${(writes - 6).toFixed(2)}`)
    }`,
  );
  return lines;
}
