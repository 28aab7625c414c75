/**
 * Kubeconfig files read with client-go's `tools/clientcmd` rules: a list of
 * files (`$KUBECONFIG`) merged so that the first file to name a cluster, user
 * or context wins it whole and the first non-empty `current-context` wins,
 * missing files skipped; an explicit file (`--kubeconfig`) that must exist;
 * relative paths (certificate files, `tokenFile`, an exec command with a
 * slash) resolved against the folder of the file that names them; then one
 * context chosen and checked as client-go's `ConfirmUsable` checks it.
 *
 * The result keeps the file's own field names, so it compares field by field
 * with `kubectl config view --minify --raw`. Turning it into a connection
 * (and refusing what Deno cannot do) is `config.ts`'s job.
 */
import { parse as parseYaml } from "../../vendor/yaml/mod.ts";

/** A kubeconfig the operator cannot use: a bad file, a missing context, a field it cannot honour. */
export class KubeconfigError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "KubeconfigError";
  }
}

/** A `clusters[].cluster` stanza, in the file's own spelling. */
export interface KubeconfigCluster {
  server?: string;
  "tls-server-name"?: string;
  "insecure-skip-tls-verify"?: boolean;
  "certificate-authority"?: string;
  "certificate-authority-data"?: string;
  "proxy-url"?: string;
  "disable-compression"?: boolean;
  extensions?: NamedExtension[];
}

/** An `exec` credential plugin stanza (client.authentication.k8s.io). */
export interface KubeconfigExec {
  command?: string;
  args?: string[];
  env?: { name: string; value: string }[];
  apiVersion?: string;
  installHint?: string;
  provideClusterInfo?: boolean;
  interactiveMode?: string;
}

/** A `users[].user` stanza. */
export interface KubeconfigUser {
  "client-certificate"?: string;
  "client-certificate-data"?: string;
  "client-key"?: string;
  "client-key-data"?: string;
  token?: string;
  tokenFile?: string;
  as?: string;
  "as-uid"?: string;
  "as-groups"?: string[];
  "as-user-extra"?: Record<string, string[]>;
  username?: string;
  password?: string;
  "auth-provider"?: { name?: string; config?: Record<string, string> };
  exec?: KubeconfigExec;
  extensions?: NamedExtension[];
}

/** A `contexts[].context` stanza. */
export interface KubeconfigContext {
  cluster?: string;
  user?: string;
  namespace?: string;
  extensions?: NamedExtension[];
}

/** An entry of an `extensions` list. */
export interface NamedExtension {
  name: string;
  extension: unknown;
}

/** A stanza with the file it came from (client-go's LocationOfOrigin), for resolving and for messages. */
interface Origin<T> {
  value: T;
  file: string;
}

/** The merged view of all files: every map entry from the first file that had it. */
export interface MergedKubeconfig {
  /** The files read, in order (missing ones left out). */
  files: string[];
  currentContext?: string;
  clusters: Map<string, Origin<KubeconfigCluster>>;
  users: Map<string, Origin<KubeconfigUser>>;
  contexts: Map<string, Origin<KubeconfigContext>>;
  /** Fields no client-go version knows, as `file: path`; kubectl ignores them, the caller may warn. */
  unknownFields: string[];
}

/** The chosen context with its cluster and user, paths made absolute. */
export interface SelectedContext {
  contextName: string;
  context: KubeconfigContext;
  clusterName: string;
  cluster: KubeconfigCluster;
  userName: string;
  user: KubeconfigUser;
  /** The file the user stanza came from (for messages and the exec plugin's folder). */
  userFile: string;
  /** The file the cluster stanza came from. */
  clusterFile: string;
}

/** Reads a file as text; rejects with `Deno.errors.NotFound` for a missing file. */
export type ReadFile = (path: string) => Promise<string>;

/** Which files to read. */
export interface KubeconfigFiles {
  /** `--kubeconfig`: this file only, and it must exist. */
  explicitPath?: string;
  /** Otherwise these, merged (`$KUBECONFIG` split on `:`, or `~/.kube/config`). */
  precedence?: string[];
  /** The folder relative file names are taken from (the process's working directory). */
  cwd: string;
}

/** `$KUBECONFIG` as client-go splits it: on `:`, empty entries dropped, duplicates once. */
export function splitKubeconfigList(value: string): string[] {
  return [...new Set(value.split(":").filter((p) => p !== ""))];
}

