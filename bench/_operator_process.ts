/**
 * The operator under benchmark: a real process (from source, or the compiled
 * binary in CLOUDSHELL_OPERATOR_BIN), with its peak memory read from /proc
 * and its own request counts from /metrics.
 */
import { spawnGuarded } from "../tests/harness/process.ts";
import { startTaskArgs } from "../tests/harness/start_task.ts";
import { type RequestCounts, sumBy } from "./_apiserver_metrics.ts";

export class OperatorUnderTest {
  readonly #child: Deno.ChildProcess;
  readonly #pid: number;
  readonly #metricsUrl: string;

  private constructor(child: Deno.ChildProcess, pid: number, metricsUrl: string) {
    this.#child = child;
    this.#pid = pid;
    this.#metricsUrl = metricsUrl;
  }

  /**
   * Starts the operator watching all namespaces, and waits until it serves /readyz. With `entry`, runs that
   * file (a bundle of main.ts) the way `deno task start` runs main.ts.
   */
  static async start(kubeconfig: string, extra: string[], entry?: string): Promise<OperatorUnderTest> {
    const args = [
      `--kubeconfig=${kubeconfig}`,
      "--leader-elect=false",
      "--metrics-bind-address=127.0.0.1:0",
      "--health-probe-bind-address=127.0.0.1:0",
      "--log-format=json",
      ...(Deno.env.get("CLOUDSHELL_BENCH_OPERATOR_LOG") ? ["--log-level=debug"] : []),
      ...extra,
    ];
    const bin = Deno.env.get("CLOUDSHELL_OPERATOR_BIN");
    // From source, exactly as `deno task start` runs it, unless other V8 flags are to be compared.
    const v8Flags = Deno.env.get("CLOUDSHELL_BENCH_V8_FLAGS");
    const runArgs = v8Flags === undefined
      ? startTaskArgs(args, entry)
      : startTaskArgs(args, entry).map((a) => a.startsWith("--v8-flags=") ? `--v8-flags=${v8Flags}` : a);
    const [program, programArgs] = bin && !entry ? [bin, args] : [Deno.execPath(), runArgs];
    // Under the guard, the operator dies with the benchmark even if that is killed outright.
    const { child, pid } = await spawnGuarded(program, programArgs, {
      stdout: "null",
      stderr: "piped",
      // `deno run` checks for a newer Deno in the background (here it fails: no network), which loads an HTTP
      // client of its own, about 2 MB of RSS; the compiled binary users run never does.
      env: { DENO_NO_UPDATE_CHECK: "1" },
    });
    const lines = child.stderr.pipeThrough(new TextDecoderStream()).getReader();
    let buffer = "";
    let metricsUrl: string | undefined;
    let healthUrl: string | undefined;
    while (!metricsUrl || !healthUrl) {
      const { value, done } = await lines.read();
      if (done) throw new Error("The operator exited during start-up");
      buffer += value;
      for (const line of buffer.split("\n")) {
        if (!line.includes('"Serving HTTP"')) continue;
        const entry = JSON.parse(line) as { endpoints: string; address: string };
        if (entry.endpoints.includes("metrics")) metricsUrl = `http://${entry.address}`;
        if (entry.endpoints.includes("health")) healthUrl = `http://${entry.address}`;
      }
      buffer = buffer.slice(buffer.lastIndexOf("\n") + 1);
    }
    // Keep draining the log so the pipe never blocks the operator (into a file if asked).
    const logFile = Deno.env.get("CLOUDSHELL_BENCH_OPERATOR_LOG");
    const log = logFile ? await Deno.open(logFile, { write: true, create: true, truncate: true }) : undefined;
    const encoder = new TextEncoder();
    (async () => {
      for (let r = await lines.read(); !r.done; r = await lines.read()) {
        await log?.write(encoder.encode(r.value));
      }
      log?.close();
    })();
    for (let i = 0; i < 600; i++) {
      const ok = await fetch(`${healthUrl}/readyz`).then(
        async (r) => (await r.body?.cancel(), r.ok),
        () => false,
      );
      if (ok) return new OperatorUnderTest(child, pid, metricsUrl);
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error("The operator did not become ready");
  }

  /** The operator's own requests by `METHOD resource`. */
  async requestCounts(): Promise<RequestCounts> {
    const text = await (await fetch(`${this.#metricsUrl}/metrics`)).text();
    return sumBy(text, "rest_client_requests_total", (l) => `${l.method} ${l.resource}`);
  }

  /** Samples the operator's V8 heap once a second until `signal` aborts; resolves to the largest seen. */
  async sampleHeap(signal: AbortSignal): Promise<number> {
    let peak = 0;
    while (!signal.aborted) {
      const text = await fetch(`${this.#metricsUrl}/metrics`).then((r) => r.text(), () => "");
      const m = /^process_heap_bytes (\S+)$/m.exec(text);
      if (m) peak = Math.max(peak, Number(m[1]));
      await new Promise((r) => setTimeout(r, 1_000));
    }
    return peak;
  }

  /** Resets the kernel's peak-RSS mark of the process (writing 5 to clear_refs). */
  resetPeak(): void {
    try {
      Deno.writeTextFileSync(`/proc/${this.#pid}/clear_refs`, "5");
    } catch {
      // Not Linux, or not allowed: the peak then covers the whole run.
    }
  }

  /** Peak resident memory since the last reset (VmHWM). */
  async peakRssBytes(): Promise<number> {
    const status = await Deno.readTextFile(`/proc/${this.#pid}/status`);
    const kb = Number(/VmHWM:\s+(\d+) kB/.exec(status)?.[1] ?? 0);
    return kb * 1024;
  }

  /** Resident memory now (VmRSS). */
  async rssBytes(): Promise<number> {
    const status = await Deno.readTextFile(`/proc/${this.#pid}/status`);
    return Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? 0) * 1024;
  }

  /** The operator's own pid (not its guard's), for /proc. */
  get pid(): number {
    return this.#pid;
  }

  async stop(): Promise<void> {
    try {
      Deno.kill(this.#pid, "SIGTERM");
    } catch {
      // Already gone.
    }
    await this.#child.status;
  }
}
