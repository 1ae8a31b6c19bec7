/**
 * The certificate generator (src/tls/self-signed-cert.ts, DER in
 * src/tls/der.ts) must itself be right, or TLS fails at random: a random
 * serial number that began with a zero byte was written with that byte kept,
 * which DER forbids (X.690 §8.3.2) and OpenSSL refuses as "illegal padding",
 * about one certificate in 256. These pin the INTEGER encoding to its minimal
 * form, parse many certificates, and check the two fingerprints it reports
 * against ones computed independently here.
 */
import assert from 'node:assert/strict';
import { createHash, createPrivateKey, createPublicKey, X509Certificate } from 'node:crypto';
import { describe, it } from 'node:test';
import { integer } from '../../src/tls/der.js';
import { createSelfSignedCert, spkiSha256Of } from '../../src/tls/self-signed-cert.js';
import { createSelfSignedCert as helperCert } from '../helpers/self-signed-cert.js';

const hex = (b: Buffer): string => b.toString('hex');

describe('self-signed certificate', { timeout: 30_000 }, () => {
  it('writes each non-negative INTEGER in its one minimal form', () => {
    assert.equal(hex(integer(Buffer.from([0x02]))), '020102');
    assert.equal(hex(integer(Buffer.from([0x00, 0x12]))), '020112'); // the leading zero goes
    assert.equal(hex(integer(Buffer.from([0x00, 0x00, 0x80]))), '02020080'); // one zero stays: the top bit is set
    assert.equal(hex(integer(Buffer.from([0x80]))), '02020080');
    assert.equal(hex(integer(Buffer.from([0x00, 0x00]))), '020100'); // zero is one byte
  });

  it('makes certificates OpenSSL parses, with localhost and 127.0.0.1 as names', () => {
    for (let i = 0; i < 300; i++) {
      const certificate = new X509Certificate(createSelfSignedCert().cert);
      assert.equal(certificate.checkHost('localhost'), 'localhost');
      assert.equal(certificate.checkIP('127.0.0.1'), '127.0.0.1');
      assert.ok(certificate.ca);
    }
  });

  it('reports the certificate SHA-256 fingerprint and the base64 SHA-256 of its public key (SPKI)', () => {
    const made = createSelfSignedCert();
    const der = new X509Certificate(made.cert).raw;
    const colonHex = createHash('sha256').update(der).digest('hex').toUpperCase().match(/../g)!.join(':');
    assert.equal(made.fingerprint256, colonHex);
    // The public key taken from the private key, not from the certificate: the pair matches.
    const spki = createPublicKey(createPrivateKey(made.key)).export({ type: 'spki', format: 'der' });
    assert.equal(made.spkiSha256, createHash('sha256').update(spki).digest('base64'));
    assert.equal(Buffer.from(made.spkiSha256, 'base64').length, 32);
    assert.equal(spkiSha256Of(new X509Certificate(made.cert)), made.spkiSha256);
    assert.notEqual(createSelfSignedCert().spkiSha256, made.spkiSha256, 'a new key each time');
  });

  it('takes another host name, address and validity, and refuses an address that is not IPv4', () => {
    const made = new X509Certificate(createSelfSignedCert({ hostName: 'dev.test', ip: '10.0.0.7', validDays: 30 }).cert);
    assert.equal(made.checkHost('dev.test'), 'dev.test');
    assert.equal(made.checkHost('localhost'), undefined);
    assert.equal(made.checkIP('10.0.0.7'), '10.0.0.7');
    const days = (Date.parse(made.validTo) - Date.now()) / 86_400_000;
    assert.ok(days > 29.9 && days <= 30, `valid for ${days} days`);
    assert.throws(() => createSelfSignedCert({ ip: '::1' }), TypeError);
    assert.throws(() => createSelfSignedCert({ ip: '1.2.3.256' }), TypeError);
    assert.throws(() => createSelfSignedCert({ validDays: 0 }), RangeError);
  });

  it('the test helper still takes the host name and address as arguments', () => {
    const certificate = new X509Certificate(helperCert('localhost', '127.0.0.1').cert);
    assert.equal(certificate.checkHost('localhost'), 'localhost');
  });
});
