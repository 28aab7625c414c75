/**
 * What the launcher in the terminal needs to know about the session's life: when the TTL runs out, the
 * idle timeout, how long before the end to warn, and the CloudShell's name for the hint on how to extend
 * it. The operator keeps them in annotations of the terminal's pod, and a downward API volume shows them
 * to the launcher as files (templates/launcher.sh), kept current by the kubelet while the pod runs. The
 * pod template carries them from the start, so the common path costs no write; only a change of the TTL
 * or idle timeout of a live shell patches its pod.
 */
import { GROUP, OWNER_LABEL } from "./api.ts";
import {
  isObject,
  type JobObject,
  type JsonObject,
  TemplateError,
  terminalContainer,
} from "./template/mod.ts";

/** The pod annotations, by the name of the file the launcher reads. */
export const SESSION_ANNOTATIONS = {
  "ends-at": `${GROUP}/session-ends-at`,
  "ttl": `${GROUP}/session-ttl`,
  "idle-timeout": `${GROUP}/session-idle-timeout`,
  "warn-before": `${GROUP}/session-warn-before`,
} as const;

/** The volume and where the launcher reads it. */
export const SESSION_VOLUME = "cloudshell-session";
export const SESSION_MOUNT_PATH = "/etc/cloudshell/session";

/** The default of `--session-warning`: five minutes before the TTL runs out. */
export const DEFAULT_WARN_BEFORE_SECONDS = 300;

/** A session's life, in seconds. */
export interface SessionFacts {
  /** When the TTL runs out (ms since the epoch); undefined without a TTL. */
  endsAtMs?: number;
  ttlSeconds?: number;
  idleTimeoutSeconds?: number;
  warnBeforeSeconds: number;
}

/** The annotations for `facts`: every key, empty when it does not apply. */
export function sessionAnnotations(facts: SessionFacts): Record<string, string> {
  const text = (n: number | undefined) => n === undefined ? "" : String(n);
  return {
    [SESSION_ANNOTATIONS["ends-at"]]: facts.endsAtMs === undefined
      ? ""
      : String(Math.ceil(facts.endsAtMs / 1000)),
    [SESSION_ANNOTATIONS.ttl]: text(facts.ttlSeconds),
    [SESSION_ANNOTATIONS["idle-timeout"]]: text(facts.idleTimeoutSeconds),
    [SESSION_ANNOTATIONS["warn-before"]]: text(facts.warnBeforeSeconds),
  };
}

/**
 * The annotations a live pod should get, or undefined when it has them already. The end the pod was
 * created with was reckoned just before its Job existed, so it may differ from the one reckoned from the
 * Job's creation time by a second or two: that is not a change.
 */
export function sessionAnnotationsPatch(
  current: Record<string, string> | undefined,
  wanted: Record<string, string>,
): Record<string, string> | undefined {
  const differs = Object.entries(wanted).some(([key, value]) => {
    const have = current?.[key] ?? "";
    if (key === SESSION_ANNOTATIONS["ends-at"] && have !== "" && value !== "") {
      return Math.abs(Number(have) - Number(value)) > 2;
    }
    return have !== value;
  });
  return differs ? wanted : undefined;
}

/**
 * Puts the session annotations on the Job's pod template and mounts them for the launcher. Throws a
 * TemplateError when the template already uses the volume's name or path.
 */
export function applySession(job: JobObject, facts: SessionFacts): void {
  const template = job.spec.template;
  const metadata = isObject(template.metadata) ? template.metadata : (template.metadata = {});
  metadata.annotations = {
    ...(isObject(metadata.annotations) ? metadata.annotations : {}),
    ...sessionAnnotations(facts),
  };
  const pod = job.spec.template.spec;
  const container = terminalContainer(job);
  const volumes = Array.isArray(pod.volumes) ? pod.volumes : (pod.volumes = []);
  const mounts = Array.isArray(container.volumeMounts)
    ? container.volumeMounts
    : (container.volumeMounts = []);
  const taken = volumes.some((v) => isObject(v) && v.name === SESSION_VOLUME) ||
    mounts.some((m) =>
      isObject(m) &&
      (m.name === SESSION_VOLUME ||
        (typeof m.mountPath === "string" && m.mountPath.replace(/\/+$/, "") === SESSION_MOUNT_PATH))
    );
  if (taken) {
    throw new TemplateError(
      `The template already has a volume "${SESSION_VOLUME}" or a mount at ${SESSION_MOUNT_PATH}, which the ` +
        "operator uses to tell the terminal about its session",
    );
  }
  const field = (path: string, fieldPath: string): JsonObject => ({
    path,
    fieldRef: { apiVersion: "v1", fieldPath },
  });
  volumes.push({
    name: SESSION_VOLUME,
    downwardAPI: {
      defaultMode: 0o444,
      items: [
        ...Object.entries(SESSION_ANNOTATIONS).map(([file, key]) =>
          field(file, `metadata.annotations['${key}']`)
        ),
        field("name", `metadata.labels['${OWNER_LABEL}']`),
        field("namespace", "metadata.namespace"),
      ],
    },
  });
  mounts.push({ name: SESSION_VOLUME, mountPath: SESSION_MOUNT_PATH, readOnly: true });
}
