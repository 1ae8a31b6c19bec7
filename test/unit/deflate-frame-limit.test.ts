/**
 * The frame and message limits of a compressed message (RFC 7692 over
 * §10.4): the limits count the message once inflated, so the compressed
 * frames of a message at the limit may be larger than the limit (an
 * incompressible message grows when deflated). They are held to
 * deflateBound() of the limits instead; one byte over that still fails with
 * 1009 on the header, before any payload is read.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { deflateRawSync, constants as zlib } from 'node:zlib';
import { parseExtensionHeader } from '../../src/extensions/extension-header.js';
import { deflateCodec, negotiateDeflate } from '../../src/extensions/permessage-deflate-negotiation.js';
import { deflateBound } from '../../src/extensions/permessage-deflate.js';
import { OP, RSV1, clientFrame, endpoint, frameHeader, RFC_KEY } from '../helpers/protocol-harness.js';

const LIMIT = 64 * 1024;

/** RFC 7692 §7.2.1 compression with the given zlib settings (sync flush, tail removed). */
function compress(data: Buffer, options: { memLevel?: number; windowBits?: number; level?: number } = {}): Buffer {
  return deflateRawSync(data, { ...options, finishFlush: zlib.Z_SYNC_FLUSH }).subarray(0, -4);
}

/** The errors reported so far, as [code, close code]. */
const errorsOf = (listener: { errors: readonly { code: string; closeCode: number }[] }) => listener.errors.map((e) => [e.code, e.closeCode]);

function deflateEndpoint(limits: { maxMessageSize: number; maxFrameSize?: number }) {
  const extension = deflateCodec('server', negotiateDeflate(parseExtensionHeader('permessage-deflate'))!);
  return endpoint({ extension, logger: null, ...limits });
}

test('deflateBound() covers what zlib makes of random bytes, at every memLevel, window and level', () => {
  for (const size of [0, 1, 127, 128, 1000, 16 * 1024, 100_000]) {
    const data = randomBytes(size);
    for (const memLevel of [1, 2, 5, 8, 9]) {
      for (const windowBits of [9, 12, 15]) {
        for (const level of [0, 1, 6, 9]) {
          const compressed = compress(data, { memLevel, windowBits, level });
          assert.ok(compressed.length <= deflateBound(size), `${size} bytes, memLevel ${memLevel}, windowBits ${windowBits}, level ${level}: ${compressed.length} > ${deflateBound(size)}`);
        }
      }
    }
  }
  // zlib's fixed-block worst case: n + n/8 + n/256 + n/512 + 4, plus the sync flush.
  assert.equal(deflateBound(16 * 1024 * 1024), 18_972_682);
});

test('an incompressible message at maxMessageSize passes, in one compressed frame larger than the limit', () => {
  const message = randomBytes(LIMIT);
  // memLevel 1: stored blocks of 127 bytes, ~4% larger than the message.
  const compressed = compress(message, { memLevel: 1 });
  assert.ok(compressed.length > LIMIT);
  const { protocol, listener } = deflateEndpoint({ maxMessageSize: LIMIT });
  protocol.receiveData(clientFrame(OP.BINARY, compressed, { rsv: RSV1 }));
  assert.deepEqual(listener.errors, []);
  assert.equal(listener.events.length, 1);
  const event = listener.events[0];
  assert.ok(event.type === 'binary' && event.data.equals(message));
});

test('one byte over maxMessageSize still fails with 1009 once inflated', () => {
  const { protocol, listener } = deflateEndpoint({ maxMessageSize: LIMIT });
  protocol.receiveData(clientFrame(OP.BINARY, compress(randomBytes(LIMIT + 1), { memLevel: 1 }), { rsv: RSV1 }));
  assert.deepEqual(errorsOf(listener), [['WS_ERR_MESSAGE_TOO_BIG', 1009]]);
});

