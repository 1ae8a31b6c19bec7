/**
 * The test helper that makes certificates (test/helpers/self-signed-cert.ts)
 * must itself be right, or TLS tests fail at random: a random serial number
 * that began with a zero byte was written with that byte kept, which DER
 * forbids (X.690 §8.3.2) and OpenSSL refuses as "illegal padding", about one
 * certificate in 256. These pin the INTEGER encoding to its minimal form and
 * parse many certificates.
 */
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { describe, it } from 'node:test';
import { createSelfSignedCert, integer } from '../helpers/self-signed-cert.js';

const hex = (b: Buffer): string => b.toString('hex');

describe('self-signed certificate helper', { timeout: 30_000 }, () => {
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
});
