/**
 * Fair turns and work off the event loop, in the sans-I/O core:
 * - one receiveData()/resumeInput() call does at most `turnBudget` units of
 *   work and keeps the rest (`hasPendingInput`), in order;
 * - a compressed message inflated off the event loop holds back everything
 *   after it (`waitingForExtension`) until onInputReady() and resumeInput();
 * - a message compressed off the event loop holds back the data frames and
 *   the close frame sent after it, not control frames; failing drops them.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { deflateRawSync, inflateRawSync, constants as zlib } from 'node:zlib';
import { parseExtensionHeader } from '../../src/extensions/extension-header.js';
import { SYNC_DEFLATE_BYTES, SYNC_INFLATE_BYTES } from '../../src/extensions/permessage-deflate.js';
import { deflateCodec, negotiateDeflate } from '../../src/extensions/permessage-deflate-negotiation.js';
import { WebSocketProtocol } from '../../src/protocol/protocol.js';
import { InternalError } from '../../src/errors.js';
import { OP, RSV1, RecordingListener, clientFrame, closeBody, closeOf, endpoint, takeFrames } from '../helpers/protocol-harness.js';

const T = { timeout: 10_000 };

const compress = (data: Uint8Array) => deflateRawSync(data, { finishFlush: zlib.Z_SYNC_FLUSH }).subarray(0, -4);
const inflate = (payload: Buffer) => inflateRawSync(Buffer.concat([payload, Buffer.from([0, 0, 0xff, 0xff])]), { finishFlush: zlib.Z_SYNC_FLUSH });

/** A server core with permessage-deflate, whose listener resolves `inputReady()` / `outputReady()` on the core's wake-up calls. */
function deflateEndpoint(maxMessageSize = 16 << 20) {
  const listener = new RecordingListener() as RecordingListener & { onInputReady(): void; onOutputReady(): void };
  let input: () => void = () => {};
  let output: () => void = () => {};
  listener.onInputReady = () => input();
  listener.onOutputReady = () => output();
  const deflate = deflateCodec('server', negotiateDeflate(parseExtensionHeader('permessage-deflate'))!, { threshold: 1 });
  const protocol = new WebSocketProtocol(listener, { role: 'server', extension: deflate, logger: null, maxMessageSize });
  return {
    protocol,
    listener,
    inputReady: () => new Promise<void>((resolve) => (input = resolve)),
    outputReady: () => new Promise<void>((resolve) => (output = resolve)),
  };
}

test('a read of 3,000 one-byte fragments is processed 1,024 frames per call, in order, to the same message', T, () => {
  const { protocol, listener } = endpoint({ turnBudget: 1024, logger: null });
  const wire = Buffer.concat([
    clientFrame(OP.TEXT, 'a', { fin: false }),
    ...Array.from({ length: 2998 }, (_, i) => clientFrame(OP.CONT, String.fromCharCode(0x61 + (i % 26)), { fin: false })),
    clientFrame(OP.CONT, 'z'),
  ]);
  protocol.receiveData(wire);
  assert.equal(protocol.hasPendingInput, true, 'the first call stops at its budget');
  assert.equal(listener.events.length, 0);
  let calls = 1;
  while (protocol.hasPendingInput) {
    protocol.resumeInput();
    calls++;
  }
  assert.equal(calls, Math.ceil(3000 / 1024));
  assert.equal(listener.events.length, 1);
  const message = listener.events[0];
  assert.equal(message.type, 'text');
  assert.equal((message as { text: string }).text.length, 3000);
});

test('a burst of 2,000 pings: 1,024 answered per call, every one in the end', T, () => {
  const { protocol, listener } = endpoint({ turnBudget: 1024, logger: null });
  protocol.receiveData(Buffer.concat(Array.from({ length: 2000 }, (_, i) => clientFrame(OP.PING, String(i)))));
  assert.equal(takeFrames(protocol).length, 1024);
  protocol.receiveData(clientFrame(OP.TEXT, 'after the pings'));
  assert.equal(listener.events.filter((e) => e.type === 'text').length, 0, 'a new chunk waits behind the input kept back');
  protocol.resumeInput();
  const pongs = takeFrames(protocol);
  assert.equal(pongs.length, 976);
  assert.deepEqual(pongs.at(-1)!.payload.toString(), '1999');
  assert.equal(protocol.hasPendingInput, false);
  assert.deepEqual(listener.events.at(-1), { type: 'text', text: 'after the pings' });
});

test('an invalid frame behind the budget still fails the connection, when its turn comes', T, () => {
  const { protocol, listener } = endpoint({ turnBudget: 2, logger: null });
  protocol.receiveData(Buffer.concat([clientFrame(OP.PING), clientFrame(OP.PING), clientFrame(OP.PING), clientFrame(0x3)]));
  assert.equal(listener.errors.length, 0);
  protocol.resumeInput();
  assert.equal(listener.errors[0]?.closeCode, 1002);
  assert.equal(protocol.hasPendingInput, false, 'input after a failure is dropped');
});

