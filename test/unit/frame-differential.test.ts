/**
 * Differential tests: the fast frame codec of src/framing/ against the
 * reference codec of test/helpers/reference-codec.ts, written straight from
 * RFC 6455 §5.2 with no speed tricks.
 *
 * Decoding: the same random byte streams (valid frames, frames that break a
 * rule, length fields that lie, corrupted and truncated streams), fed to
 * FrameParser in random chunks (down to one byte at a time) and to the
 * reference whole, must give the same frames, the same partial frame at the
 * end, and the same close code for the first rule broken.
 *
 * Encoding: FrameWriter (header slide, short-text loop, shared slab, copy
 * threshold, masking while copying) and encodeFrame() must produce exactly
 * the reference's bytes, at every boundary of the length forms, masked and
 * unmasked.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { encodeFrame } from '../../src/framing/frame-encoder.js';
import { DESTINATION_MIN, FrameParser, type FrameSink } from '../../src/framing/frame-parser.js';
import { COPY_THRESHOLD, FrameWriter } from '../../src/framing/frame-writer.js';
import { ProtocolError } from '../../src/errors.js';
import { frame as buildFrame } from '../helpers/frames.js';
import { bytewise, cutAt, deterministicKeys, seededRandom, whole } from '../helpers/protocol-harness.js';
import {
  MESSAGE_TOO_BIG,
  PROTOCOL_ERROR,
  referenceDecode,
  referenceEncode,
  type ReferenceDecodeOptions,
  type ReferenceDecodeResult,
  type ReferenceFrame,
} from '../helpers/reference-codec.js';

// ------------------------------------------------------------------ decoding

/**
 * Run FrameParser over `chunks` and collect what it reported in the
 * reference's shape. `useDestination`: the sink asks to receive large masked
 * pieces in a buffer of its own (the unmask-while-copying path).
 */
function fastDecode(chunks: readonly Buffer[], options: ReferenceDecodeOptions, useDestination: boolean): ReferenceDecodeResult {
  const frames: ReferenceFrame[] = [];
  let current: { fin: boolean; rsv: number; opcode: number; pieces: Buffer[] } | null = null;
  const sink: FrameSink = {
    frameStart(fin, rsv, opcode) {
      assert.equal(current, null, 'frameStart() inside a frame');
      current = { fin, rsv, opcode, pieces: [] };
    },
    framePayload(data, start, end) {
      assert.ok(current !== null, 'framePayload() outside a frame');
      current.pieces.push(Buffer.from(data.subarray(start, end)));
    },
    frameEnd() {
      assert.ok(current !== null, 'frameEnd() outside a frame');
      frames.push({ fin: current.fin, rsv: current.rsv, opcode: current.opcode, payload: Buffer.concat(current.pieces) });
      current = null;
    },
  };
  if (useDestination) {
    sink.payloadDestination = (length) => {
      assert.ok(length >= DESTINATION_MIN);
      return Buffer.alloc(length);
    };
  }
  const parser = new FrameParser(sink, { role: options.role, maxFrameSize: options.maxFrameSize, allowedRsv: options.allowedRsv ?? 0 });
  let error: ReferenceDecodeResult['error'] = null;
  try {
    for (const chunk of chunks) {
      const consumed = parser.push(chunk);
      assert.equal(consumed, chunk.length, 'push() consumes the whole chunk (nobody asked it to stop)');
    }
  } catch (thrown) {
    if (!(thrown instanceof ProtocolError)) throw thrown;
    error = { rule: `${thrown.code}: ${thrown.message}`, closeCode: thrown.closeCode };
  }
  const partial = current as { fin: boolean; rsv: number; opcode: number; pieces: Buffer[] } | null;
  return {
    frames,
    partial: partial === null ? null : { fin: partial.fin, rsv: partial.rsv, opcode: partial.opcode, payload: Buffer.concat(partial.pieces) },
    error,
  };
}

/** Compare the fast parser's result with the reference's: frames, partial frame, close code. */
function assertSameDecoding(fast: ReferenceDecodeResult, reference: ReferenceDecodeResult, context: string): void {
  assert.equal(fast.frames.length, reference.frames.length, `${context}: number of frames (fast error: ${fast.error?.rule}, reference error: ${reference.error?.rule})`);
  for (let i = 0; i < reference.frames.length; i++) {
    assert.deepEqual(fast.frames[i], reference.frames[i], `${context}: frame ${i}`);
  }
  assert.deepEqual(fast.partial, reference.partial, `${context}: the frame the stream ends inside`);
  assert.equal(fast.error?.closeCode ?? null, reference.error?.closeCode ?? null, `${context}: close code (fast: ${fast.error?.rule ?? 'none'}; reference: ${reference.error?.rule ?? 'none'})`);
}

