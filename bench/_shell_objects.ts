/**
 * The objects of one shell as the operator makes them, to create without the operator: the floor the
 * benchmark compares with. Copied from a real shell, so the control plane does the same work per object as
 * for the operator's (its Job, with the launcher inline, is about 13 KB; a bare Job is a few hundred bytes).
 */
import { childName, OWNER_LABEL } from "../controller/cloudshell/api.ts";
import { type KubeClient, type KubeObject, Resources } from "../controller/kube/mod.ts";

/** A shell's ServiceAccount, RoleBinding, Job and Service, as the operator created them. */
export interface ShellObjects {
  serviceAccount: KubeObject;
  roleBinding: KubeObject;
  job: KubeObject;
  service: KubeObject;
}

type Json = Record<string, unknown>;

/** Reads the objects of the CloudShell `shell` (one with a ServiceAccount of its own, once it is Ready). */
export async function captureShellObjects(
  client: KubeClient,
  ns: string,
  shell: string,
): Promise<ShellObjects> {
  const name = childName(shell);
  const [serviceAccount, roleBinding, job, service] = await Promise.all([
    client.get<KubeObject>(Resources.serviceAccounts, ns, name),
    client.get<KubeObject>(Resources.roleBindings, ns, name),
    client.get<KubeObject>(Resources.jobs, ns, name),
    client.get<KubeObject>(Resources.services, ns, name),
  ]);
  return { serviceAccount, roleBinding, job, service };
}

/**
 * The captured objects renamed to `name` in `ns`, without what the API server filled in, and without the
 * operator's owner label, so that its informers never see them. The Service selects the Job's pod by the Job's
 * name, where the operator's selects it by the Job's UID, which is not known before the Job exists.
 */
export function shellObjectsNamed(captured: ShellObjects, name: string, ns: string): ShellObjects {
  const [serviceAccount, roleBinding, job, service] = [
    captured.serviceAccount,
    captured.roleBinding,
    captured.job,
    captured.service,
  ].map((o) => renamed(o, name, ns));

  roleBinding.subjects = [{ kind: "ServiceAccount", name, namespace: ns }];

  const jobSpec = job.spec as Json;
  delete jobSpec.selector;
  const template = jobSpec.template as { metadata: { labels?: Record<string, string> }; spec: Json };
  const labels = withoutOwner(template.metadata.labels);
  for (
    const set of [
      "controller-uid",
      "batch.kubernetes.io/controller-uid",
      "job-name",
      "batch.kubernetes.io/job-name",
    ]
  ) {
    delete labels[set];
  }
  template.metadata.labels = labels;
  template.spec.serviceAccountName = name;
  delete template.spec.serviceAccount;

  const serviceSpec = service.spec as { ports: Json[] } & Json;
  delete serviceSpec.clusterIP;
  delete serviceSpec.clusterIPs;
  for (const port of serviceSpec.ports) delete port.nodePort;
  serviceSpec.selector = { "batch.kubernetes.io/job-name": name };

  return { serviceAccount, roleBinding, job, service };
}

function renamed(obj: KubeObject, name: string, ns: string): KubeObject & Json {
  const copy = structuredClone(obj) as KubeObject & Json;
  const { labels, annotations } = obj.metadata;
  copy.metadata = {
    name,
    namespace: ns,
    labels: withoutOwner(labels),
    ...(annotations ? { annotations } : {}),
  };
  delete copy.status;
  return copy;
}

function withoutOwner(labels: Record<string, string> | undefined): Record<string, string> {
  const { [OWNER_LABEL]: _owner, ...rest } = labels ?? {};
  return rest;
}
