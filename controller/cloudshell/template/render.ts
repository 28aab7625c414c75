/**
 * Injection-safe renderer for Job templates written with Go-template placeholders (`{{ .Name }}`).
 *
 * A template is compiled once: every placeholder is replaced by a unique sentinel word, the text is parsed
 * as YAML (1.1, as Kubernetes' own YAML decoder does, so `0644` is octal and `yes` is true), and the
 * result becomes a tree in which each string holding sentinels remembers which variables go where.
 * Rendering walks that tree and puts variable values in as data. YAML is never parsed again, so a value
 * such as `a: b`, `"; rm -rf /` or `{{ .Name }}` stays one literal string.
 *
 * Typing rule: a placeholder that is the whole of an unquoted scalar (`ttl: {{ .Ttl }}`) yields the
 * variable's own type, a boolean for `bool` and a number for `int` variables. Anywhere else (quoted, in a
 * block scalar, or next to other text) a value renders as text: `true`/`false`, decimal digits. String
 * variables are always strings, so a CloudShell named `123` or `true` cannot turn into a number.
 *
 * @module
 */

import {
  type Document,
  isNode,
  isScalar,
  parseDocument,
  type SchemaOptions,
  visit,
} from "../../../vendor/yaml/mod.ts";
import { type JsonObject, type JsonPrimitive, type JsonValue, TemplateError, validateJob } from "./job.ts";
import {
  checkTemplateVars,
  isVariableName,
  SAMPLE_TEMPLATE_VARS,
  type TemplateVars,
  type VariableName,
  VARIABLES,
} from "./vars.ts";

/** One piece of a string with placeholders: literal text, or a variable rendered as text. */
export type TextPart = string | { readonly variable: VariableName };

/** A node of a compiled template; internal to the renderer, exported only for typing. */
export type TemplateNode =
  | { readonly type: "value"; readonly value: JsonPrimitive }
  | { readonly type: "text"; readonly parts: readonly TextPart[] }
  | { readonly type: "variable"; readonly variable: VariableName }
  | { readonly type: "splice"; readonly variable: VariableName }
  | { readonly type: "sequence"; readonly items: readonly TemplateNode[] }
  | { readonly type: "mapping"; readonly entries: readonly (readonly [string, TemplateNode])[] };

/** A parsed template, ready to be rendered any number of times. Treat `root` as opaque. */
export interface CompiledTemplate {
  /** Variables the template refers to, in order of first use. */
  readonly variables: readonly VariableName[];
  /** The document's root mapping. */
  readonly root: TemplateNode & { readonly type: "mapping" };
}

interface Token {
  readonly variable: VariableName;
  readonly line: number;
  readonly text: string;
}

/** Result of replacing the placeholders of a template by sentinel words. */
interface Tokenized {
  readonly yaml: string;
  readonly tokens: readonly Token[];
  /** Matches one sentinel; group 1 is the token index. Global: reset `lastIndex` or use matchAll. */
  readonly sentinel: RegExp;
}

