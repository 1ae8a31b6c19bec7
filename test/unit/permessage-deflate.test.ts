import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createDeflateRaw, createInflateRaw, deflateRawSync, constants as zlib, type DeflateRaw, type InflateRaw } from 'node:zlib';
import { parseExtensionHeader } from '../../src/extensions/extension-header.js';
import { deflateCodec, negotiateDeflate, type PerMessageDeflateOptions } from '../../src/extensions/permessage-deflate-negotiation.js';
import { ProtocolError } from '../../src/errors.js';

const negotiate = (header: string, options?: PerMessageDeflateOptions) => negotiateDeflate(parseExtensionHeader(header), options)?.response;

test('negotiation table (RFC 7692 §7.1)', () => {
  const table: Array<[offer: string, options: PerMessageDeflateOptions, response: string | undefined]> = [
    ['permessage-deflate', {}, 'permessage-deflate'],
    ['permessage-deflate; client_max_window_bits', {}, 'permessage-deflate'],
    ['permessage-deflate; client_max_window_bits=10', {}, 'permessage-deflate; client_max_window_bits=10'],
    ['permessage-deflate; client_max_window_bits', { clientMaxWindowBits: 12 }, 'permessage-deflate; client_max_window_bits=12'],
    ['permessage-deflate; client_max_window_bits=10', { clientMaxWindowBits: 12 }, 'permessage-deflate; client_max_window_bits=10'],
    // §7.1.2.2: never answered when not offered.
    ['permessage-deflate', { clientMaxWindowBits: 9 }, 'permessage-deflate'],
    ['permessage-deflate; server_max_window_bits=10', {}, 'permessage-deflate; server_max_window_bits=10'],
    ['permessage-deflate; server_max_window_bits=12', { serverMaxWindowBits: 9 }, 'permessage-deflate; server_max_window_bits=9'],
    ['permessage-deflate; server_max_window_bits=8', { serverMaxWindowBits: 15 }, 'permessage-deflate; server_max_window_bits=8'],
    // §7.1.2.1: a server may limit itself unasked.
    ['permessage-deflate', { serverMaxWindowBits: 11 }, 'permessage-deflate; server_max_window_bits=11'],
    ['permessage-deflate; server_no_context_takeover', {}, 'permessage-deflate; server_no_context_takeover'],
    ['permessage-deflate', { serverNoContextTakeover: true }, 'permessage-deflate; server_no_context_takeover'],
    ['permessage-deflate; client_no_context_takeover', {}, 'permessage-deflate'],
    ['permessage-deflate', { clientNoContextTakeover: true }, 'permessage-deflate; client_no_context_takeover'],
    [
      'permessage-deflate; client_no_context_takeover; server_no_context_takeover; server_max_window_bits=9; client_max_window_bits=8',
      { clientNoContextTakeover: true },
      'permessage-deflate; server_no_context_takeover; client_no_context_takeover; server_max_window_bits=9; client_max_window_bits=8',
    ],
    // Declined offers: unknown, duplicate, or invalid parameters.
    ['permessage-deflate; foo', {}, undefined],
    ['permessage-deflate; server_no_context_takeover; server_no_context_takeover', {}, undefined],
    ['permessage-deflate; server_no_context_takeover=1', {}, undefined],
    ['permessage-deflate; client_no_context_takeover=x', {}, undefined],
    ['permessage-deflate; server_max_window_bits', {}, undefined],
    ['permessage-deflate; server_max_window_bits=7', {}, undefined],
    ['permessage-deflate; server_max_window_bits=16', {}, undefined],
    ['permessage-deflate; server_max_window_bits=08', {}, undefined],
    ['permessage-deflate; client_max_window_bits=abc', {}, undefined],
    ['permessage-deflate; client_max_window_bits=1000', {}, undefined],
    ['x-webkit-deflate-frame', {}, undefined],
    // The first acceptable offer wins (§5).
    ['permessage-deflate; foo, permessage-deflate; server_max_window_bits=10, permessage-deflate', {}, 'permessage-deflate; server_max_window_bits=10'],
    ['x-other, permessage-deflate; client_max_window_bits', {}, 'permessage-deflate'],
  ];
  for (const [offer, options, response] of table) assert.equal(negotiate(offer, options), response, `${offer} with ${JSON.stringify(options)}`);
});

