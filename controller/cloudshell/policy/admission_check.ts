/**
 * Fail closed without the admission policy. The operator mounts the Secrets and ConfigMaps a CloudShell
 * names with its own rights; only the ValidatingAdmissionPolicy shipped in deploy/admission_policy.yaml
 * makes sure the user who set those names may read them. So the operator checks, at start and every few
 * seconds, that the policy and its binding exist and deny, and runs no new shell that names a Secret or
 * ConfigMap while they do not (docs/security.md). An administrator may opt out by flag.
 */
import type { KubeClient } from "../../kube/client.ts";
import { isForbidden, isNotFound } from "../../kube/errors.ts";
import type { ResourceType } from "../../kube/resources.ts";
import type { KubeObject } from "../../kube/types.ts";
import { errorMessage, type Logger } from "../../log.ts";
import { sleep } from "../../cache/backoff.ts";
import { type CloudShellSpec, CREDENTIAL_ENV } from "../api.ts";
import type { KubeconfigSource } from "../template/mod.ts";

/** The policy this repository ships (deploy/admission_policy.yaml), and its binding's name. */
export const DEFAULT_ADMISSION_POLICY = "cloudshell-creator-can-read";

/** Condition reason of a shell refused because the policy is not in force. */
export const ADMISSION_POLICY_MISSING = "AdmissionPolicyMissing";

/** How often the policy is read again; a policy deleted while running is noticed within this time. */
export const ADMISSION_CHECK_PERIOD_MS = 5_000;

export const ValidatingAdmissionPolicies: ResourceType = {
  group: "admissionregistration.k8s.io",
  version: "v1",
  plural: "validatingadmissionpolicies",
  kind: "ValidatingAdmissionPolicy",
  namespaced: false,
};
export const ValidatingAdmissionPolicyBindings: ResourceType = {
  ...ValidatingAdmissionPolicies,
  plural: "validatingadmissionpolicybindings",
  kind: "ValidatingAdmissionPolicyBinding",
};

type LabelSelector = { matchLabels?: Record<string, string>; matchExpressions?: unknown[] };
type Policy = KubeObject & { spec?: { failurePolicy?: string } };
type Binding = KubeObject & {
  spec?: {
    policyName?: string;
    validationActions?: string[];
    matchResources?: {
      namespaceSelector?: LabelSelector;
      objectSelector?: LabelSelector;
      excludeResourceRules?: unknown[];
    };
  };
};

/**
 * In force, or why not (a sentence for conditions and logs); `unknown` when it could not be read yet for a
 * reason that may pass (an API server that does not answer).
 */
export type PolicyState = { inForce: true } | { inForce: false; why: string; unknown?: boolean };

/** Whether a selector selects fewer than all objects. */
function narrows(selector: LabelSelector | undefined): boolean {
  return Object.keys(selector?.matchLabels ?? {}).length > 0 || (selector?.matchExpressions?.length ?? 0) > 0;
}

/** Judges the policy and binding as read (undefined: not found). */
export function judgePolicy(
  name: string,
  policy: Policy | undefined,
  binding: Binding | undefined,
): PolicyState {
  if (!policy) return { inForce: false, why: `the ValidatingAdmissionPolicy ${name} does not exist` };
  if (policy.spec?.failurePolicy === "Ignore") {
    return { inForce: false, why: `the ValidatingAdmissionPolicy ${name} has failurePolicy Ignore` };
  }
  if (!binding) return { inForce: false, why: `the ValidatingAdmissionPolicyBinding ${name} does not exist` };
  const spec = binding.spec ?? {};
  if (spec.policyName !== name) {
    return {
      inForce: false,
      why: `the ValidatingAdmissionPolicyBinding ${name} binds policy ${
        JSON.stringify(spec.policyName ?? "")
      }`,
    };
  }
  if (!spec.validationActions?.includes("Deny")) {
    return {
      inForce: false,
      why: `the ValidatingAdmissionPolicyBinding ${name} does not have validationActions Deny`,
    };
  }
  const match = spec.matchResources;
  if (
    narrows(match?.namespaceSelector) || narrows(match?.objectSelector) || match?.excludeResourceRules?.length
  ) {
    return {
      inForce: false,
      why: `the ValidatingAdmissionPolicyBinding ${name} applies to some CloudShells only (matchResources)`,
    };
  }
  return { inForce: true };
}

