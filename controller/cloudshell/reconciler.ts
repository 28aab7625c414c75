/**
 * The CloudShell reconciler: from a CloudShell in the cache to a running,
 * reachable terminal, and back to nothing when it expires or is deleted.
 *
 * Level-based: every reconcile reads the CloudShell, its Job, pod and Service
 * from informer caches and converges; nothing depends on which event woke it.
 * It writes only what is missing or changed, which keeps a shell's whole life
 * to a handful of write requests (see docs/performance.md).
 */
import type { Lister } from "../cache/store.ts";
import type { KubeObject } from "../kube/types.ts";
import type { KubeClient } from "../kube/client.ts";
import { isAlreadyExists, isConflict, isNotFound } from "../kube/errors.ts";
import {
  accessChecks,
  describeCheck,
  firstDenied,
  serviceAccountUser,
  TARGET_FORBIDDEN,
} from "./access/access_review.ts";
import { terminalTarget } from "./access/target.ts";
import { keyFor } from "../kube/object_key.ts";
import { Resources, type ResourceType } from "../kube/resources.ts";
import { errorMessage } from "../log.ts";
import type { EventRecorder } from "../runtime/events.ts";
import type { FeatureGates } from "../runtime/feature_gates.ts";
import type { ReconcileContext, Reconciler, Request, Result } from "../runtime/reconcile.ts";
import {
  childName,
  type CloudShell,
  CloudShells,
  type Creator,
  CREDENTIAL_ENV,
  exposureMode,
  FINALIZER,
  isTerminal,
  OWNER_LABEL,
  type Phase,
  ROUTE_ANNOTATION,
  type SpecProblem,
  TTL_DEADLINE_ANNOTATION,
} from "./api.ts";
import {
  buildService,
  ensureRoleBinding,
  ensureServiceAccount,
  type ServiceLike,
  serviceSelector,
  serviceTypeFor,
} from "./children/children.ts";
import {
  accessUrl,
  desiredRoute,
  legacyRouteHint,
  recordedRoute,
  routeBackend,
  routeRecord,
  routeRefsToRemove,
} from "./routing/exposure.ts";
import {
  ADMISSION_POLICY_MISSING,
  needsAdmissionPolicy,
  type PolicyState,
} from "./policy/admission_check.ts";
import { ALLOW_SECRET_STORE_KUBECONFIG } from "./features.ts";
import { kubeconfigSourceOf, renderJob, type TerminalSettings } from "./children/job.ts";
import {
  buildCredentialSecret,
  type CredentialMode,
  credentialPlan,
  type Login,
  loginFor,
} from "./access/credential.ts";
import {
  buildNetworkPolicy,
  type NetworkPolicySources,
  wantsNetworkPolicy,
} from "./access/network_policy.ts";
import { type NodeLike, nodePortAddress } from "./routing/node_address.ts";
import {
  credentialSecretOf,
  hasReadyPod,
  type JobLike,
  type JobOutcome,
  jobOutcome,
  type PodLike,
  terminalEnd,
} from "./observe.ts";
import { ChildConflict, ensureChild, isOwnedBy } from "./children/ownership.ts";
import {
  buildImpersonationBinding,
  buildImpersonationRole,
  creatorProblem,
  grantName,
  identityKubeconfig,
  IdentityReasons,
  isGrantOf,
} from "./access/identity.ts";
import {
  DEFAULT_POLICY,
  effectiveIdleTimeout,
  effectiveTtl,
  routeProblem,
  type TenantPolicy,
} from "./policy/policy.ts";
import {
  DEFAULT_WARN_BEFORE_SECONDS,
  sessionAnnotations,
  sessionAnnotationsPatch,
  type SessionFacts,
} from "./session.ts";
import { type Problem, problemFromError } from "./problems.ts";
import {
  type DesiredRoute,
  encodeRouteRef,
  RouteError,
  type RouteManager,
  type RouteRef,
} from "./routing/routes.ts";
import { buildStatus, type DesiredStatus, Reasons, rfc3339, statusChanged } from "./status.ts";
import type { CloudShellStatus } from "./api.ts";
import type { TemplateSource } from "./template_source.ts";
import { RecentObjects } from "./children/recent_objects.ts";
import { slimJob, slimService } from "./slim.ts";
import { validateSpec } from "./policy/validation.ts";
import type { KubeconfigSource } from "./template/mod.ts";
import { activeDeadlineSecondsFor } from "./template/mod.ts";

/** A rendered Job, ready to create once its login Secret (if any) exists. */
interface PreparedJob {
  job: JobLike;
  kubeconfig: KubeconfigSource;
  /** The login to keep in a Secret the Job mounts, and whether the operator generated it. */
  login?: { login: Login; generated: boolean };
  /** Renders the Job again, mounting the named login Secret. */
  render(credentialSecret: string): JobLike | Problem;
  /** Where the template came from, for the log. */
  origin: string;
  /** Identity mode: the creator the terminal acts as (the shell's ServiceAccount may impersonate them). */
  creator?: Creator;
}

/** Operator-wide settings the reconciler applies. */
export interface ReconcilerSettings {
  /** `--cloudshell-image`: the image when spec.image is empty. */
  defaultImage: string;
  /** `--kubeconfig-clusterrole`: what a shell without a kubeconfig may do in its namespace. */
  clusterRole: string;
  /** `--allow-env-value-from`: env valueFrom sources that read other objects and are allowed anyway. */
  allowedEnvValueFrom?: ReadonlySet<string>;
  /** `--node-port-host`: the host of NodePort URLs; else a Ready node's address. */
  nodePortHost?: string;
  /**
   * How long a new shell may stay without a status while its pod starts. Most
   * pods are Ready sooner, so their first status write is already `Ready`.
   */
  statusGraceMs?: number;
  /** ttyd's Origin check and ping interval. */
  terminal?: TerminalSettings;
  /** `--terminal-credential`: a generated login for shells without TTYD_CREDENTIAL. */
  credentialMode?: CredentialMode;
  /** `--network-policy-*`: who may reach terminals; absent or empty: no NetworkPolicy. */
  networkPolicy?: NetworkPolicySources;
  /** What shells may ask for (route namespaces, Ingress annotations, TTL); default DEFAULT_POLICY. */
  policy?: TenantPolicy;
  /**
   * `--terminal-identity=creator`: a terminal without a kubeconfig acts as its creator (identity.ts);
   * `apiServer` is the API server's URL as pods reach it. Absent: the shell's ServiceAccount is bound to
   * `clusterRole`.
   */
  identity?: { apiServer: string };
  /** `--session-warning`: how long before the TTL runs out the terminal warns its users, in seconds. */
  warnBeforeSeconds?: number;
}