function syncFlush(stream: DeflateRaw | InflateRaw, input: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    const onData = (chunk: Buffer) => parts.push(chunk);
    stream.on('data', onData);
    stream.once('error', reject);
    stream.write(input);
    stream.flush(zlib.Z_SYNC_FLUSH, () => {
      stream.off('data', onData);
      resolve(Buffer.concat(parts));
    });
  });
}

const TAIL = Buffer.from([0, 0, 0xff, 0xff]);
const messages = Array.from({ length: 60 }, (_, i) =>
  Buffer.from(JSON.stringify({ seq: i, user: `user-${i % 9}`, text: 'the quick brown fox '.repeat(1 + (i % 11)), flags: [i % 2 === 0, i % 3 === 0] })),
);
messages.push(Buffer.alloc(100_000, 'abc'), Buffer.alloc(0), Buffer.from([0, 1, 2, 3]));

for (const [label, offer, options] of [
  ['context takeover both ways, 15 bits', 'permessage-deflate; client_max_window_bits', {}],
  ['no context takeover either way', 'permessage-deflate; server_no_context_takeover; client_no_context_takeover', { clientNoContextTakeover: true }],
  ['server window 8 bits', 'permessage-deflate; server_max_window_bits=8', {}],
  ['server window 10, client window 9', 'permessage-deflate; server_max_window_bits=10; client_max_window_bits=9', {}],
  ['32 KiB of context', 'permessage-deflate', { contextBytes: 32768 }],
] as const) {
  test(`codec round trips against persistent zlib streams: ${label}`, async () => {
    const agreement = negotiateDeflate(parseExtensionHeader(offer), options)!;
    const codec = deflateCodec('server', agreement, options);
    const clientBits = agreement.clientMaxWindowBits;
    // The peer: a long-lived zlib stream each way, as a real client keeps (unless no_context_takeover).
    let peerDeflate = createDeflateRaw({ windowBits: Math.max(9, clientBits) });
    const peerInflate = createInflateRaw({ windowBits: agreement.serverMaxWindowBits === 8 ? 9 : agreement.serverMaxWindowBits });
    let totalIn = 0;
    let totalCompressed = 0;
    for (const message of messages) {
      // Client → server.
      const fromPeer = await syncFlush(peerDeflate, message);
      assert.deepEqual(fromPeer.subarray(-4), TAIL);
      const inflated = codec.decompress(fromPeer.subarray(0, -4), 1 << 20);
      assert.ok(inflated.equals(message), `client→server message of ${message.length} bytes`);
      if (agreement.clientNoContextTakeover) {
        peerDeflate.close();
        peerDeflate = createDeflateRaw({ windowBits: Math.max(9, clientBits) });
      }
      // Server → client.
      const compressed = codec.compress(message);
      totalIn += message.length;
      totalCompressed += compressed.length;
      const back = await syncFlush(peerInflate, Buffer.concat([compressed, TAIL]));
      assert.ok(back.equals(message), `server→client message of ${message.length} bytes`);
    }
    peerDeflate.close();
    peerInflate.close();
    assert.ok(totalCompressed < totalIn / 4, `compression ratio ${totalCompressed / totalIn}`);
  });
}

test('context takeover really is used: later similar messages compress smaller than with no context', () => {
  const withContext = deflateCodec('server', negotiateDeflate(parseExtensionHeader('permessage-deflate'))!);
  const noContext = deflateCodec('server', negotiateDeflate(parseExtensionHeader('permessage-deflate; server_no_context_takeover'))!);
  const message = Buffer.from(JSON.stringify({ type: 'update', fields: { a: 'alpha', b: 'beta', c: 'gamma', d: 'delta' } }));
  withContext.compress(message);
  noContext.compress(message);
  assert.ok(withContext.compress(message).length < noContext.compress(message).length / 2);
});

test('a decompression bomb stops at the limit with 1009, without inflating the rest', () => {
  const codec = deflateCodec('server', negotiateDeflate(parseExtensionHeader('permessage-deflate'))!);
  const bomb = deflateRawSync(Buffer.alloc(64 * 1024 * 1024), { finishFlush: zlib.Z_SYNC_FLUSH }).subarray(0, -4);
  assert.ok(bomb.length < 128 * 1024, `bomb is ${bomb.length} bytes`);
  const before = process.memoryUsage().arrayBuffers;
  const started = process.hrtime.bigint();
  assert.throws(
    () => codec.decompress(bomb, 1024 * 1024),
    (error: unknown) => error instanceof ProtocolError && error.closeCode === 1009 && error.code === 'WS_ERR_MESSAGE_TOO_BIG',
  );
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  assert.ok(ms < 200, `took ${ms} ms: was the whole bomb inflated?`);
  assert.ok(process.memoryUsage().arrayBuffers - before < 16 * 1024 * 1024);
  // At the limit exactly passes.
  const exact = deflateRawSync(Buffer.alloc(1024 * 1024, 7), { finishFlush: zlib.Z_SYNC_FLUSH }).subarray(0, -4);
  assert.equal(codec.decompress(exact, 1024 * 1024).length, 1024 * 1024);
  const over = deflateRawSync(Buffer.alloc(1024 * 1024 + 1, 7), { finishFlush: zlib.Z_SYNC_FLUSH }).subarray(0, -4);
  assert.throws(() => codec.decompress(over, 1024 * 1024), /exceeds the limit/);
});

