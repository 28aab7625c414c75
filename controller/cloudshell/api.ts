/**
 * The CloudShell API (`cloudshell.cloudtty.io/v1alpha1`): types, names and
 * constants that CloudTTY users already depend on (labels, finalizer, phase
 * strings, object names), and the defaults the controller applies.
 */
import type { ResourceType } from "../kube/resources.ts";
import type { KubeObject } from "../kube/types.ts";

export const GROUP = "cloudshell.cloudtty.io";
export const VERSION = "v1alpha1";
export const API_VERSION = `${GROUP}/${VERSION}`;
export const KIND = "CloudShell";

/** The CloudShell resource. */
export const CloudShells: ResourceType = {
  group: GROUP,
  version: VERSION,
  plural: "cloudshells",
  kind: KIND,
  namespaced: true,
};

/** Upstream's finalizer, kept so CloudShells created by CloudTTY are finalized by us. */
export const FINALIZER = "cloudtty.io/cloudshell-controller";
/** Label on the Job, its pod template, the Service and the ServiceAccount: the CloudShell's name. */
export const OWNER_LABEL = "cloudshell.cloudtty.io/owner-name";
/** Label on objects this operator created (so shared Ingresses are deleted only if ours). */
export const MANAGED_BY_LABEL = "app.kubernetes.io/managed-by";
export const MANAGED_BY = "cloudshell-operator";
/**
 * Annotation in which the previous version recorded a shell's route entry. A tenant can write it, so it
 * is only read as a hint of where to look when finalizing such a shell (what is removed there is decided
 * by the entry itself, see routes.ts), and dropped when the record moves to `status.route`.
 */
export const ROUTE_ANNOTATION = "cloudshell.cloudtty.io/route";

/**
 * Annotation on a Job whose `activeDeadlineSeconds` came from the template's `{{ .ActiveDeadlineSeconds }}`
 * (TTL plus grace): only such a deadline follows later TTL changes. A fixed one is the template's.
 */
export const TTL_DEADLINE_ANNOTATION = "cloudshell.cloudtty.io/deadline-from-ttl";

/** CloudTTY's env variable for the terminal's login, `user:password` (CloudTTY >= 0.8.7). */
export const CREDENTIAL_ENV = "TTYD_CREDENTIAL";

/** ttyd's port, in the container and on the Service. */
export const TTYD_PORT = 7681;
export const DEFAULT_COMMAND = "bash";
export const DEFAULT_INGRESS_NAME = "cloudshell-ingress";
/** Upstream's default `cloudshell-virtualService` is not a valid object name; this is. */
export const DEFAULT_VIRTUAL_SERVICE_NAME = "cloudshell-virtualservice";
export const ROUTE_BASE = "/apis/v1alpha1/cloudshell";

export type ExposureMode = "ClusterIP" | "NodePort" | "Ingress" | "VirtualService";
export const EXPOSURE_MODES: readonly ExposureMode[] = ["ClusterIP", "NodePort", "Ingress", "VirtualService"];

export type Phase = "" | "Pending" | "CreatedJob" | "CreatedRouteRule" | "Ready" | "Complete" | "Failed";

/** A `metav1.Condition`. */
export interface Condition {
  type: string;
  status: "True" | "False" | "Unknown";
  reason: string;
  message: string;
  lastTransitionTime: string;
  observedGeneration?: number;
}

/** A container environment variable (core/v1 EnvVar). */
export interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: Record<string, unknown>;
}

export interface IngressConfig {
  ingressName?: string;
  namespace?: string;
  ingressClassName?: string;
  annotations?: Record<string, string>;
  host?: string;
}

export interface VirtualServiceConfig {
  virtualServiceName?: string;
  namespace?: string;
  gateway?: string;
  export_to?: string;
}

export interface CloudShellSpec {
  secretRef?: { name?: string };
  configmapName?: string;
  image?: string;
  commandAction?: string;
  once?: boolean;
  ttlSecondsAfterStarted?: number;
  ttl?: number;
  /**
   * End the shell (`Complete`, reason `IdleTimeout`) after this many seconds without a connected client;
   * 0 turns it off. Unset: the operator's default. At most the administrator's maximum.
   */
  idleTimeoutSeconds?: number;
  cleanup?: boolean;
  exposureMode?: string;
  ingressConfig?: IngressConfig;
  virtualServiceConfig?: VirtualServiceConfig;
  pathPrefix?: string;
  pathSuffix?: string;
  urlArg?: boolean;
  env?: EnvVar[];
  ttydClientOptions?: Record<string, string>;
  /** Observer terminals: ttyd without `--writable`, so input is ignored. */
  readOnly?: boolean;
  runAsUser?: string;
  serverBufferSize?: number | string;
  /** Who created the shell, recorded at admission (deploy/admission_policy.yaml, cloudshell-creator-record). */
  creator?: Creator;
}