/** What the reconciler reads and writes through. */
export interface ReconcilerDeps {
  client: KubeClient;
  cloudShells: Lister<CloudShell>;
  jobs: Lister<JobLike>;
  pods: Lister<PodLike>;
  services: Lister<ServiceLike>;
  /** The shells' NetworkPolicies; absent when the administrator asked for none. */
  networkPolicies?: Lister<KubeObject>;
  /** Absent when `nodePortHost` is set (nodes are then not watched). */
  nodes?: Lister<NodeLike>;
  templates: TemplateSource;
  routes: RouteManager;
  events: EventRecorder;
  gates: FeatureGates;
  settings: ReconcilerSettings;
  /**
   * Whether the admission policy is in force (admission_check.ts); absent when an administrator opted
   * out (`--require-admission-policy=false`).
   */
  admissionPolicy?: { state(): Promise<PolicyState> };
  /** Identity mode: whether the policy that keeps spec.creator the requester's is in force. */
  creatorPolicy?: { state(): Promise<PolicyState> };
  now?: () => number;
  /** Called when a shell becomes Ready, with seconds since it was created (for a histogram). */
  onReady?: (seconds: number) => void;
}

const DEFAULT_STATUS_GRACE_MS = 30_000;
/**
 * A finished Job may reach the cache before its pod's final status, which carries the launcher's report of
 * why the terminal ended: wait this long between looks, for at most POD_REPORT_WAIT_LIMIT_MS.
 */
const POD_REPORT_WAIT_MS = 1_000;
const POD_REPORT_WAIT_LIMIT_MS = 10_000;
/** How long a status we wrote stands in for the cache's copy until the informer catches up. */
const WRITTEN_STATUS_TTL_MS = 60_000;

/**
 * Why the operator refuses a shell's spec whatever else happens: decided by its flags alone (the schema's
 * gaps, env sources, route namespaces, hosts, classes, gateways and annotations), so the informer can decide
 * it once (slim.ts).
 */
export function specRefusal(cs: CloudShell, settings: ReconcilerSettings): SpecProblem | undefined {
  const name = cs.metadata.name!;
  const namespace = cs.metadata.namespace!;
  const spec = cs.spec ?? {};
  const problem = validateSpec(spec, name, namespace, { allowedEnvValueFrom: settings.allowedEnvValueFrom });
  if (problem) return problem;
  const policy = settings.policy ?? DEFAULT_POLICY;
  const route = desiredRoute(cs, exposureMode(spec), policy);
  const refused = route && routeProblem(route, namespace, policy);
  return refused ? { reason: refused.reason, message: refused.message } : undefined;
}

/** Reconciles CloudShells. */
export class CloudShellReconciler implements Reconciler {
  readonly #d: ReconcilerDeps;
  readonly #now: () => number;
  /** Statuses written but maybe not yet in the cache, so a quick second reconcile does not write again. */
  readonly #written = new Map<
    string,
    { uid: string; resourceVersion: string; status: CloudShellStatus; at: number }
  >();
  /** Children created but maybe not yet in the cache, so a quick second reconcile does not create again. */
  readonly #createdJobs: RecentObjects<JobLike>;
  readonly #createdServices: RecentObjects<ServiceLike>;
  /**
   * Login Secrets this process created for shells, so that a Job create that is retried (a name conflict,
   * a rejected Job) reuses the Secret instead of making one per attempt.
   */
  readonly #loginSecrets = new Map<string, { uid: string; login: string; name: string }>();
  /** Routes this process recorded on live shells, to clean up after a shell that vanished unfinalized. */
  readonly #recordedRoutes = new Map<string, RouteRef>();
  readonly #policy: TenantPolicy;

  constructor(deps: ReconcilerDeps) {
    this.#d = deps;
    this.#now = deps.now ?? Date.now;
    this.#policy = deps.settings.policy ?? DEFAULT_POLICY;
    this.#createdJobs = new RecentObjects(WRITTEN_STATUS_TTL_MS, this.#now);
    this.#createdServices = new RecentObjects(WRITTEN_STATUS_TTL_MS, this.#now);
  }

  async reconcile(req: Request, ctx: ReconcileContext): Promise<Result> {
    const key = keyFor(req.namespace, req.name);
    const cs = this.#d.cloudShells.get(req.namespace, req.name);
    if (!cs) {
      this.#written.delete(key);
      this.#createdJobs.forget(key);
      this.#createdServices.forget(key);
      this.#loginSecrets.delete(key);
      // Gone without our finalizer having run: its DELETE raced with the write that added the finalizer
      // (the API server can honour a DELETE that read the object before the finalizer was there). Take
      // out the route we wrote for it, or it would point at nothing forever.
      const orphaned = this.#recordedRoutes.get(key);
      if (orphaned) {
        ctx.logger.info("CloudShell vanished before its finalizer ran; removing its route", {
          route: encodeRouteRef(orphaned),
        });
        await this.#d.routes.remove(orphaned, routeBackend(req.namespace, req.name));
        this.#recordedRoutes.delete(key);
      }
      return {};
    }
    try {
      return await this.#converge(key, cs, ctx);
    } catch (err) {
      // A write the API server refused, or an object in the way: the user learns of it from the
      // condition and the Event; the error still goes to the controller, which logs and counts it and
      // retries with per-item backoff (as Kubernetes' sample-controller does with a child it does not own).
      const problem = problemFromError(err);
      if (problem) await this.#report(cs, problem);
      throw err;
    }
  }

  async #converge(key: string, cs: CloudShell, ctx: ReconcileContext): Promise<Result> {
    const name = cs.metadata.name!;
    const namespace = cs.metadata.namespace!;
    if (cs.metadata.deletionTimestamp) return await this.#finalize(cs);
    const status = this.#currentStatus(key, cs);
    if (isTerminal(status?.phase)) return await this.#ended(cs);

