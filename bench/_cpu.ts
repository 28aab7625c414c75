/**
 * Who used the machine's CPU during a burst: user plus system time of each
 * process of interest (the control plane's, the operator, the benchmark
 * itself), read from /proc on Linux. On two cores the control plane competes
 * with the operator for the same CPU, so a latency number means little without
 * knowing how busy the machine was while it was measured.
 */

/** Clock ticks per second of /proc/<pid>/stat: USER_HZ, 100 on every Linux architecture in use. */
const TICKS_PER_SECOND = 100;

/** User plus system CPU seconds of a process so far, or undefined if it cannot be read (not Linux, gone). */
export async function cpuSecondsOf(pid: number): Promise<number | undefined> {
  try {
    const stat = await Deno.readTextFile(`/proc/${pid}/stat`);
    // The command name (field 2) may hold spaces; the fields after its closing parenthesis start at 3.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    // utime and stime are fields 14 and 15 of stat.
    return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND;
  } catch {
    return undefined;
  }
}

/** CPU use over a span of wall time. */
export interface CpuUse {
  wallSeconds: number;
  /** CPU seconds of each process. */
  seconds: Record<string, number>;
  /** All those processes together, as a percentage of every core for the whole span. */
  machineBusyPercent: number;
}

/** A reading of every process's CPU time, to subtract from a later one. */
export interface CpuReading {
  at: number;
  seconds: Map<string, number>;
}

/** Measures a fixed set of named processes. */
export class CpuMeter {
  readonly #pids: ReadonlyMap<string, number>;
  readonly #cores: number;

  constructor(pids: ReadonlyMap<string, number>, cores = navigator.hardwareConcurrency) {
    this.#pids = pids;
    this.#cores = cores;
  }

  async read(): Promise<CpuReading> {
    const at = performance.now();
    const entries = await Promise.all(
      [...this.#pids].map(async ([name, pid]) => [name, await cpuSecondsOf(pid)] as const),
    );
    const seconds = new Map<string, number>();
    for (const [name, s] of entries) if (s !== undefined) seconds.set(name, s);
    return { at, seconds };
  }

  /** CPU use between `before` and now. */
  async since(before: CpuReading): Promise<CpuUse> {
    const after = await this.read();
    return cpuUse(before, after, this.#cores);
  }
}

/** CPU use between two readings; a process missing from either is left out. */
export function cpuUse(before: CpuReading, after: CpuReading, cores: number): CpuUse {
  const wallSeconds = (after.at - before.at) / 1000;
  const seconds: Record<string, number> = {};
  let total = 0;
  for (const [name, s] of after.seconds) {
    const start = before.seconds.get(name);
    if (start === undefined) continue;
    seconds[name] = Math.round((s - start) * 100) / 100;
    total += s - start;
  }
  const machineBusyPercent = wallSeconds > 0 ? Math.round((100 * total) / (wallSeconds * cores)) : 0;
  return { wallSeconds: Math.round(wallSeconds * 100) / 100, seconds, machineBusyPercent };
}
