/**
 * Payload masking (RFC 6455 §5.3): "Octet i of the transformed data is the
 * XOR of octet i of the original data with octet at index i modulo 4 of the
 * masking key." applyMask has three paths (byte-wise below 64 bytes, word-wise
 * with an alignment head above, the WebAssembly SIMD kernel from 1 KiB); all
 * are checked against a naive reference at every length, alignment and phase
 * that can tell them apart. The kernel itself: mask-simd.test.ts.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { applyMask, applyMaskPortable, copyWithMask } from '../../src/framing/mask.js';
import { RFC_KEY, hex, naiveMask, seededRandom } from '../helpers/protocol-harness.js';

/** Bytes 0, 1, 2, ... so a misplaced byte never XORs back to the right value by accident. */
function pattern(length: number, salt = 0): Uint8Array {
  const bytes = new Uint8Array(length);
  for (let i = 0; i < length; i++) bytes[i] = (i * 7 + salt) & 0xff;
  return bytes;
}

/** A key whose four bytes all differ, so a wrong phase always shows. */
const KEY = Uint8Array.of(0x37, 0xfa, 0x21, 0x3d);

type MaskFunction = typeof applyMask;

/**
 * `mask` on a view at byteOffset 0..offsets-1 of a larger buffer, at every
 * phase, equals the reference, returns the next phase and touches nothing
 * outside the range (guard bytes on both sides).
 */
function checkAgainstReference(mask: MaskFunction, lengths: number[], offsets: number): void {
  const GUARD = 0xa5;
  for (const length of lengths) {
    const original = pattern(length, length * 13);
    for (let offset = 0; offset < offsets; offset++) {
      for (let phase = 0; phase < 4; phase++) {
        const backing = new Uint8Array(offset + length + 8).fill(GUARD);
        const data = new Uint8Array(backing.buffer, offset, length);
        data.set(original);
        const next = mask(data, 0, length, KEY, phase);
        const where = `length ${length}, byteOffset ${offset}, phase ${phase}`;
        assert.ok(Buffer.from(data).equals(naiveMask(original, KEY, phase)), where);
        assert.equal(next, (phase + length) % 4, `${where}: returned phase`);
        for (let i = 0; i < offset; i++) assert.equal(backing[i], GUARD, `${where}: wrote before the range`);
        for (let i = offset + length; i < backing.length; i++) assert.equal(backing[i], GUARD, `${where}: wrote past the range`);
      }
    }
  }
}

