/**
 * Group 10, Misc: 10.1.1 sends a 64 KiB text message auto-fragmented into
 * 1300-byte frames (51 frames) and expects the echo. Autobahn also checks
 * that it sent the frames it meant to; so does the mirror.
 */
import type { CaseDef } from '../case-types.js';
import { CLEAN_NORMAL_CLOSE, killAfter, text } from './helpers.js';

const PAYLOAD = Buffer.alloc(65536, 0x2a);
const FRAGMENT = 1300;

export const GROUP_10: readonly CaseDef[] = [
  {
    id: '10.1.1',
    description: `Send text message with payload of length ${PAYLOAD.length} auto-fragmented with autoFragmentSize = ${FRAGMENT}.`,
    expectation: "Receive echo'ed text message (with payload as sent and transmitted frame counts as expected). Clean close with normal code.",
    expected: { OK: [text(PAYLOAD)] },
    expectedClose: CLEAN_NORMAL_CLOSE,
    expectTxFrames: { text: 1, continuation: Math.ceil(PAYLOAD.length / FRAGMENT) - 1 },
    steps: [{ do: 'message', payload: PAYLOAD, binary: false, fragmentSize: FRAGMENT }, killAfter(10)],
  },
];