/** Reads and merges kubeconfig files with client-go's loading rules. */
export async function loadKubeconfigFiles(files: KubeconfigFiles, read: ReadFile): Promise<MergedKubeconfig> {
  const explicit = files.explicitPath !== undefined && files.explicitPath !== "";
  const names = explicit ? [files.explicitPath!] : (files.precedence ?? []).filter((p) => p !== "");
  const merged: MergedKubeconfig = {
    files: [],
    clusters: new Map(),
    users: new Map(),
    contexts: new Map(),
    unknownFields: [],
  };
  const missing: string[] = [];
  for (const name of names) {
    const file = absolute(name, files.cwd);
    let text: string;
    try {
      text = await read(file);
    } catch (err) {
      if (err instanceof Deno.errors.NotFound && !explicit) {
        missing.push(name);
        continue;
      }
      const why = err instanceof Deno.errors.NotFound ? "no such file" : errorText(err);
      throw new KubeconfigError(`Cannot read kubeconfig ${name}: ${why}`, { cause: err });
    }
    merged.files.push(file);
    mergeFile(merged, file, parseFile(text, name));
  }
  if (merged.files.length === 0 && names.length > 0) {
    throw new KubeconfigError(
      `No kubeconfig found: ${missing.join(", ")} ${missing.length > 1 ? "do" : "does"} not exist`,
    );
  }
  return merged;
}

/**
 * Chooses `contextName` (or the current context) and checks what client-go's `ConfirmUsable` checks:
 * the context, its cluster and its user exist, the cluster has a server, no field is given both as a
 * file and as data, at most one of token and basic auth. Paths become absolute.
 */
export function selectContext(merged: MergedKubeconfig, contextName?: string): SelectedContext {
  const where = merged.files.join(":");
  const name = contextName || merged.currentContext;
  if (!name) throw new KubeconfigError(`Kubeconfig ${where} has no current-context; pass --context`);
  const ctx = merged.contexts.get(name);
  if (!ctx) throw new KubeconfigError(`Kubeconfig ${where} has no context "${name}"`);
  const context = structuredClone(ctx.value);
  if (!context.cluster) throw new KubeconfigError(`Context "${name}" names no cluster`);
  const cluster = merged.clusters.get(context.cluster);
  if (!cluster) {
    throw new KubeconfigError(`Cluster "${context.cluster}" of context "${name}" is not in ${where}`);
  }
  // client-go requires a user too; an empty user stanza (no credentials) is fine.
  if (!context.user) throw new KubeconfigError(`Context "${name}" names no user`);
  const user = merged.users.get(context.user);
  if (!user) throw new KubeconfigError(`User "${context.user}" of context "${name}" is not in ${where}`);
  if (context.namespace !== undefined && !DNS_LABEL.test(context.namespace)) {
    throw new KubeconfigError(
      `Context "${name}": namespace "${context.namespace}" is not a valid namespace name`,
    );
  }
  const selected: SelectedContext = {
    contextName: name,
    context,
    clusterName: context.cluster,
    cluster: resolveClusterPaths(structuredClone(cluster.value), cluster.file),
    userName: context.user,
    user: resolveUserPaths(structuredClone(user.value), user.file),
    userFile: user.file,
    clusterFile: cluster.file,
  };
  checkUsable(selected);
  return selected;
}

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

function checkUsable(s: SelectedContext): void {
  const c = s.cluster;
  const u = s.user;
  const cl = `Cluster "${s.clusterName}"`;
  const us = `User "${s.userName}"`;
  if (!c.server) throw new KubeconfigError(`${cl} has no server`);
  if (c["certificate-authority"] && c["certificate-authority-data"]) {
    throw new KubeconfigError(`${cl}: certificate-authority and certificate-authority-data are both set`);
  }
  if (u["client-certificate"] && u["client-certificate-data"]) {
    throw new KubeconfigError(`${us}: client-certificate and client-certificate-data are both set`);
  }
  if (u["client-key"] && u["client-key-data"]) {
    throw new KubeconfigError(`${us}: client-key and client-key-data are both set`);
  }
  const hasCert = Boolean(u["client-certificate"] || u["client-certificate-data"]);
  const hasKey = Boolean(u["client-key"] || u["client-key-data"]);
  if (hasCert && !hasKey) throw new KubeconfigError(`${us}: client-certificate without client-key`);
  if (hasKey && !hasCert) throw new KubeconfigError(`${us}: client-key without client-certificate`);
  if (u.token && (u.username || u.password)) {
    throw new KubeconfigError(`${us}: token and username/password are both set; only one is allowed`);
  }
  if ((u["as-uid"] || u["as-groups"]?.length || Object.keys(u["as-user-extra"] ?? {}).length) && !u.as) {
    throw new KubeconfigError(
      `${us}: as-uid, as-groups or as-user-extra without as (the user to impersonate)`,
    );
  }
  if (u.exec) {
    if (u["auth-provider"]) throw new KubeconfigError(`${us}: exec and auth-provider are both set`);
    if (!u.exec.command) throw new KubeconfigError(`${us}: exec.command is not set`);
    if (!u.exec.apiVersion) throw new KubeconfigError(`${us}: exec.apiVersion is not set`);
    if (u.exec.env?.some((e) => !e.name)) throw new KubeconfigError(`${us}: an exec.env entry has no name`);
  }
}

