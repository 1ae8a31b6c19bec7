/**
 * Sending, over real sockets: `sent()` (a promise for the message being
 * handed to the kernel, or for the connection ending first) and the
 * per-message `compress` choice under permessage-deflate (RFC 7692 §6: RSV1
 * on a compressed message's first frame, any message may go uncompressed),
 * seen on the wire by a bare-socket client. Messages keep their order
 * whichever way each is sent, also behind a large message compressed off the
 * event loop.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { inflateRawSync, constants as zlib } from 'node:zlib';

import { ConnectionClosedError, type ServerOptions } from '../../src/index.js';
import { OP } from '../helpers/frames.js';
import { startPeerServer } from '../helpers/peer-server.js';
import { withTimeout } from '../helpers/wait-for.js';

/** A server that hands each connection to the test. */
async function start(t: { after(fn: () => unknown): void }, options: ServerOptions = {}) {
  const { port, pair } = await startPeerServer(t, options);
  return { port, pair: (extensions?: string) => pair({ extensions }) };
}

const SYNC_TAIL = Buffer.from([0x00, 0x00, 0xff, 0xff]);

/** §7.2.2: append 00 00 ff ff and inflate (each message alone: server_no_context_takeover). */
function inflate(payload: Buffer): Buffer {
  return inflateRawSync(Buffer.concat([payload, SYNC_TAIL]), { finishFlush: zlib.Z_SYNC_FLUSH });
}

test('sent() resolves once the message was handed to the kernel, not before', { timeout: 20_000 }, async (t) => {
  const { pair } = await start(t);
  const { peer, ws } = await pair();
  await withTimeout(ws.sent('hello'), { what: 'sent("hello")' });
  await peer.until((f) => f.length === 1, 'the text frame');
  assert.equal(peer.frames[0].opcode, OP.TEXT);
  assert.equal(peer.frames[0].payload!.toString(), 'hello');

  // A peer that does not read: 32 MiB cannot all be taken by the kernel, so sent() waits…
  peer.pause();
  let settled = false;
  const big = ws.sent(Buffer.alloc(32 * 1024 * 1024, 7)).then(() => (settled = true));
  await delay(300);
  assert.equal(settled, false, 'sent() resolved while most of the message still waited in user space');
  assert.ok(ws.bufferedAmount > 0);
  // …until the peer reads again.
  peer.resume();
  await withTimeout(big, { what: 'sent() of 32 MiB once the peer reads', timeout: 15_000 });
  assert.equal(ws.bufferedAmount, 0);
});

test('sent() promises resolve in order, for text, binary and compressed messages alike', { timeout: 10_000 }, async (t) => {
  const { pair } = await start(t, { perMessageDeflate: true });
  const { peer, ws } = await pair('permessage-deflate; server_no_context_takeover');
  const order: number[] = [];
  const all = [
    ws.sent('a'.repeat(200_000)).then(() => order.push(0)), // compressed on the thread pool
    ws.sent('b', { compress: false }).then(() => order.push(1)),
    ws.sent(Buffer.alloc(10, 1)).then(() => order.push(2)),
  ];
  await withTimeout(Promise.all(all), { what: 'three sent() promises' });
  assert.deepEqual(order, [0, 1, 2]);
  await peer.until((f) => f.length === 3, 'three frames');
});

test('sent() rejects with ConnectionClosedError when the connection ends before the write', { timeout: 20_000 }, async (t) => {
  const { pair } = await start(t);
  const { peer, ws } = await pair();
  peer.pause();
  const pending = ws.sent(Buffer.alloc(32 * 1024 * 1024, 1));
  const outcome = pending.then(
    () => 'resolved',
    (error: unknown) => error,
  );
  await delay(200);
  peer.destroy(); // the peer vanishes with most of the message unwritten
  const error = await withTimeout(outcome, { what: 'sent() to settle after the peer vanished' });
  assert.ok(error instanceof ConnectionClosedError, `expected ConnectionClosedError, got ${String(error)}`);
  assert.equal(error.closeCode, 1006);

  // After the close, sent() rejects at once, as send() throws.
  await assert.rejects(ws.sent('late'), (e: unknown) => e instanceof ConnectionClosedError);
});

