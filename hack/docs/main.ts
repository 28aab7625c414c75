/**
 * `deno task docs`: writes the generated references under docs/reference/ from their sources (the CRD, the
 * operator's flags, the chart's values). `--check` writes nothing and exits 1 when a page is out of date.
 */
import { renderApiReference } from "./api_reference.ts";
import { renderChartValuesReference } from "./chart_values_reference.ts";
import { renderCliReference } from "./cli_reference.ts";
import denoConfig from "../../deno.json" with { type: "json" };

const ROOT = new URL("../../", import.meta.url);

/** Each generated page and its text, rendered from the files in this checkout. */
export async function generatedPages(): Promise<Record<string, string>> {
  const read = (path: string) => Deno.readTextFile(new URL(path, ROOT));
  const pages: Record<string, string> = {
    "docs/reference/api.md": renderApiReference(await read("deploy/crd.yaml")),
    "docs/reference/cli.md": renderCliReference(denoConfig.version),
    "docs/reference/chart-values.md": renderChartValuesReference(await read("deploy/chart/values.yaml")),
  };
  for (const [path, text] of Object.entries(pages)) pages[path] = await formatMarkdown(text);
  return pages;
}

/**
 * The page as `deno fmt` leaves it (the same Deno, with the repository's configuration), so a source text
 * that Markdown reads differently from plain text (a line that starts like a list item, say) cannot make
 * `deno fmt --check` and the drift test disagree.
 */
async function formatMarkdown(text: string): Promise<string> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["fmt", "--ext=md", "-"],
    cwd: ROOT,
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const writer = child.stdin.getWriter();
  await writer.write(new TextEncoder().encode(text));
  await writer.close();
  const out = await child.output();
  if (!out.success) throw new Error(`deno fmt failed: ${new TextDecoder().decode(out.stderr)}`);
  return new TextDecoder().decode(out.stdout);
}

if (import.meta.main) {
  const check = Deno.args.includes("--check");
  let stale = 0;
  for (const [path, text] of Object.entries(await generatedPages())) {
    const url = new URL(path, ROOT);
    const current = await Deno.readTextFile(url).catch(() => "");
    if (current === text) continue;
    if (check) {
      console.error(`${path} is out of date: run \`deno task docs\``);
      stale++;
    } else {
      await Deno.writeTextFile(url, text);
      console.log(`wrote ${path}`);
    }
  }
  Deno.exit(stale ? 1 : 0);
}