/** A frame to put in a stream: mostly well-formed for the role, sometimes not. */
interface FrameRecipe {
  opcode: number;
  fin: boolean;
  rsv: number;
  /** Mask it against the role's rule (§5.1). */
  wrongMasking: boolean;
  /**
   * Keep every field as drawn, whatever rule it breaks. Otherwise the frame
   * is made valid for the options (defined opcode, RSV bits the extension
   * allows, masking as the role wants, control frames whole and ≤ 125 bytes),
   * so that most streams run long.
   */
  breaksRules: boolean;
  maskKey: Uint8Array;
  payloadLength: number;
  payloadSeed: number;
  /** How the length is written: minimal, a longer form, or a lie (declared ≠ actual). */
  lengthForm: 'minimal' | 16 | 64 | 'lie';
  /** For 'lie': the declared 64-bit length. */
  declared: bigint;
}

const frameRecipe: fc.Arbitrary<FrameRecipe> = fc.record({
  opcode: fc.oneof({ weight: 10, arbitrary: fc.constantFrom(0x0, 0x1, 0x2, 0x8, 0x9, 0xa) }, { weight: 1, arbitrary: fc.integer({ min: 0, max: 15 }) }),
  fin: fc.oneof({ weight: 4, arbitrary: fc.constant(true) }, { weight: 1, arbitrary: fc.constant(false) }),
  rsv: fc.oneof({ weight: 6, arbitrary: fc.constant(0) }, { weight: 3, arbitrary: fc.constant(0b100) }, { weight: 1, arbitrary: fc.integer({ min: 0, max: 7 }) }),
  wrongMasking: fc.oneof({ weight: 6, arbitrary: fc.constant(false) }, { weight: 1, arbitrary: fc.constant(true) }),
  breaksRules: fc.oneof({ weight: 25, arbitrary: fc.constant(false) }, { weight: 1, arbitrary: fc.constant(true) }),
  maskKey: fc.uint8Array({ minLength: 4, maxLength: 4 }),
  payloadLength: fc.oneof(
    { weight: 10, arbitrary: fc.integer({ min: 0, max: 130 }) },
    { weight: 3, arbitrary: fc.integer({ min: 0, max: 3000 }) },
    { weight: 2, arbitrary: fc.constantFrom(0, 125, 126, 127, 1023, 1024, 65535, 65536) },
  ),
  payloadSeed: fc.integer({ min: 1, max: 1_000_000 }),
  lengthForm: fc.oneof(
    { weight: 30, arbitrary: fc.constant('minimal' as const) },
    { weight: 2, arbitrary: fc.constantFrom(16 as const, 64 as const) },
    { weight: 1, arbitrary: fc.constant('lie' as const) },
  ),
  declared: fc.oneof(fc.bigInt({ min: 0n, max: 70_000n }), fc.bigInt({ min: 0n, max: 2n ** 64n - 1n })),
});

function payloadBytes(length: number, seed: number): Buffer {
  const random = seededRandom(seed);
  const out = Buffer.allocUnsafe(length);
  for (let i = 0; i < length; i++) out[i] = Math.floor(random() * 256);
  return out;
}

function buildRecipe(recipe: FrameRecipe, options: ReferenceDecodeOptions): Buffer {
  const valid = !recipe.breaksRules;
  const opcode = valid && ![0x0, 0x1, 0x2, 0x8, 0x9, 0xa].includes(recipe.opcode) ? recipe.opcode & 0x8 : recipe.opcode;
  const control = (opcode & 0x8) !== 0;
  const fin = valid && control ? true : recipe.fin;
  const rsv = valid ? (control ? 0 : recipe.rsv & (options.allowedRsv ?? 0)) : recipe.rsv;
  const payload = payloadBytes(valid && control ? recipe.payloadLength % 126 : recipe.payloadLength, recipe.payloadSeed);
  const masked = (options.role === 'server') !== (recipe.wrongMasking && !valid);
  let lengthForm: 7 | 16 | 64 | undefined;
  let length: bigint | undefined;
  if (recipe.lengthForm === 16 && payload.length <= 0xffff) lengthForm = 16;
  else if (recipe.lengthForm === 64) lengthForm = 64;
  else if (recipe.lengthForm === 'lie' && !valid) {
    length = recipe.declared;
    lengthForm = length <= 125n ? 7 : length <= 0xffffn ? 16 : 64;
  }
  return buildFrame({ opcode, payload, fin, rsv, mask: masked, maskKey: recipe.maskKey, length, lengthForm });
}

