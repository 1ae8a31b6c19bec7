/**
 * Micro-benchmark for src/utf8/utf8-validator.ts (not part of the test run).
 *
 *   npx tsx bench/utf8.ts
 *
 * Compares, on the same inputs:
 *   - js-dfa   : Utf8Validator({ native: false }), the pure JS DFA
 *   - native   : buffer.isUtf8 on a fresh view of the range (what write() does
 *                on its native path; the view allocation is included)
 *   - validator: Utf8Validator() with its defaults (DFA below the threshold,
 *                native above it); what the library really runs
 *   - utf-8-validate: the native addon `ws` uses, from node_modules
 *
 * Inputs: ASCII, and "mixed" text made only of 2-, 3- and 4-byte characters
 * (Cyrillic, CJK, emoji). Every input sits at offset 1 of a larger buffer, as a
 * frame payload inside a TCP read would, so `write(buf, start, end)` is used.
 * The size sweep is what UTF8_NATIVE_THRESHOLD was chosen from. The machine
 * may be shared: run it twice and trust numbers that agree.
 */
import { isUtf8 } from 'node:buffer';
import { createRequire } from 'node:module';
import { Utf8Validator, UTF8_NATIVE_THRESHOLD } from '../src/utf8/utf8-validator.js';

const require = createRequire(import.meta.url);
const utf8Validate = require('utf-8-validate') as (buf: Uint8Array) => boolean;

/** Deterministic PRNG (a 32-bit LCG) so every run measures the same bytes. */
function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 0x100000000;
  };
}

function asciiText(size: number): Buffer {
  const rnd = lcg(1);
  const out = Buffer.alloc(size);
  for (let i = 0; i < size; i++) out[i] = 0x20 + Math.floor(rnd() * 0x5f);
  return out;
}

/** `size` bytes of 2/3/4-byte characters (padded with spaces to the exact size). */
function mixedText(size: number): Buffer {
  const rnd = lcg(2);
  const ranges = [
    [0x0400, 0x04ff], // Cyrillic: 2 bytes
    [0x4e00, 0x9fff], // CJK: 3 bytes
    [0x1f600, 0x1f64f], // emoji: 4 bytes
  ] as const;
  let s = '';
  let bytes = 0;
  for (;;) {
    const [lo, hi] = ranges[Math.floor(rnd() * ranges.length)];
    const cp = lo + Math.floor(rnd() * (hi - lo + 1));
    const len = cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
    if (bytes + len > size) break;
    s += String.fromCodePoint(cp);
    bytes += len;
  }
  return Buffer.concat([Buffer.from(s, 'utf8'), Buffer.alloc(size - bytes, 0x20)]);
}

/** Put `payload` at offset 1 of a bigger buffer, like a payload inside a read. */
function embed(payload: Buffer): { buf: Buffer; start: number; end: number } {
  const buf = Buffer.alloc(payload.length + 2, 0x41);
  payload.copy(buf, 1);
  return { buf, start: 1, end: 1 + payload.length };
}

type Impl = (buf: Buffer, start: number, end: number) => boolean;

const jsDfa = new Utf8Validator({ native: false });
const lib = new Utf8Validator();
const impls: Record<string, Impl> = {
  'js-dfa': (buf, start, end) => {
    jsDfa.reset();
    return jsDfa.write(buf, start, end) && jsDfa.isComplete();
  },
  native: (buf, start, end) => isUtf8(new Uint8Array(buf.buffer, buf.byteOffset + start, end - start)),
  validator: (buf, start, end) => {
    lib.reset();
    return lib.write(buf, start, end) && lib.isComplete();
  },
  'utf-8-validate': (buf, start, end) => utf8Validate(buf.subarray(start, end)),
};

let sink = 0;

/** Median over 5 rounds of ~60 ms each; returns [MB/s, ns per call]. */
function measure(fn: Impl, input: { buf: Buffer; start: number; end: number }): [number, number] {
  const { buf, start, end } = input;
  const size = end - start;
  if (!fn(buf, start, end)) throw new Error('benchmark input rejected');
  // Calibrate a batch that takes ~5 ms, warm up, then time rounds.
  let batch = 1;
  for (;;) {
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < batch; i++) sink += fn(buf, start, end) ? 1 : 0;
    if (Number(process.hrtime.bigint() - t0) > 5e6) break;
    batch *= 2;
  }
  const rounds: number[] = [];
  for (let r = 0; r < 5; r++) {
    let calls = 0;
    const t0 = process.hrtime.bigint();
    let elapsed = 0;
    while (elapsed < 60e6) {
      for (let i = 0; i < batch; i++) sink += fn(buf, start, end) ? 1 : 0;
      calls += batch;
      elapsed = Number(process.hrtime.bigint() - t0);
    }
    rounds.push(elapsed / calls);
  }
  rounds.sort((a, b) => a - b);
  const ns = rounds[2];
  return [(size / ns) * 1e3, ns]; // bytes/ns → MB/s
}

function row(label: string, cells: string[]): void {
  console.log(label.padEnd(16) + cells.map((c) => c.padStart(20)).join(''));
}

const names = Object.keys(impls);
console.log(`Node ${process.version}; UTF8_NATIVE_THRESHOLD = ${UTF8_NATIVE_THRESHOLD}`);
console.log('cells: MB/s (ns per call), median of 5 rounds\n');

const headline: [string, Buffer][] = [
  ['16 B ASCII', asciiText(16)],
  ['64 KiB ASCII', asciiText(64 * 1024)],
  ['64 KiB mixed', mixedText(64 * 1024)],
];
row('input', names);
for (const [label, payload] of headline) {
  const input = embed(payload);
  row(
    label,
    names.map((n) => {
      const [mbps, ns] = measure(impls[n], input);
      return `${mbps.toFixed(0)} (${ns.toFixed(0)})`;
    }),
  );
}

console.log('\nsize sweep, js-dfa vs native (for the threshold)');
row('size', ['ascii js-dfa', 'ascii native', 'mixed js-dfa', 'mixed native']);
for (const size of [8, 16, 24, 32, 48, 64, 96, 128, 192, 256, 512, 1024, 4096]) {
  const a = embed(asciiText(size));
  const m = embed(mixedText(size));
  const cells = [
    measure(impls['js-dfa'], a),
    measure(impls.native, a),
    measure(impls['js-dfa'], m),
    measure(impls.native, m),
  ].map(([, ns]) => `${ns.toFixed(1)} ns`);
  row(`${size} B`, cells);
}

// A long message arriving in TCP-sized pieces: most writes end inside a
// character, so the next one starts mid-sequence. The validator should still
// take the native path for nearly all of every piece.
console.log('\nincremental: 64 KiB mixed fed in 1000-byte writes (most end inside a character)');
row('impl', ['MB/s (ns per message)']);
const message = mixedText(64 * 1024);
for (const [label, v] of [
  ['js-dfa', jsDfa],
  ['validator', lib],
] as const) {
  const chunked: Impl = (buf) => {
    v.reset();
    for (let i = 0; i < buf.length; i += 1000) if (!v.write(buf, i, Math.min(i + 1000, buf.length))) return false;
    return v.isComplete();
  };
  const [mbps, ns] = measure(chunked, { buf: message, start: 0, end: message.length });
  row(label, [`${mbps.toFixed(0)} (${ns.toFixed(0)})`]);
}

if (sink === 0) console.log(''); // keep results observable so nothing is optimised away
