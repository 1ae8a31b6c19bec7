/**
 * Group 6, UTF-8 handling. RFC 6455 §8.1: "When an endpoint is to interpret a
 * byte stream as UTF-8 but finds that the byte stream is not, in fact, a valid
 * UTF-8 stream, that endpoint MUST _Fail the WebSocket Connection_" (1007).
 *
 * 6.4.x is the fail-fast test: the message arrives in three parts with a 1 s
 * pause after the first and after the second. The second part makes the text
 * invalid. Failing right after it: OK. Failing only when the message is
 * complete: NON-STRICT. 6.4.1/6.4.2 send the parts as separate frames,
 * 6.4.3/6.4.4 as pieces of one frame (the bad byte arrives mid-frame).
 * For every invalid-text case, a close started by us (the server never
 * noticed) fails the case outright.
 */
import type { CaseDef, ExpectedClose, Step } from '../case-types.js';
import { CLEAN_NORMAL_CLOSE, closeAfter, frame, INVALID_PAYLOAD, killAfter, serverFails, text, timeout, wait } from './helpers.js';
import { UTF8_CATEGORIES } from './utf8-sequences.js';

const FAIL_UTF8: ExpectedClose = serverFails(INVALID_PAYLOAD, { closedByWrongEndpointIsFatal: true });

const HELLO_UTF8 = Buffer.from('Hello-µ@ßöäüàá-UTF-8!!', 'utf8');
const KOSME = Buffer.from('cebae1bdb9cf83cebcceb5', 'hex');
/** κόσμε + a UTF-16 surrogate (ED A0 80, invalid at A0, byte 12) + "edited". */
const KOSME_SURROGATE = Buffer.concat([KOSME, Buffer.from('eda080', 'hex'), Buffer.from('edited')]);
/** κόσμε + F4 90 80 80 (above U+10FFFF, invalid at 0x90, byte 12) + "edited". */
const KOSME_TOO_BIG = Buffer.concat([KOSME, Buffer.from('f4908080', 'hex'), Buffer.from('edited')]);

function failFast(id: string, parts: readonly [Buffer, Buffer, Buffer], asChops: boolean): CaseDef {
  const [p1, p2, p3] = parts;
  const steps: Step[] = asChops
    ? [
        { do: 'beginFrame', opcode: 1, length: p1.length + p2.length + p3.length, fin: false },
        { do: 'frameData', data: p1 },
        wait(1, 'A'),
        { do: 'frameData', data: p2 },
        wait(1, 'B'),
        { do: 'frameData', data: p3 },
        frame(0, ''), // Autobahn's endMessage(): an empty final continuation
        killAfter(1),
      ]
    : [frame(1, p1, { fin: false }), wait(1, 'A'), frame(0, p2, { fin: false }), wait(1, 'B'), frame(0, p3), killAfter(1)];
  const hexes = parts.map((p) => p.toString('hex')).join(' | ');
  return {
    id,
    description: `Send invalid UTF-8 text message in 3 ${asChops ? 'chops of one frame' : 'fragments (frames)'} with a 1 s wait after the first and the second; the second part makes the text invalid. PARTS = ${hexes}`,
    expectation: 'The first part is accepted, we expect to timeout on the first wait. The 2nd part should be rejected immediately (fail fast on UTF-8). If we timeout, we expect the connection is failed at least then, since the complete message payload is not valid UTF-8.',
    expected: { OK: [timeout('A')], 'NON-STRICT': [timeout('A'), timeout('B')] },
    expectedClose: FAIL_UTF8,
    steps,
  };
}

