/**
 * The operator's HTTP endpoints: `/metrics` on the metrics address, and `/healthz`, `/livez` (an alias)
 * and `/readyz` on the health address, each on its own `Deno.serve` listener, or on one listener when
 * both addresses are the same.
 *
 * Bind addresses use the Go syntax of controller-runtime's `--metrics-bind-address` and
 * `--health-probe-bind-address` flags; see {@linkcode parseBindAddress}.
 *
 * @example
 * ```ts
 * import { serve } from "./http_server.ts";
 * import { HealthChecks } from "./health.ts";
 * import { Metrics } from "./metrics.ts";
 * import { Logger } from "../log.ts";
 * const stop = new AbortController();
 * const { addresses, closed } = await serve({
 *   metricsAddress: ":8080",
 *   healthAddress: ":8081",
 *   metrics: new Metrics(),
 *   health: new HealthChecks(),
 *   logger: new Logger(),
 *   signal: stop.signal,
 * });
 * stop.abort();
 * await closed;
 * ```
 *
 * @module
 */

import type { Logger } from "../log.ts";
import type { HealthChecks, HealthKind } from "./health.ts";
import type { Metrics } from "./metrics.ts";
import type { KeyPair } from "./self_signed.ts";

/** Where to listen: a host name or IP literal (IPv6 without brackets) and a port, 0 for an ephemeral one. */
export interface BindAddress {
  /** Host name or IP address; `0.0.0.0` when the address gave none. */
  hostname: string;
  /** TCP port; 0 lets the system pick one. */
  port: number;
}

/** Options of {@linkcode serve}. */
export interface ServeOptions {
  /** Where `/metrics` is served; `"0"` disables it. */
  metricsAddress: string;
  /** Where `/healthz`, `/livez` and `/readyz` are served; `"0"` disables them. */
  healthAddress: string;
  /** The registry rendered at `/metrics`. */
  metrics: Metrics;
  /** The checks answered at the health endpoints. */
  health: HealthChecks;
  /** Where listening addresses and handler failures are reported. */
  logger: Logger;
  /** Aborting it shuts every listener down, letting in-flight requests finish. */
  signal: AbortSignal;
  /** Serve `/metrics` over HTTPS with this certificate (its address must then differ from the health one). */
  metricsTls?: KeyPair;
  /** Checks each `/metrics` request first; a returned response (401, 403) is sent instead of the metrics. */
  metricsAuth?: (request: Request) => Promise<Response | undefined>;
}

/** What {@linkcode serve} started. */
export interface ServeResult {
  /** The bound address of each enabled endpoint set, with the actual port when port 0 was asked for. */
  addresses: { metrics?: Deno.NetAddr; health?: Deno.NetAddr };
  /** Resolves once every listener has shut down after the signal aborted. */
  closed: Promise<void>;
}

/** What one listener serves. */
type Role = "metrics" | "health";

/** Health paths: the endpoint, optionally followed by one check name. */
const HEALTH_PATH = /^\/(healthz|livez|readyz)(\/[^/]*)?$/;

const HEALTH_KIND: Readonly<Record<string, HealthKind>> = {
  healthz: "liveness",
  livez: "liveness",
  readyz: "readiness",
};

/**
 * Parses a Go-style listen address: `:8080` (all IPv4 interfaces), `127.0.0.1:8080`, `localhost:8080`,
 * `[::1]:8080`, or `0` to disable the endpoint. Port 0 (`:0`, `127.0.0.1:0`) asks for an ephemeral port.
 *
 * `:PORT` binds `0.0.0.0`, which is IPv4 only; use `[::]:PORT` on IPv6-only pods.
 *
 * @param address the flag value
 * @returns the address, or `undefined` when `address` is `"0"`
 * @throws {Error} when the address is malformed, naming the address and what is wrong
 */
export function parseBindAddress(address: string): BindAddress | undefined {
  if (address === "0") return undefined;
  const invalid = (why: string) => new Error(`Invalid bind address "${address}": ${why}`);
  if (address.trim() === "") throw invalid('empty; use ":PORT" to listen or "0" to disable');
  let host: string;
  let port: string;
  if (address.startsWith("[")) {
    const close = address.indexOf("]");
    if (close < 0 || address[close + 1] !== ":") throw invalid('expected "[IPv6]:PORT"');
    host = address.slice(1, close);
    port = address.slice(close + 2);
    if (!/^[0-9A-Fa-f:.]+$/.test(host) || !host.includes(":")) {
      throw invalid(`"${host}" is not an IPv6 address`);
    }
  } else {
    const colon = address.lastIndexOf(":");
    if (colon < 0) throw invalid('missing port; use ":PORT" to listen on all interfaces or "0" to disable');
    host = address.slice(0, colon);
    port = address.slice(colon + 1);
    if (host.includes(":")) throw invalid('an IPv6 address must be in brackets, as in "[::1]:8080"');
    if (host !== "" && !/^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?$/.test(host)) {
      throw invalid(`invalid host "${host}"`);
    }
  }
  if (!/^[0-9]{1,5}$/.test(port) || Number(port) > 65535) {
    throw invalid(`invalid port "${port}": expected a number from 0 to 65535`);
  }
  return { hostname: host === "" ? "0.0.0.0" : host, port: Number(port) };
}

