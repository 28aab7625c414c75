/**
 * Reading Dockerfiles and their ignore files without a container engine (the test machines have none): the
 * instructions of each stage, and whether a build context admits a path.
 */

/** One Dockerfile instruction, with continuation lines joined. */
export interface Instruction {
  keyword: string;
  args: string;
}

/** The instructions of a Dockerfile, grouped by stage (each starting at its FROM). */
export function parseDockerfile(text: string): Instruction[][] {
  const logical: string[] = [];
  let current = "";
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    if (current === "" && (line === "" || line.startsWith("#"))) continue;
    if (line.startsWith("#")) continue;
    if (line.endsWith("\\")) {
      current += `${line.slice(0, -1).trim()} `;
      continue;
    }
    logical.push(current + line);
    current = "";
  }
  const stages: Instruction[][] = [[]];
  for (const line of logical) {
    const space = line.search(/\s/);
    const instruction = { keyword: line.slice(0, space).toUpperCase(), args: line.slice(space + 1).trim() };
    if (instruction.keyword === "FROM") stages.push([]);
    stages[stages.length - 1].push(instruction);
  }
  return stages;
}

/** Whether .dockerignore's rules (last match wins, a directory's rule covers its contents) let `path` in. */
export function admitted(rules: string[], path: string): boolean {
  const glob = (pattern: string) =>
    new RegExp(
      `^${pattern.replace(/[.+^${}()|[\]\\]/g, "\\$&").replaceAll("*", "[^/]*").replaceAll("?", "[^/]")}$`,
    );
  const prefixes = path.split("/").map((_, i, parts) => parts.slice(0, i + 1).join("/"));
  let included = true;
  for (const rule of rules) {
    const negated = rule.startsWith("!");
    const pattern = (negated ? rule.slice(1) : rule).replace(/\/+$/, "");
    if (prefixes.some((p) => glob(pattern).test(p))) included = negated;
  }
  return included;
}

/** The rules of a .dockerignore file, without blank lines and comments. */
export function ignoreRules(text: string): string[] {
  return text.split("\n").map((l) => l.trim()).filter((l) => l !== "" && !l.startsWith("#"));
}