/** Absolute paths as client-go's ResolveLocalPaths makes them: only the fields that name files. */
function resolveClusterPaths(cluster: KubeconfigCluster, file: string): KubeconfigCluster {
  const dir = dirname(file);
  if (cluster["certificate-authority"]) {
    cluster["certificate-authority"] = absolute(cluster["certificate-authority"], dir);
  }
  return cluster;
}

function resolveUserPaths(user: KubeconfigUser, file: string): KubeconfigUser {
  const dir = dirname(file);
  for (const field of ["client-certificate", "client-key", "tokenFile"] as const) {
    if (user[field]) user[field] = absolute(user[field]!, dir);
  }
  // A bare command name is looked up in PATH; one with a slash is a path like the others.
  if (user.exec?.command?.includes("/")) user.exec.command = absolute(user.exec.command, dir);
  return user;
}

/** A path made absolute against `base` and cleaned, as Go's filepath.Join does. */
export function absolute(path: string, base: string): string {
  const joined = path.startsWith("/") ? path : `${base}/${path}`;
  const parts: string[] = [];
  for (const part of joined.split("/")) {
    if (part === "" || part === ".") continue;
    if (part === "..") parts.pop();
    else parts.push(part);
  }
  return `/${parts.join("/")}`;
}

function dirname(file: string): string {
  const i = file.lastIndexOf("/");
  return i <= 0 ? "/" : file.slice(0, i);
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

// --- parsing one file ---------------------------------------------------------------------------

interface ParsedFile {
  currentContext?: string;
  clusters: [string, KubeconfigCluster][];
  users: [string, KubeconfigUser][];
  contexts: [string, KubeconfigContext][];
  unknown: string[];
}

/** Fields of each stanza, with the type client-go decodes them into. */
type FieldType = "string" | "boolean" | "string[]" | "object" | "list";
const CONFIG_FIELDS: Record<string, FieldType> = {
  apiVersion: "string",
  kind: "string",
  preferences: "object",
  clusters: "list",
  users: "list",
  contexts: "list",
  "current-context": "string",
  extensions: "list",
};
const CLUSTER_FIELDS: Record<string, FieldType> = {
  server: "string",
  "tls-server-name": "string",
  "insecure-skip-tls-verify": "boolean",
  "certificate-authority": "string",
  "certificate-authority-data": "string",
  "proxy-url": "string",
  "disable-compression": "boolean",
  extensions: "list",
};
const USER_FIELDS: Record<string, FieldType> = {
  "client-certificate": "string",
  "client-certificate-data": "string",
  "client-key": "string",
  "client-key-data": "string",
  token: "string",
  tokenFile: "string",
  as: "string",
  "as-uid": "string",
  "as-groups": "string[]",
  "as-user-extra": "object",
  username: "string",
  password: "string",
  "auth-provider": "object",
  exec: "object",
  extensions: "list",
};
const EXEC_FIELDS: Record<string, FieldType> = {
  command: "string",
  args: "string[]",
  env: "list",
  apiVersion: "string",
  installHint: "string",
  provideClusterInfo: "boolean",
  interactiveMode: "string",
};
const CONTEXT_FIELDS: Record<string, FieldType> = {
  cluster: "string",
  user: "string",
  namespace: "string",
  extensions: "list",
};

function parseFile(text: string, name: string): ParsedFile {
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (err) {
    throw new KubeconfigError(`Kubeconfig ${name} is not valid YAML: ${firstLine(errorText(err))}`, {
      cause: err,
    });
  }
  const parsed: ParsedFile = { clusters: [], users: [], contexts: [], unknown: [] };
  // An empty file is an empty config, as in client-go.
  if (doc === null || doc === undefined) return parsed;
  const root = checkFields(doc, CONFIG_FIELDS, name, "", parsed.unknown);
  parsed.currentContext = (root["current-context"] as string | undefined) || undefined;
  parsed.clusters = entries(root.clusters, "cluster", name, (v, path) => {
    const cluster = checkFields(v, CLUSTER_FIELDS, name, path, parsed.unknown) as KubeconfigCluster;
    return cluster;
  });
  parsed.users = entries(root.users, "user", name, (v, path) => {
    const user = checkFields(v, USER_FIELDS, name, path, parsed.unknown) as KubeconfigUser;
    if (user.exec) {
      const exec = checkFields(
        user.exec,
        EXEC_FIELDS,
        name,
        `${path}.exec`,
        parsed.unknown,
      ) as KubeconfigExec;
      // client-go's defaulting when it decodes: v1beta1 plugins may prompt if there is a terminal.
      if (!exec.interactiveMode && exec.apiVersion === "client.authentication.k8s.io/v1beta1") {
        exec.interactiveMode = "IfAvailable";
      }
      for (const [i, e] of (exec.env ?? []).entries()) {
        if (
          typeof e !== "object" || e === null || typeof e.name !== "string" || typeof e.value !== "string"
        ) {
          throw new KubeconfigError(
            `Kubeconfig ${name}: ${path}.exec.env[${i}] needs a string name and value`,
          );
        }
      }
    }
    const extra = user["as-user-extra"];
    if (
      extra && Object.values(extra).some((v) => !Array.isArray(v) || v.some((s) => typeof s !== "string"))
    ) {
      throw new KubeconfigError(
        `Kubeconfig ${name}: ${path}.as-user-extra must map names to lists of strings`,
      );
    }
    return user;
  });
  parsed.contexts = entries(root.contexts, "context", name, (v, path) => {
    return checkFields(v, CONTEXT_FIELDS, name, path, parsed.unknown) as KubeconfigContext;
  });
  return parsed;
}

/** The `[name, stanza]` pairs of a `clusters`, `users` or `contexts` list. */
function entries<T>(
  list: unknown,
  key: "cluster" | "user" | "context",
  file: string,
  check: (value: unknown, path: string) => T,
): [string, T][] {
  if (list === undefined || list === null) return [];
  const out: [string, T][] = [];
  for (const [i, item] of (list as unknown[]).entries()) {
    const path = `${key}s[${i}]`;
    if (typeof item !== "object" || item === null || typeof (item as { name?: unknown }).name !== "string") {
      throw new KubeconfigError(`Kubeconfig ${file}: ${path} has no name`);
    }
    const entry = item as Record<string, unknown>;
    out.push([entry.name as string, check(entry[key] ?? {}, `${path}.${key}`)]);
  }
  return out;
}

/** Checks the types of known fields and collects unknown ones; returns the object. */
function checkFields(
  value: unknown,
  fields: Record<string, FieldType>,
  file: string,
  path: string,
  unknown: string[],
): Record<string, unknown> {
  const where = path || "the top level";
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new KubeconfigError(`Kubeconfig ${file}: ${where} must be a mapping`);
  }
  const obj = value as Record<string, unknown>;
  for (const [key, v] of Object.entries(obj)) {
    const type = fields[key];
    const field = path ? `${path}.${key}` : key;
    if (!type) {
      // kubectl ignores fields it does not know (a typo, or a newer client's field); so do we.
      if (path !== "" || key !== "name") unknown.push(`${file}: ${field}`);
      continue;
    }
    if (v === null || v === undefined) continue;
    const ok = type === "string"
      ? typeof v === "string"
      : type === "boolean"
      ? typeof v === "boolean"
      : type === "string[]"
      ? Array.isArray(v) && v.every((s) => typeof s === "string")
      : type === "list"
      ? Array.isArray(v)
      : typeof v === "object" && !Array.isArray(v);
    if (!ok) throw new KubeconfigError(`Kubeconfig ${file}: ${field} must be ${describe(type)}`);
  }
  return obj;
}

function describe(type: FieldType): string {
  return {
    string: "a string",
    boolean: "true or false",
    "string[]": "a list of strings",
    object: "a mapping",
    list: "a list",
  }[type];
}

function firstLine(text: string): string {
  return text.split("\n")[0];
}

/** Adds one file's entries: names already taken by an earlier file are kept whole. */
function mergeFile(merged: MergedKubeconfig, file: string, parsed: ParsedFile): void {
  merged.currentContext ||= parsed.currentContext;
  addNew(merged.clusters, parsed.clusters, file);
  addNew(merged.users, parsed.users, file);
  addNew(merged.contexts, parsed.contexts, file);
  merged.unknownFields.push(...parsed.unknown);
}

function addNew<T>(into: Map<string, Origin<T>>, pairs: [string, T][], file: string): void {
  // Within one file a later entry of the same name replaces an earlier one (client-go's conversion).
  for (const [name, value] of new Map(pairs)) {
    if (!into.has(name)) into.set(name, { value, file });
  }
}
