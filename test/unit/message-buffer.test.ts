/**
 * MessageBuffer: the bytes of a message arriving in pieces. Memory follows
 * the bytes that arrived; the first allocation is bounded by the frame's size
 * (capped at 1 MiB) or 16 KiB for a fragmented message; capacity doubles but
 * never past the frame's size (expectedTotal) or the message limit
 * (maxCapacity). take() hands out exactly the bytes appended.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { KEEP_AS_IS, MessageBuffer } from '../../src/protocol/message-buffer.js';
import { seededRandom } from '../helpers/protocol-harness.js';

const KiB = 1024;
const MiB = 1024 * 1024;

/** The capacity of the private backing buffer (0 when none is allocated). */
function capacity(buffer: MessageBuffer): number {
  const backing = (buffer as unknown as { buffer: Buffer | null }).buffer;
  return backing === null ? 0 : backing.length;
}

/** Deterministic distinct bytes, so a misplaced copy shows. */
function bytes(length: number, salt: number): Buffer {
  const out = Buffer.allocUnsafe(length);
  for (let i = 0; i < length; i++) out[i] = (i * 13 + salt * 7 + (i >> 8)) & 0xff;
  return out;
}

/** Append `data` in pieces of `piece` bytes, from inside a larger chunk (start > 0); returns every capacity seen. */
function appendInPieces(buffer: MessageBuffer, data: Buffer, piece: number, expectedTotal: number): number[] {
  const seen: number[] = [];
  for (let o = 0; o < data.length; o += piece) {
    const end = Math.min(data.length, o + piece);
    const chunk = Buffer.concat([Buffer.from('<<'), data.subarray(o, end), Buffer.from('>>')]);
    buffer.append(chunk, 2, 2 + (end - o), expectedTotal);
    seen.push(capacity(buffer));
  }
  return seen;
}

describe('MessageBuffer growth', () => {
  it('an unfragmented frame: the first allocation is the frame size (no more), and never grows', () => {
    const buffer = new MessageBuffer(16 * MiB);
    const data = bytes(1000, 1);
    const seen = appendInPieces(buffer, data, 37, 1000);
    assert.deepEqual(new Set(seen), new Set([1000]), 'one allocation of exactly expectedTotal');
    assert.deepEqual(buffer.take(), data);
  });

  it('an unfragmented frame above 1 MiB: starts at 1 MiB, then, once 1 MiB has arrived, grows to expectedTotal in one step', () => {
    const total = 3 * MiB + 5;
    const buffer = new MessageBuffer(16 * MiB);
    const data = bytes(total, 2);
    const seen = appendInPieces(buffer, data, 64 * KiB, total);
    assert.equal(seen[0], MiB, 'first allocation capped at 1 MiB on the word of a header');
    // One growth: the 1 MiB gathered is copied once (doubling would copy 1 + 2 MiB, the last step at once).
    assert.deepEqual([...new Set(seen)], [MiB, total]);
    assert.ok(seen.every((c) => c <= total), 'never past expectedTotal');
    assert.deepEqual(buffer.take(), data);
  });

  it('a fragmented message (expectedTotal 0): 16 KiB first, doubling, bounded by maxCapacity', () => {
    const max = 100 * KiB;
    const buffer = new MessageBuffer(max);
    const data = bytes(max, 3);
    const seen = appendInPieces(buffer, data, 1000, 0);
    assert.equal(seen[0], 16 * KiB);
    assert.deepEqual([...new Set(seen)], [16 * KiB, 32 * KiB, 64 * KiB, max]);
    assert.deepEqual(buffer.take(), data);
  });

  it('a fragmented message under the limit never allocates past what doubling needs', () => {
    const buffer = new MessageBuffer(16 * MiB);
    const data = bytes(20 * KiB, 4);
    const seen = appendInPieces(buffer, data, 500, 0);
    assert.equal(Math.max(...seen), 32 * KiB);
    assert.deepEqual(buffer.take(), data);
  });

  it('a first piece larger than the first allocation gets exactly what it needs', () => {
    const buffer = new MessageBuffer(16 * MiB);
    const data = bytes(20 * KiB, 5);
    buffer.append(data, 0, data.length, 0);
    assert.equal(capacity(buffer), 20 * KiB);
    assert.deepEqual(buffer.take(), data);
  });

  it('memory follows bytes received: nothing is allocated before the first append', () => {
    const buffer = new MessageBuffer(16 * MiB);
    assert.equal(capacity(buffer), 0);
    buffer.append(Buffer.from('x'), 0, 1, 16 * MiB);
    assert.equal(capacity(buffer), MiB, 'a 16 MiB header costs at most 1 MiB up front');
  });
});

