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
  return {
    "docs/reference/api.md": renderApiReference(await read("deploy/crd.yaml")),
    "docs/reference/cli.md": renderCliReference(denoConfig.version),
    "docs/reference/chart-values.md": renderChartValuesReference(await read("deploy/chart/values.yaml")),
  };
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
