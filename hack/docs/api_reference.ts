/**
 * docs/reference/api.md from the CRD: every field of the CloudShell schema with its type, limits and the
 * description the CRD gives it (the same text `kubectl explain` shows), and the columns of `kubectl get`.
 */
import { parse as parseYaml } from "yaml";
import { code, generatedBanner, listItem, paragraph, prose } from "./markdown.ts";

/** The parts of an OpenAPI v3 schema node the reference shows. */
export interface SchemaNode {
  type?: string;
  format?: string;
  description?: string;
  enum?: unknown[];
  default?: unknown;
  minimum?: number;
  maximum?: number;
  maxLength?: number;
  maxItems?: number;
  maxProperties?: number;
  required?: string[];
  properties?: Record<string, SchemaNode>;
  items?: SchemaNode;
  additionalProperties?: SchemaNode | boolean;
  "x-kubernetes-int-or-string"?: boolean;
  "x-kubernetes-validations"?: { rule: string; message?: string }[];
}

interface PrinterColumn {
  name: string;
  type: string;
  jsonPath: string;
  description?: string;
  priority?: number;
}

interface CrdVersion {
  name: string;
  additionalPrinterColumns?: PrinterColumn[];
  schema: { openAPIV3Schema: SchemaNode };
}

interface Crd {
  spec: { group: string; names: { kind: string; plural: string }; versions: CrdVersion[] };
}

/** A schema node with the path `kubectl explain` would take to it. */
export interface SchemaEntry {
  path: string;
  node: SchemaNode;
}

/** The schema of the CRD's first version (the CloudShell CRD has one). */
export function crdSchema(crdText: string): SchemaNode {
  return (parseYaml(crdText) as Crd).spec.versions[0].schema.openAPIV3Schema;
}

/**
 * Every node of a schema, depth first: properties (`.name`), list items (`[]`) and map values (`{}`).
 * The root is the empty path.
 */
export function schemaEntries(node: SchemaNode, path = ""): SchemaEntry[] {
  const entries: SchemaEntry[] = [{ path, node }];
  for (const [name, child] of Object.entries(node.properties ?? {})) {
    entries.push(...schemaEntries(child, `${path}.${name}`));
  }
  if (node.items) entries.push(...schemaEntries(node.items, `${path}[]`));
  if (typeof node.additionalProperties === "object") {
    entries.push(...schemaEntries(node.additionalProperties, `${path}{}`));
  }
  return entries;
}

/** Renders docs/reference/api.md from the text of deploy/crd.yaml. */
export function renderApiReference(crdText: string): string {
  const crd = parseYaml(crdText) as Crd;
  const { group, names } = crd.spec;
  const out: string[] = [generatedBanner("deploy/crd.yaml"), "", "# The CloudShell API", ""];
  for (const version of crd.spec.versions) {
    const root = version.schema.openAPIV3Schema;
    out.push(
      paragraph(
        `${code(`${group}/${version.name}`)}, kind ${code(names.kind)} (${code(names.plural)}). ` +
          prose(root.description ?? ""),
      ),
      "",
      paragraph(
        "Each field with its type and limits, as the API server enforces them, and its description, as " +
          `${code(`kubectl explain ${names.plural.replace(/s$/, "")}.spec`)} shows it. ` +
          "[usage.md](../usage.md) explains the fields in context.",
      ),
      "",
    );
    for (const section of ["spec", "status"]) {
      const node = root.properties?.[section];
      if (!node) continue;
      out.push(`## ${section}`, "");
      if (node.description) out.push(paragraph(prose(node.description)), "");
      out.push(...fieldList(node, 0), "");
    }
    if (version.additionalPrinterColumns?.length) {
      out.push("## Columns of `kubectl get`", "");
      for (const column of version.additionalPrinterColumns) {
        const wide = column.priority ? " (with `-o wide`)" : "";
        const what = column.description ? `: ${prose(column.description)}` : "";
        out.push(listItem(`**${column.name}**${wide}, ${code(column.jsonPath)}${what}`));
      }
      out.push("");
    }
  }
  return out.join("\n").replace(/\n+$/, "\n");
}

function fieldList(node: SchemaNode, depth: number): string[] {
  const lines: string[] = [];
  const required = new Set(node.required ?? []);
  for (const [name, child] of Object.entries(node.properties ?? {})) {
    const facts = [typeOf(child), ...limitsOf(child), ...(required.has(name) ? ["required"] : [])];
    const description = child.description ? `: ${prose(child.description)}` : "";
    lines.push(listItem(`${code(name)} (${facts.join(", ")})${description}`, depth));
    const inner = innerObject(child);
    if (inner) lines.push(...fieldList(inner, depth + 1));
  }
  return lines;
}

/** The object whose fields are listed under a field: its own, or its list items'. */
function innerObject(node: SchemaNode): SchemaNode | undefined {
  if (node.properties) return node;
  if (node.items?.properties) return node.items;
  return undefined;
}

function typeOf(node: SchemaNode): string {
  if (node["x-kubernetes-int-or-string"]) return "integer or string";
  if (node.type === "array") return `list of ${node.items ? typeOf(node.items) : "any"}`;
  if (node.type === "object" && typeof node.additionalProperties === "object") {
    return `map of ${typeOf(node.additionalProperties)}`;
  }
  const format = node.format ? ` (${node.format})` : "";
  return `${node.type ?? "any"}${format}`;
}

function limitsOf(node: SchemaNode): string[] {
  const limits: string[] = [];
  if (node.enum) limits.push(`one of ${node.enum.map((v) => code(String(v))).join(", ")}`);
  if (node.default !== undefined) limits.push(`default ${code(JSON.stringify(node.default))}`);
  if (node.minimum !== undefined) limits.push(`minimum ${node.minimum}`);
  if (node.maximum !== undefined) limits.push(`maximum ${node.maximum}`);
  if (node.maxLength !== undefined) limits.push(`at most ${node.maxLength} characters`);
  if (node.maxItems !== undefined) limits.push(`at most ${node.maxItems} items`);
  if (node.maxProperties !== undefined) limits.push(`at most ${node.maxProperties} entries`);
  const value = typeof node.additionalProperties === "object" ? node.additionalProperties : node.items;
  if (value?.maxLength !== undefined) limits.push(`values at most ${value.maxLength} characters`);
  for (const rule of node["x-kubernetes-validations"] ?? []) {
    if (rule.message) limits.push(rule.message);
  }
  return limits;
}
