/**
 * Compile src/framing/mask-simd.wat with wabt (a dev dependency) and write the
 * bytes, base64, into MASK_KERNEL_WASM in src/framing/mask-simd.ts. The
 * library itself never needs wabt: it ships the bytes.
 *
 *   npm run build:wasm
 */
import { readFile, writeFile } from 'node:fs/promises';
import { compileMaskKernel } from './mask-kernel.js';

const tsUrl = new URL('../src/framing/mask-simd.ts', import.meta.url);

const base64 = await compileMaskKernel();

const lines = base64.match(/.{1,120}/g) ?? [''];
const literal = lines.map((line) => `  '${line}'`).join(' +\n');
const source = await readFile(tsUrl, 'utf8');
const pattern = /(export const MASK_KERNEL_WASM =\n)[\s\S]*?;\n/;
if (!pattern.test(source)) throw new Error('MASK_KERNEL_WASM not found in mask-simd.ts');
const updated = source.replace(pattern, `$1${literal};\n`);
await writeFile(tsUrl, updated);
console.log(updated === source ? 'mask-simd.ts already up to date' : `mask-simd.ts updated (${base64.length} base64 characters)`);
