/**
 * Micro-benchmark of payload unmasking (not part of the test run):
 *
 *   npx tsx bench/mask.ts
 *
 * On 1 MiB: our applyMask (SIMD kernel), applyMaskPortable (Int32Array,
 * unrolled ×8), the plain typed-array loops that came before it, and the C
 * addon bufferutil that ws uses (a dev dependency, for comparison only).
 * Then a size sweep of portable vs SIMD, which is where SIMD_THRESHOLD in
 * src/framing/mask.ts comes from. Every input starts at offset 7 of a larger
 * buffer, as a payload inside a TCP read would. The machine may be shared:
 * run it twice and trust numbers that agree.
 */
import { createRequire } from 'node:module';
import { applyMaskPortable } from '../src/framing/mask.js';
import { maskWithSimd, simdMaskAvailable } from '../src/framing/mask-simd.js';

const mask = Buffer.from([0x37, 0xfa, 0x21, 0x3d]);
const word = mask[0] | (mask[1] << 8) | (mask[2] << 16) | (mask[3] << 24);

const require = createRequire(import.meta.url);
const bufferutil = require('bufferutil') as { unmask(buffer: Buffer, mask: Buffer): void };

function uint32Loop(b: Buffer): void {
  const view = new Uint32Array(b.buffer, b.byteOffset, b.length >>> 2);
  const w = word >>> 0;
  for (let i = 0; i < view.length; i++) view[i] ^= w;
}

function int32Loop(b: Buffer): void {
  const view = new Int32Array(b.buffer, b.byteOffset, b.length >>> 2);
  for (let i = 0; i < view.length; i++) view[i] ^= word;
}

/** Nanoseconds per call of `fn`, after a warm-up. */
function time(fn: () => void, bytes: number): number {
  const rounds = Math.max(200, Math.floor(2e8 / Math.max(bytes, 64) / 10));
  for (let i = 0; i < rounds / 4; i++) fn();
  const started = process.hrtime.bigint();
  for (let i = 0; i < rounds; i++) fn();
  return Number(process.hrtime.bigint() - started) / rounds;
}

if (!simdMaskAvailable) console.log('WebAssembly SIMD unavailable here: the SIMD rows are skipped');

const SIZE = 1 << 20;
const big = Buffer.alloc(SIZE, 0x5a);
const variants: Record<string, (b: Buffer) => void> = {
  'Uint32Array loop': uint32Loop,
  'Int32Array loop': int32Loop,
  'portable (ours)': (b) => applyMaskPortable(b, 0, b.length, mask, 0),
  ...(simdMaskAvailable ? { 'SIMD (ours)': (b: Buffer) => maskWithSimd(b, 0, b.length, word) } : {}),
  'bufferutil (C)': (b) => bufferutil.unmask(b, mask),
};
console.log('1 MiB:');
for (const [name, fn] of Object.entries(variants)) {
  const ns = time(() => fn(big), SIZE);
  console.log(`  ${name.padEnd(18)} ${(SIZE / ns).toFixed(2).padStart(6)} GB/s  ${(ns / 1000).toFixed(0).padStart(5)} µs per MiB`);
}

console.log('\nsize sweep, ns per call (GB/s):');
console.log(`  ${'bytes'.padStart(7)}  ${'portable'.padStart(16)}  ${'SIMD'.padStart(16)}  ${'bufferutil'.padStart(16)}`);
for (const size of [128, 256, 512, 768, 1024, 1536, 2048, 4096, 16384, 65536]) {
  const backing = Buffer.alloc(size + 16, 0x5a);
  const start = 7;
  const end = start + size;
  const view = backing.subarray(start, end);
  const cell = (ns: number): string => `${ns.toFixed(0)} (${(size / ns).toFixed(1)})`.padStart(16);
  const portable = time(() => applyMaskPortable(backing, start, end, mask, 0), size);
  const simd = simdMaskAvailable ? cell(time(() => maskWithSimd(backing, start, end, word), size)) : '-'.padStart(16);
  const native = time(() => bufferutil.unmask(view, mask), size);
  console.log(`  ${String(size).padStart(7)}  ${cell(portable)}  ${simd}  ${cell(native)}`);
}
