/**
 * The Job template in use. Admins edit it at run time through a ConfigMap,
 * which an informer keeps in a cache; each version is compiled once, when it
 * is first seen. A broken version is rejected with a Warning Event and a log
 * line and the last good template (the previous version, or the built-in
 * default if the ConfigMap did not exist) stays in use. A ConfigMap that is
 * broken from the start leaves no good template: CloudShells then wait with a
 * clear condition rather than silently getting the built-in default, which
 * may lack the admin's registry, resources or policies.
 */
import type { KubeObject } from "../kube/types.ts";
import { errorMessage, type Logger } from "../log.ts";
import { type CompiledTemplate, compileJobTemplate, DEFAULT_JOB_TEMPLATE_TEXT } from "./template/mod.ts";

/** A ConfigMap, as far as this module reads it. */
export interface ConfigMapLike extends KubeObject {
  data?: Record<string, string>;
}

/** The template to render, or why there is none. */
export type ActiveTemplate =
  | { ok: true; template: CompiledTemplate; origin: string }
  | { ok: false; reason: string };

/** Options of a template source. */
export interface TemplateSourceOptions {
  /** Reads the ConfigMap from the informer's cache (undefined when it does not exist). */
  read: () => ConfigMapLike | undefined;
  /** `namespace/name` of that ConfigMap, for the log line that says the built-in default is used without it. */
  configMapName: string;
  /** The configured key (`--job-template-key`). */
  key: string;
  /** Also accepted when the configured key is absent: upstream CloudTTY's `job-temp.yaml`. */
  fallbackKey: string;
  logger: Logger;
  /** Called once per rejected ConfigMap version (to record an Event on it). */
  onRejected?: (configMap: ConfigMapLike, message: string) => void;
}

const BUILT_IN = "built-in default";

/** Resolves the template to use from the cached ConfigMap. */
export class TemplateSource {
  readonly #opts: TemplateSourceOptions;
  readonly #builtIn: CompiledTemplate;
  /** resourceVersion of the ConfigMap last evaluated; "" for "absent", undefined before the first look. */
  #seenVersion: string | undefined;
  #lastGood: { template: CompiledTemplate; origin: string } | undefined;
  #active: ActiveTemplate = { ok: false, reason: "The Job template has not been loaded yet" };

  constructor(opts: TemplateSourceOptions) {
    this.#opts = opts;
    // The built-in template ships in the binary; if it does not compile that is a bug, not bad input.
    this.#builtIn = compileJobTemplate(DEFAULT_JOB_TEMPLATE_TEXT);
  }

  /** The template new Jobs are rendered from; re-evaluated only when the ConfigMap changed. */
  current(): ActiveTemplate {
    const configMap = this.#opts.read();
    const version = configMap ? configMap.metadata.resourceVersion ?? "?" : "";
    if (version === this.#seenVersion) return this.#active;
    this.#seenVersion = version;
    if (!configMap) {
      // Said with the name looked for: a ConfigMap in another namespace than the operator's is not seen.
      this.#accept(this.#builtIn, `${BUILT_IN} (there is no ConfigMap ${this.#opts.configMapName})`);
      return this.#active;
    }
    const origin = `ConfigMap ${configMap.metadata.namespace}/${configMap.metadata.name}`;
    const data = configMap.data ?? {};
    const key = [this.#opts.key, this.#opts.fallbackKey].find((k) => data[k] !== undefined);
    if (key === undefined) {
      this.#reject(configMap, `${origin} has neither key ${this.#opts.key} nor ${this.#opts.fallbackKey}`);
      return this.#active;
    }
    try {
      this.#accept(compileJobTemplate(data[key]), `${origin} key ${key}`);
    } catch (err) {
      this.#reject(configMap, `${origin} key ${key} is not a valid Job template: ${errorMessage(err)}`);
    }
    return this.#active;
  }

  #accept(template: CompiledTemplate, origin: string): void {
    this.#lastGood = { template, origin };
    this.#active = { ok: true, template, origin };
    this.#opts.logger.info("Job template in use", { origin });
  }

  #reject(configMap: ConfigMapLike, problem: string): void {
    const message = this.#lastGood
      ? `${problem}; keeping the last good template (${this.#lastGood.origin})`
      : `${problem}; no good template to fall back on, CloudShells wait until it is fixed`;
    this.#active = this.#lastGood ? { ok: true, ...this.#lastGood } : { ok: false, reason: problem };
    this.#opts.logger.error("Rejected Job template", { error: message });
    this.#opts.onRejected?.(configMap, message);
  }
}
