/**
 * Rendering and applying what `deploy/` ships: the kustomization (optionally with a component), the Helm
 * chart, and the control plane's `kubectl` and `helm` binaries to do it with. Manifests are rebased into a
 * test's namespace and cluster-scoped names get a suffix, so test files sharing a cluster never clash.
 */
import { relative } from "node:path";
import { parseAllDocuments, stringify } from "yaml";
import type { KubeObject } from "../../controller/kube/mod.ts";
import { helm, kubectl, type RunResult } from "../harness/commands.ts";

/** The repository root, with a trailing slash. */
export const REPO = new URL("../../", import.meta.url).pathname;
/** The kustomization directory. */
export const DEPLOY = `${REPO}deploy`;
/** The Helm chart. */
export const CHART = `${DEPLOY}/chart`;
/** The kustomize component that turns on CloudTTY's legacy ConfigMap kubeconfig. */
export const LEGACY_COMPONENT = `${DEPLOY}/components/legacy-configmap-kubeconfig`;
export const IDENTITY_COMPONENT = `${DEPLOY}/components/identity`;
/** The namespace and object name the manifests use. */
export const DEPLOY_NAMESPACE = "cloudshell-system";
export const DEPLOY_NAME = "cloudshell-operator";

/** A manifest as parsed: any object with apiVersion, kind and metadata. */
export type Manifest = KubeObject & Record<string, unknown>;

export { helm, kubectl, run, type RunResult } from "../harness/commands.ts";

function mustSucceed(what: string, result: RunResult): string {
  if (result.code !== 0) {
    throw new Error(`${what} failed (exit ${result.code}):\n${result.stderr}${result.stdout}`);
  }
  return result.stdout;
}

/** Parses a multi-document YAML stream, dropping empty documents; throws on the first error. */
export function parseManifests(text: string): Manifest[] {
  const out: Manifest[] = [];
  for (const doc of parseAllDocuments(text)) {
    if (doc.errors.length > 0) throw new Error(`Invalid YAML: ${doc.errors[0].message}`);
    const value = doc.toJS() as Manifest | null;
    if (value) out.push(value);
  }
  return out;
}

/** Serializes manifests as one multi-document YAML stream. */
export function toYamlStream(objs: readonly Manifest[]): string {
  return objs.map((o) => stringify(o)).join("---\n");
}

/**
 * `kubectl kustomize deploy/`, or of an overlay made of deploy/ plus `components` (which kustomize
 * accepts only by relative path, hence the overlay in a temporary directory).
 */
