/**
 * What the release tests read: the workflows as parsed YAML, the pins the repository's build scripts hold,
 * and the terminal image's Dockerfile.
 */
import { parse as parseYaml } from "yaml";
import { type Instruction, parseDockerfile } from "../deploy/_dockerfile.ts";

/** The repository root, with a trailing slash. */
export const REPO = new URL("../../", import.meta.url).pathname;
export const TERMINAL = `${REPO}images/terminal`;

/** A step of a workflow job. */
export interface Step {
  name?: string;
  id?: string;
  uses?: string;
  run?: string;
  with?: Record<string, string | number | boolean>;
  env?: Record<string, string>;
}

/** A workflow job. */
export interface Job {
  "runs-on": string;
  needs?: string | string[];
  permissions?: Record<string, string>;
  strategy?: { matrix: Record<string, unknown> & { include?: Record<string, string>[] } };
  steps: Step[];
}

/** A workflow file. */
export interface Workflow {
  name: string;
  on: Record<string, unknown>;
  permissions?: Record<string, string>;
  jobs: Record<string, Job>;
}

/** Each workflow under .github/workflows, by file name, with its text. */
export async function workflows(): Promise<Map<string, { text: string; workflow: Workflow }>> {
  const out = new Map<string, { text: string; workflow: Workflow }>();
  for await (const entry of Deno.readDir(`${REPO}.github/workflows`)) {
    if (!entry.isFile || !/\.ya?ml$/.test(entry.name)) continue;
    const text = await Deno.readTextFile(`${REPO}.github/workflows/${entry.name}`);
    out.set(entry.name, { text, workflow: parseYaml(text) as Workflow });
  }
  return out;
}

/** One workflow, parsed. */
export async function workflow(name: string): Promise<Workflow> {
  const found = (await workflows()).get(name);
  if (!found) throw new Error(`.github/workflows/${name} is missing`);
  return found.workflow;
}

/** The steps of every job of a workflow. */
export function allSteps(wf: Workflow): Step[] {
  return Object.values(wf.jobs).flatMap((j) => j.steps);
}

/** The value of `NAME=value` at the start of a line of a shell script (the pins of hack/ scripts). */
export async function shellPin(path: string, name: string): Promise<string> {
  const text = await Deno.readTextFile(`${REPO}${path}`);
  const match = new RegExp(`^${name}=(\\S+)`, "m").exec(text);
  if (!match) throw new Error(`${path} has no ${name}=`);
  return match[1];
}

/** The terminal image's Dockerfile: global ARGs, then one list of instructions per stage. */
export async function terminalDockerfile(): Promise<Instruction[][]> {
  return parseDockerfile(await Deno.readTextFile(`${TERMINAL}/Dockerfile`));
}

/** The default of a global `ARG NAME=default` of a parsed Dockerfile. */
export function argDefault(stages: Instruction[][], name: string): string {
  const arg = stages[0].find((i) => i.keyword === "ARG" && i.args.startsWith(`${name}=`));
  if (!arg) throw new Error(`no global ARG ${name}=`);
  return arg.args.slice(name.length + 1);
}

/** The stage named `name` (FROM ... AS name), or the last stage for "final". */
export function stage(stages: Instruction[][], name: string): Instruction[] {
  if (name === "final") return stages[stages.length - 1];
  const found = stages.find((s) => s[0]?.keyword === "FROM" && s[0].args.endsWith(` AS ${name}`));
  if (!found) throw new Error(`no stage ${name}`);
  return found;
}
