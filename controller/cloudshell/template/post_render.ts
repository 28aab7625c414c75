/**
 * What the operator does to a rendered Job before creating it. Upstream's steps: the owner label on the
 * Job and its Pod template, `spec.image` on the `web-tty` container, `spec.env` appended to it. Added here:
 * the Job's name and namespace are pinned, and the kubeconfig volume gets its source (see
 * templates/README.md, "The kubeconfig volume").
 *
 * @module
 */

import {
  isObject,
  type JobObject,
  type JsonObject,
  type JsonValue,
  TemplateError,
  TERMINAL_CONTAINER,
  terminalContainer,
  validateJob,
} from "./job.ts";
import type { TemplateVars } from "./vars.ts";
import { type EnvVar, OWNER_LABEL } from "../api.ts";

/** Name of the Pod volume whose source the operator owns. */
export const KUBECONFIG_VOLUME = "kubeconfig";

/** Where the kubeconfig volume is mounted when the template does not mount it itself (upstream's path). */
export const DEFAULT_KUBECONFIG_MOUNT_PATH = "/usr/local/kubeconfig/";

/** Where in-cluster clients (kubectl, client-go) look for a ServiceAccount token and CA. */
export const SERVICE_ACCOUNT_MOUNT_PATH = "/var/run/secrets/kubernetes.io/serviceaccount";

/** Lifetime of the projected ServiceAccount token; the kubelet renews it before it expires. */
export const DEFAULT_TOKEN_EXPIRATION_SECONDS = 3600;

/** The key of the kubeconfig in its Secret or ConfigMap (upstream's). */
export const KUBECONFIG_KEY = "config";

/** Name of the Pod volume holding the terminal's login (the operator's Secret), when it has one. */
export const CREDENTIAL_VOLUME = "terminal-credential";

/** Where the launcher (templates/launcher.sh) reads the login: files `username` and `password`. */
export const CREDENTIAL_MOUNT_PATH = "/etc/cloudshell/credential";

/** Pod annotation holding the terminal's kubeconfig when it is built from the token (identity mode). */
export const KUBECONFIG_ANNOTATION = "cloudshell.cloudtty.io/kubeconfig";

// 0440: readable by root and, when a template sets fsGroup for a non-root user, by that group.
const KUBECONFIG_FILE_MODE = 0o440;

/** Where the terminal's Kubernetes credentials come from. */
export type KubeconfigSource =
  /** `spec.secretRef.name` (key `config`), or the Secret the operator made. */
  | { readonly kind: "Secret"; readonly name: string }
  /** Legacy `spec.configmapName` (key `config`), when the AllowSecretStoreKubeconfig gate is off. */
  | { readonly kind: "ConfigMap"; readonly name: string }
  /**
   * No kubeconfig given: a per-CloudShell ServiceAccount with a short-lived projected token. With `kubeconfig`
   * (identity mode) that text is projected beside the token as `config` and KUBECONFIG points at it.
   */
  | {
    readonly kind: "ServiceAccount";
    readonly serviceAccountName: string;
    readonly tokenExpirationSeconds?: number;
    readonly kubeconfig?: string;
  };

/** CloudShell facts applied after rendering. */
export interface PostRenderOptions {
  /** `spec.image`; when non-empty it replaces the image of the `web-tty` container. */
  readonly image?: string;
  /** `spec.env`; appended, in order, to the env of the `web-tty` container. */
  readonly env?: readonly EnvVar[];
  /** Source of the kubeconfig volume. */
  readonly kubeconfig: KubeconfigSource;
  /** The Secret with the terminal's login (`username`, `password`), mounted for the launcher. */
  readonly credentialSecret?: string;
}

/**
 * Applies the post-render steps to a rendered Job and returns a new object (the input is not changed).
 * Throws a TemplateError when the result cannot run: no valid Job, no image for `web-tty`, or a template
 * that already mounts something where the ServiceAccount token must go.
 */
