/**
 * Named liveness and readiness checks answered in the format of Kubernetes and controller-runtime's
 * `healthz` endpoints.
 *
 * - `200 ok` when every selected check passes;
 * - `500` with one `[-]name failed: reason` line per failing check otherwise;
 * - `?verbose` adds `[+]name ok` lines (and lists everything on success);
 * - `?exclude=name` skips a check (repeatable, or comma-separated); excluding a name that does not exist
 *   is reported as a warning line, not an error, as the API server does;
 * - `/<endpoint>/<name>` runs that one check only (404 when unknown).
 *
 * Checks run concurrently on every request; a check that throws or rejects fails with the error message.
 * No checks registered means healthy.
 *
 * @example
 * ```ts
 * import { HealthChecks } from "./health.ts";
 * const health = new HealthChecks();
 * health.addLiveness("ping", () => true);
 * health.addReadiness("informers", () => synced() || "informers not synced");
 * function synced(): boolean {
 *   return true;
 * }
 * ```
 *
 * @module
 */

import { errorMessage } from "../log.ts";

/** Which set of checks: liveness (`/healthz`, `/livez`) or readiness (`/readyz`). */
export type HealthKind = "liveness" | "readiness";

/** A check: `true` when healthy, otherwise the reason it is not. */
export type HealthCheck = () => true | string | Promise<true | string>;

/** The outcome of one check. */
export interface CheckResult {
  /** The check's name. */
  name: string;
  /** Whether it passed. */
  ok: boolean;
  /** Why it failed; absent when it passed. */
  reason?: string;
}

/** The outcome of a set of checks. */
export interface HealthReport {
  /** Whether every check that ran passed. */
  ok: boolean;
  /** Every check that ran, sorted by name. */
  results: CheckResult[];
  /** Names passed in `exclude` that match no check. */
  unknownExcludes: string[];
}

/** Which checks {@linkcode HealthChecks.run} runs. */
export interface RunOptions {
  /** Names to skip. */
  exclude?: Iterable<string>;
}

/** The endpoint name used in response text, as the API server names its endpoints. */
const ENDPOINT: Readonly<Record<HealthKind, string>> = { liveness: "healthz", readiness: "readyz" };

/** A check name must survive `/<endpoint>/<name>` URLs and comma-separated `exclude` lists. */
const VALID_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

/** Two registries of named checks, one for liveness and one for readiness. */
export class HealthChecks {
  readonly #checks: Record<HealthKind, Map<string, HealthCheck>> = {
    liveness: new Map(),
    readiness: new Map(),
  };

  /**
   * Adds a liveness check: failing it makes the kubelet restart the container, so only report what a
   * restart fixes (a wedged event loop, a watchdog that tripped), never a dependency being down.
   *
   * @param name letters, digits, `.`, `_` and `-`; unique among liveness checks
   * @param check returns `true` or a failure reason
   * @throws {Error} when the name is invalid or taken (a programmer error)
   */
  addLiveness(name: string, check: HealthCheck): void {
    this.#add("liveness", name, check);
  }

  /**
   * Adds a readiness check: failing it takes the pod out of Service endpoints without restarting it.
   *
   * @param name letters, digits, `.`, `_` and `-`; unique among readiness checks
   * @param check returns `true` or a failure reason
   * @throws {Error} when the name is invalid or taken (a programmer error)
   */
  addReadiness(name: string, check: HealthCheck): void {
    this.#add("readiness", name, check);
  }

  /**
   * Runs the checks of one kind, concurrently.
   *
   * @param kind liveness or readiness
   * @param options names to skip
   */
  async run(kind: HealthKind, options: RunOptions = {}): Promise<HealthReport> {
    const checks = this.#checks[kind];
    const exclude = new Set(options.exclude ?? []);
    const names = [...checks.keys()].filter((name) => !exclude.has(name)).sort();
    const results = await Promise.all(names.map((name) => runCheck(name, checks.get(name)!)));
    return {
      ok: results.every((result) => result.ok),
      results,
      unknownExcludes: [...exclude].filter((name) => !checks.has(name)).sort(),
    };
  }

  /**
   * Answers a probe request. `url.pathname` is the endpoint (`/healthz`) or the endpoint plus a check
   * name (`/healthz/ping`); the query may hold `verbose` and `exclude`.
   *
   * @param kind liveness or readiness
   * @param url the request URL
   */
  async respond(kind: HealthKind, url: URL): Promise<Response> {
    const endpoint = ENDPOINT[kind];
    const single = url.pathname.split("/").filter((part) => part !== "")[1];
    if (single !== undefined) {
      const check = this.#checks[kind].get(single);
      if (check === undefined) return text(404, `${endpoint} check "${single}" not found\n`);
      const result = await runCheck(single, check);
      return result.ok ? text(200, "ok") : text(500, `internal server error: ${result.reason}\n`);
    }
    const exclude = url.searchParams.getAll("exclude").flatMap((value) => value.split(","))
      .map((name) => name.trim()).filter((name) => name !== "");
    const report = await this.run(kind, { exclude });
    const verbose = url.searchParams.has("verbose");
    if (report.ok && !verbose) return text(200, "ok");
    const lines: string[] = [];
    for (const result of report.results) {
      if (!result.ok) lines.push(`[-]${result.name} failed: ${result.reason}`);
      else if (verbose) lines.push(`[+]${result.name} ok`);
    }
    if (report.unknownExcludes.length > 0) {
      const quoted = report.unknownExcludes.map((name) => `"${name}"`).join(", ");
      lines.push(`warn: some health checks cannot be excluded: no matches for ${quoted}`);
    }
    lines.push(`${endpoint} check ${report.ok ? "passed" : "failed"}`);
    return text(report.ok ? 200 : 500, `${lines.join("\n")}\n`);
  }

  #add(kind: HealthKind, name: string, check: HealthCheck): void {
    if (!VALID_NAME.test(name)) throw new Error(`Cannot add ${kind} check "${name}": invalid name`);
    const checks = this.#checks[kind];
    if (checks.has(name)) throw new Error(`Cannot add ${kind} check "${name}": name already used`);
    checks.set(name, check);
  }
}

/** Runs one check, turning a throw, a rejection or an empty reason into a failure. */
async function runCheck(name: string, check: HealthCheck): Promise<CheckResult> {
  try {
    const outcome = await check();
    if (outcome === true) return { name, ok: true };
    // A check that returns "" still failed; say so rather than print an empty reason.
    return { name, ok: false, reason: outcome === "" ? "unhealthy" : String(outcome) };
  } catch (err) {
    return { name, ok: false, reason: errorMessage(err) };
  }
}

function text(status: number, body: string): Response {
  return new Response(body, {
    status,
    headers: { "content-type": "text/plain; charset=utf-8", "x-content-type-options": "nosniff" },
  });
}
