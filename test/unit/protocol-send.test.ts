/**
 * The core's send side, sans-I/O: a fragmented message keeps other data
 * messages behind it (§5.4) while control frames go between its fragments;
 * a close ends it and drops what waited; the message counters a transport
 * uses to learn when a message reached its output (sent()); the per-message
 * compress choice.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { inflateRawSync, constants as zlib } from 'node:zlib';

import { LocalError, ConnectionClosedError } from '../../src/errors.js';
import { PerMessageDeflate } from '../../src/extensions/permessage-deflate.js';
import { OP, RSV1, endpoint, takeFrames } from '../helpers/protocol-harness.js';

const KiB = 1024;

function deflateEndpoint(threshold = 1024) {
  const extension = new PerMessageDeflate({
    localNoContextTakeover: true,
    remoteNoContextTakeover: true,
    localMaxWindowBits: 15,
    remoteMaxWindowBits: 15,
    level: 6,
    memLevel: 8,
    threshold,
    contextBytes: 32 * KiB,
  });
  return endpoint({ extension });
}

const inflate = (payload: Buffer) => inflateRawSync(Buffer.concat([payload, Buffer.from([0, 0, 0xff, 0xff])]), { finishFlush: zlib.Z_SYNC_FLUSH });

describe('fragmented send (§5.4)', () => {
  it('data messages sent while a fragmented message is open wait for its final fragment; control frames do not', () => {
    const ep = endpoint();
    const p = ep.protocol;
    p.sendFragment(OP.TEXT, 'one ', false);
    assert.equal(p.sendingFragments, true);
    p.sendText('waits');
    const reused = Buffer.from([1, 2, 3]);
    p.sendBinary(reused);
    reused.fill(9); // small payloads were copied: the caller may reuse them
    p.sendPing(Buffer.from('p'));
    p.sendFragment(OP.CONT, 'two', false);
    assert.ok(p.pendingOutputBytes > 0);
    p.sendFragment(OP.CONT, '', true);
    assert.equal(p.sendingFragments, false);
    p.sendText('after');
    assert.deepEqual(
      takeFrames(p).map((f) => [f.opcode, f.fin, f.payload.toString('hex')]),
      [
        [OP.TEXT, false, Buffer.from('one ').toString('hex')],
        [OP.PING, true, Buffer.from('p').toString('hex')],
        [OP.CONT, false, Buffer.from('two').toString('hex')],
        [OP.CONT, true, ''],
        [OP.TEXT, true, Buffer.from('waits').toString('hex')],
        [OP.BINARY, true, '010203'],
        [OP.TEXT, true, Buffer.from('after').toString('hex')],
      ],
    );
  });

  it('a CONTINUATION with no message open, or a new TEXT/BINARY inside one, is a LocalError and changes nothing', () => {
    const p = endpoint().protocol;
    assert.throws(() => p.sendFragment(OP.CONT, 'x', true), (e: unknown) => e instanceof LocalError && e.code === 'WS_ERR_FRAGMENT_OUT_OF_ORDER');
    p.sendFragment(OP.BINARY, Buffer.from([1]), false);
    assert.throws(() => p.sendFragment(OP.TEXT, 'x', false), (e: unknown) => e instanceof LocalError && e.code === 'WS_ERR_FRAGMENT_OUT_OF_ORDER');
    p.sendFragment(OP.CONT, Buffer.from([2]), true);
    assert.deepEqual(
      takeFrames(p).map((f) => [f.opcode, f.fin]),
      [
        [OP.BINARY, false],
        [OP.CONT, true],
      ],
    );
  });

  it('a close ends the open message where it stands: the messages that waited are dropped, later sends throw', () => {
    const p = endpoint().protocol;
    p.sendFragment(OP.TEXT, 'partial', false);
    p.sendText('never sent');
    p.sendClose(1000);
    assert.equal(p.sendingFragments, false);
    assert.throws(() => p.sendFragment(OP.CONT, 'x', true), ConnectionClosedError);
    assert.deepEqual(
      takeFrames(p).map((f) => f.opcode),
      [OP.TEXT, OP.CLOSE],
    );
    assert.equal(p.pendingOutputBytes, 0);
  });

  it('fragments go uncompressed under permessage-deflate; messages that waited are compressed as usual', () => {
    const p = deflateEndpoint().protocol;
    const text = 'abc'.repeat(1000);
    p.sendFragment(OP.TEXT, text, false);
    p.sendText(text);
    p.sendFragment(OP.CONT, text, true);
    const frames = takeFrames(p);
    assert.deepEqual(
      frames.map((f) => [f.opcode, f.fin, f.rsv]),
      [
        [OP.TEXT, false, 0],
        [OP.CONT, true, 0],
        [OP.TEXT, true, RSV1],
      ],
    );
    assert.equal(inflate(frames[2].payload).toString(), text);
  });
});

describe('message counters (what sent() is built on)', () => {
  it('messagesSent counts accepted data messages, messagesQueued those whose final frame reached the output', () => {
    const p = endpoint().protocol;
    p.sendText('a');
    p.sendBinary(Buffer.alloc(40 * KiB));
    p.sendPing();
    assert.equal(p.messagesSent, 2);
    assert.equal(p.messagesQueued, 2);
    p.sendFragment(OP.TEXT, 'x', false);
    assert.equal(p.messagesSent, 3, 'a fragmented message is numbered at its first fragment');
    p.sendText('waits');
    assert.equal(p.messagesSent, 4);
    assert.equal(p.messagesQueued, 2, 'neither the open message nor the one behind it is out');
    p.sendFragment(OP.CONT, 'y', true);
    assert.equal(p.messagesSent, 4);
    assert.equal(p.messagesQueued, 4);
  });

  it('a message compressed off the event loop counts once its frame is queued, and what waited behind it after', async () => {
    let outputReady!: () => void;
    const ready = new Promise<void>((resolve) => (outputReady = resolve));
    const ep = deflateEndpoint();
    (ep.listener as { onOutputReady?: () => void }).onOutputReady = () => outputReady();
    const p = ep.protocol;
    p.sendText('z'.repeat(200 * KiB)); // over the at-once limit: the thread pool
    p.sendText('small', false);
    assert.equal(p.messagesSent, 2);
    assert.equal(p.messagesQueued, 0);
    await ready;
    assert.equal(p.messagesQueued, 2);
    assert.deepEqual(
      takeFrames(p).map((f) => f.rsv),
      [RSV1, 0],
    );
  });
});

describe('compress per message', () => {
  it('true compresses below the threshold, false sends as it is above it, undefined follows the threshold', () => {
    const p = deflateEndpoint(1024).protocol;
    const big = Buffer.alloc(4 * KiB, 0x61);
    p.sendText('hi', true);
    p.sendText('hi');
    p.sendBinary(big, false);
    p.sendBinary(big);
    const frames = takeFrames(p);
    assert.deepEqual(
      frames.map((f) => f.rsv),
      [RSV1, 0, 0, RSV1],
    );
    assert.equal(inflate(frames[0].payload).toString(), 'hi');
    assert.ok(frames[2].payload.equals(big));
    assert.ok(inflate(frames[3].payload).equals(big));
  });
});