/** A user as the API server authenticated them (`request.userInfo`, `kubectl auth whoami`). */
export interface Creator {
  username?: string;
  uid?: string;
  groups?: string[];
  extra?: Record<string, string[]>;
}

/**
 * The route entry a shell added to a shared Ingress or VirtualService, recorded in its status (which
 * only the operator writes: the creator of a CloudShell cannot) so it is removed even after the spec
 * changed.
 */
export interface RouteRecord {
  kind: "Ingress" | "VirtualService";
  namespace: string;
  name: string;
  path: string;
}

export interface CloudShellStatus {
  phase?: Phase;
  accessUrl?: string;
  lastScheduleTime?: string;
  /**
   * When the session ends by its TTL (RFC 3339): lastScheduleTime plus the effective TTL, moved when the
   * TTL changes; once the shell has ended, when it ended. Absent while there is no TTL.
   */
  expirationTime?: string;
  observedGeneration?: number;
  conditions?: Condition[];
  /**
   * The Secret (type `kubernetes.io/basic-auth`, owned by the shell) holding the terminal's login, for an
   * integrating UI; absent when the terminal needs no login.
   */
  credentialSecretName?: string;
  route?: RouteRecord;
  /** `spec.commandAction` with its default applied, for `kubectl get` (written with every status). */
  commandAction?: string;
  /** `spec.exposureMode` with its default applied, for `kubectl get` (written with every status). */
  exposureMode?: string;
}

/** A CloudShell object. */
export interface CloudShell extends KubeObject {
  spec?: CloudShellSpec;
  status?: CloudShellStatus;
  /**
   * Operator-internal, never sent: why the operator refuses this spec, set when the informer stored the
   * shell without the parts of its spec it will never use (slim.ts).
   */
  refused?: { reason: string; message: string };
}

/** The name of the Job, Service, ServiceAccount and RoleBinding of a CloudShell. */
export function childName(cloudShellName: string): string {
  return `cloudshell-${cloudShellName}`;
}

/**
 * The TTL a shell asks for, in seconds: `ttlSecondsAfterStarted`, else legacy `ttl`, else none. 0 asks for
 * none, as in CloudTTY's Job-based releases, where `ttl` came from (a TTL of 0 ran ttyd without `timeout`);
 * CloudTTY's later worker pool ended such a shell before it ever became Ready, which nobody can want.
 */
export function ttlSeconds(spec: CloudShellSpec): number | undefined {
  const asked = spec.ttlSecondsAfterStarted ?? spec.ttl;
  return asked ? asked : undefined;
}

/** The command ttyd runs, with upstream's default (`bash`). */
export function effectiveCommand(spec: CloudShellSpec): string {
  return spec.commandAction || DEFAULT_COMMAND;
}

/** The exposure mode with upstream's default (NodePort). */
export function exposureMode(spec: CloudShellSpec): string {
  return spec.exposureMode || "NodePort";
}

/**
 * The route path of Ingress and VirtualService modes, exactly as upstream:
 * `<prefix>/apis/v1alpha1/cloudshell/<name>[/<suffix>]`, where a prefix ending
 * in `/` loses that slash.
 */
export function routePath(spec: CloudShellSpec, name: string): string {
  let prefix = spec.pathPrefix ?? "";
  if (prefix.endsWith("/")) prefix = prefix.slice(0, -1);
  const path = `${prefix}${ROUTE_BASE}/${name}`;
  return spec.pathSuffix ? `${path}/${spec.pathSuffix}` : path;
}

/** Whether a phase is final: the shell has ended and nothing is recreated. */
export function isTerminal(phase: Phase | undefined): boolean {
  return phase === "Complete" || phase === "Failed";
}

/** One problem with a spec: a condition reason and a message for humans. */
export interface SpecProblem {
  reason: string;
  message: string;
}