describe('MessageBuffer take / takeText / reset', () => {
  it('take() returns exactly the appended bytes (random pieces, random sizes)', () => {
    const random = seededRandom(7);
    for (let trial = 0; trial < 100; trial++) {
      const total = Math.floor(random() * 70 * KiB);
      const data = bytes(total, trial);
      const buffer = new MessageBuffer(16 * MiB);
      const expected = random() < 0.5 ? total : 0;
      for (let o = 0; o < total; ) {
        const end = Math.min(total, o + 1 + Math.floor(random() * 5000));
        buffer.append(data, o, end, expected);
        o = end;
      }
      assert.equal(buffer.length, total);
      const taken = buffer.take();
      assert.equal(taken.length, total);
      assert.ok(taken.equals(data), `trial ${trial}`);
    }
  });

  it('take() of nothing is an empty buffer; the buffer starts over after take()', () => {
    const buffer = new MessageBuffer(1000);
    assert.equal(buffer.take().length, 0);
    buffer.append(Buffer.from('first'), 0, 5, 5);
    const first = buffer.take();
    assert.equal(buffer.length, 0);
    buffer.append(Buffer.from('SECOND'), 0, 6, 6);
    assert.equal(first.toString(), 'first', 'a taken buffer is the caller\'s: later appends do not touch it');
    assert.equal(buffer.take().toString(), 'SECOND');
  });

  it('takeText() decodes the bytes; the next message starts empty', () => {
    const buffer = new MessageBuffer(1000);
    const text = Buffer.from('κόσμε €𝄞');
    buffer.append(text, 0, 3, 0);
    buffer.append(text, 3, text.length, 0);
    assert.equal(buffer.takeText(), 'κόσμε €𝄞');
    assert.equal(buffer.length, 0);
    buffer.append(Buffer.from('ab'), 0, 2, 0);
    assert.equal(buffer.takeText(), 'ab');
    assert.equal(buffer.takeText(), '');
  });

  it('takeText() keeps a small buffer for reuse, drops one over 64 KiB; a later take() is still exact', () => {
    const buffer = new MessageBuffer(16 * MiB);
    buffer.append(Buffer.alloc(100, 0x61), 0, 100, 0);
    buffer.takeText();
    assert.equal(capacity(buffer), 16 * KiB, 'small text buffer kept');
    const data = bytes(300, 9);
    buffer.append(data, 0, 300, 300);
    assert.deepEqual(buffer.take(), data);
    buffer.append(Buffer.alloc(70 * KiB, 0x62), 0, 70 * KiB, 0);
    assert.equal(buffer.takeText(), 'b'.repeat(70 * KiB));
    assert.equal(capacity(buffer), 0, 'large text buffer released');
  });

  it('reset() drops everything', () => {
    const buffer = new MessageBuffer(1000);
    buffer.append(Buffer.from('abc'), 0, 3, 0);
    buffer.reset();
    assert.equal(buffer.length, 0);
    assert.equal(capacity(buffer), 0);
    assert.equal(buffer.take().length, 0);
  });

  it('reserve() hands out room at the end; appending that very view counts it without copying', () => {
    const buffer = new MessageBuffer(16 * MiB);
    buffer.append(Buffer.from('head-'), 0, 5, 0);
    const room = buffer.reserve(40 * KiB, 0);
    assert.equal(room.length, 40 * KiB);
    const data = bytes(40 * KiB, 4);
    data.copy(room);
    // Grew past the first 16 KiB and kept what was there.
    assert.ok(capacity(buffer) >= 5 + 40 * KiB);
    let copied = 0;
    const spy = room.copy.bind(room);
    room.copy = ((...args: Parameters<Buffer['copy']>) => (copied++, spy(...args))) as Buffer['copy'];
    buffer.append(room, 0, room.length, 0);
    assert.equal(copied, 0, 'the reserved view was not copied onto itself');
    assert.equal(buffer.length, 5 + 40 * KiB);
    assert.ok(buffer.take().equals(Buffer.concat([Buffer.from('head-'), data])));
  });

  it('a view of the buffer that is not at the write position is still copied (no false "already there")', () => {
    const buffer = new MessageBuffer(16 * MiB);
    const room = buffer.reserve(10, 0);
    Buffer.from('0123456789').copy(room);
    buffer.append(room, 0, 10, 0);
    // The first bytes again, from the buffer itself: must be copied to the end.
    buffer.append(room, 0, 4, 0);
    assert.equal(buffer.take().toString(), '01234567890123');
  });
});

