/**
 * What the operator keeps of the objects it watches. Informer caches hold
 * every Job, pod and Service of every CloudShell; keeping only the fields the
 * reconciler reads (client-go's TransformFunc idea) cuts the cache to a
 * fraction, and with it the cost of freezing and the operator's memory.
 */
import type { KubeObject, ObjectMeta } from "../kube/types.ts";
import { type CloudShell, type CloudShellSpec, GROUP } from "./api.ts";
import type { ServiceLike } from "./children/children.ts";
import type { NodeLike } from "./routing/node_address.ts";
import { credentialSecretOf, type JobLike, MAX_REPORT_LENGTH, type PodLike } from "./observe.ts";
import { CREDENTIAL_VOLUME, TERMINAL_CONTAINER } from "./template/mod.ts";

function meta(m: ObjectMeta): ObjectMeta {
  return {
    name: m.name,
    namespace: m.namespace,
    uid: m.uid,
    resourceVersion: m.resourceVersion,
    generation: m.generation,
    creationTimestamp: m.creationTimestamp,
    deletionTimestamp: m.deletionTimestamp,
    labels: m.labels,
    annotations: m.annotations,
    ownerReferences: m.ownerReferences,
    finalizers: m.finalizers,
  };
}

function conditions(list: { type: string; status: string }[] | undefined) {
  return list?.map(({ type, status }) => ({ type, status }));
}

function base<T extends KubeObject>(obj: T): KubeObject {
  return { apiVersion: obj.apiVersion, kind: obj.kind, metadata: meta(obj.metadata) };
}

/** The entries of a label or annotation map under the API group's prefix; undefined when none. */
function ownEntries(map: Record<string, string> | undefined): Record<string, string> | undefined {
  const own = Object.entries(map ?? {}).filter(([k]) => k.startsWith(OWN_ANNOTATION_PREFIX));
  return own.length > 0 ? Object.fromEntries(own) : undefined;
}

/**
 * The identity of an object the operator made for a shell, with only the operator's own labels and
 * annotations (the owner label it is indexed by, the session and deadline annotations): the API server and
 * the Job controller add labels of their own (a pod gets eight, two of them the Job's UID), which the
 * reconciler never reads. Cuts a cached pod from about 1.7 to 1.1 KB (docs/performance.md, "Memory").
 */
function child<T extends KubeObject>(obj: T): KubeObject {
  const m = meta(obj.metadata);
  return {
    apiVersion: obj.apiVersion,
    kind: obj.kind,
    metadata: {
      ...m,
      labels: ownEntries(m.labels),
      annotations: ownEntries(m.annotations),
      finalizers: undefined,
    },
  };
}

/** Identity alone (an object whose existence and owner are all the reconciler reads). */
export function slimObject<T extends KubeObject>(obj: T): T {
  return child(obj) as T;
}

/**
 * A pod's identity, phase and conditions, and how its terminal container ended (the launcher's report
 * in the termination message, cut to what a status carries); its spec is never read.
 */
export function slimPod(pod: PodLike): PodLike {
  const terminated = pod.status?.containerStatuses?.find((c) => c.name === TERMINAL_CONTAINER)?.state
    ?.terminated;
  return {
    ...child(pod),
    status: {
      phase: pod.status?.phase,
      conditions: conditions(pod.status?.conditions),
      ...(terminated && {
        containerStatuses: [{
          name: TERMINAL_CONTAINER,
          state: {
            terminated: {
              exitCode: terminated.exitCode,
              reason: terminated.reason,
              message: terminated.message?.slice(0, MAX_REPORT_LENGTH + 64),
            },
          },
        }],
      }),
    },
  };
}

/**
 * A Job's identity, deadline, pod selector (for the Service's), conditions and the name of its login
 * Secret (status names it).
 */
export function slimJob(job: JobLike): JobLike {
  const credentialSecret = credentialSecretOf(job);
  const matchLabels = job.spec?.selector?.matchLabels;
  return {
    ...child(job),
    spec: {
      activeDeadlineSeconds: job.spec?.activeDeadlineSeconds,
      ...(credentialSecret && {
        template: {
          spec: { volumes: [{ name: CREDENTIAL_VOLUME, secret: { secretName: credentialSecret } }] },
        },
      }),
      ...(matchLabels ? { selector: { matchLabels } } : {}),
    },
    status: { conditions: job.status?.conditions },
  };
}

/** A Service's identity, type, selector, cluster IP and ports. */
export function slimService(svc: ServiceLike): ServiceLike {
  return {
    ...child(svc),
    spec: {
      type: svc.spec?.type,
      selector: svc.spec?.selector,
      clusterIP: svc.spec?.clusterIP,
      ports: svc.spec?.ports,
    },
  };
}

/** A node's name, addresses and conditions (its images and capacity are never read). */
export function slimNode(node: NodeLike): NodeLike {
  return {
    ...base(node),
    status: { addresses: node.status?.addresses, conditions: conditions(node.status?.conditions) },
  };
}

/** Annotations under the API group's prefix: the only ones the operator reads on a CloudShell. */
const OWN_ANNOTATION_PREFIX = `${GROUP}/`;

/**
 * A CloudShell as the reconciler reads it: its spec and status (both bounded by the CRD schema), and
 * its identity without labels and without annotations other than the operator's own. Those are the
 * parts of a CloudShell no schema bounds (up to 256 KiB of annotations, plus kubectl's
 * last-applied-configuration, which repeats the whole spec), so one tenant's large objects cannot
 * grow every replica's cache.
 *
 * A spec the operator refuses whatever happens (`refusal`, decided by its flags alone) is kept as its
 * verdict and the few small fields that still matter (cleanup at expiry, the route to remove): a refused
 * shell runs no pod and costs its creator no quota, so without this, hundreds of the largest refused shells
 * would cost the operator their full size in memory, and nothing else.
 */
export function slimCloudShell(
  cs: CloudShell,
  refusal?: (cs: CloudShell) => { reason: string; message: string } | undefined,
): CloudShell {
  const m = meta(cs.metadata);
  const own = Object.entries(cs.metadata.annotations ?? {}).filter(([k]) =>
    k.startsWith(OWN_ANNOTATION_PREFIX)
  );
  const slim: CloudShell = {
    apiVersion: cs.apiVersion,
    kind: cs.kind,
    metadata: { ...m, labels: undefined, annotations: own.length > 0 ? Object.fromEntries(own) : undefined },
    spec: cs.spec,
    status: cs.status,
  };
  const refused = refusal?.(slim);
  if (!refused) return slim;
  return { ...slim, spec: routeFields(cs.spec ?? {}), refused };
}

/** The fields of a spec that name its route and its end, all short (CRD limits). */
function routeFields(spec: CloudShellSpec): CloudShellSpec {
  const ingress = spec.ingressConfig;
  return {
    exposureMode: spec.exposureMode,
    cleanup: spec.cleanup,
    pathPrefix: spec.pathPrefix,
    pathSuffix: spec.pathSuffix,
    ...(ingress && {
      ingressConfig: { ingressName: ingress.ingressName, namespace: ingress.namespace, host: ingress.host },
    }),
    virtualServiceConfig: spec.virtualServiceConfig,
  };
}
