/**
 * A self-signed serving certificate made in memory at start, for an HTTPS endpoint that was given no
 * certificate (controller-runtime's metrics server does the same): an ECDSA P-256 key from WebCrypto and
 * an X.509 v3 certificate DER-encoded here, since neither Deno nor the web platform builds certificates.
 * The key never leaves the process. Clients cannot verify such a certificate (Prometheus scrapes it with
 * `insecure_skip_verify`, as kubebuilder's ServiceMonitor does); give a real one for verified TLS.
 *
 * @module
 */

/** A certificate and its private key, PEM-encoded, as `Deno.serve` takes them. */
export interface KeyPair {
  cert: string;
  key: string;
}

/** Options of {@linkcode selfSignedCertificate}. */
export interface SelfSignedOptions {
  /** Subject common name. */
  commonName: string;
  /** DNS names and IP addresses for the subjectAltName extension. */
  hosts: readonly string[];
  /** Validity from one hour ago. @default {365 days} */
  validDays?: number;
  /** @default {new Date()} */
  now?: Date;
}

/**
 * Creates a self-signed certificate and key.
 *
 * @param options subject, names and validity
 */
export async function selfSignedCertificate(options: SelfSignedOptions): Promise<KeyPair> {
  const keys = await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, true, [
    "sign",
    "verify",
  ]) as CryptoKeyPair;
  const spki = new Uint8Array(await crypto.subtle.exportKey("spki", keys.publicKey));
  const now = options.now ?? new Date();
  const notBefore = new Date(now.getTime() - 3600_000);
  const notAfter = new Date(now.getTime() + (options.validDays ?? 365) * 86400_000);
  const serial = crypto.getRandomValues(new Uint8Array(16));
  serial[0] &= 0x7f; // positive
  const name = seq(set(seq(oid("2.5.4.3"), tlv(0x0c, utf8(options.commonName)))));
  const ecdsaWithSha256 = seq(oid("1.2.840.10045.4.3.2"));
  const sans = options.hosts.map((host) => {
    const ip = ipBytes(host);
    return ip ? tlv(0x87, ip) : tlv(0x82, utf8(host));
  });
  const extensions = seq(
    // subjectAltName
    seq(oid("2.5.29.17"), tlv(0x04, seq(...sans))),
    // extKeyUsage: serverAuth
    seq(oid("2.5.29.37"), tlv(0x04, seq(oid("1.3.6.1.5.5.7.3.1")))),
  );
  const tbs = seq(
    tlv(0xa0, integer(new Uint8Array([2]))),
    integer(serial),
    ecdsaWithSha256,
    name,
    seq(time(notBefore), time(notAfter)),
    name,
    spki,
    tlv(0xa3, extensions),
  );
  const raw = new Uint8Array(
    await crypto.subtle.sign({ name: "ECDSA", hash: "SHA-256" }, keys.privateKey, tbs),
  );
  // WebCrypto signs as r || s; X.509 wants SEQUENCE { INTEGER r, INTEGER s }.
  const signature = seq(integer(raw.slice(0, 32)), integer(raw.slice(32)));
  const cert = seq(tbs, ecdsaWithSha256, tlv(0x03, concat(new Uint8Array([0]), signature)));
  const key = new Uint8Array(await crypto.subtle.exportKey("pkcs8", keys.privateKey));
  return { cert: pem("CERTIFICATE", cert), key: pem("PRIVATE KEY", key) };
}

function concat(...parts: Uint8Array[]): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** One DER element: tag, definite length, contents. */
function tlv(tag: number, ...contents: Uint8Array[]): Uint8Array<ArrayBuffer> {
  const body = concat(...contents);
  const n = body.length;
  let length: Uint8Array;
  if (n < 0x80) length = new Uint8Array([n]);
  else if (n < 0x100) length = new Uint8Array([0x81, n]);
  else if (n < 0x10000) length = new Uint8Array([0x82, n >> 8, n & 0xff]);
  else throw new Error("DER element too long");
  return concat(new Uint8Array([tag]), length, body);
}

const seq = (...items: Uint8Array[]) => tlv(0x30, ...items);
const set = (...items: Uint8Array[]) => tlv(0x31, ...items);
const utf8 = (s: string) => new TextEncoder().encode(s);

/** An unsigned big-endian integer as a DER INTEGER (no superfluous zeros; a zero before a high bit). */
function integer(bytes: Uint8Array): Uint8Array {
  let start = 0;
  while (start < bytes.length - 1 && bytes[start] === 0) start++;
  const trimmed = bytes.slice(start);
  return tlv(0x02, trimmed[0] & 0x80 ? concat(new Uint8Array([0]), trimmed) : trimmed);
}

function oid(dotted: string): Uint8Array {
  const [a, b, ...rest] = dotted.split(".").map(Number);
  const out = [40 * a + b];
  for (const n of rest) {
    const chunk = [n & 0x7f];
    for (let v = n >>> 7; v > 0; v >>>= 7) chunk.unshift((v & 0x7f) | 0x80);
    out.push(...chunk);
  }
  return tlv(0x06, new Uint8Array(out));
}

/** UTCTime before 2050, GeneralizedTime from then on (RFC 5280 4.1.2.5). */
function time(d: Date): Uint8Array {
  const iso = d.toISOString(); // YYYY-MM-DDTHH:MM:SS.sssZ
  const digits = iso.slice(0, 19).replace(/[-:T]/g, "") + "Z";
  return d.getUTCFullYear() < 2050 ? tlv(0x17, utf8(digits.slice(2))) : tlv(0x18, utf8(digits));
}

/** The bytes of an IPv4 or IPv6 literal, or undefined for a DNS name. */
function ipBytes(host: string): Uint8Array | undefined {
  if (/^\d{1,3}(\.\d{1,3}){3}$/.test(host)) return new Uint8Array(host.split(".").map(Number));
  if (!host.includes(":")) return undefined;
  const [head, tail = ""] = host.split("::");
  const groups = (s: string) => (s === "" ? [] : s.split(":").map((g) => parseInt(g, 16)));
  const left = groups(head);
  const right = host.includes("::") ? groups(tail) : [];
  const all = [...left, ...new Array(8 - left.length - right.length).fill(0), ...right];
  return new Uint8Array(all.flatMap((g) => [g >> 8, g & 0xff]));
}

function pem(label: string, der: Uint8Array): string {
  const b64 = btoa(String.fromCharCode(...der));
  const lines = b64.match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${label}-----\n${lines.join("\n")}\n-----END ${label}-----\n`;
}
