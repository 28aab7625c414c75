/**
 * docs/reference/cli.md from the operator's own `--help`, produced by the options module in-process (no
 * compiled binary), so the page is exactly what `cloudshell-operator --help` prints.
 */
import { parseOptions } from "../../controller/options.ts";
import { generatedBanner, paragraph } from "./markdown.ts";

/**
 * The operator namespace's default differs by where the operator runs (main.ts works it out); the page
 * says so rather than showing this machine's answer.
 */
const NAMESPACE_DEFAULT = "the pod's namespace; outside a pod, cloudshell-system";

/** The `--help` text, as the binary prints it (with `version` for `--version`'s line, if any). */
export function helpText(version: string): string {
  const result = parseOptions(["--help"], { version, defaultNamespace: NAMESPACE_DEFAULT });
  if (result.kind !== "exit" || result.code !== 0) throw new Error("--help did not print the help");
  return result.output.trimEnd();
}

/** Renders docs/reference/cli.md. */
export function renderCliReference(version: string): string {
  return [
    generatedBanner("controller/options.ts (the operator's --help)"),
    "",
    "# The operator's flags",
    "",
    paragraph(
      "`cloudshell-operator --help`, as it prints. Bad flags exit with code 2 and a one-line reason. " +
        "The main flags are explained in [getting-started.md](../getting-started.md#configuration); " +
        "the chart sets them from [its values](chart-values.md).",
    ),
    "",
    "```text",
    helpText(version),
    "```",
    "",
  ].join("\n");
}