test('corrupt compressed data fails with 1007', () => {
  const codec = deflateCodec('server', negotiateDeflate(parseExtensionHeader('permessage-deflate'))!);
  assert.throws(
    () => codec.decompress(Buffer.from([0xff, 0xff, 0xff, 0x00, 0x12]), 1 << 20),
    (error: unknown) => error instanceof ProtocolError && error.closeCode === 1007 && error.code === 'WS_ERR_INVALID_COMPRESSED_DATA',
  );
});

test('release() drops the window tails', () => {
  const codec = deflateCodec('server', negotiateDeflate(parseExtensionHeader('permessage-deflate'))!);
  codec.compress(Buffer.alloc(2000, 1));
  codec.release();
  // Still usable as a context-free codec: nothing references old windows.
  const out = codec.compress(Buffer.alloc(2000, 1));
  assert.ok(out.length > 0);
});

/** decode()/encode() on the thread pool, as a promise. */
function offLoop(run: (done: (error: unknown, output: Buffer | null) => void) => Buffer | undefined): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const now = run((error, output) => (error !== null ? reject(error) : resolve(output!)));
    if (now !== undefined) reject(new Error('expected the thread-pool path, got a result at once'));
  });
}

test('off the event loop: a large message comes back whole in one buffer (no join of pieces), a small one in a buffer of its own size', async () => {
  const codec = deflateCodec('server', negotiateDeflate(parseExtensionHeader('permessage-deflate'))!);
  const limit = 16 << 20;
  const big = Buffer.alloc(12 << 20);
  for (let i = 0; i < big.length; i += 997) big[i] = i & 0xff;
  const bigCompressed = deflateRawSync(big, { finishFlush: zlib.Z_SYNC_FLUSH }).subarray(0, -4);
  const inflated = await offLoop((done) => codec.decode(bigCompressed, limit, done));
  assert.ok(inflated.equals(big));
  assert.equal(inflated.buffer.byteLength, limit, 'a view of the one output buffer zlib wrote on the thread pool');

  // 2 MiB inflated from a few KiB: far smaller than the buffer, so copied out of it.
  const small = Buffer.alloc(2 << 20, 'x');
  const smallCompressed = deflateRawSync(small, { finishFlush: zlib.Z_SYNC_FLUSH }).subarray(0, -4);
  const smallInflated = await offLoop((done) => codec.decode(smallCompressed, limit, done));
  assert.ok(smallInflated.equals(small));
  assert.ok(smallInflated.buffer.byteLength <= 2 * small.length, `kept in ${smallInflated.buffer.byteLength} bytes`);

  const compressed = await offLoop((done) => codec.encode(big, done));
  const back = await new Promise<Buffer>((resolve) => {
    const inflater = createInflateRaw({ finishFlush: zlib.Z_SYNC_FLUSH });
    const parts: Buffer[] = [];
    inflater.on('data', (p: Buffer) => parts.push(p));
    inflater.on('end', () => resolve(Buffer.concat(parts)));
    inflater.end(Buffer.concat([compressed, TAIL]));
  });
  assert.ok(back.equals(big), 'compressed off the loop, inflates back to the message');
});

test('off the event loop: a bomb still stops at the limit with 1009', async () => {
  const codec = deflateCodec('server', negotiateDeflate(parseExtensionHeader('permessage-deflate'))!);
  const bomb = deflateRawSync(Buffer.alloc(256 << 20), { finishFlush: zlib.Z_SYNC_FLUSH }).subarray(0, -4);
  await assert.rejects(
    offLoop((done) => codec.decode(bomb, 4 << 20, done)),
    (error: unknown) => error instanceof ProtocolError && error.closeCode === 1009,
  );
});
