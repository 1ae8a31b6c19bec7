/**
 * Tests for src/utf8/utf8-validator.ts: strict, incremental UTF-8 validation
 * (RFC 3629 §4, required by RFC 6455 §8.1 for text messages and close reasons).
 *
 * Every vector is fed whole, split in two at every offset, and one byte at a
 * time, and the failure must be reported by the write() holding the first bad
 * byte: writes that end before it return true, that write and all later ones
 * return false. Each is also fed in the middle of long text, so that writes
 * cross UTF8_NATIVE_THRESHOLD and take the `buffer.isUtf8` path, and through
 * write(bytes, start, end) on a buffer whose bytes outside the range are 0xFF.
 *
 * Vectors follow RFC 3629 §4 and Markus Kuhn's UTF-8 decoder stress test, as
 * Autobahn|Testsuite's case group 6 does. The property tests compare against
 * a fatal WHATWG TextDecoder, which in streaming mode also rejects at the
 * first byte that cannot lead to valid UTF-8.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire, syncBuiltinESMExports } from 'node:module';
import fc from 'fast-check';
import { Utf8Validator, isValidUtf8, UTF8_NATIVE_THRESHOLD } from '../../src/utf8/utf8-validator.js';
import { LocalError } from '../../src/errors.js';

// ---------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------

/** `'ed a0 80'` → bytes. */
function hex(s: string): Uint8Array {
  const t = s.trim();
  return t === '' ? new Uint8Array(0) : Uint8Array.from(t.split(/\s+/), (x) => parseInt(x, 16));
}

function toHex(b: Uint8Array): string {
  return Buffer.from(b).toString('hex').replace(/(..)(?!$)/g, '$1 ');
}

function concat(...parts: Uint8Array[]): Uint8Array {
  return new Uint8Array(Buffer.concat(parts));
}

const utf8 = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, 'utf8'));

/** Oracle: does a fatal WHATWG decoder accept the whole input? */
function decodesStrictly(bytes: Uint8Array): boolean {
  try {
    new TextDecoder('utf-8', { fatal: true }).decode(bytes);
    return true;
  } catch {
    return false;
  }
}

/** Oracle: index of the first byte a fatal streaming decoder rejects, or -1. */
function decoderFailIndex(bytes: Uint8Array): number {
  const d = new TextDecoder('utf-8', { fatal: true });
  for (let i = 0; i < bytes.length; i++) {
    try {
      d.decode(bytes.subarray(i, i + 1), { stream: true });
    } catch {
      return i;
    }
  }
  return -1;
}

/**
 * What feeding `bytes` must produce.
 * failAt: index of the first invalid byte, or -1 if none (the input may still
 * be truncated). complete: does the whole input end on a boundary, validly?
 */
interface Expectation {
  failAt: number;
  complete: boolean;
}

/** Is bytes[0, k) valid and complete, given bytes has no invalid byte before k? */
function prefixComplete(bytes: Uint8Array, k: number): boolean {
  return decodesStrictly(bytes.subarray(0, k));
}

/**
 * Feed `bytes` in the chunks delimited by `cuts` (sorted offsets, 0 and
 * bytes.length implied) and check every write() result and the state after it.
 * Chunks are passed as write(container, start, end) where the container is a
 * Buffer at a non-zero byteOffset of its ArrayBuffer (as Buffers from Node's
 * pool are) with 0xFF guard bytes around the input, so a read outside the
 * range, or a view made at the wrong offset on the native path, would show.
 */
function feed(bytes: Uint8Array, cuts: readonly number[], exp: Expectation, native: boolean, label: string): void {
  const GUARD = 3;
  const OFFSET = 7;
  const backing = new Uint8Array(OFFSET + bytes.length + 2 * GUARD).fill(0xff);
  const container = Buffer.from(backing.buffer, OFFSET);
  container.set(bytes, GUARD);
  const v = new Utf8Validator({ native });
  const bounds = [0, ...cuts, bytes.length];
  for (let j = 0; j + 1 < bounds.length; j++) {
    const a = bounds[j];
    const b = bounds[j + 1];
    const ok = exp.failAt < 0 || b <= exp.failAt;
    const where = `${label} native=${native} chunks=${JSON.stringify(bounds)} write [${a}, ${b})`;
    assert.equal(v.write(container, GUARD + a, GUARD + b), ok, where);
    assert.equal(v.failed, !ok, `${where}: failed`);
    assert.equal(v.isComplete(), ok && prefixComplete(bytes, b), `${where}: isComplete`);
  }
  assert.equal(v.isComplete(), exp.complete, `${label} native=${native} chunks=${JSON.stringify(bounds)}: final isComplete`);
}

