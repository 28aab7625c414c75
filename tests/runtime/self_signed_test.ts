import assert from "node:assert/strict";
import { selfSignedCertificate } from "../../controller/runtime/self_signed.ts";

Deno.test("selfSignedCertificate serves TLS that verifies against itself, for each of its names", async () => {
  const pair = await selfSignedCertificate({
    commonName: "test-server",
    hosts: ["localhost", "127.0.0.1", "::1"],
  });
  assert.match(pair.cert, /^-----BEGIN CERTIFICATE-----\n[A-Za-z0-9+/=\n]+-----END CERTIFICATE-----\n$/);
  assert.match(pair.key, /^-----BEGIN PRIVATE KEY-----\n/);
  await using server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, cert: pair.cert, key: pair.key, onListen: () => {} },
    () => new Response("ok"),
  );
  const client = Deno.createHttpClient({ caCerts: [pair.cert] });
  try {
    for (const host of ["localhost", "127.0.0.1"]) {
      const res = await fetch(`https://${host}:${server.addr.port}/`, { client });
      assert.equal(await res.text(), "ok", host);
    }
  } finally {
    client.close();
  }
  // Without trusting it, a client refuses it.
  await assert.rejects(fetch(`https://127.0.0.1:${server.addr.port}/`));
});

Deno.test("selfSignedCertificate makes a new key each time", async () => {
  const a = await selfSignedCertificate({ commonName: "x", hosts: ["localhost"] });
  const b = await selfSignedCertificate({ commonName: "x", hosts: ["localhost"] });
  assert.notEqual(a.key, b.key);
});
