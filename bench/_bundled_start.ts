/**
 * The operator's RSS right after start when it runs as one bundled file rather than from source.
 *
 * From source, Deno loads about 160 modules one by one through its module graph and caches, which costs
 * several MB of RSS that the compiled binary users run does not pay in the same way (it carries its modules
 * ready-made). `deno compile` cannot be run on a machine without the internet (it downloads denort), so a
 * bundle (`deno bundle`: one JavaScript file, run with the start task's permissions and V8 flags) is the
 * nearest measurable stand-in for the binary. It is a second figure beside the from-source one, not a
 * replacement: the target stays judged on what `deno task start` runs.
 */
import { run } from "../tests/harness/commands.ts";
import { OperatorUnderTest } from "./_operator_process.ts";

const MAIN = new URL("../main.ts", import.meta.url).pathname;

/**
 * Bundles main.ts, starts the bundle twice (the first start fills Deno's caches for the new file, as earlier
 * runs have filled them for main.ts), and returns the RSS in bytes of the second right after it is ready; or
 * why not.
 */
export async function bundledStartRss(kubeconfig: string): Promise<number | { unavailable: string }> {
  const dir = await Deno.makeTempDir({ prefix: "cloudshell-bench-bundle-" });
  try {
    const bundle = `${dir}/operator.js`;
    const out = await run(Deno.execPath(), ["bundle", "--quiet", `--output=${bundle}`, MAIN]);
    if (out.code !== 0) {
      return { unavailable: `deno bundle failed: ${out.stderr.trim().split("\n").at(-1)}` };
    }
    let rss = 0;
    for (let i = 0; i < 2; i++) {
      // A side figure: a bundle that does not start is reported, and the benchmark goes on without it.
      const operator = await OperatorUnderTest.start(kubeconfig, [], bundle).catch((err: Error) => err);
      if (operator instanceof Error) return { unavailable: `the bundle did not start: ${operator.message}` };
      try {
        rss = await operator.rssBytes();
      } finally {
        await operator.stop();
      }
    }
    return rss;
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}
