/**
 * Turns a CloudShell into its Job: template variables from the spec, the
 * compiled template rendered as data, upstream's post-render steps, and the
 * ownerReference that makes the Job go with its CloudShell.
 */
import {
  childName,
  type CloudShell,
  type CloudShellSpec,
  effectiveCommand,
  TTL_DEADLINE_ANNOTATION,
} from "../api.ts";
import { envWithoutPlainCredential } from "../access/credential.ts";
import { ownerReference } from "./ownership.ts";
import { applySession, type SessionFacts } from "../session.ts";
import type { JobLike } from "../observe.ts";
import {
  applyPodDefaults,
  buildTemplateVars,
  type CompiledTemplate,
  type KubeconfigSource,
  postRender,
  render,
  type TerminalPodDefaults,
} from "../template/mod.ts";

/** Operator-wide ttyd settings (flags `--terminal-check-origin`, `--terminal-ping-interval`). */
export interface TerminalSettings {
  /** ttyd `--check-origin`; default true. */
  readonly checkOrigin?: boolean;
  /** ttyd `--ping-interval` in seconds; default 30. */
  readonly pingIntervalSeconds?: number;
  /** ttyd `--auth-header`: an authenticating proxy in front of the terminals sets this header. */
  readonly authHeader?: string;
  /** `--cloudshell-node-selector`, `--cloudshell-resources`, `--cloudshell-image-pull-*`. */
  readonly pod?: TerminalPodDefaults;
}

/**
 * Renders the Job of a CloudShell with its effective TTL (policy.ts); throws TemplateError or
 * RangeError when it cannot.
 */
export function renderJob(
  template: CompiledTemplate,
  cs: CloudShell,
  kubeconfig: KubeconfigSource,
  defaultImage: string,
  ttl: number | undefined,
  terminal: TerminalSettings = {},
  credentialSecret?: string,
  session?: SessionFacts,
): JobLike {
  const spec = cs.spec ?? {};
  const vars = buildTemplateVars({
    namespace: cs.metadata.namespace!,
    cloudShellName: cs.metadata.name!,
    command: effectiveCommand(spec),
    once: spec.once ?? false,
    urlArg: spec.urlArg ?? false,
    ttlSeconds: ttl,
    secretName: kubeconfig.kind === "Secret" ? kubeconfig.name : "",
    image: spec.image || defaultImage,
    ttydClientOptions: spec.ttydClientOptions,
    readOnly: spec.readOnly ?? false,
    checkOrigin: terminal.checkOrigin,
    pingIntervalSeconds: terminal.pingIntervalSeconds,
    authHeader: terminal.authHeader,
  });
  const rendered = postRender(render(template, vars), vars, {
    image: spec.image,
    // A plain TTYD_CREDENTIAL is in the credential Secret; it must not stay in the pod spec.
    env: envWithoutPlainCredential(spec.env),
    kubeconfig,
    credentialSecret,
  });
  if (terminal.pod) applyPodDefaults(rendered, terminal.pod);
  // Only the operator's launcher reads them; a CloudTTY-style template that starts ttyd itself stays as it was.
  if (session && template.variables.includes("Launcher")) applySession(rendered, session);
  const job = rendered as unknown as JobLike;
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