/** Whole, split in two at every offset, and byte by byte; both native settings. */
function feedAllWays(bytes: Uint8Array, exp: Expectation, label: string, byteByByte = true): void {
  for (const native of [false, true]) {
    // Whole, without a range (start = 0, end = length: no view is created).
    const v = new Utf8Validator({ native });
    assert.equal(v.write(bytes), exp.failAt < 0, `${label} native=${native} whole`);
    assert.equal(v.isComplete(), exp.complete, `${label} native=${native} whole: isComplete`);
    feed(bytes, [], exp, native, label);
    for (let k = 0; k <= bytes.length; k++) feed(bytes, [k], exp, native, label);
    if (byteByByte) feed(bytes, Array.from({ length: bytes.length - 1 }, (_, i) => i + 1), exp, native, label);
  }
  assert.equal(isValidUtf8(bytes), exp.complete, `${label} isValidUtf8`);
}

/**
 * Long valid text around the vectors: 2-, 3- and 4-byte characters and ASCII,
 * each part longer than the native threshold so whole writes and most split
 * writes take the native path, and splits land inside characters.
 */
const PAD = (() => {
  const unit = utf8('Grüße, κόσμε, 世界 😀 ok; ');
  const parts: Uint8Array[] = [];
  let n = 0;
  while (n < UTF8_NATIVE_THRESHOLD + 16) {
    parts.push(unit);
    n += unit.length;
  }
  return concat(...parts);
})();

interface Vector {
  hex: string;
  /** Index of the first invalid byte; omitted for inputs that never fail. */
  failAt?: number;
  /** For inputs that never fail: do they end on a boundary? Default true. */
  complete?: boolean;
  note?: string;
}

/**
 * Run a vector alone and inside long text: PAD + vector (+ PAD after it when
 * the vector is complete or fails, so the rest is valid text in the same
 * writes). Also cross-check the hand-written expectation against the decoder.
 */
function checkVector(vec: Vector): void {
  const bytes = hex(vec.hex);
  const failAt = vec.failAt ?? -1;
  const complete = failAt < 0 && (vec.complete ?? true);
  const label = `[${vec.hex}]${vec.note ? ` (${vec.note})` : ''}`;

  // The expectation itself must agree with an independent strict decoder.
  assert.equal(decoderFailIndex(bytes), failAt, `${label}: oracle fail index`);
  assert.equal(decodesStrictly(bytes), complete, `${label}: oracle validity`);

  feedAllWays(bytes, { failAt, complete }, label);

  const tail = failAt >= 0 || complete ? PAD : new Uint8Array(0);
  const padded = concat(PAD, bytes, tail);
  const paddedExp = { failAt: failAt < 0 ? -1 : PAD.length + failAt, complete };
  feedAllWays(padded, paddedExp, `PAD+${label}${tail.length ? '+PAD' : ''}`, false);
}

function vectorTests(vectors: readonly Vector[]): void {
  for (const vec of vectors) {
    const what = vec.failAt === undefined ? ((vec.complete ?? true) ? 'valid' : 'truncated') : `fails at byte ${vec.failAt}`;
    it(`${vec.hex || '(no bytes)'}${vec.note ? ` ${vec.note}` : ''}: ${what}`, () => checkVector(vec));
  }
}

// ---------------------------------------------------------------------------
// Valid input
// ---------------------------------------------------------------------------

