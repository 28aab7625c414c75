/**
 * How `deno task start` runs the operator, read from deno.json, so the tests,
 * the benchmark and `hack/dev.sh` run it with the same permissions and V8
 * flags as users do (the compiled binary embeds the same flags; a deploy test
 * checks that).
 */
import denoConfig from "../../deno.json" with { type: "json" };

const MAIN = new URL("../../main.ts", import.meta.url).pathname;

/** The flags between `deno run` and `main.ts` in `deno task start`. */
function startTaskFlags(): string[] {
  const words = denoConfig.tasks.start.trim().split(/\s+/);
  if (words[0] !== "deno" || words[1] !== "run" || words.at(-1) !== "main.ts") {
    throw new Error(`deno.json's start task is not "deno run <flags> main.ts": ${denoConfig.tasks.start}`);
  }
  return words.slice(2, -1);
}

/**
 * `deno` arguments that run the operator from source as `deno task start` does, then `operatorArgs`; with
 * `entry`, that file instead of main.ts (a bundle of it), with the same permissions and V8 flags.
 */
export function startTaskArgs(operatorArgs: string[], entry = MAIN): string[] {
  return ["run", ...startTaskFlags(), entry, ...operatorArgs];
}
