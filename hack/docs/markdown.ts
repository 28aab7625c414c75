/** Small Markdown helpers shared by the reference generators. */

/** Lines of generated pages stay within this width (deno fmt's lineWidth is 110). */
export const WIDTH = 110;

/** The banner every generated page starts with, naming its source and the command that rewrites it. */
export function generatedBanner(source: string): string {
  return `<!-- Generated from ${source} by \`deno task docs\`; edit the source, not this file. -->`;
}

/**
 * A list item wrapped at {@link WIDTH}: `- ` plus the text at `depth` levels of nesting, continuation lines
 * indented under the text, as deno fmt leaves them.
 */
export function listItem(text: string, depth = 0): string {
  const indent = "  ".repeat(depth);
  return wrap(text, `${indent}- `, `${indent}  `);
}

/** A paragraph wrapped at {@link WIDTH}. */
export function paragraph(text: string): string {
  return wrap(text, "", "");
}

const NO_BREAK = "\u0000";

function wrap(text: string, first: string, rest: string): string {
  // A line break inside inline code or a link's text would change it (deno fmt moves it out): keep those whole.
  const glued = text.replace(/\s+/g, " ").trim()
    .replace(/`[^`]*`|\[[^\]]*\]/g, (span) => span.replaceAll(" ", NO_BREAK));
  const words = glued.split(" ").map((word) => word.replaceAll(NO_BREAK, " "));
  const lines: string[] = [];
  let line = first;
  let empty = true;
  for (const word of words) {
    const candidate = empty ? line + word : `${line} ${word}`;
    // A word longer than the line is kept whole; Markdown cannot break it anyway.
    if (!empty && candidate.length > WIDTH) {
      lines.push(line);
      line = rest + word;
    } else {
      line = candidate;
    }
    empty = false;
  }
  lines.push(line);
  return lines.join("\n");
}

/**
 * Text from a source (a CRD description, a values comment) made safe as Markdown prose, outside inline code:
 * `<` would open an HTML tag on GitHub and hide placeholders such as `<name>`, and `*` or a `_` at a word's
 * edge would start emphasis (`*` allows any).
 */
export function prose(text: string): string {
  return text.split(/(`[^`]*`)/).map((part, i) =>
    i % 2 ? part : part
      .replaceAll("<", "&lt;")
      .replaceAll("*", "\\*")
      .replace(/(?<![\p{L}\p{N}])_|_(?![\p{L}\p{N}])/gu, "\\_")
  ).join("");
}

/** Inline code that survives backticks inside the value. */
export function code(value: string): string {
  return value.includes("`") ? `\`\` ${value} \`\`` : `\`${value}\``;
}
