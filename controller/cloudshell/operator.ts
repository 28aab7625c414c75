/**
 * Assembles the CloudShell operator from the generic runtime: the informers
 * it needs (label-selected to its own Jobs, Pods and Services), the handlers
 * that map their events to CloudShell keys, the Job template source, and the
 * controller around the reconciler. `main.ts` adds the result to a manager.
 */
import { Informer } from "../cache/informer.ts";
import type { Lister } from "../cache/store.ts";
import type { KubeClient } from "../kube/client.ts";
import { keyFor, keyOf } from "../kube/object_key.ts";
import { Resources } from "../kube/resources.ts";
import type { Logger } from "../log.ts";
import { Controller, type ControllerMetrics } from "../runtime/controller.ts";
import type { EventRecorder } from "../runtime/events.ts";
import type { FeatureGates } from "../runtime/feature_gates.ts";
import type { InformerMetrics } from "../cache/informer.ts";
import {
  BucketRateLimiter,
  ItemExponentialFailureRateLimiter,
  MaxOfRateLimiter,
  type RateLimiter,
} from "../workqueue/mod.ts";
import { childName, type CloudShell, CloudShells, isTerminal, OWNER_LABEL } from "./api.ts";
import type { ServiceLike } from "./children/children.ts";
import type { NodeLike } from "./routing/node_address.ts";
import type { JobLike, PodLike } from "./observe.ts";
import { podChanged, slimCopyChanged } from "./children/child_updates.ts";
import { AdmissionPolicyCheck } from "./policy/admission_check.ts";
import { GrantSweeper } from "./access/grant_sweeper.ts";
import { CREATOR_POLICY } from "./access/identity.ts";
import { CloudShellReconciler, type ReconcilerSettings, specRefusal } from "./reconciler.ts";
import { RouteManager } from "./routing/routes.ts";
import { slimCloudShell, slimJob, slimNode, slimObject, slimPod, slimService } from "./slim.ts";
import { wantsNetworkPolicy } from "./access/network_policy.ts";
import type { KubeObject } from "../kube/types.ts";
import { type ConfigMapLike, TemplateSource } from "./template_source.ts";

/** What the operator is configured with (from flags). */
export interface OperatorConfig extends ReconcilerSettings {
  /** Only CloudShells (and their children) in this namespace; undefined for all. */
  watchNamespace?: string;
  /** Where the Job template ConfigMap lives. */
  templateConfigMap: { namespace: string; name: string };
  templateKey: string;
  templateFallbackKey: string;
  gates: FeatureGates;
  workers: number;
  /** Let routes go into Ingresses and VirtualServices the operator did not create (RouteManagerOptions). */
  useExistingRouteObjects?: boolean;
  /**
   * The admission policy (and binding) that must be in force before a shell naming a Secret or ConfigMap
   * gets a Job; undefined when an administrator opted out (`--require-admission-policy=false`).
   */
  requiredAdmissionPolicy?: string;
}

/** Services the operator uses. */
export interface OperatorServices {
  client: KubeClient;
  logger: Logger;
  events: EventRecorder;
  controllerMetrics?: ControllerMetrics;
  informerMetrics?: InformerMetrics;
  /** Observes seconds from creation to Ready. */
  onReady?: (seconds: number) => void;
}

/** The parts `main.ts` hands to the manager. */
export interface CloudShellOperator {
  informers: Informer<never>[];
  controller: Controller;
  /** Reads the admission policy now and then, on the leader; absent when not required. */
  admissionCheck?: AdmissionPolicyCheck;
  /** Identity mode: reads the creator-record policy now and then (leader only). */
  creatorCheck?: AdmissionPolicyCheck;
  /** Identity mode: removes grants whose shell is gone (leader only). */
  grantSweeper?: GrantSweeper;
  templates: TemplateSource;
  /** The CloudShell cache, for the shell gauges (shell_metrics.ts). */
  cloudShells: Lister<CloudShell>;
}

