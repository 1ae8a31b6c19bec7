/**
 * sendStream(): one message sent as fragments as its chunks come (RFC 6455
 * §5.4), over real sockets. A bare-socket client sees the frames (opcode,
 * FIN, RSV); `ws` and our own client check that the message arrives whole.
 * Backpressure: with a reader that stops, the source is not pulled further,
 * and 256 MiB stream through in bounded memory. Control frames go between
 * fragments; other data messages wait for the end of the message; a source
 * that throws mid-message fails the connection with 1011.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { Readable } from 'node:stream';
import { test } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { createHash } from 'node:crypto';

import WebSocket from 'ws';

import { connect, ConnectionClosedError, LocalError, type ServerOptions } from '../../src/index.js';
import { OP, ping } from '../helpers/frames.js';
import { startPeerServer } from '../helpers/peer-server.js';
import { waitFor, withTimeout } from '../helpers/wait-for.js';

function start(t: { after(fn: () => unknown): void }, options: ServerOptions = {}) {
  return startPeerServer(t, options);
}

/** An async source that yields each chunk once `gate()` allows it. */
async function* gated(chunks: Array<string | Uint8Array>, gate: (index: number) => Promise<void>): AsyncGenerator<string | Uint8Array> {
  for (let i = 0; i < chunks.length; i++) {
    await gate(i);
    yield chunks[i];
  }
}

test('fragments on the wire: TEXT fin=0, CONTINUATION fin=0, then an empty final CONTINUATION (§5.4)', { timeout: 10_000 }, async (t) => {
  const { pair } = await start(t);
  const { peer, ws } = await pair();
  await withTimeout(ws.sendStream(['Hel', 'lo']), { what: 'sendStream' });
  await peer.until((f) => f.length === 3, 'three frames');
  assert.deepEqual(
    peer.frames.map((f) => [f.opcode, f.fin, f.payload!.toString()]),
    [
      [OP.TEXT, false, 'Hel'],
      [OP.CONT, false, 'lo'],
      [OP.CONT, true, ''],
    ],
  );
});

test('binary from an async generator and from a Readable; an empty source sends one empty message', { timeout: 10_000 }, async (t) => {
  const { pair } = await start(t);
  const { peer, ws } = await pair();
  async function* bytes() {
    yield Buffer.from([1, 2]);
    await delay(5);
    yield new Uint8Array([3]);
  }
  await ws.sendStream(bytes());
  await ws.sendStream(Readable.from([Buffer.from('ab'), Buffer.from('cd')]), { binary: true });
  await ws.sendStream([]);
  await ws.sendStream([], { binary: false });
  await peer.until((f) => f.length === 8, 'eight frames');
  assert.deepEqual(
    peer.frames.map((f) => [f.opcode, f.fin, f.payload!.toString('hex')]),
    [
      [OP.BINARY, false, '0102'],
      [OP.CONT, false, '03'],
      [OP.CONT, true, ''],
      [OP.BINARY, false, '6162'],
      [OP.CONT, false, '6364'],
      [OP.CONT, true, ''],
      [OP.BINARY, true, ''],
      [OP.TEXT, true, ''],
    ],
  );
});

test('a ping goes between fragments; a send() made meanwhile waits for the end of the message', { timeout: 10_000 }, async (t) => {
  const { pair } = await start(t);
  const { peer, ws } = await pair();
  const settled: string[] = [];
  let other: Promise<void> | undefined;
  const streamed = ws.sendStream(
    gated(['one', 'two', 'three'], async (i) => {
      if (i === 0) return;
      // Between fragments: the peer pings (answered at once), the application sends a message.
      if (i === 1) {
        await peer.until((f) => f.length === 1, 'the first fragment');
        peer.write(ping('mid'));
        await peer.until((f) => f.length === 2, 'the pong');
        other = ws.sent('other message').then(() => void settled.push('other'));
        ws.ping('ours');
      }
      await delay(20);
    }),
  );
  await withTimeout(
    streamed.then(() => void settled.push('stream')),
    { what: 'sendStream' },
  );
  await withTimeout(other!, { what: 'sent() of the message that waited' });
  assert.deepEqual(settled.sort(), ['other', 'stream']);
  await peer.until((f) => f.length === 7, 'seven frames');
  assert.deepEqual(
    peer.frames.map((f) => [f.opcode, f.fin, f.payload!.toString()]),
    [
      [OP.TEXT, false, 'one'],
      [OP.PONG, true, 'mid'],
      [OP.PING, true, 'ours'],
      [OP.CONT, false, 'two'],
      [OP.CONT, false, 'three'],
      [OP.CONT, true, ''],
      [OP.TEXT, true, 'other message'],
    ],
  );
});

