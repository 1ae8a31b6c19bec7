/**
 * Wire format for the fuzzer, written independently of src/ so that the mirror
 * checks the server against the RFC rather than against itself.
 *
 * Writing side: the fuzzer must be able to put anything on the wire (reserved
 * opcodes, RSV bits, fragmented or oversized control frames), so encodeFrame()
 * validates nothing. Every frame is masked with a fresh random key, as
 * RFC 6455 §5.3 requires of clients ("The masking key is a 32-bit value chosen
 * at random by the client").
 *
 * Reading side: FrameReader pulls server frames out of a list of TCP chunks.
 * It reports the two header bytes as soon as they are in (so the client can
 * judge a bad header before the payload arrives, as Autobahn does) and copies
 * payload bytes only once, when the whole frame is there.
 */
import { randomBytes } from 'node:crypto';

export const Opcode = {
  CONTINUATION: 0x0,
  TEXT: 0x1,
  BINARY: 0x2,
  CLOSE: 0x8,
  PING: 0x9,
  PONG: 0xa,
} as const;

export function toBytes(data: Buffer | string | undefined): Buffer {
  if (data === undefined) return Buffer.alloc(0);
  return typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
}

/** `pattern` repeated and cut to exactly `length` bytes (Autobahn's payload_len). */
export function repeatTo(pattern: Buffer, length: number): Buffer {
  if (pattern.length === 0) throw new Error('cannot repeat an empty pattern');
  const out = Buffer.allocUnsafe(length);
  // Copy the pattern once, then double the filled prefix: log2(length) copies.
  let filled = Math.min(pattern.length, length);
  pattern.copy(out, 0, 0, filled);
  while (filled < length) {
    const n = Math.min(filled, length - filled);
    out.copy(out, filled, 0, n);
    filled += n;
  }
  return out;
}

/**
 * XOR `data` in place with `key`, as if `data` started `offset` bytes into the
 * frame payload (RFC 6455 §5.3: octet i is XORed with key[i MOD 4]).
 * Hot for group 9 (up to 16 MiB a frame): the aligned middle goes 32 bits at a time.
 */
export function applyMask(data: Buffer, key: Buffer, offset = 0): void {
  const len = data.length;
  let i = 0;
  // Head: until the key lines up with a multiple of four payload bytes.
  while (i < len && (offset + i) % 4 !== 0) {
    data[i] ^= key[(offset + i) % 4];
    i++;
  }
  if (len - i >= 8) {
    const k = key.readUInt32LE(0);
    for (; i + 4 <= len; i += 4) data.writeUInt32LE((data.readUInt32LE(i) ^ k) >>> 0, i);
  }
  for (; i < len; i++) data[i] ^= key[(offset + i) % 4];
}

/** The header of a masked frame: first byte, length encoding and the masking key. */
export function encodeHeader(opcode: number, fin: boolean, rsv: number, length: number, key: Buffer): Buffer {
  const b0 = (fin ? 0x80 : 0) | ((rsv & 0x7) << 4) | (opcode & 0xf);
  let header: Buffer;
  if (length <= 125) {
    header = Buffer.allocUnsafe(2 + 4);
    header[1] = 0x80 | length;
    key.copy(header, 2);
  } else if (length <= 0xffff) {
    header = Buffer.allocUnsafe(4 + 4);
    header[1] = 0x80 | 126;
    header.writeUInt16BE(length, 2);
    key.copy(header, 4);
  } else {
    header = Buffer.allocUnsafe(10 + 4);
    header[1] = 0x80 | 127;
    header.writeBigUInt64BE(BigInt(length), 2);
    key.copy(header, 10);
  }
  header[0] = b0;
  return header;
}

export interface FrameOptions {
  readonly opcode: number;
  readonly payload?: Buffer;
  readonly fin?: boolean;
  readonly rsv?: number;
}

/** One complete masked client frame. The payload buffer is not modified. */
export function encodeFrame(frame: FrameOptions): Buffer {
  const payload = frame.payload ?? Buffer.alloc(0);
  const key = randomBytes(4);
  const header = encodeHeader(frame.opcode, frame.fin ?? true, frame.rsv ?? 0, payload.length, key);
  const out = Buffer.allocUnsafe(header.length + payload.length);
  header.copy(out, 0);
  payload.copy(out, header.length);
  applyMask(out.subarray(header.length), key);
  return out;
}

/** A message as a run of frames of at most `fragmentSize` bytes, one buffer (Autobahn writes it at once). */
export function encodeMessage(payload: Buffer, binary: boolean, fragmentSize?: number): { bytes: Buffer; frames: number } {
  const opcode = binary ? Opcode.BINARY : Opcode.TEXT;
  if (fragmentSize === undefined || fragmentSize <= 0 || payload.length <= fragmentSize) {
    return { bytes: encodeFrame({ opcode, payload }), frames: 1 };
  }
  const parts: Buffer[] = [];
  for (let at = 0; at < payload.length; at += fragmentSize) {
    const end = Math.min(at + fragmentSize, payload.length);
    parts.push(
      encodeFrame({
        opcode: at === 0 ? opcode : Opcode.CONTINUATION,
        payload: payload.subarray(at, end),
        fin: end === payload.length,
      }),
    );
  }
  return { bytes: Buffer.concat(parts), frames: parts.length };
}

