/**
 * When a request is worth sending again, as client-go's `rest.Request` decides
 * it: the API server answered 429 (Priority and Fairness turned it away) or a
 * 5xx, and said when to come back (`Retry-After`), or the answer is one that
 * always means "later" (429, 503). Bounded: a few attempts, each wait capped,
 * and never past the request's own deadline.
 */

/** How many times, and how long, to retry. */
export interface RetryPolicy {
  /** Attempts in all, the first included (client-go: 10 retries of Retry-After answers). */
  maxAttempts: number;
  /** Wait before the second attempt when the answer names none; doubles each time. */
  initialDelayMs: number;
  /** No single wait is longer than this, whatever Retry-After says. */
  maxDelayMs: number;
  /**
   * Retry also when no answer came at all (connection refused or reset). Only for requests whose repeat is
   * harmless and which outlive an API server restart (Events); reconciles have their own backoff.
   */
  retryNoAnswer?: boolean;
}

/** The default: five attempts, 0.25 s then doubling, at most 10 s per wait. */
export const DEFAULT_RETRY: RetryPolicy = { maxAttempts: 5, initialDelayMs: 250, maxDelayMs: 10_000 };

/** No retries (watches and the Lease, whose own loops decide). */
export const NO_RETRY: RetryPolicy = { maxAttempts: 1, initialDelayMs: 0, maxDelayMs: 0 };

/**
 * How long to wait before sending the request again after answer `status` (0 for no answer) with
 * `retryAfter` (the header's value), at `attempt` (1 for the first); undefined means do not retry.
 */
export function retryDelayMs(
  policy: RetryPolicy,
  attempt: number,
  status: number,
  retryAfter: string | null,
): number | undefined {
  if (attempt >= policy.maxAttempts) return undefined;
  const backoff = Math.min(policy.maxDelayMs, policy.initialDelayMs * 2 ** (attempt - 1));
  if (status === 0) return policy.retryNoAnswer ? backoff : undefined;
  if (status !== 429 && status < 500) return undefined;
  const seconds = parseRetryAfter(retryAfter);
  if (seconds !== undefined) return Math.min(policy.maxDelayMs, seconds * 1000);
  // Without Retry-After, client-go retries nothing; 429 and 503 mean "later" anyway, so wait and retry those.
  return status === 429 || status === 503 ? backoff : undefined;
}

/** Retry-After in seconds: an integer, or an HTTP date. */
function parseRetryAfter(value: string | null): number | undefined {
  if (value === null || value.trim() === "") return undefined;
  if (/^\d+$/.test(value.trim())) return Number(value.trim());
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, (date - Date.now()) / 1000);
}