/**
 * Starts the metrics and health listeners and resolves once they are bound. When an address is malformed
 * or cannot be bound it rejects, after shutting down any listener it had already started, so nothing is
 * left listening.
 *
 * @param options addresses, what to serve, logger and the shutdown signal
 * @throws {Error} when an address is malformed or cannot be bound
 */
export async function serve(options: ServeOptions): Promise<ServeResult> {
  const wanted: [Role, BindAddress | undefined][] = [
    ["metrics", parseBindAddress(options.metricsAddress)],
    ["health", parseBindAddress(options.healthAddress)],
  ];
  // Group roles by address so equal addresses share one listener instead of failing with EADDRINUSE.
  const listeners = new Map<string, { bind: BindAddress; roles: Role[] }>();
  for (const [role, bind] of wanted) {
    if (bind === undefined) continue;
    const key = `[${bind.hostname}]:${bind.port}`;
    const listener = listeners.get(key) ?? { bind, roles: [] };
    listener.roles.push(role);
    listeners.set(key, listener);
  }

  for (const [key, { roles }] of listeners) {
    if (options.metricsTls && roles.length > 1) {
      throw new Error(`Cannot serve the health probes over HTTPS: give /metrics another address than ${key}`);
    }
  }

  // Our own controller, so a failed second bind can stop the first listener without touching the caller's.
  const stop = new AbortController();
  const onAbort = () => stop.abort();
  options.signal.addEventListener("abort", onAbort, { once: true });
  const servers: Deno.HttpServer<Deno.NetAddr>[] = [];
  const addresses: ServeResult["addresses"] = {};
  for (const [key, { bind, roles }] of listeners) {
    const tls = roles.includes("metrics") ? options.metricsTls : undefined;
    let server: Deno.HttpServer<Deno.NetAddr>;
    try {
      server = Deno.serve({
        ...tls,
        hostname: bind.hostname,
        port: bind.port,
        signal: stop.signal,
        // The default prints to stdout; we log once the address is known instead.
        onListen: () => {},
        onError: (err) => {
          options.logger.error("HTTP handler failed", { err });
          return new Response("internal server error\n", { status: 500 });
        },
      }, handlerFor(new Set(roles), options));
    } catch (err) {
      stop.abort();
      options.signal.removeEventListener("abort", onAbort);
      await Promise.all(servers.map((started) => started.finished));
      throw new Error(`Cannot listen on ${key} for ${roles.join(" and ")}`, { cause: err });
    }
    servers.push(server);
    for (const role of roles) addresses[role] = server.addr;
    options.logger.info(tls ? "Serving HTTPS" : "Serving HTTP", {
      endpoints: roles.join(","),
      address: formatAddress(server.addr),
    });
  }
  if (options.signal.aborted) stop.abort();
  const closed = Promise.all(servers.map((server) => server.finished)).then(() => {
    options.signal.removeEventListener("abort", onAbort);
  });
  return { addresses, closed };
}

/** Builds the request handler of one listener serving `roles`. */
function handlerFor(roles: ReadonlySet<Role>, options: ServeOptions): Deno.ServeHandler<Deno.NetAddr> {
  return async (request) => {
    const url = new URL(request.url);
    const match = HEALTH_PATH.exec(url.pathname);
    const kind = match !== null && roles.has("health") ? HEALTH_KIND[match[1]] : undefined;
    const isMetrics = url.pathname === "/metrics" && roles.has("metrics");
    if (kind === undefined && !isMetrics) return plain(404, "404 page not found\n");
    if (request.method !== "GET" && request.method !== "HEAD") {
      return plain(405, "method not allowed\n", { allow: "GET, HEAD" });
    }
    if (kind !== undefined) return await options.health.respond(kind, url);
    const refusal = await options.metricsAuth?.(request);
    if (refusal) return refusal;
    try {
      const body = await options.metrics.text();
      return new Response(body, { headers: { "content-type": options.metrics.contentType } });
    } catch (err) {
      // A throwing product collector must not hide the other series forever without a trace.
      options.logger.error("Cannot collect metrics", { err });
      return plain(500, "cannot collect metrics\n");
    }
  };
}

/** `host:port`, with an IPv6 host in brackets. */
function formatAddress(addr: Deno.NetAddr): string {
  return addr.hostname.includes(":") ? `[${addr.hostname}]:${addr.port}` : `${addr.hostname}:${addr.port}`;
}

function plain(status: number, body: string, headers: Record<string, string> = {}): Response {
  return new Response(body, { status, headers: { "content-type": "text/plain; charset=utf-8", ...headers } });
}
