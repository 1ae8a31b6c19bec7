/**
 * Frame encoding (RFC 6455 §5.2): the header in front of a payload.
 * (frame-writer.ts uses it to encode a connection's frames into the shared
 * encode slab; encodeFrame() below builds one standalone frame.)
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
 */

/** Largest header: 2 bytes + 8-byte extended length + 4-byte masking key. */
export const MAX_HEADER_BYTES = 14;

/**
 * Header size for a payload of `length` bytes. §5.2: "the minimal number of
 * bytes MUST be used to encode the length": 7 bits up to 125, then 16 bits up
 * to 65535, then 64 bits.
 */
export function headerSize(length: number, masked: boolean): number {
  const base = length < 126 ? 2 : length < 65536 ? 4 : 10;
  return masked ? base + 4 : base;
}

/**
 * Write a frame header into `target` at `offset`; returns the offset just past
 * it (where the payload goes). `maskKey`, when given, sets the MASK bit and is
 * written after the length (the caller masks the payload).
 */
export function writeFrameHeader(
  target: Uint8Array,
  offset: number,
  fin: boolean,
  rsv: number,
  opcode: number,
  length: number,
  maskKey: Uint8Array | null,
): number {
  target[offset] = (fin ? 0x80 : 0) | (rsv << 4) | opcode;
  const maskBit = maskKey === null ? 0 : 0x80;
  let o = offset + 2;
  if (length < 126) {
    target[offset + 1] = maskBit | length;
  } else if (length < 65536) {
    target[offset + 1] = maskBit | 126;
    target[o] = length >>> 8;
    target[o + 1] = length & 0xff;
    o += 2;
  } else {
    target[offset + 1] = maskBit | 127;
    // §5.2: 64-bit length, most significant bit 0. Lengths beyond 2^53 cannot
    // exist in a JavaScript buffer, so the high word fits a plain division.
    const high = Math.floor(length / 0x100000000);
    const low = length >>> 0;
    target[o] = high >>> 24;
    target[o + 1] = (high >>> 16) & 0xff;
    target[o + 2] = (high >>> 8) & 0xff;
    target[o + 3] = high & 0xff;
    target[o + 4] = low >>> 24;
    target[o + 5] = (low >>> 16) & 0xff;
    target[o + 6] = (low >>> 8) & 0xff;
    target[o + 7] = low & 0xff;
    o += 8;
  }
  if (maskKey !== null) {
    target[o] = maskKey[0];
    target[o + 1] = maskKey[1];
    target[o + 2] = maskKey[2];
    target[o + 3] = maskKey[3];
    o += 4;
  }
  return o;
}

/**
 * A whole unmasked frame as one buffer: what a server sends. Used to encode a
 * broadcast message once for every receiver.
 */
export function encodeFrame(opcode: number, payload: Uint8Array, fin = true, rsv = 0): Buffer {
  const frame = Buffer.allocUnsafe(headerSize(payload.length, false) + payload.length);
  const payloadStart = writeFrameHeader(frame, 0, fin, rsv, opcode, payload.length, null);
  frame.set(payload, payloadStart);
  return frame;
}