test('a second sendStream() while one is sending throws WS_ERR_STREAM_IN_PROGRESS', { timeout: 10_000 }, async (t) => {
  const { pair } = await start(t);
  const { peer, ws } = await pair();
  let release!: () => void;
  const gate = new Promise<void>((resolve) => (release = resolve));
  const first = ws.sendStream(gated(['a', 'b'], (i) => (i === 1 ? gate : Promise.resolve())));
  await assert.rejects(ws.sendStream(['x']), (e: unknown) => e instanceof LocalError && e.code === 'WS_ERR_STREAM_IN_PROGRESS');
  release();
  await first;
  await assert.rejects(ws.sendStream(42 as unknown as string[]), TypeError); // not iterable: refused, nothing held
  await ws.sendStream(['c']); // free again
  await peer.until((f) => f.length === 5, 'five frames');
});

test('a source that throws mid-message fails the connection with 1011; before its first chunk nothing is sent', { timeout: 10_000 }, async (t) => {
  const { pair } = await start(t);
  {
    const { peer, ws } = await pair();
    const boom = new Error('disk on fire');
    // eslint-disable-next-line require-yield
    async function* failsAtOnce(): AsyncGenerator<string> {
      throw boom;
    }
    await assert.rejects(ws.sendStream(failsAtOnce()), (e) => e === boom);
    await ws.sent('still open');
    await peer.until((f) => f.length === 1, 'the message after');
    assert.equal(peer.frames[0].opcode, OP.TEXT);
  }
  {
    const { peer, ws } = await pair();
    const boom = new Error('disk on fire');
    async function* failsLater(): AsyncGenerator<string> {
      yield 'partial';
      await delay(5);
      throw boom;
    }
    await assert.rejects(ws.sendStream(failsLater()), (e) => e === boom);
    await peer.until((f) => f.some((x) => x.opcode === OP.CLOSE), 'a close frame');
    const close = peer.frames.find((f) => f.opcode === OP.CLOSE)!;
    assert.equal(close.payload!.readUInt16BE(0), 1011);
    assert.deepEqual(
      peer.frames.map((f) => [f.opcode, f.fin]),
      [
        [OP.TEXT, false],
        [OP.CLOSE, true],
      ],
    );
  }
});

test('the connection closing while the source waits rejects sendStream() with ConnectionClosedError and closes the source', { timeout: 10_000 }, async (t) => {
  const { pair } = await start(t);
  const { peer, ws } = await pair();
  const source = Readable.from(
    (async function* () {
      yield 'first';
      await new Promise(() => {}); // never more
    })(),
  );
  const streamed = ws.sendStream(source);
  await peer.until((f) => f.length === 1, 'the first fragment');
  peer.destroy();
  await assert.rejects(
    withTimeout(streamed, { what: 'sendStream to settle' }),
    (e: unknown) => e instanceof ConnectionClosedError,
  );
  // (Readable.from() never emits 'close' here: its destroy waits for the generator, which waits forever.)
  await waitFor(() => source.destroyed, { what: 'the source to be destroyed' });
});

