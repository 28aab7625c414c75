/**
 * The shape a rendered template must have: a `batch/v1` Job whose Pod template has the terminal container
 * `web-tty`, and the error raised when a template does not get there.
 *
 * @module
 */

/** A JSON scalar. */
export type JsonPrimitive = string | number | boolean | null;
/** A JSON value, as rendered manifests hold. */
export type JsonValue = JsonPrimitive | JsonValue[] | JsonObject;
/** A JSON object. */
export interface JsonObject {
  [key: string]: JsonValue;
}

/**
 * A Job manifest that passed {@link validateJob}. Only the fields checked there are typed; optional fields
 * that are null count as absent, as the API server treats them.
 */
export interface JobObject extends JsonObject {
  apiVersion: "batch/v1";
  kind: "Job";
  spec: JsonObject & { template: JsonObject & { spec: PodSpecObject } };
}

/** The Pod spec of a validated Job. */
export interface PodSpecObject extends JsonObject {
  containers: JsonObject[];
}

/** Name of the container that runs ttyd; upstream's post-render steps and probes target it. */
export const TERMINAL_CONTAINER = "web-tty";

/** A template that cannot be compiled or does not yield a valid Job. `line` is 1-based when known. */
export class TemplateError extends Error {
  /** 1-based line in the template text where the problem is, when known. */
  readonly line: number | undefined;

  /** Creates the error; the message already names the line when there is one. */
  constructor(message: string, line?: number, options?: ErrorOptions) {
    super(message, options);
    this.name = "TemplateError";
    this.line = line;
  }
}

/**
 * Checks that `obj` is a `batch/v1` Job with a Pod template whose containers include exactly one named
 * `web-tty`, and returns it typed. Throws a TemplateError naming the first problem found.
 */
export function validateJob(obj: unknown): JobObject {
  if (!isObject(obj)) throw invalid("it is not a mapping");
  if (obj.apiVersion !== "batch/v1") {
    throw invalid(`apiVersion is ${describe(obj.apiVersion)}, not "batch/v1"`);
  }
  if (obj.kind !== "Job") throw invalid(`kind is ${describe(obj.kind)}, not "Job"`);
  if (obj.metadata != null && !isObject(obj.metadata)) throw invalid("metadata is not a mapping");
  const spec = field(obj, "spec", "spec");
  const template = field(spec, "template", "spec.template");
  if (template.metadata != null && !isObject(template.metadata)) {
    throw invalid("spec.template.metadata is not a mapping");
  }
  const podSpec = field(template, "spec", "spec.template.spec");
  const restartPolicy = podSpec.restartPolicy;
  if (restartPolicy != null && restartPolicy !== "Never" && restartPolicy !== "OnFailure") {
    throw invalid(
      `spec.template.spec.restartPolicy is ${describe(restartPolicy)}; a Job needs Never or OnFailure`,
    );
  }
  if (podSpec.volumes != null && !Array.isArray(podSpec.volumes)) {
    throw invalid("spec.template.spec.volumes is not a list");
  }
  const containers = podSpec.containers;
  if (!Array.isArray(containers) || containers.length === 0) {
    throw invalid("spec.template.spec.containers is missing or empty");
  }
  const names = new Set<string>();
  for (const [i, container] of containers.entries()) {
    if (!isObject(container) || typeof container.name !== "string" || container.name === "") {
      throw invalid(`spec.template.spec.containers[${i}] has no name`);
    }
    if (names.has(container.name)) throw invalid(`container name ${describe(container.name)} is used twice`);
    names.add(container.name);
  }
  if (!names.has(TERMINAL_CONTAINER)) throw invalid(`no container is named "${TERMINAL_CONTAINER}"`);
  const terminal = containers.find((container) =>
    isObject(container) && container.name === TERMINAL_CONTAINER
  );
  if (isObject(terminal)) {
    for (const list of ["env", "volumeMounts", "command", "args"]) {
      if (terminal[list] != null && !Array.isArray(terminal[list])) {
        throw invalid(`container "${TERMINAL_CONTAINER}" has a ${list} that is not a list`);
      }
    }
    if (terminal.image != null && typeof terminal.image !== "string") {
      throw invalid(`container "${TERMINAL_CONTAINER}" has an image that is not a string`);
    }
  }
  return obj as JobObject;
}

/** The `web-tty` container of a validated Job (the object inside `job`, not a copy). */
export function terminalContainer(job: JobObject): JsonObject {
  const container = job.spec.template.spec.containers.find((c) => c.name === TERMINAL_CONTAINER);
  if (container === undefined) {
    throw new TemplateError(`The Job has no container named "${TERMINAL_CONTAINER}"`);
  }
  return container;
}

/** Returns whether `value` is a JSON object (not an array, not null). */
export function isObject(value: unknown): value is JsonObject {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function field(parent: JsonObject, key: string, path: string): JsonObject {
  const value = parent[key];
  if (!isObject(value)) throw invalid(`${path} is ${value === undefined ? "missing" : "not a mapping"}`);
  return value;
}

function describe(value: unknown): string {
  return value === undefined ? "missing" : JSON.stringify(value);
}

function invalid(reason: string): TemplateError {
  return new TemplateError(`Template does not render a valid Job: ${reason}`);
}
