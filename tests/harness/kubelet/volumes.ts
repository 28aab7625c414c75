/**
 * A pod's volumes as files, the way a kubelet materialises them: Secret and
 * ConfigMap keys (all, or the listed items), projected volumes (Secrets,
 * ConfigMaps, downward API and ServiceAccount tokens), downwardAPI volumes and
 * emptyDirs. Each volume is a directory under the pod's directory; sandbox.sh
 * bind-mounts it at the container's mount path.
 *
 * Projected tokens are real TokenRequests bound to the pod with the
 * projection's audience and expiry, renewed at 80% of their life as the
 * kubelet does; each write replaces the file atomically (rename), so a client
 * never reads half a token.
 */
import { fieldValue } from "./env.ts";
import type { PodObjects } from "./objects.ts";
import type { DownwardAPIFile, KeyToPath, Pod, ProjectionSource, Volume } from "./types.ts";

const DEFAULT_MODE = 0o644;
const DEFAULT_TOKEN_SECONDS = 3600;

/** The volumes of one pod, with the timers that keep its tokens fresh. Dispose to stop them. */
export class PodVolumes implements Disposable {
  readonly #timers = new Set<ReturnType<typeof setTimeout>>();
  readonly #onError: (err: unknown) => void;
  #disposed = false;

  private constructor(onError: (err: unknown) => void) {
    this.#onError = onError;
  }

  /**
   * Writes every volume of `pod` under `dir/<volume name>` and returns the directories by volume name.
   * Throws MissingObject while a Secret or ConfigMap the pod needs does not exist.
   */
  static async materialise(
    pod: Pod,
    dir: string,
    objects: PodObjects,
    podIp: string,
    onError: (err: unknown) => void,
  ): Promise<{ volumes: PodVolumes; paths: Map<string, string> }> {
    const volumes = new PodVolumes(onError);
    const paths = new Map<string, string>();
    try {
      for (const v of pod.spec.volumes ?? []) {
        const path = `${dir}/${v.name}`;
        await Deno.mkdir(path, { recursive: true });
        await volumes.#write(pod, v, path, objects, podIp);
        paths.set(v.name, path);
      }
    } catch (err) {
      volumes[Symbol.dispose]();
      throw err;
    }
    return { volumes, paths };
  }

  /**
   * Rewrites the downward API files of `pod`'s volumes under `dir` from its current metadata, as a kubelet
   * does on its periodic sync (labels and annotations may change while the pod runs).
   */
  static async refreshDownward(pod: Pod, dir: string, podIp: string): Promise<void> {
    for (const v of pod.spec.volumes ?? []) {
      const items = v.downwardAPI?.items ??
        v.projected?.sources?.flatMap((s) => s.downwardAPI?.items ?? []);
      if (!items?.length) continue;
      const mode = v.downwardAPI?.defaultMode ?? v.projected?.defaultMode;
      await writeDownward(`${dir}/${v.name}`, pod, items, mode, podIp);
    }
  }

  async #write(pod: Pod, v: Volume, path: string, objects: PodObjects, podIp: string): Promise<void> {
    const ns = pod.metadata.namespace!;
    if (v.secret) {
      const data = await objects.secretData(ns, v.secret.secretName, v.secret.optional);
      await writeKeys(path, data ?? {}, v.secret.items, v.secret.defaultMode);
    } else if (v.configMap) {
      const data = await objects.configMapData(ns, v.configMap.name, v.configMap.optional);
      await writeKeys(path, data ?? {}, v.configMap.items, v.configMap.defaultMode);
    } else if (v.downwardAPI) {
      await writeDownward(path, pod, v.downwardAPI.items ?? [], v.downwardAPI.defaultMode, podIp);
    } else if (v.projected) {
      const mode = v.projected.defaultMode;
      for (const source of v.projected.sources ?? []) {
        await this.#project(pod, source, path, mode, objects, podIp);
      }
    } else if (v.emptyDir) {
      await Deno.chmod(path, 0o777);
    } else {
      throw new Error(`volume ${v.name}: this volume type is not implemented by the kubelet stand-in`);
    }
  }

  async #project(
    pod: Pod,
    source: ProjectionSource,
    path: string,
    mode: number | undefined,
    objects: PodObjects,
    podIp: string,
  ): Promise<void> {
    const ns = pod.metadata.namespace!;
    if (source.secret) {
      const data = await objects.secretData(ns, source.secret.name, source.secret.optional);
      await writeKeys(path, data ?? {}, source.secret.items, mode);
    } else if (source.configMap) {
      const data = await objects.configMapData(ns, source.configMap.name, source.configMap.optional);
      await writeKeys(path, data ?? {}, source.configMap.items, mode);
    } else if (source.downwardAPI) {
      await writeDownward(path, pod, source.downwardAPI.items ?? [], mode, podIp);
    } else if (source.serviceAccountToken) {
      const { audience, expirationSeconds = DEFAULT_TOKEN_SECONDS } = source.serviceAccountToken;
      const file = `${path}/${source.serviceAccountToken.path}`;
      const refresh = async (): Promise<void> => {
        const issued = await objects.serviceAccountToken(pod, audience, expirationSeconds);
        await writeFileAtomic(file, new TextEncoder().encode(issued.token), mode ?? DEFAULT_MODE);
        // The kubelet renews a projected token once 80% of its lifetime has passed.
        const life = issued.expiresAt.getTime() - Date.now();
        this.#schedule(Math.max(1_000, life * 0.8), refresh);
      };
      await refresh();
    }
  }

  #schedule(ms: number, fn: () => Promise<void>): void {
    if (this.#disposed) return;
    const timer = setTimeout(() => {
      this.#timers.delete(timer);
      fn().catch((err) => {
        this.#onError(err);
        this.#schedule(5_000, fn);
      });
    }, ms);
    this.#timers.add(timer);
  }

  [Symbol.dispose](): void {
    this.#disposed = true;
    for (const t of this.#timers) clearTimeout(t);
    this.#timers.clear();
  }
}

async function writeKeys(
  dir: string,
  data: Record<string, Uint8Array>,
  items: KeyToPath[] | undefined,
  mode = DEFAULT_MODE,
): Promise<void> {
  const entries = items ?? Object.keys(data).map((key) => ({ key, path: key, mode: undefined }));
  for (const item of entries) {
    const bytes = data[item.key];
    if (bytes === undefined) throw new Error(`key ${item.key} not found`);
    await writeFileAtomic(`${dir}/${item.path}`, bytes, item.mode ?? mode);
  }
}

async function writeDownward(
  dir: string,
  pod: Pod,
  items: DownwardAPIFile[],
  mode = DEFAULT_MODE,
  podIp: string,
): Promise<void> {
  for (const item of items) {
    if (!item.fieldRef) {
      throw new Error(`downwardAPI ${item.path}: only fieldRef is implemented by the stand-in`);
    }
    const value = fieldValue(pod, item.fieldRef.fieldPath, podIp);
    await writeFileAtomic(`${dir}/${item.path}`, new TextEncoder().encode(value), item.mode ?? mode);
  }
}

async function writeFileAtomic(path: string, bytes: Uint8Array, mode: number): Promise<void> {
  const parent = path.slice(0, path.lastIndexOf("/"));
  await Deno.mkdir(parent, { recursive: true });
  const tmp = `${parent}/.${crypto.randomUUID()}.tmp`;
  await Deno.writeFile(tmp, bytes, { mode });
  await Deno.chmod(tmp, mode);
  await Deno.rename(tmp, path);
}
