/**
 * Prometheus and promtool for tests, built from their Go module by hack/prometheus/build.sh (hack/test.sh
 * exports the directory as CLOUDSHELL_PROMETHEUS_BIN). A test that needs them is ignored with the reason
 * {@linkcode PROMETHEUS_MISSING} when the variable is unset, rather than building for minutes inside a test.
 */
import { freePort, spawnGuarded } from "./process.ts";

/** The directory with `prometheus` and `promtool`, or undefined. */
export const PROMETHEUS_BIN: string | undefined = (() => {
  const dir = Deno.env.get("CLOUDSHELL_PROMETHEUS_BIN");
  if (!dir) return undefined;
  try {
    Deno.statSync(`${dir}/prometheus`);
    Deno.statSync(`${dir}/promtool`);
    return dir;
  } catch {
    return undefined;
  }
})();

/** Why Prometheus tests are ignored, printed once; undefined when they run. */
export const PROMETHEUS_MISSING: string | undefined = PROMETHEUS_BIN ? undefined : (() => {
  const why =
    "prometheus and promtool not found: set CLOUDSHELL_PROMETHEUS_BIN=$(bash hack/prometheus/build.sh)";
  console.error(`ignored: ${why}`);
  return why;
})();

/**
 * The directory with prometheus-operator's ServiceMonitor, PodMonitor and PrometheusRule CRDs
 * (hack/prometheus/operator_crds.sh; hack/test.sh exports CLOUDSHELL_PROMETHEUS_OPERATOR_CRDS), or undefined.
 */
export const PROMETHEUS_OPERATOR_CRDS: string | undefined =
  Deno.env.get("CLOUDSHELL_PROMETHEUS_OPERATOR_CRDS") ||
  undefined;

/** Why tests of the prometheus-operator objects are ignored; undefined when they run. */
export const PROMETHEUS_OPERATOR_CRDS_MISSING: string | undefined = PROMETHEUS_OPERATOR_CRDS
  ? undefined
  : (() => {
    const why = "prometheus-operator's CRDs not found: set " +
      "CLOUDSHELL_PROMETHEUS_OPERATOR_CRDS=$(bash hack/prometheus/operator_crds.sh)";
    console.error(`ignored: ${why}`);
    return why;
  })();

/** Runs promtool with `args`. */
export async function promtool(args: string[]): Promise<{ code: number; output: string }> {
  if (!PROMETHEUS_BIN) throw new Error(PROMETHEUS_MISSING);
  const out = await new Deno.Command(`${PROMETHEUS_BIN}/promtool`, { args, stdout: "piped", stderr: "piped" })
    .output();
  const text = new TextDecoder();
  return { code: out.code, output: text.decode(out.stdout) + text.decode(out.stderr) };
}

/** One sample of an instant query's vector result. */
export interface VectorSample {
  metric: Record<string, string>;
  value: [number, string];
}

/** A Prometheus server on loopback with its own TSDB in a temporary directory; dispose of it to stop it. */
export class PrometheusServer implements AsyncDisposable {
  readonly url: string;
  readonly #dir: string;
  readonly #kill: () => Promise<void>;
  readonly #log: () => string;

  private constructor(url: string, dir: string, kill: () => Promise<void>, log: () => string) {
    this.url = url;
    this.#dir = dir;
    this.#kill = kill;
    this.#log = log;
  }

  /**
   * Starts Prometheus with `config` (prometheus.yml text) and `files` written beside it (rule files,
   * credentials), and waits until it is ready.
   */
  static async start(config: string, files: Record<string, string> = {}): Promise<PrometheusServer> {
    if (!PROMETHEUS_BIN) throw new Error(PROMETHEUS_MISSING);
    const dir = await Deno.makeTempDir({ prefix: "cloudshell-prometheus-" });
    for (const [name, text] of Object.entries(files)) await Deno.writeTextFile(`${dir}/${name}`, text);
    await Deno.writeTextFile(`${dir}/prometheus.yml`, config);
    const port = freePort();
    const { child, pid } = await spawnGuarded(`${PROMETHEUS_BIN}/prometheus`, [
      `--config.file=${dir}/prometheus.yml`,
      `--storage.tsdb.path=${dir}/data`,
      `--web.listen-address=127.0.0.1:${port}`,
      "--log.level=warn",
    ], { cwd: dir, stdout: "null", stderr: "piped", stdin: "null" });
    let log = "";
    (async () => {
      for await (const chunk of child.stderr.pipeThrough(new TextDecoderStream())) log += chunk;
    })().catch(() => {});
    const kill = async () => {
      try {
        Deno.kill(pid, "SIGTERM");
      } catch {
        // gone already
      }
      await child.status;
    };
    const server = new PrometheusServer(`http://127.0.0.1:${port}`, dir, kill, () => log);
    const deadline = Date.now() + 30_000;
    while (true) {
      const status = await Promise.race([
        child.status.then(() => "exited"),
        fetch(`${server.url}/-/ready`).then(async (r) => {
          await r.body?.cancel();
          return r.ok ? "ready" : "starting";
        }, () => "starting"),
      ]);
      if (status === "ready") return server;
      if (status === "exited" || Date.now() > deadline) {
        await server[Symbol.asyncDispose]();
        throw new Error(`prometheus did not start (${status}):\n${log.slice(-2000)}`);
      }
      await new Promise((r) => setTimeout(r, 200));
    }
  }

  /** The result of an instant query (throws on a query error). */
  async query(expr: string): Promise<VectorSample[]> {
    const res = await fetch(`${this.url}/api/v1/query?query=${encodeURIComponent(expr)}`);
    const body = await res.json() as { status: string; error?: string; data?: { result: VectorSample[] } };
    if (body.status !== "success") throw new Error(`query ${expr} failed: ${body.error}`);
    return body.data!.result;
  }

  /** The alerts Prometheus holds now, with their state (pending, firing). */
  async alerts(): Promise<{ labels: Record<string, string>; state: string }[]> {
    const res = await fetch(`${this.url}/api/v1/alerts`);
    const body = await res.json() as {
      data: { alerts: { labels: Record<string, string>; state: string }[] };
    };
    return body.data.alerts;
  }

  /** The scrape targets, with their health and last error. */
  async targets(): Promise<{ labels: Record<string, string>; health: string; lastError: string }[]> {
    const res = await fetch(`${this.url}/api/v1/targets`);
    const body = await res.json() as {
      data: { activeTargets: { labels: Record<string, string>; health: string; lastError: string }[] };
    };
    return body.data.activeTargets;
  }

  /** What Prometheus logged (warnings and errors). */
  logs(): string {
    return this.#log();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.#kill();
    await Deno.remove(this.#dir, { recursive: true }).catch(() => {});
  }
}
