/**
 * Frame header encoding (RFC 6455 §5.2), checked byte for byte against the
 * RFC's own examples (§5.7) and at every boundary of the length forms.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MAX_HEADER_BYTES, headerSize, writeFrameHeader } from '../../src/framing/frame-encoder.js';
import { applyMask } from '../../src/framing/mask.js';
import { OP, RFC_KEY, hex, toHex } from '../helpers/protocol-harness.js';

/** Encode a whole frame with the code under test: header, then the payload (masked if a key is given). */
function encode(fin: boolean, opcode: number, payload: Uint8Array, maskKey: Uint8Array | null, rsv = 0): Buffer {
  const size = headerSize(payload.length, maskKey !== null);
  const out = Buffer.alloc(size + payload.length);
  const payloadStart = writeFrameHeader(out, 0, fin, rsv, opcode, payload.length, maskKey);
  assert.equal(payloadStart, size, 'writeFrameHeader returns the offset just past the header, as headerSize said');
  out.set(payload, payloadStart);
  if (maskKey !== null) applyMask(out, payloadStart, out.length, maskKey, 0);
  return out;
}

function assertBytes(actual: Uint8Array, expected: Uint8Array, message?: string): void {
  assert.equal(toHex(actual), toHex(expected), message);
}

describe('headerSize (§5.2: "the minimal number of bytes MUST be used to encode the length")', () => {
  const cases: Array<[number, number]> = [
    [0, 2],
    [1, 2],
    [125, 2], // largest 7-bit length
    [126, 4], // smallest 16-bit length
    [65535, 4], // largest 16-bit length
    [65536, 10], // smallest 64-bit length
    [2 ** 32 - 1, 10],
    [2 ** 32, 10],
    [2 ** 32 + 1, 10],
    [Number.MAX_SAFE_INTEGER, 10],
  ];
  for (const [length, size] of cases) {
    it(`${length} bytes: ${size} unmasked, ${size + 4} masked`, () => {
      assert.equal(headerSize(length, false), size);
      assert.equal(headerSize(length, true), size + 4);
    });
  }

  it('never exceeds MAX_HEADER_BYTES (14)', () => {
    assert.equal(MAX_HEADER_BYTES, 14);
    assert.equal(headerSize(2 ** 40, true), MAX_HEADER_BYTES);
  });
});

describe('writeFrameHeader', () => {
  it('writes each length form at its boundaries', () => {
    const cases: Array<[number, string]> = [
      [0, '82 00'],
      [125, '82 7d'],
      [126, '82 7e 00 7e'],
      [65535, '82 7e ff ff'],
      [65536, '82 7f 00 00 00 00 00 01 00 00'],
      [2 ** 32 - 1, '82 7f 00 00 00 00 ff ff ff ff'],
      [2 ** 32, '82 7f 00 00 00 01 00 00 00 00'],
      [2 ** 32 + 1, '82 7f 00 00 00 01 00 00 00 01'],
      [2 ** 53 - 1, '82 7f 00 1f ff ff ff ff ff ff'],
    ];
    for (const [length, expected] of cases) {
      const out = Buffer.alloc(14);
      const end = writeFrameHeader(out, 0, true, 0, OP.BINARY, length, null);
      assertBytes(out.subarray(0, end), hex(expected), `length ${length}`);
      assert.equal(end, headerSize(length, false));
    }
  });

  it('sets the MASK bit and appends the key after every length form', () => {
    const cases: Array<[number, string]> = [
      [5, '81 85 37 fa 21 3d'],
      [126, '81 fe 00 7e 37 fa 21 3d'],
      [65536, '81 ff 00 00 00 00 00 01 00 00 37 fa 21 3d'],
    ];
    for (const [length, expected] of cases) {
      const out = Buffer.alloc(14);
      const end = writeFrameHeader(out, 0, true, 0, OP.TEXT, length, RFC_KEY);
      assertBytes(out.subarray(0, end), hex(expected), `length ${length}`);
      assert.equal(end, headerSize(length, true));
    }
  });

  it('encodes FIN, each RSV bit and every opcode in byte 0', () => {
    for (let opcode = 0; opcode < 16; opcode++) {
      for (let rsv = 0; rsv < 8; rsv++) {
        for (const fin of [false, true]) {
          const out = Buffer.alloc(2);
          writeFrameHeader(out, 0, fin, rsv, opcode, 0, null);
          assert.equal(out[0], (fin ? 0x80 : 0) | (rsv << 4) | opcode, `fin ${fin} rsv ${rsv} opcode ${opcode}`);
          assert.equal(out[1], 0);
        }
      }
    }
  });

  it('writes at an offset without touching the bytes around the header', () => {
    const out = Buffer.alloc(30, 0xee);
    const end = writeFrameHeader(out, 7, false, 0, OP.CONT, 300, RFC_KEY);
    assert.equal(end, 7 + 8);
    assertBytes(out.subarray(7, end), hex('00 fe 01 2c 37 fa 21 3d'));
    assert.ok(out.subarray(0, 7).every((b) => b === 0xee), 'bytes before the header are untouched');
    assert.ok(out.subarray(end).every((b) => b === 0xee), 'bytes after the header are untouched');
  });
});

describe('RFC 6455 §5.7 examples, byte for byte', () => {
  const hello = Buffer.from('Hello');

  it('a single-frame unmasked text message', () => {
    assertBytes(encode(true, OP.TEXT, hello, null), hex('81 05 48 65 6c 6c 6f'));
  });

  it('a single-frame masked text message', () => {
    assertBytes(encode(true, OP.TEXT, hello, RFC_KEY), hex('81 85 37 fa 21 3d 7f 9f 4d 51 58'));
  });

  it('a fragmented unmasked text message', () => {
    assertBytes(encode(false, OP.TEXT, Buffer.from('Hel'), null), hex('01 03 48 65 6c'));
    assertBytes(encode(true, OP.CONT, Buffer.from('lo'), null), hex('80 02 6c 6f'));
  });

  it('an unmasked Ping request', () => {
    assertBytes(encode(true, OP.PING, hello, null), hex('89 05 48 65 6c 6c 6f'));
  });

  it('a masked Ping response (Pong)', () => {
    assertBytes(encode(true, OP.PONG, hello, RFC_KEY), hex('8a 85 37 fa 21 3d 7f 9f 4d 51 58'));
  });

  it('256 bytes binary message in a single unmasked frame', () => {
    const payload = Buffer.alloc(256, 0x5a);
    const frame = encode(true, OP.BINARY, payload, null);
    assertBytes(frame.subarray(0, 4), hex('82 7E 01 00'));
    assert.equal(frame.length, 4 + 256);
    assert.deepEqual(frame.subarray(4), payload);
  });

  it('64KiB binary message in a single unmasked frame', () => {
    const payload = Buffer.alloc(65536, 0xc3);
    const frame = encode(true, OP.BINARY, payload, null);
    assertBytes(frame.subarray(0, 10), hex('82 7F 00 00 00 00 00 01 00 00'));
    assert.equal(frame.length, 10 + 65536);
    assert.deepEqual(frame.subarray(10), payload);
  });
});
