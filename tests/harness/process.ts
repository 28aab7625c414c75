/**
 * A supervised child process of the test control plane. Every process runs
 * under guard.sh, which kills it if the test process dies without cleaning up,
 * so no etcd or kube-apiserver is ever left behind.
 */

const GUARD = new URL("./guard.sh", import.meta.url).pathname;

/** One running binary with its log file. */
export class ManagedProcess {
  readonly name: string;
  readonly logPath: string;
  #child: Deno.ChildProcess | undefined;
  #status: Promise<Deno.CommandStatus> | undefined;
  readonly #argv: string[];

  constructor(name: string, argv: string[], logPath: string) {
    this.name = name;
    this.#argv = argv;
    this.logPath = logPath;
  }

  /** Starts the process, appending its output to the log file. */
  async start(): Promise<void> {
    if (this.#child) throw new Error(`${this.name} is already running`);
    const log = await Deno.open(this.logPath, { append: true, create: true, write: true });
    const child = new Deno.Command(GUARD, {
      args: [String(Deno.pid), ...this.#argv],
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    // Both streams go to one file; the writes are small enough not to interleave mid-line.
    const pump = async (stream: ReadableStream<Uint8Array>) => {
      for await (const chunk of stream) await log.write(chunk).catch(() => 0);
    };
    const pumps = Promise.all([pump(child.stdout), pump(child.stderr)]).catch(() => {});
    this.#child = child;
    this.#status = child.status.then(async (s) => {
      await pumps;
      log.close();
      return s;
    });
  }

  /** Whether the process has been started and not yet exited. */
  get running(): boolean {
    return this.#child !== undefined;
  }

  /** Resolves when the process exits (for crash detection while waiting for readiness). */
  exited(): Promise<Deno.CommandStatus> {
    if (!this.#status) throw new Error(`${this.name} was never started`);
    return this.#status;
  }

  /** Stops the process: SIGTERM, then SIGKILL after `graceMs`. */
  async stop(graceMs = 5_000): Promise<void> {
    const child = this.#child;
    const status = this.#status;
    if (!child || !status) return;
    try {
      child.kill("SIGTERM");
    } catch {
      // Already gone.
    }
    let timer: ReturnType<typeof setTimeout> | undefined;
    const killed = new Promise<void>((resolve) => {
      timer = setTimeout(() => {
        // The guard forwards SIGTERM but cannot forward SIGKILL: kill its child directly.
        new Deno.Command("pkill", { args: ["-KILL", "-P", String(child.pid)] }).output()
          .catch(() => undefined)
          .finally(() => {
            try {
              child.kill("SIGKILL");
            } catch {
              // Already gone.
            }
            resolve();
          });
      }, graceMs);
    });
    await Promise.race([status, killed]);
    await status;
    clearTimeout(timer);
    this.#child = undefined;
    this.#status = undefined;
  }

  /** The program's own pid (the guard runs it as a child), for /proc; undefined when not running. */
  async programPid(): Promise<number | undefined> {
    return this.#child ? await guardedPid(this.#child.pid) : undefined;
  }

  /** The last lines of the log, for error messages. */
  async tail(lines = 20): Promise<string> {
    const text = await Deno.readTextFile(this.logPath).catch(() => "");
    return text.trimEnd().split("\n").slice(-lines).join("\n");
  }
}

/** The lowest port a program may be given; below are well-known and registered services. */
const LOWEST_PORT = 10_000;

/**
 * A TCP port on loopback, free when asked (bound, then released), for a program that binds it itself.
 * It is chosen below the kernel's ephemeral range: a port from that range, once released, can become the
 * source port of any outgoing connection on the machine before the program binds it (etcd once failed
 * with "address already in use" so while parallel tests made connections); the kernel never hands out
 * the ports below it that way.
 */
export function freePort(): number {
  const below = ephemeralPortsStart();
  for (let attempt = 0; below > LOWEST_PORT && attempt < 100; attempt++) {
    const port = LOWEST_PORT + Math.floor(Math.random() * (below - LOWEST_PORT));
    try {
      Deno.listen({ hostname: "127.0.0.1", port }).close();
      return port;
    } catch (err) {
      if (!(err instanceof Deno.errors.AddrInUse)) throw err;
    }
  }
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
}

/** The first port of the kernel's ephemeral range (Linux's default where it cannot be read). */
function ephemeralPortsStart(): number {
  try {
    const first = Number(
      Deno.readTextFileSync("/proc/sys/net/ipv4/ip_local_port_range").trim().split(/\s+/)[0],
    );
    return Number.isInteger(first) ? first : 32_768;
  } catch {
    return 32_768;
  }
}

/** A process started under guard.sh, with the pid of the program itself (not of the guard). */
export interface GuardedProcess {
  /** The guard: its status is the program's, its streams the program's. */
  child: Deno.ChildProcess;
  /** The program's own pid, for signals and /proc. */
  pid: number;
}

/**
 * Starts `program` under guard.sh, so it dies with the test process even when
 * that is killed outright, and returns once the program's own pid is known.
 */
export async function spawnGuarded(
  program: string,
  args: string[],
  opts: Deno.CommandOptions = {},
): Promise<GuardedProcess> {
  const child = new Deno.Command(GUARD, { ...opts, args: [String(Deno.pid), program, ...args] }).spawn();
  for (let i = 0; i < 200; i++) {
    const pid = await guardedPid(child.pid);
    if (pid !== undefined) return { child, pid };
    await new Promise((r) => setTimeout(r, 10));
  }
  try {
    child.kill("SIGKILL");
  } catch {
    // The guard is gone already: the program exited at once (a bad flag, say); its status says how.
    const status = await child.status;
    throw new Error(`${program} exited at once under the guard, with code ${status.code}`);
  }
  throw new Error(`${program} did not start under the guard`);
}

/** The pid of the program a guard runs: its child that is not the `sleep` of its polling loop. */
async function guardedPid(guard: number): Promise<number | undefined> {
  const out = await new Deno.Command("pgrep", { args: ["-P", String(guard)], stdout: "piped" }).output();
  for (const line of new TextDecoder().decode(out.stdout).trim().split("\n")) {
    const pid = Number(line);
    if (!(pid > 0)) continue;
    const comm = await Deno.readTextFile(`/proc/${pid}/comm`).catch(() => "");
    if (comm.trim() !== "sleep") return pid;
  }
  return undefined;
}
