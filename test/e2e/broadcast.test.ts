/**
 * server.broadcast(message, filter?): one encoding for every receiver, a
 * filter, and the slow-receiver policy (skip, or close with 1008 past
 * `broadcastLimit`), over real sockets. A receiver that stops reading must
 * neither hold up the others nor make the server buffer without bound.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import WebSocket from 'ws';
import { createServer, CloseCode, ReadyState, type ServerOptions, type WebSocketConnection } from '../../src/index.js';
import { broadcastFrame, encodeMessage, SLOW_RECEIVER_REASON } from '../../src/server/broadcast.js';
import { RawClient } from '../helpers/raw-client.js';
import { waitFor } from '../helpers/wait-for.js';
import { OP, parseClosePayload } from '../helpers/frames.js';

async function start(options: ServerOptions = {}) {
  const server = createServer({ host: '127.0.0.1', closeTimeout: 5_000, ...options }, () => {});
  server.on('error', () => {});
  const { port } = await server.listen(0);
  return { server, port, url: `ws://127.0.0.1:${port}` };
}

/** A ws client that records every message as a string (binary as `binary:<length>`). */
async function listener(url: string): Promise<{ ws: WebSocket; messages: string[] }> {
  const ws = new WebSocket(url);
  const messages: string[] = [];
  ws.on('message', (data, isBinary) => messages.push(isBinary ? `binary:${(data as Buffer).length}` : data.toString()));
  await once(ws, 'open');
  return { ws, messages };
}

async function until(predicate: () => boolean, what: string, ms = 3000): Promise<void> {
  await waitFor(predicate, { what, timeout: ms, interval: 2 });
}

async function waitForConnections(server: { connections: ReadonlySet<unknown> }, count: number): Promise<void> {
  await until(() => server.connections.size === count, `${count} connections`);
}

test('every open connection gets the message, text as text and bytes as binary', async (t) => {
  const { server, url } = await start();
  t.after(() => server.close());
  const clients = await Promise.all([listener(url), listener(url), listener(url)]);
  t.after(() => clients.forEach((c) => c.ws.terminate()));
  await waitForConnections(server, 3);
  assert.deepEqual(server.broadcast('héllo ✓'), { sent: 3, skipped: 0, closed: 0 });
  assert.deepEqual(server.broadcast(new Uint8Array(70_000)), { sent: 3, skipped: 0, closed: 0 });
  assert.deepEqual(server.broadcast(new ArrayBuffer(5)), { sent: 3, skipped: 0, closed: 0 });
  await until(() => clients.every((c) => c.messages.length === 3), 'three messages each');
  for (const c of clients) assert.deepEqual(c.messages, ['héllo ✓', 'binary:70000', 'binary:5']);
});

test('the filter picks the receivers (everyone but the sender); closing connections are left out', async (t) => {
  const { server, url } = await start();
  t.after(() => server.close());
  const [a, b, c] = await Promise.all([listener(url), listener(url), listener(url)]);
  t.after(() => [a, b, c].forEach((x) => x.ws.terminate()));
  await waitForConnections(server, 3);
  const [first, second, third] = [...server.connections];
  assert.equal(server.broadcast('not to the first', (peer) => peer !== first).sent, 2);
  third.close(1000);
  assert.equal(third.readyState, ReadyState.CLOSING);
  assert.deepEqual(server.broadcast('open ones only'), { sent: 2, skipped: 0, closed: 0 });
  await until(() => a.messages.length + b.messages.length + c.messages.length === 4, 'four messages');
  // Which ws client is which connection is not known here: compare the sorted histories.
  const all = [a, b, c].map((x) => x.messages.join('|')).sort();
  assert.deepEqual(all, ['not to the first', 'not to the first|open ones only', 'open ones only']);
  assert.equal(second.readyState, ReadyState.OPEN);
});

test('with permessage-deflate negotiated, broadcast frames go uncompressed (RSV1 clear), which RFC 7692 allows', async (t) => {
  const { server, url } = await start({ perMessageDeflate: true });
  t.after(() => server.close());
  const c = await listener(url);
  t.after(() => c.ws.terminate());
  assert.match(c.ws.extensions, /permessage-deflate/);
  await waitForConnections(server, 1);
  const [connection] = server.connections;
  connection.send('x'.repeat(4096)); // compressed, through the connection's own context
  server.broadcast('y'.repeat(4096)); // pre-encoded: uncompressed
  connection.send('z'.repeat(4096)); // the context is still in step
  await until(() => c.messages.length === 3, 'three messages');
  assert.deepEqual(c.messages, ['x'.repeat(4096), 'y'.repeat(4096), 'z'.repeat(4096)]);
});

