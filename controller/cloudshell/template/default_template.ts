/**
 * The built-in Job template (templates/job_default.yaml), used when the job template ConfigMap is absent.
 * Imported as text so that `deno compile` embeds it and reading it needs no file permission.
 *
 * @module
 */

import text from "../../../templates/job_default.yaml" with { type: "text" };

/** Text of the built-in Job template. */
export const DEFAULT_JOB_TEMPLATE_TEXT: string = text;
