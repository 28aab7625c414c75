/**
 * What the stand-in reads from the API server for a pod, as a kubelet does:
 * Secret and ConfigMap data, and ServiceAccount tokens from the TokenRequest
 * API, bound to the pod.
 */
import {
  errorFromResponse,
  isNotFound,
  type KubeClient,
  objectPath,
  Resources,
} from "../../../controller/kube/mod.ts";
import type { ConfigMap, Pod, Secret } from "./types.ts";

/** A Secret or ConfigMap the pod needs does not exist (yet): a kubelet waits and retries. */
export class MissingObject extends Error {
  override name = "MissingObject";
}

/** A token and when it expires. */
export interface IssuedToken {
  token: string;
  expiresAt: Date;
}

/** What a pod's volumes and environment are made from. */
export interface PodObjects {
  /** A Secret's data, decoded; undefined when it is missing and optional (MissingObject otherwise). */
  secretData(ns: string, name: string, optional?: boolean): Promise<Record<string, Uint8Array> | undefined>;
  /** A ConfigMap's data and binaryData; undefined when it is missing and optional. */
  configMapData(
    ns: string,
    name: string,
    optional?: boolean,
  ): Promise<Record<string, Uint8Array> | undefined>;
  /** A token of the pod's ServiceAccount bound to the pod. */
  serviceAccountToken(
    pod: Pod,
    audience: string | undefined,
    expirationSeconds: number,
  ): Promise<IssuedToken>;
}

/** Reads the objects a pod refers to from the API server. */
export class ObjectReader implements PodObjects {
  readonly #client: KubeClient;

  constructor(client: KubeClient) {
    this.#client = client;
  }

  /** A Secret's data, decoded; undefined when it is missing and optional. */
  async secretData(
    ns: string,
    name: string,
    optional = false,
  ): Promise<Record<string, Uint8Array> | undefined> {
    const secret = await this.#get<Secret>(Resources.secrets, ns, name, optional);
    if (!secret) return undefined;
    return Object.fromEntries(
      Object.entries(secret.data ?? {}).map((
        [k, v],
      ) => [k, Uint8Array.from(atob(v), (c) => c.charCodeAt(0))]),
    );
  }

  /** A ConfigMap's data and binaryData; undefined when it is missing and optional. */
  async configMapData(
    ns: string,
    name: string,
    optional = false,
  ): Promise<Record<string, Uint8Array> | undefined> {
    const cm = await this.#get<ConfigMap>(Resources.configMaps, ns, name, optional);
    if (!cm) return undefined;
    const encoder = new TextEncoder();
    return {
      ...Object.fromEntries(Object.entries(cm.data ?? {}).map(([k, v]) => [k, encoder.encode(v)])),
      ...Object.fromEntries(
        Object.entries(cm.binaryData ?? {}).map((
          [k, v],
        ) => [k, Uint8Array.from(atob(v), (c) => c.charCodeAt(0))]),
      ),
    };
  }

  /** A token of the pod's ServiceAccount bound to the pod, as the kubelet requests for a projection. */
  async serviceAccountToken(
    pod: Pod,
    audience: string | undefined,
    expirationSeconds: number,
  ): Promise<IssuedToken> {
    const ns = pod.metadata.namespace!;
    const res = await this.#client.request({
      method: "POST",
      path: objectPath(Resources.serviceAccounts, ns, pod.spec.serviceAccountName || "default", "token"),
      body: {
        apiVersion: "authentication.k8s.io/v1",
        kind: "TokenRequest",
        spec: {
          audiences: audience ? [audience] : undefined,
          expirationSeconds,
          boundObjectRef: { apiVersion: "v1", kind: "Pod", name: pod.metadata.name, uid: pod.metadata.uid },
        },
      },
      resource: "serviceaccounts/token",
    });
    if (!res.ok) throw await errorFromResponse(res, "TokenRequest");
    const body = await res.json() as { status: { token: string; expirationTimestamp: string } };
    return { token: body.status.token, expiresAt: new Date(body.status.expirationTimestamp) };
  }

  async #get<T extends Secret | ConfigMap>(
    type: typeof Resources.secrets,
    ns: string,
    name: string,
    optional: boolean,
  ): Promise<T | undefined> {
    try {
      return await this.#client.get<T>(type, ns, name);
    } catch (err) {
      if (!isNotFound(err)) throw err;
      if (optional) return undefined;
      throw new MissingObject(`${type.kind} ${ns}/${name} not found`);
    }
  }
}
