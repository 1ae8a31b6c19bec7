/**
 * Incremental frame parser (RFC 6455 §5.2), sans-I/O.
 *
 * Feed it whatever chunks the transport delivers, down to one byte at a time.
 * It enforces the rules that concern a single frame (reserved bits, reserved
 * opcodes, masking direction, control-frame size and fragmentation, the 64-bit
 * length's top bit, the frame size limit) and hands each frame to a FrameSink
 * as a header, then its payload unmasked in place (possibly in several
 * pieces, as TCP delivered them), then an end. Rules that need message context
 * (continuations, UTF-8, message size) belong to the sink.
 *
 * Hot path: a header that lies wholly in the current chunk is decoded straight
 * from it; only headers split across chunks are gathered in a 14-byte scratch
 * array. Payload bytes are unmasked in place in the chunk (which the
 * transport gave us to own) and passed on as a range, unless the sink is
 * going to copy them anyway: then it names a destination and the bytes are
 * unmasked on the way there, in one pass instead of two.
 */
import { isControlOpcode, isKnownOpcode, opcodeName } from './opcodes.js';
import { applyMask, copyWithMask } from './mask.js';
import { protocolError } from '../protocol/error-codes.js';

/** Receives the frames the parser decodes. Methods may throw ProtocolError. */
export interface FrameSink {
  /** A header passed the per-frame checks. `length` is the payload length. */
  frameStart(fin: boolean, rsv: number, opcode: number, length: number): void;
  /** Payload bytes `data[start, end)` of the current frame, already unmasked. */
  framePayload(data: Buffer, start: number, end: number): void;
  /**
   * Optional. A masked payload piece of `length` bytes is about to be
   * delivered: a sink that would copy it anyway returns a Buffer of exactly
   * `length` bytes to receive it; the parser unmasks straight into that
   * buffer and passes it to framePayload(). Return null to get the bytes
   * unmasked in place in the chunk. Asked only for pieces of at least
   * DESTINATION_MIN bytes.
   */
  payloadDestination?(length: number): Buffer | null;
  /** The current frame's payload is complete (called at once for an empty payload). */
  frameEnd(): void;
}

/** What a FrameParser enforces: the role (masking, §5.1), the frame size limit, the RSV bits an extension owns. */
export interface FrameParserOptions {
  /** `server`: frames must be masked (§5.1). `client`: frames must not be. */
  role: 'server' | 'client';
  /** Largest payload accepted in one data frame; larger fails with 1009 as soon as the length is read. */
  maxFrameSize: number;
  /** RSV bits an extension negotiated (bit 0x4 = RSV1); any other set bit fails with 1002. */
  allowedRsv?: number;
  /**
   * Largest payload accepted in one frame of a message transformed by the
   * extension (its first frame had RSV bits): a compressed frame may be
   * larger than the message it carries. Default: maxFrameSize.
   */
  maxTransformedFrameSize?: number;
}

/**
 * Below this many bytes a piece is unmasked in place even if the sink copies
 * it: asking for a destination would cost more than the pass it saves.
 */
export const DESTINATION_MIN = 1024;

/** `maxPiece` when pieces are not split (a small integer, larger than any chunk a transport reads). */
export const UNLIMITED_PIECE = 0x40000000;

/*
 * The masking key in use, shared by every parser: each parser keeps its own
 * key as one integer field (`maskWord`) and writes it here, through the
 * Int32Array view, just before unmasking with it (the mask functions take the
 * key as four bytes). A Uint8Array(4) per parser cost ~220 bytes of heap per
 * connection (the array, its ArrayBuffer, its elements): measured with
 * bench/idle-heap.ts. Both views use the machine's byte order, so the bytes
 * written through one come back unchanged through the other.
 */
const MASK_KEY = new Uint8Array(4);
const MASK_WORD = new Int32Array(MASK_KEY.buffer);

const enum State {
  Header,
  Payload,
  /** Stopped after a fatal error or the closing handshake: input is discarded. */
  Halted,
}

