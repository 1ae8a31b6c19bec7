/**
 * Test harness for the framing layer and the sans-I/O protocol core.
 *
 * - Frames are built by hand, straight from the RFC 6455 §5.2 diagram, with an
 *   independent (naive, byte-at-a-time) mask. Nothing here imports the wire
 *   code under test, so a bug there cannot be mirrored here. The builder can
 *   lie: any FIN/RSV/opcode, a declared length that differs from the payload,
 *   a non-minimal length form, a missing or unwanted mask.
 * - A recording listener turns what the protocol reports into plain events
 *   that compare with deepEqual.
 * - Feeders deliver a byte string whole, one byte at a time, split in two at
 *   every offset, or in random chunks (STYLE habit 2: "need more bytes" is a
 *   normal result). The parser unmasks in place in the chunks it is given
 *   (the transport hands them over), so every feeder works on a fresh copy.
 * - The protocol's output is parsed back into frames and checked: a server's
 *   frames must be unmasked, a client's masked (§5.1); the length must use the
 *   minimal form (§5.2); the output must end on a frame boundary.
 */
import assert from 'node:assert/strict';
import type { InternalError, ProtocolError } from '../../src/errors.js';
import { WebSocketProtocol, type ProtocolListener, type ProtocolOptions } from '../../src/protocol/protocol.js';

// ------------------------------------------------------------------ wire data

/** Opcodes as numbered by §5.2 / §11.8. Reserved opcodes are written as plain numbers in tests. */
export const OP = { CONT: 0x0, TEXT: 0x1, BINARY: 0x2, CLOSE: 0x8, PING: 0x9, PONG: 0xa } as const;

/** RSV bits as the 3-bit field of byte 0: RSV1 is the high bit. */
export const RSV1 = 0b100;
export const RSV2 = 0b010;
export const RSV3 = 0b001;

/** The masking key of the RFC's own examples (§5.7). */
export const RFC_KEY: Readonly<Uint8Array> = Uint8Array.of(0x37, 0xfa, 0x21, 0x3d);

/** The upgrade request of RFC 6455 §1.2. */
export const RFC_UPGRADE_REQUEST =
  'GET /chat HTTP/1.1\r\n' +
  'Host: server.example.com\r\n' +
  'Upgrade: websocket\r\n' +
  'Connection: Upgrade\r\n' +
  'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n' +
  'Origin: http://example.com\r\n' +
  'Sec-WebSocket-Protocol: chat, superchat\r\n' +
  'Sec-WebSocket-Version: 13\r\n' +
  '\r\n';

/** `"81 05 48 65"` (spaces, `0x` prefixes and newlines allowed) → bytes. */
export function hex(text: string): Buffer {
  const clean = text.replace(/0x/gi, '').replace(/[\s,]+/g, '');
  assert.ok(/^([0-9a-f]{2})*$/i.test(clean), `not a hex byte string: ${text}`);
  return Buffer.from(clean, 'hex');
}

/** Bytes → `"81 05 48"`, for readable assertion messages. */
export function toHex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).toString('hex').replace(/(..)(?!$)/g, '$1 ');
}

/**
 * Reference masking (§5.3): "octet i of the transformed data is the XOR of
 * octet i of the original data with octet at index i modulo 4 of the masking
 * key", starting at octet `phase` of the key. Returns a new buffer.
 */
export function naiveMask(data: Uint8Array, key: Uint8Array, phase = 0): Buffer {
  const out = Buffer.alloc(data.length);
  for (let i = 0; i < data.length; i++) out[i] = data[i] ^ key[(phase + i) % 4];
  return out;
}

function toBytes(payload: string | Uint8Array | undefined): Buffer {
  if (payload === undefined) return Buffer.alloc(0);
  if (typeof payload === 'string') return Buffer.from(payload, 'utf8');
  return Buffer.from(payload.buffer, payload.byteOffset, payload.length);
}

export interface FrameSpec {
  opcode: number;
  /** Strings are UTF-8 encoded. Default: empty. */
  payload?: string | Uint8Array;
  /** Default true. */
  fin?: boolean;
  /** The 3 RSV bits (see RSV1..RSV3). Default 0. */
  rsv?: number;
  /** The masking key, or null for an unmasked frame. */
  mask: Uint8Array | null;
  /** Length to declare in the header (a lie if it differs from the payload's). */
  length?: number | bigint;
  /** Force a length form (default: the minimal one for the declared length). */
  lengthForm?: 7 | 16 | 64;
}

