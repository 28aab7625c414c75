/**
 * What `--version` prints: the release version alone on the first line (so scripts can take it with
 * `head -n 1`), then the commit and the Deno, V8 and TypeScript versions the operator runs on, which in a
 * compiled binary or the image are the ones it was built with.
 */

/** Where a build came from. */
export interface BuildInfo {
  /** deno.json's version. */
  version: string;
  /** The git commit it was built from; undefined or empty when the build did not say. */
  commit: string | undefined;
  /** `Deno.version`. */
  deno: string;
  v8: string;
  typescript: string;
}

/** The text of `--version`. */
export function versionText(build: BuildInfo): string {
  return [
    build.version,
    `commit: ${build.commit || "unknown"}`,
    `deno: ${build.deno}`,
    `v8: ${build.v8}`,
    `typescript: ${build.typescript}`,
  ].join("\n");
}
