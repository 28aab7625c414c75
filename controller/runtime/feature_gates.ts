/**
 * A feature-gate registry with the rules of Kubernetes `component-base/featuregate`.
 *
 * The registry is fixed at construction: gates cannot be added later. `set()` parses the
 * `--feature-gates=Name=true,Other=false` syntax strictly and atomically (a bad list changes nothing).
 * The aggregate gates `AllAlpha` and `AllBeta` are always registered; they switch every unlocked Alpha
 * (Beta) gate that is not set explicitly, and a per-gate value overrides them whatever the order.
 *
 * This module knows nothing of the product; the product declares its gates elsewhere.
 *
 * @module
 */

/** Maturity of a feature, as in component-base's `prerelease`. */
export type Stage = "Alpha" | "Beta" | "GA" | "Deprecated";

/** Declaration of one feature gate. */
export interface FeatureSpec {
  /** Value when the gate is not set on the command line. */
  default: boolean;
  /** Maturity; setting a `GA` or `Deprecated` gate produces a warning. */
  stage: Stage;
  /** When true, the gate cannot be set to anything but its default. */
  lockToDefault?: boolean;
}

/** Why a feature-gate list was rejected. */
export type FeatureGateErrorReason = "unknown" | "missing-value" | "invalid-value" | "locked";

/** Name of the aggregate gate that switches all Alpha gates. */
export const ALL_ALPHA_GATE = "AllAlpha";
/** Name of the aggregate gate that switches all Beta gates. */
export const ALL_BETA_GATE = "AllBeta";

const AGGREGATE_STAGE: Readonly<Record<string, Stage>> = {
  [ALL_ALPHA_GATE]: "Alpha",
  [ALL_BETA_GATE]: "Beta",
};

const STAGE_LABEL: Readonly<Record<Stage, string>> = {
  Alpha: "ALPHA",
  Beta: "BETA",
  GA: "GA",
  Deprecated: "DEPRECATED",
};

const TRUE_STRINGS = new Set(["1", "t", "T", "TRUE", "true", "True"]);
const FALSE_STRINGS = new Set(["0", "f", "F", "FALSE", "false", "False"]);

/**
 * Parses a boolean with the syntax of Go's `strconv.ParseBool`.
 *
 * @param s one of `1`, `t`, `T`, `TRUE`, `true`, `True` or `0`, `f`, `F`, `FALSE`, `false`, `False`
 * @returns the boolean, or `undefined` when `s` is not one of those strings
 */
export function parseBool(s: string): boolean | undefined {
  if (TRUE_STRINGS.has(s)) return true;
  if (FALSE_STRINGS.has(s)) return false;
  return undefined;
}

/** A rejected `--feature-gates` value; the message names the gate and lists the known gates. */
export class FeatureGateError extends Error {
  /** The gate that was named in the bad entry (possibly empty). */
  readonly gate: string;
  /** The value given for the gate, when there was one. */
  readonly value: string | undefined;
  /** What was wrong with the entry. */
  readonly reason: FeatureGateErrorReason;
  /** Names of every gate that can be set. */
  readonly knownGates: readonly string[];

  /**
   * Creates the error.
   *
   * @param detail the message without the known-gates suffix
   * @param info the structured fields of the error
   */
  constructor(
    detail: string,
    info: { gate: string; value?: string; reason: FeatureGateErrorReason; knownGates: readonly string[] },
  ) {
    super(`${detail}; known gates: ${info.knownGates.join(", ")}`);
    this.name = "FeatureGateError";
    this.gate = info.gate;
    this.value = info.value;
    this.reason = info.reason;
    this.knownGates = info.knownGates;
  }
}

/** A fixed registry of feature gates and their current values. */
export class FeatureGates {
  readonly #known: ReadonlyMap<string, Readonly<FeatureSpec>>;
  #explicit = new Map<string, boolean>();
  #warnings: string[] = [];

  /**
   * Creates a registry from gate declarations.
   *
   * @param specs gate name to declaration; names must be non-empty, without `=`, `,` or spaces, and not
   *   `AllAlpha` or `AllBeta` (those are always registered)
   * @throws {Error} when a declaration is invalid (a programmer error)
   */
  constructor(specs: Readonly<Record<string, FeatureSpec>>) {
    const known = new Map<string, Readonly<FeatureSpec>>();
    for (const [name, stage] of Object.entries(AGGREGATE_STAGE)) {
      known.set(name, Object.freeze({ default: false, stage }));
    }
    for (const [name, spec] of Object.entries(specs)) {
      if (!/^[^\s=,]+$/.test(name)) throw new Error(`Cannot register feature gate "${name}": invalid name`);
      if (known.has(name)) throw new Error(`Cannot register feature gate "${name}": name is reserved`);
      if (!(spec.stage in STAGE_LABEL)) {
        throw new Error(`Cannot register feature gate "${name}": unknown stage "${spec.stage}"`);
      }
      known.set(name, Object.freeze({ ...spec, lockToDefault: spec.lockToDefault ?? false }));
    }
    this.#known = known;
  }