/** Just the header of a frame as the spec describes it. */
export function frameHeader(spec: FrameSpec, payloadLength: number): Buffer {
  const { opcode, fin = true, rsv = 0, mask } = spec;
  assert.ok(opcode >= 0 && opcode <= 15 && rsv >= 0 && rsv <= 7);
  const declared = BigInt(spec.length ?? payloadLength);
  const form = spec.lengthForm ?? (declared <= 125n ? 7 : declared <= 0xffffn ? 16 : 64);
  assert.ok(form !== 7 || declared <= 127n, '7-bit form cannot hold the length');
  assert.ok(form !== 16 || declared <= 0xffffn, '16-bit form cannot hold the length');
  assert.ok(declared < 1n << 64n);
  if (mask !== null) assert.equal(mask.length, 4, 'a masking key has 4 bytes');
  const extra = form === 7 ? 0 : form === 16 ? 2 : 8;
  const header = Buffer.alloc(2 + extra + (mask === null ? 0 : 4));
  header[0] = (fin ? 0x80 : 0) | (rsv << 4) | opcode;
  header[1] = (mask === null ? 0 : 0x80) | (form === 7 ? Number(declared) : form === 16 ? 126 : 127);
  if (form === 16) header.writeUInt16BE(Number(declared), 2);
  if (form === 64) header.writeBigUInt64BE(declared, 2);
  if (mask !== null) header.set(mask, 2 + extra);
  return header;
}

/** One frame, header and (masked) payload, exactly as specified. */
export function buildFrame(spec: FrameSpec): Buffer {
  const payload = toBytes(spec.payload);
  const header = frameHeader(spec, payload.length);
  return Buffer.concat([header, spec.mask === null ? payload : naiveMask(payload, spec.mask)]);
}

type ClientExtra = Partial<Omit<FrameSpec, 'opcode' | 'payload'>>;

/** A frame as a client sends it: masked with `extra.mask` (default: the RFC's key 37 fa 21 3d). */
export function clientFrame(opcode: number, payload: string | Uint8Array = '', extra: ClientExtra = {}): Buffer {
  return buildFrame({ mask: RFC_KEY, ...extra, opcode, payload });
}

/** A frame as a server sends it: unmasked. */
export function serverFrame(opcode: number, payload: string | Uint8Array = '', extra: ClientExtra = {}): Buffer {
  return buildFrame({ mask: null, ...extra, opcode, payload });
}

/** Close body (§5.5.1): 2-byte code then the reason; no code → empty body. Reason may be raw bytes. */
export function closeBody(code?: number, reason: string | Uint8Array = ''): Buffer {
  if (code === undefined) return Buffer.alloc(0);
  const head = Buffer.alloc(2);
  head.writeUInt16BE(code, 0);
  return Buffer.concat([head, toBytes(reason)]);
}

// ------------------------------------------------------------------ recording

/** What the listener reported, as plain data. */
export type ProtocolEvent =
  | { type: 'text'; text: string }
  | { type: 'binary'; data: Buffer }
  | { type: 'ping'; data: Buffer }
  | { type: 'pong'; data: Buffer }
  | { type: 'close'; code: number; reason: string }
  | { type: 'error'; code: string; closeCode: number; rfcSection: string }
  | { type: 'internal-error'; cause: unknown };

/**
 * A listener that records every event. Buffers are kept as given (not
 * copied): the listener contract says they are the caller's to keep, so a
 * later overwrite would show up as a wrong event.
 */
export class RecordingListener implements ProtocolListener {
  readonly events: ProtocolEvent[] = [];
  readonly errors: ProtocolError[] = [];
  readonly internalErrors: InternalError[] = [];
  /** Called after each event is recorded (tests use it to look at the output at that moment). */
  after: ((event: ProtocolEvent) => void) | null = null;

  private record(event: ProtocolEvent): void {
    this.events.push(event);
    this.after?.(event);
  }

  onText(text: string): void {
    this.record({ type: 'text', text });
  }
  onBinary(data: Buffer): void {
    this.record({ type: 'binary', data });
  }
  onPing(payload: Buffer): void {
    this.record({ type: 'ping', data: payload });
  }
  onPong(payload: Buffer): void {
    this.record({ type: 'pong', data: payload });
  }
  onCloseFrame(code: number, reason: string): void {
    this.record({ type: 'close', code, reason });
  }
  onProtocolError(error: ProtocolError): void {
    this.errors.push(error);
    this.record({ type: 'error', code: error.code, closeCode: error.closeCode, rfcSection: error.rfcSection });
  }
  onInternalError(error: InternalError): void {
    this.internalErrors.push(error);
    this.record({ type: 'internal-error', cause: error.cause });
  }
}

