/**
 * The WebAssembly SIMD masking kernel (src/framing/mask-simd.ts, RFC 6455
 * §5.3): its embedded bytes are the compiled mask-simd.wat, it is available
 * here (so the tests in mask.test.ts really exercise it), and it agrees with
 * the reference on every length class its three loops (64-byte blocks,
 * words, bytes) and its 64 KiB pieces can produce.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { MASK_KERNEL_WASM, maskWithSimd, simdMaskAvailable } from '../../src/framing/mask-simd.js';
import { naiveMask } from '../helpers/protocol-harness.js';
import { compileMaskKernel } from '../../scripts/mask-kernel.js';

/** The key octets in payload order, packed little-endian as maskWithSimd() takes them. */
function packKey(key: Uint8Array): number {
  return key[0] | (key[1] << 8) | (key[2] << 16) | (key[3] << 24);
}

describe('mask-simd: the WebAssembly kernel', () => {
  it('the embedded bytes are mask-simd.wat compiled (run `npm run build:wasm` after editing the .wat)', async () => {
    assert.equal(MASK_KERNEL_WASM, await compileMaskKernel());
  });

  it('is available on this Node.js (WebAssembly with SIMD), so applyMask uses it from 1 KiB', () => {
    assert.equal(simdMaskAvailable, true);
  });

  it('masks in place like the reference for every length 0..200 and lengths around 64-byte blocks and 64 KiB pieces', () => {
    const key = Uint8Array.of(0x37, 0xfa, 0x21, 0x3d);
    const lengths = [...Array.from({ length: 201 }, (_, i) => i), 1023, 4097, 65535, 65536, 65537, 65599, 131072 + 63, 300_001];
    for (const length of lengths) {
      const original = Buffer.alloc(length);
      for (let i = 0; i < length; i++) original[i] = (i * 31 + 7) & 0xff;
      // Inside a larger buffer, between guard bytes, at an odd position.
      const backing = Buffer.alloc(length + 10, 0xa5);
      original.copy(backing, 3);
      maskWithSimd(backing, 3, 3 + length, packKey(key));
      assert.ok(backing.subarray(3, 3 + length).equals(naiveMask(original, key, 0)), `length ${length}`);
      assert.ok(backing.subarray(0, 3).equals(Buffer.alloc(3, 0xa5)), `length ${length}: wrote before the range`);
      assert.ok(backing.subarray(3 + length).equals(Buffer.alloc(7, 0xa5)), `length ${length}: wrote past the range`);
    }
  });

  it('property: any data, key and range agree with the reference', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 70_000 }), fc.uint8Array({ minLength: 4, maxLength: 4 }), fc.nat({ max: 15 }), (data, key, offset) => {
        const backing = Buffer.alloc(offset + data.length);
        backing.set(data, offset);
        maskWithSimd(backing, offset, offset + data.length, packKey(key));
        assert.ok(backing.subarray(offset).equals(naiveMask(data, key, 0)));
      }),
      { numRuns: 100 },
    );
  });

  it('without WebAssembly (node --jitless) it reports itself unavailable and applyMask falls back to the portable loop', () => {
    const script = `
      const { simdMaskAvailable } = await import('./src/framing/mask-simd.ts');
      const { applyMask } = await import('./src/framing/mask.ts');
      const data = Buffer.alloc(70_000, 0x5a);
      applyMask(data, 3, 70_000, Uint8Array.of(1, 2, 3, 4), 2);
      let ok = true;
      for (let i = 3; i < 70_000; i++) if (data[i] !== (0x5a ^ [1, 2, 3, 4][(i - 3 + 2) % 4])) ok = false;
      console.log(JSON.stringify({ simdMaskAvailable, ok }));`;
    const output = execFileSync(process.execPath, ['--jitless', '--no-warnings', '--import', 'tsx', '--input-type=module', '-e', script], {
      cwd: new URL('../..', import.meta.url),
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    assert.deepEqual(JSON.parse(output.trim().split('\n').pop()!), { simdMaskAvailable: false, ok: true });
  });
});
