/**
 * Errors of the Kubernetes API, classified by HTTP status so callers branch on
 * meaning (not found, conflict) rather than on message text.
 */
import type { Status } from "./types.ts";

/** An error answer of the API server, carrying its `metav1.Status`. */
export class ApiError extends Error {
  /** HTTP status code (404, 409, 410, 422, ...). */
  readonly code: number;
  /** `Status.reason`, such as `NotFound`, `AlreadyExists`, `Conflict`, `Expired`. */
  readonly reason: string;
  readonly status: Status | undefined;
  /** The resource (plural) the request was for, when the caller said; callers name the object from it. */
  readonly resource: string | undefined;

  constructor(code: number, status: Status | undefined, context: string, resource?: string) {
    const detail = status?.message ?? `HTTP ${code}`;
    super(`${context}: ${detail}`);
    this.name = "ApiError";
    this.code = code;
    this.reason = status?.reason ?? "";
    this.status = status;
    this.resource = resource;
  }
}

function codeOf(err: unknown): number | undefined {
  return err instanceof ApiError ? err.code : undefined;
}

/** 404: the object (or its namespace, or its type) does not exist. */
export function isNotFound(err: unknown): boolean {
  return codeOf(err) === 404;
}

/** 409 with reason AlreadyExists. */
export function isAlreadyExists(err: unknown): boolean {
  return err instanceof ApiError && err.code === 409 && err.reason === "AlreadyExists";
}

/** 409 with reason Conflict: a stale resourceVersion, re-read and try again. */
export function isConflict(err: unknown): boolean {
  return err instanceof ApiError && err.code === 409 && err.reason !== "AlreadyExists";
}

/** 410: the requested resourceVersion is too old; relist. */
export function isGone(err: unknown): boolean {
  return codeOf(err) === 410;
}

/** 403: RBAC (or admission, for namespaces being deleted) refused the request. */
export function isForbidden(err: unknown): boolean {
  return codeOf(err) === 403;
}

/** 422: the object failed validation. */
export function isInvalid(err: unknown): boolean {
  return codeOf(err) === 422;
}

/** 429 or 5xx, or no answer at all: worth retrying later. */
export function isTransient(err: unknown): boolean {
  const code = codeOf(err);
  if (code === undefined) return true;
  return code === 429 || code >= 500;
}

/** Reads an error response into an ApiError, with its `metav1.Status` when the body is one. */
export async function errorFromResponse(
  res: Response,
  context: string,
  resource?: string,
): Promise<ApiError> {
  const text = await res.text().catch(() => "");
  let status: Status | undefined;
  try {
    const parsed = JSON.parse(text);
    if (parsed?.kind === "Status") status = parsed as Status;
  } catch {
    // Not JSON (a proxy's HTML error page, say): the code alone classifies it.
  }
  return new ApiError(res.status, status, context, resource);
}