test('a large compressed message is inflated off the event loop; what follows it waits, in order', T, async () => {
  const { protocol, listener, inputReady } = deflateEndpoint();
  const big = Buffer.alloc(SYNC_INFLATE_BYTES * 4, 7);
  const ready = inputReady();
  protocol.receiveData(Buffer.concat([clientFrame(OP.BINARY, compress(big), { rsv: RSV1 }), clientFrame(OP.PING, 'p'), clientFrame(OP.TEXT, 'after')]));
  assert.equal(protocol.waitingForExtension, true);
  assert.equal(protocol.hasPendingInput, true);
  assert.equal(listener.events.length, 0, 'nothing after the compressed message is processed yet');
  assert.deepEqual(takeFrames(protocol), [], 'not even the ping');
  await ready;
  protocol.resumeInput();
  assert.deepEqual(listener.events.map((e) => e.type), ['binary', 'ping', 'text']);
  assert.ok((listener.events[0] as { data: Buffer }).data.equals(big));
  assert.equal(takeFrames(protocol)[0].opcode, OP.PONG);
  assert.equal(protocol.waitingForExtension, false);
});

test('a small compressed message is inflated at once (no thread-pool round trip)', T, () => {
  const { protocol, listener } = deflateEndpoint();
  protocol.receiveData(clientFrame(OP.TEXT, compress(Buffer.from('x'.repeat(SYNC_INFLATE_BYTES))), { rsv: RSV1 }));
  assert.equal(protocol.waitingForExtension, false);
  assert.equal(listener.events.length, 1);
});

test('a decompression bomb inflated off the event loop stops at maxMessageSize with 1009', T, async () => {
  const { protocol, listener, inputReady } = deflateEndpoint(1 << 20);
  const ready = inputReady();
  protocol.receiveData(clientFrame(OP.BINARY, compress(Buffer.alloc(64 << 20)), { rsv: RSV1 }));
  await ready;
  protocol.resumeInput();
  assert.equal(listener.errors[0]?.closeCode, 1009);
  assert.equal(closeOf(takeFrames(protocol).at(-1)!).code, 1009);
});

test('the connection ending while a message is inflated: the late result is dropped', T, async () => {
  const { protocol, listener } = deflateEndpoint();
  protocol.receiveData(clientFrame(OP.BINARY, compress(Buffer.alloc(SYNC_INFLATE_BYTES * 4)), { rsv: RSV1 }));
  protocol.transportClosed();
  await new Promise((resolve) => setTimeout(resolve, 200));
  assert.deepEqual(listener.events, []);
  assert.equal(protocol.waitingForExtension, false);
});

test('a large message compressed off the event loop holds back later data and the close frame, not a ping', T, async () => {
  const { protocol, outputReady } = deflateEndpoint();
  const big = Buffer.alloc(SYNC_DEFLATE_BYTES * 4, 5);
  const ready = outputReady();
  protocol.sendBinary(big);
  protocol.sendText('second');
  protocol.sendPing(Buffer.from('now'));
  protocol.sendClose(1000, 'bye');
  assert.throws(() => protocol.sendText('too late'), /closed/);
  assert.ok(protocol.pendingOutputBytes >= big.length, 'held bytes count as pending output (bufferedAmount)');
  const early = takeFrames(protocol);
  assert.deepEqual(early.map((f) => f.opcode), [OP.PING], 'the ping goes ahead');
  await ready;
  const frames = takeFrames(protocol);
  assert.deepEqual(frames.map((f) => [f.opcode, f.rsv]), [[OP.BINARY, RSV1], [OP.TEXT, RSV1], [OP.CLOSE, 0]]);
  assert.ok(inflate(frames[0].payload).equals(big));
  assert.equal(inflate(frames[1].payload).toString(), 'second', 'compressed with the context the big message left');
  assert.deepEqual(closeOf(frames[2]), { code: 1000, reason: 'bye' });
  assert.equal(protocol.pendingOutputBytes, 0);
});

test('failing the connection while a message is compressed sends the close frame at once and drops the rest', T, async () => {
  const { protocol } = deflateEndpoint();
  protocol.sendBinary(Buffer.alloc(SYNC_DEFLATE_BYTES * 4, 1));
  protocol.sendText('held');
  protocol.fail(new InternalError(new Error('a bug')));
  const frames = takeFrames(protocol);
  assert.deepEqual(frames.map((f) => f.opcode), [OP.CLOSE]);
  assert.equal(closeOf(frames[0]).code, 1011);
  await new Promise((resolve) => setTimeout(resolve, 200));
  assert.deepEqual(takeFrames(protocol), [], 'the compressed message is never sent after the close');
  assert.equal(protocol.pendingOutputBytes, 0);
});

