/**
 * How src/framing/mask-simd.wat becomes the bytes embedded in mask-simd.ts:
 * wabt's wat2wasm with the SIMD feature, as base64. Shared by the build script
 * (scripts/build-wasm.ts) and the unit test that checks the embedded bytes, so
 * the two cannot compile it differently.
 */
import { readFile } from 'node:fs/promises';
import createWabt from 'wabt';

export const MASK_KERNEL_WAT = new URL('../src/framing/mask-simd.wat', import.meta.url);

/** Compile mask-simd.wat; returns the module's bytes in base64. */
export async function compileMaskKernel(): Promise<string> {
  const wabt = await createWabt();
  const module = wabt.parseWat('mask-simd.wat', await readFile(MASK_KERNEL_WAT, 'utf8'), { simd: true });
  try {
    module.validate();
    return Buffer.from(module.toBinary({}).buffer).toString('base64');
  } finally {
    module.destroy();
  }
}