describe('boundary code points (RFC 3629 §4 table) are valid', () => {
  const points: [number, string][] = [
    [0x0000, '00'],
    [0x007f, '7f'],
    [0x0080, 'c2 80'],
    [0x07ff, 'df bf'],
    [0x0800, 'e0 a0 80'],
    [0xd7ff, 'ed 9f bf'],
    [0xe000, 'ee 80 80'],
    [0xfffd, 'ef bf bd'],
    [0xffff, 'ef bf bf'],
    [0x10000, 'f0 90 80 80'],
    [0x10ffff, 'f4 8f bf bf'],
  ];
  for (const [cp, bytes] of points) {
    const name = `U+${cp.toString(16).toUpperCase().padStart(4, '0')}`;
    it(`${name} = ${bytes}`, () => {
      assert.equal(toHex(utf8(String.fromCodePoint(cp))), bytes, 'test table matches the encoder');
      checkVector({ hex: bytes, note: name });
      // Also between ASCII, so it follows and precedes the ASCII fast path.
      checkVector({ hex: `61 62 63 64 65 ${bytes} 7a 79 78 77 76`, note: `${name} inside ASCII` });
    });
  }
});

describe('other valid text (Autobahn group 6, Kuhn\'s UTF-8 stress test)', () => {
  vectorTests([
    { hex: '68 65 6c 6c 6f 24 77 6f 72 6c 64', note: 'hello$world' },
    { hex: '68 65 6c 6c 6f c2 a2 77 6f 72 6c 64', note: 'hello¢world' },
    { hex: '68 65 6c 6c 6f e2 82 ac 77 6f 72 6c 64', note: 'hello€world' },
    { hex: '68 65 6c 6c 6f f0 a4 ad a2 77 6f 72 6c 64', note: 'hello U+24B62 world' },
    { hex: 'ce ba e1 bd b9 cf 83 ce bc ce b5', note: 'κόσμε' },
    { hex: 'ef bf be', note: 'noncharacter U+FFFE is valid UTF-8' },
    { hex: 'f0 9f bf bf', note: 'noncharacter U+1FFFF' },
    { hex: 'f3 bf bf be', note: 'noncharacter U+FFFFE' },
    { hex: 'f4 8f bf be', note: 'noncharacter U+10FFFE' },
    { hex: 'ef bf b9 ef bf ba ef bf bb ef bf bc', note: 'specials' },
    { hex: 'ef bb bf 61', note: 'BOM is just a character' },
    { hex: 'f1 80 80 80 f3 bf bf bf', note: 'planes 4 and 15' },
    { hex: '', note: 'empty' },
  ]);

  it('every prefix of κόσμε is valid so far, and complete exactly at character ends', () => {
    const kosme = hex('ce ba e1 bd b9 cf 83 ce bc ce b5');
    const ends = new Set([0, 2, 5, 7, 9, 11]);
    for (let k = 0; k <= kosme.length; k++) {
      checkVector({ hex: toHex(kosme.subarray(0, k)), complete: ends.has(k) });
    }
  });
});

// ---------------------------------------------------------------------------
// Invalid input, each class from the brief and RFC 3629 §4
// ---------------------------------------------------------------------------

describe('overlong encodings are rejected at the first byte that proves it', () => {
  vectorTests([
    { hex: 'c0 80', failAt: 0, note: 'NUL in 2 bytes: C0 is never valid' },
    { hex: 'c0 af', failAt: 0, note: "'/' in 2 bytes" },
    { hex: 'c1 bf', failAt: 0, note: 'U+007F in 2 bytes: C1 is never valid' },
    { hex: 'e0 80 80', failAt: 1, note: 'NUL in 3 bytes: E0 80 fails at 80' },
    { hex: 'e0 80 af', failAt: 1 },
    { hex: 'e0 9f bf', failAt: 1, note: 'U+07FF in 3 bytes: E0 9F' },
    { hex: 'f0 80 80 80', failAt: 1, note: 'NUL in 4 bytes: F0 80' },
    { hex: 'f0 80 80 af', failAt: 1 },
    { hex: 'f0 8f bf bf', failAt: 1, note: 'U+FFFF in 4 bytes: F0 8F' },
    { hex: 'f8 88 80 80 80', failAt: 0, note: '5-byte form' },
    { hex: 'f8 80 80 80 af', failAt: 0, note: "'/' in 5 bytes" },
    { hex: 'fc 84 80 80 80 80', failAt: 0, note: '6-byte form' },
    { hex: 'fc 83 bf bf bf bf', failAt: 0 },
    { hex: '61 62 e0 9f', failAt: 3, note: 'overlong after ASCII' },
  ]);
});

