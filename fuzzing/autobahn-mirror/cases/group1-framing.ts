/**
 * Group 1, Framing: text (1.1) and binary (1.2) messages of 0 to 64 KiB,
 * crossing the 7-bit / 16-bit / 64-bit length boundaries (125/126/127,
 * 65535/65536), the last one written in 997-byte TCP chunks.
 */
import type { CaseDef } from '../case-types.js';
import { binary, CLEAN_NORMAL_CLOSE, frame, killAfter, text } from './helpers.js';

const SIZES: ReadonlyArray<{ n: number; chop?: number; kill: number }> = [
  { n: 0, kill: 1 },
  { n: 125, kill: 1 },
  { n: 126, kill: 1 },
  { n: 127, kill: 1 },
  { n: 128, kill: 1 },
  { n: 65535, kill: 10 },
  { n: 65536, kill: 10 },
  { n: 65536, chop: 997, kill: 10 },
];

function build(sub: 1 | 2): CaseDef[] {
  const isBinary = sub === 2;
  const kind = isBinary ? 'binary' : 'text';
  return SIZES.map(({ n, chop, kill }, i) => {
    const payload = Buffer.alloc(n, isBinary ? 0xfe : 0x2a); // 0xFE…, or '*'…
    return {
      id: `1.${sub}.${i + 1}`,
      description: `Send ${kind} message with payload of length ${n}${chop ? `, written in TCP chunks of ${chop} octets` : ''}.`,
      expectation: `Receive echo'ed ${kind} message (with payload as sent). Clean close with normal code.`,
      expected: { OK: [isBinary ? binary(payload) : text(payload)] },
      expectedClose: CLEAN_NORMAL_CLOSE,
      steps: [frame(isBinary ? 2 : 1, payload, chop ? { chop } : {}), killAfter(kill)],
    };
  });
}

export const GROUP_1: readonly CaseDef[] = [...build(1), ...build(2)];
