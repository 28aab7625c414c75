/**
 * The generated references (docs/reference/) are what `deno task docs` makes from their sources today, and
 * the CRD describes every field, so the API reference and `kubectl explain` have something to say.
 */
import assert from "node:assert/strict";
import { crdSchema, schemaEntries } from "../../../hack/docs/api_reference.ts";
import { valueEntries } from "../../../hack/docs/chart_values_reference.ts";
import { generatedPages } from "../../../hack/docs/main.ts";
import { prose } from "../../../hack/docs/markdown.ts";

const REPO = new URL("../../../", import.meta.url);

/**
 * The API server refuses anything but name and generateName restrictions on the root `metadata` of a CRD
 * schema, a description included; kubectl explain describes ObjectMeta itself.
 */
const UNDESCRIBABLE = new Set([".metadata"]);

Deno.test("every generated reference page is up to date with its source", async () => {
  const stale: string[] = [];
  for (const [path, text] of Object.entries(await generatedPages())) {
    const current = await Deno.readTextFile(new URL(path, REPO)).catch(() => "(missing)");
    if (current !== text) stale.push(path);
  }
  assert.deepEqual(stale, [], `out of date: ${stale.join(", ")}. Regenerate them with: deno task docs`);
});

for (const path of ["deploy/crd.yaml", "deploy/chart/files/crd.yaml"]) {
  Deno.test(`every node of the CloudShell schema in ${path} has a description`, async () => {
    const schema = crdSchema(await Deno.readTextFile(new URL(path, REPO)));
    const entries = schemaEntries(schema);
    const missing = entries
      .filter(({ path, node }) => !UNDESCRIBABLE.has(path) && !node.description?.trim())
      .map(({ path }) => path || "(root)");
    assert.deepEqual(missing, [], `give these schema nodes a description in ${path}: ${missing.join(", ")}`);
    assert.ok(entries.length > 70, `${entries.length} schema nodes walked`);
  });
}

Deno.test("the chart values reference lists every key of values.yaml with its default", async () => {
  const entries = valueEntries(
    [
      "# Header of the file.",
      "",
      "# The image.",
      "image:",
      "  # Comment of the first key inside.",
      "  registry: ghcr.io",
      '  tag: ""',
      "list: []",
      "empty: {}",
    ].join("\n"),
  );
  assert.deepEqual(entries, [
    { path: "image", depth: 0, comment: "The image." },
    {
      path: "image.registry",
      depth: 1,
      defaultValue: "ghcr.io",
      comment: "Comment of the first key inside.",
    },
    { path: "image.tag", depth: 1, defaultValue: '""', comment: "" },
    { path: "list", depth: 0, defaultValue: "[]", comment: "" },
    { path: "empty", depth: 0, defaultValue: "{}", comment: "" },
  ]);
  const page = await Deno.readTextFile(new URL("docs/reference/chart-values.md", REPO));
  for (const entry of valueEntries(await Deno.readTextFile(new URL("deploy/chart/values.yaml", REPO)))) {
    assert.ok(page.includes(`\`${entry.path}\``), `chart-values.md lists ${entry.path}`);
  }
});

Deno.test("source text is escaped where Markdown would read it as markup, and only there", () => {
  assert.equal(
    prose("a * b, _x_ and TTYD_CREDENTIAL and `a*b_ <c>` <name>"),
    "a \\* b, \\_x\\_ and TTYD_CREDENTIAL and `a*b_ <c>` &lt;name>",
  );
});
