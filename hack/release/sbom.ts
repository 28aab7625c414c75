/**
 * Writes the CycloneDX SBOM of the operator binary: what `deno compile` puts into it, which is the Deno
 * runtime of toolchain/package.json, the project's own code, and the npm packages locked in deno.lock (with
 * their integrity hashes). Generic scanners see none of that inside a compiled binary, so it is read from the
 * lock file the binary was compiled from.
 *
 *   deno run --allow-read --allow-write hack/release/sbom.ts dist/cloudshell-operator-0.1.0.cdx.json
 */
import { Buffer } from "node:buffer";

const REPO = new URL("../../", import.meta.url);

interface LockedPackage {
  integrity?: string;
  dependencies?: string[];
}

interface Component {
  type: "application" | "library" | "framework";
  "bom-ref": string;
  name: string;
  version: string;
  purl: string;
  description?: string;
  hashes?: { alg: string; content: string }[];
}

/** `name@version` of a deno.lock npm key; scoped names keep their leading `@`. */
function splitKey(key: string): { name: string; version: string } {
  const at = key.lastIndexOf("@");
  if (at <= 0) throw new Error(`deno.lock: npm entry "${key}" has no version`);
  return { name: key.slice(0, at), version: key.slice(at + 1).split("_")[0] };
}

function npmPurl(name: string, version: string): string {
  return `pkg:npm/${name.startsWith("@") ? `%40${name.slice(1)}` : name}@${version}`;
}

/** An SRI integrity string (`sha512-<base64>`) as a CycloneDX hash. */
function hashOf(integrity: string): { alg: string; content: string } {
  const [alg, b64] = integrity.split("-", 2);
  const names: Record<string, string> = {
    sha512: "SHA-512",
    sha384: "SHA-384",
    sha256: "SHA-256",
    sha1: "SHA-1",
  };
  if (!names[alg] || !b64) throw new Error(`deno.lock: unsupported integrity "${integrity}"`);
  return { alg: names[alg], content: Buffer.from(b64, "base64").toString("hex") };
}

/** The SBOM as a JSON-ready object. */
export async function operatorSbom(): Promise<Record<string, unknown>> {
  const config = JSON.parse(await Deno.readTextFile(new URL("deno.json", REPO)));
  const lock = JSON.parse(await Deno.readTextFile(new URL("deno.lock", REPO)));
  const toolchain = JSON.parse(await Deno.readTextFile(new URL("toolchain/package.json", REPO)));
  const npm = (lock.npm ?? {}) as Record<string, LockedPackage>;

  const root = `cloudshell-operator@${config.version}`;
  const deno = toolchain.devDependencies.deno as string;
  const runtime: Component = {
    type: "framework",
    "bom-ref": `deno@${deno}`,
    name: "deno",
    version: deno,
    purl: `pkg:github/denoland/deno@v${deno}`,
    description: "the Deno runtime (denort) that deno compile embeds",
  };
  const refOf = new Map<string, string>(); // "name" and "name@version" -> bom-ref
  const components: Component[] = [runtime];
  for (const [key, pkg] of Object.entries(npm)) {
    const { name, version } = splitKey(key);
    const ref = npmPurl(name, version);
    refOf.set(name, ref);
    refOf.set(`${name}@${version}`, ref);
    components.push({
      type: "library",
      "bom-ref": ref,
      name,
      version,
      purl: ref,
      ...(pkg.integrity ? { hashes: [hashOf(pkg.integrity)] } : {}),
    });
  }
  const resolve = (dep: string): string => {
    const ref = refOf.get(dep) ?? refOf.get(dep.replace(/^npm:/, ""));
    if (!ref) throw new Error(`deno.lock: dependency "${dep}" is not locked`);
    return ref;
  };
  const direct = ((lock.workspace?.dependencies ?? []) as string[]).map((d) => resolve(d));
  const dependencies = [
    { ref: root, dependsOn: [runtime["bom-ref"], ...direct] },
    ...Object.entries(npm).map(([key, pkg]) => ({
      ref: resolve(key),
      dependsOn: (pkg.dependencies ?? []).map(resolve),
    })),
  ];
  return {
    bomFormat: "CycloneDX",
    specVersion: "1.6",
    version: 1,
    metadata: {
      tools: { components: [{ type: "application", name: "cloudshell-operator hack/release/sbom.ts" }] },
      component: {
        type: "application",
        "bom-ref": root,
        name: "cloudshell-operator",
        version: config.version,
        description: config.description ??
          "Kubernetes operator that turns CloudShell resources into browser terminals",
      },
    },
    components,
    dependencies,
  };
}

if (import.meta.main) {
  const out = Deno.args[0];
  if (!out || Deno.args.length !== 1) {
    console.error("usage: deno run --allow-read --allow-write hack/release/sbom.ts <output.cdx.json>");
    Deno.exit(2);
  }
  await Deno.writeTextFile(out, JSON.stringify(await operatorSbom(), null, 2) + "\n");
}