/** Events with buffers shown as hex, for deepEqual across runs and readable diffs. */
export function plainEvents(events: readonly ProtocolEvent[]): unknown[] {
  return events.map((e) => ('data' in e ? { ...e, data: e.data.toString('hex') } : { ...e }));
}

export interface Endpoint {
  protocol: WebSocketProtocol;
  listener: RecordingListener;
}

/** A protocol core (server role unless told otherwise) with a recording listener. */
export function endpoint(options: Partial<ProtocolOptions> = {}): Endpoint {
  const listener = new RecordingListener();
  const protocol = new WebSocketProtocol(listener, { role: 'server', ...options });
  return { protocol, listener };
}

/**
 * A deterministic masking-key source: key n is [seed+4n, seed+4n+1, ...] mod
 * 256, unless `keys` are given (then they are used in turn, cycling). Records
 * every key it hands out.
 */
export function deterministicKeys(keys?: readonly Uint8Array[]): { source: (target: Uint8Array) => void; issued: Buffer[] } {
  const issued: Buffer[] = [];
  let n = 0;
  const source = (target: Uint8Array): void => {
    const key = keys ? keys[n % keys.length] : Uint8Array.of((4 * n) & 255, (4 * n + 1) & 255, (4 * n + 2) & 255, (4 * n + 3) & 255);
    target.set(key.subarray(0, 4), 0);
    issued.push(Buffer.from(key.subarray(0, 4)));
    n++;
  };
  return { source, issued };
}

// -------------------------------------------------------------------- feeding

/** A small seeded PRNG (mulberry32), so random chunkings are reproducible. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Cut `wire` (copied first) at the given offsets; empty pieces are dropped. */
export function cutAt(wire: Uint8Array, offsets: readonly number[]): Buffer[] {
  const copy = Buffer.from(wire);
  const points = [...new Set([0, ...offsets.filter((o) => o > 0 && o < copy.length), copy.length])].sort((a, b) => a - b);
  const pieces: Buffer[] = [];
  for (let i = 0; i + 1 < points.length; i++) pieces.push(copy.subarray(points[i], points[i + 1]));
  return pieces;
}

/** The whole byte string as one chunk (a copy). */
export function whole(wire: Uint8Array): Buffer[] {
  return [Buffer.from(wire)];
}

/** One chunk per byte (views into one copy: each byte is handed over once). */
export function bytewise(wire: Uint8Array): Buffer[] {
  const copy = Buffer.from(wire);
  const pieces: Buffer[] = [];
  for (let i = 0; i < copy.length; i++) pieces.push(copy.subarray(i, i + 1));
  return pieces;
}

/** Random chunks of 1..maxChunk bytes, reproducible from `seed`. */
export function randomChunks(wire: Uint8Array, seed: number, maxChunk = 64): Buffer[] {
  const random = seededRandom(seed);
  const offsets: number[] = [];
  for (let o = 0; o < wire.length; ) {
    o += 1 + Math.floor(random() * maxChunk);
    offsets.push(o);
  }
  return cutAt(wire, offsets);
}

export interface Chunking {
  name: string;
  chunks: Buffer[];
}

/**
 * The standard set of ways to deliver a byte string: whole, one byte at a
 * time, split in two at every offset (only at `splitOffsets` if given, for
 * long inputs), and a few random chunkings.
 */
export function* chunkings(wire: Uint8Array, splitOffsets?: readonly number[]): Generator<Chunking> {
  yield { name: 'whole', chunks: whole(wire) };
  yield { name: 'byte by byte', chunks: bytewise(wire) };
  const offsets = splitOffsets ?? Array.from({ length: Math.max(0, wire.length - 1) }, (_, i) => i + 1);
  for (const offset of offsets) yield { name: `split at ${offset}`, chunks: cutAt(wire, [offset]) };
  for (const seed of [1, 2, 3]) yield { name: `random chunks (seed ${seed})`, chunks: randomChunks(wire, seed, 7) };
}

/**
 * Feed every chunk to the protocol, in order, the way a transport does: when
 * a call keeps input back (its turn budget is used up), go on with
 * resumeInput() before the next chunk.
 */
export function feed(protocol: WebSocketProtocol, chunks: readonly Buffer[]): void {
  for (const chunk of chunks) {
    protocol.receiveData(chunk);
    while (protocol.hasPendingInput && !protocol.waitingForExtension) protocol.resumeInput();
  }
}

/** Run `wire` through a fresh endpoint in the given chunks; returns the endpoint and its parsed output. */
export function run(chunks: readonly Buffer[], options: Partial<ProtocolOptions> = {}): Endpoint & { output: WireFrame[] } {
  const ep = endpoint(options);
  feed(ep.protocol, chunks);
  return { ...ep, output: takeFrames(ep.protocol) };
}

