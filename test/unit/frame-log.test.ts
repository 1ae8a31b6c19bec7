import { test } from 'node:test';
import assert from 'node:assert/strict';
import { describeFrame } from '../../src/protocol/frame-log.js';
import { WebSocketProtocol } from '../../src/protocol/protocol.js';
import { Opcode } from '../../src/framing/opcodes.js';
import { encodeFrame } from '../../src/framing/frame-encoder.js';

test('frames print readably', () => {
  assert.equal(describeFrame('<', Opcode.TEXT, 'hello'), "< TEXT 'hello' [5 bytes]");
  assert.equal(describeFrame('>', Opcode.TEXT, ''), '> TEXT [0 bytes]');
  assert.equal(describeFrame('<', Opcode.BINARY, Buffer.from([1, 0xab])), '< BINARY 01 ab [2 bytes]');
  assert.equal(describeFrame('<', Opcode.BINARY, Buffer.alloc(30)), `< BINARY ${Array(24).fill('00').join(' ')} ... [30 bytes]`);
  assert.equal(describeFrame('<', Opcode.CLOSE, Buffer.from([0x03, 0xe8, 0x62, 0x79, 0x65])), "< CLOSE 1000 (OK) 'bye' [5 bytes]");
  assert.equal(describeFrame('>', Opcode.CLOSE, Buffer.alloc(0)), '> CLOSE (no code) [0 bytes]');
  assert.equal(describeFrame('>', Opcode.PING, Buffer.alloc(0)), '> PING [0 bytes]');
  assert.equal(describeFrame('>', Opcode.TEXT, 'ab', false), "> TEXT (fin=0) 'ab' [2 bytes]");
});

test('a protocol with a logger reports messages, control frames and failures; none without', () => {
  const lines: string[] = [];
  const listener = { onText() {}, onBinary() {}, onPing() {}, onPong() {}, onCloseFrame() {}, onProtocolError() {}, onInternalError() {} };
  const protocol = new WebSocketProtocol(listener, { role: 'server', logger: (line) => lines.push(line) });
  // Masked "Hello" (RFC 6455 §5.7), then a frame with RSV2 set.
  protocol.receiveData(Buffer.from('818537fa213d7f9f4d5158', 'hex'));
  protocol.sendText('Hi');
  protocol.receiveData(Buffer.from('a18037fa213d', 'hex'));
  assert.deepEqual(lines.slice(0, 2), ["< TEXT 'Hello' [5 bytes]", "> TEXT 'Hi' [2 bytes]"]);
  assert.match(lines[2], /^! WS_ERR_RESERVED_BITS \(RFC 6455 §5\.2\).*→ close 1002$/);
  assert.match(lines[3], /^> CLOSE 1002 \(protocol error\)/);
  const quiet = new WebSocketProtocol(listener, { role: 'server', logger: null });
  quiet.receiveData(Buffer.from('818537fa213d7f9f4d5158', 'hex'));
  assert.equal(lines.length, 4);
});

/**
 * An extension that "compresses" messages of 100 bytes or more off the event
 * loop: encode() returns undefined and the test finishes the work by hand.
 */
function deferredExtension() {
  let pending: ((error: null, output: Buffer) => void) | null = null;
  const extension = {
    name: 'test-deferred',
    rsvBits: 0x4,
    shouldEncode: (size: number) => size >= 100,
    encode(_payload: Uint8Array, done: (error: null, output: Buffer) => void): undefined {
      pending = done;
      return undefined;
    },
    decode(): Buffer {
      throw new Error('not used');
    },
    release() {},
  };
  const finish = (output: Buffer) => {
    const done = pending!;
    pending = null;
    done(null, output);
  };
  return { extension, finish };
}

/** The frames of `bytes`, as "OPCODE payload-hex" (unmasked). */
function wireFrames(bytes: Buffer): string[] {
  const frames: string[] = [];
  for (let p = 0; p < bytes.length; ) {
    const masked = (bytes[p + 1] & 0x80) !== 0;
    const length = bytes[p + 1] & 0x7f; // (short frames only here)
    const start = p + 2 + (masked ? 4 : 0);
    const payload = Buffer.from(bytes.subarray(start, start + length));
    if (masked) for (let i = 0; i < length; i++) payload[i] ^= bytes[p + 2 + (i & 3)];
    frames.push(`${bytes[p] & 0x0f} ${payload.toString('hex')}`);
    p = start + length;
  }
  return frames;
}

