/**
 * The bytes of a message arriving in pieces (several TCP reads, several
 * fragments), gathered into one buffer.
 *
 * Memory follows the bytes that actually arrived, not what a header claims: a
 * peer announcing a 16 MiB frame and sending nothing costs nothing.
 *
 * An unfragmented frame (its size is known) is gathered into one buffer:
 * the first allocation is its size, capped at PREALLOCATE_LIMIT; once that
 * is full (its sender has now sent a mebibyte of it), the whole size at
 * once, so its bytes are copied once more at most, a mebibyte. (Grown by
 * doubling, a 16 MiB frame copied 15 MiB, 8 MiB of it in one step, which held
 * the event loop for tens of milliseconds.)
 *
 * A fragmented message's size is unknown until its last fragment. Small
 * pieces (tiny fragments) are gathered into a buffer that doubles, from
 * 16 KiB: one buffer per message, no object per fragment, so a 4 MiB message
 * in 65,536 fragments costs what a 4 MiB message costs. Large pieces (from
 * KEEP_AS_IS bytes: a large fragment's part of one read) are kept as they
 * are, views of the reads they came in, and joined once at the end: grown
 * by doubling, a 256 MiB message in 64 KiB fragments wrote 512 MiB of fresh
 * memory and copied 256 MiB (bench/stream-receive.ts). The join is done in
 * steps (joinStep(), a bounded number of bytes each) so that the protocol
 * core can spread it over turns of the event loop.
 */

/** Pieces up to this many bytes are copied byte by byte (measured: 100,000 one-byte fragments). */
const SMALL_PIECE = 16;
/** Largest first allocation made on the word of a frame header alone. */
const PREALLOCATE_LIMIT = 1024 * 1024;
/** First allocation for a fragmented message's small pieces. */
const MIN_CAPACITY = 16 * 1024;
/**
 * A fragmented message's pieces of at least this many bytes are kept as
 * they came, not copied (a read is at most 64 KiB: a piece this large uses
 * at least half of the read it keeps alive).
 */
export const KEEP_AS_IS = 32 * 1024;
/** No pieces kept (shared, never written to). */
const NO_PARTS: Buffer[] = [];
/** What a joined part's slot holds, so that the join does not keep it alive. */
const EMPTY = Buffer.alloc(0);

export class MessageBuffer {
  /** Where small pieces are gathered (and, once joined, the whole message). */
  private buffer: Buffer | null = null;
  /** Bytes in `buffer`. */
  private used = 0;
  /** The message's bytes so far, in `parts` and `buffer`. */
  length = 0;
  /** Earlier bytes, in order: large pieces as they came, and small-piece buffers they interrupted. */
  private parts: Buffer[] = NO_PARTS;
  /** The first part a join has not finished copying. */
  private partsHead = 0;
  private partsBytes = 0;
  /** A join in progress: its destination, and how far it got. */
  private joined: Buffer | null = null;
  private joinedBytes = 0;
  /** Capacity never grows past this (the message size limit). */
  private readonly maxCapacity: number;

  constructor(maxCapacity: number) {
    this.maxCapacity = maxCapacity;
  }

  /** A piece of `size` bytes would be kept as it is, not copied (so there is no point unmasking it into reserve()). */
  keepsAsIs(size: number, expectedTotal: number): boolean {
    return expectedTotal === 0 && size >= KEEP_AS_IS;
  }

  /**
   * Append `data[start, end)`. `expectedTotal` is the message's final size
   * when it is known (an unfragmented frame), else 0. A piece kept as it is
   * (keepsAsIs()) must not be modified afterwards.
   */
  append(data: Buffer, start: number, end: number, expectedTotal: number): void {
    const size = end - start;
    if (this.keepsAsIs(size, expectedTotal)) {
      this.keep(data.subarray(start, end));
      return;
    }
    const needed = this.used + size;
    const buffer = this.ensureCapacity(needed, expectedTotal);
    // Bytes written in place through reserve() are already where they belong.
    if (data.buffer !== buffer.buffer || data.byteOffset + start !== buffer.byteOffset + this.used) {
      if (size <= SMALL_PIECE) {
        // A few bytes (tiny fragments): a loop costs less than Buffer#copy's call.
        for (let from = start, to = this.used; from < end; ) buffer[to++] = data[from++];
      } else data.copy(buffer, this.used, start, end);
    }
    this.used = needed;
    this.length += size;
  }

  /**
   * Room for the next `length` bytes, as a view to write them into; a
   * following append() of exactly that view then only counts them.
   */
  reserve(length: number, expectedTotal: number): Buffer {
    const buffer = this.ensureCapacity(this.used + length, expectedTotal);
    return buffer.subarray(this.used, this.used + length);
  }