test('text given as bytes is checked as UTF-8 across chunks: split characters pass, an invalid byte is never sent', { timeout: 10_000 }, async (t) => {
  const { url, accepted } = await start(t);
  const client = new WebSocket(url);
  t.after(() => client.terminate());
  const received: string[] = [];
  client.on('message', (data, isBinary) => received.push(isBinary ? '(binary)' : data.toString()));
  const closed = once(client, 'close');
  await once(client, 'open');
  const ws = await accepted();

  const euro = Buffer.from('€'); // e2 82 ac
  const emoji = '😀'; // a surrogate pair, split across two string chunks below
  await ws.sendStream([euro.subarray(0, 1), euro.subarray(1), 'x', emoji.slice(0, 1), emoji.slice(1)], { binary: false });
  await waitFor(() => received.length === 1, { what: 'the text message at the ws client' });
  assert.equal(received[0], `€x${emoji}`);

  await assert.rejects(ws.sendStream([Buffer.from('ok'), Buffer.from([0xff])], { binary: false }), (e: unknown) => e instanceof LocalError && e.code === 'WS_ERR_SEND_INVALID_UTF8');
  const [code] = (await withTimeout(closed, { what: 'the ws client to close' })) as [number];
  // 'ok' was out: the connection failed with 1011, and ws (which validates UTF-8) saw no bad byte (it would close 1007).
  assert.equal(code, 1011);
});

test('with permessage-deflate, a streamed message goes uncompressed (RSV1 clear on every frame); ws and our client read it', { timeout: 15_000 }, async (t) => {
  const { pair, url, accepted } = await start(t, { perMessageDeflate: true });
  const { peer, ws } = await pair({ extensions: 'permessage-deflate' });
  assert.match(ws.extensions, /permessage-deflate/);
  const chunk = 'compressible text '.repeat(1000);
  ws.send(chunk); // compressed (RSV1)
  await ws.sendStream([chunk, chunk]);
  ws.send(chunk); // compressed again, with the context of the first
  await peer.until((f) => f.length === 5, 'five frames');
  assert.deepEqual(
    peer.frames.map((f) => [f.opcode, f.fin, f.rsv]),
    [
      [OP.TEXT, true, 4],
      [OP.TEXT, false, 0],
      [OP.CONT, false, 0],
      [OP.CONT, true, 0],
      [OP.TEXT, true, 4],
    ],
  );

  // ws (with its own inflater and context takeover) reads all three messages.
  const client = new WebSocket(url, { perMessageDeflate: true });
  t.after(() => client.terminate());
  const received: string[] = [];
  client.on('message', (data) => received.push(data.toString()));
  await once(client, 'open');
  const server = await accepted();
  server.send(chunk);
  await server.sendStream([chunk, chunk]);
  server.send(chunk + '!');
  await waitFor(() => received.length === 3, { what: 'three messages at ws' });
  assert.deepEqual(received, [chunk, chunk + chunk, chunk + '!']);

  // And our own client.
  const ours = await connect(url, { perMessageDeflate: true });
  t.after(() => ours.terminate());
  const theirs = await accepted();
  const messages: string[] = [];
  ours.on('message', (m) => messages.push(m as string));
  await theirs.sendStream(Readable.from([chunk, chunk]));
  theirs.send(chunk);
  await waitFor(() => messages.length === 2, { what: 'two messages at our client' });
  assert.deepEqual(messages, [chunk + chunk, chunk]);
});

test('a stream behind a message compressed off the event loop waits for it, then goes in order', { timeout: 15_000 }, async (t) => {
  const { pair } = await start(t, { perMessageDeflate: true });
  const { peer, ws } = await pair({ extensions: 'permessage-deflate', keepPayloads: false });
  ws.send('compress me on the thread pool '.repeat(64 * 1024)); // ~2 MiB: deflated off the event loop
  const CHUNK = 64 * 1024;
  let mostBuffered = 0;
  function* chunks(): Generator<Buffer> {
    for (let i = 0; i < 256; i++) {
      mostBuffered = Math.max(mostBuffered, ws.bufferedAmount);
      yield Buffer.alloc(CHUNK, i);
    }
  }
  await withTimeout(ws.sendStream(chunks()), { what: 'sendStream', timeout: 10_000 });
  await peer.until((f) => f.length === 258, 'the compressed message and 257 fragments', 10_000);
  assert.deepEqual([peer.frames[0].opcode, peer.frames[0].rsv, peer.frames[0].fin], [OP.TEXT, 4, true]);
  assert.ok(peer.frames.slice(1).every((f, i) => f.rsv === 0 && f.opcode === (i === 0 ? OP.BINARY : OP.CONT) && f.fin === (i === 256)));
  // The 2 MiB being compressed, plus about a high-water mark of fragments (not the 16 MiB of the whole stream).
  assert.ok(mostBuffered < 4 * 1024 * 1024, `up to ${mostBuffered} bytes waited while the source was pulled`);
});