describe('UTF-16 surrogates U+D800–DFFF (ED A0–BF) are rejected at the second byte', () => {
  vectorTests([
    { hex: 'ed a0 80', failAt: 1, note: 'U+D800' },
    { hex: 'ed ad bf', failAt: 1, note: 'U+DB7F' },
    { hex: 'ed ae 80', failAt: 1, note: 'U+DB80' },
    { hex: 'ed af bf', failAt: 1, note: 'U+DBFF' },
    { hex: 'ed b0 80', failAt: 1, note: 'U+DC00' },
    { hex: 'ed be 80', failAt: 1, note: 'U+DF80' },
    { hex: 'ed bf bf', failAt: 1, note: 'U+DFFF' },
    { hex: 'ed a0 80 ed b0 80', failAt: 1, note: 'paired U+D800 U+DC00' },
    { hex: 'ed af bf ed bf bf', failAt: 1, note: 'paired U+DBFF U+DFFF' },
    { hex: '65 64 69 74 65 64 ed a0 80', failAt: 7, note: "Autobahn's incremental case: 'edited' then U+D800" },
  ]);
});

describe('code points above U+10FFFF (F4 90+, F5–FF) are rejected', () => {
  vectorTests([
    { hex: 'f4 90 80 80', failAt: 1, note: 'U+110000: F4 90 fails at 90' },
    { hex: 'f4 bf bf bf', failAt: 1 },
    { hex: 'f5 80 80 80', failAt: 0 },
    { hex: 'f7 bf bf bf', failAt: 0, note: 'U+1FFFFF' },
    { hex: 'fb bf bf bf bf', failAt: 0 },
    { hex: 'fd bf bf bf bf bf', failAt: 0 },
    { hex: 'fe', failAt: 0 },
    { hex: 'ff', failAt: 0 },
    { hex: 'fe fe ff ff', failAt: 0 },
    { hex: 'f4 8f bf bf f4 90', failAt: 5, note: 'U+10FFFF then U+110000' },
  ]);
});

describe('stray continuation bytes are rejected', () => {
  vectorTests([
    { hex: '80', failAt: 0 },
    { hex: 'bf', failAt: 0 },
    { hex: '80 bf', failAt: 0 },
    { hex: '80 bf 80 bf 80 bf', failAt: 0 },
    { hex: '61 80', failAt: 1 },
    { hex: 'c2 80 80', failAt: 2, note: 'one tail too many after 2 bytes' },
    { hex: 'df bf 9f', failAt: 2 },
    { hex: 'e2 82 ac bf', failAt: 3, note: 'one tail too many after 3 bytes' },
    { hex: 'f0 9f 98 80 80', failAt: 4, note: 'one tail too many after 4 bytes' },
  ]);
});

describe('a truncated sequence followed by a non-continuation byte is rejected at that byte', () => {
  vectorTests([
    { hex: 'c2 41', failAt: 1 },
    { hex: 'df 20', failAt: 1, note: 'lonely start character' },
    { hex: 'e2 41', failAt: 1 },
    { hex: 'e2 82 41', failAt: 2 },
    { hex: 'f0 41', failAt: 1 },
    { hex: 'f0 9f 41', failAt: 2 },
    { hex: 'f0 9f 98 41', failAt: 3 },
    { hex: 'f4 8f bf 00', failAt: 3 },
    { hex: 'c2 c2 80', failAt: 1, note: 'new lead byte instead of a tail' },
    { hex: 'e2 82 e2 82 ac', failAt: 2 },
    { hex: 'f0 9f 98 f0 9f 98 80', failAt: 3 },
    { hex: 'ed 9f c2', failAt: 2 },
    { hex: 'c2 e0 a0 f0 90 80 df ef bf f4 8f bf', failAt: 1, note: 'concatenated incomplete sequences' },
  ]);
});

