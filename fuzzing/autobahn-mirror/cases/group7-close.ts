/**
 * Group 7, Close handling (RFC 6455 §5.5.1, §7). We send the first close
 * frame in every case; the server must answer with a close frame (echoing our
 * code or using 1000), ignore data that follows our close, reject close
 * payloads of one byte, invalid codes and non-UTF-8 reasons with 1002/1007,
 * and then drop TCP itself. A close code outside the expected ones fails the
 * case itself here, not just its close verdict.
 */
import type { CaseDef, ExpectedClose, Step } from '../case-types.js';
import { CLEAN_NORMAL_CLOSE, frame, INVALID_PAYLOAD, killAfter, NORMAL, PROTOCOL_ERROR, text } from './helpers.js';

const closeFrame = (code?: number, reason?: Buffer | string): Step =>
  reason === undefined ? (code === undefined ? { do: 'closeFrame' } : { do: 'closeFrame', code }) : { do: 'closeFrame', code, reason };

const PROTOCOL_ERROR_OR_DROP: ExpectedClose = { closedByMe: true, closeCode: [PROTOCOL_ERROR], requireClean: false };

/** RFC 6455 §7.4.1 defined codes and the 3000-4999 ranges: all may be echoed. */
const VALID_CODES = [1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 3000, 3999, 4000, 4999];
/** Codes that must never appear in a close frame (§7.4.1, §7.4.2). */
const INVALID_CODES = [0, 999, 1004, 1005, 1006, 1016, 1100, 2000, 2999];

const basic: CaseDef[] = [
  {
    id: '7.1.1',
    description: 'Send a message followed by a close frame.',
    expectation: 'Echoed message followed by clean close with normal code.',
    expected: { OK: [text('Hello World!')] },
    expectedClose: CLEAN_NORMAL_CLOSE,
    wrongCodeFails: true,
    steps: [frame(1, 'Hello World!'), killAfter(1)],
  },
  {
    id: '7.1.2',
    description: 'Send two close frames.',
    expectation: 'Clean close with normal code. Second close frame ignored.',
    expected: { OK: [] },
    expectedClose: CLEAN_NORMAL_CLOSE,
    suppressClose: true,
    wrongCodeFails: true,
    steps: [{ do: 'close', code: NORMAL }, frame(8), killAfter(1)],
  },
  {
    id: '7.1.3',
    description: 'Send a ping after close message.',
    expectation: 'Clean close with normal code, no pong.',
    expected: { OK: [] },
    expectedClose: CLEAN_NORMAL_CLOSE,
    suppressClose: true,
    wrongCodeFails: true,
    steps: [{ do: 'close', code: NORMAL }, frame(9), killAfter(1)],
  },
  {
    id: '7.1.4',
    description: 'Send text message after sending a close frame.',
    expectation: 'Clean close with normal code. Text message ignored.',
    expected: { OK: [] },
    expectedClose: CLEAN_NORMAL_CLOSE,
    suppressClose: true,
    wrongCodeFails: true,
    steps: [{ do: 'close', code: NORMAL }, frame(1, 'Hello World!'), killAfter(1)],
  },
  {
    id: '7.1.5',
    description: 'Send message fragment1 followed by close then fragment.',
    expectation: 'Clean close with normal code.',
    expected: { OK: [] },
    expectedClose: CLEAN_NORMAL_CLOSE,
    suppressClose: true,
    wrongCodeFails: true,
    steps: [frame(1, 'fragment1', { fin: false }), { do: 'close', code: NORMAL }, frame(0, 'fragment2'), killAfter(1)],
  },
  {
    id: '7.1.6',
    description: 'Send 256K message followed by close then a ping.',
    expectation: 'Case outcome depends on implementation defined close behavior. Message and close frame are sent back to back. If the close frame is processed before the text message write is complete (as can happen in asynchronous processing models) the close frame is processed first and the text message may not be received or may only be partially received.',
    expected: { OK: [text('Hello World!')], 'NON-STRICT': [] },
    expectedClose: CLEAN_NORMAL_CLOSE,
    suppressClose: true,
    informational: true,
    steps: [
      frame(1, 'BAsd7&jh23', { repeatTo: 256 * 1024 }),
      frame(1, 'Hello World!'),
      { do: 'close', code: NORMAL },
      frame(9),
      killAfter(1),
    ],
  },
];

