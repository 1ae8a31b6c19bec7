/**
 * A reference codec for the WebSocket frame format (RFC 6455 §5.2, §5.3),
 * written to be obviously correct rather than fast: the whole byte stream in,
 * a list of frames (or the first rule broken, with its close code) out; and a
 * frame's fields in, its bytes out. No chunk boundaries, no scratch buffers,
 * no in-place unmasking, lengths as BigInt.
 *
 * The fast FrameParser and FrameWriter (src/framing/) are tested against it
 * on fuzzed input (test/unit/frame-differential.test.ts): same frames, same
 * close codes. It imports nothing from src/, so that it cannot share a bug
 * with the code it judges.
 *
 * The frame, as §5.2 draws it:
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
 */

/** §7.4.1: "1002 indicates that an endpoint is terminating the connection due to a protocol error." */
export const PROTOCOL_ERROR = 1002;
/** §7.4.1: "1009 indicates that an endpoint is terminating the connection because it has received a message that is too big for it to process." */
export const MESSAGE_TOO_BIG = 1009;

/** One frame's fields. The payload is unmasked. */
export interface ReferenceFrame {
  fin: boolean;
  /** RSV1 RSV2 RSV3 as one number (RSV1 is 0b100). */
  rsv: number;
  opcode: number;
  payload: Buffer;
}

export interface ReferenceDecodeOptions {
  /** A server receives masked frames only; a client unmasked ones only (§5.1). */
  role: 'server' | 'client';
  /** The largest payload accepted in a data frame (§10.4); larger is 1009. */
  maxFrameSize: number;
  /** RSV bits a negotiated extension gave a meaning (permessage-deflate: RSV1 = 0b100). Default none. */
  allowedRsv?: number;
}

export interface ReferenceDecodeResult {
  /** Every complete frame before the end of the stream or the first rule broken. */
  frames: ReferenceFrame[];
  /** A frame whose header is complete but whose payload the stream ends inside: its header and the payload bytes so far. */
  partial: ReferenceFrame | null;
  /** The first rule broken, if any: the frame parser stops there. */
  error: { rule: string; closeCode: number } | null;
}

/** The opcodes §5.2 defines; every other value is reserved. */
const DEFINED_OPCODES = [0x0, 0x1, 0x2, 0x8, 0x9, 0xa];

/**
 * Decode a whole byte stream into frames, checking every rule of §5.2 that
 * concerns a frame on its own. A rule is judged as soon as the bytes it is
 * about have arrived, the first two bytes together (so a stream that ends
 * before a rule's bytes is not, yet, an error).
 *
 * Not judged here, because they need message context (WebSocketProtocol's
 * part): continuation order (§5.4), RSV1 on a continuation frame (RFC 7692
 * §6), UTF-8 (§8.1), message size. Not judged at all, as in the fast parser:
 * a length written in more bytes than needed (§5.2's "minimal number of bytes"
 * binds the sender; receivers accept it).
 */
