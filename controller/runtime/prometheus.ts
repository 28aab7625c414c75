/**
 * A small Prometheus registry: counters, gauges and histograms with labels, rendered in the text
 * exposition format 0.0.4 with `# HELP` and `# TYPE` lines. It covers what the operator's metrics use of
 * prom-client's API (the same method names and argument orders), and nothing more: no summaries, no
 * exemplars, no OpenMetrics, no default process metrics.
 *
 * The operator used prom-client until it was found that loading any npm module starts Deno's Node
 * compatibility layer, about 6 MB of RSS for good; prom-client alone, with its Node built-ins, cost about
 * 13 MB (docs/performance.md, "Memory").
 *
 * A series is kept per distinct set of label values, for as long as the metric lives (or until
 * {@linkcode Gauge.reset}); label values must come from bounded sets.
 *
 * @example
 * ```ts
 * import { Counter, Registry } from "./prometheus.ts";
 * const registry = new Registry();
 * const requests = new Counter({ name: "requests_total", help: "Requests", labelNames: ["code"] });
 * registry.register(requests);
 * requests.inc({ code: "200" });
 * console.log(await registry.metrics()); // # HELP requests_total Requests ...
 * ```
 *
 * @module
 */

/** Label values by label name. */
export type Labels<T extends string> = Partial<Record<T, string | number>>;

/** What every metric is configured with. */
export interface MetricConfiguration<T extends string> {
  /** The metric name (`[a-zA-Z_:][a-zA-Z0-9_:]*`). */
  name: string;
  /** The `# HELP` text. */
  help: string;
  /** Names of the labels its series may carry. */
  labelNames?: readonly T[];
  /** Called at every scrape before the series are read, to set them from elsewhere. */
  collect?: () => void | Promise<void>;
}

/** Configuration of a {@linkcode Counter}. */
export type CounterConfiguration<T extends string> = MetricConfiguration<T>;
/** Configuration of a {@linkcode Gauge}. */
export type GaugeConfiguration<T extends string> = MetricConfiguration<T>;
/** Configuration of a {@linkcode Histogram}. */
export interface HistogramConfiguration<T extends string> extends MetricConfiguration<T> {
  /** Upper bounds of the buckets, ascending; `+Inf` is added. */
  buckets?: readonly number[];
}

/** prom-client's default buckets. */
const DEFAULT_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

/** A sample value as the exposition format writes it. */
function formatValue(value: number): string {
  if (Number.isNaN(value)) return "NaN";
  if (!Number.isFinite(value)) return value < 0 ? "-Inf" : "+Inf";
  return String(value);
}

/** `# HELP` text: backslash and newline escaped. */
function escapeHelp(text: string): string {
  return text.replace(/\\/g, "\\\\").replace(/\n/g, "\\n");
}