/**
 * Whether a shell needs the policy: it mounts a Secret or ConfigMap it names (its kubeconfig, env
 * entries reading one), or carries a plain TTYD_CREDENTIAL that the operator would keep in a Secret.
 */
export function needsAdmissionPolicy(spec: CloudShellSpec, kubeconfig: KubeconfigSource): boolean {
  if (kubeconfig.kind !== "ServiceAccount") return true;
  return (spec.env ?? []).some((e) =>
    e.valueFrom?.secretKeyRef !== undefined || e.valueFrom?.configMapKeyRef !== undefined ||
    (e.name === CREDENTIAL_ENV && !e.valueFrom && e.value !== undefined)
  );
}

/** Options of the check. */
export interface AdmissionCheckOptions {
  client: KubeClient;
  /** The policy's name, which is also its binding's (`--admission-policy`). */
  name: string;
  logger: Logger;
  periodMs?: number;
  /** What the operator holds back while the policy is not in force, for the log; default: shells naming Secrets. */
  withheld?: string;
  /** The runnable's name; default `admission-policy-check`. */
  runnableName?: string;
}

/** Reads the policy and its binding now and then; a leader runnable. */
export class AdmissionPolicyCheck {
  readonly name: string;
  readonly #opts: AdmissionCheckOptions;
  #state: PolicyState | undefined;
  #first: Promise<PolicyState> | undefined;

  constructor(opts: AdmissionCheckOptions) {
    this.#opts = opts;
    this.name = opts.runnableName ?? "admission-policy-check";
  }

  /** The state as last read; the first call waits for the first read. */
  async state(): Promise<PolicyState> {
    if (this.#state) return this.#state;
    this.#first ??= this.check();
    return await this.#first;
  }

  /** Reads the policy and binding and records the outcome, logging a change. */
  async check(): Promise<PolicyState> {
    const { client, name, logger } = this.#opts;
    let next: PolicyState;
    try {
      const [policy, binding] = await Promise.all([
        readOptional<Policy>(client, ValidatingAdmissionPolicies, name),
        readOptional<Binding>(client, ValidatingAdmissionPolicyBindings, name),
      ]);
      next = judgePolicy(name, policy, binding);
    } catch (err) {
      const why = isForbidden(err)
        ? `the operator may not read the ValidatingAdmissionPolicy ${name} or its binding (its ClusterRole ` +
          "needs get on both)"
        : `reading the ValidatingAdmissionPolicy ${name} failed: ${errorMessage(err)}`;
      // A failed read keeps what was known (an API server blip says nothing about the policy); with nothing
      // known yet, the shells wait as if it were missing.
      if (this.#state && !isForbidden(err)) {
        logger.debug("Could not read the admission policy; keeping the last state", {
          error: errorMessage(err),
        });
        return this.#state;
      }
      next = { inForce: false, why, unknown: !isForbidden(err) };
    }
    const previous = this.#state;
    this.#state = next;
    if (previous !== undefined && describe(previous) === describe(next)) return next;
    if (next.inForce) {
      logger.info("The admission policy is in force: CloudShells may name Secrets and ConfigMaps", {
        policy: name,
      });
    } else if (this.#opts.withheld) {
      logger.warn(`The admission policy is not in force: ${this.#opts.withheld}`, {
        policy: name,
        why: next.why,
      });
    } else {
      logger.warn(
        "The admission policy is not in force: CloudShells that name a Secret or ConfigMap (or carry a plain " +
          "TTYD_CREDENTIAL) get no new Job until it is; install deploy/admission_policy.yaml, or run with " +
          "--require-admission-policy=false to trust every CloudShell creator with the Secrets of the namespace",
        { policy: name, why: next.why },
      );
    }
    return next;
  }

  /** Checks every period until aborted. */
  async run(signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      this.#first ??= this.check();
      await (this.#state ? this.check() : this.#first);
      await sleep(this.#opts.periodMs ?? ADMISSION_CHECK_PERIOD_MS, signal);
    }
  }
}

function describe(state: PolicyState): string {
  return state.inForce ? "" : state.why;
}

async function readOptional<T extends KubeObject>(
  client: KubeClient,
  type: ResourceType,
  name: string,
): Promise<T | undefined> {
  try {
    return await client.get<T>(type, undefined, name);
  } catch (err) {
    if (isNotFound(err)) return undefined;
    throw err;
  }
}
