/**
 * hack/dev.sh leaves nothing behind: after Ctrl-C (SIGINT to its whole process group, as a terminal sends
 * it), and after an operator that cannot start (its port taken), no process it started survives and the
 * control plane's state folder (with the CA key) is gone. The flags after `--` reach the operator.
 *
 * Each run starts a control plane of its own (the real dev.sh, with the kubelet stand-in where it can run
 * pods). The operator's ports are free ones, since others on this machine may hold :8080 and :8081.
 */
import assert from "node:assert/strict";

const REPO = new URL("../../", import.meta.url).pathname;

/** A running dev.sh in a session of its own, with its output collected. */
class DevScript implements AsyncDisposable {
  readonly pid: number;
  readonly #child: Deno.ChildProcess;
  readonly status: Promise<Deno.CommandStatus>;
  #output = "";

  constructor(args: string[]) {
    // setsid: dev.sh leads a process group, which the test can signal whole, as a terminal's Ctrl-C does.
    this.#child = new Deno.Command("bash", {
      args: ["-c", 'exec setsid bash hack/dev.sh "$@"', "dev.sh", ...args],
      cwd: REPO,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    this.pid = this.#child.pid;
    const collect = async (stream: ReadableStream<Uint8Array>) => {
      for await (const text of stream.pipeThrough(new TextDecoderStream())) this.#output += text;
    };
    const collected = Promise.all([collect(this.#child.stdout), collect(this.#child.stderr)]);
    this.status = this.#child.status.then(async (s) => (await collected, s));
  }

  get output(): string {
    return this.#output;
  }

  /** Waits until the output matches `pattern` (or dev.sh exits, or the time is up). */
  async waitFor(pattern: RegExp, timeoutMs: number): Promise<RegExpMatchArray> {
    const deadline = Date.now() + timeoutMs;
    let exited = false;
    this.status.then(() => exited = true);
    while (Date.now() < deadline) {
      const match = this.#output.match(pattern);
      if (match) return match;
      if (exited) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    throw new Error(
      `dev.sh did not print ${pattern}${exited ? " (it exited)" : ""}:\n${this.#output.slice(-4000)}`,
    );
  }

  /** The control plane's state folder, from the kubeconfig path it prints once it is up. */
  async stateDir(): Promise<string> {
    return (await this.waitFor(/kubeconfig (\S+)\/kubeconfig/, 300_000))[1];
  }

  async [Symbol.asyncDispose](): Promise<void> {
    try {
      Deno.kill(-this.pid, "SIGKILL");
    } catch {
      // Gone already.
    }
    await this.status;
  }
}

/** Every process whose parent chain leads to `root` or that is in its session: [pid, start time]. */
function processesOf(root: number): Map<number, string> {
  const stats = new Map<number, { ppid: number; sid: number; start: string }>();
  for (const entry of Deno.readDirSync("/proc")) {
    const pid = Number(entry.name);
    if (!(pid > 0)) continue;
    const stat = readStat(pid);
    if (stat) stats.set(pid, stat);
  }
  const found = new Map<number, string>();
  for (const [pid, stat] of stats) {
    let at: number | undefined = pid;
    for (let hops = 0; at !== undefined && at > 1 && hops < 64; hops++) {
      if (at === root || stats.get(at)?.sid === root) {
        found.set(pid, stat.start);
        break;
      }
      at = stats.get(at)?.ppid;
    }
  }
  return found;
}

/** ppid, session and start time from /proc/PID/stat (fields after the command name, which may hold spaces). */
function readStat(pid: number): { ppid: number; sid: number; start: string } | undefined {
  let text: string;
  try {
    text = Deno.readTextFileSync(`/proc/${pid}/stat`);
  } catch {
    return undefined;
  }
  const fields = text.slice(text.lastIndexOf(")") + 2).split(" ");
  // fields[0] is the state (field 3); ppid is field 4, session field 6, start time field 22.
  return { ppid: Number(fields[1]), sid: Number(fields[3]), start: fields[19] };
}

function survivors(started: Map<number, string>): string[] {
  return [...started].filter(([pid, start]) => readStat(pid)?.start === start).map(([pid]) => {
    const cmd = (() => {
      try {
        return Deno.readTextFileSync(`/proc/${pid}/cmdline`).replaceAll("\0", " ").slice(0, 120);
      } catch {
        return "?";
      }
    })();
    return `${pid} ${cmd}`;
  });
}

function exists(path: string): boolean {
  try {
    Deno.statSync(path);
    return true;
  } catch {
    return false;
  }
}

/** Ports of the operator's own choosing (its log says which). */
const ANY_PORTS = ["--metrics-bind-address=127.0.0.1:0", "--health-probe-bind-address=127.0.0.1:0"];

Deno.test("hack/dev.sh: Ctrl-C stops every process it started and removes the state folder", async () => {
  await using dev = new DevScript(["--", ...ANY_PORTS]);
  const dir = await dev.stateDir();
  await dev.waitFor(/Press Ctrl-C to stop/, 300_000);
  const started = processesOf(dev.pid);
  assert.ok(started.size >= 6, `etcd, kube-apiserver, ... and the operator run: ${[...started.keys()]}`);
  Deno.kill(-dev.pid, "SIGINT");
  const status = await dev.status;
  assert.equal(status.code, 0, dev.output.slice(-3000));
  assert.deepEqual(survivors(started), []);
  assert.ok(!exists(dir), `${dir} is removed`);
});

Deno.test("hack/dev.sh: an operator that cannot start is reported at once, and everything stops", async () => {
  // The metrics port, taken; passed after `--`, so this also shows the flags reach the operator.
  const taken = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (taken.addr as Deno.NetAddr).port;
  try {
    await using dev = new DevScript([
      "--",
      `--metrics-bind-address=127.0.0.1:${port}`,
      "--health-probe-bind-address=127.0.0.1:0",
    ]);
    const dir = await dev.stateDir();
    const started = processesOf(dev.pid);
    await dev.waitFor(/ERROR: the operator exited/, 300_000);
    for (const [pid, start] of processesOf(dev.pid)) started.set(pid, start);
    const status = await dev.status;
    assert.equal(status.code, 1);
    const report = dev.output.slice(dev.output.indexOf("ERROR: the operator exited"));
    assert.match(
      report,
      new RegExp(`127\\.0\\.0\\.1\\]?:${port}.*in use`),
      "its last lines say the port is taken",
    );
    assert.doesNotMatch(dev.output, /Press Ctrl-C to stop/);
    assert.deepEqual(survivors(started), []);
    assert.ok(!exists(dir), `${dir} is removed`);
  } finally {
    taken.close();
  }
});
