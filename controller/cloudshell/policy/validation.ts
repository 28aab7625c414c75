/**
 * Checks a CloudShell spec before anything is created, so bad input becomes a
 * `Ready=False` condition with a reason the user can act on, instead of a
 * retry loop against API-server rejections. The CRD schema already enforces
 * types, the exposure-mode enum, non-negative TTLs and every size limit; these
 * are the rules a schema cannot express, and the env and client option limits
 * again, for a cluster whose CRD was not upgraded.
 */
import {
  type CloudShellSpec,
  EXPOSURE_MODES,
  type ExposureMode,
  exposureMode,
  routePath,
  type SpecProblem,
} from "../api.ts";
import { OPT_IN_ENV_SOURCES, refusedEnvSource } from "./env_policy.ts";
import { credentialPlan } from "../access/credential.ts";

/** Most environment variables a terminal may ask for. */
export const MAX_ENV_VARS = 128;
/** Most bytes of environment (names and values) a terminal may ask for. */
export const MAX_ENV_BYTES = 64 * 1024;
/** Most ttyd client options. */
export const MAX_CLIENT_OPTIONS = 64;
/** Most characters of ttyd client options (keys and values). */
export const MAX_CLIENT_OPTION_BYTES = 16 * 1024;
/** Longer names make child names (`cloudshell-<name>`) too long for a Job or Service. */
export const MAX_NAME_LENGTH = 63 - "cloudshell-".length;

const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const CLIENT_OPTION_KEY = /^[A-Za-z_][A-Za-z0-9_.-]*$/;
// deno-lint-ignore no-control-regex
const CONTROL_CHARS = /[\u0000-\u001f\u007f]/;
/** Upstream joined client options with `|`; keeping it forbidden keeps manifests portable both ways. */
const CLIENT_OPTION_DELIMITER = "|";

/** The characters of every string (and number) in a valueFrom source, as the CRD's CEL total counts them. */
function characters(value: unknown): number {
  if (typeof value === "string") return value.length;
  if (typeof value === "number") return String(value).length;
  if (value === null || typeof value !== "object") return 0;
  return Object.values(value).reduce((sum: number, v) => sum + characters(v), 0);
}

/** Whether `s` is a valid DNS-1123 label (namespaces, Service names). */
export function isDnsLabel(s: string): boolean {
  return s.length <= 63 && DNS1123_LABEL.test(s);
}

/** Whether `s` is a valid DNS-1123 subdomain (most object names). */
export function isDnsSubdomain(s: string): boolean {
  return s.length <= 253 && DNS1123_SUBDOMAIN.test(s);
}

/** Upstream's host rule: a DNS-1123 subdomain, or `*.` followed by one. */
function hostProblem(host: string): string | undefined {
  const bare = host.startsWith("*.") ? host.slice(2) : host;
  if (bare.includes("*")) return "a wildcard '*' is only allowed as the first label ('*.')";
  if (!isDnsSubdomain(bare)) return "it must be a lower-case DNS name such as shell.example.com";
  return undefined;
}

/** What an administrator allowed beyond the defaults (from flags). */
export interface SpecPolicy {
  /** `--allow-env-value-from`: valueFrom sources that read other objects and are allowed anyway. */
  readonly allowedEnvValueFrom?: ReadonlySet<string>;
}