/** Damage done to a stream after it was built. */
interface Damage {
  /** [position as a fraction of the stream, new byte value]. */
  flips: Array<[number, number]>;
  /** Cut the stream short at this fraction (1: keep it whole). */
  keep: number;
}

const damage: fc.Arbitrary<Damage> = fc.oneof(
  { weight: 4, arbitrary: fc.constant<Damage>({ flips: [], keep: 1 }) },
  {
    weight: 1,
    arbitrary: fc.record({
      flips: fc.array(fc.tuple(fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }), fc.integer({ min: 0, max: 255 })), { maxLength: 3 }),
      keep: fc.oneof(fc.constant(1), fc.double({ min: 0, max: 1, noNaN: true })),
    }),
  },
);

function damageStream(stream: Buffer, d: Damage): Buffer {
  const out = Buffer.from(stream.subarray(0, Math.floor(stream.length * d.keep)));
  for (const [where, value] of d.flips) if (out.length > 0) out[Math.floor(where * out.length)] = value;
  return out;
}

/** How the stream reaches the fast parser. */
const chunking = fc.oneof(
  fc.constant({ kind: 'whole' as const, cuts: [] as number[] }),
  fc.constant({ kind: 'byte by byte' as const, cuts: [] as number[] }),
  fc.record({ kind: fc.constant('cut' as const), cuts: fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { maxLength: 12 }) }),
);

function chunksOf(stream: Buffer, how: { kind: 'whole' | 'byte by byte' | 'cut'; cuts: number[] }): Buffer[] {
  if (how.kind === 'whole') return whole(stream);
  if (how.kind === 'byte by byte') return bytewise(stream);
  return cutAt(stream, how.cuts.map((c) => Math.floor(c * stream.length)));
}

const decodeOptions: fc.Arbitrary<ReferenceDecodeOptions> = fc.record({
  role: fc.constantFrom('server' as const, 'client' as const),
  maxFrameSize: fc.constantFrom(0, 100, 125, 126, 1024, 65535, 65536, 1 << 20, 2 ** 53 - 1),
  allowedRsv: fc.constantFrom(0, 0b100),
});