describe('input cut short inside a character is pending, not failed', () => {
  vectorTests([
    { hex: 'c2', complete: false },
    { hex: 'df', complete: false },
    { hex: 'e0', complete: false },
    { hex: 'e0 a0', complete: false },
    { hex: 'e1 80', complete: false },
    { hex: 'ed', complete: false },
    { hex: 'ed 9f', complete: false },
    { hex: 'ef bf', complete: false },
    { hex: 'f0', complete: false },
    { hex: 'f0 90', complete: false },
    { hex: 'f0 90 80', complete: false },
    { hex: 'f1 80 80', complete: false },
    { hex: 'f4', complete: false },
    { hex: 'f4 8f bf', complete: false },
    { hex: '61 62 e2 82', complete: false, note: 'after ASCII' },
  ]);

  it('the next write() completes the character', () => {
    for (const native of [false, true]) {
      const v = new Utf8Validator({ native });
      assert.equal(v.write(hex('61 f0 9f')), true);
      assert.equal(v.isComplete(), false);
      assert.equal(v.failed, false);
      assert.equal(v.write(hex('98')), true);
      assert.equal(v.isComplete(), false);
      assert.equal(v.write(hex('80 62')), true);
      assert.equal(v.isComplete(), true, `native=${native}`);
    }
  });

  it('a truncated input is not valid for the one-shot check', () => {
    assert.equal(isValidUtf8(hex('e2 82')), false);
    assert.equal(isValidUtf8(concat(PAD, hex('e2 82'))), false, 'above the native threshold');
    assert.equal(isValidUtf8(hex('e2 82 ac')), true);
  });
});

// ---------------------------------------------------------------------------
// Exhaustive checks against the decoder oracle
// ---------------------------------------------------------------------------

describe('exhaustive', () => {
  it('every single byte', () => {
    for (let b = 0; b < 256; b++) {
      const bytes = Uint8Array.of(b);
      const neverValid = (b >= 0x80 && b <= 0xc1) || b >= 0xf5;
      const v = new Utf8Validator({ native: false });
      assert.equal(v.write(bytes), !neverValid, `byte ${b.toString(16)}`);
      assert.equal(v.isComplete(), b < 0x80, `byte ${b.toString(16)}: isComplete`);
      assert.equal(isValidUtf8(bytes), b < 0x80);
    }
  });

  it('every lead byte C0–FF followed by every second byte, fed byte by byte, fails where the decoder does', () => {
    const v = new Utf8Validator({ native: false });
    for (let b0 = 0xc0; b0 <= 0xff; b0++) {
      for (let b1 = 0; b1 < 256; b1++) {
        // Complete the sequence with tails so validity depends on b0 b1 only.
        const bytes = Uint8Array.of(b0, b1, 0x80, 0x80);
        const failAt = decoderFailIndex(bytes);
        v.reset();
        for (let i = 0; i < bytes.length; i++) {
          const ok = failAt < 0 || i < failAt;
          assert.equal(v.write(bytes, i, i + 1), ok, `${toHex(bytes)} at byte ${i}`);
        }
        assert.equal(v.isComplete(), decodesStrictly(bytes), `${toHex(bytes)}: isComplete`);
      }
    }
  });

  it('every Unicode scalar value U+0000–U+10FFFF is valid, in one write and in odd-sized chunks', () => {
    const parts: string[] = [];
    for (let cp = 0; cp <= 0x10ffff; cp++) {
      if (cp === 0xd800) cp = 0xe000; // skip the surrogates: not scalar values
      parts.push(String.fromCodePoint(cp));
    }
    const all = utf8(parts.join(''));
    assert.equal(all.length, 128 * 1 + 1920 * 2 + 61440 * 3 + 1048576 * 4);
    for (const native of [false, true]) {
      const v = new Utf8Validator({ native });
      assert.equal(v.write(all), true);
      assert.equal(v.isComplete(), true);
      v.reset();
      for (let i = 0; i < all.length; i += 1021) assert.equal(v.write(all, i, Math.min(i + 1021, all.length)), true);
      assert.equal(v.isComplete(), true, `native=${native}, chunks of 1021`);
    }
    assert.equal(isValidUtf8(all), true);
  });

  it('every surrogate code point U+D800–U+DFFF, encoded as 3 bytes, fails at its second byte', () => {
    for (let cp = 0xd800; cp <= 0xdfff; cp++) {
      const bytes = Uint8Array.of(0xe0 | (cp >> 12), 0x80 | ((cp >> 6) & 0x3f), 0x80 | (cp & 0x3f));
      const v = new Utf8Validator({ native: false });
      assert.equal(v.write(bytes, 0, 1), true);
      assert.equal(v.write(bytes, 1, 3), false, `U+${cp.toString(16)}`);
    }
  });
});

