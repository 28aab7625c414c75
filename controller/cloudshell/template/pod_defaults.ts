/**
 * Settings an administrator gives every terminal pod by flag, on top of the Job template, under the names
 * of CloudTTY's flags where it had them (`--cloudshell-node-selector`, `--cloudshell-resources`) and next
 * to them the pull settings CloudTTY's chart accepted but never passed on (`cloudshell.image.pullPolicy`,
 * `global.imagePullSecrets`). They are the administrator's, like the template: a CloudShell cannot set them.
 *
 * @module
 */

import { isObject, type JobObject, type JsonObject, terminalContainer } from "./job.ts";

/** What the flags add to each terminal pod. */
export interface TerminalPodDefaults {
  /** Secrets (in the shell's namespace) the kubelet pulls the terminal image with; appended to the template's. */
  readonly imagePullSecrets?: readonly string[];
  /** `imagePullPolicy` of the terminal container, replacing the template's. */
  readonly imagePullPolicy?: string;
  /** Merged into the pod's nodeSelector; a key given here wins over the template's. */
  readonly nodeSelector?: Readonly<Record<string, string>>;
  /** `resources` of the terminal container, replacing the template's (a core/v1 ResourceRequirements). */
  readonly resources?: JsonObject;
}

/** Applies `defaults` to a post-rendered Job in place. */
export function applyPodDefaults(job: JobObject, defaults: TerminalPodDefaults): void {
  const pod = job.spec.template.spec;
  const container = terminalContainer(job);
  if (defaults.imagePullSecrets?.length) {
    const current = Array.isArray(pod.imagePullSecrets) ? pod.imagePullSecrets.filter(isObject) : [];
    const names = new Set(current.map((s) => s.name));
    pod.imagePullSecrets = [
      ...current,
      ...defaults.imagePullSecrets.filter((name) => !names.has(name)).map((name) => ({ name })),
    ];
  }
  if (defaults.imagePullPolicy) container.imagePullPolicy = defaults.imagePullPolicy;
  if (defaults.nodeSelector && Object.keys(defaults.nodeSelector).length > 0) {
    pod.nodeSelector = { ...(isObject(pod.nodeSelector) ? pod.nodeSelector : {}), ...defaults.nodeSelector };
  }
  if (defaults.resources) container.resources = structuredClone(defaults.resources);
}
