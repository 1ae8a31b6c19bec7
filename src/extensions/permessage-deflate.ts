/**
 * permessage-deflate (RFC 7692): the codec (§7.2), the same for both roles.
 * Negotiation (§5, §7.1) is in permessage-deflate-negotiation.ts.
 *
 * Design: one-shot zlib calls, no long-lived zlib stream. Each message is
 * compressed or inflated by one zlib call, and "context takeover" (§7.1.1:
 * the LZ77 window carried from message to message) is reproduced with a
 * preset dictionary: the tail of the plaintext of earlier messages in that
 * direction. Every message ends with a sync flush, so the next one starts on a
 * block boundary and a one-shot call primed with the previous window sees
 * exactly what a long-lived stream would.
 *
 * Where the work runs. Small messages (the common case: chat, JSON events)
 * are done at once, on the event loop, where a thread-pool round trip would
 * cost more than the work: at most SYNC_DEFLATE_BYTES in,
 * SYNC_INFLATE_BYTES out, well under a millisecond each. Anything larger runs
 * on libuv's thread pool (node:zlib's asynchronous one-shot calls), at most
 * MAX_CONCURRENT_ZLIB_JOBS at once across the process (zlib-jobs.ts) and one
 * per direction per connection, so messages stay in order. A 16 MiB message,
 * or a decompression bomb, then costs the event loop only the copies of its
 * output, in 64 KiB steps, never a whole message's zlib work in one go.
 * (Figures: bench/RESULTS.md, "permessage-deflate: where the work runs".)
 *
 * What this buys: no zlib context lives between messages (an idle connection
 * with deflate negotiated costs only its window tails, which grow with the
 * data up to twice the window per direction, and nothing at all without
 * context takeover); a decompression bomb stops at the message limit because
 * zlib's maxOutputLength ends the inflation right there; and no peer's
 * compressed traffic holds the loop for long. What it costs: a large message
 * waits for a thread-pool slot (its connection reads nothing more meanwhile),
 * and a compressed message larger than SYNC_INFLATE_BYTES once inflated is
 * inflated up to that size twice (the at-once attempt is abandoned).
 */
import { constants as buffer } from 'node:buffer';
import { type ZlibOptions, createInflateRaw, deflateRaw, deflateRawSync, inflateRawSync, constants as zlib } from 'node:zlib';
import { InternalError, ProtocolError } from '../errors.js';
import { CloseCode } from '../framing/close-codes.js';
import type { ExtensionCallback, MessageExtension } from './extension.js';
import { runZlibJob } from './zlib-jobs.js';

export const PERMESSAGE_DEFLATE = 'permessage-deflate';

/** §7.2.1: the 4 octets a sync flush ends with, removed by the sender and appended by the receiver. */
const SYNC_FLUSH_TAIL = Buffer.from([0x00, 0x00, 0xff, 0xff]);

/** RSV1 marks a compressed message on its first frame (§6). */
export const RSV1 = 0x4;

/** Messages up to this many bytes are compressed at once, on the event loop (about a millisecond at most); larger ones on the thread pool. */
export const SYNC_DEFLATE_BYTES = 64 * 1024;

/**
 * Compressed messages are inflated at once, on the event loop, while their
 * output stays within this many bytes; beyond, the inflation is abandoned and
 * redone on the thread pool.
 */
export const SYNC_INFLATE_BYTES = 128 * 1024;

/**
 * The output buffer of an asynchronous zlib call: large enough for the
 * whole result (the message limit when inflating, deflateBound() when
 * compressing). With node:zlib's 16 KiB chunks, a 16 MiB message came back
 * in 1,024 pieces, one thread-pool round trip each, and was then joined on
 * the event loop: a 16 MiB copy into fresh memory held the loop for tens
 * of milliseconds (2.6 ms per MiB of page faults on the benchmark machine).
 * One buffer is written by zlib on the thread pool, pages faulted in there,
 * and handed over as it is. It is only reserved address space until
 * written. (Calls made at once keep node:zlib's default chunks: a larger
 * buffer per small message slows small messages down: D1, bench/RESULTS.md.)
 */
function outputBufferSize(largestResult: number): number {
  return Math.max(64 * 1024, Math.min(largestResult, buffer.MAX_LENGTH));
}

/**
 * The whole output of an asynchronous zlib call, as one Buffer. Its pieces
 * are usually consecutive views of one output buffer (outputBufferSize()),
 * then they are one view, with no copy. A result much smaller than the
 * buffer it sits in is copied out, so that a message the application keeps
 * does not keep the buffer's reservation (and V8's count of external
 * memory) with it.
 */
