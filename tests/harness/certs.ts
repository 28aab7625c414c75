/**
 * Certificates and keys for the test control plane, made with the openssl
 * command line: a CA, the API server's serving certificate, an admin client
 * certificate in `system:masters`, and the service-account signing key pair.
 */

/** Paths of the generated files. */
export interface CertFiles {
  caCert: string;
  caKey: string;
  serverCert: string;
  serverKey: string;
  adminCert: string;
  adminKey: string;
  saKey: string;
  saPub: string;
}

async function openssl(args: string[], cwd: string): Promise<void> {
  const out = await new Deno.Command("openssl", { args, cwd, stdout: "null", stderr: "piped" }).output();
  if (!out.success) {
    throw new Error(`openssl ${args[0]} failed: ${new TextDecoder().decode(out.stderr)}`);
  }
}

/** Writes all certificates into `dir` and returns their paths. */
export async function generateCerts(dir: string, serviceIp: string): Promise<CertFiles> {
  const f = (name: string) => `${dir}/${name}`;
  const days = "3650";
  await openssl(
    [
      "req",
      "-x509",
      "-newkey",
      "rsa:2048",
      "-nodes",
      "-keyout",
      "ca.key",
      "-out",
      "ca.crt",
      "-days",
      days,
      "-subj",
      "/CN=cloudshell-test-ca",
    ],
    dir,
  );
  await Deno.writeTextFile(
    f("server.ext"),
    `subjectAltName=IP:127.0.0.1,IP:${serviceIp},DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc\n` +
      "extendedKeyUsage=serverAuth\n",
  );
  await Deno.writeTextFile(f("client.ext"), "extendedKeyUsage=clientAuth\n");
  const signed = async (name: string, subj: string, ext: string) => {
    await openssl([
      "req",
      "-newkey",
      "rsa:2048",
      "-nodes",
      "-keyout",
      `${name}.key`,
      "-out",
      `${name}.csr`,
      "-subj",
      subj,
    ], dir);
    await openssl(
      [
        "x509",
        "-req",
        "-in",
        `${name}.csr`,
        "-CA",
        "ca.crt",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-out",
        `${name}.crt`,
        "-days",
        days,
        "-extfile",
        ext,
      ],
      dir,
    );
  };
  await signed("server", "/CN=kube-apiserver", "server.ext");
  await signed("admin", "/O=system:masters/CN=cloudshell-test-admin", "client.ext");
  await openssl(["genrsa", "-out", "sa.key", "2048"], dir);
  await openssl(["rsa", "-in", "sa.key", "-pubout", "-out", "sa.pub"], dir);
  return {
    caCert: f("ca.crt"),
    caKey: f("ca.key"),
    serverCert: f("server.crt"),
    serverKey: f("server.key"),
    adminCert: f("admin.crt"),
    adminKey: f("admin.key"),
    saKey: f("sa.key"),
    saPub: f("sa.pub"),
  };
}
