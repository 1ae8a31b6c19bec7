/**
 * Payload masking (RFC 6455 §5.3).
 *
 * "Octet i of the transformed data is the XOR of octet i of the original data
 * with octet at index i modulo 4 of the masking key." The same operation masks
 * and unmasks.
 *
 * Hot path: every client frame is unmasked. Three speeds, chosen by length
 * (figures from bench/mask.ts in bench/RESULTS.md, "Masking"):
 * - short payloads are XORed byte by byte (setting up a typed-array view
 *   would cost more than it saves);
 * - from 64 bytes, four bytes at a time through an Int32Array view, after a
 *   byte-wise head that brings the position to a 4-byte boundary (views must
 *   be aligned), unrolled ×8 (Int32, not Uint32: V8 keeps uint32 results as
 *   doubles, which is several times slower);
 * - from 1 KiB, the WebAssembly SIMD kernel of mask-simd.ts (fastest despite
 *   copying each piece in and out of WebAssembly memory).
 */
import { maskWithSimd, simdMaskAvailable } from './mask-simd.js';

/** From this many bytes the SIMD kernel beats the word loop despite its two copies. */
export const SIMD_THRESHOLD = 1024;

/**
 * XOR `data[start, end)` in place with `mask`, where `data[start]` is octet
 * number `phase` (mod 4) of the frame's payload. Returns the phase after
 * `end`, so a payload that arrives in several chunks can be unmasked piece by
 * piece.
 */
export function applyMask(data: Uint8Array, start: number, end: number, mask: Uint8Array, phase: number): number {
  const p = phase & 3;
  if (end - start >= SIMD_THRESHOLD && simdMaskAvailable) {
    maskWithSimd(data, start, end, packKey(mask, p));
    return (p + end - start) & 3;
  }
  return applyMaskPortable(data, start, end, mask, p);
}

/**
 * Copy `source[start, end)` into `target` from `targetStart`, XORed with the
 * mask (the same phase convention as applyMask): unmasked if the source was
 * masked, masked if it was plain. For a payload that is copied anyway (gathered
 * into a message buffer, or a caller's buffer that must not be masked in
 * place), this does both in one pass through the SIMD kernel instead of a copy
 * and a second pass. The source is left as it was.
 */
export function copyWithMask(source: Uint8Array, start: number, end: number, target: Uint8Array, targetStart: number, mask: Uint8Array, phase: number): number {
  const p = phase & 3;
  if (end - start >= SIMD_THRESHOLD && simdMaskAvailable) {
    maskWithSimd(source, start, end, packKey(mask, p), target, targetStart);
    return (p + end - start) & 3;
  }
  target.set(source.subarray(start, end), targetStart);
  return applyMaskPortable(target, targetStart, targetStart + (end - start), mask, p);
}

/** Below this many bytes the byte loop beats setting up a word view (measured in bench/mask.ts). */
const WORD_WISE_THRESHOLD = 64;

const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

/** The four key octets in the order they meet the payload from octet `phase` on, as one little-endian word. */
function packKey(mask: Uint8Array, phase: number): number {
  return mask[phase] | (mask[(phase + 1) & 3] << 8) | (mask[(phase + 2) & 3] << 16) | (mask[(phase + 3) & 3] << 24);
}

/** applyMask() in plain JavaScript, at any length (the fallback without WebAssembly SIMD). */
export function applyMaskPortable(data: Uint8Array, start: number, end: number, mask: Uint8Array, phase: number): number {
  let i = start;
  let p = phase & 3;
  if (end - i >= WORD_WISE_THRESHOLD) {
    // Head: bytes up to the first 4-byte-aligned address.
    while (((data.byteOffset + i) & 3) !== 0) {
      data[i] ^= mask[p];
      p = (p + 1) & 3;
      i++;
    }
    const words = (end - i) >>> 2;
    const m0 = mask[p];
    const m1 = mask[(p + 1) & 3];
    const m2 = mask[(p + 2) & 3];
    const m3 = mask[(p + 3) & 3];
    // The mask as it lines up with each aligned word (phase is unchanged by whole words).
    const word = LITTLE_ENDIAN ? m0 | (m1 << 8) | (m2 << 16) | (m3 << 24) : (m0 << 24) | (m1 << 16) | (m2 << 8) | m3;
    const view = new Int32Array(data.buffer, data.byteOffset + i, words);
    let w = 0;
    // Unrolled: V8 does not unroll typed-array loops itself.
    for (const unrolled = words - 8; w <= unrolled; w += 8) {
      view[w] ^= word;
      view[w + 1] ^= word;
      view[w + 2] ^= word;
      view[w + 3] ^= word;
      view[w + 4] ^= word;
      view[w + 5] ^= word;
      view[w + 6] ^= word;
      view[w + 7] ^= word;
    }
    for (; w < words; w++) view[w] ^= word;
    i += words << 2;
  }
  // A short payload (or the tail): four bytes a step with the key octets in
  // locals (faster than one byte a step even at 16 bytes), then the last 0-3.
  const k0 = mask[p];
  const k1 = mask[(p + 1) & 3];
  const k2 = mask[(p + 2) & 3];
  const k3 = mask[(p + 3) & 3];
  for (const last = end - 3; i < last; i += 4) {
    data[i] ^= k0;
    data[i + 1] ^= k1;
    data[i + 2] ^= k2;
    data[i + 3] ^= k3;
  }
  while (i < end) {
    data[i] ^= mask[p];
    p = (p + 1) & 3;
    i++;
  }
  return p;
}