function wholeOutput(pieces: Buffer[], size: number): Buffer {
  if (pieces.length === 0) return Buffer.alloc(0);
  const first = pieces[0];
  let end = first.byteOffset + first.length;
  let adjacent = true;
  for (let i = 1; i < pieces.length && adjacent; i++) {
    const piece = pieces[i];
    adjacent = piece.buffer === first.buffer && piece.byteOffset === end;
    end += piece.length;
  }
  if (!adjacent) return Buffer.concat(pieces, size);
  const view = Buffer.from(first.buffer, first.byteOffset, size);
  return size * 2 >= first.buffer.byteLength ? view : Buffer.from(view);
}

/**
 * What the codec of one end needs, seen from that end: `local` is the
 * compressor we run, `remote` the peer's, whose messages we inflate. (The
 * negotiation speaks the RFC's server/client names; deflateCodec() in
 * permessage-deflate-negotiation.ts turns them into these for a role.)
 */
export interface DeflateCodecConfig {
  /** We reset our compression context after every message (§7.1.1): nothing of our output is kept. */
  localNoContextTakeover: boolean;
  /** The peer resets its context after every message: we keep no window of what it sent. */
  remoteNoContextTakeover: boolean;
  /** Our compressor's LZ77 window, 2^N bytes, 8–15 (§7.1.2). */
  localMaxWindowBits: number;
  /** The peer's compressor window: how much of its earlier plaintext we keep to inflate the next message. */
  remoteMaxWindowBits: number;
  /** zlib compression level, −1–9. */
  level: number;
  /** zlib memLevel, 1–9. */
  memLevel: number;
  /** Messages smaller than this many bytes are sent uncompressed. */
  threshold: number;
  /** How much of our earlier output the compressor may refer back to, in bytes (capped by the local window). */
  contextBytes: number;
}

/**
 * The codec of one connection, either role: compresses what we send,
 * decompresses what the peer sent, each direction keeping the window tail
 * that context takeover needs.
 */
export class PerMessageDeflate implements MessageExtension {
  readonly name = PERMESSAGE_DEFLATE;
  /** §6: RSV1 marks a compressed message. */
  readonly rsvBits = RSV1;
  readonly config: Readonly<DeflateCodecConfig>;
  readonly threshold: number;
  private readonly outgoingContextBytes: number;
  /** Window tail of what we compressed (the peer's inflater holds the same). */
  private outgoingWindow: WindowTail | null;
  /** Window tail of what the peer compressed. */
  private incomingWindow: WindowTail | null;
  /** The connection ended: work still under way on the thread pool is thrown away. */
  private released = false;

  /** `config` is taken as it is: build it with deflateCodec(), which checks the options and applies the agreement. */
  constructor(config: DeflateCodecConfig) {
    this.config = Object.freeze({ ...config });
    this.threshold = config.threshold;
    this.outgoingContextBytes = Math.min(config.contextBytes, 1 << config.localMaxWindowBits);
    this.outgoingWindow = config.localNoContextTakeover || this.outgoingContextBytes === 0 ? null : new WindowTail(this.outgoingContextBytes);
    // We inflate with a 32 KiB window whatever the peer uses (inflateOptions):
    // a larger window reads any stream a smaller one produced. What we must
    // keep of its plaintext is its window, unless it resets its context.
    this.incomingWindow = config.remoteNoContextTakeover ? null : new WindowTail(1 << config.remoteMaxWindowBits);
  }

  /**
   * The largest compressed payload of a message of `size` bytes: what the
   * frame and message limits become for a compressed message (an
   * incompressible message grows when deflated: 16 MiB of random bytes by
   * 0.03% with zlib's defaults, 0.24% with python-websockets' memLevel 5,
   * 3.9% with memLevel 1). See deflateBound().
   */
  maxEncodedSize(size: number): number {
    return deflateBound(size);
  }

  /** zlib options for compressing the next message. */
  private deflateOptions(): ZlibOptions {
    const window = this.outgoingWindow;
    return {
      // zlib cannot make a raw stream with a 256-byte window and uses 512; its
      // matches then reach back at most 512 − 262 bytes, within the 256 allowed.
      windowBits: this.config.localMaxWindowBits,
      level: this.config.level,
      memLevel: this.config.memLevel,
      finishFlush: zlib.Z_SYNC_FLUSH,
      dictionary: window !== null && window.length > 0 ? window.view() : undefined,
    };
  }