describe('applyMask (§5.3)', () => {
  it('masks the RFC §5.7 example "Hello" with key 37 fa 21 3d', () => {
    const data = Buffer.from('Hello');
    const phase = applyMask(data, 0, data.length, RFC_KEY, 0);
    assert.deepEqual(data, hex('7f 9f 4d 51 58'));
    assert.equal(phase, 1);
  });

  it('is an involution: masking twice gives back the original (every length 0..300)', () => {
    for (let length = 0; length <= 300; length++) {
      const original = pattern(length, length);
      const data = Uint8Array.from(original);
      applyMask(data, 0, length, KEY, 0);
      if (length > 0) assert.notDeepEqual(data, original, `length ${length}: masking changed nothing`);
      applyMask(data, 0, length, KEY, 0);
      assert.deepEqual(data, original, `length ${length}`);
    }
  });

  it('word-wise and byte-wise paths agree with the reference: every length 0..300 × byteOffset 0..7 × phase 0..3', () => {
    checkAgainstReference(applyMask, Array.from({ length: 301 }, (_, i) => i), 8);
  });

  it('the portable path alone agrees with the reference at lengths where applyMask would use SIMD', () => {
    checkAgainstReference(applyMaskPortable, [1023, 1024, 1025, 1031, 4099, 65536, 65539], 4);
  });

  it('the SIMD path agrees with the reference around its threshold and its 64 KiB piece size', () => {
    checkAgainstReference(applyMask, [1020, 1023, 1024, 1025, 1026, 1027, 1028, 2053, 65535, 65536, 65537, 65540, 131075, 200003], 8);
  });

  it('masks only data[start, end): every start 0..7 in an aligned buffer, lengths around the 64-byte switch', () => {
    for (const length of [0, 1, 3, 4, 5, 62, 63, 64, 65, 66, 67, 68, 127, 128, 129, 255, 256, 257, 1023, 1024, 1025, 65537]) {
      for (let start = 0; start < 8; start++) {
        for (let phase = 0; phase < 4; phase++) {
          const total = start + length + 5;
          const original = pattern(total, 3);
          const data = Uint8Array.from(original);
          const next = applyMask(data, start, start + length, KEY, phase);
          const expected = Uint8Array.from(original);
          expected.set(naiveMask(original.subarray(start, start + length), KEY, phase), start);
          assert.deepEqual(data, expected, `start ${start}, length ${length}, phase ${phase}`);
          assert.equal(next, (phase + length) & 3);
        }
      }
    }
  });

  it('a phase above 3 is taken modulo 4', () => {
    const a = pattern(100);
    const b = Uint8Array.from(a);
    assert.equal(applyMask(a, 0, 100, KEY, 6), (6 + 100) % 4);
    applyMask(b, 0, 100, KEY, 2);
    assert.deepEqual(a, b);
  });

  it('works on a subarray of a Buffer (byteOffset not a multiple of 4)', () => {
    const parent = Buffer.from(pattern(203, 9));
    for (const skip of [1, 2, 3]) {
      const data = Buffer.from(parent).subarray(skip);
      const copy = Buffer.from(data);
      applyMask(data, 0, data.length, KEY, 1);
      assert.deepEqual(data, naiveMask(copy, KEY, 1), `skip ${skip}`);
    }
  });

  it('unmasking in several pieces (phase carried over) equals unmasking in one go', () => {
    const random = seededRandom(42);
    for (let trial = 0; trial < 200; trial++) {
      const length = Math.floor(random() * (trial % 10 === 0 ? 150_000 : 3000));
      const original = pattern(length, trial);
      const oneShot = Uint8Array.from(original);
      applyMask(oneShot, 0, length, KEY, 0);
      const pieces = Uint8Array.from(original);
      let phase = 0;
      for (let start = 0; start < length; ) {
        // Mix pieces below and above the word-wise and SIMD thresholds.
        const draw = random();
        const size = Math.floor(random() * (draw < 0.4 ? 8 : draw < 0.8 ? 300 : draw < 0.95 ? 3000 : 70_000));
        const end = Math.min(length, start + size);
        phase = applyMask(pieces, start, end, KEY, phase);
        start = end;
      }
      assert.deepEqual(pieces, oneShot, `trial ${trial} (length ${length})`);
      assert.equal(phase, length & 3);
    }
  });

  it('property: any data, key, range and split points agree with the reference', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 3000 }),
        fc.uint8Array({ minLength: 4, maxLength: 4 }),
        fc.nat({ max: 7 }),
        fc.array(fc.nat({ max: 3000 }), { maxLength: 6 }),
        (data, key, offset, cuts) => {
          const backing = new Uint8Array(offset + data.length);
          const view = new Uint8Array(backing.buffer, offset, data.length);
          view.set(data);
          const points = [...new Set([0, ...cuts.filter((c) => c < data.length), data.length])].sort((a, b) => a - b);
          let phase = 0;
          for (let i = 0; i + 1 < points.length; i++) phase = applyMask(view, points[i], points[i + 1], key, phase);
          assert.deepEqual(Buffer.from(view), naiveMask(data, key, 0));
          assert.equal(phase, data.length % 4);
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe('copyWithMask (§5.3, (un)masking while copying)', () => {
  it('writes the unmasked bytes into the target, leaves the source as it was, touches nothing else', () => {
    const GUARD = 0x5c;
    const lengths = [...Array.from({ length: 70 }, (_, i) => i), 1023, 1024, 1025, 4099, 65536, 65537, 131075];
    for (const length of lengths) {
      for (const [sourceStart, targetStart] of [[0, 0], [3, 1], [5, 6]]) {
        for (let phase = 0; phase < 4; phase++) {
          const source = Buffer.from(pattern(sourceStart + length + 2, length));
          const before = Buffer.from(source);
          const target = Buffer.alloc(targetStart + length + 4, GUARD);
          const next = copyWithMask(source, sourceStart, sourceStart + length, target, targetStart, KEY, phase);
          const where = `length ${length}, source at ${sourceStart}, target at ${targetStart}, phase ${phase}`;
          assert.ok(target.subarray(targetStart, targetStart + length).equals(naiveMask(before.subarray(sourceStart, sourceStart + length), KEY, phase)), where);
          assert.equal(next, (phase + length) & 3, `${where}: returned phase`);
          assert.ok(source.equals(before), `${where}: the source changed`);
          assert.ok(target.subarray(0, targetStart).every((b) => b === GUARD), `${where}: wrote before the range`);
          assert.ok(target.subarray(targetStart + length).every((b) => b === GUARD), `${where}: wrote past the range`);
        }
      }
    }
  });
});