for (const role of ['server', 'client'] as const) {
  test(`${role}: frames held behind a compression are logged once each, when encoded, in wire order`, () => {
    const lines: string[] = [];
    const listener = { onText() {}, onBinary() {}, onPing() {}, onPong() {}, onCloseFrame() {}, onProtocolError() {}, onInternalError() {}, onOutputReady() {} };
    const { extension, finish } = deferredExtension();
    const maskKeySource = (key: Uint8Array) => key.set([0xa1, 0xb2, 0xc3, 0xd4]);
    const protocol = new WebSocketProtocol(listener, { role, extension, maskKeySource, logger: (line) => lines.push(line) });
    const big = 'x'.repeat(200);
    protocol.sendText(big); // compressed off the event loop: what follows is held
    protocol.sendText('held text'); // held as our own UTF-8 copy
    protocol.sendBinary(Buffer.from([1, 2, 3])); // held as a copy (small)
    protocol.sendFragment(Opcode.TEXT, 'frag', false); // held
    protocol.sendFragment(Opcode.CONTINUATION, Buffer.from('ment'), true); // held
    protocol.sendPing(Buffer.from('p')); // control frames go ahead (§5.4)
    protocol.sendClose(1000); // after the held data frames
    assert.deepEqual(lines, ['> PING 70 [1 bytes]'], 'nothing held is logged before it is encoded');
    finish(Buffer.from('zz'));
    assert.deepEqual(lines, [
      '> PING 70 [1 bytes]',
      `> TEXT '${'x'.repeat(60)}...' [200 bytes]`,
      "> TEXT 'held text' [9 bytes]",
      '> BINARY 01 02 03 [3 bytes]',
      "> TEXT (fin=0) 'frag' [4 bytes]",
      '> CONT 6d 65 6e 74 [4 bytes]',
      '> CLOSE 1000 (OK) [2 bytes]',
    ]);
    // The log is the wire: the same frames, in the same order.
    assert.deepEqual(wireFrames(Buffer.concat(protocol.takeOutput())), [
      '9 70',
      `1 ${Buffer.from('zz').toString('hex')}`,
      `1 ${Buffer.from('held text').toString('hex')}`,
      '2 010203',
      `1 ${Buffer.from('frag').toString('hex')}`,
      `0 ${Buffer.from('ment').toString('hex')}`,
      '8 03e8',
    ]);
  });
}

test('a pre-encoded (broadcast) frame held behind a compression is logged with what it carries, when queued', () => {
  const lines: string[] = [];
  const listener = { onText() {}, onBinary() {}, onPing() {}, onPong() {}, onCloseFrame() {}, onProtocolError() {}, onInternalError() {}, onOutputReady() {} };
  const { extension, finish } = deferredExtension();
  const protocol = new WebSocketProtocol(listener, { role: 'server', extension, logger: (line) => lines.push(line) });
  protocol.sendBinary(Buffer.alloc(100, 0xee));
  protocol.sendEncodedFrame(encodeFrame(Opcode.TEXT, Buffer.from('to all')));
  protocol.sendEncodedFrame(encodeFrame(Opcode.BINARY, Buffer.alloc(300, 0x01)));
  assert.deepEqual(lines, []);
  finish(Buffer.from('zz'));
  assert.equal(lines.length, 3);
  assert.match(lines[0], /^> BINARY ee ee .* \[100 bytes\]$/);
  assert.equal(lines[1], "> TEXT 'to all' [6 bytes] (pre-encoded)");
  assert.match(lines[2], /^> BINARY 01 01 .* \[300 bytes\] \(pre-encoded\)$/);
});

test('a message compressed at once is logged once, as it was before compression', () => {
  const lines: string[] = [];
  const listener = { onText() {}, onBinary() {}, onPing() {}, onPong() {}, onCloseFrame() {}, onProtocolError() {}, onInternalError() {} };
  const extension = { ...deferredExtension().extension, encode: () => Buffer.from('zz') };
  const protocol = new WebSocketProtocol(listener, { role: 'server', extension, logger: (line) => lines.push(line) });
  protocol.sendText('y'.repeat(100));
  protocol.sendText('small');
  assert.deepEqual(lines, [`> TEXT '${'y'.repeat(60)}...' [100 bytes]`, "> TEXT 'small' [5 bytes]"]);
  assert.deepEqual(wireFrames(Buffer.concat(protocol.takeOutput())), [`1 ${Buffer.from('zz').toString('hex')}`, `1 ${Buffer.from('small').toString('hex')}`]);
});