export function postRender(rendered: JsonObject, vars: TemplateVars, options: PostRenderOptions): JobObject {
  const job = validateJob(structuredClone(rendered));
  const metadata = objectField(job, "metadata");
  // The operator finds its Job by name; a template must not move it elsewhere.
  metadata.name = vars.Name;
  metadata.namespace = vars.Namespace;
  objectField(metadata, "labels")[OWNER_LABEL] = vars.CloudShellName;
  objectField(objectField(job.spec.template, "metadata"), "labels")[OWNER_LABEL] = vars.CloudShellName;

  const container = terminalContainer(job);
  if (options.image) container.image = options.image;
  applyKubeconfig(job, container, options.kubeconfig);
  if (options.credentialSecret) mountCredential(job, container, options.credentialSecret);
  if (options.env && options.env.length > 0) {
    // A JSON round trip copies the entries and drops undefined fields, which JsonValue cannot hold.
    container.env = [
      ...listField(container, "env"),
      ...JSON.parse(JSON.stringify(options.env)) as JsonObject[],
    ];
  }
  if (typeof container.image !== "string" || container.image === "") {
    throw new TemplateError(
      `Container "${TERMINAL_CONTAINER}" has no image: set spec.image, --cloudshell-image or an image in the template`,
    );
  }
  return job;
}

function applyKubeconfig(job: JobObject, container: JsonObject, source: KubeconfigSource): void {
  const pod = job.spec.template.spec;
  // The terminal's identity is the kubeconfig (or the ServiceAccount below), never a token the namespace's
  // default ServiceAccount would otherwise hand out.
  pod.automountServiceAccountToken = false;
  const volumes = listField(pod, "volumes");
  let volume = volumes.find((v): v is JsonObject => isObject(v) && v.name === KUBECONFIG_VOLUME);
  if (volume === undefined) {
    volume = { name: KUBECONFIG_VOLUME };
    volumes.push(volume);
    if (source.kind !== "ServiceAccount" && !mounts(container).some((m) => m.name === KUBECONFIG_VOLUME)) {
      listField(container, "volumeMounts").push({
        name: KUBECONFIG_VOLUME,
        mountPath: DEFAULT_KUBECONFIG_MOUNT_PATH,
        readOnly: true,
      });
    }
  }
  pod.volumes = volumes;

  switch (source.kind) {
    case "Secret":
      setKubeconfigObject(volume, "secret", "secretName", source.name);
      break;
    case "ConfigMap":
      setKubeconfigObject(volume, "configMap", "name", source.name);
      break;
    case "ServiceAccount":
      setSource(
        volume,
        "projected",
        serviceAccountProjection(source.tokenExpirationSeconds, source.kubeconfig !== undefined),
      );
      pod.serviceAccountName = source.serviceAccountName;
      delete pod.serviceAccount; // deprecated alias; must not name another account
      mountServiceAccountToken(container);
      // KUBECONFIG would point at a file that does not exist here, and kubectl warns about it on every call;
      // without it, kubectl and client-go use the in-cluster config built from the token mounted above.
      if (Array.isArray(container.env)) {
        container.env = container.env.filter((e) => !(isObject(e) && e.name === "KUBECONFIG"));
      }
      if (source.kubeconfig !== undefined) {
        // The kubeconfig travels in the pod's own annotation (the downward API projects it), so the operator
        // needs no ConfigMap of its own; it names the token and CA beside it by relative paths.
        const podMeta = objectField(job.spec.template, "metadata");
        objectField(podMeta, "annotations")[KUBECONFIG_ANNOTATION] = source.kubeconfig;
        listField(container, "env").unshift({
          name: "KUBECONFIG",
          value: `${SERVICE_ACCOUNT_MOUNT_PATH}/${KUBECONFIG_KEY}`,
        });
      }
      break;
  }
}

/**
 * Points the kubeconfig volume at the Secret or ConfigMap `name`. The template's own settings for that
 * source (defaultMode, optional) are kept; the name and the keys are the operator's.
 */
function setKubeconfigObject(
  volume: JsonObject,
  field: "secret" | "configMap",
  nameField: "secretName" | "name",
  name: string,
): void {
  const own = volume[field];
  if (isObject(own)) {
    own[nameField] = name;
    own.items = kubeconfigItems(own.items);
  } else {
    setSource(volume, field, {
      [nameField]: name,
      defaultMode: KUBECONFIG_FILE_MODE,
      items: kubeconfigItems(undefined),
    });
  }
}

/**
 * The volume items of a kubeconfig Secret or ConfigMap: its `config` key and nothing else, so a shell
 * pointed at a Secret that holds more (a ServiceAccount token Secret, say) exposes only that one key. The
 * template's own item for `config` (another file name or mode) is kept; items of other keys are dropped.
 */
function kubeconfigItems(templateItems: JsonValue | undefined): JsonObject[] {
  const own = Array.isArray(templateItems)
    ? templateItems.filter((item): item is JsonObject => isObject(item) && item.key === KUBECONFIG_KEY)
    : [];
  return own.length > 0 ? own : [{ key: KUBECONFIG_KEY, path: KUBECONFIG_KEY }];
}

