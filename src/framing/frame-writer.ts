/**
 * Encoding outgoing frames (RFC 6455 §5.2, §5.3) into a connection's
 * outbound queue.
 *
 * The protocol core says "send this opcode, payload, FIN and RSV"; this file
 * decides how the bytes get there, which is where the speed of small messages
 * is won or lost:
 *
 * - Header and payload of a small frame (up to COPY_THRESHOLD) are written
 *   together into the shared encode slab, next to the connection's previous
 *   frames (see outbound-queue.ts): one write system call for many frames.
 * - A large payload is not copied: its header goes to the slab, the payload is
 *   queued by reference and written as the second part of a vector. (A client
 *   still has to mask it: see writeFrame().)
 * - Text is encoded to UTF-8 straight into the slab, after room for the
 *   largest header it could need; when the real header turns out shorter, the
 *   payload is slid back against it. Short ASCII strings skip the native
 *   encoder (see writeShortText()).
 *
 * §5.1: "a client MUST mask all frames that it sends to the server", and "A
 * server MUST NOT mask any frames that it sends to the client": a writer is
 * given a masking key source exactly when it writes for a client.
 */
import { headerSize, writeFrameHeader } from './frame-encoder.js';
import { applyMask, copyWithMask } from './mask.js';
import type { MaskKeySource } from './mask-key.js';
import { OutboundQueue } from './outbound-queue.js';

/**
 * Payloads up to this size are copied into the slab with their header; larger
 * ones are queued by reference. Below it a copy is cheap and keeps a
 * connection's frames in one contiguous run; above it a separate piece in the
 * write vector costs less than copying the payload. At 16 KiB (the value
 * until 2026-12-03) an echo of 16 KiB messages cost 21-38 µs of server CPU
 * per message against 12-16 µs at 4 KiB: the copies filled a slab every
 * eight messages, each a fresh 128 KiB allocation (bench/RESULTS.md,
 * "Copy threshold and slab size"); 2 KiB and 16 B messages did not change.
 */
export const COPY_THRESHOLD = 4 * 1024;

/** Encodes one connection's outgoing frames into its outbound queue (see above); masks them when it writes for a client. */
export class FrameWriter {
  /** Made on the first frame written: an idle server connection sends nothing, and holds no queue (72 B; bench/idle-heap.ts). */
  private queue: OutboundQueue | null = null;
  /** Client only: where masking keys come from (null: a server, frames unmasked). */
  private readonly maskKeySource: MaskKeySource | null;
  /** The key of the frame being written (client only: a server holds none, which idle connections notice). */
  private readonly maskKey: Uint8Array | null;

  constructor(maskKeySource: MaskKeySource | null) {
    this.maskKeySource = maskKeySource;
    this.maskKey = maskKeySource === null ? null : new Uint8Array(4);
  }

  private get out(): OutboundQueue {
    return (this.queue ??= new OutboundQueue());
  }

  /** Bytes queued and not yet taken. */
  get bytes(): number {
    return this.queue === null ? 0 : this.queue.bytes;
  }

  /** Everything queued for the transport, in order (usually one buffer); the writer is empty afterwards. */
  take(): Buffer[] {
    return this.queue === null ? [] : this.queue.take();
  }