export function referenceDecode(stream: Uint8Array, options: ReferenceDecodeOptions): ReferenceDecodeResult {
  const allowedRsv = options.allowedRsv ?? 0;
  const frames: ReferenceFrame[] = [];
  const fail = (rule: string, closeCode: number): ReferenceDecodeResult => ({ frames, partial: null, error: { rule, closeCode } });
  let at = 0;
  while (at < stream.length) {
    // Byte 0: FIN, RSV1-3, opcode. Byte 1: MASK, payload length (7 bits).
    if (stream.length - at < 2) break;
    const fin = (stream[at] & 0b1000_0000) !== 0;
    const rsv = (stream[at] & 0b0111_0000) >> 4;
    const opcode = stream[at] & 0b0000_1111;
    const mask = (stream[at + 1] & 0b1000_0000) !== 0;
    const length7 = stream[at + 1] & 0b0111_1111;
    // §5.5: "Control frames are identified by opcodes where the most significant bit of the opcode is 1."
    const control = opcode >= 0x8;

    // §5.2: "RSV1, RSV2, RSV3: 1 bit each. MUST be 0 unless an extension is
    // negotiated that defines meanings for non-zero values." RFC 7692 §6: the
    // extension's bit is not allowed on control frames either.
    if ((rsv & ~allowedRsv) !== 0) return fail('RSV bit without an extension that defines it', PROTOCOL_ERROR);
    if (rsv !== 0 && control) return fail('RSV bit on a control frame', PROTOCOL_ERROR);
    // §5.2: "If an unknown opcode is received, the receiving endpoint MUST _Fail the WebSocket Connection_."
    if (!DEFINED_OPCODES.includes(opcode)) return fail('reserved opcode', PROTOCOL_ERROR);
    // §5.5: "All control frames MUST have a payload length of 125 bytes or less and MUST NOT be fragmented."
    if (control && !fin) return fail('fragmented control frame', PROTOCOL_ERROR);
    if (control && length7 > 125) return fail('control frame longer than 125 bytes', PROTOCOL_ERROR);
    // §5.1: "The server MUST close the connection upon receiving a frame that is not masked."
    // "A client MUST close a connection if it detects a masked frame."
    if (options.role === 'server' && !mask) return fail('unmasked frame from a client', PROTOCOL_ERROR);
    if (options.role === 'client' && mask) return fail('masked frame from a server', PROTOCOL_ERROR);

    // §5.2: "Payload length: 7 bits, 7+16 bits, or 7+64 bits ... If 0-125,
    // that is the payload length. If 126, the following 2 bytes interpreted as
    // a 16-bit unsigned integer are the payload length. If 127, the following
    // 8 bytes interpreted as a 64-bit unsigned integer (the most significant
    // bit MUST be 0) are the payload length. Multibyte length quantities are
    // expressed in network byte order."
    let position = at + 2;
    let length: bigint;
    if (length7 <= 125) {
      length = BigInt(length7);
    } else {
      const extendedBytes = length7 === 126 ? 2 : 8;
      if (stream.length - position < extendedBytes) break;
      length = 0n;
      for (let i = 0; i < extendedBytes; i++) length = length * 256n + BigInt(stream[position + i]);
      position += extendedBytes;
      if (extendedBytes === 8 && length >= 2n ** 63n) return fail('64-bit length with its most significant bit set', PROTOCOL_ERROR);
    }
    // §10.4: "an implementation ... SHOULD impose a limit on frame sizes", checked
    // on the declared length. Control frames are bounded by §5.5 instead.
    if (!control && length > BigInt(options.maxFrameSize)) return fail('frame larger than the limit', MESSAGE_TOO_BIG);

    // §5.2: "Masking-key: 0 or 4 bytes ... present if the mask bit is set to 1".
    let maskingKey: number[] = [];
    if (mask) {
      if (stream.length - position < 4) break;
      maskingKey = [stream[position], stream[position + 1], stream[position + 2], stream[position + 3]];
      position += 4;
    }

    // §5.3: "Octet i of the transformed data ("transformed-octet-i") is the XOR
    // of octet i of the original data ("original-octet-i") with octet at index
    // i modulo 4 of the masking key ("masking-key-octet-j")".
    const available = BigInt(stream.length - position);
    const present = Number(length < available ? length : available);
    const payload = Buffer.alloc(present);
    for (let i = 0; i < present; i++) payload[i] = mask ? stream[position + i] ^ maskingKey[i % 4] : stream[position + i];
    const frame = { fin, rsv, opcode, payload };
    if (BigInt(present) < length) return { frames, partial: frame, error: null };
    frames.push(frame);
    at = position + present;
  }
  return { frames, partial: null, error: null };
}

/**
 * Encode one frame, field by field, in the minimal length form (§5.2: "the
 * minimal number of bytes MUST be used to encode the length"). With a
 * masking key the MASK bit is set and the payload masked (§5.3).
 */
export function referenceEncode(frame: ReferenceFrame, maskingKey: Uint8Array | null): Buffer {
  const bytes: number[] = [];
  bytes.push((frame.fin ? 0b1000_0000 : 0) | (frame.rsv << 4) | frame.opcode);
  const maskBit = maskingKey !== null ? 0b1000_0000 : 0;
  const length = frame.payload.length;
  if (length <= 125) {
    bytes.push(maskBit | length);
  } else if (length <= 0xffff) {
    bytes.push(maskBit | 126);
    for (let shift = 8; shift >= 0; shift -= 8) bytes.push((length >> shift) & 0xff);
  } else {
    bytes.push(maskBit | 127);
    const big = BigInt(length);
    for (let shift = 56n; shift >= 0n; shift -= 8n) bytes.push(Number((big >> shift) & 0xffn));
  }
  if (maskingKey !== null) bytes.push(...maskingKey);
  const header = Buffer.from(bytes);
  const payload = Buffer.alloc(length);
  for (let i = 0; i < length; i++) payload[i] = maskingKey !== null ? frame.payload[i] ^ maskingKey[i % 4] : frame.payload[i];
  return Buffer.concat([header, payload]);
}
