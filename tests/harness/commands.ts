/**
 * Running programs from tests: any command, and the control plane's kubectl
 * and helm (built with the control plane, so tests need nothing installed).
 */
import { controlPlaneBinaries } from "./control_plane.ts";

/** The outcome of running a program. */
export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `program` with `args`, feeding `stdin` when given. */
export async function run(program: string, args: string[], stdin?: string): Promise<RunResult> {
  const child = new Deno.Command(program, {
    args,
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
