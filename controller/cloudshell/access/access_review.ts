/**
 * Before an exec or logs terminal starts, the API server's authorizer is asked (SubjectAccessReview) whether
 * the terminal's identity may do what its command needs: for `kubectl exec` get the pod and create
 * `pods/exec` on it, for `kubectl logs` get the pod and its `pods/log` (namespace-wide when kubectl picks the
 * pod from a workload or a selector). The identity is the creator in identity mode, else the shell's
 * ServiceAccount. A terminal that could only print Forbidden is refused before it starts.
 */
import type { KubeClient } from "../../kube/client.ts";
import { Resources } from "../../kube/resources.ts";
import type { KubeObject } from "../../kube/types.ts";
import type { Creator } from "../api.ts";
import type { TerminalTarget } from "./target.ts";

/** The Ready=False reason of a shell refused because its identity may not do what its command needs. */
export const TARGET_FORBIDDEN = "TargetForbidden";

/** One request the terminal's command will make, as the authorizer sees it. */
export interface AccessCheck {
  readonly namespace: string;
  readonly verb: string;
  readonly resource: string;
  readonly subresource?: string;
  readonly name?: string;
}

/** What kubectl exec or logs asks the API server for, in the order it asks. */
export function accessChecks(target: TerminalTarget): AccessCheck[] {
  const { namespace, pod } = target;
  const subresource = target.verb === "exec" ? "exec" : "log";
  const verb = target.verb === "exec" ? "create" : "get";
  return [
    pod
      ? { namespace, verb: "get", resource: "pods", name: pod }
      : { namespace, verb: "list", resource: "pods" },
    { namespace, verb, resource: "pods", subresource, ...(pod ? { name: pod } : {}) },
  ];
}

/** `create pods/exec app in namespace team-a`: a check as a person would ask for it. */
export function describeCheck(check: AccessCheck): string {
  const resource = check.subresource ? `${check.resource}/${check.subresource}` : check.resource;
  const what = check.name ? `${resource} ${check.name}` : resource;
  return `${check.verb} ${what} in namespace ${check.namespace}`;
}

/** The user a ServiceAccount's token authenticates as, with the groups the API server gives it. */
export function serviceAccountUser(namespace: string, name: string): Creator {
  return {
    username: `system:serviceaccount:${namespace}:${name}`,
    groups: ["system:serviceaccounts", `system:serviceaccounts:${namespace}`, "system:authenticated"],
  };
}

/** The first check `user` fails, or undefined when every one is allowed. */
export async function firstDenied(
  client: KubeClient,
  user: Creator,
  checks: readonly AccessCheck[],
): Promise<AccessCheck | undefined> {
  for (const check of checks) {
    const review = await client.create<KubeObject & { status?: { allowed?: boolean } }>(
      Resources.subjectAccessReviews,
      {
        apiVersion: "authorization.k8s.io/v1",
        kind: "SubjectAccessReview",
        metadata: {},
        spec: {
          user: user.username,
          ...(user.uid ? { uid: user.uid } : {}),
          groups: user.groups ?? [],
          ...(user.extra ? { extra: user.extra } : {}),
          resourceAttributes: { group: "", ...check },
        },
      } as KubeObject,
    );
    if (review.status?.allowed !== true) return check;
  }
  return undefined;
}
