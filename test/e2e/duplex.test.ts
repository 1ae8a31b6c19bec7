/**
 * createWebSocketStream(): a connection as a node:stream Duplex, over real
 * sockets. A 32 MiB file piped through an echo server built on the same
 * adapter comes back with the same hash; backpressure holds both ways (a
 * stream nobody reads stops reading its socket; a write to a peer that does
 * not read completes only on drain); end() closes with 1000 after the
 * messages, destroy(error) with 1011; the peer's close ends the readable
 * side, its protocol error destroys the stream.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { createReadStream } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';

import { connect, ProtocolError, type ServerOptions, type WebSocketConnection } from '../../src/index.js';
import { createWebSocketStream } from '../../src/connection/duplex-stream.js';
import { OP, close as closeFrame, frame } from '../helpers/frames.js';
import { startPeerServer } from '../helpers/peer-server.js';
import { waitFor, withTimeout } from '../helpers/wait-for.js';

function start(t: { after(fn: () => unknown): void }, handler?: (ws: WebSocketConnection) => void, options: ServerOptions = {}) {
  return startPeerServer(t, options, handler);
}

test('a 32 MiB file piped through an echo server (a Duplex piped into itself) comes back with the same hash', { timeout: 60_000 }, async (t) => {
  // The echo server: each connection's stream piped into itself.
  const { url } = await start(t, (ws) => {
    const stream = createWebSocketStream(ws);
    stream.on('error', () => {});
    stream.pipe(stream);
  });
  const dir = await mkdtemp(join(tmpdir(), 'wsrfc-duplex-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const file = join(dir, 'data.bin');
  const SIZE = 32 * 1024 * 1024;
  const content = randomBytes(SIZE);
  await writeFile(file, content);
  const want = createHash('sha256').update(content).digest('hex');

  const client = await connect(url);
  t.after(() => client.terminate());
  const stream = createWebSocketStream(client);
  const hash = createHash('sha256');
  let received = 0;
  stream.on('data', (chunk: Buffer) => {
    hash.update(chunk);
    received += chunk.length;
  });
  const ended = once(stream, 'end');
  // Closing is not a half-close: the client ends once all the echo is back.
  createReadStream(file).pipe(stream, { end: false });
  await waitFor(() => received === SIZE, { what: () => `the whole echo (${received} of ${SIZE})`, timeout: 50_000, interval: 10 });
  stream.end();
  await withTimeout(ended, { what: "the client stream's end" });
  assert.equal(hash.digest('hex'), want);
  const info = await client.closed;
  assert.equal(info.code, 1000);
});

test('reading backpressure: a stream nobody reads stops reading its socket; reading it later gets every message in order', { timeout: 30_000 }, async (t) => {
  const { url, accepted } = await start(t);
  const client = await connect(url);
  t.after(() => client.terminate());
  const stream = createWebSocketStream(client, { readableObjectMode: true });
  const server = await accepted();
  const COUNT = 64;
  for (let i = 0; i < COUNT; i++) {
    const message = Buffer.alloc(1024 * 1024, i);
    server.send(message);
  }
  stream.once('readable', () => {}); // start the readable side, then read nothing
  await delay(500);
  // The client holds a bounded queue and leaves the rest in TCP: most of the 64 MiB still waits at the server.
  assert.ok(server.bufferedAmount > 32 * 1024 * 1024, `server still holds only ${server.bufferedAmount} bytes`);
  const seen: number[] = [];
  for await (const message of stream) {
    seen.push((message as Buffer)[0]);
    if (seen.length === COUNT) break;
  }
  assert.deepEqual(
    seen,
    Array.from({ length: COUNT }, (_, i) => i),
  );
});

test('writing backpressure: a write to a peer that does not read completes on drain', { timeout: 20_000 }, async (t) => {
  const { pair } = await start(t);
  const { peer, ws } = await pair();
  const stream = createWebSocketStream(ws);
  peer.pause();
  let written = 0;
  const CHUNK = 1024 * 1024;
  const writes: Promise<void>[] = [];
  for (let i = 0; i < 16; i++) {
    writes.push(new Promise<void>((resolve, reject) => stream.write(Buffer.alloc(CHUNK, i), (error) => (error ? reject(error) : (written++, resolve())))));
  }
  await delay(300);
  assert.ok(written < 16, 'every write completed although the peer read nothing');
  const stuck = written;
  await delay(200);
  assert.equal(written, stuck, 'writes went on completing while nothing drained');
  peer.resume();
  await withTimeout(Promise.all(writes), { what: 'all writes once the peer reads', timeout: 15_000 });
  await peer.until((f) => f.length === 16, 'sixteen binary frames', 10_000);
  assert.ok(peer.frames.every((f, i) => f.opcode === OP.BINARY && f.length === CHUNK && f.payload![0] === i));
});

test('end() closes with 1000 after the messages; finish comes once the connection is closed', { timeout: 10_000 }, async (t) => {
  const { pair } = await start(t);
  const { peer, ws } = await pair();
  const stream = createWebSocketStream(ws, { binary: false });
  stream.write('one');
  stream.write(Buffer.from('twö'));
  const finished = once(stream, 'finish');
  stream.end('three');
  await peer.until((f) => f.some((x) => x.opcode === OP.CLOSE), 'the close frame');
  assert.deepEqual(
    peer.frames.map((f) => [f.opcode, f.opcode === OP.CLOSE ? f.payload!.readUInt16BE(0) : f.payload!.toString()]),
    [
      [OP.TEXT, 'one'],
      [OP.TEXT, 'twö'],
      [OP.TEXT, 'three'],
      [OP.CLOSE, 1000],
    ],
  );
  peer.write(closeFrame(1000));
  await withTimeout(finished, { what: "the stream's finish" });
});

test('text mode refuses bytes that are not UTF-8; nothing is sent', { timeout: 10_000 }, async (t) => {
  const { pair } = await start(t);
  const { peer, ws } = await pair();
  const stream = createWebSocketStream(ws, { binary: false });
  const failed = once(stream, 'error');
  stream.write(Buffer.from([0xc3]));
  const [error] = (await withTimeout(failed, { what: 'the write error' })) as [Error & { code?: string }];
  assert.equal(error.code, 'WS_ERR_SEND_INVALID_UTF8');
  // destroy(error) closed the connection with 1011 (the write error destroyed the stream).
  await peer.until((f) => f.some((x) => x.opcode === OP.CLOSE), 'the close frame');
  assert.deepEqual(
    peer.frames.map((f) => f.opcode),
    [OP.CLOSE],
  );
  assert.equal(peer.frames[0].payload!.readUInt16BE(0), 1011);
});

test('destroy(error) closes with 1011; destroy() drops the connection', { timeout: 10_000 }, async (t) => {
  const { pair } = await start(t);
  {
    const { peer, ws } = await pair();
    const stream = createWebSocketStream(ws);
    stream.on('error', () => {});
    stream.destroy(new Error('upstream failed'));
    await peer.until((f) => f.length === 1, 'the close frame');
    assert.equal(peer.frames[0].opcode, OP.CLOSE);
    assert.equal(peer.frames[0].payload!.readUInt16BE(0), 1011);
  }
  {
    const { peer, ws } = await pair();
    const stream = createWebSocketStream(ws);
    stream.destroy();
    await waitFor(() => peer.closed, { what: 'TCP to close' });
    assert.equal(peer.frames.length, 0, 'no close frame: the connection was dropped');
  }
});

test("the peer's close ends the readable side; its protocol error destroys the stream with that error", { timeout: 10_000 }, async (t) => {
  const { pair } = await start(t);
  {
    const { peer, ws } = await pair();
    const stream = createWebSocketStream(ws);
    const chunks: string[] = [];
    stream.on('data', (chunk: Buffer) => chunks.push(chunk.toString()));
    const ended = once(stream, 'end');
    peer.write(frame({ opcode: OP.TEXT, payload: 'hi' }));
    peer.write(closeFrame(1000));
    await withTimeout(ended, { what: "the stream's end" });
    assert.deepEqual(chunks, ['hi']);
  }
  {
    const { peer, ws } = await pair();
    const stream = createWebSocketStream(ws);
    stream.resume();
    const failed = once(stream, 'error');
    peer.write(frame({ opcode: OP.TEXT, payload: 'unmasked', mask: false })); // §5.1: a client must mask
    const [error] = (await withTimeout(failed, { what: 'the stream error' })) as [Error];
    assert.ok(error instanceof ProtocolError);
    assert.equal(error.closeCode, 1002);
  }
});