/** Incremental frame decoder (§5.2): push() bytes as they arrive, in chunks of any size; headers, payload pieces and frame ends go to a FrameSink. */
export class FrameParser {
  private state: State = State.Header;
  private readonly sink: FrameSink;
  private readonly expectMasked: boolean;
  private readonly maxFrameSize: number;
  private readonly maxTransformedFrameSize: number;
  allowedRsv: number;
  /** The data message in progress had RSV bits on its first frame (its continuations are judged by it). */
  private transformedMessage = false;

  /** Scratch space for a header split across chunks (allocated the first time one is). */
  private headerBytes: Uint8Array | null = null;
  private headerHave = 0;
  /** The sink asked push() to return after the current step. */
  private stopRequested = false;
  /**
   * Most payload bytes one step hands to the sink: a payload piece larger
   * than this is split, so that a sink counting its work (see
   * WebSocketProtocol's turn budget) can stop within a large frame, not
   * only between frames.
   */
  maxPiece = UNLIMITED_PIECE;

  /** The frame's masking key, its four octets packed in one integer (see MASK_KEY below). */
  private maskWord = 0;
  private masked = false;
  private maskPhase = 0;
  private remaining = 0;

  constructor(sink: FrameSink, options: FrameParserOptions) {
    this.sink = sink;
    this.expectMasked = options.role === 'server';
    this.maxFrameSize = options.maxFrameSize;
    this.allowedRsv = options.allowedRsv ?? 0;
    this.maxTransformedFrameSize = Math.max(options.maxTransformedFrameSize ?? 0, options.maxFrameSize);
  }

  /**
   * Pause after the current step: push() returns at once with the position
   * reached, and the caller feeds the rest later. The sink asks for this
   * while a message is being inflated off the event loop, or when one call
   * has done its share of work (see WebSocketProtocol's turn budget).
   */
  requestStop(): void {
    this.stopRequested = true;
  }

  /** Stop parsing: every later byte is discarded (§7.1.7 after failing, §1.4 after close). */
  halt(): void {
    this.state = State.Halted;
  }

  get halted(): boolean {
    return this.state === State.Halted;
  }

  /**
   * Consume a chunk, up to its end or until the sink calls requestStop().
   * Returns how many bytes were consumed (all of them unless stopped; after
   * halt() the rest counts as consumed: it is discarded). Throws
   * ProtocolError at the first rule broken.
   */
  push(chunk: Buffer): number {
    const length = chunk.length;
    let pos = 0;
    this.stopRequested = false;
    while (pos < length) {
      if (this.stopRequested) {
        this.stopRequested = false;
        if (this.state !== State.Halted) return pos;
      }
      const state = this.state;
      if (state === State.Payload) {
        const available = length - pos;
        let take = available < this.remaining ? available : this.remaining;
        if (take > this.maxPiece) take = this.maxPiece;
        const end = pos + take;
        this.remaining -= take;
        const destination = this.masked && take >= DESTINATION_MIN && this.sink.payloadDestination !== undefined ? this.sink.payloadDestination(take) : null;
        if (destination !== null) {
          MASK_WORD[0] = this.maskWord;
          this.maskPhase = copyWithMask(chunk, pos, end, destination, 0, MASK_KEY, this.maskPhase);
          this.sink.framePayload(destination, 0, take);
        } else {
          if (this.masked) {
            MASK_WORD[0] = this.maskWord;
            this.maskPhase = applyMask(chunk, pos, end, MASK_KEY, this.maskPhase);
          }
          this.sink.framePayload(chunk, pos, end);
        }
        pos = end;
        if (this.remaining === 0 && this.state === State.Payload) this.endFrame();
      } else if (state === State.Header) {
        pos = this.headerHave === 0 ? this.readHeaderInPlace(chunk, pos) : this.gatherHeader(chunk, pos);
      } else {
        return length; // Halted: the rest is discarded
      }
    }
    this.stopRequested = false;
    return length;
  }

  private endFrame(): void {
    if (this.state !== State.Halted) this.state = State.Header;
    this.sink.frameEnd();
  }

