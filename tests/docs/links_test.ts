/**
 * The Markdown pages link only to files that exist and to headings those pages have, so moving or renaming a
 * section cannot leave a dead link behind (the docs are split over many pages that several people edit).
 */
import assert from "node:assert/strict";
import { dirname, join, normalize, relative } from "node:path";

const REPO = new URL("../../", import.meta.url).pathname;
const SKIPPED_DIRS = new Set([".git", "node_modules", "dist", "test-output", "bench"]);

/** Every Markdown file of the repository, relative to its root. */
function markdownFiles(dir = REPO): string[] {
  const files: string[] = [];
  for (const entry of Deno.readDirSync(dir)) {
    if (entry.isSymlink || SKIPPED_DIRS.has(entry.name)) continue;
    const path = join(dir, entry.name);
    if (entry.isDirectory) files.push(...markdownFiles(path));
    else if (entry.name.endsWith(".md")) files.push(relative(REPO, path));
  }
  return files;
}

/** Text outside fenced code blocks and inline code, where links are links. */
function prose(text: string): string {
  return text.replace(/^(```|~~~)[\s\S]*?^\1/gm, "").replace(/`[^`\n]*`/g, "");
}

/** The anchors GitHub gives a page's headings (lower case, punctuation dropped, spaces as `-`, repeats numbered). */
export function headingAnchors(text: string): Set<string> {
  const anchors = new Set<string>();
  const seen = new Map<string, number>();
  for (const match of text.replace(/^(```|~~~)[\s\S]*?^\1/gm, "").matchAll(/^#{1,6}\s+(.*?)\s*#*$/gm)) {
    const slug = match[1].toLowerCase().replace(/[^\p{L}\p{N}\s_-]/gu, "").replace(/\s/g, "-");
    const count = seen.get(slug) ?? 0;
    seen.set(slug, count + 1);
    anchors.add(count ? `${slug}-${count}` : slug);
  }
  return anchors;
}

Deno.test("GitHub's heading anchors are computed as GitHub does", () => {
  assert.deepEqual(
    [...headingAnchors("# Moving from CloudTTY\n## The `Ready` condition, why?\n## Again\n## Again\n")],
    ["moving-from-cloudtty", "the-ready-condition-why", "again", "again-1"],
  );
});

Deno.test("every relative link in the Markdown pages leads to a file, and to a heading it names", () => {
  const broken: string[] = [];
  let checked = 0;
  const texts = new Map<string, string>();
  const read = (path: string) =>
    texts.get(path) ?? texts.set(path, Deno.readTextFileSync(join(REPO, path))).get(path)!;
  for (const file of markdownFiles()) {
    for (const match of prose(read(file)).matchAll(/\]\(([^)\s]+)(?:\s+"[^"]*")?\)/g)) {
      const target = match[1];
      if (/^[a-z][a-z0-9+.-]*:/i.test(target)) continue; // https:, mailto: and the like
      const [path, anchor] = target.split("#", 2);
      const resolved = path ? normalize(join(dirname(file), decodeURI(path))) : file;
      checked++;
      let isFile = false;
      try {
        isFile = Deno.statSync(join(REPO, resolved)).isFile;
      } catch {
        broken.push(`${file}: ${target} (no such file)`);
        continue;
      }
      if (anchor && isFile && resolved.endsWith(".md") && !headingAnchors(read(resolved)).has(anchor)) {
        broken.push(`${file}: ${target} (no such heading in ${resolved})`);
      }
    }
  }
  assert.deepEqual(broken, []);
  assert.ok(checked > 100, `${checked} links checked`);
});
