/**
 * Running programs from tests: any command, the control plane's kubectl and
 * helm (built with the control plane, so tests need nothing installed), and
 * the pinned ttyd (hack/ttyd.sh).
 */
import { controlPlaneBinaries } from "./control_plane.ts";

const REPO = new URL("../../", import.meta.url).pathname;

/** The outcome of running a program. */
export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `program` with `args`, feeding `stdin` when given, with `env` added to the environment. */
export async function run(
  program: string,
  args: string[],
  stdin?: string,
  env?: Record<string, string>,
): Promise<RunResult> {
  const child = new Deno.Command(program, {
    args,
    env,
    stdin: stdin === undefined ? "null" : "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  if (stdin !== undefined) {
    const writer = child.stdin.getWriter();
    await writer.write(new TextEncoder().encode(stdin));
    await writer.close();
  }
  const out = await child.output();
  const decoder = new TextDecoder();
  return { code: out.code, stdout: decoder.decode(out.stdout), stderr: decoder.decode(out.stderr) };
}

/** Runs the control plane's kubectl against `kubeconfig`. */
export async function kubectl(kubeconfig: string, args: string[], stdin?: string): Promise<RunResult> {
  return await run(`${await controlPlaneBinaries()}/kubectl`, [`--kubeconfig=${kubeconfig}`, ...args], stdin);
}

/** Runs the control plane's helm (a client only: no cluster is contacted by `helm template`). */
export async function helm(args: string[]): Promise<RunResult> {
  return await run(`${await controlPlaneBinaries()}/helm`, args);
}

/**
 * The directory holding the pinned ttyd: CLOUDSHELL_TTYD_BIN, else what hack/ttyd.sh prints (it
 * downloads once, then answers from its cache).
 */
export async function ttydBinaries(): Promise<string> {
  const fromEnv = Deno.env.get("CLOUDSHELL_TTYD_BIN");
  if (fromEnv) return fromEnv;
  cachedTtyd ??= (async () => {
    const out = await run("bash", [`${REPO}hack/ttyd.sh`]);
    if (out.code !== 0) throw new Error(`hack/ttyd.sh failed:\n${out.stderr}`);
    return out.stdout.trim().split("\n").at(-1)!;
  })();
  return await cachedTtyd;
}
let cachedTtyd: Promise<string> | undefined;

/**
 * Where `program` is on PATH, or undefined. It looks instead of spawning, because spawning a missing
 * program throws at once (before any promise), so a test can decide at load whether to `ignore:` itself.
 */
export function onPath(program: string): string | undefined {
  return (Deno.env.get("PATH") ?? "").split(":").map((dir) => `${dir}/${program}`).find(isExecutableFile);
}

function isExecutableFile(path: string): boolean {
  try {
    const info = Deno.statSync(path);
    return info.isFile && ((info.mode ?? 0) & 0o111) !== 0;
  } catch {
    return false;
  }
}

/** A running `kubectl port-forward`; dispose of it to end it. */
export interface PortForwardProcess extends AsyncDisposable {
  /** The local port kubectl listens on (127.0.0.1). */
  localPort: number;
}

/**
 * Starts `kubectl port-forward <args> :<remotePort>` (a free local port on 127.0.0.1) and resolves once
 * kubectl says where it listens; rejects with kubectl's error output if it exits first.
 */
export async function kubectlPortForward(
  kubeconfig: string,
  args: string[],
  remotePort: number,
): Promise<PortForwardProcess> {
  const child = new Deno.Command(`${await controlPlaneBinaries()}/kubectl`, {
    args: [`--kubeconfig=${kubeconfig}`, "port-forward", "--address=127.0.0.1", ...args, `:${remotePort}`],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const stderr = new Response(child.stderr).text();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let seen = "";
  try {
    while (true) {
      const { value, done } = await reader.read();
      if (done) throw new Error(`kubectl port-forward exited: ${await stderr}`);
      seen += value;
      const match = /Forwarding from 127\.0\.0\.1:(\d+) ->/.exec(seen);
      if (match) {
        // Keep reading so kubectl never blocks on a full pipe.
        (async () => {
          while (!(await reader.read()).done);
        })().catch(() => {});
        return {
          localPort: Number(match[1]),
          async [Symbol.asyncDispose]() {
            try {
              child.kill("SIGTERM");
            } catch {
              // Already exited.
            }
            await child.status;
            await stderr.catch(() => {});
          },
        };
      }
    }
  } catch (err) {
    try {
      child.kill("SIGKILL");
    } catch {
      // Already exited.
    }
    await child.status;
    throw err;
  }
}
