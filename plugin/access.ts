/**
 * How a Ready shell is reached from the user's machine: the terminal pod a forward goes to, the URL to
 * open, and the login (from the shell's credential Secret, when the user may read it).
 */
import { childName, type CloudShell, OWNER_LABEL, TTYD_PORT } from "../controller/cloudshell/api.ts";
import {
  isForbidden,
  isNotFound,
  type KubeClient,
  type KubeObject,
  Resources,
} from "../controller/kube/mod.ts";
import { ExitCode, PluginError } from "./exit_codes.ts";
import { exposureMode } from "./shell.ts";

interface PodLike extends KubeObject {
  spec?: { containers?: { name: string; ports?: { name?: string; containerPort: number }[] }[] };
  status?: { phase?: string; conditions?: { type: string; status: string }[] };
}

/** The terminal pod and its ttyd port. */
export interface TerminalPod {
  name: string;
  port: number;
}

/**
 * The Ready terminal pod of a shell: labelled with the shell's name and controlled by the shell's Job
 * (`cloudshell-<name>`), so a pod someone else labelled is never the one a forward goes to.
 */
export async function terminalPod(client: KubeClient, cs: CloudShell): Promise<TerminalPod> {
  const name = cs.metadata.name!;
  const namespace = cs.metadata.namespace!;
  const pods = await client.list<PodLike>(Resources.pods, {
    namespace,
    labelSelector: `${OWNER_LABEL}=${name}`,
  });
  const job = childName(name);
  const ready = pods.items.filter((p) =>
    !p.metadata.deletionTimestamp &&
    p.metadata.ownerReferences?.some((o) => o.controller && o.kind === "Job" && o.name === job) &&
    p.status?.phase === "Running" &&
    p.status.conditions?.some((c) => c.type === "Ready" && c.status === "True")
  );
  const pod = ready.at(-1);
  if (!pod) {
    throw new PluginError(ExitCode.notReady, `cloudshell/${name} has no Ready terminal pod (Job ${job})`);
  }
  const ports = pod.spec?.containers?.flatMap((c) => c.ports ?? []) ?? [];
  const port = ports.find((p) => p.name === "tty-ui")?.containerPort ?? TTYD_PORT;
  return { name: pod.metadata.name!, port };
}

/** Whether the shell is opened through a forward: ClusterIP shells always, any shell on request. */
export function needsForward(cs: CloudShell, forward: boolean): boolean {
  return forward || exposureMode(cs.spec ?? {}) === "ClusterIP";
}

/**
 * The URL of the shell's own route (no forward): NodePort `host:port` and Ingress `host/path` get a
 * scheme; a bare path (no host) cannot be opened from here.
 */
export function routeUrl(cs: CloudShell): string {
  const url = cs.status?.accessUrl ?? "";
  if (url.startsWith("/")) {
    throw new PluginError(
      ExitCode.failure,
      `cloudshell/${cs.metadata.name}'s URL is only a path (${url}): its host is your Ingress or gateway's; ` +
        "use --forward to reach it through the API server",
    );
  }
  return /^[a-z]+:\/\//.test(url) ? url : `http://${url}`;
}

/** The URL of a local forward. */
export function forwardUrl(localPort: number): string {
  return `http://127.0.0.1:${localPort}/`;
}

/** A terminal login. */
export interface Login {
  username: string;
  password: string;
}

/** What is known of a shell's login. */
export type LoginInfo =
  | { kind: "none" }
  | { kind: "readable"; secret: string; login: Login }
  | { kind: "unreadable"; secret: string; why: string };

/** The login in the shell's credential Secret, if it has one and the user may read it. */
export async function readLogin(client: KubeClient, cs: CloudShell): Promise<LoginInfo> {
  const secret = cs.status?.credentialSecretName;
  if (!secret) return { kind: "none" };
  try {
    const got = await client.get<KubeObject & { data?: Record<string, string> }>(
      Resources.secrets,
      cs.metadata.namespace,
      secret,
    );
    const field = (k: string) =>
      new TextDecoder().decode(Uint8Array.from(atob(got.data?.[k] ?? ""), (c) => c.charCodeAt(0)));
    return { kind: "readable", secret, login: { username: field("username"), password: field("password") } };
  } catch (err) {
    if (isForbidden(err)) return { kind: "unreadable", secret, why: "you may not read it" };
    if (isNotFound(err)) return { kind: "unreadable", secret, why: "it does not exist" };
    throw err;
  }
}
