/**
 * OutboundQueue: bytes waiting for the transport, in order. Small writes go
 * to a slab shared by every queue (contiguous runs per queue); large buffers
 * are queued by reference. Whatever the interleaving, each queue's take()
 * gives back exactly its own bytes, in order, and a region once taken is
 * never written again.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { EncodeSlab } from '../../src/framing/encode-slab.js';
import { OutboundQueue } from '../../src/framing/outbound-queue.js';
import { LocalError } from '../../src/errors.js';
import { seededRandom } from '../helpers/protocol-harness.js';

const KiB = 1024;

/** Write `data` through reserve/commit, reserving `extra` bytes more than needed (as the text encoder does). */
function write(queue: OutboundQueue, data: Uint8Array, extra = 0): void {
  const target = queue.reserve(data.length + extra);
  const offset = queue.writeOffset;
  assert.ok(offset + data.length + extra <= target.length, 'reserve() returned a buffer with the room asked for');
  target.set(data, offset);
  queue.commit(data.length);
}

function bytes(length: number, salt: number): Buffer {
  const out = Buffer.allocUnsafe(length);
  for (let i = 0; i < length; i++) out[i] = (i + salt * 31) & 0xff;
  return out;
}

describe('OutboundQueue', () => {
  it('take() returns exactly what was written; bytes and isEmpty track it', () => {
    const queue = new OutboundQueue();
    assert.equal(queue.isEmpty, true);
    assert.deepEqual(queue.take(), []);
    write(queue, Buffer.from('hello '));
    write(queue, Buffer.from('world'), 10);
    assert.equal(queue.bytes, 11);
    assert.equal(queue.isEmpty, false);
    const chunks = queue.take();
    assert.equal(Buffer.concat(chunks).toString(), 'hello world');
    assert.equal(chunks.length, 1, 'consecutive writes of one queue are one contiguous region');
    assert.equal(queue.bytes, 0);
    assert.equal(queue.isEmpty, true);
    assert.deepEqual(queue.take(), []);
  });

  it('two queues interleaving on the slab keep their bytes separate and in order', () => {
    const a = new OutboundQueue();
    const b = new OutboundQueue();
    write(a, Buffer.from('A1'));
    write(b, Buffer.from('B1'));
    write(a, Buffer.from('A2'));
    write(a, Buffer.from('A3'));
    write(b, Buffer.from('B2'));
    write(a, Buffer.from('A4'));
    assert.equal(Buffer.concat(a.take()).toString(), 'A1A2A3A4');
    assert.equal(Buffer.concat(b.take()).toString(), 'B1B2');
  });

  it('random interleaving of three queues across many slab refills, sizes up to 20 KiB', () => {
    const random = seededRandom(99);
    const queues = [new OutboundQueue(), new OutboundQueue(), new OutboundQueue()];
    const expected: Buffer[][] = [[], [], []];
    /** Chunks handed out by take(), with a copy of what they held then. */
    const handedOut: Array<{ views: Buffer[]; snapshot: Buffer }> = [];
    let total = 0;
    for (let step = 0; step < 3000; step++) {
      const q = Math.floor(random() * 3);
      const r = random();
      if (r < 0.05) {
        const views = queues[q].take();
        const snapshot = Buffer.concat(views);
        assert.ok(snapshot.equals(Buffer.concat(expected[q].splice(0))), `step ${step}: queue ${q} drained out of order`);
        handedOut.push({ views, snapshot });
      } else if (r < 0.1) {
        const big = bytes(20 * KiB + Math.floor(random() * 10 * KiB), step);
        queues[q].pushBuffer(big);
        expected[q].push(Buffer.from(big));
        total += big.length;
      } else {
        const size = random() < 0.9 ? Math.floor(random() * 200) : Math.floor(random() * 20 * KiB);
        const data = bytes(size, step);
        write(queues[q], data, Math.floor(random() * 100));
        expected[q].push(data);
        total += size;
      }
    }
    assert.ok(total > 3 * 128 * KiB, 'the test crossed several slabs');
    assert.ok(handedOut.length > 50);
    for (let q = 0; q < 3; q++) {
      assert.ok(Buffer.concat(queues[q].take()).equals(Buffer.concat(expected[q])), `queue ${q} final drain`);
    }
    // Every region handed out earlier still holds what it held when taken.
    for (const [i, { views, snapshot }] of handedOut.entries()) {
      assert.ok(Buffer.concat(views).equals(snapshot), `drain ${i}: a region taken earlier was overwritten`);
    }
  });

  it('a region taken is never written again, even when the slab is refilled', () => {
    const a = new OutboundQueue();
    const b = new OutboundQueue();
    write(a, Buffer.from('keep me'));
    const [region] = a.take();
    for (let i = 0; i < 300; i++) {
      write(a, bytes(1000, i));
      write(b, bytes(1000, i + 1));
    }
    assert.equal(region.toString(), 'keep me');
  });

  it('a queue whose region was in the old slab continues correctly in the new one', () => {
    const a = new OutboundQueue();
    const b = new OutboundQueue();
    write(a, Buffer.from('old-slab '));
    write(b, bytes(130 * KiB, 1)); // forces a new slab
    write(a, Buffer.from('new-slab'));
    assert.equal(Buffer.concat(a.take()).toString(), 'old-slab new-slab');
    assert.ok(Buffer.concat(b.take()).equals(bytes(130 * KiB, 1)));
  });

  it('a reservation larger than the slab gets a slab of its own', () => {
    const queue = new OutboundQueue();
    const data = bytes(300 * KiB, 2);
    write(queue, Buffer.from('head'));
    write(queue, data);
    write(queue, Buffer.from('tail'));
    assert.ok(Buffer.concat(queue.take()).equals(Buffer.concat([Buffer.from('head'), data, Buffer.from('tail')])));
  });

  it('pushBuffer keeps order with slab writes around it, and queues the buffer by reference', () => {
    const queue = new OutboundQueue();
    const big = bytes(64 * KiB, 3);
    write(queue, Buffer.from('before'));
    queue.pushBuffer(big);
    write(queue, Buffer.from('after'));
    queue.pushBuffer(Buffer.from('small-by-ref'));
    write(queue, Buffer.from('end'));
    assert.equal(queue.bytes, 6 + big.length + 5 + 12 + 3);
    const chunks = queue.take();
    assert.ok(chunks.includes(big), 'the large buffer itself is queued, not a copy');
    assert.ok(Buffer.concat(chunks).equals(Buffer.concat([Buffer.from('before'), big, Buffer.from('after'), Buffer.from('small-by-ref'), Buffer.from('end')])));
  });

  it('commit(0) after a reservation queues nothing', () => {
    const queue = new OutboundQueue();
    queue.reserve(100);
    queue.commit(0);
    assert.deepEqual(queue.take(), []);
    assert.equal(queue.bytes, 0);
  });

  it('the slab refuses a second reservation before the first is committed, from any queue', () => {
    const slab = new EncodeSlab(1024);
    const a = new OutboundQueue(slab);
    const b = new OutboundQueue(slab);
    const target = a.reserve(10);
    target.write('AAAA', a.writeOffset);
    assert.throws(() => b.reserve(10), (error: unknown) => error instanceof LocalError && error.code === 'WS_ERR_SLAB_RESERVED');
    assert.throws(() => a.reserve(10), (error: unknown) => error instanceof LocalError && error.code === 'WS_ERR_SLAB_RESERVED');
    a.commit(4);
    write(b, Buffer.from('BB'));
    assert.equal(Buffer.concat(a.take()).toString(), 'AAAA', "b's refused reservation wrote nothing over a's bytes");
    assert.equal(Buffer.concat(b.take()).toString(), 'BB');
  });

  it('the slab refuses a commit that matches no reservation: none open, another queue\'s, or more than reserved', () => {
    const slab = new EncodeSlab(1024);
    const a = new OutboundQueue(slab);
    const b = new OutboundQueue(slab);
    const isCommitError = (error: unknown): boolean => error instanceof LocalError && error.code === 'WS_ERR_SLAB_COMMIT';
    assert.throws(() => a.commit(1), isCommitError, 'nothing reserved');
    a.reserve(8);
    assert.throws(() => b.commit(1), isCommitError, "a's reservation is not b's to commit");
    assert.throws(() => a.commit(9), isCommitError, 'more than reserved');
    a.commit(8);
    assert.throws(() => a.commit(0), isCommitError, 'already committed');
    assert.equal(a.bytes, 8);
    assert.equal(b.bytes, 0);
  });

  it('a slab of its own (small, so it fills quickly): runs continue only while contiguous, old slabs are left as they were', () => {
    const slab = new EncodeSlab(64);
    const a = new OutboundQueue(slab);
    const b = new OutboundQueue(slab);
    write(a, bytes(40, 1));
    const [first] = a.take();
    const snapshot = Buffer.from(first);
    write(a, bytes(20, 2)); // still fits: same slab
    write(b, bytes(30, 3)); // does not fit: a fresh slab
    write(a, bytes(10, 4));
    const chunks = a.take();
    assert.equal(chunks.length, 2, "b's frame in between closed a's run");
    assert.notEqual(chunks[0].buffer, chunks[1].buffer, 'the second run is in the fresh slab');
    assert.ok(Buffer.concat(chunks).equals(Buffer.concat([bytes(20, 2), bytes(10, 4)])));
    assert.ok(Buffer.concat(b.take()).equals(bytes(30, 3)));
    assert.ok(first.equals(snapshot), 'a region taken earlier was not written again');
  });
});
