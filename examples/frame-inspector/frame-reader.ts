/**
 * Cuts one direction of a connection's byte stream into frames and describes
 * each one field by field, for the inspector page: the RFC 6455 §5.2 base
 * framing, read the slow and obvious way.
 *
 *    0                   1                   2                   3
 *    0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *   +-+-+-+-+-------+-+-------------+-------------------------------+
 *   |F|R|R|R| opcode|M| Payload len |    Extended payload length    |
 *   |I|S|S|S|  (4)  |A|     (7)     |             (16/64)           |
 *   |N|V|V|V|       |S|             |   (if payload len==126/127)   |
 *   | |1|2|3|       |K|             |                               |
 *   +-+-+-+-+-------+-+-------------+ - - - - - - - - - - - - - - - +
 *   |     Extended payload length continued, if payload len == 127  |
 *   + - - - - - - - - - - - - - - - +-------------------------------+
 *   |                               |Masking-key, if MASK set to 1  |
 *   +-------------------------------+-------------------------------+
 *   | Masking-key (continued)       |          Payload Data         |
 *   +-------------------------------- - - - - - - - - - - - - - - - +
 *
 * This is not the library's parser (src/framing/frame-parser.ts) and checks
 * no rule: it describes whatever bytes are there, broken frames included, so
 * the page can show what a peer really sent even when the server refuses it.
 */

/** Payload bytes kept per frame for the page (hex and text); the length is always exact. */
export const PREVIEW_BYTES = 512;

/** One frame as it was on the wire. */
export interface FrameDescription {
  /** Where the frame starts in this direction's byte stream (0: the first byte after the handshake). */
  offset: number;
  /** The header bytes exactly as on the wire, in hex: 2 to 14 bytes. */
  headerHex: string;
  fin: boolean;
  rsv1: boolean;
  rsv2: boolean;
  rsv3: boolean;
  opcode: number;
  opcodeName: string;
  masked: boolean;
  /** The 4-byte masking key in hex, or null for an unmasked frame. */
  maskingKey: string | null;
  /** The 7-bit "Payload len" field itself: the length, or 126 / 127 to say a 16 / 64-bit length follows. */
  lengthField: number;
  /** Which field held the length: the 7-bit one (0–125), 16 bits (126–65535) or 64 bits. */
  lengthEncoding: '7-bit' | '16-bit' | '64-bit';
  payloadLength: number;
  /** The first PREVIEW_BYTES payload bytes as they crossed the wire (masked if MASK is 1), in hex. */
  payloadOnWireHex: string;
  /** The same bytes unmasked (§5.3: XOR with the key, byte i with key[i mod 4]), in hex. */
  payloadHex: string;
  /** The unmasked preview decoded as UTF-8 (invalid sequences shown as U+FFFD). */
  payloadText: string;
  /** The whole payload is valid UTF-8 (null when only a preview was kept). */
  validUtf8: boolean | null;
  /** The payload is longer than the preview. */
  truncated: boolean;
  /** Close frames: the status code (null if the payload is empty) and the reason. */
  close?: { code: number | null; reason: string };
}

const OPCODE_NAMES: Record<number, string> = {
  0x0: 'CONTINUATION',
  0x1: 'TEXT',
  0x2: 'BINARY',
  0x8: 'CLOSE',
  0x9: 'PING',
  0xa: 'PONG',
};

export function opcodeName(opcode: number): string {
  return OPCODE_NAMES[opcode] ?? (opcode < 0x8 ? 'RESERVED (non-control)' : 'RESERVED (control)');
}

/** The frame whose header has been read, while its payload goes by. */
interface FrameInProgress {
  description: FrameDescription;
  remaining: number;
  maskKey: Buffer | null;
  preview: Buffer[];
  previewLength: number;
}

export class FrameReader {
  /** Bytes not yet part of a described frame (at most a header's worth plus one chunk). */
  private pending: Buffer = Buffer.alloc(0);
  private frame: FrameInProgress | null = null;
  /** Bytes of the stream consumed so far. */
  private position = 0;

