/**
 * Streaming receive over real sockets (streamMessagesAbove): a 256 MiB
 * message, sent from a raw socket in fragments, goes through in bounded
 * memory (the consumer reads chunks; the connection stops reading while it
 * lags); invalid UTF-8 fails the connection with 1007 in the middle of the
 * stream; small messages still come whole, in order; for-await and
 * receive() without `streams` assemble; a compressed message is not
 * streamed and is held to the threshold.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import net from 'node:net';
import { setTimeout as delay } from 'node:timers/promises';
import { connect } from '../../src/client/connect.js';
import { createServer, type WebSocketServer } from '../../src/server/server.js';
import type { ServerOptions } from '../../src/server/options.js';
import type { WebSocketConnection } from '../../src/connection/websocket-connection.js';
import { MessageStream } from '../../src/connection/message-stream.js';
import { ProtocolError } from '../../src/errors.js';
import { withTimeout, waitFor } from '../helpers/wait-for.js';
import { acceptFor } from '../helpers/raw-client.js';

const MiB = 1024 * 1024;

async function startServer(options: ServerOptions<undefined>, handler: (ws: WebSocketConnection<undefined>) => unknown): Promise<{ server: WebSocketServer<undefined>; port: number }> {
  const server = createServer({ host: '127.0.0.1', ...options }, handler);
  server.on('error', () => {});
  const { port } = await server.listen(0);
  return { server, port };
}

/** A bare TCP client after the opening handshake: frames are written by hand (masked with a zero key: the payload goes as is). */
async function rawSocket(port: number): Promise<net.Socket> {
  const socket = net.connect(port, '127.0.0.1');
  await once(socket, 'connect');
  const key = randomBytes(16).toString('base64');
  socket.write(`GET / HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n\r\n`);
  let head = Buffer.alloc(0);
  while (!head.includes('\r\n\r\n')) {
    const [chunk] = (await withTimeout(once(socket, 'data'), { what: 'the 101' })) as [Buffer];
    head = Buffer.concat([head, chunk]);
  }
  assert.match(head.toString('latin1'), /^HTTP\/1\.1 101/);
  assert.ok(head.toString('latin1').includes(acceptFor(key)));
  return socket;
}

/** A client frame header (masked with key 0000, so the payload is sent unchanged). */
function header(opcode: number, fin: boolean, length: number): Buffer {
  const extended = length < 126 ? 0 : length < 65536 ? 2 : 8;
  const head = Buffer.alloc(2 + extended + 4);
  head[0] = (fin ? 0x80 : 0) | opcode;
  head[1] = 0x80 | (extended === 0 ? length : extended === 2 ? 126 : 127);
  if (extended === 2) head.writeUInt16BE(length, 2);
  if (extended === 8) head.writeBigUInt64BE(BigInt(length), 2);
  return head; // the 4 mask bytes are already zero
}

async function write(socket: net.Socket, bytes: Buffer): Promise<void> {
  if (!socket.write(bytes)) await once(socket, 'drain');
}

