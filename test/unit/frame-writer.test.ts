/**
 * FrameWriter: what it promises besides the bytes (those are checked against
 * the reference encoder in frame-differential.test.ts): small frames of one
 * connection leave as one contiguous buffer; large payloads are queued by
 * reference, not copied; a client never masks the caller's buffer in place,
 * but masks its own (owned) payloads without a copy; every frame a client
 * writes gets a fresh masking key (§5.3).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { COPY_THRESHOLD, FrameWriter } from '../../src/framing/frame-writer.js';
import { deterministicKeys, parseFrames } from '../helpers/protocol-harness.js';

describe('FrameWriter', () => {
  it('sixteen small frames of one connection are one buffer (one write system call)', () => {
    const writer = new FrameWriter(null);
    for (let i = 0; i < 8; i++) writer.writeTextFrame(0x1, `reply ${i}`, true);
    for (let i = 0; i < 8; i++) writer.writeFrame(0x2, Buffer.from([i, i, i]), true);
    const chunks = writer.take();
    assert.equal(chunks.length, 1);
    const frames = parseFrames(chunks[0], 'server');
    assert.equal(frames.length, 16);
    assert.equal(frames[7].payload.toString(), 'reply 7');
    assert.deepEqual([...frames[15].payload], [7, 7, 7]);
  });

  it(`a payload over COPY_THRESHOLD (${COPY_THRESHOLD} bytes) is queued by reference after its header; one at the threshold is copied`, () => {
    const writer = new FrameWriter(null);
    const large = Buffer.alloc(COPY_THRESHOLD + 1, 0x61);
    writer.writeFrame(0x2, large, true);
    const [header, payload, ...rest] = writer.take();
    assert.equal(rest.length, 0);
    const expected = Buffer.from([0x82, 0x7e, 0, 0]);
    expected.writeUInt16BE(COPY_THRESHOLD + 1, 2);
    assert.equal(header.toString('hex'), expected.toString('hex'), `FIN + BINARY, 16-bit length ${COPY_THRESHOLD + 1}`);
    assert.equal(payload, large, 'the caller\'s buffer itself, not a copy');

    const atThreshold = Buffer.alloc(COPY_THRESHOLD, 0x62);
    writer.writeFrame(0x2, atThreshold, true);
    const chunks = writer.take();
    assert.equal(chunks.length, 1, 'header and payload in one run');
    assert.notEqual(chunks[0].buffer, atThreshold.buffer, 'copied into the slab');
  });

  it('a client masks a copy of the caller\'s large payload, but its own (owned) payload in place', () => {
    const keys = deterministicKeys([Uint8Array.of(1, 2, 3, 4)]);
    const writer = new FrameWriter(keys.source);
    const callers = Buffer.alloc(COPY_THRESHOLD + 100, 0x55);
    writer.writeFrame(0x2, callers, true);
    const [, sent] = writer.take();
    assert.ok(callers.every((b) => b === 0x55), 'the caller\'s buffer is unchanged');
    assert.notEqual(sent, callers);
    assert.equal(sent[0], 0x55 ^ 1);

    const owned = Buffer.alloc(COPY_THRESHOLD + 100, 0x55);
    writer.writeFrame(0x2, owned, true, 0, true);
    const [, sentOwned] = writer.take();
    assert.equal(sentOwned, owned, 'no copy');
    assert.equal(owned[1], 0x55 ^ 2, 'masked in place');
  });

  it('a client draws a fresh masking key for every frame; a server draws none', () => {
    const keys = deterministicKeys();
    const client = new FrameWriter(keys.source);
    client.writeTextFrame(0x1, 'a', true);
    client.writeFrame(0x9, Buffer.from('p'), true);
    client.writeTextFrame(0x1, 'x'.repeat(COPY_THRESHOLD), true); // long text: encoded apart, then written as bytes
    client.writeFrame(0x2, Buffer.alloc(COPY_THRESHOLD + 1), true);
    assert.equal(keys.issued.length, 4);
    const frames = parseFrames(Buffer.concat(client.take()), 'client');
    assert.deepEqual(frames.map((f) => f.maskKey?.toString('hex')), keys.issued.map((k) => k.toString('hex')));

    const serverKeys = deterministicKeys();
    const server = new FrameWriter(null);
    server.writeTextFrame(0x1, 'a', true);
    assert.equal(serverKeys.issued.length, 0);
    assert.equal(parseFrames(Buffer.concat(server.take()), 'server')[0].maskKey, null);
  });

  it('bytes counts what is queued; take() empties the writer', () => {
    const writer = new FrameWriter(null);
    assert.equal(writer.bytes, 0);
    writer.writeTextFrame(0x1, 'hello', true); // 2 + 5
    writer.writeFrame(0x2, Buffer.alloc(COPY_THRESHOLD + 1), true); // 4 + COPY_THRESHOLD + 1
    writer.writeEncodedFrame(Buffer.from('8100', 'hex'));
    assert.equal(writer.bytes, 7 + 4 + COPY_THRESHOLD + 1 + 2);
    assert.equal(Buffer.concat(writer.take()).length, 7 + 4 + COPY_THRESHOLD + 1 + 2);
    assert.equal(writer.bytes, 0);
    assert.deepEqual(writer.take(), []);
  });
});