/** A label value: backslash, double quote and newline escaped. */
function escapeLabelValue(text: string): string {
  return text.replace(/\\/g, "\\\\").replace(/\n/g, "\\n").replace(/"/g, '\\"');
}

/** `{a="1",b="2"}` of the given pairs, or nothing when there are none. */
function formatLabels(pairs: readonly (readonly [string, string])[]): string {
  if (pairs.length === 0) return "";
  return `{${pairs.map(([name, value]) => `${name}="${escapeLabelValue(value)}"`).join(",")}}`;
}

/** The bookkeeping every metric type shares: its name, help, label names and series by label values. */
abstract class Metric<T extends string, S> {
  readonly name: string;
  readonly help: string;
  readonly labelNames: readonly T[];
  abstract readonly type: "counter" | "gauge" | "histogram";
  readonly #collect: (() => void | Promise<void>) | undefined;
  /** Series by the key of their label values (in labelNames order). */
  protected readonly series = new Map<string, { values: (string | undefined)[]; data: S }>();

  constructor(config: MetricConfiguration<T>) {
    if (!METRIC_NAME.test(config.name)) throw new Error(`Invalid metric name: ${config.name}`);
    for (const label of config.labelNames ?? []) {
      if (!LABEL_NAME.test(label)) throw new Error(`Invalid label name: ${label}`);
    }
    this.name = config.name;
    this.help = config.help;
    this.labelNames = Object.freeze([...(config.labelNames ?? [])]);
    this.#collect = config.collect;
  }

  /**
   * The series of these labels, created with `initial()` if new. Counters go up on every request and every
   * watch event, so the usual case, a known series named by its own labels, builds nothing but its key.
   */
  protected seriesOf(labels: Labels<T> | undefined, initial: () => S): S {
    const given = (labels ?? {}) as Record<string, string | number | undefined>;
    let key = "";
    let defined = 0;
    for (let i = 0; i < this.labelNames.length; i++) {
      const v = given[this.labelNames[i]];
      if (i > 0) key += "\u0000";
      if (v === undefined) key += "\u0001";
      else {
        key += String(v);
        defined++;
      }
    }
    let entry = this.series.get(key);
    let named = 0;
    for (const _ in given) named++;
    // A label of another name, or one given as undefined: let the slow path say which (or allow it).
    if (entry === undefined || named !== defined) {
      for (const name of Object.keys(given)) {
        if (!(this.labelNames as readonly string[]).includes(name)) {
          throw new Error(`Label "${name}" is not one of ${this.name}'s: ${this.labelNames.join(", ")}`);
        }
      }
    }
    if (entry === undefined) {
      const values = this.labelNames.map((name) =>
        given[name] === undefined ? undefined : String(given[name])
      );
      entry = { values, data: initial() };
      this.series.set(key, entry);
    }
    return entry.data;
  }

  /** The label pairs of a series, without the labels it was not given. */
  protected pairs(values: readonly (string | undefined)[]): [string, string][] {
    return values.flatMap((v, i): [string, string][] => v === undefined ? [] : [[this.labelNames[i], v]]);
  }

  /** Renders the metric: runs its collector, then writes HELP, TYPE and every sample. */
  async render(): Promise<string> {
    await this.#collect?.();
    const lines = [`# HELP ${this.name} ${escapeHelp(this.help)}`, `# TYPE ${this.name} ${this.type}`];
    for (const { values, data } of this.series.values()) this.samples(values, data, lines);
    return lines.join("\n");
  }

  protected abstract samples(values: readonly (string | undefined)[], data: S, out: string[]): void;
}

/** Labels and a number from prom-client's two call forms: `(labels?, value?)` or `(value)`. */
function labelsAndValue<T extends string>(
  a: Labels<T> | number | undefined,
  b: number | undefined,
  fallback: number | undefined,
): [Labels<T> | undefined, number | undefined] {
  return typeof a === "number" ? [undefined, a] : [a, b ?? fallback];
}

/** A simple value series: counters and gauges. */
abstract class ValueMetric<T extends string> extends Metric<T, { value: number }> {
  constructor(config: MetricConfiguration<T>) {
    super(config);
    // A metric without labels has its one series from the start, at 0 (as in prom-client).
    if (this.labelNames.length === 0) this.seriesOf(undefined, () => ({ value: 0 }));
  }

  protected add(labels: Labels<T> | undefined, delta: number): void {
    this.seriesOf(labels, () => ({ value: 0 })).value += delta;
  }

  protected samples(values: readonly (string | undefined)[], data: { value: number }, out: string[]): void {
    out.push(`${this.name}${formatLabels(this.pairs(values))} ${formatValue(data.value)}`);
  }
}

/** A value that only goes up (until the process restarts). */
export class Counter<T extends string = string> extends ValueMetric<T> {
  readonly type = "counter";

  /** Adds `value` (default 1, never negative) to the series of `labels`. */
  inc(labels?: Labels<T> | number, value?: number): void {
    const [l, v] = labelsAndValue(labels, value, 1);
    const delta = v ?? 1;
    if (!(delta >= 0)) throw new Error(`A counter cannot go down: ${this.name} inc(${delta})`);
    this.add(l, delta);
  }
}

/** A value that goes up and down. */
export class Gauge<T extends string = string> extends ValueMetric<T> {
  readonly type = "gauge";

  /** Sets the series of `labels` to `value`. */
  set(labels: Labels<T> | number, value?: number): void {
    const [l, v] = labelsAndValue(labels, value, undefined);
    if (typeof v !== "number") throw new Error(`${this.name} set() needs a number`);
    this.seriesOf(l, () => ({ value: 0 })).value = v;
  }

  /** Adds `value` (default 1; may be negative or 0) to the series of `labels`. */
  inc(labels?: Labels<T> | number, value?: number): void {
    const [l, v] = labelsAndValue(labels, value, 1);
    this.add(l, v ?? 1);
  }

  /** Drops every series (one without labels goes back to 0). */
  reset(): void {
    this.series.clear();
    if (this.labelNames.length === 0) this.seriesOf(undefined, () => ({ value: 0 }));
  }
}

interface HistogramData {
  /** Observations per bucket (not cumulative), in the order of the upper bounds. */
  counts: number[];
  sum: number;
  count: number;
}

/** Observations counted in buckets, with their sum and count. */
export class Histogram<T extends string = string> extends Metric<T, HistogramData> {
  readonly type = "histogram";
  readonly #bounds: readonly number[];

  constructor(config: HistogramConfiguration<T>) {
    super(config);
    if ((config.labelNames ?? []).includes("le" as T)) throw new Error("le is a reserved label name");
    this.#bounds = Object.freeze([...(config.buckets ?? DEFAULT_BUCKETS)].sort((a, b) => a - b));
    if (this.labelNames.length === 0) this.zero();
  }

  /** Records one observation in the series of `labels`. */
  observe(labels: Labels<T> | number, value?: number): void {
    const [l, v] = labelsAndValue(labels, value, undefined);
    if (typeof v !== "number" || Number.isNaN(v)) throw new Error(`${this.name} observe() needs a number`);
    const data = this.#data(l);
    const i = this.#bounds.findIndex((bound) => v <= bound);
    if (i >= 0) data.counts[i]++;
    data.sum += v;
    data.count++;
  }

  /** Creates the series of `labels` with every bucket at 0, so it shows before the first observation. */
  zero(labels?: Labels<T>): void {
    this.#data(labels);
  }

  #data(labels: Labels<T> | undefined): HistogramData {
    return this.seriesOf(labels, () => ({ counts: this.#bounds.map(() => 0), sum: 0, count: 0 }));
  }

  protected samples(values: readonly (string | undefined)[], data: HistogramData, out: string[]): void {
    const pairs = this.pairs(values);
    let cumulative = 0;
    for (const [i, bound] of this.#bounds.entries()) {
      cumulative += data.counts[i];
      out.push(`${this.name}_bucket${formatLabels([["le", formatValue(bound)], ...pairs])} ${cumulative}`);
    }
    out.push(`${this.name}_bucket${formatLabels([["le", "+Inf"], ...pairs])} ${data.count}`);
    out.push(`${this.name}_sum${formatLabels(pairs)} ${formatValue(data.sum)}`);
    out.push(`${this.name}_count${formatLabels(pairs)} ${data.count}`);
  }
}

/** Any metric a {@linkcode Registry} holds. */
export type AnyMetric = Counter<string> | Gauge<string> | Histogram<string>;

/** The metrics one endpoint renders, by name. */
export class Registry {
  readonly #metrics = new Map<string, AnyMetric>();

  /** The `Content-Type` of {@linkcode Registry.metrics}'s output. */
  readonly contentType = "text/plain; version=0.0.4; charset=utf-8";

  /** Adds a metric; a second metric of the same name is an error. */
  register(metric: AnyMetric): void {
    const existing = this.#metrics.get(metric.name);
    if (existing !== undefined && existing !== metric) {
      throw new Error(`A metric with the name ${metric.name} has already been registered.`);
    }
    this.#metrics.set(metric.name, metric);
  }

  /** The metric of that name, if registered. */
  getSingleMetric(name: string): AnyMetric | undefined {
    return this.#metrics.get(name);
  }

  /** Every metric in the text exposition format, after running each one's collector. */
  async metrics(): Promise<string> {
    const texts = await Promise.all([...this.#metrics.values()].map((m) => m.render()));
    return `${texts.join("\n\n")}\n`;
  }
}
