/**
 * Turns a CloudShell into its Job: template variables from the spec, the
 * compiled template rendered as data, upstream's post-render steps, and the
 * ownerReference that makes the Job go with its CloudShell.
 */
import { type CloudShell, DEFAULT_COMMAND, ttlSeconds } from "./api.ts";
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
  return job;
}
