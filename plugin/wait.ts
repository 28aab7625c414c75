/**
 * Waiting for a shell to become Ready, with progress on stderr: what it waits for (the operator's own
 * words from the Ready condition) and the time spent. On a terminal the line is rewritten in place;
 * otherwise a line is printed when the state changes, and every 10 s.
 */
import { type CloudShell, CloudShells } from "../controller/cloudshell/api.ts";
import { isNotFound, type KubeClient } from "../controller/kube/mod.ts";
import { ExitCode, PluginError } from "./exit_codes.ts";
import { readiness } from "./shell.ts";

/** Where progress goes. */
export interface Progress {
  /** Writes text to stderr. */
  write(text: string): void;
  /** Whether stderr is a terminal (lines are rewritten in place). */
  isTerminal: boolean;
}

const POLL_MS = 500;
const REPEAT_MS = 10_000;

/** Polls the shell until it is Ready (returned) or failed, gone or out of time (thrown PluginError). */
export async function waitForReady(
  client: KubeClient,
  namespace: string,
  name: string,
  timeoutMs: number,
  progress: Progress,
  signal?: AbortSignal,
): Promise<CloudShell> {
  const started = Date.now();
  let lastLine = "";
  let lastState = "";
  let lastPrinted = 0;
  /** `state` is the line without the time: a new state is printed at once, the same one every 10 s. */
  const say = (line: string, state: string) => {
    if (progress.isTerminal) {
      progress.write(`\r\x1b[K${line}`);
    } else if (state !== lastState || Date.now() - lastPrinted >= REPEAT_MS) {
      progress.write(`${line}\n`);
      lastPrinted = Date.now();
    }
    lastLine = line;
    lastState = state;
  };
  const elapsed = () => `${Math.floor((Date.now() - started) / 1000)}s`;
  while (true) {
    if (signal?.aborted) throw new PluginError(ExitCode.failure, "interrupted while waiting for Ready");
    let cs: CloudShell;
    try {
      cs = await client.get<CloudShell>(CloudShells, namespace, name);
    } catch (err) {
      if (isNotFound(err)) {
        if (progress.isTerminal && lastLine) progress.write("\n");
        throw new PluginError(
          ExitCode.notFound,
          `cloudshell "${name}" not found in namespace "${namespace}"`,
        );
      }
      throw err;
    }
    const state = readiness(cs);
    if (state.state === "ready") {
      if (lastLine) {
        progress.write(
          `${progress.isTerminal ? "\r\x1b[K" : ""}cloudshell/${name}: Ready after ${elapsed()}\n`,
        );
      }
      return cs;
    }
    if (state.state === "failed") {
      if (progress.isTerminal && lastLine) progress.write("\n");
      throw new PluginError(
        ExitCode.notReady,
        `cloudshell/${name} is not Ready: ${state.reason}: ${state.message}`,
      );
    }
    if (Date.now() - started >= timeoutMs) {
      if (progress.isTerminal && lastLine) progress.write("\n");
      throw new PluginError(
        ExitCode.notReady,
        `cloudshell/${name} not Ready after ${elapsed()} (--timeout): ${state.reason}: ${state.message}`,
      );
    }
    // Without a word from the operator for a while, say where to look.
    const hint = state.reason === "NoStatus" && Date.now() - started > 15_000
      ? " (is the cloudshell operator running and watching this namespace?)"
      : "";
    const waiting = `Waiting for cloudshell/${name} to be Ready: ${state.message} [${state.reason}]`;
    say(`${waiting} ${elapsed()}${hint}`, waiting + hint);
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
}