  /** zlib options for inflating the next message, stopping past `maxOutput` bytes. */
  private inflateOptions(maxOutput: number): ZlibOptions {
    const window = this.incomingWindow;
    return {
      windowBits: 15,
      finishFlush: zlib.Z_SYNC_FLUSH,
      // zlib gives up the moment the output would exceed the limit: the rest
      // of a decompression bomb is never inflated.
      maxOutputLength: Math.min(Math.max(1, maxOutput), buffer.MAX_LENGTH),
      dictionary: window !== null && window.length > 0 ? window.view() : undefined,
    };
  }

  /**
   * Compress a message payload (§7.2.1), at once: deflate with a sync flush,
   * then drop the final 00 00 ff ff. The result goes in frames whose first
   * has RSV1.
   */
  compress(payload: Uint8Array): Buffer {
    const compressed = deflateRawSync(payload, this.deflateOptions());
    this.outgoingWindow?.append(payload);
    return compressed.subarray(0, compressed.length - 4);
  }

  /**
   * Decompress a message payload (§7.2.2), at once: append 00 00 ff ff and
   * inflate. Stops as soon as the output would pass `maxSize` (1009).
   * Corrupt data fails with 1007, the close code for data inconsistent with
   * its type.
   */
  decompress(compressed: Uint8Array, maxSize: number): Buffer {
    let output: Buffer;
    try {
      output = inflateRawSync(withSyncFlushTail(compressed), this.inflateOptions(maxSize));
    } catch (error) {
      throw inflateError(error, maxSize);
    }
    return this.inflated(output, maxSize);
  }

  /** Check and record an inflated message. */
  private inflated(output: Buffer, maxSize: number): Buffer {
    if (output.length > maxSize) throw tooBig(maxSize);
    this.incomingWindow?.append(output);
    return output;
  }

  /** MessageExtension: compress messages from `threshold` bytes up. */
  shouldEncode(size: number): boolean {
    return size >= this.threshold;
  }

  /** MessageExtension: compress() at once up to SYNC_DEFLATE_BYTES, on the thread pool beyond. */
  encode(payload: Uint8Array, done: ExtensionCallback): Buffer | undefined {
    if (payload.length <= SYNC_DEFLATE_BYTES) return this.compress(payload);
    runZlibJob((finished) => {
      if (this.released) return finished();
      // As for inflation: one output buffer that holds any result, so no
      // chunks are joined on the event loop.
      deflateRaw(payload, { ...this.deflateOptions(), chunkSize: outputBufferSize(deflateBound(payload.length)) }, (error, compressed) => {
        finished();
        if (this.released) return;
        if (error !== null) {
          done(new InternalError(error, 'WS_ERR_COMPRESSION_FAILED'), null);
          return;
        }
        this.outgoingWindow?.append(payload);
        done(null, compressed.subarray(0, compressed.length - 4));
      });
    });
    return undefined;
  }

  /**
   * MessageExtension: decompress() at once while the output stays within
   * SYNC_INFLATE_BYTES, on the thread pool beyond (a compressed payload that
   * large cannot inflate to less, so it goes there straight away).
   */
  decode(payload: Uint8Array, maxSize: number, done: ExtensionCallback): Buffer | undefined {
    if (payload.length <= SYNC_INFLATE_BYTES) {
      if (maxSize <= SYNC_INFLATE_BYTES) return this.decompress(payload, maxSize);
      try {
        return this.inflated(inflateRawSync(withSyncFlushTail(payload), this.inflateOptions(SYNC_INFLATE_BYTES)), maxSize);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'ERR_BUFFER_TOO_LARGE') throw inflateError(error, maxSize);
        // Larger than is worth doing here: start over on the thread pool.
      }
    }
    // The payload is fed as it is, then the 4-byte tail: no copy of a large
    // message on the event loop. (It is ours: the core never reuses it.)
    runZlibJob((finished) => {
      if (this.released) return finished();
      // One output buffer the size of the limit: zlib writes the message
      // into it on the thread pool (where its pages are first touched), and
      // the event loop gets it without a copy (see wholeOutput()).
      const inflater = createInflateRaw({ ...this.inflateOptions(maxSize), chunkSize: outputBufferSize(maxSize) });
      const output: Buffer[] = [];
      let size = 0;
      let settled = false;
      const settle = (error: ProtocolError | null): void => {
        if (settled) return;
        settled = true;
        finished();
        if (this.released) return;
        if (error !== null) {
          done(error, null);
          return;
        }
        const inflated = wholeOutput(output, size);
        this.incomingWindow?.append(inflated);
        done(null, inflated);
      };
      inflater.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size > maxSize) {
          // The rest of a decompression bomb is never inflated.
          inflater.destroy();
          settle(tooBig(maxSize));
          return;
        }
        output.push(chunk);
      });
      inflater.on('error', (error) => settle(inflateError(error, maxSize)));
      inflater.on('end', () => settle(null));
      inflater.write(payload);
      inflater.end(SYNC_FLUSH_TAIL);
    });
    return undefined;
  }

  /** Drop the window tails (the connection closed). */
  release(): void {
    this.released = true;
    this.outgoingWindow = null;
    this.incomingWindow = null;
  }
}