describe('FrameParser against the reference decoder (RFC 6455 §5.2)', () => {
  it('the reference decoder itself reads the RFC\'s examples (§5.7)', () => {
    const asClient = { role: 'client' as const, maxFrameSize: 1 << 20 };
    const asServer = { role: 'server' as const, maxFrameSize: 1 << 20 };
    const hello = Buffer.from('Hello');
    const decode = (hex: string, options: ReferenceDecodeOptions): ReferenceDecodeResult => referenceDecode(Buffer.from(hex.replace(/ /g, ''), 'hex'), options);
    // "A single-frame unmasked text message"
    assert.deepEqual(decode('81 05 48 65 6c 6c 6f', asClient), { frames: [{ fin: true, rsv: 0, opcode: 1, payload: hello }], partial: null, error: null });
    // "A single-frame masked text message"
    assert.deepEqual(decode('81 85 37 fa 21 3d 7f 9f 4d 51 58', asServer).frames, [{ fin: true, rsv: 0, opcode: 1, payload: hello }]);
    // "A fragmented unmasked text message"
    assert.deepEqual(decode('01 03 48 65 6c 80 02 6c 6f', asClient).frames, [
      { fin: false, rsv: 0, opcode: 1, payload: Buffer.from('Hel') },
      { fin: true, rsv: 0, opcode: 0, payload: Buffer.from('lo') },
    ]);
    // "Unmasked Ping request and masked Ping response"
    assert.deepEqual(decode('89 05 48 65 6c 6c 6f', asClient).frames, [{ fin: true, rsv: 0, opcode: 9, payload: hello }]);
    assert.deepEqual(decode('8a 85 37 fa 21 3d 7f 9f 4d 51 58', asServer).frames, [{ fin: true, rsv: 0, opcode: 10, payload: hello }]);
    // "256 bytes binary message in a single unmasked frame" and "64KiB binary message in a single unmasked frame"
    const b256 = Buffer.concat([Buffer.from('827e0100', 'hex'), Buffer.alloc(256, 7)]);
    assert.deepEqual(referenceDecode(b256, asClient).frames, [{ fin: true, rsv: 0, opcode: 2, payload: Buffer.alloc(256, 7) }]);
    const b64k = Buffer.concat([Buffer.from('827f0000000000010000', 'hex'), Buffer.alloc(65536, 9)]);
    assert.deepEqual(referenceDecode(b64k, asClient).frames, [{ fin: true, rsv: 0, opcode: 2, payload: Buffer.alloc(65536, 9) }]);
    // And it refuses what the rules refuse.
    assert.equal(decode('81 05 48 65 6c 6c 6f', asServer).error?.closeCode, PROTOCOL_ERROR, 'unmasked frame to a server');
    assert.equal(decode('83 00', asClient).error?.closeCode, PROTOCOL_ERROR, 'reserved opcode');
    assert.equal(decode('09 00', asClient).error?.closeCode, PROTOCOL_ERROR, 'fragmented ping');
    assert.equal(decode('82 7f 80 00 00 00 00 00 00 00', asClient).error?.closeCode, PROTOCOL_ERROR, '64-bit length with its top bit set');
    assert.equal(referenceDecode(Buffer.from('82 65'.replace(/ /g, ''), 'hex'), { role: 'client', maxFrameSize: 100 }).error?.closeCode, MESSAGE_TOO_BIG, '101 bytes over a 100-byte limit');
  });

  it('fuzzed streams, random chunking: same frames, same partial frame, same close code', () => {
    const rulesSeen = new Map<number | null, number>();
    let frameCount = 0;
    fc.assert(
      fc.property(decodeOptions, fc.array(frameRecipe, { minLength: 1, maxLength: 8 }), damage, chunking, fc.boolean(), (options, recipes, d, how, useDestination) => {
        const stream = damageStream(Buffer.concat(recipes.map((r) => buildRecipe(r, options))), d);
        const reference = referenceDecode(stream, options);
        // The reference reads its own copy; the parser unmasks its chunks in place.
        const fast = fastDecode(chunksOf(stream, how), options, useDestination);
        assertSameDecoding(fast, reference, `${options.role}, ${how.kind}, ${stream.length} bytes`);
        const code = reference.error?.closeCode ?? null;
        rulesSeen.set(code, (rulesSeen.get(code) ?? 0) + 1);
        frameCount += reference.frames.length;
      }),
      { numRuns: 1500 },
    );
    if (process.env.DIFFERENTIAL_STATS) console.log({ rulesSeen, frameCount });
    // The generator really reached every outcome, not just the easy one.
    assert.ok((rulesSeen.get(null) ?? 0) > 300, `streams decoded without error: ${rulesSeen.get(null)}`);
    assert.ok((rulesSeen.get(PROTOCOL_ERROR) ?? 0) > 100, `streams failed with 1002: ${rulesSeen.get(PROTOCOL_ERROR)}`);
    assert.ok((rulesSeen.get(MESSAGE_TOO_BIG) ?? 0) > 50, `streams failed with 1009: ${rulesSeen.get(MESSAGE_TOO_BIG)}`);
    assert.ok(frameCount > 2000, `frames decoded: ${frameCount}`);
  });

  it('every single-frame rule, each alone, in every chunking of its header', () => {
    const server = { role: 'server' as const, maxFrameSize: 1000 };
    const client = { role: 'client' as const, maxFrameSize: 1000 };
    const key = Uint8Array.of(1, 2, 3, 4);
    const cases: Array<[string, Buffer, ReferenceDecodeOptions, number | null]> = [
      ['RSV1 without an extension', buildFrame({ opcode: 1, rsv: 0b100, payload: 'x', maskKey: key }), server, PROTOCOL_ERROR],
      ['RSV1 with permessage-deflate', buildFrame({ opcode: 1, rsv: 0b100, payload: 'x', maskKey: key }), { ...server, allowedRsv: 0b100 }, null],
      ['RSV2 with permessage-deflate', buildFrame({ opcode: 1, rsv: 0b010, payload: 'x', maskKey: key }), { ...server, allowedRsv: 0b100 }, PROTOCOL_ERROR],
      ['RSV1 on a ping, with permessage-deflate', buildFrame({ opcode: 9, rsv: 0b100, maskKey: key }), { ...server, allowedRsv: 0b100 }, PROTOCOL_ERROR],
      ['reserved data opcode 0x3', buildFrame({ opcode: 3, maskKey: key }), server, PROTOCOL_ERROR],
      ['reserved control opcode 0xB', buildFrame({ opcode: 0xb, maskKey: key }), server, PROTOCOL_ERROR],
      ['fragmented close', buildFrame({ opcode: 8, fin: false, maskKey: key }), server, PROTOCOL_ERROR],
      ['ping of 125 bytes', buildFrame({ opcode: 9, payload: Buffer.alloc(125, 1), maskKey: key }), server, null],
      ['ping of 126 bytes', buildFrame({ opcode: 9, payload: Buffer.alloc(126, 1), maskKey: key }), server, PROTOCOL_ERROR],
      ['ping of 5 bytes in the 16-bit form', buildFrame({ opcode: 9, payload: 'hello', lengthForm: 16, maskKey: key }), server, PROTOCOL_ERROR],
      ['unmasked frame to a server', buildFrame({ opcode: 1, payload: 'x', mask: false }), server, PROTOCOL_ERROR],
      ['masked frame to a client', buildFrame({ opcode: 1, payload: 'x', maskKey: key }), client, PROTOCOL_ERROR],
      ['64-bit length with the top bit set', buildFrame({ opcode: 2, mask: false, length: 2n ** 63n }), client, PROTOCOL_ERROR],
      ['64-bit length of 2^63 - 1', buildFrame({ opcode: 2, mask: false, length: 2n ** 63n - 1n }), client, MESSAGE_TOO_BIG],
      ['data frame of 1000 bytes at a 1000-byte limit', buildFrame({ opcode: 2, payload: Buffer.alloc(1000, 3), maskKey: key }), server, null],
      ['data frame of 1001 bytes at a 1000-byte limit', buildFrame({ opcode: 2, payload: Buffer.alloc(1001, 3), maskKey: key }), server, MESSAGE_TOO_BIG],
      ['5 bytes in the 64-bit form (accepted, as by every receiver)', buildFrame({ opcode: 1, payload: 'hello', lengthForm: 64, maskKey: key }), server, null],
    ];
    for (const [name, wire, options, closeCode] of cases) {
      const reference = referenceDecode(wire, options);
      assert.equal(reference.error?.closeCode ?? null, closeCode, `${name}: the reference decides ${reference.error?.rule ?? 'no error'}`);
      const splits = [whole(wire), bytewise(wire), ...Array.from({ length: Math.min(wire.length, 16) }, (_, i) => cutAt(wire, [i + 1]))];
      for (const chunks of splits) {
        assertSameDecoding(fastDecode(chunks, options, false), reference, `${name}, ${chunks.length} chunks`);
      }
    }
  });
});

