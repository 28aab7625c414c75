/**
 * The plugin's exit codes, which scripts may rely on (docs/kubectl-plugin.md lists them). Every failure
 * prints one line on stderr saying what went wrong.
 */
export const ExitCode = {
  /** Done; for open and create, also after Ctrl-C ends the forward. */
  ok: 0,
  /** Anything else: the API server answered an error, the forward broke, the browser did not start. */
  failure: 1,
  /** A bad flag or argument, or a kubeconfig that cannot be used. */
  usage: 2,
  /** The shell did not become Ready: it failed, ended, has a problem, or --timeout passed. */
  notReady: 3,
  /** The API server refused: the user lacks a right (create cloudshells, pods/portforward, ...). */
  forbidden: 4,
  /** The named shell does not exist. */
  notFound: 5,
} as const;

export type ExitCodeValue = (typeof ExitCode)[keyof typeof ExitCode];

/** An error that ends the program with its exit code and message. */
export class PluginError extends Error {
  readonly code: ExitCodeValue;
  constructor(code: ExitCodeValue, message: string) {
    super(message);
    this.name = "PluginError";
    this.code = code;
  }
}
