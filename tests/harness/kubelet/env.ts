/**
 * A container's environment as a kubelet builds it: the service variables
 * of the API server, `envFrom`, then `env` in order with `$(VAR)` expansion,
 * and `$(VAR)` expansion of command and args.
 */
import type { Container, EnvVar, Pod } from "./types.ts";
import type { PodObjects } from "./objects.ts";

/** Thrown when a value cannot be resolved (a kubelet reports CreateContainerConfigError). */
export class ContainerConfigError extends Error {
  override name = "ContainerConfigError";
}

/** The value a downward-API `fieldPath` names, for env and for downwardAPI volumes. */
export function fieldValue(pod: Pod, fieldPath: string, podIp: string): string {
  const m = /^metadata\.(labels|annotations)\['([^']+)'\]$/.exec(fieldPath);
  if (m) return (m[1] === "labels" ? pod.metadata.labels : pod.metadata.annotations)?.[m[2]] ?? "";
  switch (fieldPath) {
    case "metadata.name":
      return pod.metadata.name ?? "";
    case "metadata.namespace":
      return pod.metadata.namespace ?? "";
    case "metadata.uid":
      return pod.metadata.uid ?? "";
    case "metadata.labels":
      return formatMap(pod.metadata.labels);
    case "metadata.annotations":
      return formatMap(pod.metadata.annotations);
    case "spec.nodeName":
      return pod.spec.nodeName ?? "";
    case "spec.serviceAccountName":
      return pod.spec.serviceAccountName ?? "";
    case "status.hostIP":
    case "status.hostIPs":
    case "status.podIP":
    case "status.podIPs":
      return podIp;
  }
  throw new ContainerConfigError(`unsupported fieldPath ${fieldPath}`);
}

function formatMap(map: Record<string, string> | undefined): string {
  return Object.entries(map ?? {}).sort().map(([k, v]) => `${k}=${JSON.stringify(v)}`).join("\n");
}

/** Kubernetes' `$(VAR)` expansion: `$$` is a literal `$`, unknown names stay as written. */
export function expand(text: string, env: Record<string, string>): string {
  return text.replace(/\$\$|\$\(([A-Za-z_][A-Za-z0-9_.-]*)\)/g, (whole, name?: string) => {
    if (whole === "$$") return "$";
    return name !== undefined && name in env ? env[name] : whole;
  });
}

/** What the kubelet adds before the pod's own variables. */
export interface BaseEnv {
  apiHost: string;
  apiPort: number;
}

/** The container's environment, in the order a kubelet builds it. */
export async function containerEnv(
  pod: Pod,
  container: Container,
  base: BaseEnv,
  podIp: string,
  objects: PodObjects,
): Promise<Record<string, string>> {
  const ns = pod.metadata.namespace!;
  const env: Record<string, string> = {
    // The variables of the `kubernetes` Service a kubelet always injects, pointing at the real API server.
    KUBERNETES_SERVICE_HOST: base.apiHost,
    KUBERNETES_SERVICE_PORT: String(base.apiPort),
    KUBERNETES_SERVICE_PORT_HTTPS: String(base.apiPort),
    KUBERNETES_PORT: `tcp://${base.apiHost}:${base.apiPort}`,
    [`KUBERNETES_PORT_${base.apiPort}_TCP`]: `tcp://${base.apiHost}:${base.apiPort}`,
  };
  for (const from of container.envFrom ?? []) {
    const prefix = from.prefix ?? "";
    const data = from.secretRef
      ? await objects.secretData(ns, from.secretRef.name, from.secretRef.optional)
      : from.configMapRef
      ? await objects.configMapData(ns, from.configMapRef.name, from.configMapRef.optional)
      : {};
    for (const [k, v] of Object.entries(data ?? {})) env[prefix + k] = new TextDecoder().decode(v);
  }
  for (const v of container.env ?? []) {
    const value = await envValue(pod, v, env, podIp, objects);
    if (value !== undefined) env[v.name] = value;
  }
  return env;
}

async function envValue(
  pod: Pod,
  v: EnvVar,
  env: Record<string, string>,
  podIp: string,
  objects: PodObjects,
): Promise<string | undefined> {
  if (!v.valueFrom) return expand(v.value ?? "", env);
  const ns = pod.metadata.namespace!;
  const from = v.valueFrom;
  if (from.fieldRef) return fieldValue(pod, from.fieldRef.fieldPath, podIp);
  const ref = from.secretKeyRef ?? from.configMapKeyRef;
  if (ref) {
    const data = from.secretKeyRef
      ? await objects.secretData(ns, ref.name ?? "", ref.optional)
      : await objects.configMapData(ns, ref.name ?? "", ref.optional);
    const bytes = data?.[ref.key];
    if (bytes === undefined) {
      if (ref.optional) return undefined;
      throw new ContainerConfigError(`env ${v.name}: key ${ref.key} not found in ${ref.name}`);
    }
    return new TextDecoder().decode(bytes);
  }
  throw new ContainerConfigError(`env ${v.name}: this valueFrom kind is not implemented by the stand-in`);
}
