/**
 * The terminal's login (ttyd basic authentication). It comes from CloudTTY's `TTYD_CREDENTIAL` in
 * `spec.env` (`user:password`), or, with `--terminal-credential=generated`, from a random password the
 * operator makes for each shell. Either way it is kept in a Secret the shell owns: created with generateName
 * (so the operator never reads, gets or adopts an existing Secret), once per shell and login, mounted into the
 * terminal pod, and named in `status.credentialSecretName`, where the operator finds it again after a restart
 * (reconciler.ts). The plain value never stays in the pod spec.
 */
import type { KubeObject } from "../../kube/types.ts";
import {
  childName,
  type CloudShell,
  type CloudShellSpec,
  CREDENTIAL_ENV,
  type EnvVar,
  MANAGED_BY,
  MANAGED_BY_LABEL,
  OWNER_LABEL,
  type SpecProblem,
} from "../api.ts";
import { ownerReference } from "../children/ownership.ts";

/** Username of generated logins. */
export const GENERATED_USERNAME = "cloudshell";

/** `--terminal-credential`: what a shell without its own TTYD_CREDENTIAL gets. */
export type CredentialMode = "none" | "generated";
export const CREDENTIAL_MODES: readonly CredentialMode[] = ["none", "generated"];

/** A username and password for ttyd's `--credential`. */
export interface Login {
  readonly username: string;
  readonly password: string;
}

/**
 * What a shell's login is: none; the user's own TTYD_CREDENTIAL value (moved into a Secret); a generated
 * one; or one the kubelet resolves from the user's own Secret (`valueFrom`), left where it is.
 */
export type CredentialPlan =
  | { readonly kind: "none" }
  | { readonly kind: "given"; readonly login: Login }
  | { readonly kind: "generated" }
  | { readonly kind: "fromEnv" };

// deno-lint-ignore no-control-regex
const CONTROL_CHARS = /[\u0000-\u001f\u007f]/;

/** The last TTYD_CREDENTIAL entry of the env (a later entry wins, as in a container). */
function credentialEntry(env: readonly EnvVar[] | undefined): EnvVar | undefined {
  return env?.findLast((e) => e.name === CREDENTIAL_ENV);
}

/** Decides the shell's login; a TTYD_CREDENTIAL that ttyd would refuse is a problem for the user. */
export function credentialPlan(spec: CloudShellSpec, mode: CredentialMode): CredentialPlan | SpecProblem {
  const entry = credentialEntry(spec.env);
  if (entry?.valueFrom) {
    // Under `generated` every shell has a login: a field of the pod (an annotation it lacks) would resolve
    // to "" and leave the terminal open. The user's own Secret is theirs to fill.
    if (mode === "generated" && entry.valueFrom.secretKeyRef === undefined) {
      return {
        reason: "InvalidCredential",
        message:
          `env ${CREDENTIAL_ENV} may come only from a value or a Secret (valueFrom.secretKeyRef) while ` +
          "the operator gives every terminal a login (--terminal-credential=generated)",
      };
    }
    return { kind: "fromEnv" };
  }
  if (entry !== undefined && entry.value) {
    const colon = entry.value.indexOf(":");
    // The message never repeats the value: it is a password.
    if (colon < 1 || CONTROL_CHARS.test(entry.value)) {
      return {
        reason: "InvalidCredential",
        message: `env ${CREDENTIAL_ENV} must be username:password (a non-empty username without ':', ` +
          "no control characters)",
      };
    }
    return {
      kind: "given",
      login: { username: entry.value.slice(0, colon), password: entry.value.slice(colon + 1) },
    };
  }
  return mode === "generated" ? { kind: "generated" } : { kind: "none" };
}

/** `spec.env` without plain TTYD_CREDENTIAL values: those go to the Secret, never into the pod spec. */
export function envWithoutPlainCredential(env: readonly EnvVar[] | undefined): EnvVar[] | undefined {
  return env?.filter((e) => !(e.name === CREDENTIAL_ENV && !e.valueFrom));
}

/** A random password: 24 bytes from the system's CSPRNG, base64url (32 characters). */
export function generatePassword(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(24));
  return btoa(String.fromCharCode(...bytes)).replaceAll("+", "-").replaceAll("/", "_");
}

/** The login a plan puts into the Secret, or undefined when the plan needs no Secret. */
export function loginFor(plan: CredentialPlan): Login | undefined {
  if (plan.kind === "given") return plan.login;
  if (plan.kind === "generated") return { username: GENERATED_USERNAME, password: generatePassword() };
  return undefined;
}

/**
 * The Secret holding a shell's login: `kubernetes.io/basic-auth`, immutable, controlled by the shell (so
 * it goes with it), with a generated name (so it can never be someone else's existing Secret).
 */
export function buildCredentialSecret(
  cs: CloudShell,
  login: Login,
  generateName = `${childName(cs.metadata.name!)}-login-`,
): KubeObject & Record<string, unknown> {
  const name = cs.metadata.name!;
  return {
    apiVersion: "v1",
    kind: "Secret",
    metadata: {
      generateName,
      namespace: cs.metadata.namespace,
      labels: { [OWNER_LABEL]: name, [MANAGED_BY_LABEL]: MANAGED_BY },
      ownerReferences: [ownerReference(cs)],
    },
    type: "kubernetes.io/basic-auth",
    immutable: true,
    stringData: { username: login.username, password: login.password },
  };
}