  /** Keep a large piece as it is; the small pieces gathered before it become a part of their own. */
  private keep(piece: Buffer): void {
    if (this.parts === NO_PARTS) this.parts = [];
    if (this.used > 0) {
      this.parts.push(this.buffer!.subarray(0, this.used));
      this.partsBytes += this.used;
      this.buffer = null;
      this.used = 0;
    }
    this.parts.push(piece);
    this.partsBytes += piece.length;
    this.length += piece.length;
  }

  private ensureCapacity(needed: number, expectedTotal: number): Buffer {
    let buffer = this.buffer;
    if (buffer === null || buffer.length < needed) {
      let capacity: number;
      if (expectedTotal > 0) capacity = buffer === null ? Math.min(PREALLOCATE_LIMIT, expectedTotal) : expectedTotal;
      else capacity = Math.min(buffer === null ? MIN_CAPACITY : buffer.length * 2, this.maxCapacity);
      capacity = Math.max(needed, capacity);
      const next = Buffer.allocUnsafe(capacity);
      if (buffer !== null) buffer.copy(next, 0, 0, this.used);
      this.buffer = buffer = next;
    }
    return buffer;
  }

  /** Pieces were kept apart: take() and takeText() need a join first (joinStep(), or they join at once). */
  get needsJoin(): boolean {
    return this.parts.length > 0;
  }

  /**
   * Join up to `maxBytes` more of the pieces into one buffer (at least one
   * byte). Returns the bytes copied; the join is done when needsJoin is
   * false, and take() or takeText() then gives the message without a copy.
   */
  joinStep(maxBytes: number): number {
    let joined = this.joined;
    if (joined === null) {
      if (this.used > 0) {
        this.parts.push(this.buffer!.subarray(0, this.used));
        this.partsBytes += this.used;
      }
      this.buffer = null;
      this.used = 0;
      this.joined = joined = Buffer.allocUnsafe(this.length);
      this.joinedBytes = 0;
    }
    const start = this.joinedBytes;
    const stop = Math.min(this.length, start + Math.max(1, maxBytes));
    // Parts are copied front to back, from partsHead; a step may stop inside one (what is left of it stays there).
    const parts = this.parts;
    let at = start;
    let head = this.partsHead;
    while (at < stop) {
      const part = parts[head];
      const n = Math.min(part.length, stop - at);
      part.copy(joined, at, 0, n);
      at += n;
      if (n === part.length) parts[head++] = EMPTY;
      else parts[head] = part.subarray(n);
    }
    this.partsHead = head;
    this.joinedBytes = at;
    this.partsBytes -= at - start;
    if (at === this.length) {
      this.buffer = joined;
      this.used = this.length;
      this.parts = NO_PARTS;
      this.partsHead = 0;
      this.partsBytes = 0;
      this.joined = null;
    }
    return at - start;
  }

  /** The bytes gathered since the last call, as a view; the buffer starts over empty. */
  take(): Buffer {
    while (this.needsJoin) this.joinStep(this.length);
    const buffer = this.buffer;
    const result = buffer === null ? Buffer.alloc(0) : buffer.subarray(0, this.used);
    this.buffer = null;
    this.used = 0;
    this.length = 0;
    return result;
  }

  /** The bytes gathered since the last call, as the pieces they are in (no join); the buffer starts over empty. */
  takePieces(): Buffer[] {
    const pieces = this.joined !== null ? [this.joined.subarray(0, this.joinedBytes)] : [];
    for (let i = this.partsHead; i < this.parts.length; i++) pieces.push(this.parts[i]);
    if (this.used > 0) pieces.push(this.buffer!.subarray(0, this.used));
    this.reset();
    return pieces;
  }

  /** Read the gathered bytes as UTF-8 text (already validated), keeping the buffer for reuse if small. */
  takeText(): string {
    while (this.needsJoin) this.joinStep(this.length);
    const buffer = this.buffer;
    const text = buffer === null ? '' : buffer.toString('utf8', 0, this.used);
    if (buffer !== null && buffer.length > REUSE_LIMIT) this.buffer = null;
    this.used = 0;
    this.length = 0;
    return text;
  }

  /** Bytes allocated or kept for the message (what it costs in memory, not what arrived). */
  get capacity(): number {
    return (this.buffer === null ? 0 : this.buffer.length) + this.partsBytes + (this.joined === null ? 0 : this.joined.length);
  }

  /** Drop everything (on failure or close). */
  reset(): void {
    this.buffer = null;
    this.used = 0;
    this.length = 0;
    this.parts = NO_PARTS;
    this.partsHead = 0;
    this.partsBytes = 0;
    this.joined = null;
    this.joinedBytes = 0;
  }
}

/** A text message's buffer is kept for the next message if no larger than this. */
const REUSE_LIMIT = 64 * 1024;
