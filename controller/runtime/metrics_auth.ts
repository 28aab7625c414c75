/**
 * Authentication and authorization of scrapers, as kube-rbac-proxy and controller-runtime's
 * `WithAuthenticationAndAuthorization` filter do: the bearer token is checked with a TokenReview, and
 * the user it names must be allowed `get` on the non-resource URL of the request (a SubjectAccessReview),
 * which the ClusterRole `metrics-reader` grants. Answers: 401 without a valid token, 403 without the
 * right, otherwise the request goes on.
 *
 * Decisions are cached by the token's SHA-256 (never the token itself) for a minute when allowed and ten
 * seconds otherwise, so a Prometheus scraping every few seconds costs the API server two requests a
 * minute. The token is never logged.
 *
 * @module
 */

import type { KubeClient } from "../kube/client.ts";
import type { ResourceType } from "../kube/resources.ts";
import type { KubeObject } from "../kube/types.ts";
import type { Logger } from "../log.ts";

const TOKEN_REVIEWS: ResourceType = {
  group: "authentication.k8s.io",
  version: "v1",
  plural: "tokenreviews",
  kind: "TokenReview",
  namespaced: false,
};
const SUBJECT_ACCESS_REVIEWS: ResourceType = {
  group: "authorization.k8s.io",
  version: "v1",
  plural: "subjectaccessreviews",
  kind: "SubjectAccessReview",
  namespaced: false,
};

interface UserInfo {
  username?: string;
  uid?: string;
  groups?: string[];
  extra?: Record<string, string[]>;
}

interface TokenReview extends KubeObject {
  spec: { token: string };
  status?: { authenticated?: boolean; user?: UserInfo; error?: string };
}

interface SubjectAccessReview extends KubeObject {
  spec: {
    user?: string;
    uid?: string;
    groups?: string[];
    extra?: Record<string, string[]>;
    nonResourceAttributes: { path: string; verb: string };
  };
  status?: { allowed?: boolean; reason?: string };
}

/** The outcome for one token and path. */
type Decision = 200 | 401 | 403;

/** Options of {@linkcode KubeRequestAuthorizer}. */
export interface KubeRequestAuthorizerOptions {
  /** Client that creates the reviews (needs `create` on tokenreviews and subjectaccessreviews). */
  client: KubeClient;
  logger: Logger;
  /** How long an allowed decision is reused. @default {60_000} */
  allowTtlMs?: number;
  /** How long a refusal is reused. @default {10_000} */
  denyTtlMs?: number;
  /** At most this many cached decisions (the oldest go first). @default {256} */
  maxEntries?: number;
  /** @default {Date.now} */
  now?: () => number;
}

/** Checks HTTP requests' bearer tokens against the API server. */
export class KubeRequestAuthorizer {
  readonly #opts: Required<Omit<KubeRequestAuthorizerOptions, "client" | "logger">>;
  readonly #client: KubeClient;
  readonly #logger: Logger;
  readonly #cache = new Map<string, { decision: Decision; expires: number }>();

  constructor(options: KubeRequestAuthorizerOptions) {
    this.#client = options.client;
    this.#logger = options.logger;
    this.#opts = {
      allowTtlMs: options.allowTtlMs ?? 60_000,
      denyTtlMs: options.denyTtlMs ?? 10_000,
      maxEntries: options.maxEntries ?? 256,
      now: options.now ?? Date.now,
    };
  }

  /**
   * Returns the refusal to send, or undefined when the request may be served.
   *
   * @param request the incoming request; its path is the non-resource URL checked
   */
  async check(request: Request): Promise<Response | undefined> {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(request.headers.get("authorization") ?? "");
    if (!match) return refuse(401);
    const path = new URL(request.url).pathname;
    const verb = request.method === "HEAD" ? "head" : request.method.toLowerCase();
    const key = `${await sha256(match[1])} ${verb} ${path}`;
    const now = this.#opts.now();
    const cached = this.#cache.get(key);
    let decision = cached && cached.expires > now ? cached.decision : undefined;
    if (decision === undefined) {
      try {
        decision = await this.#decide(match[1], path, verb === "head" ? "get" : verb);
      } catch (err) {
        this.#logger.error("Cannot check a metrics request's token with the API server", { err });
        return new Response("cannot check the token now\n", { status: 503, headers: TEXT });
      }
      this.#remember(key, decision, now);
    }
    return decision === 200 ? undefined : refuse(decision);
  }

  async #decide(token: string, path: string, verb: string): Promise<Decision> {
    const review = await this.#client.create<TokenReview>(TOKEN_REVIEWS, {
      apiVersion: "authentication.k8s.io/v1",
      kind: "TokenReview",
      metadata: {},
      spec: { token },
    });
    const user = review.status?.user;
    if (!review.status?.authenticated || !user?.username) return 401;
    const access = await this.#client.create<SubjectAccessReview>(SUBJECT_ACCESS_REVIEWS, {
      apiVersion: "authorization.k8s.io/v1",
      kind: "SubjectAccessReview",
      metadata: {},
      spec: {
        user: user.username,
        uid: user.uid,
        groups: user.groups,
        extra: user.extra,
        nonResourceAttributes: { path, verb },
      },
    });
    if (access.status?.allowed) return 200;
    this.#logger.debug("Refused a metrics request", { user: user.username, path, verb });
    return 403;
  }

  #remember(key: string, decision: Decision, now: number): void {
    const ttl = decision === 200 ? this.#opts.allowTtlMs : this.#opts.denyTtlMs;
    this.#cache.delete(key);
    this.#cache.set(key, { decision, expires: now + ttl });
    // Maps iterate in insertion order: the first keys are the oldest.
    for (const old of this.#cache.keys()) {
      if (this.#cache.size <= this.#opts.maxEntries) break;
      this.#cache.delete(old);
    }
  }
}

const TEXT = { "content-type": "text/plain; charset=utf-8" };

function refuse(status: 401 | 403): Response {
  return status === 401
    ? new Response("Unauthorized\n", {
      status,
      headers: { ...TEXT, "www-authenticate": 'Bearer realm="metrics"' },
    })
    : new Response("Forbidden\n", { status, headers: TEXT });
}

async function sha256(text: string): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text)));
  return Array.from(digest, (b) => b.toString(16).padStart(2, "0")).join("");
}
