/**
 * What the user of a CloudShell must be told. A write the operator makes for a
 * shell can fail in ways that retrying alone never fixes: the API server finds
 * the object invalid, a quota or an admission plugin refuses it, an object of
 * that name belongs to someone else. Each becomes a `Ready=False` condition
 * with a reason and a Warning Event, and the shell is retried with per-item
 * backoff (the queue's rate limiter), never in a silent loop.
 */
import { ApiError } from "../kube/errors.ts";
import { ChildConflict } from "./children/ownership.ts";
import { RouteError } from "./routing/route_types.ts";

/** A problem to report as `Ready=False`, and whether to retry with backoff (true) or wait for a change. */
export interface Problem {
  reason: string;
  message: string;
  retry: boolean;
}

/** Longest message kept from the API server: enough for its field errors, not a wall of text. */
export const MAX_PROBLEM_MESSAGE = 1024;

/** Kinds by resource plural, for reasons such as `ServiceInvalid`; others are named by their plural. */
const KINDS: Record<string, string> = {
  jobs: "Job",
  services: "Service",
  serviceaccounts: "ServiceAccount",
  rolebindings: "RoleBinding",
  clusterroles: "ClusterRole",
  clusterrolebindings: "ClusterRoleBinding",
  ingresses: "Ingress",
  virtualservices: "VirtualService",
  secrets: "Secret",
  configmaps: "ConfigMap",
  networkpolicies: "NetworkPolicy",
  cloudshells: "CloudShell",
};

/** HTTP codes that say "this write will not succeed as it is" (not a race, not the server's load). */
const REJECTIONS = new Set([400, 403, 413, 422]);

/** The API server's reasons, as they appear in a condition reason (`Forbidden`, `Invalid`, ...). */
const REASON = /^[A-Za-z][A-Za-z0-9]*$/;

/**
 * The problem an error means for the user, or undefined when it is for the
 * operator alone (a race, a timeout, an overloaded server: retried quietly).
 */
export function problemFromError(err: unknown): Problem | undefined {
  if (err instanceof ChildConflict) return { reason: err.reason, message: err.message, retry: true };
  if (err instanceof RouteError) return { reason: err.reason, message: err.message, retry: true };
  if (!(err instanceof ApiError)) return undefined;
  const alreadyExists = err.code === 409 && err.reason === "AlreadyExists";
  if (!REJECTIONS.has(err.code) && !alreadyExists) return undefined;
  const kind = KINDS[err.resource ?? ""] ?? capitalize(err.resource ?? "Object");
  const why = REASON.test(err.reason) ? err.reason : codeReason(err.code);
  return {
    reason: `${kind}${why}`,
    message: truncate(`The API server rejected the ${kind}: ${err.status?.message ?? err.message}`),
    retry: true,
  };
}

function codeReason(code: number): string {
  switch (code) {
    case 400:
      return "BadRequest";
    case 403:
      return "Forbidden";
    case 413:
      return "TooLarge";
    case 422:
      return "Invalid";
    default:
      return "Rejected";
  }
}

function capitalize(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1).replace(/[^A-Za-z0-9]/g, "");
}

function truncate(s: string): string {
  return s.length <= MAX_PROBLEM_MESSAGE ? s : `${s.slice(0, MAX_PROBLEM_MESSAGE - 3)}...`;
}
