/**
 * What an administrator lets the creators of CloudShells ask for, by flag:
 * the namespaces a shell's route object may live in besides its own, the
 * hosts, classes, gateways and annotations of its route, and how long a
 * session may last. Pure checks; the reconciler reports a refusal as
 * `Ready=False` with an Event.
 */
import { type CloudShellSpec, ttlSeconds } from "../api.ts";
import type { Problem } from "../problems.ts";
import { allowedValue, hostFor, type HostPattern, shellOfHost } from "../routing/route_hosts.ts";
import type { DesiredRoute } from "../routing/route_types.ts";
import { Reasons } from "../status.ts";

/** The administrator's limits. */
export interface TenantPolicy {
  /**
   * `--route-namespaces`: namespaces besides a shell's own where its VirtualService may live; `*`
   * allows any (CloudTTY's behaviour). Empty: only the shell's own namespace. (An Ingress in another
   * namespace cannot reach the shell's Service at all: validation.ts refuses it first.)
   */
  routeNamespaces: readonly string[];
  /**
   * `--ingress-annotations-allowed`: the `ingressConfig.annotations` keys a shell may set; an entry
   * ending in `*` is a prefix, `*` alone allows every key.
   */
  ingressAnnotations: readonly string[];
  /**
   * `--ingress-host-pattern`: the host of each shell's Ingress rule. Undefined: none configured, and a shell
   * names an allowed host or is refused (shells never share an origin unless an administrator chose it).
   */
  ingressHostPattern?: HostPattern;
  /** `--virtual-service-host-pattern`: the host of each shell's VirtualService; undefined as above. */
  virtualServiceHostPattern?: HostPattern;
  /** `--ingress-hosts-allowed`: `ingressConfig.host` values a shell may set (`*.domain`, `*`). */
  ingressHostsAllowed?: readonly string[];
  /** `--ingress-classes-allowed`: `ingressConfig.ingressClassName` values a shell may set (`*`: any). */
  ingressClassesAllowed?: readonly string[];
  /** `--virtual-service-gateways-allowed`: `virtualServiceConfig.gateway` values a shell may set. */
  virtualServiceGatewaysAllowed?: readonly string[];
  /** `--virtual-service-export-to-allowed`: `virtualServiceConfig.export_to` values a shell may set. */
  virtualServiceExportToAllowed?: readonly string[];
  /** `--default-ttl`: the TTL of shells that ask for none. */
  defaultTtlSeconds?: number;
  /** `--max-ttl`: the longest TTL a shell gets; longer ones are capped. */
  maxTtlSeconds?: number;
  /** `--default-idle-timeout`: the idle timeout of shells that set none; absent or 0: none. */
  defaultIdleTimeoutSeconds?: number;
  /** `--max-idle-timeout`: the longest idle timeout a shell gets (also for shells that turn theirs off). */
  maxIdleTimeoutSeconds?: number;
}

/**
 * The annotations allowed by default: the proxy timeouts a terminal behind
 * ingress-nginx commonly needs (its 60 s default cuts idle WebSockets). Both
 * take a number of seconds and configure nothing but the timeout; snippet
 * annotations, auth and mirror targets, which ingress-nginx turns into
 * configuration, are not allowed unless an administrator adds them.
 */
export const DEFAULT_INGRESS_ANNOTATIONS: readonly string[] = [
  "nginx.ingress.kubernetes.io/proxy-read-timeout",
  "nginx.ingress.kubernetes.io/proxy-send-timeout",
];

/**
 * A policy that allows what CloudTTY allowed: any route namespace, annotation, host, class, gateway and
 * exportTo, CloudTTY's shared layout (one origin for all), any TTL.
 */
export const PERMISSIVE_POLICY: TenantPolicy = {
  routeNamespaces: ["*"],
  ingressAnnotations: ["*"],
  ingressHostPattern: { kind: "any" },
  virtualServiceHostPattern: { kind: "any" },
  ingressHostsAllowed: ["*"],
  ingressClassesAllowed: ["*"],
  virtualServiceGatewaysAllowed: ["*"],
  virtualServiceExportToAllowed: ["*"],
};

/** Whether `key` matches an allow list of exact keys and `prefix*` entries. */
export function allowedBy(list: readonly string[], key: string): boolean {
  return list.some((entry) => entry.endsWith("*") ? key.startsWith(entry.slice(0, -1)) : entry === key);
}

/** Why the policy refuses a shell's route, or undefined when it allows it. */
export function routeProblem(
  route: DesiredRoute,
  shellNamespace: string,
  policy: TenantPolicy,
): Problem | undefined {
  if (route.namespace !== shellNamespace && !allowedBy(policy.routeNamespaces, route.namespace)) {
    const field = route.mode === "Ingress" ? "ingressConfig.namespace" : "virtualServiceConfig.namespace";
    return {
      reason: Reasons.routeNamespaceNotAllowed,
      message:
        `${field} "${route.namespace}" is not allowed: a CloudShell's ${route.mode} lives in its own ` +
        `namespace "${shellNamespace}" unless an administrator lists the namespace in --route-namespaces`,
      retry: false,
    };
  }
  const hostProblem = routeHostProblem(route, shellNamespace, policy);
  if (hostProblem) return hostProblem;
  const refused = Object.keys(route.ingress?.annotations ?? {}).filter((k) =>
    !allowedBy(policy.ingressAnnotations, k)
  ).sort();
  if (refused.length > 0) {
    return {
      reason: Reasons.ingressAnnotationNotAllowed,
      message: `ingressConfig.annotations ${refused.map((k) => `"${k}"`).join(", ")} ` +
        `${refused.length === 1 ? "is" : "are"} not allowed; allowed: ${
          policy.ingressAnnotations.length ? policy.ingressAnnotations.join(", ") : "none"
        } (--ingress-annotations-allowed)`,
      retry: false,
    };
  }
  return undefined;
}