  /**
   * Decode a header straight from `chunk` if it lies there whole; otherwise
   * start gathering it. Returns the new position.
   */
  private readHeaderInPlace(chunk: Buffer, pos: number): number {
    const available = chunk.length - pos;
    if (available < 2) return this.gatherHeader(chunk, pos);
    const size = declaredHeaderSize(chunk[pos + 1]);
    if (available < size) return this.gatherHeader(chunk, pos);
    this.decodeHeader(chunk, pos);
    return pos + size;
  }

  /** Copy header bytes into scratch space until the header is complete. */
  private gatherHeader(chunk: Buffer, pos: number): number {
    const scratch = (this.headerBytes ??= new Uint8Array(14));
    const length = chunk.length;
    if (this.headerHave < 2) {
      while (this.headerHave < 2 && pos < length) scratch[this.headerHave++] = chunk[pos++];
      if (this.headerHave < 2) return pos;
      // Fail as early as the first two bytes allow, before the rest arrives.
      this.checkFirstTwoBytes(scratch[0], scratch[1]);
    }
    const size = declaredHeaderSize(scratch[1]);
    const lengthEnd = lengthFieldEnd(scratch[1]);
    if (this.headerHave < lengthEnd) {
      while (this.headerHave < lengthEnd && pos < length) scratch[this.headerHave++] = chunk[pos++];
      if (this.headerHave < lengthEnd) return pos;
      // The length is known: judge it before waiting for the masking key.
      if (lengthEnd > 2) this.readLength(scratch, 0);
    }
    while (this.headerHave < size && pos < length) scratch[this.headerHave++] = chunk[pos++];
    if (this.headerHave < size) return pos;
    this.headerHave = 0;
    this.decodeHeader(scratch, 0);
    return pos;
  }

  private checkFirstTwoBytes(b0: number, b1: number): void {
    const rsv = (b0 >> 4) & 0x7;
    const opcode = b0 & 0x0f;
    // §5.2: "RSV1, RSV2, RSV3: MUST be 0 unless an extension is negotiated that
    // defines meanings for non-zero values." RFC 7692 §6: never on control frames.
    if (rsv !== 0 && ((rsv & ~this.allowedRsv) !== 0 || isControlOpcode(opcode))) {
      throw protocolError('WS_ERR_RESERVED_BITS', `reserved bits 0x${rsv.toString(16)} set on a ${opcodeName(opcode)} frame`);
    }
    // §5.2: "If an unknown opcode is received, the receiving endpoint MUST _Fail the WebSocket Connection_."
    if (!isKnownOpcode(opcode)) {
      throw protocolError('WS_ERR_RESERVED_OPCODE', `reserved opcode 0x${opcode.toString(16)}`);
    }
    if (isControlOpcode(opcode)) {
      // §5.5: "All control frames MUST have a payload length of 125 bytes or less
      // and MUST NOT be fragmented."
      if ((b0 & 0x80) === 0) {
        throw protocolError('WS_ERR_FRAGMENTED_CONTROL_FRAME', `fragmented ${opcodeName(opcode)} frame`);
      }
      // 125 is the largest length the 7-bit field holds, so a control frame
      // with an extended length field (126 or 127) breaks this rule: either
      // its payload is over 125 bytes, or its length is not in the minimal
      // form §5.2 requires. Judged here, before the length itself arrives.
      if ((b1 & 0x7f) > 125) {
        throw protocolError('WS_ERR_CONTROL_FRAME_TOO_LONG', `${opcodeName(opcode)} frame with an extended payload length (a control frame carries at most 125 bytes, in the 7-bit length)`);
      }
    }
    const masked = (b1 & 0x80) !== 0;
    if (masked !== this.expectMasked) {
      // §5.1: "a client MUST mask all frames that it sends to the server ... The
      // server MUST close the connection upon receiving a frame that is not
      // masked." and "A client MUST close a connection if it detects a masked frame."
      throw this.expectMasked
        ? protocolError('WS_ERR_UNMASKED_FRAME', 'client frame is not masked')
        : protocolError('WS_ERR_MASKED_FRAME', 'server frame is masked');
    }
  }