test('our client streams to the server too (masked fragments)', { timeout: 10_000 }, async (t) => {
  const { url, accepted } = await start(t);
  const client = await connect(url);
  t.after(() => client.terminate());
  const server = await accepted();
  const got = new Promise<string | Buffer>((resolve) => server.once('message', resolve));
  await client.sendStream([Buffer.alloc(20_000, 1), Buffer.alloc(30_000, 2)]);
  const message = (await withTimeout(got, { what: 'the message at the server' })) as Buffer;
  assert.equal(message.length, 50_000);
  assert.equal(message[0], 1);
  assert.equal(message[49_999], 2);
});

test('backpressure: a reader that stops stops the source; 256 MiB stream through in bounded memory', { timeout: 120_000 }, async (t) => {
  const { pair } = await start(t);
  const hash = createHash('sha256');
  const { peer, ws } = await pair({
    keepPayloads: false,
    onPayload: (_frame, piece) => hash.update(piece),
  });
  const CHUNK = 256 * 1024;
  const TOTAL = 256 * 1024 * 1024;
  const expected = createHash('sha256');
  let pulled = 0;
  function* source(): Generator<Buffer> {
    for (let i = 0; i < TOTAL / CHUNK; i++) {
      const chunk = Buffer.alloc(CHUNK, i & 0xff);
      chunk.writeUInt32BE(i, 0);
      expected.update(chunk);
      pulled += CHUNK;
      yield chunk;
    }
  }
  global.gc?.();
  const rssBefore = process.memoryUsage().rss;
  let rssPeak = rssBefore;
  const sampler = setInterval(() => (rssPeak = Math.max(rssPeak, process.memoryUsage().rss)), 20);
  t.after(() => clearInterval(sampler));

  peer.pause();
  const streamed = ws.sendStream(source());
  await delay(500);
  // The reader took nothing: what the source gave is what the kernel buffers hold plus the high-water mark.
  const pulledWhilePaused = pulled;
  assert.ok(pulledWhilePaused < 32 * 1024 * 1024, `source pulled ${pulledWhilePaused} bytes while the reader was stopped`);
  await delay(200);
  assert.equal(pulled, pulledWhilePaused, 'the source was pulled on while nothing drained');
  peer.resume();
  await withTimeout(streamed, { what: 'sendStream of 256 MiB', timeout: 100_000 });
  await waitFor(() => peer.payloadBytes === TOTAL, { what: () => `all payload at the peer (${peer.payloadBytes})`, timeout: 20_000 });
  clearInterval(sampler);
  const growth = rssPeak - rssBefore;
  t.diagnostic(`pulled while the reader was stopped: ${(pulledWhilePaused / 1048576).toFixed(1)} MiB; RSS growth: ${(growth / 1048576).toFixed(1)} MiB`);
  assert.ok(growth < 96 * 1024 * 1024, `RSS grew by ${(growth / 1048576).toFixed(1)} MiB while streaming 256 MiB`);
  assert.equal(hash.digest('hex'), expected.digest('hex'));
  const first = peer.frames[0];
  assert.equal(first.opcode, OP.BINARY);
  assert.equal(first.fin, false);
  const last = peer.frames.at(-1)!;
  assert.deepEqual([last.opcode, last.fin, last.length], [OP.CONT, true, 0]);
  assert.equal(peer.frames.length, TOTAL / CHUNK + 1);
});
