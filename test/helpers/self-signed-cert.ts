/**
 * A self-signed X.509 certificate made at test time with node:crypto alone
 * (no openssl binary, no dependency): an ECDSA P-256 key, and a v3
 * certificate for `localhost` and `127.0.0.1` (subjectAltName, RFC 5280
 * §4.2.1.6) valid from an hour ago for a day, signed with its own key.
 *
 * DER (X.690) is written by hand: each value is tag, length, contents.
 * Clients trust it by passing it as `ca`, so tests verify the certificate
 * and the host name for real instead of turning verification off.
 */
import { generateKeyPairSync, randomBytes, sign, X509Certificate } from 'node:crypto';

export interface SelfSignedCert {
  /** PEM private key (PKCS#8). */
  key: string;
  /** PEM certificate. */
  cert: string;
}

// ─── DER ────────────────────────────────────────────────────────────────────

function der(tag: number, ...contents: Buffer[]): Buffer {
  const body = Buffer.concat(contents);
  const n = body.length;
  let length: Buffer;
  if (n < 0x80) length = Buffer.from([n]);
  else if (n < 0x100) length = Buffer.from([0x81, n]);
  else if (n < 0x10000) length = Buffer.from([0x82, n >> 8, n & 0xff]);
  else throw new Error('DER value too long for this helper');
  return Buffer.concat([Buffer.from([tag]), length, body]);
}

const sequence = (...items: Buffer[]): Buffer => der(0x30, ...items);
const set = (...items: Buffer[]): Buffer => der(0x31, ...items);
const utf8String = (s: string): Buffer => der(0x0c, Buffer.from(s, 'utf8'));
const octetString = (b: Buffer): Buffer => der(0x04, b);
const bitString = (b: Buffer): Buffer => der(0x03, Buffer.from([0]), b); // 0 unused bits
const boolean = (v: boolean): Buffer => der(0x01, Buffer.from([v ? 0xff : 0]));
/** Context-specific constructed tag [n] EXPLICIT. */
const explicit = (n: number, inner: Buffer): Buffer => der(0xa0 | n, inner);

/**
 * A non-negative INTEGER in its one minimal encoding (X.690 §8.3.2: the first
 * nine bits are never all 0 or all 1). Leading zero bytes go, then a 0x00 goes
 * back in front if the top bit is set (two's complement). A random serial
 * starting with 0x00 0x12 is otherwise "illegal padding" to OpenSSL: one
 * certificate in 256 failed to parse before this.
 */
export function integer(bytes: Buffer): Buffer {
  let start = 0;
  while (start < bytes.length - 1 && bytes[start] === 0) start++;
  const minimal = bytes.subarray(start);
  return der(0x02, minimal[0] & 0x80 ? Buffer.concat([Buffer.from([0]), minimal]) : minimal);
}

function oid(dotted: string): Buffer {
  const parts = dotted.split('.').map(Number);
  const out = [parts[0] * 40 + parts[1]];
  for (const part of parts.slice(2)) {
    const base128 = [part & 0x7f];
    for (let v = part >>> 7; v > 0; v >>>= 7) base128.unshift((v & 0x7f) | 0x80);
    out.push(...base128);
  }
  return der(0x06, Buffer.from(out));
}

/** UTCTime YYMMDDHHMMSSZ (RFC 5280 §4.1.2.5.1: years up to 2049). */
function utcTime(date: Date): Buffer {
  const iso = date.toISOString(); // 2025-01-02T03:04:05.678Z
  const s = iso.slice(2, 4) + iso.slice(5, 7) + iso.slice(8, 10) + iso.slice(11, 13) + iso.slice(14, 16) + iso.slice(17, 19) + 'Z';
  return der(0x17, Buffer.from(s, 'latin1'));
}

// ─── the certificate ────────────────────────────────────────────────────────

const ECDSA_WITH_SHA256 = '1.2.840.10045.4.3.2';
const COMMON_NAME = '2.5.4.3';
const SUBJECT_ALT_NAME = '2.5.29.17';
const BASIC_CONSTRAINTS = '2.5.29.19';

export function createSelfSignedCert(hostName = 'localhost', ip = '127.0.0.1'): SelfSignedCert {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const algorithm = sequence(oid(ECDSA_WITH_SHA256));
  const name = sequence(set(sequence(oid(COMMON_NAME), utf8String(hostName))));
  const now = Date.now();
  const validity = sequence(utcTime(new Date(now - 3_600_000)), utcTime(new Date(now + 86_400_000)));
  const altNames = sequence(
    der(0x82, Buffer.from(hostName, 'latin1')), // [2] dNSName
    der(0x87, Buffer.from(ip.split('.').map(Number))), // [7] iPAddress
  );
  const extensions = explicit(
    3,
    sequence(
      sequence(oid(BASIC_CONSTRAINTS), boolean(true), octetString(sequence(boolean(true)))), // critical, CA: it is its own trust anchor
      sequence(oid(SUBJECT_ALT_NAME), octetString(altNames)),
    ),
  );
  const serial = randomBytes(16);
  serial[0] &= 0x7f;
  const tbs = sequence(
    explicit(0, integer(Buffer.from([2]))), // version v3
    integer(serial),
    algorithm,
    name, // issuer = subject: self-signed
    validity,
    name,
    publicKey.export({ type: 'spki', format: 'der' }),
    extensions,
  );
  const signature = sign('sha256', tbs, privateKey); // ECDSA-Sig-Value, DER, as X.509 wants
  const certificate = sequence(tbs, algorithm, bitString(signature));
  const cert = `-----BEGIN CERTIFICATE-----\n${certificate.toString('base64').replace(/.{64}/g, '$&\n')}\n-----END CERTIFICATE-----\n`.replace('\n\n', '\n');
  const key = privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;
  // Fail here, not in a TLS handshake, if the DER above is wrong.
  if (!new X509Certificate(cert).verify(publicKey)) throw new Error('self-signed certificate does not verify');
  return { key, cert };
}
