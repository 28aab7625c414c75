/**
 * Volumes as files, without a cluster: keys and items with their modes, the
 * downward API, and a projected token renewed at 80% of its life.
 */
import assert from "node:assert/strict";
import type { IssuedToken, PodObjects } from "./objects.ts";
import type { Pod } from "./types.ts";
import { PodVolumes } from "./volumes.ts";

const encode = (s: string) => new TextEncoder().encode(s);

function objects(tokenLifeMs: number, issued: string[]): PodObjects {
  return {
    secretData: () => Promise.resolve({ user: encode("alice"), pass: encode("s3cret") }),
    configMapData: () => Promise.resolve({ colour: encode("blue") }),
    serviceAccountToken: (_pod, audience, seconds): Promise<IssuedToken> => {
      issued.push(`${audience}/${seconds}`);
      return Promise.resolve({
        token: `token-${issued.length}`,
        expiresAt: new Date(Date.now() + tokenLifeMs),
      });
    },
  };
}

const pod: Pod = {
  metadata: { name: "p", namespace: "ns", uid: "u", labels: { app: "x" } },
  spec: {
    containers: [{ name: "c" }],
    volumes: [
      { name: "creds", secret: { secretName: "s", items: [{ key: "user", path: "sub/user", mode: 0o400 }] } },
      { name: "all", secret: { secretName: "s", defaultMode: 0o440 } },
      { name: "settings", configMap: { name: "c" } },
      {
        name: "info",
        downwardAPI: { items: [{ path: "labels", fieldRef: { fieldPath: "metadata.labels" } }] },
      },
      {
        name: "sa",
        projected: {
          sources: [
            { serviceAccountToken: { path: "token", audience: "aud", expirationSeconds: 600 } },
            { configMap: { name: "c", items: [{ key: "colour", path: "ca.crt" }] } },
          ],
        },
      },
    ],
  },
};

Deno.test("volumes: keys, items, modes, downward API, and a token renewed before it expires", async () => {
  const dir = await Deno.makeTempDir();
  const issued: string[] = [];
  const { volumes, paths } = await PodVolumes.materialise(
    pod,
    dir,
    objects(2_000, issued),
    "127.0.0.9",
    () => {},
  );
  try {
    const read = (path: string) => Deno.readTextFile(path);
    const mode = async (path: string) => (await Deno.stat(path)).mode! & 0o777;
    assert.equal(await read(`${paths.get("creds")}/sub/user`), "alice");
    assert.equal(await mode(`${paths.get("creds")}/sub/user`), 0o400);
    await assert.rejects(Deno.stat(`${paths.get("creds")}/pass`), "only the listed items");
    assert.equal(await read(`${paths.get("all")}/pass`), "s3cret");
    assert.equal(await mode(`${paths.get("all")}/pass`), 0o440);
    assert.equal(await read(`${paths.get("settings")}/colour`), "blue");
    assert.equal(await read(`${paths.get("info")}/labels`), 'app="x"');
    assert.equal(await read(`${paths.get("sa")}/ca.crt`), "blue");
    assert.equal(await read(`${paths.get("sa")}/token`), "token-1");
    assert.deepEqual(issued, ["aud/600"]);
    // A 2 s token is renewed after 80% of it (1.6 s), and the file is replaced, never half written.
    await new Promise((r) => setTimeout(r, 1_900));
    assert.equal(await read(`${paths.get("sa")}/token`), "token-2");
  } finally {
    volumes[Symbol.dispose]();
    await Deno.remove(dir, { recursive: true });
  }
});
