/**
 * The slab small outgoing frames are encoded into.
 *
 * Why a slab: a server answering a read of sixteen small messages produces
 * sixteen small frames. Encoded into sixteen separate buffers they cost
 * sixteen allocations and leave as a vector of sixteen; encoded one after
 * another into one large buffer they are one contiguous run of bytes, one
 * subarray, one write system call. Like Node's own Buffer pool, the slab is
 * shared by every connection of the process (a slab per connection would cost
 * 128 KiB of memory per idle connection).
 *
 * The slab's two rules, both kept by this class rather than by its callers:
 *
 * 1. A byte handed out is never written again. Space is claimed only at the
 *    end of what was used; when the slab is full, a new one replaces it, and
 *    the old one is freed by the garbage collector once every write that
 *    references it is done. So the transport may hold a region until the
 *    kernel took its bytes.
 * 2. One reservation at a time. Between reserve() and commit() the space
 *    after `writeOffset` belongs to one writer; a second reserve() before the
 *    first commit() would hand out the same bytes twice, so it throws instead.
 *    (Encoding is synchronous, so in practice a writer reserves, writes and
 *    commits in one go; the check turns a future mistake into a loud error
 *    rather than two connections' frames written over each other.)
 */
import { LocalError } from '../errors.js';

/**
 * Size of a slab: large enough for a burst of small frames, small enough not
 * to matter in memory, and under glibc's 128 KiB mmap threshold, so that a
 * slab comes from the heap malloc reuses rather than from a fresh mapping
 * whose pages fault in one by one (bench/RESULTS.md, "Copy threshold and
 * slab size").
 */
export const SLAB_SIZE = 64 * 1024;

export class EncodeSlab {
  private readonly size: number;
  private slab: Buffer;
  /** Bytes of the current slab already handed out. */
  private used = 0;
  /** Bytes the open reservation may write, or -1 when none is open. */
  private reserved = -1;
  /** Who holds the open reservation. */
  private holder: object | null = null;

  constructor(size = SLAB_SIZE) {
    this.size = size;
    this.slab = Buffer.allocUnsafeSlow(size);
  }

  /**
   * Claim room for up to `maxBytes` contiguous bytes and return the buffer to
   * write them into, from `writeOffset` on. The reservation is `holder`'s
   * until it calls commit().
   */
  reserve(holder: object, maxBytes: number): Buffer {
    if (this.holder !== null) {
      throw new LocalError('WS_ERR_SLAB_RESERVED', 'the encode slab has an open reservation: commit() it before reserving again');
    }
    if (this.used + maxBytes > this.slab.length) {
      // Rule 1: the full slab is left as it is (regions in it may still be
      // waiting to be written); a fresh one takes its place.
      this.slab = Buffer.allocUnsafeSlow(Math.max(this.size, maxBytes));
      this.used = 0;
    }
    this.reserved = maxBytes;
    this.holder = holder;
    return this.slab;
  }

  /** Where the open reservation starts in the buffer reserve() returned (where the next one would start, if none is open). */
  get writeOffset(): number {
    return this.used;
  }

  /** Close `holder`'s reservation: `written` bytes from `writeOffset` are now its own; the rest of the room is free again. */
  commit(holder: object, written: number): void {
    if (holder !== this.holder || !(written >= 0 && written <= this.reserved)) {
      throw new LocalError('WS_ERR_SLAB_COMMIT', `commit(${written}) does not match a reservation (${this.holder === null ? 'none is open' : this.holder !== holder ? 'another writer holds it' : `${this.reserved} bytes reserved`})`);
    }
    this.used += written;
    this.reserved = -1;
    this.holder = null;
  }
}

/** The slab every connection of the process encodes into. */
export const sharedEncodeSlab = new EncodeSlab();
