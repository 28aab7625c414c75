/**
 * Fills the krew manifest template (hack/release/krew/cloudshell.yaml) for a release: the version, the
 * repository, and the SHA-256 of each platform's plugin archive in DIST. Fails, naming it, when an
 * archive is missing or a placeholder is left, so a manifest never points at a file that is not there.
 *
 *   deno run --allow-read --allow-write hack/release/krew.ts VERSION OWNER/REPO DIST OUT
 */
import { parse } from "yaml";

const TEMPLATE = new URL("./krew/cloudshell.yaml", import.meta.url);

/** The manifest for `version` of `repository`, with each archive's digest from `sha256(file name)`. */
export async function fillKrewManifest(
  version: string,
  repository: string,
  sha256: (file: string) => Promise<string>,
): Promise<string> {
  let text = await Deno.readTextFile(TEMPLATE);
  text = text.replaceAll("${VERSION}", version).replaceAll("${REPOSITORY}", repository);
  for (const [placeholder, target] of [...text.matchAll(/\$\{SHA256_([a-z0-9_-]+)\}/g)]) {
    const ext = target.includes("-windows-") ? "zip" : "tar.gz";
    text = text.replace(placeholder, await sha256(`kubectl-cloudshell-${version}-${target}.${ext}`));
  }
  const left = /\$\{[^}]*\}/.exec(text);
  if (left) throw new Error(`krew manifest: ${left[0]} was not filled`);
  parse(text);
  return text;
}

/** The hex SHA-256 of a file. */
export async function fileSha256(path: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", await Deno.readFile(path));
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

if (import.meta.main) {
  const [version, repository, dist, out] = Deno.args;
  if (!out) {
    console.error("usage: krew.ts VERSION OWNER/REPO DIST OUT");
    Deno.exit(2);
  }
  try {
    await Deno.writeTextFile(
      out,
      await fillKrewManifest(version, repository, (f) => fileSha256(`${dist}/${f}`)),
    );
  } catch (err) {
    console.error(`krew.ts: ${(err as Error).message}`);
    Deno.exit(1);
  }
}