const fixed: CaseDef[] = [
  {
    id: '6.1.1',
    description: 'Send text message of length 0.',
    expectation: "A message is echo'ed back to us (with empty payload).",
    expected: { OK: [text('')] },
    expectedClose: CLEAN_NORMAL_CLOSE,
    steps: [frame(1, ''), closeAfter(1)],
  },
  {
    id: '6.1.2',
    description: 'Send fragmented text message, 3 fragments each of length 0.',
    expectation: "A message is echo'ed back to us (with empty payload).",
    expected: { OK: [text('')] },
    expectedClose: CLEAN_NORMAL_CLOSE,
    steps: [frame(1, '', { fin: false }), frame(0, '', { fin: false }), frame(0, ''), closeAfter(1)],
  },
  {
    id: '6.1.3',
    description: 'Send fragmented text message, 3 fragments, first and last of length 0, middle non-empty.',
    expectation: "A message is echo'ed back to us (with payload = payload of middle fragment).",
    expected: { OK: [text('middle frame payload')] },
    expectedClose: CLEAN_NORMAL_CLOSE,
    steps: [frame(1, '', { fin: false }), frame(0, 'middle frame payload', { fin: false }), frame(0, ''), closeAfter(1)],
  },
  {
    id: '6.2.1',
    description: `Send a valid UTF-8 text message in one fragment. MESSAGE: ${HELLO_UTF8.toString('hex')}`,
    expectation: "The message is echo'ed back to us.",
    expected: { OK: [text(HELLO_UTF8)] },
    expectedClose: CLEAN_NORMAL_CLOSE,
    steps: [{ do: 'message', payload: HELLO_UTF8, binary: false }, closeAfter(1)],
  },
  {
    id: '6.2.2',
    description: 'Send a valid UTF-8 text message in two fragments, fragmented on UTF-8 code point boundary.',
    expectation: "The message is echo'ed back to us.",
    expected: { OK: [text(HELLO_UTF8)] },
    expectedClose: CLEAN_NORMAL_CLOSE,
    steps: [frame(1, 'Hello-µ@ßöä', { fin: false }), frame(0, 'üàá-UTF-8!!'), closeAfter(1)],
  },
  {
    id: '6.2.3',
    description: 'Send a valid UTF-8 text message in fragments of 1 octet, resulting in frames ending on positions which are not code point ends.',
    expectation: "The message is echo'ed back to us.",
    expected: { OK: [text(HELLO_UTF8)] },
    expectedClose: CLEAN_NORMAL_CLOSE,
    steps: [{ do: 'message', payload: HELLO_UTF8, binary: false, fragmentSize: 1 }, closeAfter(1)],
  },
  {
    id: '6.2.4',
    description: `Send a valid UTF-8 text message in fragments of 1 octet, resulting in frames ending on positions which are not code point ends. MESSAGE: ${KOSME.toString('hex')}`,
    expectation: "The message is echo'ed back to us.",
    expected: { OK: [text(KOSME)] },
    expectedClose: CLEAN_NORMAL_CLOSE,
    steps: [{ do: 'message', payload: KOSME, binary: false, fragmentSize: 1 }, closeAfter(1)],
  },
  {
    id: '6.3.1',
    description: `Send invalid UTF-8 text message unfragmented. MESSAGE: ${KOSME_SURROGATE.toString('hex')}`,
    expectation: 'The connection is failed immediately, since the payload is not valid UTF-8.',
    expected: { OK: [] },
    expectedClose: FAIL_UTF8,
    steps: [{ do: 'message', payload: KOSME_SURROGATE, binary: false }, killAfter(1)],
  },
  {
    id: '6.3.2',
    description: `Send invalid UTF-8 text message in fragments of 1 octet. MESSAGE: ${KOSME_SURROGATE.toString('hex')}`,
    expectation: 'The connection is failed immediately, since the payload is not valid UTF-8.',
    expected: { OK: [] },
    expectedClose: FAIL_UTF8,
    steps: [{ do: 'message', payload: KOSME_SURROGATE, binary: false, fragmentSize: 1 }, killAfter(1)],
  },
  failFast('6.4.1', [KOSME, Buffer.from('f4908080', 'hex'), Buffer.from('edited')], false),
  failFast('6.4.2', [KOSME_TOO_BIG.subarray(0, 12), KOSME_TOO_BIG.subarray(12, 13), KOSME_TOO_BIG.subarray(13)], false),
  failFast('6.4.3', [KOSME, Buffer.from('f4908080', 'hex'), Buffer.from('edited')], true),
  failFast('6.4.4', [KOSME_TOO_BIG.subarray(0, 12), KOSME_TOO_BIG.subarray(12, 13), KOSME_TOO_BIG.subarray(13)], true),
];

/** 6.5.x-6.23.x: one text frame each; the connection is killed after 0.5 s. */
const sequences: CaseDef[] = UTF8_CATEGORIES.flatMap((category, c) =>
  category.sequences.map((seq, j): CaseDef => ({
    id: `6.${c + 5}.${j + 1}`,
    description: `${category.title}: a text message whose payload is ${seq.valid ? '' : 'not '}valid UTF-8, in one fragment. Payload: 0x${seq.bytes.toString('hex')}`,
    expectation: seq.valid ? "The message is echo'ed back to us." : 'The connection is failed immediately, since the payload is not valid UTF-8.',
    expected: { OK: seq.valid ? [text(seq.bytes)] : [] },
    expectedClose: seq.valid ? CLEAN_NORMAL_CLOSE : FAIL_UTF8,
    steps: [{ do: 'message', payload: seq.bytes, binary: false }, killAfter(0.5)],
  })),
);

export const GROUP_6: readonly CaseDef[] = [...fixed, ...sequences];