// Helm charts escaped the placeholders of the template they shipped: {{`{{ .Secret }}`}}, also with quotes
// inside: {{`"{{ .Once }}"`}}. Helm printed the raw string; so do we. No newline is consumed, so line
// numbers stay those of the original text.
const HELM_ESCAPE = /\{\{[ \t]*`([^`]*)`[ \t]*\}\}/g;
const FIELD = /^[ \t]*\.([A-Za-z_][A-Za-z0-9_]*)[ \t]*$/;
const FIELD_CHAIN = /^[ \t]*\.[A-Za-z_][A-Za-z0-9_.]*[ \t]*$/;
const STR_TAG = "tag:yaml.org,2002:str";

// Upstream templates from before CloudTTY v0.4 used these; a pointer saves a trip through the docs.
const REMOVED_HINTS: Readonly<Record<string, string>> = {
  Configmap: "CloudTTY v0.4 replaced it by {{ .Secret }}",
  Ownership: "the operator sets the owner label itself",
};

// Tags whose values would not be JSON (dates, bytes, sets) or that Kubernetes' YAML decoder does not
// resolve (sexagesimal 1:30); without them such scalars stay strings, as kubectl would send them.
const DROPPED_TAGS = new Set([
  "tag:yaml.org,2002:binary",
  "tag:yaml.org,2002:omap",
  "tag:yaml.org,2002:pairs",
  "tag:yaml.org,2002:set",
  "tag:yaml.org,2002:timestamp",
]);

const YAML_OPTIONS = {
  version: "1.1",
  uniqueKeys: true,
  customTags: (tags) => tags.filter((tag) => typeof tag === "string" || keepTag(tag)),
} as const satisfies SchemaOptions & { version: "1.1"; uniqueKeys: boolean };

function keepTag(tag: { tag: string; format?: string }): boolean {
  return !DROPPED_TAGS.has(tag.tag) && tag.format !== "TIME";
}

/**
 * Parses a template once. Throws a TemplateError (with the line) for an unknown placeholder, a Go-template
 * action other than `{{ .Field }}`, a placeholder in a mapping key, anchor or tag, a list or nullable
 * variable in a place that cannot hold it, YAML that does not parse, or a document that is not a mapping.
 */
export function compileTemplate(text: string): CompiledTemplate {
  const tokenized = tokenize(text);
  const doc = parseDocument(tokenized.yaml, YAML_OPTIONS);
  const [yamlError] = doc.errors;
  if (yamlError !== undefined) {
    const line = yamlError.linePos?.[0].line;
    const reason = yamlError.code === "MULTIPLE_DOCS"
      ? "it must hold exactly one document"
      : untokenize(tokenized, yamlError.message.split("\n")[0]).replace(/ at line \d+, column \d+:?$/, "");
    throw new TemplateError(`Template is not valid YAML${line ? ` at line ${line}` : ""}: ${reason}`, line);
  }
  const wholePlain = checkPlaceholderPositions(doc, tokenized);
  let data: unknown;
  try {
    data = doc.toJS({ maxAliasCount: 100 });
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new TemplateError(`Template cannot be read: ${untokenize(tokenized, reason)}`, undefined, {
      cause: error,
    });
  }
  if (!isPlainObject(data)) throw new TemplateError("Template must be a YAML mapping (a Job manifest)");
  const root = buildNode(data, "root", { tokenized, wholePlain });
  if (root.type !== "mapping") throw new TemplateError("Template must be a YAML mapping (a Job manifest)");
  const variables = [...new Set(tokenized.tokens.map((token) => token.variable))];
  return { variables, root };
}

/**
 * Compiles a template and trial-renders it with sample variables, so that a template which would never
 * yield a valid Job is rejected when it is loaded rather than when a CloudShell needs it.
 */
export function compileJobTemplate(text: string): CompiledTemplate {
  const compiled = compileTemplate(text);
  validateJob(render(compiled, SAMPLE_TEMPLATE_VARS));
  return compiled;
}

/** Renders a compiled template into a fresh plain object (the Job manifest); nothing is shared between calls. */
export function render(compiled: CompiledTemplate, vars: TemplateVars): JsonObject {
  checkTemplateVars(vars);
  return renderMapping(compiled.root, vars);
}

function tokenize(source: string): Tokenized {
  const text = source.replace(HELM_ESCAPE, "$1");
  let nonce = 0;
  while (text.includes(`__cstpl${nonce}_`)) nonce++;
  const prefix = `__cstpl${nonce}_`;
  const tokens: Token[] = [];
  let yaml = "";
  let pos = 0;
  for (let open = text.indexOf("{{"); open >= 0; open = text.indexOf("{{", pos)) {
    const line = lineAt(text, open);
    const close = text.indexOf("}}", open + 2);
    if (close < 0) throw new TemplateError(`Unclosed placeholder "{{" at line ${line}`, line);
    const action = text.slice(open, close + 2);
    tokens.push({ variable: parseAction(action, line), line, text: action });
    yaml += text.slice(pos, open) + `${prefix}${tokens.length - 1}__`;
    pos = close + 2;
  }
  yaml += text.slice(pos);
  return { yaml, tokens, sentinel: new RegExp(`${prefix}(\\d+)__`, "g") };
}

function parseAction(action: string, line: number): VariableName {
  const inner = action.slice(2, -2);
  if (inner.startsWith("-") || inner.endsWith("-")) {
    throw new TemplateError(
      `Unsupported template action ${action} at line ${line}: whitespace trim markers are not supported`,
      line,
    );
  }
  const field = FIELD.exec(inner)?.[1];
  if (field === undefined) {
    if (FIELD_CHAIN.test(inner)) throw unknownPlaceholder(action, line, undefined);
    throw new TemplateError(
      `Unsupported template action ${action} at line ${line}: only {{ .Field }} placeholders are allowed`,
      line,
    );
  }
  if (!isVariableName(field)) throw unknownPlaceholder(action, line, REMOVED_HINTS[field]);
  return field;
}

function unknownPlaceholder(action: string, line: number, hint: string | undefined): TemplateError {
  const known = Object.keys(VARIABLES).map((name) => `.${name}`).join(", ");
  const why = hint === undefined ? "" : ` (${hint})`;
  return new TemplateError(
    `Unknown placeholder ${action} at line ${line}${why}; known variables: ${known}`,
    line,
  );
}

function lineAt(text: string, offset: number): number {
  let line = 1;
  for (let i = text.indexOf("\n"); i >= 0 && i < offset; i = text.indexOf("\n", i + 1)) line++;
  return line;
}

/** Puts the original placeholder text back in place of sentinels, for messages. */
function untokenize(tokenized: Tokenized, text: string): string {
  return text.replace(tokenized.sentinel, (_, index: string) => tokenized.tokens[Number(index)].text);
}

function tokensIn(tokenized: Tokenized, text: string): Token[] {
  return [...text.matchAll(tokenized.sentinel)].map((match) => tokenized.tokens[Number(match[1])]);
}

/**
 * Rejects placeholders in keys, anchors and tags, and returns the indexes of tokens that are the whole
 * of an unquoted scalar: only those may render typed.
 */
function checkPlaceholderPositions(doc: Document.Parsed, tokenized: Tokenized): Set<number> {
  const wholePlain = new Set<number>();
  const fail = (text: string, what: string): never => {
    const [token] = tokensIn(tokenized, text);
    throw new TemplateError(`Placeholder ${token.text} at line ${token.line} is ${what}`, token.line);
  };
  visit(doc, {
    Pair(_, pair) {
      // Kubernetes objects have string keys; a sequence or mapping as a key would be stringified silently.
      if (isNode(pair.key) && !isScalar(pair.key)) {
        const line = pair.key.range ? lineAt(tokenized.yaml, pair.key.range[0]) : undefined;
        throw new TemplateError(
          `Complex mapping key${line ? ` at line ${line}` : ""} is not supported`,
          line,
        );
      }
    },
    Node(key, node) {
      if (node.anchor && tokensIn(tokenized, node.anchor).length > 0) fail(node.anchor, "in an anchor name");
      if (!isScalar(node)) return;
      const text = typeof node.value === "string" ? node.value : String(node.source ?? node.value);
      if (tokensIn(tokenized, text).length === 0) return;
      if (key === "key") fail(text, "in a mapping key; placeholders may appear only in values");
      if (node.tag !== undefined && node.tag !== STR_TAG) fail(text, `in a scalar with tag ${node.tag}`);
      const whole = matchWhole(tokenized, text);
      if (whole !== undefined && node.type === "PLAIN" && node.tag === undefined) wholePlain.add(whole);
    },
  });
  return wholePlain;
}

/** Index of the token when `text` is exactly one sentinel. */
function matchWhole(tokenized: Tokenized, text: string): number | undefined {
  const matches = [...text.matchAll(tokenized.sentinel)];
  return matches.length === 1 && matches[0][0] === text ? Number(matches[0][1]) : undefined;
}

interface BuildContext {
  readonly tokenized: Tokenized;
  readonly wholePlain: ReadonlySet<number>;
}

type Position = "root" | "mapValue" | "seqItem";

function buildNode(value: unknown, position: Position, ctx: BuildContext): TemplateNode {
  if (typeof value === "string") return buildString(value, position, ctx);
  if (value === null || typeof value === "number" || typeof value === "boolean") {
    return { type: "value", value };
  }
  if (Array.isArray(value)) {
    return {
      type: "sequence",
      items: value.map((item) => buildNode(item, "seqItem", ctx)),
    };
  }
  if (isPlainObject(value)) {
    // Keys need no check here: checkPlaceholderPositions rejected placeholders in keys and complex keys.
    const entries = Object.entries(value).map(([key, item]) =>
      [key, buildNode(item, "mapValue", ctx)] as const
    );
    return { type: "mapping", entries };
  }
  throw new TemplateError(`Template holds a value that is not JSON: ${String(value)}`);
}

function buildString(value: string, position: Position, ctx: BuildContext): TemplateNode {
  const whole = matchWhole(ctx.tokenized, value);
  if (whole !== undefined) {
    const token = ctx.tokenized.tokens[whole];
    const kind = VARIABLES[token.variable];
    if (kind === "list") {
      if (position !== "seqItem") throw misplacedList(token);
      return { type: "splice", variable: token.variable };
    }
    if (kind === "optionalInt" && !(position === "mapValue" && ctx.wholePlain.has(whole))) {
      throw misplacedOptional(token);
    }
    if (ctx.wholePlain.has(whole)) return { type: "variable", variable: token.variable };
  }
  const parts: TextPart[] = [];
  let pos = 0;
  for (const match of value.matchAll(ctx.tokenized.sentinel)) {
    const token = ctx.tokenized.tokens[Number(match[1])];
    const kind = VARIABLES[token.variable];
    if (kind === "list") throw misplacedList(token);
    if (kind === "optionalInt") throw misplacedOptional(token);
    if (match.index > pos) parts.push(value.slice(pos, match.index));
    parts.push({ variable: token.variable });
    pos = match.index + match[0].length;
  }
  if (parts.length === 0) return { type: "value", value };
  if (pos < value.length) parts.push(value.slice(pos));
  return { type: "text", parts };
}

function misplacedList(token: Token): TemplateError {
  return new TemplateError(
    `Placeholder ${token.text} at line ${token.line} is a list: it must be a whole sequence item, as in "- ${token.text}"`,
    token.line,
  );
}

function misplacedOptional(token: Token): TemplateError {
  return new TemplateError(
    `Placeholder ${token.text} at line ${token.line} may be empty: it must be the whole unquoted value of a key, ` +
      `as in "key: ${token.text}"`,
    token.line,
  );
}

function renderMapping(node: TemplateNode & { type: "mapping" }, vars: TemplateVars): JsonObject {
  const out: JsonObject = {};
  for (const [key, child] of node.entries) {
    const value = renderValue(child, vars);
    if (value === undefined) continue; // a null optional variable removes its key
    if (key === "__proto__") {
      // Plain assignment would replace the prototype instead of adding a key.
      Object.defineProperty(out, key, { value, enumerable: true, writable: true, configurable: true });
    } else {
      out[key] = value;
    }
  }
  return out;
}

function renderValue(node: TemplateNode, vars: TemplateVars): JsonValue | undefined {
  switch (node.type) {
    case "value":
      return node.value;
    case "text":
      return node.parts.map((part) => typeof part === "string" ? part : String(vars[part.variable])).join("");
    case "variable": {
      const value = vars[node.variable];
      return value === null ? undefined : typeof value === "object" ? [...value] : value;
    }
    case "splice":
      return [...(vars[node.variable] as readonly string[])];
    case "sequence":
      return node.items.flatMap((item) => {
        const value = renderValue(item, vars);
        // A splice already is the list of items to insert; anything else is one item.
        return item.type === "splice" ? value as JsonValue[] : [value ?? null];
      });
    case "mapping":
      return renderMapping(node, vars);
  }
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}
