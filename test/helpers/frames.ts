/**
 * Hand-built WebSocket frames for end-to-end tests (RFC 6455 §5.2).
 *
 * Deliberately independent of src/: the conformance suite must not share a
 * bug with the code it judges, so the wire format is written out again here,
 * straight from the RFC's frame diagram:
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
 * The builder can also lie: wrong declared lengths, non-minimal length forms,
 * reserved bits and opcodes, unmasked client frames. That is the point.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';

/** Opcodes as the RFC numbers them (§5.2, §11.8). Reserved ones are plain numbers in tests. */
export const OP = {
  CONT: 0x0,
  TEXT: 0x1,
  BINARY: 0x2,
  CLOSE: 0x8,
  PING: 0x9,
  PONG: 0xa,
} as const;

/** The `rsv` option is the three RSV bits as one number: RSV1 is the high bit. */
export const RSV1 = 0b100;
export const RSV2 = 0b010;
export const RSV3 = 0b001;

export interface FrameSpec {
  opcode: number;
  /** Strings are encoded as UTF-8. Default: empty. */
  payload?: string | Uint8Array;
  /** Default true. */
  fin?: boolean;
  /** 0–7, see RSV1/RSV2/RSV3. Default 0. */
  rsv?: number;
  /** Client frames must be masked (§5.1); default true. */
  mask?: boolean;
  /** 4 bytes; default random (§5.3 wants it unpredictable). */
  maskKey?: Uint8Array;
  /** Length to DECLARE in the header (a lie if it differs from the payload). */
  length?: number | bigint;
  /** Force the 7-bit, 16-bit or 64-bit length form (default: the minimal one). */
  lengthForm?: 7 | 16 | 64;
}

function toBytes(payload: string | Uint8Array | undefined): Buffer {
  if (payload === undefined) return Buffer.alloc(0);
  if (typeof payload === 'string') return Buffer.from(payload, 'utf8');
  return Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength);
}

/** XOR `data` with the 4-byte key (§5.3); returns a new buffer. */
export function applyMask(data: Uint8Array, key: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(data.length);
  for (let i = 0; i < data.length; i++) out[i] = data[i] ^ key[i & 3];
  return out;
}

/** Build one frame exactly as described: header, optional masking key, payload. */
export function frame(spec: FrameSpec): Buffer {
  const { opcode, fin = true, rsv = 0, mask = true } = spec;
  assert.ok(opcode >= 0 && opcode <= 15, `opcode ${opcode} does not fit in 4 bits`);
  assert.ok(rsv >= 0 && rsv <= 7, `rsv ${rsv} does not fit in 3 bits`);
  const payload = toBytes(spec.payload);
  const declared = BigInt(spec.length ?? payload.length);
  const form = spec.lengthForm ?? (declared <= 125n ? 7 : declared <= 0xffffn ? 16 : 64);
  if (form === 7) assert.ok(declared <= 127n, 'declared length does not fit the 7-bit form');
  if (form === 16) assert.ok(declared <= 0xffffn, 'declared length does not fit the 16-bit form');
  assert.ok(declared < 1n << 64n, 'declared length does not fit in 64 bits');

  const extra = form === 7 ? 0 : form === 16 ? 2 : 8;
  const maskKey = mask ? Buffer.from(spec.maskKey ?? randomBytes(4)) : undefined;
  if (maskKey) assert.equal(maskKey.length, 4, 'masking key must be 4 bytes');
  const header = Buffer.alloc(2 + extra + (maskKey ? 4 : 0));
  header[0] = (fin ? 0x80 : 0) | (rsv << 4) | opcode;
  const len7 = form === 7 ? Number(declared) : form === 16 ? 126 : 127;
  header[1] = (maskKey ? 0x80 : 0) | len7;
  if (form === 16) header.writeUInt16BE(Number(declared), 2);
  if (form === 64) header.writeBigUInt64BE(declared, 2);
  if (maskKey) maskKey.copy(header, 2 + extra);
  return Buffer.concat([header, maskKey ? applyMask(payload, maskKey) : payload]);
}

type Extra = Omit<FrameSpec, 'opcode' | 'payload'>;

export const text = (payload: string | Uint8Array, o: Extra = {}): Buffer => frame({ ...o, opcode: OP.TEXT, payload });
export const binary = (payload: Uint8Array, o: Extra = {}): Buffer => frame({ ...o, opcode: OP.BINARY, payload });
export const cont = (payload: string | Uint8Array, o: Extra = {}): Buffer => frame({ ...o, opcode: OP.CONT, payload });
export const ping = (payload: string | Uint8Array = '', o: Extra = {}): Buffer => frame({ ...o, opcode: OP.PING, payload });
export const pong = (payload: string | Uint8Array = '', o: Extra = {}): Buffer => frame({ ...o, opcode: OP.PONG, payload });
/** A close frame; `close()` has an empty body, `close(1000, 'bye')` a code and reason. */
export const close = (code?: number, reason: string | Uint8Array = '', o: Extra = {}): Buffer =>
  frame({ ...o, opcode: OP.CLOSE, payload: closePayload(code, reason) });