// ---------------------------------------------------------------------------
// State: sticky failure, reset, ranges
// ---------------------------------------------------------------------------

describe('state', () => {
  for (const native of [false, true]) {
    it(`failure is sticky until reset() (native=${native})`, () => {
      const v = new Utf8Validator({ native });
      assert.equal(v.failed, false);
      assert.equal(v.write(hex('61 ff')), false);
      assert.equal(v.failed, true);
      assert.equal(v.isComplete(), false);
      assert.equal(v.write(hex('61')), false, 'valid bytes after a failure');
      assert.equal(v.write(PAD), false, 'long valid text after a failure (native path)');
      assert.equal(v.write(new Uint8Array(0)), false, 'even an empty write');
      assert.equal(v.failed, true);
      v.reset();
      assert.equal(v.failed, false);
      assert.equal(v.isComplete(), true);
      assert.equal(v.write(hex('61')), true);
      assert.equal(v.isComplete(), true);
    });

    it(`reset() drops a pending partial character (native=${native})`, () => {
      const v = new Utf8Validator({ native });
      assert.equal(v.write(hex('e2 82')), true);
      assert.equal(v.isComplete(), false);
      v.reset();
      assert.equal(v.isComplete(), true);
      assert.equal(v.write(hex('ac')), false, 'the old sequence is forgotten: AC is now a stray tail');
    });
  }

  it('a new validator is complete and not failed; empty writes change nothing', () => {
    const v = new Utf8Validator();
    assert.equal(v.isComplete(), true);
    assert.equal(v.failed, false);
    assert.equal(v.write(new Uint8Array(0)), true);
    assert.equal(v.write(hex('e2')), true);
    assert.equal(v.write(hex('e2 82 ac'), 1, 1), true);
    assert.equal(v.isComplete(), false);
    assert.equal(v.write(hex('82 ac'), 0, 2), true);
    assert.equal(v.isComplete(), true);
  });

  it('start and end default to the whole array and bound what is read', () => {
    const bytes = hex('ff 61 e2 82 ac 62 ff');
    const v = new Utf8Validator();
    assert.equal(v.write(bytes, 1, 6), true);
    assert.equal(v.isComplete(), true);
    assert.equal(v.write(bytes, 6), false, 'end defaults to length');
    assert.equal(isValidUtf8(bytes, 1, 6), true);
    assert.equal(isValidUtf8(bytes, 1), false);
    assert.equal(isValidUtf8(bytes, 2, 4), false, 'truncated subrange');
    assert.equal(isValidUtf8(bytes), false);
  });

  it('accepts Buffers and plain Uint8Arrays, including views with an offset', () => {
    const text = concat(PAD, hex('e2 82 ac'));
    const backing = new Uint8Array(text.length + 10).fill(0xff);
    backing.set(text, 5);
    const view = backing.subarray(5, 5 + text.length);
    for (const native of [false, true]) {
      const v = new Utf8Validator({ native });
      assert.equal(v.write(view), true, `Uint8Array view, native=${native}`);
      assert.equal(v.isComplete(), true);
      v.reset();
      assert.equal(v.write(Buffer.from(text)), true, `Buffer, native=${native}`);
    }
    assert.equal(isValidUtf8(view), true);
    assert.equal(isValidUtf8(backing.subarray(4, 5 + text.length)), false);
  });

  it('a range that is not inside the array is API misuse (LocalError), not invalid UTF-8', () => {
    const bytes = hex('61 62 63');
    const v = new Utf8Validator();
    for (const [start, end] of [
      [-1, 2],
      [0, 4],
      [2, 1],
      [0.5, 2],
      [0, Number.NaN],
    ]) {
      assert.throws(() => v.write(bytes, start, end), (e: unknown) => e instanceof LocalError && e.code === 'WS_ERR_INVALID_RANGE', `[${start}, ${end})`);
      assert.throws(() => isValidUtf8(bytes, start, end), LocalError);
    }
    assert.equal(v.failed, false, 'a rejected call leaves the state alone');
  });
});