test('sent() after our close rejects with ConnectionClosedError; the close frame still goes', { timeout: 10_000 }, async (t) => {
  const { pair } = await start(t);
  const { peer, ws } = await pair();
  const before = ws.sent('before the close');
  ws.close(1000, 'done');
  await assert.rejects(ws.sent('after'), (e: unknown) => e instanceof ConnectionClosedError && e.code === 'WS_ERR_CONNECTION_CLOSED');
  await withTimeout(before, { what: 'the message sent before the close' });
  await peer.until((f) => f.some((x) => x.opcode === OP.CLOSE), 'the close frame');
  assert.deepEqual(
    peer.frames.map((f) => f.opcode),
    [OP.TEXT, OP.CLOSE],
  );
});

test('compress per message: false sends RSV1 clear above the threshold, true sets RSV1 below it (RFC 7692 §6)', { timeout: 10_000 }, async (t) => {
  const { pair } = await start(t, { perMessageDeflate: true });
  const { peer, ws } = await pair('permessage-deflate; server_no_context_takeover');
  assert.match(ws.extensions, /permessage-deflate/);
  const large = 'compressible '.repeat(200); // 2,600 bytes: above the 1,024-byte threshold
  ws.send(large); // default: compressed
  ws.send(large, { compress: false });
  ws.send('tiny', { compress: true });
  ws.send('tiny'); // default: below the threshold, as it is
  ws.send(Buffer.from(large), { compress: false });
  ws.send(Buffer.from('bin'), { compress: true });
  await peer.until((f) => f.length === 6, 'six frames');
  const frames = peer.frames;
  assert.deepEqual(
    frames.map((f) => [f.opcode, f.rsv]),
    [
      [OP.TEXT, 4],
      [OP.TEXT, 0],
      [OP.TEXT, 4],
      [OP.TEXT, 0],
      [OP.BINARY, 0],
      [OP.BINARY, 4],
    ],
  );
  assert.equal(inflate(frames[0].payload!).toString(), large);
  assert.equal(frames[1].payload!.toString(), large);
  assert.equal(inflate(frames[2].payload!).toString(), 'tiny');
  assert.equal(frames[3].payload!.toString(), 'tiny');
  assert.equal(frames[4].payload!.toString(), large);
  assert.equal(inflate(frames[5].payload!).toString(), 'bin');
});

test('without an extension, compress: true changes nothing (RSV1 stays clear)', { timeout: 10_000 }, async (t) => {
  const { pair } = await start(t);
  const { peer, ws } = await pair();
  ws.send('x'.repeat(5000), { compress: true });
  await peer.until((f) => f.length === 1, 'one frame');
  assert.equal(peer.frames[0].rsv, 0);
  assert.equal(peer.frames[0].length, 5000);
});

test('order is kept between messages compressed off the event loop and uncompressed ones', { timeout: 15_000 }, async (t) => {
  const { pair } = await start(t, { perMessageDeflate: true });
  const { peer, ws } = await pair('permessage-deflate; server_no_context_takeover');
  const expected: string[] = [];
  for (let i = 0; i < 6; i++) {
    // 512 KiB: compressed on the thread pool (async); the plain ones are ready at once and must wait.
    const big = `${i}:` + 'abcdefgh'.repeat(64 * 1024);
    ws.send(big);
    expected.push(big);
    const plain = `plain ${i} ` + 'z'.repeat(2000);
    ws.send(plain, { compress: false });
    expected.push(plain);
    const tiny = `tiny ${i}`;
    ws.send(tiny, { compress: true });
    expected.push(tiny);
  }
  await peer.until((f) => f.length === expected.length, `${expected.length} frames`, 10_000);
  const received = peer.frames.map((f) => (f.rsv === 4 ? inflate(f.payload!) : f.payload!).toString());
  assert.deepEqual(
    received.map((m) => m.slice(0, 12)),
    expected.map((m) => m.slice(0, 12)),
  );
  assert.deepEqual(received, expected);
  assert.deepEqual(
    peer.frames.map((f) => f.rsv),
    expected.map((_, i) => (i % 3 === 1 ? 0 : 4)),
  );
});