/** Body of a close frame (§5.5.1): 2-byte code, then the UTF-8 reason. No code → empty body. */
export function closePayload(code?: number, reason: string | Uint8Array = ''): Buffer {
  if (code === undefined) {
    assert.equal(toBytes(reason).length, 0, 'a close reason needs a code in front of it');
    return Buffer.alloc(0);
  }
  const head = Buffer.alloc(2);
  head.writeUInt16BE(code, 0);
  return Buffer.concat([head, toBytes(reason)]);
}

export interface ClosePayload {
  /** Undefined when the body is empty (the peer's "1005 no status"). */
  code: number | undefined;
  reason: string;
  reasonBytes: Buffer;
}

export function parseClosePayload(payload: Buffer): ClosePayload {
  assert.notEqual(payload.length, 1, 'a close body of exactly 1 byte is malformed (§5.5.1)');
  if (payload.length === 0) return { code: undefined, reason: '', reasonBytes: Buffer.alloc(0) };
  const reasonBytes = payload.subarray(2);
  return { code: payload.readUInt16BE(0), reason: reasonBytes.toString('utf8'), reasonBytes };
}

export interface DecodedFrame {
  fin: boolean;
  rsv: number;
  opcode: number;
  masked: boolean;
  /** Already unmasked. */
  payload: Buffer;
  /** The frame's bytes exactly as they were on the wire (header included). */
  wire: Buffer;
}

/** Readable form for assertion messages: `TEXT fin 'Hello' [5 bytes]`, `CLOSE 1000 'bye'`. */
export function describeFrame(f: DecodedFrame): string {
  const names: Record<number, string> = { 0: 'CONT', 1: 'TEXT', 2: 'BINARY', 8: 'CLOSE', 9: 'PING', 10: 'PONG' };
  const name = names[f.opcode] ?? `RESERVED(0x${f.opcode.toString(16)})`;
  const flags = `${f.fin ? '' : ' fin=0'}${f.rsv ? ` rsv=${f.rsv}` : ''}${f.masked ? ' masked' : ''}`;
  let body: string;
  if (f.opcode === OP.CLOSE && f.payload.length >= 2) {
    body = `${f.payload.readUInt16BE(0)} ${JSON.stringify(f.payload.subarray(2).toString('utf8'))}`;
  } else {
    const shown = f.payload.subarray(0, 40);
    body = f.opcode === OP.BINARY ? shown.toString('hex') : JSON.stringify(shown.toString('utf8'));
    if (f.payload.length > 40) body += '…';
  }
  return `${name}${flags} ${body} [${f.payload.length} bytes]`;
}

/**
 * How many bytes the frame starting at `buf[0]` occupies in total, or
 * undefined if even its header is incomplete.
 */
export function frameSize(buf: Buffer): number | undefined {
  if (buf.length < 2) return undefined;
  const masked = (buf[1] & 0x80) !== 0;
  const len7 = buf[1] & 0x7f;
  const extra = len7 === 126 ? 2 : len7 === 127 ? 8 : 0;
  const headerLength = 2 + extra + (masked ? 4 : 0);
  if (buf.length < headerLength) return undefined;
  let length: number;
  if (len7 === 126) length = buf.readUInt16BE(2);
  else if (len7 === 127) {
    const big = buf.readBigUInt64BE(2);
    if (big > BigInt(Number.MAX_SAFE_INTEGER)) throw new Error(`frame declares ${big} bytes; refusing to wait for that`);
    length = Number(big);
  } else length = len7;
  return headerLength + length;
}

/** Split a byte stream into whole frames (masked or not) and the bytes left over. */
export function decodeFrames(buf: Buffer): { frames: DecodedFrame[]; rest: Buffer } {
  const frames: DecodedFrame[] = [];
  let offset = 0;
  for (;;) {
    const view = buf.subarray(offset);
    const size = frameSize(view);
    if (size === undefined || view.length < size) break;
    const masked = (view[1] & 0x80) !== 0;
    const len7 = view[1] & 0x7f;
    const keyAt = 2 + (len7 === 126 ? 2 : len7 === 127 ? 8 : 0);
    const payloadAt = keyAt + (masked ? 4 : 0);
    const raw = view.subarray(payloadAt, size);
    frames.push({
      fin: (view[0] & 0x80) !== 0,
      rsv: (view[0] >> 4) & 0x7,
      opcode: view[0] & 0x0f,
      masked,
      payload: masked ? applyMask(raw, view.subarray(keyAt, keyAt + 4)) : Buffer.from(raw),
      wire: view.subarray(0, size),
    });
    offset += size;
  }
  return { frames, rest: buf.subarray(offset) };
}

/**
 * Parse what a server sent. §5.1: "A server MUST NOT mask any frames that it
 * sends to the client" — asserted for every frame.
 */
export function parseServerFrames(buf: Buffer): { frames: DecodedFrame[]; rest: Buffer } {
  const result = decodeFrames(buf);
  for (const f of result.frames) assert.equal(f.masked, false, `server sent a masked frame (§5.1): ${describeFrame(f)}`);
  return result;
}

/** Deterministic bytes (xorshift32), so "random" inputs are the same on every run. */
export function seededBytes(length: number, seed: number): Buffer {
  const out = Buffer.allocUnsafe(length);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < length; i++) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    out[i] = x & 0xff;
  }
  return out;
}
