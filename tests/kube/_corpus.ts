/**
 * The kubeconfig corpus of tests/kube/testdata/corpus: several files (a KUBECONFIG list whose files name
 * the same entries), relative paths, each way of authenticating, impersonation, a proxy, and fields the
 * operator refuses. `writeCorpus` copies it into a folder with the live parts filled in (server, proxy,
 * token, certificates); each case says which files and context to use, as kubectl would be told.
 */
import type { SelectedContext } from "../../controller/kube/kubeconfig.ts";

const TESTDATA = new URL("./testdata/corpus/", import.meta.url).pathname;

/** One way of pointing kubectl (and the operator) at the corpus. */
export interface CorpusCase {
  name: string;
  /** KUBECONFIG entries relative to the corpus folder, or `--kubeconfig` when `explicit`. */
  files: string[];
  explicit?: boolean;
  context?: string;
  /** The operator refuses this one at start, with a message matching this. */
  refused?: RegExp;
  /** Whether its credentials are real on the test cluster (the others are for loading rules only). */
  live: boolean;
}

export const CORPUS: CorpusCase[] = [
  {
    name: "merged list, current context of the first file",
    files: ["team/config", "cloud/config"],
    live: true,
  },
  {
    name: "merged list, a missing first file skipped",
    files: ["nowhere/config", "team/config", "cloud/config"],
    live: true,
  },
  { name: "impersonation", files: ["team/config", "cloud/config"], context: "impersonated", live: true },
  { name: "exec plugin v1, token", files: ["team/config", "cloud/config"], context: "exec-v1", live: true },
  {
    name: "exec plugin v1beta1, client certificate",
    files: ["team/config", "cloud/config"],
    context: "exec-cert",
    live: true,
  },
  { name: "tokenFile", files: ["team/config", "cloud/config"], context: "token-file", live: true },
  { name: "token", files: ["team/config", "cloud/config"], context: "static-token", live: true },
  { name: "proxy-url", files: ["team/config", "cloud/config"], context: "proxy", live: true },
  // Alone, the second file's own "admin" (a token that is no credential) is used.
  {
    name: "--kubeconfig ignores KUBECONFIG",
    files: ["cloud/config"],
    explicit: true,
    context: "proxy",
    live: false,
  },
  ...[
    ["tls-server-name", /tls-server-name is not supported/],
    ["insecure-skip-tls-verify", /insecure-skip-tls-verify is not supported/],
    ["auth-provider", /auth-provider \(oidc\) is not supported/],
    ["interactive-always", /interactiveMode Always needs a terminal/],
  ].map(([context, refused]) => ({
    name: `refused: ${context}`,
    files: ["refused/config"],
    context: context as string,
    refused: refused as RegExp,
    live: false,
  })),
];

/** What the corpus needs from the environment. */
export interface CorpusValues {
  server: string;
  proxy: string;
  /** A bearer token (`token`, and the first content of the token file). */
  token: string;
  caPem: string;
  adminCertPem: string;
  adminKeyPem: string;
}

/** Copies the corpus into `dir` with the placeholders filled in and pki/ and state/ created. */
export async function writeCorpus(dir: string, values: CorpusValues): Promise<void> {
  await copyTree(
    TESTDATA,
    dir,
    (text) =>
      text.replaceAll("__SERVER__", values.server).replaceAll("__PROXY__", values.proxy)
        .replaceAll("__TOKEN__", values.token),
  );
  await Deno.mkdir(`${dir}/pki`, { recursive: true });
  await Deno.mkdir(`${dir}/state`, { recursive: true });
  await Deno.writeTextFile(`${dir}/pki/ca.crt`, values.caPem);
  await Deno.writeTextFile(`${dir}/pki/admin.crt`, values.adminCertPem);
  await Deno.writeTextFile(`${dir}/pki/admin.key`, values.adminKeyPem);
  await Deno.writeTextFile(`${dir}/state/token`, `${values.token}\n`);
  for (const plugin of ["token.sh", "cert.sh"]) await Deno.chmod(`${dir}/cloud/plugins/${plugin}`, 0o755);
}

async function copyTree(from: string, to: string, edit: (text: string) => string): Promise<void> {
  await Deno.mkdir(to, { recursive: true });
  for await (const entry of Deno.readDir(from)) {
    const src = `${from}/${entry.name}`;
    const dst = `${to}/${entry.name}`;
    if (entry.isDirectory) await copyTree(src, dst, edit);
    else await Deno.writeTextFile(dst, edit(await Deno.readTextFile(src)));
  }
}

/** The KUBECONFIG value (or --kubeconfig path) of a case, in `dir`. */
export function caseFiles(dir: string, c: CorpusCase): string[] {
  return c.files.map((f) => `${dir}/${f}`);
}

/**
 * A selected context in the shape of `kubectl config view --minify --flatten --raw -o json`: file
 * references replaced by their base64 contents, and the fields client-go prints with zero values
 * (`provideClusterInfo: false`, `env: null`) and the exec defaults filled in.
 */
export async function flattenLikeKubectl(s: SelectedContext): Promise<Record<string, unknown>> {
  const cluster: Record<string, unknown> = { ...s.cluster };
  const user: Record<string, unknown> = { ...s.user };
  const embed = async (obj: Record<string, unknown>, field: string) => {
    const path = obj[field];
    if (typeof path !== "string") return;
    delete obj[field];
    obj[`${field}-data`] = btoa(await Deno.readTextFile(path));
  };
  await embed(cluster, "certificate-authority");
  await embed(user, "client-certificate");
  await embed(user, "client-key");
  return {
    clusters: [{ name: s.clusterName, cluster }],
    contexts: [{ name: s.contextName, context: s.context }],
    "current-context": s.contextName,
    users: [{ name: s.userName, user }],
  };
}

/** Drops what only differs in how empty values are printed (null, false, "", [], {}) and kind/apiVersion. */
export function normalize(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(normalize);
  if (value === null || typeof value !== "object") return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    const n = normalize(v);
    const empty = n === null || n === false || n === "" ||
      (Array.isArray(n) && n.length === 0) ||
      (typeof n === "object" && n !== null && !Array.isArray(n) && Object.keys(n).length === 0);
    if (!empty) out[k] = n;
  }
  return out;
}
