/**
 * The bytes of a message arriving in pieces (several TCP reads, several
 * fragments), gathered into one growing buffer.
 *
 * Memory follows the bytes that actually arrived, not what a header claims: a
 * peer announcing a 16 MiB frame and sending nothing costs nothing. The first
 * allocation is the size of an unfragmented frame (capped at
 * PREALLOCATE_LIMIT) or 16 KiB for a fragmented message. When that is full,
 * an unfragmented frame (whose sender has now sent PREALLOCATE_LIMIT bytes
 * of it) gets its whole size at once, so its bytes are copied once more at
 * most, a mebibyte, and never in one long step: a 16 MiB frame grown by
 * doubling copied 15 MiB, 8 MiB of it at once, which held the event loop
 * for tens of milliseconds. A fragmented message, whose size is unknown,
 * doubles its capacity, never past the message size limit.
 * One buffer per message, no per-fragment objects: a 4 MiB message in 65,536
 * fragments costs what a 4 MiB message costs.
 */

/** Pieces up to this many bytes are copied byte by byte (measured: 100,000 one-byte fragments). */
const SMALL_PIECE = 16;
/** Largest first allocation made on the word of a frame header alone. */
const PREALLOCATE_LIMIT = 1024 * 1024;
/** First allocation for a fragmented message, whose final size is unknown. */
const MIN_CAPACITY = 16 * 1024;

export class MessageBuffer {
  private buffer: Buffer | null = null;
  length = 0;
  /** Capacity never grows past this (the message size limit). */
  private readonly maxCapacity: number;

  constructor(maxCapacity: number) {
    this.maxCapacity = maxCapacity;
  }

  /**
   * Append `data[start, end)`. `expectedTotal` is the message's final size
   * when it is known (an unfragmented frame), else 0.
   */
  append(data: Buffer, start: number, end: number, expectedTotal: number): void {
    const needed = this.length + (end - start);
    const buffer = this.ensureCapacity(needed, expectedTotal);
    // Bytes written in place through reserve() are already where they belong.
    if (data.buffer !== buffer.buffer || data.byteOffset + start !== buffer.byteOffset + this.length) {
      if (end - start <= SMALL_PIECE) {
        // A few bytes (tiny fragments): a loop costs less than Buffer#copy's call.
        for (let from = start, to = this.length; from < end; ) buffer[to++] = data[from++];
      } else data.copy(buffer, this.length, start, end);
    }
    this.length = needed;
  }

  /**
   * Room for the next `length` bytes, as a view to write them into; a
   * following append() of exactly that view then only counts them.
   */
  reserve(length: number, expectedTotal: number): Buffer {
    const buffer = this.ensureCapacity(this.length + length, expectedTotal);
    return buffer.subarray(this.length, this.length + length);
  }

  private ensureCapacity(needed: number, expectedTotal: number): Buffer {
    let buffer = this.buffer;
    if (buffer === null || buffer.length < needed) {
      let capacity: number;
      if (expectedTotal > 0) capacity = buffer === null ? Math.min(PREALLOCATE_LIMIT, expectedTotal) : expectedTotal;
      else capacity = Math.min(buffer === null ? MIN_CAPACITY : buffer.length * 2, this.maxCapacity);
      capacity = Math.max(needed, capacity);
      const next = Buffer.allocUnsafe(capacity);
      if (buffer !== null) buffer.copy(next, 0, 0, this.length);
      this.buffer = buffer = next;
    }
    return buffer;
  }

  /** The bytes gathered since the last call, as a view; the buffer starts over empty. */
  take(): Buffer {
    const buffer = this.buffer;
    const result = buffer === null ? Buffer.alloc(0) : buffer.subarray(0, this.length);
    this.buffer = null;
    this.length = 0;
    return result;
  }

  /** Read the gathered bytes as UTF-8 text (already validated), keeping the buffer for reuse if small. */
  takeText(): string {
    const buffer = this.buffer;
    const text = buffer === null ? '' : buffer.toString('utf8', 0, this.length);
    if (buffer !== null && buffer.length > REUSE_LIMIT) this.buffer = null;
    this.length = 0;
    return text;
  }

  /** Bytes allocated for the message (what it costs in memory, not what arrived). */
  get capacity(): number {
    return this.buffer === null ? 0 : this.buffer.length;
  }

  /** Drop everything (on failure or close). */
  reset(): void {
    this.buffer = null;
    this.length = 0;
  }
}

/** A text message's buffer is kept for the next message if no larger than this. */
const REUSE_LIMIT = 64 * 1024;