  /**
   * Queue one frame with a byte payload. The payload is copied unless it is
   * over COPY_THRESHOLD; then it is queued by reference, and must not change
   * until written. `owned`: the payload is ours (encoded or compressed here),
   * so a client may mask it in place instead of masking a copy.
   */
  writeFrame(opcode: number, data: Uint8Array, fin: boolean, rsv = 0, owned = false): void {
    const length = data.length;
    const maskKey = this.nextMaskKey();
    const size = headerSize(length, maskKey !== null);
    if (length <= COPY_THRESHOLD) {
      const target = this.out.reserve(size + length);
      const offset = this.out.writeOffset;
      const payloadStart = writeFrameHeader(target, offset, fin, rsv, opcode, length, maskKey);
      target.set(data, payloadStart);
      if (maskKey !== null) applyMask(target, payloadStart, payloadStart + length, maskKey, 0);
      this.out.commit(size + length);
      return;
    }
    const target = this.out.reserve(size);
    writeFrameHeader(target, this.out.writeOffset, fin, rsv, opcode, length, maskKey);
    this.out.commit(size);
    let payload = Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.length);
    if (maskKey !== null) {
      if (owned) {
        applyMask(payload, 0, length, maskKey, 0);
      } else {
        // Never mask the caller's buffer in place (they may still be using it):
        // mask while copying, in one pass (masking and unmasking are the same XOR).
        const copy = Buffer.allocUnsafe(length);
        copyWithMask(payload, 0, length, copy, 0, maskKey, 0);
        payload = copy;
      }
    }
    this.out.pushBuffer(payload);
  }

  /** Queue one frame whose payload is `text` encoded as UTF-8 (RSV bits 0). */
  writeTextFrame(opcode: number, text: string, fin: boolean): void {
    // UTF-16 length × 3 bounds the UTF-8 length.
    const maxBytes = text.length * 3;
    if (maxBytes > COPY_THRESHOLD) {
      this.writeFrame(opcode, Buffer.from(text, 'utf8'), fin, 0, true);
      return;
    }
    const maskKey = this.nextMaskKey();
    const masked = maskKey !== null;
    const room = headerSize(maxBytes, masked);
    const target = this.out.reserve(room + maxBytes);
    const offset = this.out.writeOffset;
    const length = text.length <= SHORT_TEXT ? writeShortText(target, offset + room, text) : target.write(text, offset + room, 'utf8');
    // The header for the real length may be shorter than the room left for it: slide the payload back.
    const size = headerSize(length, masked);
    if (size < room) target.copyWithin(offset + size, offset + room, offset + room + length);
    const payloadStart = writeFrameHeader(target, offset, fin, 0, opcode, length, maskKey);
    if (maskKey !== null) applyMask(target, payloadStart, payloadStart + length, maskKey, 0);
    this.out.commit(size + length);
  }

  /**
   * Queue a complete frame encoded beforehand (encodeFrame() in
   * frame-encoder.ts: a broadcast encodes its frame once for every
   * receiver). Small ones are copied next to the connection's other frames;
   * large ones are queued by reference and must not change.
   */
  writeEncodedFrame(frame: Uint8Array): void {
    if (frame.length <= COPY_THRESHOLD) {
      const target = this.out.reserve(frame.length);
      target.set(frame, this.out.writeOffset);
      this.out.commit(frame.length);
    } else {
      this.out.pushBuffer(Buffer.isBuffer(frame) ? frame : Buffer.from(frame.buffer, frame.byteOffset, frame.length));
    }
  }

  /** A fresh masking key for the next frame (§5.3: a new one per frame), or null for a server. */
  private nextMaskKey(): Uint8Array | null {
    if (this.maskKeySource === null || this.maskKey === null) return null;
    this.maskKeySource(this.maskKey);
    return this.maskKey;
  }
}

/**
 * Up to this many UTF-16 units, text is encoded by writeShortText(): for a
 * short ASCII string a loop beats the native encoder's call overhead
 * (figures: bench/RESULTS.md, "Encoding short text").
 */
const SHORT_TEXT = 64;

/**
 * Encode `text` as UTF-8 into `target` at `offset` (room for text.length × 3
 * bytes is there); returns the byte count. ASCII is copied unit by unit; at
 * the first other character the native encoder redoes the whole string.
 */
function writeShortText(target: Buffer, offset: number, text: string): number {
  const length = text.length;
  for (let i = 0; i < length; i++) {
    const unit = text.charCodeAt(i);
    if (unit >= 0x80) return target.write(text, offset, 'utf8');
    target[offset + i] = unit;
  }
  return length;
}
