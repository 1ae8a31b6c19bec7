/**
 * The bytes one connection is waiting to write to its transport, in order.
 *
 * Two kinds of pieces. Small frames are written into the shared encode slab
 * (encode-slab.ts): consecutive frames of one connection land next to each
 * other there, and the queue keeps them as one growing run, so everything a
 * connection produced while handling one read (say, sixteen echo replies)
 * leaves as a single buffer in a single write system call. Large payloads are
 * not copied at all: the queue keeps a reference, and the transport writes
 * header run and payload as a vector (socket.cork/uncork → writev).
 *
 * A run can only grow while nobody else wrote to the slab after it: when
 * another connection's frame (or a fresh slab) comes in between, the run is
 * closed and a new one starts.
 */
import { sharedEncodeSlab, type EncodeSlab } from './encode-slab.js';

export class OutboundQueue {
  private readonly slab: EncodeSlab;
  /**
   * Finished pieces, in write order; null while there are none (an idle
   * connection holds no array: take() hands the array over to the caller).
   */
  private chunks: Buffer[] | null = null;
  /** This queue's open run of contiguous bytes in the slab: [runStart, runEnd) of runBuffer. */
  private runBuffer: Buffer | null = null;
  private runStart = 0;
  private runEnd = 0;
  /** Total bytes queued (finished pieces plus the open run). */
  bytes = 0;

  constructor(slab: EncodeSlab = sharedEncodeSlab) {
    this.slab = slab;
  }

  /**
   * Make room for up to `maxBytes` contiguous bytes and return the buffer to
   * write them into, from `writeOffset` on; commit() says how many were
   * written. The slab refuses a second reservation before that commit, from
   * this queue or any other.
   */
  reserve(maxBytes: number): Buffer {
    const buffer = this.slab.reserve(this, maxBytes);
    const offset = this.slab.writeOffset;
    if (buffer !== this.runBuffer || offset !== this.runEnd) {
      // Another writer (or a new slab) came in between: this run cannot grow in place.
      this.closeRun();
      this.runBuffer = buffer;
      this.runStart = offset;
      this.runEnd = offset;
    }
    return buffer;
  }

  /** Offset in the buffer returned by reserve() where writing starts. */
  get writeOffset(): number {
    return this.slab.writeOffset;
  }

  /** `written` bytes were written at writeOffset after reserve(): they join the queue. */
  commit(written: number): void {
    this.slab.commit(this, written);
    this.runEnd += written;
    this.bytes += written;
  }

  /** Queue a buffer by reference (a large payload): it must not change until written. */
  pushBuffer(buffer: Buffer): void {
    this.closeRun();
    (this.chunks ??= []).push(buffer);
    this.bytes += buffer.length;
  }

  get isEmpty(): boolean {
    return this.bytes === 0;
  }

  /** Take everything queued, in order; the queue is empty afterwards. */
  take(): Buffer[] {
    this.closeRun();
    const chunks = this.chunks ?? [];
    this.chunks = null;
    this.bytes = 0;
    return chunks;
  }

  private closeRun(): void {
    if (this.runBuffer !== null) {
      if (this.runEnd > this.runStart) (this.chunks ??= []).push(this.runBuffer.subarray(this.runStart, this.runEnd));
      this.runBuffer = null;
    }
  }
}
