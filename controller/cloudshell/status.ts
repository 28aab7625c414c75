/**
 * Building a CloudShell's status, and deciding whether it changed: status is
 * written only when something a user could see is different, so a reconcile
 * that finds nothing new makes no request at all.
 */
import { printable } from "../runtime/printable.ts";
import {
  type CloudShellSpec,
  type CloudShellStatus,
  type Condition,
  effectiveCommand,
  exposureMode,
  type Phase,
} from "./api.ts";

/** The condition every CloudShell carries. */
export const READY = "Ready";

/**
 * Reasons of the Ready condition; the `Ready=False` ones say what is missing or wrong. Objects in the way
 * (`<Kind>Conflict`, ownership.ts) and refused writes (`<Kind><API reason>`, problems.ts) are named there.
 */
export const Reasons = {
  ready: "TerminalReady",
  jobCreated: "WaitingForPod",
  waitingForRoute: "WaitingForRoute",
  // The same reason as the Event on the template ConfigMap (templates/README.md).
  templateInvalid: "InvalidJobTemplate",
  routeNamespaceNotAllowed: "RouteNamespaceNotAllowed",
  ingressAnnotationNotAllowed: "IngressAnnotationNotAllowed",
  /** Ingress or VirtualService mode, and no host pattern from an administrator (one origin per shell). */
  routeHostNotConfigured: "RouteHostNotConfigured",
  ingressHostNotAllowed: "IngressHostNotAllowed",
  ingressClassNotAllowed: "IngressClassNotAllowed",
  gatewayNotAllowed: "GatewayNotAllowed",
  exportToNotAllowed: "ExportToNotAllowed",
  ttlCapped: "TTLCapped",
  noNodeAddress: "NoNodeAddress",
  expired: "Expired",
  completed: "Completed",
  jobFailed: "JobFailed",
  /** The launcher ended the session: no client was connected for the idle timeout. */
  idleTimeout: "IdleTimeout",
  /** The launcher refused to start: the command's program is not in the image. */
  commandNotFound: "CommandNotFound",
  idleTimeoutCapped: "IdleTimeoutCapped",
  /** Events when the TTL of a live shell changed. */
  ttlExtended: "TTLExtended",
  ttlShortened: "TTLShortened",
} as const;

/** The desired status, without timestamps that only change on transitions. */
export interface DesiredStatus {
  /** `Pending` while nothing runs yet because of a problem (bad input, say): never a blank phase. */
  phase: Phase;
  accessUrl: string;
  lastScheduleTime?: string;
  /** When the session ends (RFC 3339); undefined: no TTL, or not known yet (the old value is dropped). */
  expirationTime?: string;
  /** The login Secret; once named, a status keeps it (the Secret lives as long as the shell). */
  credentialSecretName?: string;
  ready: { status: "True" | "False"; reason: string; message: string };
}

/**
 * Merges the desired status into the current one: the Ready condition keeps
 * its lastTransitionTime unless its status flips, and other conditions (set
 * by other tools) are kept.
 */
export function buildStatus(
  current: CloudShellStatus | undefined,
  desired: DesiredStatus,
  spec: CloudShellSpec,
  generation: number | undefined,
  now: Date,
): CloudShellStatus {
  const previous = current?.conditions?.find((c) => c.type === READY);
  const ready: Condition = {
    type: READY,
    status: desired.ready.status,
    reason: desired.ready.reason,
    // Messages quote what users wrote; `kubectl describe` prints them to terminals.
    message: printable(desired.ready.message),
    lastTransitionTime: previous && previous.status === desired.ready.status
      ? previous.lastTransitionTime
      : now.toISOString().replace(/\.\d{3}Z$/, "Z"),
    observedGeneration: generation,
  };
  const others = (current?.conditions ?? []).filter((c) => c.type !== READY);
  const status: CloudShellStatus = {
    phase: desired.phase,
    accessUrl: desired.accessUrl,
    observedGeneration: generation,
    conditions: [ready, ...others],
    // What the defaults make of the spec, so `kubectl get` shows it; a spec edit changes
    // observedGeneration too, so these never cost a write of their own.
    commandAction: effectiveCommand(spec),
    exposureMode: exposureMode(spec),
  };
  const lastScheduleTime = current?.lastScheduleTime ?? desired.lastScheduleTime;
  if (lastScheduleTime) status.lastScheduleTime = lastScheduleTime;
  if (desired.expirationTime) status.expirationTime = desired.expirationTime;
  const credentialSecretName = desired.credentialSecretName ?? current?.credentialSecretName;
  if (credentialSecretName) status.credentialSecretName = credentialSecretName;
  // The route record is written on its own, before the route (reconciler.ts); it is carried along here.
  if (current?.route) status.route = current.route;
  return status;
}

/** A time as Kubernetes writes it in status: RFC 3339 in UTC, whole seconds. */
export function rfc3339(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, "Z");
}

/** Whether two statuses differ in anything a write would change. */
export function statusChanged(current: CloudShellStatus | undefined, next: CloudShellStatus): boolean {
  return canonical(current ?? {}) !== canonical(next);
}

function canonical(s: CloudShellStatus): string {
  return JSON.stringify({
    phase: s.phase ?? "",
    accessUrl: s.accessUrl ?? "",
    lastScheduleTime: s.lastScheduleTime ?? "",
    expirationTime: s.expirationTime ?? "",
    credentialSecretName: s.credentialSecretName ?? "",
    observedGeneration: s.observedGeneration ?? 0,
    commandAction: s.commandAction ?? "",
    exposureMode: s.exposureMode ?? "",
    route: s.route ? [s.route.kind, s.route.namespace, s.route.name, s.route.path] : null,
    conditions: (s.conditions ?? []).map((c) => [
      c.type,
      c.status,
      c.reason,
      c.message,
      c.lastTransitionTime,
      c.observedGeneration ?? 0,
    ]),
  });
}