/** Why the policy refuses the host, class, gateway or exportTo of a shell's route; undefined if it does not. */
function routeHostProblem(
  route: DesiredRoute,
  shellNamespace: string,
  policy: TenantPolicy,
): Problem | undefined {
  const refuse = (reason: string, message: string): Problem => ({ reason, message, retry: false });
  const listed = (list: readonly string[] | undefined) => list?.length ? list.join(", ") : "none";
  if (route.mode === "Ingress") {
    const pattern = policy.ingressHostPattern;
    const host = route.ingress?.host;
    const given = pattern ? hostFor(pattern, route.owner, shellNamespace) : undefined;
    if (host === undefined && !pattern) {
      return refuse(
        Reasons.routeHostNotConfigured,
        "Ingress mode needs a host: an administrator sets --ingress-host-pattern (one host per CloudShell, " +
          "such as {name}.{namespace}.shells.example.com), or allows hosts shells may name in " +
          "ingressConfig.host (--ingress-hosts-allowed)",
      );
    }
    if (host !== undefined && host !== given) {
      const owner = shellOfHost(pattern, host);
      if (!allowedValue(policy.ingressHostsAllowed ?? [], host) || owner) {
        return refuse(
          Reasons.ingressHostNotAllowed,
          `ingressConfig.host "${host}" is not allowed` +
            (owner ? `: it is the host of CloudShell ${owner.namespace}/${owner.name}` : "") +
            `; allowed: ${listed(policy.ingressHostsAllowed)} (--ingress-hosts-allowed)` +
            (given ? `, or leave it out for ${given}` : ""),
        );
      }
    }
    const className = route.ingress?.className;
    if (className && !allowedValue(policy.ingressClassesAllowed ?? [], className)) {
      return refuse(
        Reasons.ingressClassNotAllowed,
        `ingressConfig.ingressClassName "${className}" is not allowed; allowed: ` +
          `${listed(policy.ingressClassesAllowed)} (--ingress-classes-allowed), or leave it out for the ` +
          "cluster's default class",
      );
    }
    return undefined;
  }
  if (!policy.virtualServiceHostPattern) {
    return refuse(
      Reasons.routeHostNotConfigured,
      "VirtualService mode needs a host: an administrator sets --virtual-service-host-pattern (one host per " +
        "CloudShell, such as {name}.{namespace}.shells.example.com)",
    );
  }
  const gateway = route.virtualService?.gateway;
  if (gateway && !allowedValue(policy.virtualServiceGatewaysAllowed ?? [], gateway)) {
    return refuse(
      Reasons.gatewayNotAllowed,
      `virtualServiceConfig.gateway "${gateway}" is not allowed; allowed: ` +
        `${listed(policy.virtualServiceGatewaysAllowed)} (--virtual-service-gateways-allowed)`,
    );
  }
  const exportTo = route.virtualService?.exportTo;
  if (exportTo && !allowedValue(policy.virtualServiceExportToAllowed ?? [], exportTo)) {
    return refuse(
      Reasons.exportToNotAllowed,
      `virtualServiceConfig.export_to "${exportTo}" is not allowed; allowed: ` +
        `${listed(policy.virtualServiceExportToAllowed)} (--virtual-service-export-to-allowed)`,
    );
  }
  return undefined;
}

/** A shell's TTL under the policy, and whether it was cut to the maximum. */
export interface EffectiveTtl {
  seconds: number | undefined;
  /** The TTL the shell asked for when the maximum cut it. */
  cappedFrom?: number;
}

/** The TTL a shell gets: its own (or the default), at most the maximum. */
export function effectiveTtl(spec: CloudShellSpec, policy: TenantPolicy): EffectiveTtl {
  // A TTL of 0 asks for none (api.ts), so it gets the default and the maximum as an unset one does.
  return capped(ttlSeconds(spec) ?? policy.defaultTtlSeconds, policy.maxTtlSeconds);
}

/**
 * A shell's idle timeout under the policy: its own (0 turns it off), else the default, at most the maximum
 * (which also applies to a shell that turned it off). `seconds` undefined: no idle timeout.
 */
export function effectiveIdleTimeout(spec: CloudShellSpec, policy: TenantPolicy): EffectiveTtl {
  const asked = spec.idleTimeoutSeconds ?? policy.defaultIdleTimeoutSeconds;
  return capped(asked ? asked : undefined, policy.maxIdleTimeoutSeconds);
}

function capped(asked: number | undefined, max: number | undefined): EffectiveTtl {
  if (max === undefined) return { seconds: asked };
  if (asked === undefined) return { seconds: max };
  return asked > max ? { seconds: max, cappedFrom: asked } : { seconds: asked };
}

/** The policy without flags: routes in the shell's own namespace, the default annotations, no TTL limit. */
export const DEFAULT_POLICY: TenantPolicy = {
  routeNamespaces: [],
  ingressAnnotations: DEFAULT_INGRESS_ANNOTATIONS,
};
