/**
 * Bytes waiting to be written to the transport, in order.
 *
 * Small frames are encoded into a shared slab (like Node's Buffer pool):
 * consecutive frames of one connection end up contiguous, so everything a
 * connection produced while handling one read (say, sixteen echo replies)
 * leaves in a single write system call. Large payloads are not copied: the
 * queue keeps a reference and the transport writes header and payload as a
 * vector (socket.cork/uncork → writev).
 *
 * A slab region handed out is never written again, so the transport may hold
 * it until the kernel took the bytes; a full slab is simply dropped for a new
 * one, and the garbage collector frees it once every write referencing it is
 * done.
 */

/** Size of the shared encoding slab. */
const SLAB_SIZE = 128 * 1024;

let slab: Buffer = Buffer.allocUnsafeSlow(SLAB_SIZE);
let slabOffset = 0;

export class OutboundQueue {
  /** Finished pieces, in write order. */
  private chunks: Buffer[] = [];
  /** This queue's open run of contiguous bytes in the slab: [regionStart, regionEnd). */
  private regionSlab: Buffer | null = null;
  private regionStart = 0;
  private regionEnd = 0;
  /** Total bytes queued (finished pieces plus the open region). */
  bytes = 0;

  /**
   * Make room for `maxBytes` contiguous bytes in the slab and return the
   * buffer to write them into; they start at `writeOffset`. Call commit()
   * with the number actually written before any other queue is used.
   */
  reserve(maxBytes: number): Buffer {
    if (slabOffset + maxBytes > slab.length) {
      this.closeRegion();
      slab = Buffer.allocUnsafeSlow(Math.max(SLAB_SIZE, maxBytes));
      slabOffset = 0;
    } else if (this.regionSlab !== slab || this.regionEnd !== slabOffset) {
      // Another queue wrote to the slab since: our region cannot grow in place.
      this.closeRegion();
    }
    return slab;
  }

  /** Offset in the buffer returned by reserve() where writing starts. */
  get writeOffset(): number {
    return slabOffset;
  }

  /** Account for `written` bytes written at writeOffset after reserve(). */
  commit(written: number): void {
    if (this.regionSlab === null) {
      this.regionSlab = slab;
      this.regionStart = slabOffset;
      this.regionEnd = slabOffset;
    }
    slabOffset += written;
    this.regionEnd = slabOffset;
    this.bytes += written;
  }

  /** Queue a buffer by reference (a large payload): it must not change until written. */
  pushBuffer(buffer: Buffer): void {
    this.closeRegion();
    this.chunks.push(buffer);
    this.bytes += buffer.length;
  }

  get isEmpty(): boolean {
    return this.bytes === 0;
  }

  /** Take everything queued, in order; the queue is empty afterwards. */
  take(): Buffer[] {
    this.closeRegion();
    const chunks = this.chunks;
    this.chunks = [];
    this.bytes = 0;
    return chunks;
  }

  private closeRegion(): void {
    if (this.regionSlab !== null) {
      if (this.regionEnd > this.regionStart) this.chunks.push(this.regionSlab.subarray(this.regionStart, this.regionEnd));
      this.regionSlab = null;
    }
  }
}
