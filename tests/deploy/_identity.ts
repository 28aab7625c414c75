/**
 * The operator's identity in a test: deploy/'s ServiceAccount, ClusterRole, Role and bindings (and the Job
 * template ConfigMap) applied into a test namespace under unique cluster-scoped names, and a kubeconfig
 * holding a token of that ServiceAccount from the TokenRequest API, as the kubelet would project it.
 */
import { stringify } from "yaml";
import type { KubeClient } from "../../controller/kube/mod.ts";
import type { TestCluster } from "../harness/cluster.ts";
import { apply, DEPLOY_NAME, type Manifest, rebase, renderKustomize } from "./_manifests.ts";

const INSTALLED_KINDS = new Set([
  "ServiceAccount",
  "ClusterRole",
  "ClusterRoleBinding",
  "Role",
  "RoleBinding",
  "ConfigMap",
]);

/** deploy/'s RBAC as installed for one test; disposing of it deletes the cluster-scoped objects. */
export interface OperatorIdentity extends AsyncDisposable {
  /** The operator namespace. */
  namespace: string;
  /** `system:serviceaccount:<namespace>:cloudshell-operator`. */
  user: string;
  /** What was applied. */
  objects: Manifest[];
  /** Applies deploy/ rendered with these components over what is installed (same names). */
  reapply(components: string[]): Promise<Manifest[]>;
}

/** Applies deploy/'s RBAC objects (rendered with `components`) for a ServiceAccount in `namespace`. */
export async function installOperatorIdentity(
  cluster: TestCluster,
  namespace: string,
  components: string[] = [],
): Promise<OperatorIdentity> {
  const render = async (with_: string[]) => {
    const objs = rebase(await renderKustomize(with_), { namespace, suffix: namespace })
      .filter((o) => INSTALLED_KINDS.has(o.kind ?? ""));
    await apply(cluster.kubeconfigPath, objs);
    return objs;
  };
  const objects = await render(components);
  const clusterScoped = objects.filter((o) => o.kind === "ClusterRole" || o.kind === "ClusterRoleBinding");
  return {
    namespace,
    user: `system:serviceaccount:${namespace}:${DEPLOY_NAME}`,
    objects,
    reapply: render,
    async [Symbol.asyncDispose]() {
      for (const obj of clusterScoped) {
        const plural = obj.kind === "ClusterRole" ? "clusterroles" : "clusterrolebindings";
        const res = await cluster.client.request({
          method: "DELETE",
          path: `/apis/rbac.authorization.k8s.io/v1/${plural}/${obj.metadata.name}`,
        });
        await res.body?.cancel();
      }
    },
  };
}

/** A token of the ServiceAccount from the TokenRequest API. */
export async function serviceAccountToken(
  client: KubeClient,
  namespace: string,
  name: string,
): Promise<string> {
  const res = await client.request({
    method: "POST",
    path: `/api/v1/namespaces/${namespace}/serviceaccounts/${name}/token`,
    body: { apiVersion: "authentication.k8s.io/v1", kind: "TokenRequest", spec: { expirationSeconds: 3600 } },
  });
  const body = await res.json() as { status?: { token?: string }; message?: string };
  if (!res.ok || !body.status?.token) throw new Error(`TokenRequest failed (${res.status}): ${body.message}`);
  return body.status.token;
}

/**
 * Writes a kubeconfig for `server` authenticating with `token` only (trusting `caPem` for an HTTPS
 * server), and returns its path.
 */
export async function writeTokenKubeconfig(
  dir: string,
  server: string,
  token: string,
  caPem?: string,
): Promise<string> {
  const path = `${dir}/kubeconfig`;
  const ca = caPem ? { "certificate-authority-data": btoa(caPem) } : {};
  await Deno.writeTextFile(
    path,
    stringify({
      apiVersion: "v1",
      kind: "Config",
      "current-context": "operator",
      clusters: [{ name: "test", cluster: { server, ...ca } }],
      users: [{ name: "operator", user: { token } }],
      contexts: [{ name: "operator", context: { cluster: "test", user: "operator" } }],
    }),
    { mode: 0o600 },
  );
  return path;
}