test('the frame is encoded once: every receiver is handed the same bytes', async (t) => {
  const { server, url } = await start();
  t.after(() => server.close());
  const clients = await Promise.all(Array.from({ length: 5 }, () => listener(url)));
  t.after(() => clients.forEach((c) => c.ws.terminate()));
  await waitForConnections(server, 5);
  const handed: Buffer[] = [];
  for (const connection of server.connections) {
    const original = connection.sendEncodedFrame.bind(connection);
    connection.sendEncodedFrame = (frame: Buffer) => {
      handed.push(frame);
      return original(frame);
    };
  }
  server.broadcast(Buffer.alloc(100_000, 1));
  assert.equal(handed.length, 5);
  for (const frame of handed) assert.equal(frame, handed[0], 'one Buffer, shared');
  assert.ok(handed[0].equals(encodeMessage(Buffer.alloc(100_000, 1))));
  await until(() => clients.every((c) => c.messages.length === 1), 'delivery');
});

test('broadcastLimit: a receiver with exactly the limit buffered still gets the message; one byte over is slow', () => {
  const limit = 1000;
  const fake = (bufferedAmount: number) => {
    const receiver = {
      readyState: ReadyState.OPEN as ReadyState,
      bufferedAmount,
      frames: [] as Buffer[],
      closedWith: undefined as number | undefined,
      sendEncodedFrame(frame: Buffer) {
        receiver.frames.push(frame);
        return true;
      },
      close(code: number) {
        receiver.closedWith = code;
        receiver.readyState = ReadyState.CLOSING;
      },
    };
    return receiver;
  };
  const frame = encodeMessage('x');
  for (const slowReceiver of ['skip', 'close'] as const) {
    const atLimit = fake(limit);
    const over = fake(limit + 1);
    const receivers = [atLimit, over] as unknown as WebSocketConnection[];
    const result = broadcastFrame(receivers, frame, { limit, slowReceiver }, undefined);
    assert.equal(atLimit.frames.length, 1, slowReceiver);
    assert.equal(over.frames.length, 0, slowReceiver);
    if (slowReceiver === 'skip') {
      assert.deepEqual(result, { sent: 1, skipped: 1, closed: 0 });
      assert.equal(over.closedWith, undefined);
    } else {
      assert.deepEqual(result, { sent: 1, skipped: 0, closed: 1 });
      assert.equal(over.closedWith, 1008);
    }
  }
});

test('encodeMessage: TEXT for strings (UTF-8), BINARY for bytes, minimal length encoding', () => {
  assert.deepEqual([...encodeMessage('é')], [0x81, 0x02, 0xc3, 0xa9]);
  assert.deepEqual([...encodeMessage(new Uint8Array([1, 2]))], [0x82, 0x02, 1, 2]);
  assert.deepEqual([...encodeMessage(new Uint16Array([0x0102]).buffer)].slice(0, 2), [0x82, 0x02]);
  assert.deepEqual([...encodeMessage(new DataView(new ArrayBuffer(4), 1, 2))], [0x82, 0x02, 0, 0]);
  assert.deepEqual([...encodeMessage(Buffer.alloc(126)).subarray(0, 4)], [0x82, 126, 0x00, 126]);
  assert.deepEqual([...encodeMessage(Buffer.alloc(65536)).subarray(0, 10)], [0x82, 127, 0, 0, 0, 0, 0, 1, 0, 0]);
  assert.throws(() => encodeMessage(42 as unknown as string), { code: 'WS_ERR_INVALID_ARGUMENT' });
});

/**
 * One receiver stops reading; a fast one keeps up. The server broadcasts
 * `count` messages of `size` bytes, each after the fast one got the previous.
 */