// ---------------------------------------------------------------------------
// The native accelerator
// ---------------------------------------------------------------------------

describe('native accelerator (buffer.isUtf8)', () => {
  const require = createRequire(import.meta.url);
  const bufferModule = require('node:buffer') as { isUtf8: (input: ArrayBufferView) => boolean };
  const realIsUtf8 = bufferModule.isUtf8;
  /** What the spy answered, one entry per call. */
  let answers: boolean[] = [];
  /** When set, the spy answers this instead of asking the real isUtf8. */
  let lie: boolean | undefined;

  // Replace the export the validator imports with a spy (live ESM binding).
  before(() => {
    bufferModule.isUtf8 = (input) => {
      const answer = lie ?? realIsUtf8(input);
      answers.push(answer);
      return answer;
    };
    syncBuiltinESMExports();
  });
  after(() => {
    bufferModule.isUtf8 = realIsUtf8;
    syncBuiltinESMExports();
  });
  const resetSpy = (): void => {
    answers = [];
    lie = undefined;
  };

  it('is used from UTF8_NATIVE_THRESHOLD bytes up, only when allowed', () => {
    resetSpy();
    const at = new Uint8Array(UTF8_NATIVE_THRESHOLD).fill(0x61);
    const below = at.subarray(1);
    assert.equal(new Utf8Validator().write(below), true);
    assert.equal(answers.length, 0, 'below the threshold: DFA only');
    assert.equal(new Utf8Validator().write(at), true);
    assert.equal(answers.length, 1, 'at the threshold: native');
    assert.equal(new Utf8Validator({ native: false }).write(at), true);
    assert.equal(answers.length, 1, 'native: false never calls it');
    assert.equal(isValidUtf8(at), true);
    assert.equal(isValidUtf8(below), true);
    assert.equal(answers.length, 2, 'isValidUtf8 uses it at the threshold only');
  });

  it('is still used after a write() that ended inside a character', () => {
    resetSpy();
    const v = new Utf8Validator();
    assert.equal(v.write(hex('61 e2')), true);
    assert.equal(v.write(concat(hex('82 ac'), PAD)), true);
    assert.equal(v.isComplete(), true);
    assert.deepEqual(answers, [true], 'the pending character is finished by the DFA, the rest goes native');
  });

  it('valid text split anywhere never needs the fallback (the split before the last character works)', () => {
    resetSpy();
    // Inside a bigger 0xFF-filled ArrayBuffer: a view made at the wrong offset would be rejected.
    const plain = concat(PAD, PAD);
    const backing = new Uint8Array(plain.length + 16).fill(0xff);
    backing.set(plain, 8);
    const text = backing.subarray(4, 4 + plain.length + 8);
    for (let k = 4; k <= plain.length + 4; k++) {
      const v = new Utf8Validator();
      assert.equal(v.write(text, 4, k), true);
      assert.equal(v.write(text, k, plain.length + 4), true);
      assert.equal(v.isComplete(), true);
    }
    assert.ok(answers.length > text.length, 'native path taken');
    assert.ok(
      answers.every((a) => a),
      'isUtf8 was never handed a range cut inside a character',
    );
  });

  it('a "no" from isUtf8 is re-checked by the DFA, never trusted blindly', () => {
    resetSpy();
    lie = false;
    const v = new Utf8Validator();
    assert.equal(v.write(concat(PAD, hex('e2 82'))), true, 'valid so far although native said no');
    assert.equal(v.write(concat(hex('ac'), PAD)), true);
    assert.equal(v.isComplete(), true);
    assert.ok(answers.length >= 2, 'native was asked');
    lie = undefined;
  });

  it('finds an invalid byte in the middle of a long range', () => {
    resetSpy();
    for (const [bad, note] of [
      [hex('ed a0 80'), 'surrogate'],
      [hex('c0 80'), 'overlong'],
      [hex('80'), 'stray tail'],
      [hex('f4 90 80 80'), 'above U+10FFFF'],
      [hex('e2 82 41'), 'truncated'],
    ] as const) {
      const v = new Utf8Validator();
      assert.equal(v.write(concat(PAD, bad, PAD)), false, note);
      assert.equal(v.failed, true);
      assert.equal(isValidUtf8(concat(PAD, bad, PAD)), false, note);
    }
    assert.ok(answers.length >= 10 && answers.every((a) => !a), 'native rejected them all');
  });
});

