/**
 * Job templates: compile a Go-template style YAML template once, render it per CloudShell with values
 * substituted as data (never re-parsed), check that the result is a Job with the `web-tty` container, and
 * apply the operator's post-render steps. Everything here is pure; loading the ConfigMap is the caller's.
 *
 * Typical use:
 * ```ts
 * const compiled = compileJobTemplate(configMapText); // on ConfigMap change; keep the last good one
 * const vars = buildTemplateVars({ namespace, cloudShellName, command, once, urlArg, ttlSeconds, secretName, image });
 * const job = postRender(render(compiled, vars), vars, { image: spec.image, env: spec.env, kubeconfig });
 * ```
 *
 * @module
 */

export {
  DEFAULT_JOB_TEMPLATE_TEXT,
  LAUNCHER_SCRIPT,
  LAUNCHER_SOURCE,
  withoutCommentLines,
} from "./default_template.ts";
export {
  isObject,
  type JobObject,
  type JsonObject,
  type JsonPrimitive,
  type JsonValue,
  type PodSpecObject,
  TemplateError,
  TERMINAL_CONTAINER,
  terminalContainer,
  validateJob,
} from "./job.ts";
export {
  CREDENTIAL_MOUNT_PATH,
  CREDENTIAL_VOLUME,
  DEFAULT_KUBECONFIG_MOUNT_PATH,
  DEFAULT_TOKEN_EXPIRATION_SECONDS,
  KUBECONFIG_KEY,
  KUBECONFIG_VOLUME,
  type KubeconfigSource,
  postRender,
  type PostRenderOptions,
  SERVICE_ACCOUNT_MOUNT_PATH,
} from "./post_render.ts";
export { applyPodDefaults, type TerminalPodDefaults } from "./pod_defaults.ts";
export {
  type CompiledTemplate,
  compileJobTemplate,
  compileTemplate,
  render,
  type TemplateNode,
  type TextPart,
} from "./render.ts";
export {
  activeDeadlineSecondsFor,
  buildTemplateVars,
  checkTemplateVars,
  DEFAULT_DEADLINE_GRACE_SECONDS,
  DEFAULT_PING_INTERVAL_SECONDS,
  isVariableName,
  SAMPLE_TEMPLATE_VARS,
  type TemplateInput,
  type TemplateVars,
  ttydArgsFor,
  type TtydFlags,
  type VariableKind,
  type VariableName,
  VARIABLES,
} from "./vars.ts";
