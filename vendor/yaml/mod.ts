/**
 * The `yaml` package (eemeli/yaml) of deno.json's `npm:yaml@2.9.1`, loaded as plain ES modules: the
 * package's own browser build (browser/, with its LICENSE and package.json), copied unchanged. The operator
 * and the kubectl plugin import it from here, not through `npm:`, because the first npm module a Deno
 * process loads starts Deno's Node compatibility layer, which costs about 6 MB of RSS for good
 * (docs/performance.md, "Memory").
 * Types come from the same npm package (types only: nothing of it runs). tests/vendor/yaml_test.ts checks
 * that every file here is byte for byte the locked package's; to update, bump the version in deno.json and
 * copy the new package's browser/ directory, LICENSE and package.json here.
 *
 * @module
 */
// @ts-types="npm:yaml@2.9.1"
export * from "./browser/dist/index.js";