test('a 256 MiB message is streamed in bounded memory: RSS grows far less than the message', { timeout: 120_000 }, async () => {
  const FRAGMENT = 4 * MiB;
  const FRAGMENTS = 64; // 256 MiB
  const fragment = randomBytes(FRAGMENT);
  const expected = createHash('sha256');
  for (let i = 0; i < FRAGMENTS; i++) expected.update(fragment);
  const expectedDigest = expected.digest('hex');

  let result: { bytes: number; digest: string; chunks: number; small: unknown[] } | null = null;
  const { server, port } = await startServer({ streamMessagesAbove: MiB, maxMessageSize: 512 * MiB }, async (ws) => {
    const before = await ws.receive({ streams: true });
    const stream = await ws.receive({ streams: true });
    assert.ok(stream instanceof MessageStream && stream.binary);
    const hash = createHash('sha256');
    let bytes = 0;
    let chunks = 0;
    for await (const chunk of stream) {
      hash.update(chunk as Buffer);
      bytes += chunk.length;
      chunks++;
      // A consumer slower than the network, now and then: the connection must stop reading meanwhile.
      if (chunks % 4 === 0) await delay(1);
    }
    const after = await ws.receive({ streams: true });
    result = { bytes, digest: hash.digest('hex'), chunks, small: [before, after] };
  });
  const socket = await rawSocket(port);
  try {
    global.gc?.();
    const baseline = process.memoryUsage().rss;
    let peak = baseline;
    const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 5);
    await write(socket, Buffer.concat([header(0x1, true, 6), Buffer.from('before')]));
    for (let i = 0; i < FRAGMENTS; i++) {
      await write(socket, header(i === 0 ? 0x2 : 0x0, i === FRAGMENTS - 1, FRAGMENT));
      await write(socket, fragment);
    }
    await write(socket, Buffer.concat([header(0x1, true, 5), Buffer.from('after')]));
    await waitFor(() => result !== null, { what: 'the streamed message to be read', timeout: 100_000 });
    clearInterval(sampler);
    const growth = peak - baseline;
    assert.equal(result!.bytes, FRAGMENT * FRAGMENTS);
    assert.equal(result!.digest, expectedDigest, 'every byte, in order');
    assert.ok(result!.chunks > FRAGMENTS, 'delivered in many chunks, as they arrived');
    assert.deepEqual(result!.small, ['before', 'after'], 'the small messages around it come whole, in order');
    if (process.env.WSRFC_SHOW_RSS) console.log(`RSS growth ${(growth / MiB).toFixed(1)} MiB, ${result!.chunks} chunks`);
    assert.ok(growth < 64 * MiB, `RSS grew by ${(growth / MiB).toFixed(1)} MiB while 256 MiB went through`);
  } finally {
    socket.destroy();
    await server.close();
  }
});

test('§8.1: invalid UTF-8 in the middle of a streamed text message fails the connection with 1007; the stream rejects after the valid chunks', { timeout: 20_000 }, async () => {
  let streamError: unknown = null;
  let received = '';
  const { server, port } = await startServer({ streamMessagesAbove: 1024 }, async (ws) => {
    const stream = await ws.receive({ streams: true });
    assert.ok(stream instanceof MessageStream && !stream.binary);
    try {
      for await (const chunk of stream) received += chunk as string;
    } catch (error) {
      streamError = error;
    }
  });
  const socket = await rawSocket(port);
  try {
    const valid = Buffer.from('ü'.repeat(100_000)); // 200 kB of valid text
    const closed = new Promise<Buffer>((resolve) => {
      let all = Buffer.alloc(0);
      socket.on('data', (chunk: Buffer) => (all = Buffer.concat([all, chunk])));
      socket.on('close', () => resolve(all));
    });
    await write(socket, header(0x1, false, valid.length));
    await write(socket, valid);
    await waitFor(() => received.length === 100_000, { what: 'the valid part to be streamed' });
    assert.equal(streamError, null, 'no error before the bad byte');
    // The next fragment starts with a byte that can never appear in UTF-8; the message is far from complete.
    await write(socket, Buffer.concat([header(0x0, false, 1000), Buffer.from([0xff]), Buffer.alloc(999, 0x61)]));
    const bytes = await withTimeout(closed, { what: 'the server to close' });
    // The server's close frame: 88 xx 03 ef (1007).
    const at = bytes.indexOf(Buffer.from([0x88]));
    assert.ok(at >= 0, 'a close frame came');
    assert.equal(bytes.readUInt16BE(at + 2), 1007);
    await waitFor(() => streamError !== null, { what: 'the stream to reject' });
    const error = streamError as unknown;
    assert.ok(error instanceof ProtocolError);
    assert.equal(error.code, 'WS_ERR_INVALID_UTF8');
    assert.equal(error.closeCode, 1007);
    assert.equal(received, 'ü'.repeat(100_000), 'the valid chunks came first, a character split between reads whole');
  } finally {
    socket.destroy();
    await server.close();
  }
});

