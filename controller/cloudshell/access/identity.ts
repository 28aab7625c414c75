/**
 * Identity mode (`--terminal-identity=creator`): a terminal without a kubeconfig of its own acts as the
 * CloudShell's creator. The API server records the creator at admission (`spec.creator`, see
 * deploy/admission_policy.yaml); the shell's ServiceAccount gets a ClusterRole that may impersonate exactly
 * that user (name, groups, UID and extra values as resourceNames) and nothing else, and the terminal's
 * kubeconfig asks for that impersonation. A `kubectl --as=<someone else>` in the terminal replaces the
 * kubeconfig's `as` and is refused by RBAC: the resourceNames are the boundary, whatever a client sends.
 *
 * The grant is cluster-scoped (impersonation has no namespace), so it cannot be owned by the namespaced
 * CloudShell: it is named after the shell's UID, labelled with it, and deleted by the operator when the shell
 * ends or is deleted (the shell holds the finalizer while its grant exists).
 */
import type { KubeObject } from "../../kube/types.ts";
import {
  childName,
  type CloudShell,
  type Creator,
  MANAGED_BY,
  MANAGED_BY_LABEL,
  OWNER_LABEL,
} from "../api.ts";

/** Who the terminal's kubectl is: its own ServiceAccount (bound to --kubeconfig-clusterrole), or its creator. */
export type TerminalIdentity = "serviceaccount" | "creator";
export const TERMINAL_IDENTITIES: readonly TerminalIdentity[] = ["serviceaccount", "creator"];

/** Labels on the grant: the owning shell, which an ownerReference cannot name across scopes. */
export const OWNER_NAMESPACE_LABEL = "cloudshell.cloudtty.io/owner-namespace";
export const OWNER_UID_LABEL = "cloudshell.cloudtty.io/owner-uid";

const SERVICE_ACCOUNT_USER = "system:serviceaccount:";

/** The ValidatingAdmissionPolicy (and binding) that keeps spec.creator the requester's (admission_policy.yaml). */
export const CREATOR_POLICY = "cloudshell-creator-record";

export const IdentityReasons = {
  creatorPolicyMissing: "CreatorPolicyMissing",
  creatorNotRecorded: "CreatorNotRecorded",
  creatorIsServiceAccount: "CreatorIsServiceAccount",
} as const;

/**
 * Name of the shell's ClusterRole and ClusterRoleBinding. The UID, not the name: a later shell of the same
 * name must never meet an earlier shell's grant.
 */
export function grantName(cs: CloudShell): string {
  return `cloudshell-identity-${cs.metadata.uid}`;
}

/** Why the creator cannot be acted as, or undefined when it can. */
export function creatorProblem(
  creator: Creator | undefined,
): { reason: string; message: string } | undefined {
  if (!creator?.username) {
    return {
      reason: IdentityReasons.creatorNotRecorded,
      message: "The operator runs in identity mode (the terminal acts as the CloudShell's creator), but " +
        "spec.creator was not recorded when the CloudShell was created: the MutatingAdmissionPolicy " +
        "cloudshell-creator (deploy/components/identity, Kubernetes 1.36 or newer) is not installed. " +
        "Recreate the CloudShell with spec.creator set to yourself as `kubectl auth whoami -o yaml` shows " +
        "(the admission policy checks it), or ask an administrator to install the policy",
    };
  }
  if (creator.username.startsWith(SERVICE_ACCOUNT_USER)) {
    return {
      reason: IdentityReasons.creatorIsServiceAccount,
      message: `The CloudShell was created by ServiceAccount ${creator.username}; identity mode acts as ` +
        "people, not ServiceAccounts (their impersonation cannot be narrowed to one namespace's account " +
        "cluster-wide). Give the shell a kubeconfig in spec.secretRef instead",
    };
  }
  return undefined;
}

function grantMeta(cs: CloudShell) {
  return {
    name: grantName(cs),
    labels: {
      [OWNER_LABEL]: cs.metadata.name!,
      [OWNER_NAMESPACE_LABEL]: cs.metadata.namespace!,
      [OWNER_UID_LABEL]: cs.metadata.uid!,
      [MANAGED_BY_LABEL]: MANAGED_BY,
    },
  };
}

/** The values of an extra key worth passing on (a key without values says nothing). */
function extras(creator: Creator): [string, string[]][] {
  return Object.entries(creator.extra ?? {}).filter(([, values]) => values.length > 0);
}

/** A ClusterRole that may impersonate exactly the creator: each part of their identity by name. */
export function buildImpersonationRole(cs: CloudShell, creator: Creator): KubeObject {
  const impersonate = (apiGroup: string, resource: string, names: string[]) => ({
    apiGroups: [apiGroup],
    resources: [resource],
    verbs: ["impersonate"],
    resourceNames: names,
  });
  const groups = creator.groups ?? [];
  return {
    apiVersion: "rbac.authorization.k8s.io/v1",
    kind: "ClusterRole",
    metadata: grantMeta(cs),
    rules: [
      impersonate("", "users", [creator.username!]),
      ...(groups.length > 0 ? [impersonate("", "groups", groups)] : []),
      ...(creator.uid ? [impersonate("authentication.k8s.io", "uids", [creator.uid])] : []),
      ...extras(creator).map(([key, values]) =>
        impersonate("authentication.k8s.io", `userextras/${key}`, values)
      ),
    ],
  } as KubeObject;
}

/** Binds the shell's ClusterRole to its ServiceAccount, and to nothing else. */
export function buildImpersonationBinding(cs: CloudShell): KubeObject {
  return {
    apiVersion: "rbac.authorization.k8s.io/v1",
    kind: "ClusterRoleBinding",
    metadata: grantMeta(cs),
    roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: grantName(cs) },
    subjects: [{
      kind: "ServiceAccount",
      name: childName(cs.metadata.name!),
      namespace: cs.metadata.namespace,
    }],
  } as KubeObject;
}

/** Whether a grant object found under the shell's grant name is this shell's (by the UID label). */
export function isGrantOf(obj: KubeObject, cs: CloudShell): boolean {
  return obj.metadata.labels?.[OWNER_UID_LABEL] === cs.metadata.uid;
}

/**
 * The terminal's kubeconfig: the shell's projected ServiceAccount token and CA (paths relative to the
 * kubeconfig, which lies beside them in the same volume), asking to act as the creator. It holds no secret:
 * the token stays a file the kubelet renews.
 */
export function identityKubeconfig(creator: Creator, server: string, namespace: string): string {
  const user: Record<string, unknown> = { tokenFile: "token", as: creator.username };
  if (creator.groups?.length) user["as-groups"] = creator.groups;
  if (creator.uid) user["as-uid"] = creator.uid;
  const extra = extras(creator);
  if (extra.length > 0) user["as-user-extra"] = Object.fromEntries(extra);
  return JSON.stringify({
    apiVersion: "v1",
    kind: "Config",
    clusters: [{ name: "cluster", cluster: { server, "certificate-authority": "ca.crt" } }],
    users: [{ name: "creator", user }],
    contexts: [{ name: "creator", context: { cluster: "cluster", user: "creator", namespace } }],
    "current-context": "creator",
  });
}