/**
 * An upper bound on the raw DEFLATE stream (RFC 1951) that zlib makes of
 * `size` bytes, whatever its level, window and memLevel, plus the sync
 * flush of RFC 7692 §7.2.1. Every mainstream peer compresses with zlib
 * (browsers, ws, python-websockets, Autobahn|Testsuite).
 *
 * zlib's own deflateBound() (deflate.c, zlib 1.2.12+) gives, for settings
 * other than its defaults, the larger of two worst cases: stored blocks of
 * 127 bytes (memLevel 1: each block costs a 3-bit header, padding to a byte
 * and LEN/NLEN, ~4%) and fixed-Huffman blocks of 9-bit literals (a window no
 * larger than the hash table, when a block can no longer be stored because
 * it outgrew the window: 9/8 plus the end-of-block codes, ~13.3%):
 * `n + n/8 + n/256 + n/512 + 4`. That is the bound taken: a 16 MiB message
 * may arrive as up to 18 972 682 compressed bytes; inflation still stops
 * the moment its output passes the message limit. The sync flush adds an
 * empty stored block (at most 5 bytes) of which the sender removes the last
 * 4 (§7.2.1): 6 bytes cover it with room to spare.
 *
 * Integer arithmetic on doubles (sizes go up to 2^53, past what >> handles).
 */
export function deflateBound(size: number): number {
  return size + Math.floor(size / 8) + Math.floor(size / 256) + Math.floor(size / 512) + 4 + 6;
}

/** `compressed` followed by 00 00 ff ff (§7.2.2), in a new buffer. */
function withSyncFlushTail(compressed: Uint8Array): Buffer {
  const input = Buffer.allocUnsafe(compressed.length + 4);
  input.set(compressed, 0);
  SYNC_FLUSH_TAIL.copy(input, compressed.length);
  return input;
}

function tooBig(maxSize: number): ProtocolError {
  return new ProtocolError('WS_ERR_MESSAGE_TOO_BIG', CloseCode.MESSAGE_TOO_BIG, '10.4', `decompressed message exceeds the limit of ${maxSize} bytes`);
}

/** What a failed inflation means for the peer: too big (1009) or corrupt (1007). */
function inflateError(error: unknown, maxSize: number): ProtocolError {
  if ((error as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE') return tooBig(maxSize);
  return new ProtocolError('WS_ERR_INVALID_COMPRESSED_DATA', CloseCode.INVALID_PAYLOAD, 'RFC 7692 §7.2.2', `compressed message cannot be inflated: ${(error as Error).message}`);
}

/**
 * The last `size` bytes of a stream of plaintext. The buffer grows with what
 * arrives (from 1 KiB, doubling) up to twice `size`, so appending is usually a
 * plain copy; a connection that never compresses allocates nothing, one that
 * sent three small messages holds a few KiB, not the whole window.
 */
class WindowTail {
  private buffer: Buffer | null = null;
  length = 0;

  constructor(private readonly size: number) {}

  append(data: Uint8Array): void {
    const size = this.size;
    if (data.length >= size) {
      this.ensureCapacity(size);
      this.buffer!.set(data.subarray(data.length - size), 0);
      this.length = size;
      return;
    }
    this.ensureCapacity(Math.min(this.length + data.length, 2 * size));
    const buffer = this.buffer!;
    if (this.length + data.length > buffer.length) {
      // Full at twice the window: slide the part still inside the window to the front.
      const keep = size - data.length;
      buffer.copyWithin(0, this.length - keep, this.length);
      this.length = keep;
    }
    buffer.set(data, this.length);
    this.length += data.length;
  }

  /** The last min(length, size) bytes. */
  view(): Buffer {
    const start = this.length > this.size ? this.length - this.size : 0;
    return this.buffer!.subarray(start, this.length);
  }

  private ensureCapacity(needed: number): void {
    const current = this.buffer;
    if (current !== null && current.length >= needed) return;
    let capacity = current === null ? 1024 : current.length;
    while (capacity < needed) capacity *= 2;
    const grown = Buffer.allocUnsafe(Math.min(capacity, 2 * this.size));
    if (current !== null) current.copy(grown, 0, 0, this.length);
    this.buffer = grown;
  }
}