/** The name of the controller, in logs and metrics. */
export const CONTROLLER_NAME = "cloudshell";
/** Queue priority of shells whose Job, pod or Service changed (new shells and edits have the default, 0). */
const CHILD_EVENT_PRIORITY = 1;

/**
 * Backoff for retries: 200 ms doubling to 2 minutes per shell (a missing Secret
 * is noticed within two minutes of appearing), within an overall 50/s, 300 burst.
 */
function rateLimiter(): RateLimiter<string> {
  return new MaxOfRateLimiter<string>(
    new ItemExponentialFailureRateLimiter<string>(200, 120_000),
    new BucketRateLimiter<string>(50, 300),
  );
}

/** Builds the CloudShell operator's informers and controller. */
export function newCloudShellOperator(config: OperatorConfig, svc: OperatorServices): CloudShellOperator {
  const { client, logger } = svc;
  const base = { namespace: config.watchNamespace, metrics: svc.informerMetrics, logger };
  // A restart lists every CloudShell, Job and pod, and each is parsed whole before the informer slims it: a
  // CloudShell may be over 300 KiB (CRD limits plus 256 KiB of annotations), its Job and pod over 100 KiB
  // (its env, command and client options). Small pages keep what is in flight at once to about 8 MiB per
  // informer (bench/memory.ts: the restart peak under 500 of the largest shells).
  const owned = { ...base, labelSelector: OWNER_LABEL, indexedLabels: [OWNER_LABEL], pageSize: 100 };
  const cloudShells = new Informer<CloudShell>(client, CloudShells, {
    ...base,
    transform: (cs) => slimCloudShell(cs, (slim) => specRefusal(slim, config)),
    pageSize: 25,
  });
  const jobs = new Informer<JobLike>(client, Resources.jobs, { ...owned, transform: slimJob });
  const pods = new Informer<PodLike>(client, Resources.pods, { ...owned, transform: slimPod });
  const services = new Informer<ServiceLike>(client, Resources.services, {
    ...owned,
    transform: slimService,
  });
  // The shells' NetworkPolicies, when there are any: a deleted one is made again at once, and a shell
  // started before the flag gets one on its next reconcile, each decided from this cache.
  const networkPolicies = wantsNetworkPolicy(config.networkPolicy)
    ? new Informer<KubeObject>(client, Resources.networkPolicies, { ...owned, transform: slimObject })
    : undefined;
  // With a fixed NodePort host the nodes are never read, so they are not watched either.
  const nodes = config.nodePortHost ? undefined : new Informer<NodeLike>(client, Resources.nodes, {
    metrics: svc.informerMetrics,
    logger,
    transform: slimNode,
  });
  const templateMaps = new Informer<ConfigMapLike>(client, Resources.configMaps, {
    namespace: config.templateConfigMap.namespace,
    fieldSelector: `metadata.name=${config.templateConfigMap.name}`,
    metrics: svc.informerMetrics,
    logger,
  });

  const templates = new TemplateSource({
    read: () => templateMaps.lister.get(config.templateConfigMap.namespace, config.templateConfigMap.name),
    configMapName: `${config.templateConfigMap.namespace}/${config.templateConfigMap.name}`,
    key: config.templateKey,
    fallbackKey: config.templateFallbackKey,
    logger: logger.with({ component: "job-template" }),
    onRejected: (cm, message) =>
      svc.events.event(
        { ...cm, apiVersion: "v1", kind: "ConfigMap" },
        "Warning",
        "InvalidJobTemplate",
        message,
        // TemplateSource calls this once per rejected version; a bad text that returns after a fix is new.
        { dedup: false },
      ),
  });

  const admissionCheck = config.requiredAdmissionPolicy === undefined ? undefined : new AdmissionPolicyCheck({
    client,
    name: config.requiredAdmissionPolicy,
    logger: logger.with({ component: "admission-policy" }),
  });
  // Identity mode trusts spec.creator only while the policy that keeps it the requester's own is in force.
  const creatorCheck = config.identity === undefined ? undefined : new AdmissionPolicyCheck({
    client,
    name: CREATOR_POLICY,
    logger: logger.with({ component: "creator-policy" }),
    runnableName: "creator-policy-check",
    withheld:
      "shells without a kubeconfig get no new terminal in identity mode until it is (their recorded " +
      "creator could have been written by anyone); install deploy/admission_policy.yaml",
  });
  const reconciler = new CloudShellReconciler({
    client,
    cloudShells: cloudShells.lister,
    jobs: jobs.lister,
    pods: pods.lister,
    services: services.lister,
    networkPolicies: networkPolicies?.lister,
    nodes: nodes?.lister,
    templates,
    routes: new RouteManager(client, { useExistingObjects: config.useExistingRouteObjects }),
    events: svc.events,
    gates: config.gates,
    settings: config,
    admissionPolicy: admissionCheck,
    creatorPolicy: creatorCheck,
    onReady: svc.onReady,
  });
  const controller = new Controller({
    name: CONTROLLER_NAME,
    reconciler,
    logger,
    workers: config.workers,
    rateLimiter: rateLimiter(),
    metrics: svc.controllerMetrics,
  });

  // Our own status writes change neither generation nor metadata: skip them, or every write would
  // cost a reconcile. Spec edits bump the generation; finalizers, annotations and deletion show in
  // metadata.
  cloudShells.addHandler(
    controller.selfHandler<CloudShell>((oldObj, newObj) =>
      oldObj.metadata.generation !== newObj.metadata.generation ||
      oldObj.metadata.deletionTimestamp !== newObj.metadata.deletionTimestamp ||
      JSON.stringify(oldObj.metadata.annotations) !== JSON.stringify(newObj.metadata.annotations) ||
      JSON.stringify(oldObj.metadata.finalizers) !== JSON.stringify(newObj.metadata.finalizers)
    ),
  );
  const toOwner = (obj: KubeObject) => {
    const owner = obj.metadata.labels?.[OWNER_LABEL];
    return owner ? keyFor(obj.metadata.namespace, owner) : undefined;
  };
  // A shell whose child changed goes before shells waiting for their first reconcile: it is further
  // along (typically its pod just became Ready, so one status write finishes it), while a new shell
  // needs several creates. Under a burst of new shells this keeps pod-Ready-to-Ready short.
  jobs.addHandler(controller.handler<JobLike>(toOwner, slimCopyChanged, CHILD_EVENT_PRIORITY));
  pods.addHandler(controller.handler<PodLike>(toOwner, podChanged, CHILD_EVENT_PRIORITY));
  services.addHandler(controller.handler<ServiceLike>(toOwner, slimCopyChanged, CHILD_EVENT_PRIORITY));
  // Only a deletion matters: the shell then needs its policy again.
  const deleted = controller.handler<KubeObject>(toOwner);
  networkPolicies?.addHandler({ onDelete: deleted.onDelete });
  // A template edit matters to shells still waiting for a Job (for example after a broken template).
  const retryWaiting = () => {
    templates.current();
    for (const cs of cloudShells.lister.list()) {
      const hasJob = jobs.lister.get(cs.metadata.namespace, childName(cs.metadata.name!)) !== undefined;
      if (!hasJob && !isTerminal(cs.status?.phase)) controller.enqueue(keyOf(cs));
    }
  };
  templateMaps.addHandler({ onAdd: retryWaiting, onUpdate: retryWaiting, onDelete: retryWaiting });

  const informers = [
    cloudShells,
    jobs,
    pods,
    services,
    templateMaps,
    ...(nodes ? [nodes] : []),
    ...(networkPolicies ? [networkPolicies] : []),
  ];
  return {
    informers: informers as unknown as Informer<never>[],
    controller,
    templates,
    cloudShells: cloudShells.lister,
    admissionCheck,
    creatorCheck,
    grantSweeper: config.identity === undefined ? undefined : new GrantSweeper({
      client,
      cloudShells: cloudShells.lister,
      logger: logger.with({ component: "identity-grants" }),
    }),
  };
}
