/**
 * docs/reference/chart-values.md from deploy/chart/values.yaml: every key with its default and the comment
 * written above it (a comment right under `key:` belongs to the first key inside it).
 */
import { isMap, isScalar, parseDocument, stringify, type YAMLMap } from "yaml";
import { code, generatedBanner, listItem, paragraph, prose } from "./markdown.ts";

/** One key of the values file. */
export interface ValueEntry {
  /** Dotted path, as `--set` takes it. */
  path: string;
  depth: number;
  /** The default, in YAML flow style; undefined for a map whose keys are listed under it. */
  defaultValue?: string;
  comment: string;
}

/** Every key of a values file, in file order. */
export function valueEntries(valuesText: string): ValueEntry[] {
  const doc = parseDocument(valuesText);
  if (!isMap(doc.contents)) throw new Error("values.yaml is not a map");
  return entriesOf(doc.contents, "", 0, undefined);
}

function entriesOf(map: YAMLMap, prefix: string, depth: number, inherited: string | undefined): ValueEntry[] {
  const entries: ValueEntry[] = [];
  map.items.forEach((pair, i) => {
    const key = isScalar(pair.key) ? String(pair.key.value) : String(pair.key);
    const path = prefix + key;
    const keyComment = isScalar(pair.key) ? pair.key.commentBefore : undefined;
    const comment = commentText(keyComment ?? (i === 0 ? inherited : undefined));
    const value = pair.value;
    if (isMap(value) && value.items.length > 0) {
      entries.push({ path, depth, comment });
      entries.push(...entriesOf(value, `${path}.`, depth + 1, value.commentBefore ?? undefined));
    } else {
      const flow = stringify(value ?? null, { flowLevel: 0 } as never).trim();
      entries.push({ path, depth, defaultValue: flow, comment });
    }
  });
  return entries;
}

/** A comment block as one line; of the file's first block, only the last paragraph is the key's. */
function commentText(comment: string | null | undefined): string {
  if (!comment) return "";
  const paragraphs = comment.split(/\n\s*\n/);
  return paragraphs[paragraphs.length - 1].split("\n").map((line) => line.trim()).join(" ").trim();
}

/** Renders docs/reference/chart-values.md from the text of deploy/chart/values.yaml. */
export function renderChartValuesReference(valuesText: string): string {
  const out = [
    generatedBanner("deploy/chart/values.yaml"),
    "",
    "# The chart's values",
    "",
    paragraph(
      "Every value of the Helm chart (`deploy/chart`), with its default and the comment it has in " +
        "`values.yaml`. Keys marked CloudTTY mean what they meant in CloudTTY's chart; " +
        "[deploy/chart/README.md](../../deploy/chart/README.md) maps CloudTTY's values in full.",
    ),
    "",
  ];
  for (const entry of valueEntries(valuesText)) {
    const value = entry.defaultValue === undefined ? "" : ` (default ${code(entry.defaultValue)})`;
    const comment = entry.comment ? `: ${prose(entry.comment)}` : "";
    out.push(listItem(`${code(entry.path)}${value}${comment}`, entry.depth));
  }
  out.push("");
  return out.join("\n");
}