  /** Feed the next bytes of the stream (copied: the caller may reuse them); returns the frames they completed. */
  push(bytes: Buffer): FrameDescription[] {
    this.pending = this.pending.length === 0 ? Buffer.from(bytes) : Buffer.concat([this.pending, bytes]);
    const done: FrameDescription[] = [];
    for (;;) {
      if (this.frame === null && !this.readHeader()) break;
      const frame = this.frame!;
      const take = Math.min(frame.remaining, this.pending.length);
      const room = PREVIEW_BYTES - frame.previewLength;
      if (room > 0 && take > 0) {
        const kept = this.pending.subarray(0, Math.min(room, take));
        frame.preview.push(kept);
        frame.previewLength += kept.length;
      }
      frame.remaining -= take;
      this.pending = this.pending.subarray(take);
      this.position += take;
      if (frame.remaining > 0) break;
      done.push(finish(frame));
      this.frame = null;
    }
    return done;
  }

  /** Read a frame header from `pending` if it is all there. */
  private readHeader(): boolean {
    const bytes = this.pending;
    if (bytes.length < 2) return false;
    const masked = (bytes[1] & 0x80) !== 0;
    const lengthField = bytes[1] & 0x7f;
    // §5.2 "Payload length: 7 bits, 7+16 bits, or 7+64 bits".
    const lengthBytes = lengthField === 126 ? 2 : lengthField === 127 ? 8 : 0;
    const headerLength = 2 + lengthBytes + (masked ? 4 : 0);
    if (bytes.length < headerLength) return false;
    let payloadLength = lengthField;
    if (lengthField === 126) payloadLength = bytes.readUInt16BE(2);
    // (A length over 2^53 cannot be shown exactly; no peer the server accepts sends one.)
    if (lengthField === 127) payloadLength = Number(bytes.readBigUInt64BE(2));
    const maskKey = masked ? Buffer.from(bytes.subarray(2 + lengthBytes, headerLength)) : null;
    const opcode = bytes[0] & 0x0f;
    this.frame = {
      description: {
        offset: this.position,
        headerHex: hex(bytes.subarray(0, headerLength)),
        fin: (bytes[0] & 0x80) !== 0,
        rsv1: (bytes[0] & 0x40) !== 0,
        rsv2: (bytes[0] & 0x20) !== 0,
        rsv3: (bytes[0] & 0x10) !== 0,
        opcode,
        opcodeName: opcodeName(opcode),
        masked,
        maskingKey: maskKey === null ? null : hex(maskKey),
        lengthField,
        lengthEncoding: lengthBytes === 0 ? '7-bit' : lengthBytes === 2 ? '16-bit' : '64-bit',
        payloadLength,
        payloadOnWireHex: '',
        payloadHex: '',
        payloadText: '',
        validUtf8: null,
        truncated: payloadLength > PREVIEW_BYTES,
      },
      remaining: payloadLength,
      maskKey,
      preview: [],
      previewLength: 0,
    };
    this.pending = bytes.subarray(headerLength);
    this.position += headerLength;
    return true;
  }
}

function finish(frame: FrameInProgress): FrameDescription {
  const description = frame.description;
  const onWire = Buffer.concat(frame.preview);
  const payload = Buffer.from(onWire);
  // §5.3: "Octet i of the transformed data is the XOR of octet i of the
  // original data with octet at index i modulo 4 of the masking key".
  if (frame.maskKey !== null) for (let i = 0; i < payload.length; i++) payload[i] ^= frame.maskKey[i % 4];
  description.payloadOnWireHex = hex(onWire);
  description.payloadHex = hex(payload);
  const isClose = description.opcode === 0x8;
  const textBytes = isClose ? payload.subarray(2) : payload;
  description.payloadText = textBytes.toString('utf8');
  if (!description.truncated) description.validUtf8 = isValidUtf8(textBytes);
  if (isClose) description.close = { code: payload.length >= 2 ? payload.readUInt16BE(0) : null, reason: description.payloadText };
  return description;
}

const strictDecoder = new TextDecoder('utf-8', { fatal: true });

function isValidUtf8(bytes: Uint8Array): boolean {
  try {
    strictDecoder.decode(bytes);
    return true;
  } catch {
    return false;
  }
}

function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).toString('hex').replace(/(..)(?!$)/g, '$1 ');
}
