/**
 * Telling h2c (prior knowledge) from HTTP/1.1 by the first bytes (RFC 9113
 * §3.3–§3.4), whole and one byte at a time.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { HTTP2_PREFACE, sniffHttp2Preface } from '../../src/handshake/http2-preface.js';

/** Feed `bytes` one at a time, as a dribbling client would; the verdicts after each byte. */
function byteByByte(bytes: Buffer): string[] {
  const verdicts: string[] = [];
  for (let i = 1; i <= bytes.length; i++) verdicts.push(sniffHttp2Preface(bytes.subarray(0, i)));
  return verdicts;
}

describe('sniffHttp2Preface', () => {
  it('is the 24 bytes RFC 9113 §3.4 gives', () => {
    assert.equal(HTTP2_PREFACE.toString('hex'), '505249202a20485454502f322e300d0a0d0a534d0d0a0d0a');
    assert.equal(HTTP2_PREFACE.length, 24);
  });

  it('the preface, followed by frames: h2; any shorter prefix of it: need-more', () => {
    const settings = Buffer.from('000000040000000000', 'hex');
    assert.equal(sniffHttp2Preface(Buffer.concat([HTTP2_PREFACE, settings])), 'h2');
    const verdicts = byteByByte(HTTP2_PREFACE);
    assert.deepEqual(verdicts.slice(0, 23), Array(23).fill('need-more'));
    assert.equal(verdicts[23], 'h2');
    assert.equal(sniffHttp2Preface(Buffer.alloc(0)), 'need-more');
  });

  it('an HTTP/1.1 request: h1 at its first byte that differs (no wait for 24 bytes)', () => {
    assert.equal(sniffHttp2Preface(Buffer.from('G')), 'h1');
    assert.deepEqual(byteByByte(Buffer.from('GET / HTTP/1.1\r\n')), Array(16).fill('h1'));
    // PRI as a method, then anything but the preface: decided where it departs.
    const verdicts = byteByByte(Buffer.from('PRI * HTTP/1.1\r\n'));
    assert.deepEqual(verdicts.slice(0, 11), Array(11).fill('need-more')); // 'PRI * HTTP/'
    assert.equal(verdicts[11], 'h1'); // '1', where the preface has '2'
  });

  it('a TLS ClientHello on the cleartext port is h1 (the HTTP/1.1 path answers it)', () => {
    assert.equal(sniffHttp2Preface(Buffer.from([0x16, 0x03, 0x01])), 'h1');
  });
});
