/**
 * Which `spec.env[].valueFrom` sources a terminal may use. An entry that reads another object
 * (`secretKeyRef`, `configMapKeyRef`) would let the operator's pod read it on the creator's behalf,
 * whether or not the creator could: refused unless an administrator allows that source by flag
 * (`--allow-env-value-from`), and then the admission policy checks the creator's own rights (see
 * docs/security.md). Entries about the pod itself (`fieldRef`, `resourceFieldRef`) read nothing the
 * terminal could not see anyway and are always allowed.
 */
import type { EnvVar } from "../api.ts";

/** valueFrom sources that only describe the terminal's own pod and container. */
export const OWN_POD_ENV_SOURCES: readonly string[] = ["fieldRef", "resourceFieldRef"];

/**
 * valueFrom sources an administrator may allow: a key of a Secret or ConfigMap of the namespace, or of
 * a file in one of the pod's own volumes (`fileKeyRef`, which reads what the Job template mounts).
 */
export const OPT_IN_ENV_SOURCES: readonly string[] = ["secretKeyRef", "configMapKeyRef", "fileKeyRef"];

/** The first env entry whose valueFrom uses a source that is not allowed, with that source. */
export function refusedEnvSource(
  env: readonly EnvVar[],
  allowed: ReadonlySet<string>,
): { name: string; source: string } | undefined {
  for (const e of env) {
    for (const source of Object.keys(e.valueFrom ?? {})) {
      if (OWN_POD_ENV_SOURCES.includes(source)) continue;
      if (OPT_IN_ENV_SOURCES.includes(source) && allowed.has(source)) continue;
      return { name: e.name, source };
    }
  }
  return undefined;
}