  /**
   * Applies a `--feature-gates` value such as `A=true,B=false`; repeated calls accumulate.
   *
   * Entries are separated by `,`, whitespace around names and values is ignored, empty entries are
   * skipped. Values use Go's `strconv.ParseBool` syntax. Nothing is applied when any entry is bad.
   *
   * @param spec the comma-separated list
   * @throws {FeatureGateError} for an unknown gate, a missing `=`, a non-boolean value, or a locked gate
   *   set to a value other than its default
   */
  set(spec: string): void {
    const parsed = new Map<string, boolean>();
    for (const part of spec.split(",")) {
      if (part.trim() === "") continue;
      const eq = part.indexOf("=");
      const gate = (eq < 0 ? part : part.slice(0, eq)).trim();
      if (eq < 0) {
        throw this.#error(
          `Missing bool value for feature gate "${gate}": expected ${gate}=true or ${gate}=false`,
          {
            gate,
            reason: "missing-value",
          },
        );
      }
      const value = part.slice(eq + 1).trim();
      const enabled = parseBool(value);
      if (enabled === undefined) {
        throw this.#error(`Invalid value "${value}" for feature gate "${gate}": expected true or false`, {
          gate,
          value,
          reason: "invalid-value",
        });
      }
      parsed.set(gate, enabled);
    }
    for (const gate of parsed.keys()) {
      if (!this.#known.has(gate)) {
        throw this.#error(`Unrecognized feature gate "${gate}"`, { gate, reason: "unknown" });
      }
    }
    const warnings: string[] = [];
    for (const [gate, enabled] of parsed) {
      const spec = this.#spec(gate);
      if (spec.lockToDefault && enabled !== spec.default) {
        throw this.#error(
          `Cannot set feature gate "${gate}" to ${enabled}: it is locked to ${spec.default}`,
          { gate, value: String(enabled), reason: "locked" },
        );
      }
      if (spec.stage === "GA" || spec.stage === "Deprecated") {
        const kind = spec.stage === "GA" ? "GA" : "deprecated";
        warnings.push(
          `Setting ${kind} feature gate ${gate}=${enabled}: it will be removed in a future release`,
        );
      }
    }
    for (const [gate, enabled] of parsed) this.#explicit.set(gate, enabled);
    this.#warnings.push(...warnings);
  }

  /**
   * Tells whether a gate is on.
   *
   * @param name a registered gate name
   * @throws {Error} when the gate is not registered (a programmer error)
   */
  enabled(name: string): boolean {
    const spec = this.#spec(name);
    const explicit = this.#explicit.get(name);
    if (explicit !== undefined) return explicit;
    if (!spec.lockToDefault) {
      for (const [aggregate, stage] of Object.entries(AGGREGATE_STAGE)) {
        const all = this.#explicit.get(aggregate);
        if (spec.stage === stage && all !== undefined && !(name in AGGREGATE_STAGE)) return all;
      }
    }
    return spec.default;
  }

  /**
   * Returns the maturity of a gate.
   *
   * @param name a registered gate name
   * @throws {Error} when the gate is not registered (a programmer error)
   */
  stage(name: string): Stage {
    return this.#spec(name).stage;
  }

  /**
   * Describes every gate for `--help`, sorted by name, formatted like component-base:
   * `Name=true|false (BETA - default=true)`.
   *
   * Unlike component-base, GA and Deprecated gates are listed too (they can still be set); locked gates
   * are marked `locked`.
   */
  knownFeatures(): string[] {
    return this.#names().map((name) => {
      const spec = this.#spec(name);
      const lock = spec.lockToDefault ? ", locked" : "";
      return `${name}=true|false (${STAGE_LABEL[spec.stage]} - default=${spec.default}${lock})`;
    });
  }

  /** Returns the value of every declared gate (not the `AllAlpha`/`AllBeta` aggregates), sorted by name. */
  effective(): Record<string, boolean> {
    const out: Record<string, boolean> = {};
    for (const name of this.#names()) {
      if (!(name in AGGREGATE_STAGE)) out[name] = this.enabled(name);
    }
    return out;
  }

  /** Returns the warnings produced so far by `set()`, e.g. for setting a GA or Deprecated gate. */
  warnings(): string[] {
    return [...this.#warnings];
  }

  #names(): string[] {
    return [...this.#known.keys()].sort();
  }

  #spec(name: string): Readonly<FeatureSpec> {
    const spec = this.#known.get(name);
    if (spec === undefined) throw new Error(`Feature gate "${name}" is not registered`);
    return spec;
  }

  #error(detail: string, info: { gate: string; value?: string; reason: FeatureGateErrorReason }) {
    return new FeatureGateError(detail, { ...info, knownGates: this.#names() });
  }
}
