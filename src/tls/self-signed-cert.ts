/**
 * A self-signed X.509 certificate made with node:crypto alone (no openssl
 * binary, no dependency), for serving TLS on a development machine, in
 * tests, and from `npm start -- --http2`: browsers speak HTTP/2 only over
 * TLS (ALPN `h2`), so trying WebSockets over HTTP/2 (RFC 8441) needs a
 * certificate before anything else.
 *
 * An ECDSA P-256 key, and a v3 certificate for one host name and one IPv4
 * address (subjectAltName, RFC 5280 §4.2.1.6; `localhost` and `127.0.0.1`
 * unless told otherwise) valid from an hour ago for a day (or `validDays`),
 * signed with its own key. Nothing trusts it until told to: a Node client by
 * `ca: cert`, Chromium by `--ignore-certificate-errors-spki-list=<spkiSha256>`,
 * curl by `-k`. Never a production certificate.
 *
 * The DER is written by hand (der.ts); the result is parsed and its
 * signature checked here, so a mistake fails at once rather than in a TLS
 * handshake.
 */
import { createHash, generateKeyPairSync, randomBytes, sign, X509Certificate } from 'node:crypto';
import { bitString, boolean, der, explicit, integer, octetString, oid, sequence, set, utcTime, utf8String } from './der.js';

export interface SelfSignedCertOptions {
  /** The DNS name in the certificate (subject CN and subjectAltName). Default `localhost`. */
  hostName?: string;
  /** The IPv4 address in subjectAltName. Default `127.0.0.1`. */
  ip?: string;
  /** Days it stays valid, from now (it is valid from an hour ago, for clock skew). Default 1. */
  validDays?: number;
}

export interface SelfSignedCert {
  /** PEM private key (PKCS#8): `tls.key`. */
  key: string;
  /** PEM certificate: `tls.cert`, and `ca` for a client that should trust it. */
  cert: string;
  /**
   * SHA-256 of the certificate's DER, as `X509Certificate.fingerprint256`
   * writes it (`AB:CD:…`): what a browser's certificate viewer shows, for a
   * person to compare.
   */
  fingerprint256: string;
  /**
   * SHA-256 of the DER SubjectPublicKeyInfo, base64: the value Chromium's
   * `--ignore-certificate-errors-spki-list` takes (and the pin-sha256 form of
   * RFC 7469 §2.4).
   */
  spkiSha256: string;
}

const ECDSA_WITH_SHA256 = '1.2.840.10045.4.3.2';
const COMMON_NAME = '2.5.4.3';
const SUBJECT_ALT_NAME = '2.5.29.17';
const BASIC_CONSTRAINTS = '2.5.29.19';
const HOUR_MS = 3_600_000;
const DAY_MS = 86_400_000;

export function createSelfSignedCert(options: SelfSignedCertOptions = {}): SelfSignedCert {
  const { hostName = 'localhost', ip = '127.0.0.1', validDays = 1 } = options;
  const ipBytes = ip.split('.').map(Number);
  if (ipBytes.length !== 4 || ipBytes.some((b) => !Number.isInteger(b) || b < 0 || b > 255)) {
    throw new TypeError(`ip must be an IPv4 address such as 127.0.0.1, not ${JSON.stringify(ip)}`);
  }
  if (!(validDays > 0)) throw new RangeError(`validDays must be a positive number, not ${validDays}`);

  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const spki = publicKey.export({ type: 'spki', format: 'der' });
  const algorithm = sequence(oid(ECDSA_WITH_SHA256));
  const name = sequence(set(sequence(oid(COMMON_NAME), utf8String(hostName))));
  const now = Date.now();
  const validity = sequence(utcTime(new Date(now - HOUR_MS)), utcTime(new Date(now + validDays * DAY_MS)));
  const altNames = sequence(
    der(0x82, Buffer.from(hostName, 'latin1')), // [2] dNSName
    der(0x87, Buffer.from(ipBytes)), // [7] iPAddress
  );
  const extensions = explicit(
    3,
    sequence(
      sequence(oid(BASIC_CONSTRAINTS), boolean(true), octetString(sequence(boolean(true)))), // critical, CA: it is its own trust anchor
      sequence(oid(SUBJECT_ALT_NAME), octetString(altNames)),
    ),
  );
  const serial = randomBytes(16);
  serial[0] &= 0x7f; // a positive INTEGER (RFC 5280 §4.1.2.2)
  const tbs = sequence(
    explicit(0, integer(Buffer.from([2]))), // version v3
    integer(serial),
    algorithm,
    name, // issuer = subject: self-signed
    validity,
    name,
    spki,
    extensions,
  );
  const signature = sign('sha256', tbs, privateKey); // ECDSA-Sig-Value, DER, as X.509 wants
  const certificate = sequence(tbs, algorithm, bitString(signature));
  const cert = `-----BEGIN CERTIFICATE-----\n${certificate.toString('base64').replace(/.{64}/g, '$&\n')}\n-----END CERTIFICATE-----\n`.replace('\n\n', '\n');
  const key = privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;
  // Fail here, not in a TLS handshake, if the DER above is wrong.
  const parsed = new X509Certificate(cert);
  if (!parsed.verify(publicKey)) throw new Error('self-signed certificate does not verify');
  return { key, cert, fingerprint256: parsed.fingerprint256, spkiSha256: spkiSha256Of(parsed) };
}

/**
 * The base64 SHA-256 of a certificate's SubjectPublicKeyInfo (for a
 * certificate given with `--cert`, which this module did not make).
 */
export function spkiSha256Of(certificate: X509Certificate): string {
  const spki = certificate.publicKey.export({ type: 'spki', format: 'der' });
  return createHash('sha256').update(spki).digest('base64');
}