const payloadLength: CaseDef[] = [
  {
    id: '7.3.1',
    description: 'Send a close frame with payload length 0 (no close code, no close reason).',
    expectation: 'Clean close with normal code.',
    expected: { OK: [] },
    expectedClose: CLEAN_NORMAL_CLOSE,
    suppressClose: true,
    wrongCodeFails: true,
    steps: [closeFrame(), killAfter(1)],
  },
  {
    id: '7.3.2',
    description: 'Send a close frame with payload length 1.',
    expectation: 'Clean close with protocol error or drop TCP.',
    expected: { OK: [] },
    expectedClose: PROTOCOL_ERROR_OR_DROP,
    suppressClose: true,
    wrongCodeFails: true,
    steps: [closeFrame(undefined, 'a'), killAfter(1)],
  },
  {
    id: '7.3.3',
    description: 'Send a close frame with payload length 2 (regular close with a code).',
    expectation: 'Clean close with normal code.',
    expected: { OK: [] },
    expectedClose: CLEAN_NORMAL_CLOSE,
    suppressClose: true,
    wrongCodeFails: true,
    steps: [{ do: 'close', code: NORMAL }, killAfter(1)],
  },
  {
    id: '7.3.4',
    description: 'Send a close frame with close code and close reason.',
    expectation: 'Clean close with normal code.',
    expected: { OK: [] },
    expectedClose: CLEAN_NORMAL_CLOSE,
    suppressClose: true,
    wrongCodeFails: true,
    steps: [{ do: 'close', code: NORMAL, reason: 'Hello World!' }, killAfter(1)],
  },
  {
    id: '7.3.5',
    description: 'Send a close frame with close code and close reason of maximum length (123).',
    expectation: 'Clean close with normal code.',
    expected: { OK: [] },
    expectedClose: CLEAN_NORMAL_CLOSE,
    suppressClose: true,
    wrongCodeFails: true,
    steps: [{ do: 'close', code: NORMAL, reason: '*'.repeat(123) }, killAfter(1)],
  },
  {
    id: '7.3.6',
    description: 'Send a close frame with close code and close reason which is too long (124) - total frame payload 126 octets.',
    expectation: 'Clean close with protocol error code or dropped TCP connection.',
    expected: { OK: [] },
    expectedClose: PROTOCOL_ERROR_OR_DROP,
    suppressClose: true,
    wrongCodeFails: true,
    steps: [closeFrame(NORMAL, '*'.repeat(124)), killAfter(1)],
  },
];

const badReason: CaseDef = {
  id: '7.5.1',
  description: 'Send a close frame with invalid UTF8 payload.',
  expectation: 'Clean close with protocol error or invalid utf8 code or dropped TCP.',
  expected: { OK: [] },
  expectedClose: { closedByMe: true, closeCode: [PROTOCOL_ERROR, INVALID_PAYLOAD], requireClean: false },
  suppressClose: true,
  wrongCodeFails: true,
  steps: [closeFrame(NORMAL, Buffer.from('cebae1bdb9cf83cebcceb5eda080656469746564', 'hex')), killAfter(1)],
};

const validCodes: CaseDef[] = VALID_CODES.map((code, i) => ({
  id: `7.7.${i + 1}`,
  description: `Send close with valid close code ${code}.`,
  expectation: 'Clean close with normal or echoed code.',
  expected: { OK: [] },
  expectedClose: { closedByMe: true, closeCode: [NORMAL, code], requireClean: true },
  wrongCodeFails: true,
  steps: [closeFrame(code), killAfter(1)],
}));

const invalidCodes: CaseDef[] = INVALID_CODES.map((code, i) => ({
  id: `7.9.${i + 1}`,
  description: `Send close with invalid close code ${code}.`,
  expectation: 'Clean close with protocol error code or drop TCP.',
  expected: { OK: [] },
  expectedClose: PROTOCOL_ERROR_OR_DROP,
  wrongCodeFails: true,
  steps: [closeFrame(code), killAfter(1)],
}));

const outOfRange: CaseDef[] = [5000, 65535].map((code, i) => ({
  id: `7.13.${i + 1}`,
  description: `Send close with close code ${code}.`,
  expectation: 'Actual events are undefined by the spec.',
  expected: { OK: [] },
  expectedClose: { closedByMe: true, closeCode: [NORMAL, code, PROTOCOL_ERROR], requireClean: false },
  suppressClose: true,
  informational: true,
  steps: [closeFrame(code), killAfter(1)],
}));

export const GROUP_7: readonly CaseDef[] = [...basic, ...payloadLength, badReason, ...validCodes, ...invalidCodes, ...outOfRange];
