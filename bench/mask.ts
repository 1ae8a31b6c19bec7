/**
 * Micro-benchmark of payload unmasking on 1 MiB: our applyMask (Int32Array,
 * unrolled ×8), the plain typed-array loops it replaced, and the C addon
 * bufferutil that ws uses (a dev dependency, for comparison only).
 *
 *   npx tsx bench/mask.ts
 */
import { createRequire } from 'node:module';
import { applyMask } from '../src/framing/mask.js';

const SIZE = 1 << 20;
const data = Buffer.alloc(SIZE, 0x5a);
const mask = Buffer.from([0x37, 0xfa, 0x21, 0x3d]);
const word = mask[0] | (mask[1] << 8) | (mask[2] << 16) | (mask[3] << 24);

function uint32Loop(b: Buffer): void {
  const view = new Uint32Array(b.buffer, b.byteOffset, b.length >>> 2);
  const w = word >>> 0;
  for (let i = 0; i < view.length; i++) view[i] ^= w;
}

function int32Loop(b: Buffer): void {
  const view = new Int32Array(b.buffer, b.byteOffset, b.length >>> 2);
  for (let i = 0; i < view.length; i++) view[i] ^= word;
}

const require = createRequire(import.meta.url);
const bufferutil = require('bufferutil') as { unmask(buffer: Buffer, mask: Buffer): void };

const variants: Record<string, (b: Buffer) => void> = {
  'Uint32Array loop': uint32Loop,
  'Int32Array loop': int32Loop,
  'applyMask (ours)': (b) => applyMask(b, 0, b.length, mask, 0),
  'bufferutil (C)': (b) => bufferutil.unmask(b, mask),
};

for (const [name, fn] of Object.entries(variants)) {
  for (let i = 0; i < 100; i++) fn(data);
  const rounds = 500;
  const started = process.hrtime.bigint();
  for (let i = 0; i < rounds; i++) fn(data);
  const ns = Number(process.hrtime.bigint() - started) / rounds;
  console.log(`${name.padEnd(18)} ${(SIZE / ns).toFixed(2).padStart(6)} GB/s  ${(ns / 1000).toFixed(0).padStart(5)} µs per MiB`);
}
