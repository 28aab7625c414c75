// Builds the terminal page: ONE self-contained index.html (ttyd's --index serves a single file), with the
// bundled script and the styles inlined. Run after `npm ci` in this folder:
//   node build.mjs <output file>     (default: dist/index.html)
// The same lockfile builds it in the image (images/terminal/Dockerfile) and for the tests
// (hack/terminal-page.sh). esbuild's output depends only on the sources and the locked packages.
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

const here = dirname(fileURLToPath(import.meta.url));
const output = process.argv[2] ?? join(here, "dist", "index.html");

const bundle = await build({
  entryPoints: [join(here, "src", "main.ts")],
  bundle: true,
  format: "iife",
  target: "es2020",
  minify: true,
  legalComments: "inline",
  write: false,
  logLevel: "warning",
});
// Inside a <script> element, "</script" would end it early.
const script = bundle.outputFiles[0].text.replaceAll("</script", "<\\/script");
const xtermCss = await readFile(
  join(here, "node_modules", "@xterm", "xterm", "css", "xterm.css"),
  "utf8",
);
const pageCss = await readFile(join(here, "src", "page.css"), "utf8");
const html = (await readFile(join(here, "src", "index.html"), "utf8"))
  .replace("/* STYLE */", () => `${xtermCss}\n${pageCss}`)
  .replace("/* SCRIPT */", () => script);

await mkdir(dirname(output), { recursive: true });
await writeFile(output, html);
process.stderr.write(
  `[terminal-page] wrote ${output} (${html.length} bytes)\n`,
);
