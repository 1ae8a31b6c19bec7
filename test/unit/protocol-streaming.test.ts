/**
 * The core's streaming path (streamMessagesAbove): a message above the
 * threshold is reported as onMessageStart / onMessageChunk / onMessageEnd,
 * whatever the chunking of its bytes; text is decoded piece by piece with
 * its UTF-8 checked at the first bad byte (§8.1, 1007); messages at or below
 * the threshold, and compressed ones, keep the whole-message path;
 * maxMessageSize still applies.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { WebSocketProtocol, type ProtocolOptions } from '../../src/protocol/protocol.js';
import { LocalError } from '../../src/errors.js';
import { OP, RecordingListener, chunkings, clientFrame, closeBody, feed, takeFrames, closeOf } from '../helpers/protocol-harness.js';

type StreamEvent = { type: 'start'; binary: boolean } | { type: 'chunk'; chunk: string | Buffer } | { type: 'end' };

class StreamingListener extends RecordingListener {
  readonly stream: StreamEvent[] = [];
  onMessageStart(binary: boolean): void {
    this.stream.push({ type: 'start', binary });
  }
  onMessageChunk(chunk: string | Buffer): void {
    assert.ok(chunk.length > 0, 'no empty chunks');
    this.stream.push({ type: 'chunk', chunk });
  }
  onMessageEnd(): void {
    this.stream.push({ type: 'end' });
  }
  /** The streamed messages, each joined: [binary, whole content]. */
  messages(): Array<[boolean, string]> {
    const out: Array<[boolean, string]> = [];
    let current: { binary: boolean; parts: Array<string | Buffer> } | null = null;
    for (const event of this.stream) {
      if (event.type === 'start') {
        assert.equal(current, null, 'a start inside a streamed message');
        current = { binary: event.binary, parts: [] };
      } else if (event.type === 'chunk') {
        assert.notEqual(current, null, 'a chunk outside a streamed message');
        assert.equal(typeof event.chunk === 'string', !current!.binary, 'text chunks are strings, binary chunks Buffers');
        current!.parts.push(event.chunk);
      } else {
        out.push([current!.binary, current!.binary ? Buffer.concat(current!.parts as Buffer[]).toString('hex') : (current!.parts as string[]).join('')]);
        current = null;
      }
    }
    return out;
  }
  /** True if a message was started and not ended. */
  get open(): boolean {
    let depth = 0;
    for (const event of this.stream) depth += event.type === 'start' ? 1 : event.type === 'end' ? -1 : 0;
    return depth > 0;
  }
}

function streaming(options: Partial<ProtocolOptions> = {}): { protocol: WebSocketProtocol; listener: StreamingListener } {
  const listener = new StreamingListener();
  return { protocol: new WebSocketProtocol(listener, { role: 'server', streamMessagesAbove: 10, logger: null, ...options }), listener };
}

const TEXT = 'héllo wörld, ünïcödé 😀 text that is longer than ten bytes';

test('a text message above the threshold is streamed, decoded piece by piece, whatever the chunking', () => {
  const wire = Buffer.concat([clientFrame(OP.TEXT, 'short'), clientFrame(OP.TEXT, TEXT), clientFrame(OP.BINARY, Buffer.from('0123456789abcdef')), clientFrame(OP.TEXT, 'after')]);
  for (const { name, chunks } of chunkings(wire, [1, 7, 20, 40, 60])) {
    const { protocol, listener } = streaming();
    feed(protocol, chunks);
    assert.deepEqual(listener.events, [{ type: 'text', text: 'short' }, { type: 'text', text: 'after' }], `${name}: small messages come whole`);
    assert.deepEqual(listener.messages(), [[false, TEXT], [true, Buffer.from('0123456789abcdef').toString('hex')]], name);
  }
});

test('a fragmented message is streamed from the frame that takes it past the threshold; what came before is its first chunk', () => {
  const wire = Buffer.concat([
    clientFrame(OP.TEXT, 'héllo', { fin: false }),
    clientFrame(OP.CONT, ' wö', { fin: false }),
    clientFrame(OP.PING, 'p'),
    clientFrame(OP.CONT, 'rld 😀 and more', { fin: false }),
    clientFrame(OP.CONT, '!', { fin: true }),
  ]);
  for (const { name, chunks } of chunkings(wire, [3, 9, 30])) {
    const { protocol, listener } = streaming();
    feed(protocol, chunks);
    assert.deepEqual(listener.messages(), [[false, 'héllo wörld 😀 and more!']], name);
    assert.deepEqual(listener.events, [{ type: 'ping', data: Buffer.from('p') }], `${name}: the ping between fragments`);
  }
  // A fragmented message that stays at or under the threshold is assembled whole.
  const { protocol, listener } = streaming();
  feed(protocol, [Buffer.concat([clientFrame(OP.TEXT, '12345', { fin: false }), clientFrame(OP.CONT, '67890')])]);
  assert.deepEqual(listener.events, [{ type: 'text', text: '1234567890' }]);
  assert.deepEqual(listener.stream, []);
});