// ------------------------------------------------------------------ encoding

/** Boundaries of the length forms (§5.2) and of the writer's own thresholds. */
const LENGTHS = [0, 1, 125, 126, 127, 1023, 1024, COPY_THRESHOLD, COPY_THRESHOLD + 1, 65535, 65536, 70000];

function pattern(length: number, salt: number): Buffer {
  const out = Buffer.allocUnsafe(length);
  for (let i = 0; i < length; i++) out[i] = (i * 7 + salt) & 0xff;
  return out;
}

describe('FrameWriter against the reference encoder (RFC 6455 §5.2, §5.3)', () => {
  it('byte payloads at every length boundary, unmasked (server) and masked (client)', () => {
    for (const role of ['server', 'client'] as const) {
      for (const length of LENGTHS) {
        for (const owned of [false, true]) {
          const keys = deterministicKeys();
          const writer = new FrameWriter(role === 'client' ? keys.source : null);
          const payload = pattern(length, length);
          const original = Buffer.from(payload);
          writer.writeFrame(0x2, payload, true, 0, owned);
          const expected = referenceEncode({ fin: true, rsv: 0, opcode: 0x2, payload: original }, role === 'client' ? keys.issued[0] : null);
          const actual = Buffer.concat(writer.take());
          assert.equal(actual.subarray(0, 14).toString('hex'), expected.subarray(0, 14).toString('hex'), `${role}, ${length} bytes, owned ${owned}: header`);
          assert.ok(actual.equals(expected), `${role}, ${length} bytes, owned ${owned}: whole frame`);
          if (!owned) assert.ok(payload.equals(original), `${role}, ${length} bytes: the caller's payload is left as it was`);
        }
      }
    }
  });

  it('text at every length boundary, ASCII and not (the header slide and the short-text loop)', () => {
    const texts: string[] = [];
    for (const length of LENGTHS) texts.push('a'.repeat(length));
    // UTF-8 lengths around the boundaries from multi-byte characters: the room left for the header (UTF-16 length × 3) is wrong by design.
    for (const length of [41, 42, 43, 64, 65, 21845, 21846]) texts.push('é'.repeat(length), '€'.repeat(length), `${'x'.repeat(length)}😀`);
    texts.push('', 'é', '😀', 'a'.repeat(63) + 'é', 'a'.repeat(64) + 'é', 'é' + 'a'.repeat(200));
    for (const role of ['server', 'client'] as const) {
      for (const text of texts) {
        const keys = deterministicKeys();
        const writer = new FrameWriter(role === 'client' ? keys.source : null);
        writer.writeTextFrame(0x1, text, true);
        const expected = referenceEncode({ fin: true, rsv: 0, opcode: 0x1, payload: Buffer.from(text, 'utf8') }, role === 'client' ? keys.issued[0] : null);
        assert.ok(Buffer.concat(writer.take()).equals(expected), `${role}, text of ${text.length} UTF-16 units, ${Buffer.byteLength(text)} bytes`);
      }
    }
  });

  it('pre-encoded frames (encodeFrame, a broadcast) are the reference\'s bytes and are queued unchanged', () => {
    for (const length of LENGTHS) {
      const payload = pattern(length, 3);
      const encoded = encodeFrame(0x2, payload, length % 2 === 0, length % 3 === 0 ? 0b100 : 0);
      const expected = referenceEncode({ fin: length % 2 === 0, rsv: length % 3 === 0 ? 0b100 : 0, opcode: 0x2, payload }, null);
      assert.ok(encoded.equals(expected), `encodeFrame, ${length} bytes`);
      const writer = new FrameWriter(null);
      writer.writeEncodedFrame(encoded);
      assert.ok(Buffer.concat(writer.take()).equals(expected), `writeEncodedFrame, ${length} bytes`);
    }
  });

  it('random interleaved writes of two connections on the shared slab: each gets exactly the reference bytes, in order', () => {
    const write = fc.record({
      connection: fc.constantFrom(0, 1),
      kind: fc.constantFrom('bytes' as const, 'text' as const, 'encoded' as const),
      opcode: fc.constantFrom(0x0, 0x1, 0x2, 0x8, 0x9, 0xa),
      fin: fc.boolean(),
      rsv: fc.constantFrom(0, 0b100),
      owned: fc.boolean(),
      length: fc.oneof({ weight: 6, arbitrary: fc.integer({ min: 0, max: 200 }) }, { weight: 1, arbitrary: fc.constantFrom(...LENGTHS) }),
      text: fc.string({ unit: 'grapheme', maxLength: 80 }),
    });
    fc.assert(
      fc.property(fc.constantFrom('server' as const, 'client' as const), fc.array(write, { minLength: 1, maxLength: 40 }), (role, writes) => {
        const keys = [deterministicKeys(), deterministicKeys()];
        const writers = keys.map((k) => new FrameWriter(role === 'client' ? k.source : null));
        const expected: Buffer[][] = [[], []];
        for (const w of writes) {
          const writer = writers[w.connection];
          const issued = keys[w.connection].issued;
          if (w.kind === 'text') {
            writer.writeTextFrame(w.opcode, w.text, w.fin);
            expected[w.connection].push(referenceEncode({ fin: w.fin, rsv: 0, opcode: w.opcode, payload: Buffer.from(w.text, 'utf8') }, role === 'client' ? issued[issued.length - 1] : null));
          } else if (w.kind === 'bytes') {
            const payload = pattern(w.length, w.length + w.opcode);
            writer.writeFrame(w.opcode, payload, w.fin, w.rsv, w.owned);
            expected[w.connection].push(referenceEncode({ fin: w.fin, rsv: w.rsv, opcode: w.opcode, payload: pattern(w.length, w.length + w.opcode) }, role === 'client' ? issued[issued.length - 1] : null));
          } else if (role === 'server') {
            const frame = referenceEncode({ fin: w.fin, rsv: w.rsv, opcode: w.opcode, payload: pattern(w.length, 1) }, null);
            writer.writeEncodedFrame(frame);
            expected[w.connection].push(frame);
          }
        }
        for (const c of [0, 1]) {
          assert.equal(writers[c].bytes, Buffer.concat(expected[c]).length, `connection ${c}: bytes queued`);
          assert.ok(Buffer.concat(writers[c].take()).equals(Buffer.concat(expected[c])), `connection ${c}: its frames, in order`);
          assert.equal(writers[c].bytes, 0);
        }
      }),
      { numRuns: 300 },
    );
  });
});