  /**
   * The payload length of the header at `bytes[pos]` (its length field must
   * be there), checked against §5.2 and the frame size limit.
   */
  private readLength(bytes: Uint8Array, pos: number): number {
    let length = bytes[pos + 1] & 0x7f;
    const p = pos + 2;
    if (length === 126) {
      length = (bytes[p] << 8) | bytes[p + 1];
    } else if (length === 127) {
      const high = ((bytes[p] << 24) | (bytes[p + 1] << 16) | (bytes[p + 2] << 8) | bytes[p + 3]) >>> 0;
      const low = ((bytes[p + 4] << 24) | (bytes[p + 5] << 16) | (bytes[p + 6] << 8) | bytes[p + 7]) >>> 0;
      // §5.2: "the most significant bit MUST be 0".
      if (high >= 0x80000000) {
        throw protocolError('WS_ERR_INVALID_LENGTH', '64-bit payload length has its most significant bit set');
      }
      length = high * 0x100000000 + low;
    }
    // Checked against the declared length, before any payload is buffered
    // (§10.4). Control frames are bounded by §5.5 (125 bytes) instead.
    const b0 = bytes[pos];
    if (length > this.maxFrameSize && (b0 & 0x08) === 0) {
      // A frame of a transformed (compressed) message: its own RSV bits on a
      // first frame, the message's on a continuation.
      const transformed = (b0 & 0x0f) === 0 ? this.transformedMessage : (b0 & 0x70) !== 0;
      const limit = transformed ? this.maxTransformedFrameSize : this.maxFrameSize;
      if (length > limit) {
        throw protocolError('WS_ERR_FRAME_TOO_BIG', `frame of ${exactLength(bytes, pos, length)} bytes exceeds the limit of ${limit}`);
      }
    }
    return length;
  }

  /** Decode a complete header at `bytes[pos]` and start its frame. */
  private decodeHeader(bytes: Uint8Array, pos: number): void {
    const b0 = bytes[pos];
    const b1 = bytes[pos + 1];
    this.checkFirstTwoBytes(b0, b1);
    const length = this.readLength(bytes, pos);
    const length7 = b1 & 0x7f;
    const p = pos + (length7 < 126 ? 2 : length7 === 126 ? 4 : 10);
    this.masked = (b1 & 0x80) !== 0;
    if (this.masked) {
      MASK_KEY[0] = bytes[p];
      MASK_KEY[1] = bytes[p + 1];
      MASK_KEY[2] = bytes[p + 2];
      MASK_KEY[3] = bytes[p + 3];
      this.maskWord = MASK_WORD[0];
      this.maskPhase = 0;
    }
    this.remaining = length;
    this.state = State.Payload;
    const opcode = b0 & 0x0f;
    if (opcode !== 0 && (b0 & 0x08) === 0) this.transformedMessage = (b0 & 0x70) !== 0;
    this.sink.frameStart((b0 & 0x80) !== 0, (b0 >> 4) & 0x7, b0 & 0x0f, length);
    if (length === 0 && this.state === State.Payload) this.endFrame();
  }
}

/**
 * The declared length as exact decimal text. Above 2^53 a double cannot hold
 * every integer (2^62 would print as 4611686018427388000), so a 64-bit length
 * is read again as a BigInt for the message.
 */
function exactLength(bytes: Uint8Array, pos: number, length: number): string {
  if (Number.isSafeInteger(length)) return String(length);
  let exact = 0n;
  for (let i = pos + 2; i < pos + 10; i++) exact = (exact << 8n) | BigInt(bytes[i]);
  return exact.toString();
}

/** Bytes of the header up to the end of the extended length (before the masking key). */
function lengthFieldEnd(b1: number): number {
  const length7 = b1 & 0x7f;
  return length7 < 126 ? 2 : length7 === 126 ? 4 : 10;
}

/** Header size announced by the second header byte (mask bit and 7-bit length). */
function declaredHeaderSize(b1: number): number {
  const length7 = b1 & 0x7f;
  const size = length7 < 126 ? 2 : length7 === 126 ? 4 : 10;
  return (b1 & 0x80) !== 0 ? size + 4 : size;
}
