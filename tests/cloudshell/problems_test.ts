import assert from "node:assert/strict";
import { ChildConflict } from "../../controller/cloudshell/children/ownership.ts";
import { MAX_PROBLEM_MESSAGE, problemFromError } from "../../controller/cloudshell/problems.ts";
import { RouteError } from "../../controller/cloudshell/routing/routes.ts";
import { ApiError } from "../../controller/kube/mod.ts";

function apiError(code: number, reason: string, message: string, resource?: string): ApiError {
  return new ApiError(code, { kind: "Status", code, reason, message }, "POST /x", resource);
}

Deno.test("problemFromError(): rejections become a reason naming the kind and the API server's reason", () => {
  const quota = problemFromError(
    apiError(403, "Forbidden", 'services "cloudshell-a" is forbidden: exceeded quota: q', "services"),
  );
  assert.deepEqual(quota, {
    reason: "ServiceForbidden",
    message: 'The API server rejected the Service: services "cloudshell-a" is forbidden: exceeded quota: q',
    retry: true,
  });
  assert.equal(problemFromError(apiError(422, "Invalid", "bad path", "ingresses"))?.reason, "IngressInvalid");
  assert.equal(problemFromError(apiError(422, "Invalid", "x", "jobs"))?.reason, "JobInvalid");
  assert.equal(
    problemFromError(apiError(400, "BadRequest", "x", "virtualservices"))?.reason,
    "VirtualServiceBadRequest",
  );
  assert.equal(
    problemFromError(apiError(409, "AlreadyExists", "x", "services"))?.reason,
    "ServiceAlreadyExists",
  );
  assert.equal(problemFromError(apiError(413, "", "x", "widgets"))?.reason, "WidgetsTooLarge");
  const long = problemFromError(apiError(422, "Invalid", "x".repeat(5000), "services"));
  assert.equal(long?.message.length, MAX_PROBLEM_MESSAGE);
});

Deno.test("problemFromError(): races, timeouts and overload stay the operator's business", () => {
  for (
    const err of [
      apiError(409, "Conflict", "the object has been modified", "services"),
      apiError(404, "NotFound", "gone", "services"),
      apiError(429, "TooManyRequests", "slow down", "services"),
      apiError(500, "InternalError", "oops", "services"),
      new Error("connection reset"),
    ]
  ) {
    assert.equal(problemFromError(err), undefined, String(err));
  }
});

Deno.test("problemFromError(): ownership conflicts and route errors keep their own reasons", () => {
  const conflict = problemFromError(new ChildConflict("ServiceAccount", "ops", "cloudshell-operator"));
  assert.equal(conflict?.reason, "ServiceAccountConflict");
  assert.match(
    conflict?.message ?? "",
    /^ServiceAccount ops\/cloudshell-operator exists and is not owned by this CloudShell/,
  );
  assert.equal(problemFromError(new RouteError("RoutePathConflict", "taken"))?.reason, "RoutePathConflict");
});
