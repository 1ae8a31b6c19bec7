/**
 * Masking keys for frames a client sends (RFC 6455 §5.3): "The masking key is
 * a 32-bit value chosen at random by the client ... derived from a strong
 * source of entropy". Drawing 4 random bytes per frame from the kernel would
 * cost a system call each, so keys are cut from a pool refilled in bulk by
 * crypto.randomFillSync (a CSPRNG).
 */
import { randomFillSync } from 'node:crypto';

/** Fills `target[0..4)` with a fresh masking key. Injectable for deterministic tests. */
export type MaskKeySource = (target: Uint8Array) => void;

const POOL_SIZE = 8192;
const pool = Buffer.allocUnsafe(POOL_SIZE);
let poolOffset = POOL_SIZE;

/** The default masking key source: four bytes from the CSPRNG per frame, drawn from a pool (§5.3: "MUST be unpredictable"). */
export const randomMaskKey: MaskKeySource = (target) => {
  if (poolOffset + 4 > POOL_SIZE) {
    randomFillSync(pool);
    poolOffset = 0;
  }
  target[0] = pool[poolOffset];
  target[1] = pool[poolOffset + 1];
  target[2] = pool[poolOffset + 2];
  target[3] = pool[poolOffset + 3];
  poolOffset += 4;
};
