/**
 * The built-in Job template (templates/job_default.yaml), used when the job template ConfigMap is absent, and
 * the launcher script it runs (templates/launcher.sh). Imported as text so that `deno compile` embeds it and reading it needs no file permission.
 *
 * @module
 */

import text from "../../../templates/job_default.yaml" with { type: "text" };
import launcher from "../../../templates/launcher.sh" with { type: "text" };

/** Text of the built-in Job template. */
export const DEFAULT_JOB_TEMPLATE_TEXT: string = text;

/**
 * The launcher script that starts ttyd (templates/launcher.sh): the value of `{{ .Launcher }}`. One file, so
 * that the built-in template and the terminal image run the same script.
 */
export const LAUNCHER_SCRIPT: string = launcher;