export async function renderKustomize(components: string[] = []): Promise<Manifest[]> {
  // Any kubeconfig will do: kustomize never contacts the cluster.
  if (components.length === 0) {
    return parseManifests(
      mustSucceed("kubectl kustomize", await kubectl("/dev/null", ["kustomize", DEPLOY])),
    );
  }
  const dir = await Deno.makeTempDir({ prefix: "cloudshell-overlay-" });
  try {
    const rel = (p: string) => relative(dir, p);
    await Deno.writeTextFile(
      `${dir}/kustomization.yaml`,
      stringify({
        apiVersion: "kustomize.config.k8s.io/v1beta1",
        kind: "Kustomization",
        resources: [rel(DEPLOY)],
        components: components.map(rel),
      }),
    );
    return parseManifests(mustSucceed("kubectl kustomize", await kubectl("/dev/null", ["kustomize", dir])));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** Options of {@linkcode renderChart}. */
export interface ChartOptions {
  release?: string;
  namespace?: string;
  /** Values files. */
  valuesFiles?: string[];
  /** `--set` expressions. */
  set?: string[];
}

/**
 * The Kubernetes version `helm template` renders for: the test control plane's (hack/controlplane/build.sh).
 * Without it helm assumes 1.20, below the chart's `kubeVersion`.
 */
export const KUBE_VERSION = "1.37.2";

/** `helm template` of the chart. */
export async function renderChart(opts: ChartOptions = {}): Promise<Manifest[]> {
  const args = [
    "template",
    opts.release ?? DEPLOY_NAME,
    CHART,
    "--namespace",
    opts.namespace ?? DEPLOY_NAMESPACE,
    "--kube-version",
    KUBE_VERSION,
  ];
  for (const file of opts.valuesFiles ?? []) args.push("--values", file);
  for (const expr of opts.set ?? []) args.push("--set", expr);
  return parseManifests(mustSucceed("helm template", await helm(args)));
}

const CLUSTER_SCOPED = new Set([
  "Namespace",
  "CustomResourceDefinition",
  "ClusterRole",
  "ClusterRoleBinding",
  "ValidatingAdmissionPolicy",
  "ValidatingAdmissionPolicyBinding",
  "FlowSchema",
]);

/** Whether objects of this kind live in a namespace. */
export function isNamespaced(obj: Manifest): boolean {
  return !CLUSTER_SCOPED.has(obj.kind ?? "");
}

/** Options of {@linkcode rebase}. */
export interface RebaseOptions {
  /** Namespace for every namespaced object, ServiceAccount subject and the Namespace object itself. */
  namespace: string;
  /** Appended (with a dash) to the names of ClusterRoles and ClusterRoleBindings, and to references to them. */
  suffix: string;
}

/**
 * Moves manifests into a test's namespace and makes cluster-scoped RBAC names unique, the substitution
 * an overlay would do, without kustomize (so chart output can be rebased the same way).
 */
export function rebase(objs: readonly Manifest[], opts: RebaseOptions): Manifest[] {
  const renamed = new Set(
    objs.filter((o) => o.kind === "ClusterRole").map((o) => o.metadata.name!),
  );
  return objs.map((original) => {
    const obj = structuredClone(original);
    if (obj.kind === "Namespace") obj.metadata.name = opts.namespace;
    else if (isNamespaced(obj)) obj.metadata.namespace = opts.namespace;
    if (obj.kind === "ClusterRole" || obj.kind === "ClusterRoleBinding" || obj.kind === "FlowSchema") {
      obj.metadata.name = `${obj.metadata.name}-${opts.suffix}`;
    }
    if (obj.kind === "FlowSchema") rebaseFlowSchema(obj, opts.namespace);
    const roleRef = obj.roleRef as { kind: string; name: string } | undefined;
    if (roleRef?.kind === "ClusterRole" && renamed.has(roleRef.name)) {
      roleRef.name = `${roleRef.name}-${opts.suffix}`;
    }
    const subjects = obj.subjects as { kind: string; namespace?: string }[] | undefined;
    for (const s of subjects ?? []) {
      if (s.kind === "ServiceAccount") s.namespace = opts.namespace;
    }
    return obj;
  });
}

/** Points a FlowSchema's ServiceAccount subjects and namespaced resource rules at `namespace`. */
function rebaseFlowSchema(obj: Manifest, namespace: string): void {
  const spec = obj.spec as {
    rules?: {
      subjects?: { serviceAccount?: { namespace: string } }[];
      resourceRules?: { namespaces?: string[] }[];
    }[];
  };
  for (const rule of spec.rules ?? []) {
    for (const s of rule.subjects ?? []) if (s.serviceAccount) s.serviceAccount.namespace = namespace;
    for (const r of rule.resourceRules ?? []) if (r.namespaces) r.namespaces = [namespace];
  }
}

/** The label value (`app.kubernetes.io/component`) of the ClusterRole for scrapers, granted to no operator. */
export const METRICS_READER_COMPONENT = "metrics-reader";

/** The manifests without the scrapers' ClusterRole (its non-resource URL is no permission of the operator). */
export function withoutMetricsReader(objs: readonly Manifest[]): Manifest[] {
  return objs.filter((o) => o.metadata.labels?.["app.kubernetes.io/component"] !== METRICS_READER_COMPONENT);
}

/** deploy/terminal_cluster_role.yaml's role, which the operator binds for terminals and does not hold. */
export function isTerminalRole(obj: Manifest): boolean {
  return obj.kind === "ClusterRole" && obj.metadata.labels?.["app.kubernetes.io/component"] === "terminal";
}

/** The operator's own ClusterRole (not the terminals' role, nor the scrapers'). */
export function operatorClusterRole(objs: readonly Manifest[]): Manifest {
  return single(withoutMetricsReader(objs).filter((o) => !isTerminalRole(o)), "ClusterRole");
}

/** The objects of one kind. */
export function ofKind(objs: readonly Manifest[], kind: string): Manifest[] {
  return objs.filter((o) => o.kind === kind);
}

/** The single object of a kind; throws unless there is exactly one. */
export function single(objs: readonly Manifest[], kind: string): Manifest {
  const found = ofKind(objs, kind);
  if (found.length !== 1) throw new Error(`Expected one ${kind}, found ${found.length}`);
  return found[0];
}

/**
 * `kubectl apply --server-side --dry-run=server --validate=strict`: the API server validates, defaults and
 * admits every object (unknown fields are errors) without storing anything.
 */
export async function dryRunApply(kubeconfig: string, objs: readonly Manifest[]): Promise<RunResult> {
  return await kubectl(kubeconfig, [
    "apply",
    "--server-side",
    "--force-conflicts",
    "--field-manager=cloudshell-deploy-test",
    "--dry-run=server",
    "--validate=strict",
    "-f",
    "-",
  ], toYamlStream(objs));
}

/** `kubectl apply --server-side` for real; throws on failure. */
export async function apply(kubeconfig: string, objs: readonly Manifest[]): Promise<void> {
  mustSucceed(
    "kubectl apply",
    await kubectl(kubeconfig, [
      "apply",
      "--server-side",
      "--force-conflicts",
      "--field-manager=cloudshell-deploy-test",
      "-f",
      "-",
    ], toYamlStream(objs)),
  );
}