test('a compressed frame header: deflateBound(limit) passes, one byte more fails at once with 1009', () => {
  const bound = deflateBound(LIMIT);
  const atBound = deflateEndpoint({ maxMessageSize: LIMIT });
  atBound.protocol.receiveData(frameHeader({ opcode: OP.BINARY, rsv: RSV1, mask: RFC_KEY }, bound));
  assert.deepEqual(atBound.listener.errors, []);

  const over = deflateEndpoint({ maxMessageSize: LIMIT });
  over.protocol.receiveData(frameHeader({ opcode: OP.BINARY, rsv: RSV1, mask: RFC_KEY }, bound + 1));
  assert.deepEqual(errorsOf(over.listener), [['WS_ERR_FRAME_TOO_BIG', 1009]]);
  assert.match(over.listener.errors[0].message, new RegExp(`frame of ${bound + 1} bytes exceeds the limit of ${bound}`));

  // Byte by byte too: the length is judged as soon as it is complete.
  const dribble = deflateEndpoint({ maxMessageSize: LIMIT });
  for (const byte of frameHeader({ opcode: OP.BINARY, rsv: RSV1, mask: RFC_KEY }, bound + 1)) dribble.protocol.receiveData(Buffer.of(byte));
  assert.deepEqual(dribble.listener.errors.map((e) => e.code), ['WS_ERR_FRAME_TOO_BIG']);
});

test('an uncompressed frame is still held to the limit itself on a deflate connection', () => {
  const { protocol, listener } = deflateEndpoint({ maxMessageSize: LIMIT });
  protocol.receiveData(frameHeader({ opcode: OP.BINARY, mask: RFC_KEY }, LIMIT + 1));
  assert.deepEqual(errorsOf(listener), [['WS_ERR_FRAME_TOO_BIG', 1009]]);
});

test('continuations of a compressed message get its bound; of a plain message, the limit', () => {
  const frameLimit = 16 * 1024;
  const message = randomBytes(frameLimit);
  const compressed = compress(message, { memLevel: 1 });
  assert.ok(compressed.length > frameLimit);
  // The compressed message in two frames, the second larger than maxFrameSize (no RSV1 on it, RFC 7692 §6).
  const compressedEndpoint = deflateEndpoint({ maxMessageSize: LIMIT, maxFrameSize: frameLimit });
  compressedEndpoint.protocol.receiveData(
    Buffer.concat([
      clientFrame(OP.BINARY, compressed.subarray(0, 10), { rsv: RSV1, fin: false }),
      clientFrame(OP.CONT, compressed.subarray(10)),
    ]),
  );
  assert.deepEqual(compressedEndpoint.listener.errors, []);
  const event = compressedEndpoint.listener.events[0];
  assert.ok(event?.type === 'binary' && event.data.equals(message));

  const plain = deflateEndpoint({ maxMessageSize: LIMIT, maxFrameSize: frameLimit });
  plain.protocol.receiveData(clientFrame(OP.BINARY, Buffer.alloc(10), { fin: false }));
  plain.protocol.receiveData(frameHeader({ opcode: OP.CONT, mask: RFC_KEY }, frameLimit + 1));
  assert.deepEqual(plain.listener.errors.map((e) => e.code), ['WS_ERR_FRAME_TOO_BIG']);
});

test('the compressed bytes of a fragmented message are held to deflateBound(maxMessageSize)', () => {
  const bound = deflateBound(LIMIT);
  const { protocol, listener } = deflateEndpoint({ maxMessageSize: LIMIT });
  protocol.receiveData(clientFrame(OP.BINARY, Buffer.alloc(bound - 100), { rsv: RSV1, fin: false }));
  assert.deepEqual(errorsOf(listener), []);
  protocol.receiveData(frameHeader({ opcode: OP.CONT, mask: RFC_KEY }, 101));
  assert.deepEqual(errorsOf(listener), [['WS_ERR_MESSAGE_TOO_BIG', 1009]]);
});
