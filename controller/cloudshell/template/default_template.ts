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

/** The launcher as the repository (and the terminal image) has it, comments and all. */
export const LAUNCHER_SOURCE: string = launcher;

/**
 * The launcher that starts ttyd: the value of `{{ .Launcher }}`, so every Job and its pod carry it inline
 * (`sh -c`), which works with any image that has a shell, CloudTTY's included. Its comments are taken out:
 * they are half of the file, and every pod and Job watch event, etcd write and cache entry of every shell
 * would carry them (about 6 KB of a pod's 19 KB). One file, so that the built-in template and the terminal
 * image run the same script.
 */
export const LAUNCHER_SCRIPT: string = withoutCommentLines(launcher);

/**
 * A shell script without its comment lines and blank lines; the lines left are unchanged, so the pod spec
 * still reads as the file. Whole lines only: a `#` after code stays. A blank or `#` line inside a multi-line
 * quoted string would go too, so tests/cloudshell/template/default_template_test.ts checks that bash reads
 * the launcher and its compact form as the same commands.
 */
export function withoutCommentLines(script: string): string {
  return script.split("\n").filter((line) => !/^\s*(#|$)/.test(line)).join("\n") + "\n";
}