describe('MessageBuffer: large pieces of a fragmented message are kept as they came, and joined in steps', () => {
  it('a piece of KEEP_AS_IS bytes or more is kept, not copied; small ones around it are gathered; the join gives the bytes in order', () => {
    const buffer = new MessageBuffer(16 * MiB);
    const small1 = bytes(1000, 1);
    const large1 = bytes(KEEP_AS_IS + 17, 2);
    const small2 = bytes(300, 3);
    const large2 = bytes(3 * KEEP_AS_IS, 4);
    for (const piece of [small1, large1, small2, large2]) buffer.append(piece, 0, piece.length, 0);
    assert.equal(buffer.needsJoin, true);
    large1[0] ^= 0xff; // kept as it came: a later change shows (the core never changes a read it handed over)
    const expected = Buffer.concat([small1, large1, small2, large2]);
    assert.equal(buffer.length, expected.length);
    assert.ok(buffer.capacity >= expected.length);
    assert.ok(buffer.take().equals(expected));
    assert.equal(buffer.needsJoin, false);
  });

  it('joinStep(n) copies at most n bytes a step, across and inside pieces, then take() gives the message without another copy', () => {
    const random = seededRandom(11);
    for (let trial = 0; trial < 30; trial++) {
      const buffer = new MessageBuffer(64 * MiB);
      const pieces: Buffer[] = [];
      for (let i = 0; i < 12; i++) {
        const size = random() < 0.5 ? 1 + Math.floor(random() * 2000) : KEEP_AS_IS + Math.floor(random() * 40_000);
        const piece = bytes(size, trial * 31 + i);
        pieces.push(piece);
        buffer.append(piece, 0, size, 0);
      }
      const expected = Buffer.concat(pieces);
      const step = 1 + Math.floor(random() * 50_000);
      let steps = 0;
      let copied = 0;
      while (buffer.needsJoin) {
        const n = buffer.joinStep(step);
        assert.ok(n >= 1 && n <= step, `a step copied ${n} bytes, allowed ${step}`);
        copied += n;
        steps++;
      }
      assert.equal(copied, expected.length);
      assert.equal(steps, Math.ceil(expected.length / step));
      const taken = buffer.take();
      assert.ok(taken.equals(expected), `trial ${trial}`);
      assert.equal(taken.buffer.byteLength >= expected.length, true);
    }
  });

  it('an unfragmented frame is never kept in pieces (its size is known: one buffer)', () => {
    const buffer = new MessageBuffer(16 * MiB);
    const data = bytes(4 * KEEP_AS_IS, 9);
    appendInPieces(buffer, data, KEEP_AS_IS * 2, data.length);
    assert.equal(buffer.needsJoin, false);
    assert.equal(capacity(buffer), data.length);
    assert.ok(buffer.take().equals(data));
  });

  it('reset() during a join drops it; the next message starts empty', () => {
    const buffer = new MessageBuffer(16 * MiB);
    const large = bytes(2 * KEEP_AS_IS, 5);
    buffer.append(large, 0, large.length, 0);
    buffer.append(large, 0, large.length, 0);
    buffer.joinStep(1000);
    buffer.reset();
    assert.equal(buffer.needsJoin, false);
    assert.equal(buffer.capacity, 0);
    buffer.append(Buffer.from('next'), 0, 4, 0);
    assert.equal(buffer.take().toString(), 'next');
  });
});

describe('MessageBuffer.takePieces(): the bytes as they are held, without a join', () => {
  it('gives kept pieces and gathered small ones in order, copies nothing, and starts over empty', () => {
    const buffer = new MessageBuffer(16 * MiB);
    const small = bytes(500, 1);
    const large = bytes(KEEP_AS_IS * 2, 2);
    const tail = bytes(70, 3);
    for (const piece of [small, large, tail]) buffer.append(piece, 0, piece.length, 0);
    const pieces = buffer.takePieces();
    assert.ok(Buffer.concat(pieces).equals(Buffer.concat([small, large, tail])));
    assert.equal(pieces[1].buffer, large.buffer, 'the large piece is the very bytes appended');
    assert.equal(buffer.length, 0);
    assert.equal(buffer.needsJoin, false);
    assert.equal(buffer.capacity, 0);
  });
});
