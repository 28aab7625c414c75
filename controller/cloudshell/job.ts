/**
 * Turns a CloudShell into its Job: template variables from the spec, the
 * compiled template rendered as data, upstream's post-render steps, and the
 * ownerReference that makes the Job go with its CloudShell.
 */
import {
  childName,
  type CloudShell,
  type CloudShellSpec,
  DEFAULT_COMMAND,
  TTL_DEADLINE_ANNOTATION,
  ttlSeconds,
} from "./api.ts";
import { ownerReference } from "./children.ts";
import type { JobLike } from "./observe.ts";
import {
  buildTemplateVars,
  type CompiledTemplate,
  type KubeconfigSource,
  postRender,
  render,
} from "./template/mod.ts";

/** Renders the Job of a CloudShell; throws TemplateError or RangeError when it cannot. */
export function renderJob(
  template: CompiledTemplate,
  cs: CloudShell,
  kubeconfig: KubeconfigSource,
  defaultImage: string,
): JobLike {
  const spec = cs.spec ?? {};
  const vars = buildTemplateVars({
    namespace: cs.metadata.namespace!,
    cloudShellName: cs.metadata.name!,
    command: spec.commandAction || DEFAULT_COMMAND,
    once: spec.once ?? false,
    urlArg: spec.urlArg ?? false,
    ttlSeconds: ttlSeconds(spec),
    secretName: kubeconfig.kind === "Secret" ? kubeconfig.name : "",
    image: spec.image || defaultImage,
    ttydClientOptions: spec.ttydClientOptions,
  });
  const job = postRender(render(template, vars), vars, {
    image: spec.image,
    env: spec.env,
    kubeconfig,
  }) as unknown as JobLike;
  job.metadata.ownerReferences = [ownerReference(cs)];
  // A deadline the template derived from the TTL may follow the TTL; a fixed one (CloudTTY's templates say
  // 3600) is the administrator's and must not be rewritten.
  if (template.variables.includes("ActiveDeadlineSeconds")) {
    job.metadata.annotations = { ...job.metadata.annotations, [TTL_DEADLINE_ANNOTATION]: "true" };
  }
  return job;
}

/**
 * Where a shell's kubeconfig comes from: `secretRef.name` with the AllowSecretStoreKubeconfig gate on,
 * legacy `configmapName` with it off, else the shell's own ServiceAccount.
 */
export function kubeconfigSourceOf(
  spec: CloudShellSpec,
  name: string,
  secretStore: boolean,
): KubeconfigSource {
  const named = secretStore ? spec.secretRef?.name : spec.configmapName;
  if (!named) return { kind: "ServiceAccount", serviceAccountName: childName(name) };
  return { kind: secretStore ? "Secret" : "ConfigMap", name: named };
}
