/**
 * Payload masking with WebAssembly SIMD, for large payloads (RFC 6455 §5.3).
 *
 * JavaScript has no vector XOR, so the best typed-array loop (mask.ts) is
 * several times slower than a 16-byte-wide WebAssembly kernel. The kernel can
 * only touch its own linear memory, so each piece of payload is copied into a
 * scratch area there, masked, and copied back; that fixed cost only pays off
 * from about 1 KiB (SIMD_THRESHOLD in mask.ts). Figures, and the comparison
 * with the C addon `ws` uses: bench/RESULTS.md, "Masking".
 *
 * The kernel is the text in mask-simd.wat, compiled by wabt (`npm run
 * build:wasm` writes the bytes below; a unit test checks they still match).
 * Everything here is a Node built-in: no dependency at run time. Where
 * WebAssembly or its SIMD proposal is unavailable (`--jitless`, an old CPU),
 * `simdMaskAvailable` is false and mask.ts stays on its portable path.
 */

/** mask-simd.wat, compiled. */
export const MASK_KERNEL_WASM =
  'AGFzbQEAAAABBwFgA39/fwADAgEABQQBAQICBxECBm1lbW9yeQIABG1hc2sAAArYAQHVAQIBfwF7IAL9ESEEIAAgAUFAcWohAwJAA0AgACADTw0BIAAgAP0A' +
  'BAAgBP1R/QsEACAAIAD9AAQQIAT9Uf0LBBAgACAA/QAEICAE/VH9CwQgIAAgAP0ABDAgBP1R/QsEMCAAQcAAaiEADAALCyABQT9xIQEgACABQXxxaiEDAkAD' +
  'QCAAIANPDQEgACAAKAIAIAJzNgIAIABBBGohAAwACwsgACABQQNxaiEDAkADQCAAIANPDQEgACAALQAAIAJzOgAAIAJBCHYhAiAAQQFqIQAMAAsLCw==';

/** Largest piece masked per kernel call (the kernel's memory is 128 KiB). */
const SCRATCH_SIZE = 64 * 1024;
/**
 * Where the scratch area starts in the kernel's memory. Not at 0: copying
 * out of a page-aligned source into a Buffer was far slower than from any
 * other offset (bench/RESULTS.md, "Masking").
 */
const SCRATCH_OFFSET = 64;

type MaskKernel = (pointer: number, length: number, key: number) => void;

/** The part of the WebAssembly JavaScript API used here (TypeScript declares it only in its DOM lib). */
interface WebAssemblyApi {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object) => { exports: { mask: MaskKernel; memory: { buffer: ArrayBuffer } } };
}

let kernel: MaskKernel | null = null;
let scratch: Uint8Array | null = null;

try {
  const wasm = (globalThis as { WebAssembly?: WebAssemblyApi }).WebAssembly;
  if (wasm !== undefined) {
    // Compiling fails where the SIMD instructions are not supported.
    const instance = new wasm.Instance(new wasm.Module(Buffer.from(MASK_KERNEL_WASM, 'base64')));
    scratch = new Uint8Array(instance.exports.memory.buffer, SCRATCH_OFFSET, SCRATCH_SIZE);
    kernel = instance.exports.mask;
  }
} catch {
  // No WebAssembly, or no SIMD: the portable path is used.
}

/** Whether maskWithSimd() may be called. */
export const simdMaskAvailable = kernel !== null;

/**
 * XOR `source[start, end)` with the four mask octets packed in `key`,
 * little-endian (key & 0xff applies to `source[start]`, the next octet to
 * `source[start + 1]`, and so on, repeating every four octets), writing the
 * result to `target` from `targetStart`: in place by default, or into another
 * buffer, which then costs no more than in place (the bytes pass through the
 * scratch area either way).
 */
export function maskWithSimd(source: Uint8Array, start: number, end: number, key: number, target: Uint8Array = source, targetStart: number = start): void {
  const mask = kernel!;
  const area = scratch!;
  // Pieces are whole multiples of 4 bytes, so `key` lines up with each piece's first octet.
  for (let position = start; position < end; position += SCRATCH_SIZE) {
    const length = Math.min(end - position, SCRATCH_SIZE);
    area.set(source.subarray(position, position + length));
    mask(SCRATCH_OFFSET, length, key);
    target.set(length === SCRATCH_SIZE ? area : area.subarray(0, length), targetStart + (position - start));
  }
}