// --------------------------------------------------------------------- output

export interface WireFrame {
  fin: boolean;
  rsv: number;
  opcode: number;
  /** The masking key, or null for an unmasked frame. */
  maskKey: Buffer | null;
  /** Unmasked payload. */
  payload: Buffer;
  /** The frame's bytes as they were on the wire. */
  wire: Buffer;
}

/**
 * Parse a byte stream of whole frames. `from` is who sent them: a server's
 * frames must be unmasked, a client's masked (§5.1). Fails the test on a
 * partial trailing frame or a non-minimal length (§5.2).
 */
export function parseFrames(stream: Buffer, from: 'server' | 'client'): WireFrame[] {
  const frames: WireFrame[] = [];
  let o = 0;
  while (o < stream.length) {
    assert.ok(stream.length - o >= 2, `output ends inside a frame header at ${o}`);
    const b0 = stream[o];
    const b1 = stream[o + 1];
    const masked = (b1 & 0x80) !== 0;
    const len7 = b1 & 0x7f;
    let p = o + 2;
    let length = len7;
    if (len7 === 126) {
      assert.ok(stream.length >= p + 2, 'output ends inside a 16-bit length');
      length = stream.readUInt16BE(p);
      assert.ok(length >= 126, `16-bit length form used for ${length} bytes (not minimal, §5.2)`);
      p += 2;
    } else if (len7 === 127) {
      assert.ok(stream.length >= p + 8, 'output ends inside a 64-bit length');
      const big = stream.readBigUInt64BE(p);
      assert.ok(big >= 65536n, `64-bit length form used for ${big} bytes (not minimal, §5.2)`);
      assert.ok(big <= BigInt(Number.MAX_SAFE_INTEGER));
      length = Number(big);
      p += 8;
    }
    assert.equal(masked, from === 'client', `${from} frame at ${o} is ${masked ? '' : 'not '}masked (§5.1)`);
    let maskKey: Buffer | null = null;
    if (masked) {
      assert.ok(stream.length >= p + 4, 'output ends inside a masking key');
      maskKey = Buffer.from(stream.subarray(p, p + 4));
      p += 4;
    }
    assert.ok(stream.length >= p + length, `output ends inside a frame payload (${stream.length - p} of ${length} bytes)`);
    const raw = stream.subarray(p, p + length);
    frames.push({
      fin: (b0 & 0x80) !== 0,
      rsv: (b0 >> 4) & 7,
      opcode: b0 & 0x0f,
      maskKey,
      payload: maskKey === null ? Buffer.from(raw) : naiveMask(raw, maskKey),
      wire: Buffer.from(stream.subarray(o, p + length)),
    });
    o = p + length;
  }
  return frames;
}

/** Drain the protocol's output and parse it (frames sent by its role). */
export function takeFrames(protocol: WebSocketProtocol): WireFrame[] {
  return parseFrames(Buffer.concat(protocol.takeOutput()), protocol.role);
}

/** Readable one-line form: `TEXT 'Hello'`, `CONT fin=0 …`, `CLOSE 1002 'reason'`, `PONG 48656c6c6f`. */
export function describeFrame(f: WireFrame): string {
  const names: Record<number, string> = { 0: 'CONT', 1: 'TEXT', 2: 'BINARY', 8: 'CLOSE', 9: 'PING', 10: 'PONG' };
  const name = names[f.opcode] ?? `RESERVED(0x${f.opcode.toString(16)})`;
  const flags = `${f.fin ? '' : ' fin=0'}${f.rsv ? ` rsv=${f.rsv}` : ''}`;
  let body: string;
  if (f.opcode === OP.CLOSE) {
    body = f.payload.length >= 2 ? `${f.payload.readUInt16BE(0)} ${JSON.stringify(f.payload.subarray(2).toString('utf8'))}` : `(empty)`;
  } else if (f.opcode === OP.TEXT) {
    body = JSON.stringify(f.payload.toString('utf8'));
  } else {
    body = f.payload.toString('hex');
  }
  return `${name}${flags} ${body}`;
}

/** The close code and reason of a close frame (undefined code for an empty body). */
export function closeOf(f: WireFrame): { code: number | undefined; reason: string } {
  assert.equal(f.opcode, OP.CLOSE, `expected a CLOSE frame, got ${describeFrame(f)}`);
  assert.notEqual(f.payload.length, 1, 'a close body of 1 byte is malformed');
  if (f.payload.length === 0) return { code: undefined, reason: '' };
  return { code: f.payload.readUInt16BE(0), reason: f.payload.subarray(2).toString('utf8') };
}
