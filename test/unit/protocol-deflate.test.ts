import { test } from 'node:test';
import assert from 'node:assert/strict';
import { deflateRawSync, inflateRawSync, constants as zlib } from 'node:zlib';
import { parseExtensionHeader } from '../../src/extensions/extension-header.js';
import { deflateCodec, negotiateDeflate } from '../../src/extensions/permessage-deflate-negotiation.js';
import { WebSocketProtocol, type ProtocolListener } from '../../src/protocol/protocol.js';
import { citeSection } from '../../src/errors.js';

const MASK = Buffer.from([0x11, 0x22, 0x33, 0x44]);

/** A masked client frame with any FIN/RSV/opcode. */
function frame(opcode: number, payload: Buffer, { fin = true, rsv = 0 } = {}): Buffer {
  const len = payload.length;
  const head = len < 126 ? Buffer.from([0, 0x80 | len]) : Buffer.from([0, 0x80 | 126, len >> 8, len & 0xff]);
  head[0] = (fin ? 0x80 : 0) | (rsv << 4) | opcode;
  const body = Buffer.from(payload);
  for (let i = 0; i < body.length; i++) body[i] ^= MASK[i & 3];
  return Buffer.concat([head, MASK, body]);
}

const compress = (data: Buffer | string) => deflateRawSync(Buffer.from(data), { finishFlush: zlib.Z_SYNC_FLUSH }).subarray(0, -4);

function endpoint(threshold = 1024) {
  const events: Array<string | Buffer> = [];
  const errors: string[] = [];
  let inputReady: () => void = () => {};
  /** Resolves once the extension finished work off the event loop (onInputReady). */
  const nextInputReady = () => new Promise<void>((resolve) => (inputReady = resolve));
  const listener: ProtocolListener = {
    onInputReady: () => inputReady(),
    onText: (text) => events.push(text),
    onBinary: (data) => events.push(Buffer.from(data)),
    onPing: () => events.push('<ping>'),
    onPong: () => {},
    onCloseFrame: () => {},
    onProtocolError: (error) => errors.push(`${error.closeCode} ${error.code}`),
    onInternalError: (error) => errors.push(`${error.closeCode} ${error.code}`),
  };
  const deflate = deflateCodec('server', negotiateDeflate(parseExtensionHeader('permessage-deflate'))!, { threshold });
  const protocol = new WebSocketProtocol(listener, { role: 'server', extension: deflate, logger: null, maxMessageSize: 1 << 20 });
  return { protocol, events, errors, nextInputReady };
}

/** Server frames from the protocol's output. */
function outputFrames(protocol: WebSocketProtocol) {
  const bytes = Buffer.concat(protocol.takeOutput());
  const frames: Array<{ fin: boolean; rsv: number; opcode: number; payload: Buffer }> = [];
  for (let p = 0; p < bytes.length; ) {
    let len = bytes[p + 1] & 0x7f;
    let q = p + 2;
    if (len === 126) { len = bytes.readUInt16BE(q); q += 2; } else if (len === 127) { len = Number(bytes.readBigUInt64BE(q)); q += 8; }
    frames.push({ fin: (bytes[p] & 0x80) !== 0, rsv: (bytes[p] >> 4) & 7, opcode: bytes[p] & 0xf, payload: bytes.subarray(q, q + len) });
    p = q + len;
  }
  return frames;
}

test('a compressed message in one frame, and fragmented with RSV1 on the first frame only, with a ping between', () => {
  const { protocol, events, errors } = endpoint();
  const text = 'héllo wörld '.repeat(300);
  protocol.receiveData(frame(0x1, compress(text), { rsv: 4 }));
  const body = compress(Buffer.alloc(5000, 9));
  protocol.receiveData(Buffer.concat([
    frame(0x2, body.subarray(0, 3), { fin: false, rsv: 4 }),
    frame(0x9, Buffer.alloc(0)),
    frame(0x0, body.subarray(3, 10), { fin: false }),
    frame(0x0, body.subarray(10), { fin: true }),
  ]));
  assert.deepEqual(errors, []);
  assert.equal(events[0], text);
  assert.equal(events[1], '<ping>');
  assert.ok(Buffer.isBuffer(events[2]) && events[2].equals(Buffer.alloc(5000, 9)));
});

test('uncompressed messages still work on a deflate connection (RSV1 clear)', () => {
  const { protocol, events, errors } = endpoint();
  protocol.receiveData(frame(0x1, Buffer.from('plain')));
  assert.deepEqual(errors, []);
  assert.deepEqual(events, ['plain']);
});

