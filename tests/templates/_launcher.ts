/**
 * Running the launcher (templates/launcher.sh) with the real, pinned ttyd, as the built-in template runs
 * it: `/bin/sh -c <launcher> cloudshell-launcher <ttyd flags>` with COMMAND in the environment, on a free
 * loopback port. The session files the operator's downward API volume would hold, and the termination
 * message file the kubelet would bind, are in a temporary directory the test can read and change.
 */
import { ttydBinaries } from "../harness/commands.ts";
import { freePort, spawnGuarded } from "../harness/process.ts";
import { LAUNCHER_SCRIPT } from "../../controller/cloudshell/template/mod.ts";

/** A running launcher. */
export interface Launcher {
  /** `127.0.0.1:<port>` */
  page: string;
  pid: number;
  status: Promise<Deno.CommandStatus>;
  /** The directory of the session files (CLOUDSHELL_SESSION_DIR). */
  sessionDir: string;
  /** Writes one session file, as the kubelet does when an annotation changes. */
  setSession(name: string, value: string): Promise<void>;
  /** What the launcher wrote to its termination message file. */
  terminationMessage(): Promise<string>;
}

export interface LaunchOptions {
  env?: Record<string, string>;
  /** Initial session files (name -> content). */
  session?: Record<string, string>;
  /** Wait until ttyd serves its page (default true). */
  waitForPage?: boolean;
  /** The shell that runs the launcher (default /bin/sh). */
  shell?: string[];
  /** Directories put first on PATH, after ttyd's. */
  path?: string[];
  /** Receives what the launcher and ttyd wrote to stderr (the container log), once they stopped. */
  onLog?: (log: string) => void;
}

/** Starts the launcher, runs `fn`, then stops it with SIGTERM as a kubelet does and removes its files. */
export async function withLauncher(
  command: string,
  flags: string[],
  fn: (launcher: Launcher) => Promise<void>,
  opts: LaunchOptions = {},
): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "launcher-" });
  const sessionDir = `${dir}/session`;
  const terminationLog = `${dir}/termination-log`;
  await Deno.mkdir(sessionDir);
  await Deno.writeTextFile(terminationLog, "");
  const setSession = (name: string, value: string) => Deno.writeTextFile(`${sessionDir}/${name}`, value);
  for (const [name, value] of Object.entries(opts.session ?? {})) await setSession(name, value);
  const port = freePort();
  const path = [await ttydBinaries(), ...(opts.path ?? []), Deno.env.get("PATH")].join(":");
  const [program, ...shellArgs] = opts.shell ?? ["/bin/sh"];
  const args = [
    ...shellArgs,
    "-c",
    LAUNCHER_SCRIPT,
    "cloudshell-launcher",
    ...flags,
    "-p",
    String(port),
    "-i",
    "lo",
  ];
  // A launcher expected to exit at once may be gone before the guard could name its pid: run it directly.
  const spawn = opts.waitForPage === false
    ? (p: string, a: string[], o: Deno.CommandOptions) => {
      const child = new Deno.Command(p, { ...o, args: a }).spawn();
      return Promise.resolve({ child, pid: child.pid });
    }
    : spawnGuarded;
  const { child, pid } = await spawn(
    program,
    args,
    {
      stdout: "null",
      stderr: opts.onLog ? "piped" : "null",
      env: {
        PATH: path,
        COMMAND: command,
        PS1: "$ ",
        HOME: dir,
        CLOUDSHELL_SESSION_DIR: sessionDir,
        CLOUDSHELL_TERMINATION_LOG: terminationLog,
        ...opts.env,
      },
      clearEnv: true,
    },
  );
  const status = child.status;
  const log = opts.onLog ? new Response(child.stderr).text() : Promise.resolve("");
  try {
    const page = `127.0.0.1:${port}`;
    for (let i = 0; opts.waitForPage !== false && i < 200; i++) {
      const ok = await fetch(`http://${page}/`).then(
        async (r) => (await r.body?.cancel(), true),
        () => false,
      );
      if (ok) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    await fn({
      page,
      pid,
      status,
      sessionDir,
      setSession,
      terminationMessage: () => Deno.readTextFile(terminationLog),
    });
  } finally {
    await stop(pid, status);
    opts.onLog?.(await log);
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}

/**
 * SIGTERM, as a kubelet sends it: the launcher stops ttyd, and ttyd its sessions. A SIGKILL alone would
 * leave them running here (in a pod, the end of its PID namespace takes them along).
 */
async function stop(pid: number, status: Promise<Deno.CommandStatus>): Promise<void> {
  const descendants = descendantsOf(pid);
  signal(pid, "SIGTERM");
  let timer: ReturnType<typeof setTimeout> | undefined;
  const stopped = await Promise.race([
    status.then(() => true),
    new Promise<boolean>((resolve) => timer = setTimeout(() => resolve(false), 10_000)),
  ]);
  clearTimeout(timer);
  if (!stopped) { for (const p of [pid, ...descendants]) signal(p, "SIGKILL"); }
  await status;
}

/** The processes below `pid`, children first, read from /proc. */
export function descendantsOf(pid: number): number[] {
  let children: number[] = [];
  try {
    children = Deno.readTextFileSync(`/proc/${pid}/task/${pid}/children`).trim().split(/\s+/).filter(Boolean)
      .map(Number);
  } catch { /* gone */ }
  return children.flatMap((child) => [child, ...descendantsOf(child)]);
}

function signal(pid: number, sig: Deno.Signal): void {
  try {
    Deno.kill(pid, sig);
  } catch { /* already gone */ }
}