// ---------------------------------------------------------------------------
// Properties against the WHATWG decoder
// ---------------------------------------------------------------------------

describe('agrees with a fatal TextDecoder (property tests)', () => {
  /** Bytes biased toward lead bytes and the edges of the second-byte ranges. */
  const byte = fc.oneof(
    { weight: 3, arbitrary: fc.integer({ min: 0x00, max: 0x7f }) },
    { weight: 4, arbitrary: fc.integer({ min: 0x80, max: 0xbf }) },
    { weight: 3, arbitrary: fc.integer({ min: 0xc0, max: 0xff }) },
    { weight: 4, arbitrary: fc.constantFrom(0xc2, 0xdf, 0xe0, 0xe1, 0xed, 0xef, 0xf0, 0xf1, 0xf4, 0xc0, 0xc1, 0xf5, 0xff) },
    { weight: 3, arbitrary: fc.constantFrom(0x80, 0x8f, 0x90, 0x9f, 0xa0, 0xbf) },
  );
  const randomBytes = fc.array(byte, { maxLength: 24 }).map((a) => Uint8Array.from(a));

  /** A character: ASCII or any code point, half and half. */
  const char = fc.oneof(fc.string({ unit: 'grapheme-ascii', minLength: 1, maxLength: 1 }), fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }));
  /**
   * Valid text with a few bytes edited, and maybe cut short. About 60% of
   * these are longer than UTF8_NATIVE_THRESHOLD, and about 40% stay valid.
   */
  const editedText = fc
    .tuple(
      fc.string({ unit: char, maxLength: 160, size: 'large' }),
      fc.array(fc.tuple(fc.nat(), byte, fc.constantFrom('replace', 'insert', 'delete')), { maxLength: 2 }),
      fc.nat({ max: 3 }),
    )
    .map(([s, edits, chop]) => {
      const b = [...Buffer.from(s, 'utf8')];
      for (const [pos, value, op] of edits) {
        const p = b.length === 0 ? 0 : pos % b.length;
        if (op === 'insert') b.splice(p, 0, value);
        else if (b.length > 0 && op === 'replace') b[p] = value;
        else if (b.length > 0) b.splice(p, 1);
      }
      return Uint8Array.from(b.slice(0, Math.max(0, b.length - chop)));
    });

  const input = fc.oneof(randomBytes, editedText);
  const cuts = fc.array(fc.nat(), { maxLength: 5 });

  function check(bytes: Uint8Array, rawCuts: number[], native: boolean): void {
    const sorted = [...new Set(rawCuts.map((c) => c % (bytes.length + 1)))].sort((x, y) => x - y);
    const exp = { failAt: decoderFailIndex(bytes), complete: decodesStrictly(bytes) };
    feed(bytes, sorted, exp, native, toHex(bytes));
    assert.equal(isValidUtf8(bytes), exp.complete);
  }

  it('random bytes and edited text, random chunk splits, JS DFA', () => {
    fc.assert(
      fc.property(input, cuts, (bytes, c) => check(bytes, c, false)),
      { numRuns: 1500 },
    );
  });

  it('random bytes and edited text, random chunk splits, native accelerator allowed', () => {
    fc.assert(
      fc.property(input, cuts, (bytes, c) => check(bytes, c, true)),
      { numRuns: 1500 },
    );
  });

  it('long text with one edit, split into two writes, native allowed', () => {
    fc.assert(
      fc.property(
        fc.string({ unit: 'binary', minLength: 60, maxLength: 200 }),
        fc.nat(),
        byte,
        fc.nat(),
        (s, pos, value, cut) => {
          const b = utf8(s);
          b[pos % b.length] = value;
          check(b, [cut], true);
        },
      ),
      { numRuns: 500 },
    );
  });
});