test('RSV1 on a continuation frame fails with 1002 (RFC 7692 §6)', () => {
  const { protocol, errors } = endpoint();
  const body = compress('abcdef'.repeat(50));
  protocol.receiveData(Buffer.concat([frame(0x1, body.subarray(0, 5), { fin: false, rsv: 4 }), frame(0x0, body.subarray(5), { rsv: 4 })]));
  assert.deepEqual(errors, ['1002 WS_ERR_RESERVED_BITS']);
});

test('a failure under an extension rule is logged with that RFC\'s citation, not as RFC 6455', () => {
  const lines: string[] = [];
  const listener: ProtocolListener = { onText() {}, onBinary() {}, onPing() {}, onPong() {}, onCloseFrame() {}, onProtocolError() {}, onInternalError() {} };
  const deflate = deflateCodec('server', negotiateDeflate(parseExtensionHeader('permessage-deflate'))!, { threshold: 1024 });
  const protocol = new WebSocketProtocol(listener, { role: 'server', extension: deflate, logger: (line) => lines.push(line) });
  const body = compress('abcdef'.repeat(50));
  protocol.receiveData(Buffer.concat([frame(0x1, body.subarray(0, 5), { fin: false, rsv: 4 }), frame(0x0, body.subarray(5), { rsv: 4 })]));
  const failure = lines.find((line) => line.startsWith('!'));
  assert.match(failure ?? '', /^! WS_ERR_RESERVED_BITS \(RFC 7692 §6\): .*→ close 1002$/);
  assert.equal(citeSection('5.2'), 'RFC 6455 §5.2');
});

test('RSV1 on control frames fails with 1002; RSV2/RSV3 stay errors', () => {
  for (const [opcode, rsv] of [[0x9, 4], [0xa, 4], [0x8, 4], [0x1, 2], [0x1, 1]]) {
    const { protocol, errors } = endpoint();
    protocol.receiveData(frame(opcode, Buffer.alloc(0), { rsv }));
    assert.deepEqual(errors, ['1002 WS_ERR_RESERVED_BITS'], `opcode ${opcode} rsv ${rsv}`);
  }
});

test('compressed text that inflates to invalid UTF-8 fails with 1007; garbage fails with 1007', () => {
  const bad = endpoint();
  bad.protocol.receiveData(frame(0x1, compress(Buffer.from([0x61, 0xed, 0xa0, 0x80])), { rsv: 4 }));
  assert.deepEqual(bad.errors, ['1007 WS_ERR_INVALID_UTF8']);
  const corrupt = endpoint();
  corrupt.protocol.receiveData(frame(0x2, Buffer.from([0xff, 0xee, 0xdd, 0xcc, 0x00]), { rsv: 4 }));
  assert.deepEqual(corrupt.errors, ['1007 WS_ERR_INVALID_COMPRESSED_DATA']);
});

test('a compressed message inflating past maxMessageSize fails with 1009 (inflated off the event loop)', async () => {
  const { protocol, errors, events, nextInputReady } = endpoint();
  const ready = nextInputReady();
  protocol.receiveData(frame(0x2, compress(Buffer.alloc((1 << 20) + 1)), { rsv: 4 }));
  // Past SYNC_INFLATE_BYTES of output the inflation moves to the thread pool.
  assert.equal(protocol.waitingForExtension, true);
  await ready;
  protocol.resumeInput();
  assert.deepEqual(errors, ['1009 WS_ERR_MESSAGE_TOO_BIG']);
  assert.deepEqual(events, []);
});

test('outgoing: at or above the threshold compressed with RSV1 set, below it plain', () => {
  const { protocol } = endpoint(100);
  protocol.sendText('x'.repeat(99));
  protocol.sendText('y'.repeat(100));
  protocol.sendBinary(Buffer.alloc(500, 3));
  protocol.sendPing(Buffer.from('p'));
  const frames = outputFrames(protocol);
  assert.deepEqual(frames.map((f) => [f.opcode, f.rsv]), [[1, 0], [1, 4], [2, 4], [9, 0]]);
  assert.equal(frames[0].payload.toString(), 'x'.repeat(99));
  const inflate = (payload: Buffer) => inflateRawSync(Buffer.concat([payload, Buffer.from([0, 0, 0xff, 0xff])]), { finishFlush: zlib.Z_SYNC_FLUSH });
  assert.equal(inflate(frames[1].payload).toString(), 'y'.repeat(100));
});