test("the peer's close while a message is compressed: the answer follows that message (§5.5.1 MAY delay)", T, async () => {
  const { protocol, outputReady } = deflateEndpoint();
  const ready = outputReady();
  protocol.sendBinary(Buffer.alloc(SYNC_DEFLATE_BYTES * 2, 9));
  protocol.receiveData(clientFrame(OP.CLOSE, closeBody(1000, '')));
  assert.deepEqual(takeFrames(protocol), []);
  await ready;
  assert.deepEqual(takeFrames(protocol).map((f) => f.opcode), [OP.BINARY, OP.CLOSE]);
  assert.equal(protocol.transportAction, 'close-now');
});

test('a large frame is taken in pieces its budget pays for: a 4 MiB message in one read spends four turns of 1,024 units', T, () => {
  const { protocol, listener } = endpoint({ turnBudget: 1024, logger: null, maxMessageSize: 16 << 20 });
  const payload = Buffer.alloc(4 << 20);
  for (let i = 0; i < payload.length; i += 4096) payload[i] = i >> 12;
  protocol.receiveData(clientFrame(OP.BINARY, payload));
  assert.equal(protocol.hasPendingInput, true, 'one call stops within the frame, not at its end');
  assert.equal(listener.events.length, 0);
  let calls = 1;
  while (protocol.hasPendingInput) {
    protocol.resumeInput();
    calls++;
  }
  assert.equal(calls, 4, '1 MiB of payload per 1,024-unit turn');
  assert.equal(listener.events.length, 1);
  assert.ok((listener.events[0] as { data: Buffer }).data.equals(payload), 'the pieces make up the message, in order');
});

test('limitTurn(n): what is left of a turn is at most n units, in frames or in payload KiB; the next turn is whole again', T, () => {
  const { protocol, listener } = endpoint({ turnBudget: 1024, logger: null });
  protocol.beginTurn();
  protocol.limitTurn(32);
  protocol.receiveData(Buffer.concat(Array.from({ length: 100 }, (_, i) => clientFrame(OP.PING, String(i)))));
  assert.equal(takeFrames(protocol).length, 32, '32 pings answered, the rest kept back');
  assert.equal(protocol.hasPendingInput, true);
  protocol.resumeInput();
  assert.equal(takeFrames(protocol).length, 68, 'a fresh turn takes the rest');

  const big = Buffer.alloc(256 * 1024, 9);
  protocol.beginTurn();
  protocol.limitTurn(32);
  protocol.receiveData(clientFrame(OP.BINARY, big));
  assert.equal(protocol.hasPendingInput, true, 'a 256 KiB frame is not taken whole under a 32-unit limit');
  protocol.resumeInput();
  assert.equal(protocol.hasPendingInput, false);
  assert.ok((listener.events.at(-1) as { data: Buffer }).data.equals(big));

  protocol.beginTurn();
  protocol.limitTurn(4096);
  assert.equal(protocol.turnSpent, false, 'a limit above the budget changes nothing');
});

test('a large fragmented message is joined a turn\'s budget at a time, and what follows it waits, in order', T, () => {
  const { protocol, listener } = endpoint({ turnBudget: 1024, logger: null, maxMessageSize: 16 << 20 });
  const fragment = 64 * 1024;
  const payload = Buffer.alloc(4 << 20);
  for (let i = 0; i < payload.length; i += 1000) payload[i] = (i / 1000) & 0xff;
  const frames: Buffer[] = [];
  for (let o = 0; o < payload.length; o += fragment) {
    frames.push(clientFrame(o === 0 ? OP.BINARY : OP.CONT, payload.subarray(o, o + fragment), { fin: o + fragment >= payload.length }));
  }
  frames.push(clientFrame(OP.PING, 'after'));
  protocol.receiveData(Buffer.concat(frames));
  let calls = 1;
  let deliveredAt = 0;
  while (protocol.hasPendingInput) {
    assert.equal(listener.events.filter((e) => e.type === 'ping').length, 0, 'nothing after the message before the message');
    protocol.resumeInput();
    calls++;
    if (deliveredAt === 0 && listener.events.length > 0) deliveredAt = calls;
  }
  assert.deepEqual(listener.events.map((e) => e.type), ['binary', 'ping']);
  assert.ok((listener.events[0] as { data: Buffer }).data.equals(payload), 'the joined message is the payload');
  // 4 MiB of fragments take four 1,024-unit turns; joining 4 MiB takes four more.
  assert.ok(deliveredAt >= 8, `delivered in call ${deliveredAt} of ${calls}: the join was not spread over turns`);
});