function mountCredential(job: JobObject, container: JsonObject, secretName: string): void {
  const pod = job.spec.template.spec;
  const volumes = listField(pod, "volumes");
  const mountsList = listField(container, "volumeMounts");
  // The operator owns this volume and its path, as it owns the kubeconfig volume.
  const taken = mounts(container).find((m) =>
    m.name === CREDENTIAL_VOLUME ||
    (typeof m.mountPath === "string" && trimSlash(m.mountPath) === CREDENTIAL_MOUNT_PATH)
  );
  if (taken !== undefined || volumes.some((v) => isObject(v) && v.name === CREDENTIAL_VOLUME)) {
    throw new TemplateError(
      `The template already has a volume "${CREDENTIAL_VOLUME}" or a mount at ${CREDENTIAL_MOUNT_PATH}, ` +
        "which the operator uses for the terminal's login",
    );
  }
  volumes.push({
    name: CREDENTIAL_VOLUME,
    secret: {
      secretName,
      defaultMode: KUBECONFIG_FILE_MODE,
      items: [{ key: "username", path: "username" }, { key: "password", path: "password" }],
    },
  });
  mountsList.push({ name: CREDENTIAL_VOLUME, mountPath: CREDENTIAL_MOUNT_PATH, readOnly: true });
}

function serviceAccountProjection(
  expirationSeconds = DEFAULT_TOKEN_EXPIRATION_SECONDS,
  withKubeconfig = false,
): JsonObject {
  // The API server refuses tokens shorter than 10 minutes.
  if (!Number.isSafeInteger(expirationSeconds) || expirationSeconds < 600) {
    throw new RangeError("Token expiration must be a whole number of seconds, at least 600");
  }
  return {
    defaultMode: KUBECONFIG_FILE_MODE,
    sources: [
      { serviceAccountToken: { path: "token", expirationSeconds } },
      { configMap: { name: "kube-root-ca.crt", items: [{ key: "ca.crt", path: "ca.crt" }] } },
      {
        downwardAPI: {
          items: [
            { path: "namespace", fieldRef: { apiVersion: "v1", fieldPath: "metadata.namespace" } },
            ...(withKubeconfig
              ? [{
                path: KUBECONFIG_KEY,
                fieldRef: { apiVersion: "v1", fieldPath: `metadata.annotations['${KUBECONFIG_ANNOTATION}']` },
              }]
              : []),
          ],
        },
      },
    ],
  };
}

function mountServiceAccountToken(container: JsonObject): void {
  const path = SERVICE_ACCOUNT_MOUNT_PATH;
  const taken = mounts(container).find((m) =>
    typeof m.mountPath === "string" && trimSlash(m.mountPath) === path
  );
  if (taken?.name === KUBECONFIG_VOLUME) return;
  if (taken !== undefined) {
    throw new TemplateError(
      `Container "${TERMINAL_CONTAINER}" already mounts ${JSON.stringify(taken.name)} at ${path}, ` +
        `where the ServiceAccount token must go`,
    );
  }
  listField(container, "volumeMounts").push({ name: KUBECONFIG_VOLUME, mountPath: path, readOnly: true });
}

/** Replaces whatever source a volume had by `key: value`, keeping its name. */
function setSource(volume: JsonObject, key: string, value: JsonObject): void {
  for (const k of Object.keys(volume)) if (k !== "name") delete volume[k];
  volume[key] = value;
}

function mounts(container: JsonObject): JsonObject[] {
  const list = container.volumeMounts;
  return Array.isArray(list) ? list.filter(isObject) : [];
}

function trimSlash(path: string): string {
  return path.length > 1 ? path.replace(/\/+$/, "") : path;
}

/** The object at `parent[key]`, created when absent. */
function objectField(parent: JsonObject, key: string): JsonObject {
  const value = parent[key];
  if (isObject(value)) return value;
  if (value !== undefined && value !== null) {
    throw new TemplateError(`Field ${key} of the Job is not a mapping`);
  }
  const created: JsonObject = {};
  parent[key] = created;
  return created;
}

/** The list at `parent[key]`, created when absent (validateJob already rejected non-lists). */
function listField(parent: JsonObject, key: string): JsonValue[] {
  const value = parent[key];
  if (Array.isArray(value)) return value;
  const created: JsonValue[] = [];
  parent[key] = created;
  return created;
}
