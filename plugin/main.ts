/**
 * kubectl-cloudshell: a kubectl plugin that creates, opens, lists, extends and deletes CloudShells, and
 * reaches their terminals through the API server (pods/portforward) when they have no URL of their own.
 *
 * Wiring only: reads the command line and the environment (nothing else in the plugin does), loads the
 * kubeconfig as kubectl does, runs the command, and maps the outcome to an exit code (exit_codes.ts).
 */
import denoConfig from "../deno.json" with { type: "json" };
import {
  ExecPluginError,
  KubeClient,
  KubeconfigError,
  loadClusterConnection,
} from "../controller/kube/mod.ts";
import { errorMessage } from "../controller/log.ts";
import { parseArgs } from "./args.ts";
import { apiFailure, create, extend, list, open, type PluginContext, remove } from "./commands.ts";
import { ExitCode, PluginError } from "./exit_codes.ts";

const PROGRAM = "kubectl-cloudshell";
const encoder = new TextEncoder();

/** Writes all of `text` (a single writeSync may write only part of it). */
function writeAll(file: typeof Deno.stdout, text: string): void {
  const bytes = encoder.encode(text);
  for (let at = 0; at < bytes.length;) at += file.writeSync(bytes.subarray(at));
}

/** The user's browser: xdg-open on Linux, open on macOS, the URL handler on Windows. */
async function openBrowser(url: string): Promise<void> {
  const [program, ...args] = Deno.build.os === "darwin"
    ? ["open", url]
    : Deno.build.os === "windows"
    ? ["rundll32", "url.dll,FileProtocolHandler", url]
    : ["xdg-open", url];
  const out = await new Deno.Command(program, { args, stdin: "null", stdout: "null", stderr: "null" })
    .output();
  if (!out.success) throw new Error(`${program} exited with code ${out.code}`);
}

async function main(): Promise<number> {
  const parsed = parseArgs(Deno.args, denoConfig.version);
  if (parsed.kind === "exit") {
    (parsed.code === 0 ? console.log : console.error)(parsed.output);
    return parsed.code;
  }
  const { invocation } = parsed;
  const env = Deno.env.toObject();
  let connection;
  try {
    connection = await loadClusterConnection({
      kubeconfigPath: invocation.global.kubeconfig,
      context: invocation.global.context,
      env,
      kubectlOrder: true,
      // An exec plugin that asks for a login (interactiveMode IfAvailable or Always) may, as with kubectl.
      terminal: Deno.stdin.isTerminal(),
    });
    await connection.credentials?.get();
  } catch (err) {
    if (err instanceof KubeconfigError || err instanceof ExecPluginError) {
      console.error(`error: ${err.message}`);
      return ExitCode.usage;
    }
    throw err;
  }
  // kubectl's namespace: -n, else the context's, else (in a pod) POD_NAMESPACE or the service account's.
  const namespace = invocation.global.namespace ??
    (connection.source === "in-cluster" ? env.POD_NAMESPACE || connection.namespace : connection.namespace) ??
    "default";
  const userAgent = `${PROGRAM}/${denoConfig.version}`;
  const client = new KubeClient(connection, { qps: 20, burst: 40, userAgent, fieldManager: PROGRAM });
  const stop = new AbortController();
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    if (Deno.build.os === "windows" && signal === "SIGTERM") continue;
    Deno.addSignalListener(signal, () => stop.abort());
  }
  const ctx: PluginContext = {
    client,
    connection,
    namespace,
    global: invocation.global,
    out: (text) => writeAll(Deno.stdout, text),
    err: {
      write: (text) => writeAll(Deno.stderr, text),
      isTerminal: Deno.stderr.isTerminal(),
    },
    openBrowser,
    signal: stop.signal,
    userAgent,
  };
  try {
    switch (invocation.command) {
      case "create":
        return await create(ctx, invocation.flags);
      case "open":
        return await open(ctx, invocation.name, invocation.flags);
      case "list":
        return await list(ctx);
      case "extend":
        return await extend(ctx, invocation.name, invocation.bySeconds);
      case "delete":
        return await remove(ctx, invocation.names);
    }
  } finally {
    client.close();
  }
}

try {
  Deno.exit(await main());
} catch (caught) {
  const err = apiFailure(caught, "the API server refused");
  if (err instanceof PluginError) {
    console.error(`error: ${err.message}`);
    Deno.exit(err.code);
  }
  console.error(`error: ${errorMessage(err)}`);
  Deno.exit(ExitCode.failure);
}