/** Returns the first problem of a spec, or undefined when it is valid. */
export function validateSpec(
  spec: CloudShellSpec,
  name: string,
  namespace: string,
  policy: SpecPolicy = {},
): SpecProblem | undefined {
  if (name.length > MAX_NAME_LENGTH) {
    return {
      reason: "NameTooLong",
      message:
        `CloudShell names may have at most ${MAX_NAME_LENGTH} characters (the Job and Service are named cloudshell-<name>)`,
    };
  }
  const mode = exposureMode(spec);
  if (!EXPOSURE_MODES.includes(mode as ExposureMode)) {
    return {
      reason: "InvalidExposureMode",
      message: `exposureMode "${mode}" is not one of ${EXPOSURE_MODES.join(", ")}`,
    };
  }
  const env = spec.env ?? [];
  if (env.length > MAX_ENV_VARS) {
    return {
      reason: "InvalidEnv",
      message: `env has ${env.length} entries; at most ${MAX_ENV_VARS} are allowed`,
    };
  }
  let envBytes = 0;
  for (const e of env) {
    if (!e.name || e.name.includes("=") || /[^\x20-\x7e]/.test(e.name)) {
      return {
        reason: "InvalidEnv",
        message: `env name "${e.name}" is invalid: use printable ASCII characters other than '='`,
      };
    }
    envBytes += e.name.length + (e.value?.length ?? 0) + characters(e.valueFrom);
  }
  if (envBytes > MAX_ENV_BYTES) {
    return {
      reason: "InvalidEnv",
      message:
        `env holds ${envBytes} characters (names, values and valueFrom fields); at most ${MAX_ENV_BYTES} ` +
        "are allowed",
    };
  }
  const refused = refusedEnvSource(env, policy.allowedEnvValueFrom ?? new Set());
  if (refused) {
    const optIn = OPT_IN_ENV_SOURCES.includes(refused.source);
    return {
      reason: "EnvSourceNotAllowed",
      message: `env "${refused.name}" uses valueFrom.${refused.source}, which ` +
        (optIn
          ? "reads another object; the operator's administrator has not allowed that " +
            `(--allow-env-value-from=${refused.source})`
          : "is not supported; use fieldRef or resourceFieldRef, or a plain value"),
    };
  }
  const options = Object.entries(spec.ttydClientOptions ?? {});
  if (options.length > MAX_CLIENT_OPTIONS) {
    return {
      reason: "InvalidClientOption",
      message: `ttydClientOptions has ${options.length} entries; at most ${MAX_CLIENT_OPTIONS} are allowed`,
    };
  }
  const optionBytes = options.reduce((sum, [key, value]) => sum + key.length + value.length, 0);
  if (optionBytes > MAX_CLIENT_OPTION_BYTES) {
    return {
      reason: "InvalidClientOption",
      message:
        `ttydClientOptions hold ${optionBytes} characters; at most ${MAX_CLIENT_OPTION_BYTES} are allowed`,
    };
  }
  for (const [key, value] of options) {
    if (key.includes(CLIENT_OPTION_DELIMITER) || value.includes(CLIENT_OPTION_DELIMITER)) {
      return {
        reason: "InvalidClientOption",
        message:
          `ttydClientOptions "${key}" contains the delimiter '|', which is not allowed in keys or values`,
      };
    }
    if (!CLIENT_OPTION_KEY.test(key)) {
      return {
        reason: "InvalidClientOption",
        message: `ttydClientOptions key "${key}" is invalid: use letters, digits, '_', '.' and '-'`,
      };
    }
    if (value.includes("=")) {
      // ttyd 1.7 splits each --client-option at every "=" and keeps the first two parts, so the value
      // would arrive cut short; there is no way to escape it.
      return {
        reason: "InvalidClientOption",
        message: `ttydClientOptions "${key}" has '=' in its value, which ttyd would cut off there`,
      };
    }
    if (CONTROL_CHARS.test(value)) {
      return {
        reason: "InvalidClientOption",
        message: `ttydClientOptions "${key}" has a control character in its value`,
      };
    }
  }
  const credential = credentialPlan(spec, "none");
  if ("reason" in credential) return credential;
  if (spec.commandAction !== undefined && spec.commandAction.includes("\u0000")) {
    return { reason: "InvalidCommand", message: "commandAction contains a NUL character" };
  }
  if (mode === "Ingress" || mode === "VirtualService") {
    const path = routePath(spec, name);
    if (!path.startsWith("/") || /\s/.test(path)) {
      return {
        reason: "InvalidPath",
        message:
          `route path "${path}" must start with '/' and contain no spaces; check pathPrefix and pathSuffix`,
      };
    }
  }
  if (mode === "Ingress") return ingressProblem(spec, namespace);
  if (mode === "VirtualService") return virtualServiceProblem(spec);
  return undefined;
}

function ingressProblem(spec: CloudShellSpec, namespace: string): SpecProblem | undefined {
  const cfg = spec.ingressConfig ?? {};
  const invalid = (message: string) => ({ reason: "InvalidIngressConfig", message });
  if (cfg.ingressName && !isDnsSubdomain(cfg.ingressName)) {
    return invalid(`ingressConfig.ingressName "${cfg.ingressName}" is not a valid object name`);
  }
  if (cfg.namespace && !isDnsLabel(cfg.namespace)) {
    return invalid(`ingressConfig.namespace "${cfg.namespace}" is not a valid namespace name`);
  }
  if (cfg.namespace && cfg.namespace !== namespace) {
    return invalid(
      `ingressConfig.namespace "${cfg.namespace}" differs from the CloudShell's namespace "${namespace}": ` +
        "an Ingress can only route to Services in its own namespace",
    );
  }
  if (cfg.ingressClassName && !isDnsSubdomain(cfg.ingressClassName)) {
    return invalid(`ingressConfig.ingressClassName "${cfg.ingressClassName}" is not a valid name`);
  }
  if (cfg.host) {
    const problem = hostProblem(cfg.host);
    if (problem) return invalid(`ingressConfig.host "${cfg.host}" is invalid: ${problem}`);
  }
  return undefined;
}

function virtualServiceProblem(spec: CloudShellSpec): SpecProblem | undefined {
  const cfg = spec.virtualServiceConfig;
  if (!cfg) {
    return {
      reason: "MissingVirtualServiceConfig",
      message: "exposureMode VirtualService needs spec.virtualServiceConfig (at least its gateway)",
    };
  }
  const invalid = (message: string) => ({ reason: "InvalidVirtualServiceConfig", message });
  if (cfg.virtualServiceName && !isDnsSubdomain(cfg.virtualServiceName)) {
    return invalid(
      `virtualServiceConfig.virtualServiceName "${cfg.virtualServiceName}" is not a valid object name ` +
        "(lower case letters, digits, '-' and '.')",
    );
  }
  if (cfg.namespace && !isDnsLabel(cfg.namespace)) {
    return invalid(`virtualServiceConfig.namespace "${cfg.namespace}" is not a valid namespace name`);
  }
  return undefined;
}