/** What the first two bytes of a server frame say. */
export interface FrameHead {
  readonly fin: boolean;
  readonly rsv: number;
  readonly opcode: number;
  readonly masked: boolean;
  /** The 7-bit length field: 0-125, or 126/127 for the extended forms. */
  readonly length7: number;
}

export interface ServerFrame extends FrameHead {
  readonly length: number;
  /** Unmasked payload. */
  readonly payload: Buffer;
  /** True when the extended length was not the shortest form (RFC 6455 §5.2: "the minimal number of bytes MUST be used"). */
  readonly nonMinimalLength: boolean;
}

/**
 * Incremental reader over TCP chunks. Call push() with each chunk, then
 * head() / next() until they return undefined ("need more bytes" is a normal
 * answer, not an error).
 */
export class FrameReader {
  private chunks: Buffer[] = [];
  private buffered = 0;
  private headSeen = false;

  get bufferedBytes(): number {
    return this.buffered;
  }

  push(chunk: Buffer): void {
    if (chunk.length === 0) return;
    this.chunks.push(chunk);
    this.buffered += chunk.length;
  }

  /** Forget everything buffered (after the connection has been failed). */
  clear(): void {
    this.chunks = [];
    this.buffered = 0;
    this.headSeen = false;
  }

  /**
   * The next frame's first two bytes, once per frame (undefined when they are
   * not here yet, or were already reported for the frame in progress).
   */
  head(): FrameHead | undefined {
    if (this.headSeen || this.buffered < 2) return undefined;
    this.headSeen = true;
    const b0 = this.byteAt(0);
    const b1 = this.byteAt(1);
    return {
      fin: (b0 & 0x80) !== 0,
      rsv: (b0 >> 4) & 0x7,
      opcode: b0 & 0xf,
      masked: (b1 & 0x80) !== 0,
      length7: b1 & 0x7f,
    };
  }

  /** The next complete frame, or undefined until all of it has arrived. */
  next(): ServerFrame | undefined {
    if (this.buffered < 2) return undefined;
    const b0 = this.byteAt(0);
    const b1 = this.byteAt(1);
    const masked = (b1 & 0x80) !== 0;
    const length7 = b1 & 0x7f;
    let headerLength = 2 + (masked ? 4 : 0);
    if (length7 === 126) headerLength += 2;
    else if (length7 === 127) headerLength += 8;
    if (this.buffered < headerLength) return undefined;
    const header = this.peek(headerLength);
    let length = length7;
    let nonMinimalLength = false;
    if (length7 === 126) {
      length = header.readUInt16BE(2);
      nonMinimalLength = length < 126;
    } else if (length7 === 127) {
      const big = header.readBigUInt64BE(2);
      // Anything above 2^53 cannot be buffered anyway; treat it as "never arrives".
      length = big > BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : Number(big);
      nonMinimalLength = big < 65536n;
    }
    if (this.buffered < headerLength + length) return undefined;
    this.skip(headerLength);
    const payload = this.take(length);
    if (masked) applyMask(payload, header.subarray(headerLength - 4, headerLength));
    this.headSeen = false;
    return {
      fin: (b0 & 0x80) !== 0,
      rsv: (b0 >> 4) & 0x7,
      opcode: b0 & 0xf,
      masked,
      length7,
      length,
      payload,
      nonMinimalLength,
    };
  }

  private byteAt(index: number): number {
    let i = index;
    for (const chunk of this.chunks) {
      if (i < chunk.length) return chunk[i];
      i -= chunk.length;
    }
    throw new RangeError('byteAt past the buffered data');
  }

  private peek(n: number): Buffer {
    if (this.chunks[0].length >= n) return this.chunks[0].subarray(0, n);
    return Buffer.concat(this.chunks, this.buffered).subarray(0, n);
  }

  private skip(n: number): void {
    this.take(n);
  }

  /** Remove and return the next n bytes; a copy, so the caller may unmask in place. */
  private take(n: number): Buffer {
    const out = Buffer.allocUnsafe(n);
    let filled = 0;
    while (filled < n) {
      const chunk = this.chunks[0];
      const want = n - filled;
      if (chunk.length <= want) {
        chunk.copy(out, filled);
        filled += chunk.length;
        this.chunks.shift();
      } else {
        chunk.copy(out, filled, 0, want);
        this.chunks[0] = chunk.subarray(want);
        filled += want;
      }
    }
    this.buffered -= n;
    return out;
  }
}