    const spec = cs.spec ?? {};
    const refused = cs.refused ?? specRefusal(cs, this.#d.settings);
    if (refused) return await this.#report(cs, { ...refused, retry: false });
    const mode = exposureMode(spec);
    const route = desiredRoute(cs, mode, this.#policy);

    let job = this.#job(key, cs);
    const { seconds: ttl, cappedFrom } = effectiveTtl(spec, this.#policy);
    if (cappedFrom !== undefined) {
      this.#d.events.event(
        cs,
        "Warning",
        Reasons.ttlCapped,
        `The TTL of ${cappedFrom}s is above the maximum of ${ttl}s an administrator set; the session lasts ${ttl}s`,
      );
    }
    // The session starts when its Job is created; before that, the Job about to be made starts it now.
    const expiryFrom = (job?: JobLike) => {
      if (ttl === undefined) return undefined;
      const startedAt = Date.parse(status?.lastScheduleTime ?? job?.metadata.creationTimestamp ?? "");
      return (Number.isNaN(startedAt) ? this.#now() : startedAt) + ttl * 1000;
    };
    let expiresAt = expiryFrom(job);
    if (expiresAt !== undefined && this.#now() >= expiresAt) {
      return await this.#end(cs, job, {
        phase: "Complete",
        reason: Reasons.expired,
        message: `TTL of ${ttl}s expired`,
      });
    }
    const session: SessionFacts = {
      endsAtMs: expiresAt,
      ttlSeconds: ttl,
      idleTimeoutSeconds: effectiveIdleTimeout(spec, this.#policy).seconds,
      warnBeforeSeconds: this.#d.settings.warnBeforeSeconds ?? DEFAULT_WARN_BEFORE_SECONDS,
    };
    if (job) {
      const ended = this.#jobEnded(job);
      if (ended === "wait") return { requeueAfterMs: POD_REPORT_WAIT_MS };
      if (ended) return await this.#end(cs, job, ended);
      await this.#extendDeadline(job, ttl);
      // Deleted by someone, or the flag turned on after the shell started: the fence goes up again.
      await this.#ensureNetworkPolicy(cs);
      await this.#updateSession(job, session);
      this.#announceTtlChange(cs, status, expiresAt, ttl);
    }

    if (!job) {
      const unchecked = await this.#admissionProblem(key, cs);
      if (unchecked) return await this.#report(cs, unchecked);
      let creator: Creator | undefined;
      if (this.#actsAsCreator(cs)) {
        const unguarded = await this.#creatorPolicyProblem();
        if (unguarded) return await this.#report(cs, unguarded);
        const refused = creatorProblem(spec.creator);
        if (refused) return await this.#report(cs, { ...refused, retry: false });
        creator = spec.creator;
      }
      const forbidden = await this.#checkTarget(cs, creator);
      if (forbidden) return await this.#report(cs, forbidden);
      // The grant is cluster-scoped and not owned by the shell: the finalizer goes on before the grant.
      if (creator) cs = await this.#holdFinalizer(cs);
      const prepared = this.#prepareJob(cs, ttl, creator, session);
      if ("reason" in prepared) return await this.#report(cs, prepared);
      job = await this.#createJob(cs, prepared, ctx);
      // The status records the end from the Job's own creation time, as every later pass computes it
      // (whole seconds): the estimate above would differ by a second and cost a second write.
      expiresAt = expiryFrom(job);
    }

    // The Service selects the Job's own pods, by the selector the API server gave the Job, so it goes
    // out right after the Job; the pod takes longer than that to start.
    const service = await this.#ensureService(cs, mode, job);
    const routed = await this.#ensureRoute(cs, route, status);
    // The Job exists but the terminal cannot be reached yet: upstream's CreatedJob phase says exactly that.
    // The Job runs: a problem reported now records when the session started and keeps its end current.
    const running = { phase: "CreatedJob", startedAt: job.metadata.creationTimestamp, expiresAt } as const;
    if (routed !== true) return await this.#report(cs, routed, running);

    const url = accessUrl(cs, mode, service, mode === "NodePort" ? this.#nodeHost() : undefined, ttl, route);
    if (typeof url !== "string") return await this.#report(cs, url, running);

    const ready = hasReadyPod(
      this.#d.pods.byLabel(OWNER_LABEL, name).filter((p) => p.metadata.namespace === namespace),
      job,
    );
    const phase: Phase = ready ? "Ready" : "CreatedRouteRule";
    const desired: DesiredStatus = {
      phase,
      // A URL is published only once it leads to a serving terminal.
      accessUrl: ready ? url : "",
      lastScheduleTime: job.metadata.creationTimestamp,
      expirationTime: expiresAt === undefined ? undefined : rfc3339(expiresAt),
      credentialSecretName: credentialSecretOf(job),
      ready: ready ? { status: "True", reason: Reasons.ready, message: `The terminal is ready at ${url}` } : {
        status: "False",
        reason: Reasons.jobCreated,
        message: this.#waitingMessage(cs),
      },
    };
    const requeue: Result = expiresAt === undefined
      ? {}
      : { requeueAfterMs: Math.max(0, expiresAt - this.#now()) };
    // A new shell whose pod is not Ready yet: skip the intermediate status; the pod's events bring us
    // back, and if it takes longer than the grace period the requeue writes the waiting status.
    const grace = this.#d.settings.statusGraceMs ?? DEFAULT_STATUS_GRACE_MS;
    const age = this.#now() - Date.parse(job.metadata.creationTimestamp ?? "");
    if (!ready && !status?.phase && age < grace) {
      return { requeueAfterMs: Math.min(grace - age, requeue.requeueAfterMs ?? grace) };
    }
    const wasReady = status?.phase === "Ready";
    await this.#writeStatus(cs, desired);
    if (ready && !wasReady) {
      ctx.logger.info("CloudShell is Ready", { url });
      this.#d.events.event(cs, "Normal", "Ready", desired.ready.message);
      const created = Date.parse(cs.metadata.creationTimestamp ?? "");
      if (!Number.isNaN(created)) this.#d.onReady?.((this.#now() - created) / 1000);
    }
    return requeue;
  }

  /**
   * How the shell's Job ended, with the launcher's report from its pod; "wait" while the Job is finished
   * but its pod's final status has not reached the cache yet (for a few seconds at most).
   */
  #jobEnded(job: JobLike): JobOutcome | "wait" | undefined {
    if (!jobOutcome(job)) return undefined;
    const pods = this.#d.pods.byLabel(OWNER_LABEL, job.metadata.labels?.[OWNER_LABEL] ?? "")
      .filter((p) => p.metadata.namespace === job.metadata.namespace);
    const end = terminalEnd(pods, job);
    if (end === undefined) {
      const finished = Math.max(
        ...(job.status?.conditions ?? []).map((c) => Date.parse(c.lastTransitionTime ?? "") || 0),
      );
      if (this.#now() - finished < POD_REPORT_WAIT_LIMIT_MS) return "wait";
    }
    return jobOutcome(job, end ?? undefined);
  }

  /**
   * An Event when the TTL of a running shell moved its end (the user raised or lowered it, or an
   * administrator's maximum changed). The status already records the old end; this reconcile writes
   * the new one, so each change is told once.
   */
  #announceTtlChange(
    cs: CloudShell,
    status: CloudShellStatus | undefined,
    expiresAt: number | undefined,
    ttl: number | undefined,
  ): void {
    const before = status?.expirationTime;
    if (!before || !status?.phase) return;
    const after = expiresAt === undefined ? undefined : rfc3339(expiresAt);
    if (after === before) return;
    const later = after === undefined || Date.parse(after) > Date.parse(before);
    this.#d.events.event(
      cs,
      "Normal",
      later ? Reasons.ttlExtended : Reasons.ttlShortened,
      after === undefined
        ? `The session no longer has a TTL (it was to end at ${before})`
        : `The session now ends at ${after} (TTL ${ttl}s; it was to end at ${before})`,
    );
  }

  /** The cached status, or the one we wrote if the cache has not caught up with it yet. */
  #currentStatus(key: string, cs: CloudShell): CloudShellStatus | undefined {
    const written = this.#written.get(key);
    if (!written) return cs.status;
    const stale = written.uid !== cs.metadata.uid ||
      written.resourceVersion === cs.metadata.resourceVersion ||
      this.#now() - written.at > WRITTEN_STATUS_TTL_MS;
    if (stale) {
      this.#written.delete(key);
      return cs.status;
    }
    return written.status;
  }

  #job(key: string, cs: CloudShell): JobLike | undefined {
    const job = this.#createdJobs.resolve(
      key,
      this.#d.jobs.get(cs.metadata.namespace, childName(cs.metadata.name!)),
    );
    return job && isOwnedBy(job, cs) ? job : undefined;
  }

  /**
   * A shell that names a Secret or ConfigMap gets no new Job while the admission policy that checks its
   * creator may read them is not in force: without it, anyone who may create a CloudShell could read any
   * Secret of the namespace through the terminal. A Job already running is left alone.
   *
   * A spec refused this way stays refused when the policy comes back: it was admitted unchecked. Once
   * someone changes the spec (or creates the shell again), the policy checks every name it holds, and
   * the refusal, recorded for this generation in the status that only the operator writes, no longer
   * applies.
   */
  async #admissionProblem(key: string, cs: CloudShell): Promise<Problem | undefined> {
    const check = this.#d.admissionPolicy;
    if (!check) return undefined;
    const spec = cs.spec ?? {};
    const secretStore = this.#d.gates.enabled(ALLOW_SECRET_STORE_KUBECONFIG);
    if (!needsAdmissionPolicy(spec, kubeconfigSourceOf(spec, cs.metadata.name!, secretStore))) {
      return undefined;
    }
    const what = `This CloudShell names a Secret or ConfigMap (or a plain ${CREDENTIAL_ENV}), and`;
    const ready = this.#currentStatus(key, cs)?.conditions?.find((c) => c.type === "Ready");
    if (ready?.reason === ADMISSION_POLICY_MISSING && ready.observedGeneration === cs.metadata.generation) {
      return {
        reason: ADMISSION_POLICY_MISSING,
        message:
          `${what} this spec was admitted while the admission policy was not in force, so no one checked ` +
          "that its author may read them: change the spec or create the CloudShell again, and the policy checks it",
        retry: false,
      };
    }
    const state = await check.state();
    if (state.inForce) return undefined;
    // Not read yet, and the API server did not answer: retried quietly, like any request that failed.
    if (state.unknown) throw new Error(`Cannot tell whether the admission policy is in force: ${state.why}`);
    return {
      reason: ADMISSION_POLICY_MISSING,
      message:
        `${what} the admission policy that checks its author may read them is not in force: ${state.why}. ` +
        "The operator starts no terminal for it; an administrator installs the policy (deploy/admission_policy.yaml)",
      retry: false,
    };
  }

  /** Renders the shell's Job, once its template and kubeconfig are there. */
  #prepareJob(
    cs: CloudShell,
    ttl: number | undefined,
    creator: Creator | undefined,
    session: SessionFacts,
  ): PreparedJob | Problem {
    const template = this.#d.templates.current();
    if (!template.ok) return { reason: Reasons.templateInvalid, message: template.reason, retry: true };
    let kubeconfig = this.#kubeconfigSource(cs);
    if (creator && kubeconfig.kind === "ServiceAccount") {
      kubeconfig = {
        ...kubeconfig,
        kubeconfig: identityKubeconfig(creator, this.#d.settings.identity!.apiServer, cs.metadata.namespace!),
      };
    }
    const plan = credentialPlan(cs.spec ?? {}, this.#d.settings.credentialMode ?? "none");
    if ("reason" in plan) return { ...plan, retry: false };
    const login = loginFor(plan);
    const { defaultImage, terminal } = this.#d.settings;
    const renderWith = (secret?: string): JobLike | Problem => {
      try {
        return renderJob(template.template, cs, kubeconfig, defaultImage, ttl, terminal, secret, session);
      } catch (err) {
        return {
          reason: Reasons.templateInvalid,
          message: `The Job template (${template.origin}) does not render for this CloudShell: ${
            errorMessage(err)
          }`,
          retry: false,
        };
      }
    };
    // A CloudTTY-style template starts ttyd itself, without the login: a terminal that was meant to have
    // one does not start at all (its status would claim a login that is not there).
    if (plan.kind !== "none" && !template.template.variables.includes("Launcher")) {
      return {
        reason: "LoginNotApplied",
        message:
          `This terminal is to have a login, and the Job template (${template.origin}) does not run the ` +
          "operator's launcher ({{ .Launcher }}), which gives ttyd the login; an administrator updates the template",
        retry: false,
      };
    }
    // Rendered before the Secret exists, so a template that fails never leaves Secrets behind.
    const job = renderWith(login && "pending");
    if ("reason" in job) return job;
    const idle = effectiveIdleTimeout(cs.spec ?? {}, this.#policy);
    if (idle.cappedFrom !== undefined) {
      this.#d.events.event(
        cs,
        "Warning",
        Reasons.idleTimeoutCapped,
        `The idle timeout of ${idle.cappedFrom}s is above the maximum of ${idle.seconds}s an administrator set; ` +
          `the session ends after ${idle.seconds}s without a client`,
      );
    }
    return {
      job,
      kubeconfig,
      login: login && { login, generated: plan.kind === "generated" },
      render: renderWith,
      origin: template.origin,
      creator,
    };
  }

  /**
   * The Secret with the terminal's login: the one this shell's status already names when it holds the same
   * login (the status is written by the operator alone), else a new one under a generated name, so never
   * an object that existed. One Secret per shell and login, however often the operator restarts or the Job
   * is made again. Its name carries a fingerprint of the login (a digest with the shell's UID, of a value
   * the spec holds in plain anyway), so a changed TTYD_CREDENTIAL gets a new Secret.
   */
  async #credentialSecret(cs: CloudShell, login: Login, generated: boolean): Promise<string> {
    const key = keyFor(cs.metadata.namespace, cs.metadata.name!);
    const uid = cs.metadata.uid!;
    // A digest, so this process never keeps a user's password; a generated login is any generated login.
    const fingerprint = generated
      ? "g"
      : (await sha256(`${uid}\u0000${login.username}:${login.password}`)).slice(0, 10);
    const made = this.#loginSecrets.get(key);
    if (made && made.uid === uid && made.login === fingerprint) return made.name;
    const prefix = `${childName(cs.metadata.name!)}-login-${fingerprint}-`;
    const recorded = this.#currentStatus(key, cs)?.credentialSecretName;
    const name = recorded?.startsWith(prefix)
      ? recorded
      : (await this.#d.client.create(Resources.secrets, buildCredentialSecret(cs, login, prefix))).metadata
        .name!;
    this.#loginSecrets.set(key, { uid, login: fingerprint, name });
    return name;
  }

  /** The login Secret this process made for the shell (not yet in its status when its Job failed). */
  #madeLoginSecret(cs: CloudShell): string | undefined {
    const made = this.#loginSecrets.get(keyFor(cs.metadata.namespace, cs.metadata.name!));
    return made?.uid === cs.metadata.uid ? made?.name : undefined;
  }

  /**
   * The shell's NetworkPolicy, when the administrator asked for them. One that exists and is not this
   * shell's (a namesake's, or made to look like ours) could admit anyone: ChildConflict, never adopted.
   */
  async #ensureNetworkPolicy(cs: CloudShell): Promise<void> {
    const sources = this.#d.settings.networkPolicy;
    if (!wantsNetworkPolicy(sources)) return;
    const cached = this.#d.networkPolicies?.get(cs.metadata.namespace, childName(cs.metadata.name!));
    if (cached && isOwnedBy(cached, cs)) return;
    await ensureChild(this.#d.client, Resources.networkPolicies, buildNetworkPolicy(cs, sources), cs);
  }

  /**
   * Creates the Job (or finds this shell's own), with the ServiceAccount before it and the RoleBinding
   * beside it. Throws ChildConflict when any of them has a namesake that is not this shell's.
   */
  async #createJob(cs: CloudShell, prepared: PreparedJob, ctx: ReconcileContext): Promise<JobLike> {
    const ns = cs.metadata.namespace!;
    const { kubeconfig, origin } = prepared;
    let job = prepared.job;
    const ownAccount = kubeconfig.kind === "ServiceAccount";
    const client = this.#d.client;
    // The pod's ServiceAccount must exist before the Job controller creates the pod; the binding
    // only before anyone uses the token, so it goes out together with the Job.
    if (ownAccount) await ensureServiceAccount(client, cs);
    // The fence goes up before the terminal does.
    await this.#ensureNetworkPolicy(cs);
    let binding = !ownAccount
      ? Promise.resolve()
      : prepared.creator
      ? this.#ensureGrant(cs, prepared.creator)
      : ensureRoleBinding(client, cs, this.#d.settings.clusterRole);
    let credentialSecret: string | undefined;
    if (prepared.login) {
      // The login Secret comes last, right before the Job: a shell whose account or binding has a namesake
      // in the way never gets one.
      await binding;
      binding = Promise.resolve();
      credentialSecret = await this.#credentialSecret(cs, prepared.login.login, prepared.login.generated);
      const rendered = prepared.render(credentialSecret);
      // The same template rendered a moment ago; only the Secret's name differs.
      if ("reason" in rendered) throw new Error(rendered.message);
      job = rendered;
    }
    const [made, bound] = await Promise.allSettled([ensureChild(client, Resources.jobs, job, cs), binding]);
    if (bound.status === "rejected") {
      // A binding of that name that is not ours may grant the account anything: the terminal must not run.
      if (made.status === "fulfilled") {
        await this.#deleteIgnoringMissing(Resources.jobs, ns, job.metadata.name!);
      }
      throw bound.reason;
    }
    if (made.status === "rejected") throw made.reason;
    // Kept slim, like the informer's copies: a full Job with its pod template is several kilobytes.
    this.#createdJobs.remember(keyFor(ns, cs.metadata.name!), slimJob(made.value));
    ctx.logger.info("Created Job", {
      job: made.value.metadata.name,
      template: origin,
      login: credentialSecret !== undefined,
    });
    return made.value;
  }

  /** Identity mode applies to this shell: it has no kubeconfig of its own, so it gets its creator's identity. */
  #actsAsCreator(cs: CloudShell): boolean {
    if (!this.#d.settings.identity) return false;
    const spec = cs.spec ?? {};
    const source = kubeconfigSourceOf(
      spec,
      cs.metadata.name!,
      this.#d.gates.enabled(ALLOW_SECRET_STORE_KUBECONFIG),
    );
    return source.kind === "ServiceAccount";
  }

  /**
   * For CloudTTY's `kubectl exec` and `kubectl logs` uses, whether the terminal's identity may reach what the
   * command names (access_review.ts); a Problem when it may not, so no terminal starts that could only print
   * Forbidden. The identity is the creator in identity mode, else the shell's ServiceAccount, whose binding
   * must then exist first. A shell with its own kubeconfig is not checked: its identity is not known here.
   */
  async #checkTarget(cs: CloudShell, creator: Creator | undefined): Promise<Problem | undefined> {
    const ns = cs.metadata.namespace!;
    const target = terminalTarget(cs.spec?.commandAction ?? "", ns);
    if (!target) return undefined;
    const source = kubeconfigSourceOf(
      cs.spec ?? {},
      cs.metadata.name!,
      this.#d.gates.enabled(ALLOW_SECRET_STORE_KUBECONFIG),
    );
    if (source.kind !== "ServiceAccount") return undefined;
    const checks = accessChecks(target);
    const command = `kubectl ${target.verb} ${target.object}`;
    if (creator) {
      const denied = await firstDenied(this.#d.client, creator, checks);
      if (!denied) return undefined;
      return {
        reason: TARGET_FORBIDDEN,
        message: `${creator.username} may not ${describeCheck(denied)}, which \`${command}\` needs, so the ` +
          "terminal would only print Forbidden. Ask an administrator for that right, then create the CloudShell again",
        retry: false,
      };
    }
    const client = this.#d.client;
    await ensureServiceAccount(client, cs);
    await ensureRoleBinding(client, cs, this.#d.settings.clusterRole);
    const account = serviceAccountUser(ns, source.serviceAccountName);
    let denied = await firstDenied(client, account, checks);
    // RBAC learns of a new binding from its informer, a moment after the binding was created.
    for (let i = 0; denied && i < 4; i++) {
      await new Promise((r) => setTimeout(r, 250));
      denied = await firstDenied(client, account, checks);
    }
    if (!denied) return undefined;
    return {
      reason: TARGET_FORBIDDEN,
      message: `The terminal runs as ServiceAccount ${source.serviceAccountName}, bound to ClusterRole ` +
        `${this.#d.settings.clusterRole} in namespace ${ns}, which may not ${describeCheck(denied)}, which ` +
        `\`${command}\` needs. Ask an administrator for identity mode (--terminal-identity=creator: the ` +
        "terminal acts as you, with your rights) or a --kubeconfig-clusterrole that allows it, or give the " +
        "CloudShell a kubeconfig in spec.secretRef",
      retry: false,
    };
  }

  /**
   * Identity mode acts on spec.creator, which only the policy cloudshell-creator-record keeps the requester's
   * own: while it is not in force, a recorded creator may have been written by anyone, and no terminal starts
   * on it. Retried with backoff, so shells start once an administrator installs the policy.
   */
  async #creatorPolicyProblem(): Promise<Problem | undefined> {
    const check = this.#d.creatorPolicy;
    if (!check) return undefined;
    const state = await check.state();
    if (state.inForce) return undefined;
    if (state.unknown) throw new Error(`Cannot tell whether the creator policy is in force: ${state.why}`);
    return {
      reason: IdentityReasons.creatorPolicyMissing,
      message:
        "The terminal would act as spec.creator, and the admission policy that keeps that record the " +
        `requester's own is not in force: ${state.why}. The operator starts no terminal for it until an ` +
        "administrator installs deploy/admission_policy.yaml",
      retry: true,
    };
  }

  /** Adds the finalizer (if missing) and returns the shell as the API server now has it. */
  async #holdFinalizer(cs: CloudShell): Promise<CloudShell> {
    const finalizers = cs.metadata.finalizers ?? [];
    if (finalizers.includes(FINALIZER)) return cs;
    return await this.#d.client.patch<CloudShell>(CloudShells, cs.metadata.namespace, cs.metadata.name!, {
      metadata: { resourceVersion: cs.metadata.resourceVersion, finalizers: [...finalizers, FINALIZER] },
    }, "merge");
  }

  /**
   * The shell's ClusterRole that may impersonate exactly its creator, bound to its ServiceAccount. Both carry
   * the shell's UID in their name and a label; a namesake without that label is someone else's: ChildConflict.
   */
  async #ensureGrant(cs: CloudShell, creator: Creator): Promise<void> {
    const ensure = async (type: ResourceType, desired: KubeObject) => {
      try {
        await this.#d.client.create(type, desired);
        return;
      } catch (err) {
        if (!isAlreadyExists(err)) throw err;
      }
      const existing = await this.#d.client.get<KubeObject>(type, undefined, desired.metadata.name!);
      if (!isGrantOf(existing, cs)) throw new ChildConflict(type.kind, "", desired.metadata.name!);
    };
    await ensure(Resources.clusterRoles, buildImpersonationRole(cs, creator));
    await ensure(Resources.clusterRoleBindings, buildImpersonationBinding(cs));
  }

  /** Takes the shell's impersonation grant away (binding first); nothing to do when it is gone already. */
  async #revokeGrant(cs: CloudShell): Promise<void> {
    for (const type of [Resources.clusterRoleBindings, Resources.clusterRoles]) {
      try {
        await this.#d.client.delete(type, undefined, grantName(cs));
      } catch (err) {
        if (!isNotFound(err)) throw err;
      }
    }
  }

  /**
   * Where the terminal's kubeconfig comes from. A named Secret or ConfigMap is not read, not even its
   * metadata: the operator holds no right to read tenants' Secrets (deploy/README.md). The kubelet mounts
   * it; until it exists the pod waits in ContainerCreating, and the shell's WaitingForPod says so.
   */
  #kubeconfigSource(cs: CloudShell): KubeconfigSource {
    const spec = cs.spec ?? {};
    const secretStore = this.#d.gates.enabled(ALLOW_SECRET_STORE_KUBECONFIG);
    const secret = spec.secretRef?.name;
    const configMap = spec.configmapName;
    if (secretStore && configMap && !secret) {
      this.#d.events.event(
        cs,
        "Warning",
        "ConfigMapKubeconfigIgnored",
        `configmapName is ignored while the feature gate ${ALLOW_SECRET_STORE_KUBECONFIG} is on; use secretRef`,
      );
    }
    if (!secretStore && secret && !configMap) {
      this.#d.events.event(
        cs,
        "Warning",
        "SecretKubeconfigIgnored",
        `secretRef is ignored while the feature gate ${ALLOW_SECRET_STORE_KUBECONFIG} is off; use configmapName`,
      );
    }
    return kubeconfigSourceOf(spec, cs.metadata.name!, secretStore);
  }

  /** Why a shell may wait for its pod, naming the kubeconfig it mounts (the usual culprit when it is missing). */
  #waitingMessage(cs: CloudShell): string {
    const source = kubeconfigSourceOf(
      cs.spec ?? {},
      cs.metadata.name!,
      this.#d.gates.enabled(ALLOW_SECRET_STORE_KUBECONFIG),
    );
    const waiting = "Waiting for the terminal pod to become Ready";
    if (source.kind === "ServiceAccount") return waiting;
    return `${waiting}; it mounts the kubeconfig from ${source.kind} ${source.name} (key "config") and ` +
      `cannot start before that exists: kubectl describe pod -l ${OWNER_LABEL}=${cs.metadata.name}`;
  }

  /** Raises (or drops) the Job's backstop deadline when the TTL of a live shell changed. */
  async #extendDeadline(job: JobLike, ttl: number | undefined): Promise<void> {
    if (job.metadata.annotations?.[TTL_DEADLINE_ANNOTATION] !== "true") return;
    const current = job.spec?.activeDeadlineSeconds;
    if (current === undefined || current === null) return;
    const wanted = activeDeadlineSecondsFor(ttl ?? 0);
    if (wanted === current) return;
    await this.#d.client.patch(Resources.jobs, job.metadata.namespace, job.metadata.name!, {
      spec: { activeDeadlineSeconds: wanted },
    }, "merge");
  }

  /**
   * Keeps the session annotations of the Job's running pod current, so the launcher warns at the right
   * time after the TTL or idle timeout of a live shell changed. The pod was created with them: this
   * writes only after such a change.
   */
  async #updateSession(job: JobLike, session: SessionFacts): Promise<void> {
    const wanted = sessionAnnotations(session);
    const pods = this.#d.pods.byLabel(OWNER_LABEL, job.metadata.labels?.[OWNER_LABEL] ?? "").filter((p) =>
      p.metadata.namespace === job.metadata.namespace && !p.metadata.deletionTimestamp &&
      p.metadata.ownerReferences?.some((r) => r.uid === job.metadata.uid) &&
      (p.status?.phase === "Running" || p.status?.phase === "Pending")
    );
    for (const pod of pods) {
      const patch = sessionAnnotationsPatch(pod.metadata.annotations, wanted);
      if (!patch) continue;
      try {
        await this.#d.client.patch(Resources.pods, pod.metadata.namespace, pod.metadata.name!, {
          metadata: { annotations: patch },
        }, "merge");
      } catch (err) {
        if (!isNotFound(err)) throw err;
      }
    }
  }

  /** The shell's Service, of the type its mode needs and selecting its Job's pods. */
  async #ensureService(cs: CloudShell, mode: string, job: JobLike): Promise<ServiceLike> {
    const ns = cs.metadata.namespace!;
    const name = childName(cs.metadata.name!);
    const key = keyFor(ns, cs.metadata.name!);
    const jobSelector = job.spec?.selector?.matchLabels;
    const cached = this.#createdServices.resolve(key, this.#d.services.get(ns, name));
    let service = cached && isOwnedBy(cached, cs) ? cached : undefined;
    if (!service) {
      service = await ensureChild(
        this.#d.client,
        Resources.services,
        buildService(cs, mode, jobSelector),
        cs,
      );
      this.#createdServices.remember(key, slimService(service));
    }
    const type = serviceTypeFor(mode);
    const selector = serviceSelector(cs, jobSelector);
    const patch: ServiceLike["spec"] = {};
    // The exposure mode changed between NodePort and the others: switch the type, keep the ClusterIP.
    if (service.spec?.type !== type) {
      Object.assign(patch, { type, ports: buildService(cs, mode, jobSelector).spec!.ports });
    }
    // A Service made before the selector named the Job (or for a Job since replaced): select this Job's pods.
    const current = service.spec?.selector ?? {};
    const stale = Object.keys(current).some((k) => !(k in selector)) ||
      Object.entries(selector).some(([k, v]) => current[k] !== v);
    if (stale) {
      const removed = Object.fromEntries(
        Object.keys(current).filter((k) => !(k in selector)).map((k) => [k, null]),
      );
      patch.selector = { ...removed, ...selector } as Record<string, string>;
    }
    if (Object.keys(patch).length === 0) return service;
    return await this.#d.client.patch<ServiceLike>(Resources.services, ns, name, { spec: patch }, "merge");
  }

  /**
   * Adds the shell's path to the shared Ingress or VirtualService, recording it in the status (and
   * a finalizer, so it is removed again) first; removes a route the shell no longer wants. The
   * record lives in the status because the creator of a CloudShell cannot write it: what the
   * operator takes out of shared objects is never decided by a tenant (and even there, only
   * entries leading to the shell's own Service are touched).
   */
  async #ensureRoute(
    cs: CloudShell,
    want: DesiredRoute | undefined,
    status: CloudShellStatus | undefined,
  ): Promise<true | Problem> {
    const recorded = recordedRoute(status?.route);
    const legacy = legacyRouteHint(cs);
    const wantEncoded = want ? encodeRouteRef(want) : undefined;
    const recordedEncoded = recorded ? encodeRouteRef(recorded) : undefined;
    const backend = routeBackend(cs.metadata.namespace!, cs.metadata.name!);
    for (const old of [recorded, legacy]) {
      if (old && encodeRouteRef(old) !== wantEncoded) await this.#d.routes.remove(old, backend);
    }
    if (!want) {
      if (recorded || legacy) await this.#setRouteRecord(cs, status, undefined, this.#actsAsCreator(cs));
      return true;
    }
    if (recordedEncoded !== wantEncoded || legacy) {
      await this.#setRouteRecord(cs, status, want, this.#actsAsCreator(cs));
    }
    // Recorded (by us, or by the previous version) and reported Ready before: the route was written then.
    const written = recordedEncoded === wantEncoded || (legacy && encodeRouteRef(legacy) === wantEncoded);
    if (written && status?.phase === "Ready") return true;
    try {
      await this.#d.routes.ensure(want);
      return true;
    } catch (err) {
      if (err instanceof RouteError) return { reason: err.reason, message: err.message, retry: true };
      throw err;
    }
  }

  /**
   * Records the route a shell owns in its status and keeps the finalizer in step with it: the
   * finalizer first and the record after it when a route is added, the other way round when it
   * goes. Shells without a route need no finalizer: their children go by garbage collection, so
   * deleting them never waits on the operator (unless `keepFinalizer`: an identity grant, which is not
   * owned, still has to go). The previous version's annotation is dropped.
   */
  async #setRouteRecord(
    cs: CloudShell,
    status: CloudShellStatus | undefined,
    ref: RouteRef | undefined,
    keepFinalizer = false,
  ): Promise<void> {
    const key = keyFor(cs.metadata.namespace, cs.metadata.name!);
    const metadata = async () => {
      const finalizers = (cs.metadata.finalizers ?? []).filter((f) => f !== FINALIZER);
      if (ref || (keepFinalizer && cs.metadata.finalizers?.includes(FINALIZER))) finalizers.push(FINALIZER);
      const changed = finalizers.length !== (cs.metadata.finalizers ?? []).length ||
        cs.metadata.annotations?.[ROUTE_ANNOTATION] !== undefined;
      if (!changed) return;
      await this.#d.client.patch(CloudShells, cs.metadata.namespace, cs.metadata.name!, {
        metadata: {
          resourceVersion: cs.metadata.resourceVersion,
          finalizers,
          ...(cs.metadata.annotations?.[ROUTE_ANNOTATION] === undefined
            ? {}
            : { annotations: { [ROUTE_ANNOTATION]: null } }),
        },
      }, "merge");
    };
    const record = async () => {
      const route = ref ? routeRecord(ref) : undefined;
      if (encodeRecord(status?.route) === encodeRecord(route)) return;
      const updated = await this.#d.client.patch<CloudShell>(
        CloudShells,
        cs.metadata.namespace,
        cs.metadata.name!,
        { status: { route: route ?? null } },
        "merge",
        { subresource: "status" },
      );
      const next: CloudShellStatus = { ...status };
      if (route) next.route = route;
      else delete next.route;
      this.#written.set(key, {
        uid: cs.metadata.uid!,
        resourceVersion: updated.metadata.resourceVersion ?? "",
        status: next,
        at: this.#now(),
      });
    };
    if (ref) {
      await metadata();
      await record();
      this.#recordedRoutes.set(key, ref);
    } else {
      await record();
      await metadata();
      this.#recordedRoutes.delete(key);
    }
  }

  /** Scans the cached nodes, so it is only asked for NodePort URLs. */
  #nodeHost(): string | undefined {
    return this.#d.settings.nodePortHost ?? nodePortAddress(this.#d.nodes?.list() ?? []);
  }

  /** Ends a shell: its Job, Service and route go, and it is deleted (cleanup) or marked Complete/Failed. */
  async #end(
    cs: CloudShell,
    job: JobLike | undefined,
    outcome: { phase: "Complete" | "Failed"; reason: string; message: string },
  ): Promise<Result> {
    const ns = cs.metadata.namespace!;
    // An idle shell was ended although its user may have meant to come back: as loud as a failure.
    const type = outcome.phase === "Failed" || outcome.reason === Reasons.idleTimeout ? "Warning" : "Normal";
    if (job && !jobOutcome(job) && !job.metadata.deletionTimestamp) {
      await this.#deleteIgnoringMissing(Resources.jobs, ns, job.metadata.name!);
    }
    if (cs.spec?.cleanup) {
      // Deleting it runs the finalizer path, which removes any route entry.
      await this.#deleteIgnoringMissing(CloudShells, ns, cs.metadata.name!);
      this.#d.events.event(
        cs,
        type,
        outcome.reason,
        `${outcome.message}; deleting the CloudShell (cleanup)`,
      );
      return {};
    }
    await this.#writeStatus(cs, {
      phase: outcome.phase,
      // The Service is going: its node port or cluster IP may soon be another shell's.
      accessUrl: "",
      lastScheduleTime: job?.metadata.creationTimestamp,
      // The session is over: it ended now (at its TTL, or earlier).
      expirationTime: rfc3339(this.#now()),
      ready: { status: "False", reason: outcome.reason, message: outcome.message },
    });
    this.#d.events.event(cs, type, outcome.reason, outcome.message);
    return await this.#ended(cs);
  }

  /** After the end: nothing of the shell keeps running or routing, and cleanup shells are deleted. */
  async #ended(cs: CloudShell): Promise<Result> {
    const ns = cs.metadata.namespace!;
    if (cs.spec?.cleanup) {
      await this.#deleteIgnoringMissing(CloudShells, ns, cs.metadata.name!);
      return {};
    }
    const service = this.#d.services.get(ns, childName(cs.metadata.name!));
    if (service && isOwnedBy(service, cs)) {
      await this.#deleteIgnoringMissing(Resources.services, ns, service.metadata.name!);
    }
    // An ended terminal keeps no right to act as its creator; the finalizer held for the grant goes below.
    if (this.#d.settings.identity && cs.metadata.finalizers?.includes(FINALIZER)) await this.#revokeGrant(cs);
    await this.#releaseRoutes(cs);
    return {};
  }

  /** Deletion: remove route entries, then our finalizer; owned objects go by garbage collection. */
  async #finalize(cs: CloudShell): Promise<Result> {
    if (!cs.metadata.finalizers?.includes(FINALIZER)) return {};
    const key = keyFor(cs.metadata.namespace, cs.metadata.name!);
    if (this.#d.settings.identity) await this.#revokeGrant(cs);
    await this.#removeRoutes(cs, routeRefsToRemove(cs, this.#currentStatus(key, cs), this.#policy));
    this.#recordedRoutes.delete(key);
    const finalizers = cs.metadata.finalizers.filter((f) => f !== FINALIZER);
    try {
      await this.#d.client.patch(CloudShells, cs.metadata.namespace, cs.metadata.name!, {
        metadata: { resourceVersion: cs.metadata.resourceVersion, finalizers },
      }, "merge");
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
    return {};
  }

  /** Removes the shell's route entries and, with them, its record and finalizer. */
  async #releaseRoutes(cs: CloudShell): Promise<void> {
    const status = this.#currentStatus(keyFor(cs.metadata.namespace, cs.metadata.name!), cs);
    const refs = routeRefsToRemove(cs, status, this.#policy);
    if (refs.length === 0 && !cs.metadata.finalizers?.includes(FINALIZER)) return;
    await this.#removeRoutes(cs, refs);
    await this.#setRouteRecord(cs, status, undefined);
  }

  /** Takes out the shell's entries (those leading to its own Service) wherever `refs` point. */
  async #removeRoutes(cs: CloudShell, refs: RouteRef[]): Promise<void> {
    const backend = routeBackend(cs.metadata.namespace!, cs.metadata.name!);
    for (const ref of refs) await this.#d.routes.remove(ref, backend);
  }

  async #deleteIgnoringMissing(
    type: typeof Resources.jobs | typeof CloudShells | typeof Resources.services,
    ns: string,
    name: string,
  ): Promise<void> {
    try {
      await this.#d.client.delete(type, ns, name, { propagationPolicy: "Background" });
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
  }

  /**
   * Reports a problem as `Ready=False` with an Event; retries with backoff if it may fix itself. The phase
   * stays as it was unless the caller knows better, except that a shell with a problem is no longer
   * `Ready` and its URL, which may no longer lead anywhere, is withdrawn. A caller whose shell's Job runs
   * passes its phase and when it started and ends, so the status's times stay current while the problem lasts.
   */
  async #report(
    cs: CloudShell,
    problem: Problem,
    running?: { phase: Phase; startedAt: string | undefined; expiresAt: number | undefined },
  ): Promise<Result> {
    const status = this.#currentStatus(keyFor(cs.metadata.namespace, cs.metadata.name!), cs);
    const current = status?.phase === "Ready" ? "CreatedJob" : status?.phase;
    const expirationTime = !running
      ? status?.expirationTime
      : running.expiresAt === undefined
      ? undefined
      : rfc3339(running.expiresAt);
    await this.#writeStatus(cs, {
      // A shell refused before it got a phase is Pending: not started, waiting for a fix.
      phase: running?.phase ?? (current || "Pending"),
      accessUrl: "",
      // A login Secret made for a Job that was then refused: named, so the next try (in this process or
      // after a restart) uses it again instead of making another.
      credentialSecretName: this.#madeLoginSecret(cs),
      lastScheduleTime: running?.startedAt,
      expirationTime,
      ready: { status: "False", reason: problem.reason, message: problem.message },
    });
    this.#d.events.event(cs, "Warning", problem.reason, problem.message);
    return problem.retry ? { backoff: true } : {};
  }

  /** Writes status through the status subresource, only when it changed. */
  async #writeStatus(cs: CloudShell, desired: DesiredStatus): Promise<void> {
    const key = keyFor(cs.metadata.namespace, cs.metadata.name!);
    const current = this.#currentStatus(key, cs);
    const next = buildStatus(current, desired, cs.spec ?? {}, cs.metadata.generation, new Date(this.#now()));
    if (!statusChanged(current, next)) return;
    try {
      // A merge patch of the whole status: the operator is its only writer, so no precondition is
      // needed, and a concurrent spec edit by a user cannot make it fail with a conflict.
      const updated = await this.#d.client.patch<CloudShell>(
        CloudShells,
        cs.metadata.namespace,
        cs.metadata.name!,
        // A merge patch keeps fields it does not name: a dropped end time is removed explicitly.
        {
          status: current?.expirationTime && !next.expirationTime ? { ...next, expirationTime: null } : next,
        },
        "merge",
        { subresource: "status" },
      );
      this.#written.set(key, {
        uid: cs.metadata.uid!,
        resourceVersion: updated.metadata.resourceVersion ?? "",
        status: next,
        at: this.#now(),
      });
    } catch (err) {
      if (isNotFound(err)) return;
      if (isConflict(err)) throw new Error("Status write conflicted; retrying", { cause: err });
      throw err;
    }
  }
}

async function sha256(text: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
}

/** A route record in a comparable form (its key order may differ between our copy and the server's). */
function encodeRecord(record: CloudShellStatus["route"]): string {
  return record ? JSON.stringify([record.kind, record.namespace, record.name, record.path]) : "";
}