async function floodWithOneStuckReceiver(options: ServerOptions, count: number, size: number) {
  const { server, port, url } = await start(options);
  const fast = await listener(url);
  const slow = await RawClient.connect(port);
  slow.socket.pause(); // reads nothing from now on: the kernel buffers fill, then ours would
  await waitForConnections(server, 2);
  const slowConnection = [...server.connections].find((c) => c.remoteAddress === slow.socket.localAddress && c.request.remotePort === slow.socket.localPort) as WebSocketConnection;
  const totals = { sent: 0, skipped: 0, closed: 0 };
  let maxBuffered = 0;
  const payload = Buffer.alloc(size, 0x61);
  for (let i = 0; i < count; i++) {
    const result = server.broadcast(payload);
    totals.sent += result.sent;
    totals.skipped += result.skipped;
    totals.closed += result.closed;
    maxBuffered = Math.max(maxBuffered, slowConnection.bufferedAmount);
    await until(() => fast.messages.length === i + 1, `message ${i + 1} at the fast receiver`);
  }
  return { server, fast, slow, slowConnection, totals, maxBuffered };
}

test("slowReceiver 'skip': a receiver that stops reading misses messages, the others get all, memory stays bounded", async (t) => {
  const limit = 256 * 1024;
  const size = 64 * 1024;
  const count = 300; // 19 MiB in all: far more than the kernel buffers of the stuck socket hold
  const run = await floodWithOneStuckReceiver({ slowReceiver: 'skip', broadcastLimit: limit }, count, size);
  t.after(() => {
    run.fast.ws.terminate();
    run.slow.destroy();
    return run.server.close();
  });
  assert.equal(run.fast.messages.length, count, 'the fast receiver got every message');
  assert.ok(run.totals.skipped > 0, 'the stuck receiver was skipped');
  assert.equal(run.totals.closed, 0);
  assert.ok(run.maxBuffered <= limit + size + 14, `buffered for the stuck receiver: ${run.maxBuffered} bytes`);
  assert.equal(run.slowConnection.readyState, ReadyState.OPEN, "'skip' leaves it open");
});

test("slowReceiver 'close' (the default): the stuck receiver is closed with 1008 and gets the close frame once it reads again", async (t) => {
  const limit = 256 * 1024;
  const size = 64 * 1024;
  const run = await floodWithOneStuckReceiver({ broadcastLimit: limit }, 200, size);
  t.after(() => {
    run.fast.ws.terminate();
    run.slow.destroy();
    return run.server.close();
  });
  assert.equal(run.fast.messages.length, 200);
  assert.equal(run.totals.closed, 1, 'closed once, then no longer a receiver');
  assert.equal(run.totals.skipped, 0);
  assert.ok(run.maxBuffered <= limit + size + 14, `buffered for the stuck receiver: ${run.maxBuffered} bytes`);
  assert.equal(run.slowConnection.readyState, ReadyState.CLOSING);

  // It reads again: the backlog, then our close frame, 1008 with the documented reason.
  run.slow.socket.resume();
  let frame;
  do frame = await run.slow.nextFrame(3000);
  while (frame.opcode !== OP.CLOSE);
  const close = parseClosePayload(frame.payload);
  assert.equal(close.code, CloseCode.POLICY_VIOLATION);
  assert.equal(close.reason, SLOW_RECEIVER_REASON);
  run.slow.sendClose(1008);
  const info = await run.slowConnection.closed;
  assert.equal(info.code, 1008);
});

test('a receiver that stops reading does not hold up a broadcast loop (no await on it)', async (t) => {
  // Without pacing: 64 broadcasts of 64 KiB in one synchronous burst. The stuck
  // receiver and the fast one are treated the same: both are over the limit
  // within the burst and skipped; nothing blocks and memory stays bounded.
  const { server, port, url } = await start({ slowReceiver: 'skip', broadcastLimit: 512 * 1024 });
  const fast = await listener(url);
  const slow = await RawClient.connect(port);
  t.after(() => {
    fast.ws.terminate();
    slow.destroy();
    return server.close();
  });
  slow.socket.pause();
  await waitForConnections(server, 2);
  const started = Date.now();
  let skipped = 0;
  for (let i = 0; i < 64; i++) skipped += server.broadcast(Buffer.alloc(64 * 1024)).skipped;
  assert.ok(Date.now() - started < 1000);
  assert.ok(skipped > 0);
  for (const connection of server.connections) assert.ok(connection.bufferedAmount <= 512 * 1024 + 64 * 1024 + 14);
});