test('without `streams: true`, receive() and for-await get a streamed message whole', { timeout: 20_000 }, async () => {
  const big = 'x'.repeat(300_000);
  const { server, port } = await startServer({ streamMessagesAbove: 1000 }, async (ws) => {
    const first = await ws.receive();
    ws.send(`receive: ${typeof first} ${first.length}`);
    for await (const message of ws) ws.send(`loop: ${typeof message} ${message.length}`);
  });
  const client = await connect(`ws://127.0.0.1:${port}`);
  try {
    client.send(big);
    client.send(Buffer.alloc(5000));
    client.send('small');
    assert.equal(await withTimeout(client.receive(), { what: 'reply 1' }), `receive: string ${big.length}`);
    assert.equal(await withTimeout(client.receive(), { what: 'reply 2' }), 'loop: object 5000');
    assert.equal(await withTimeout(client.receive(), { what: 'reply 3' }), 'loop: string 5');
  } finally {
    client.close();
    await server.close();
  }
});

test('a \'message\' listener alone gets streamed messages whole, in order with the others', { timeout: 20_000 }, async () => {
  const seen: string[] = [];
  const { server, port } = await startServer({ streamMessagesAbove: 100 }, (ws) => {
    ws.on('message', (message) => seen.push(`${typeof message} ${message.length}`));
  });
  const client = await connect(`ws://127.0.0.1:${port}`);
  try {
    client.send('a');
    client.send('b'.repeat(100_000));
    client.send(Buffer.alloc(300));
    client.send('c');
    await waitFor(() => seen.length === 4, { what: 'four messages' });
    assert.deepEqual(seen, ['string 1', 'string 100000', 'object 300', 'string 1']);
  } finally {
    client.close();
    await server.close();
  }
});

test('a \'stream\' listener gets each streamed message as a MessageStream as it starts; small ones still come to \'message\'', { timeout: 20_000 }, async () => {
  const seen: string[] = [];
  const { server, port } = await startServer({ streamMessagesAbove: 1000 }, (ws) => {
    ws.on('message', (message) => seen.push(`message ${message.length}`));
    ws.on('stream', async (stream) => {
      const whole = await stream.collect();
      seen.push(`stream binary=${stream.binary} ${whole.length}`);
    });
  });
  const client = await connect(`ws://127.0.0.1:${port}`);
  try {
    client.send('t'.repeat(5000));
    client.send(Buffer.alloc(7000));
    client.send('small');
    await waitFor(() => seen.length === 3, { what: 'three messages' });
    assert.deepEqual(seen.sort(), ['message 5', 'stream binary=false 5000', 'stream binary=true 7000']);
  } finally {
    client.close();
    await server.close();
  }
});

test('a stream left early (break) discards the rest of its message; the next message comes', { timeout: 20_000 }, async () => {
  let next: unknown = null;
  const { server, port } = await startServer({ streamMessagesAbove: 1000, maxMessageSize: 64 * MiB }, async (ws) => {
    const stream = (await ws.receive({ streams: true })) as MessageStream;
    for await (const chunk of stream) {
      assert.ok(chunk.length > 0);
      break;
    }
    next = await ws.receive();
  });
  const client = await connect(`ws://127.0.0.1:${port}`);
  try {
    client.send(Buffer.alloc(32 * MiB));
    client.send('next');
    await waitFor(() => next !== null, { what: 'the message after the discarded one', timeout: 15_000 });
    assert.equal(next, 'next');
  } finally {
    client.close();
    await server.close();
  }
});

test('permessage-deflate: a compressed message is not streamed: it comes whole up to the threshold, and above it fails with 1009', { timeout: 20_000 }, async () => {
  const seen: unknown[] = [];
  const { server, port } = await startServer({ streamMessagesAbove: 64 * 1024, perMessageDeflate: true }, async (ws) => {
    for (;;) seen.push(await ws.receive({ streams: true }));
  });
  const client = await connect(`ws://127.0.0.1:${port}`, { perMessageDeflate: true });
  try {
    assert.match(client.extensions, /permessage-deflate/);
    client.send('y'.repeat(64 * 1024));
    await waitFor(() => seen.length === 1, { what: 'the compressed message at the threshold' });
    assert.equal(seen[0], 'y'.repeat(64 * 1024), 'whole, not a MessageStream');
    client.send('z'.repeat(64 * 1024 + 1));
    const info = await withTimeout(client.closed, { what: 'the close' });
    assert.equal(info.received?.code, 1009);
    assert.equal(seen.length, 1);
  } finally {
    await server.close();
  }
});