test('§8.1: invalid UTF-8 in a streamed text message fails with 1007 at the first bad byte, before the message ends', () => {
  const good = Buffer.from('a valid start, long enough to stream; ');
  const bad = Buffer.concat([good, Buffer.from([0xc3, 0x28]), Buffer.from(' and the rest')]);
  const { protocol, listener } = streaming();
  // The frame's header and the good bytes, then the bad ones: the failure comes with the bad byte, not at the end.
  const wire = clientFrame(OP.TEXT, bad, { fin: false });
  const headerLength = wire.length - bad.length;
  feed(protocol, [wire.subarray(0, headerLength + good.length)]);
  assert.equal(listener.errors.length, 0);
  assert.ok(listener.open, 'the message started');
  feed(protocol, [wire.subarray(headerLength + good.length, headerLength + good.length + 2)]);
  assert.equal(listener.errors.length, 1);
  assert.equal(listener.errors[0].code, 'WS_ERR_INVALID_UTF8');
  assert.equal(listener.errors[0].closeCode, 1007);
  assert.ok(listener.open, 'the message is abandoned, never ended');
  const frames = takeFrames(protocol);
  assert.equal(closeOf(frames[frames.length - 1]).code, 1007);
  // A text message that ends inside a character fails too.
  const truncated = streaming();
  feed(truncated.protocol, [clientFrame(OP.TEXT, Buffer.concat([good, Buffer.from([0xf0, 0x9f])]))]);
  assert.equal(truncated.listener.errors[0]?.code, 'WS_ERR_INVALID_UTF8');
});

test('maxMessageSize still bounds a streamed message (1009 on the declared length)', () => {
  const { protocol, listener } = streaming({ maxMessageSize: 20 });
  feed(protocol, [Buffer.concat([clientFrame(OP.BINARY, Buffer.alloc(15), { fin: false }), clientFrame(OP.CONT, Buffer.alloc(6))])]);
  assert.equal(listener.errors[0]?.code, 'WS_ERR_MESSAGE_TOO_BIG');
  assert.equal(listener.errors[0]?.closeCode, 1009);
  assert.ok(listener.open);
});

test('a close frame in the middle of a streamed message abandons it (no end), and the connection closes normally', () => {
  const { protocol, listener } = streaming();
  feed(protocol, [Buffer.concat([clientFrame(OP.BINARY, Buffer.alloc(15), { fin: false }), clientFrame(OP.CLOSE, closeBody(1000))])]);
  assert.ok(listener.open);
  assert.deepEqual(listener.events, [{ type: 'close', code: 1000, reason: '' }]);
});

test('without streamMessagesAbove nothing is streamed; with it, a listener without the streaming methods is refused', () => {
  const listener = new StreamingListener();
  const protocol = new WebSocketProtocol(listener, { role: 'server', logger: null });
  feed(protocol, [clientFrame(OP.TEXT, TEXT)]);
  assert.deepEqual(listener.events, [{ type: 'text', text: TEXT }]);
  assert.deepEqual(listener.stream, []);
  assert.throws(() => new WebSocketProtocol(new RecordingListener(), { role: 'server', streamMessagesAbove: 10 }), LocalError);
});

test('the streaming threshold is "above": a message of exactly that size comes whole; one byte more is streamed', () => {
  const { protocol, listener } = streaming();
  feed(protocol, [Buffer.concat([clientFrame(OP.BINARY, Buffer.alloc(10, 1)), clientFrame(OP.BINARY, Buffer.alloc(11, 2))])]);
  assert.deepEqual(listener.events, [{ type: 'binary', data: Buffer.alloc(10, 1) }]);
  assert.deepEqual(listener.messages(), [[true, Buffer.alloc(11, 2).toString('hex')]]);
});

test('large fragments gathered before the threshold is passed reach the stream as they are, in order (no join)', { timeout: 10_000 }, () => {
  const { protocol, listener } = streaming({ streamMessagesAbove: 100_000, maxMessageSize: 1 << 20, turnBudget: 1 << 20 });
  const payload = Buffer.from(Array.from({ length: 400_000 }, (_, i) => (i * 7 + (i >> 10)) & 0xff));
  const fragment = 40_000;
  const frames: Buffer[] = [];
  for (let o = 0; o < payload.length; o += fragment) {
    frames.push(clientFrame(o === 0 ? OP.BINARY : OP.CONT, payload.subarray(o, o + fragment), { fin: o + fragment >= payload.length }));
  }
  protocol.receiveData(Buffer.concat(frames));
  assert.deepEqual(listener.messages(), [[true, payload.toString('hex')]]);
  const chunks = listener.stream.filter((e) => e.type === 'chunk');
  assert.ok(chunks.length >= 3, `the fragments gathered before streaming began came as ${chunks.length} chunk(s)`);
});
