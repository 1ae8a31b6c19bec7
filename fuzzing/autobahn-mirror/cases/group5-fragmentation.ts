/**
 * Group 5, Fragmentation (RFC 6455 §5.4): control frames must not be
 * fragmented; fragments must be assembled in order; control frames may come
 * between fragments and must be answered at once; a continuation with nothing
 * to continue, or a new data frame before the last fragment, is an error.
 * "Frame-wise chops" = each frame its own TCP write; "octet-wise" = one byte
 * per TCP write.
 */
import type { CaseDef, FrameStep } from '../case-types.js';
import { CLEAN_NORMAL_CLOSE, closeAfter, frame, killAfter, pong, PROTOCOL_ERROR, serverFails, text, wait } from './helpers.js';

const FAIL = serverFails(PROTOCOL_ERROR);
type How = { sync?: boolean; chop?: number };
const ONE_CHOP: How = {};
const FRAME_CHOPS: How = { sync: true };
const OCTET_CHOPS: How = { chop: 1 };

/** 5.3-5.5: a two-fragment text message. */
function twoFragments(id: string, how: How, where: string): CaseDef {
  return {
    id,
    description: `Send text Message fragmented into 2 fragments${where}.`,
    expectation: "Message is processed and echo'ed back to us.",
    expected: { OK: [text('fragment1fragment2')] },
    expectedClose: CLEAN_NORMAL_CLOSE,
    steps: [frame(1, 'fragment1', { fin: false, ...how }), frame(0, 'fragment2', how), closeAfter(1)],
  };
}

/** 5.6-5.8: a ping between the two fragments is answered before the echo. */
function pingBetween(id: string, how: How, where: string): CaseDef {
  return {
    id,
    description: `Send text Message fragmented into 2 fragments, one ping with payload in-between${where}.`,
    expectation: "A pong is received, then the message is echo'ed back to us.",
    expected: { OK: [pong('ping payload'), text('fragment1fragment2')] },
    expectedClose: CLEAN_NORMAL_CLOSE,
    steps: [
      frame(1, 'fragment1', { fin: false, ...how }),
      frame(9, 'ping payload', how),
      frame(0, 'fragment2', how),
      closeAfter(1),
    ],
  };
}

/** 5.9-5.14: a continuation frame (FIN set or not) with nothing to continue, then a text message. */
function orphanContinuation(id: string, fin: boolean, how: How, where: string): CaseDef {
  return {
    id,
    description: `Send unfragmented Text Message after Continuation Frame with FIN = ${fin}, where there is nothing to continue, sent in ${where}.`,
    expectation: 'The connection is failed immediately, since there is no message to continue.',
    expected: { OK: [] },
    expectedClose: FAIL,
    steps: [frame(0, 'non-continuation payload', { fin, ...how }), frame(1, 'Hello, world!', how), killAfter(1)],
  };
}

/** 5.16-5.17: twice, an orphan continuation then a fragmented text message. */
function repeatedOrphans(id: string, fin: boolean): CaseDef {
  const round: FrameStep[] = [
    { do: 'frame', opcode: 0, payload: 'fragment1', fin },
    { do: 'frame', opcode: 1, payload: 'fragment2', fin: false },
    { do: 'frame', opcode: 0, payload: 'fragment3', fin: true },
  ];
  return {
    id,
    description: `Repeated 2x: Continuation Frame with FIN = ${fin} (where there is nothing to continue), then text Message fragmented into 2 fragments.`,
    expectation: 'The connection is failed immediately, since there is no message to continue.',
    expected: { OK: [] },
    expectedClose: FAIL,
    steps: [...round, ...round, killAfter(1)],
  };
}

/** 5.19-5.20: five fragments, a ping after the second and after the fourth, with a 1 s pause in the middle. */
function pingsWithPause(id: string, sync: boolean): CaseDef {
  const how: How = sync ? FRAME_CHOPS : ONE_CHOP;
  return {
    id,
    description: `A fragmented text message is sent in multiple frames${sync ? ' (frame-wise chops)' : ''}. After sending the first 2 frames of the text message, a Ping is sent. Then we wait 1s, then we send 2 more text fragments, another Ping and then the final text fragment. Everything is legal.`,
    expectation: "The peer immediately answers the first Ping before it has received the last text message fragment. The peer pong's back the Ping's payload exactly, and echo's the payload of the fragmented message back to us.",
    expected: { OK: [pong('pongme 1!'), pong('pongme 2!'), text('fragment1fragment2fragment3fragment4fragment5')] },
    expectedClose: CLEAN_NORMAL_CLOSE,
    steps: [
      frame(1, 'fragment1', { fin: false, ...how }),
      frame(0, 'fragment2', { fin: false, ...how }),
      frame(9, 'pongme 1!', how),
      wait(1),
      frame(0, 'fragment3', { fin: false, ...how }),
      frame(0, 'fragment4', { fin: false, ...how }),
      frame(9, 'pongme 2!', how),
      frame(0, 'fragment5', how),
      closeAfter(1),
    ],
  };
}

export const GROUP_5: readonly CaseDef[] = [
  {
    id: '5.1',
    description: 'Send Ping fragmented into 2 fragments.',
    expectation: 'Connection is failed immediately, since control message MUST NOT be fragmented.',
    expected: { OK: [] },
    expectedClose: FAIL,
    steps: [frame(9, 'fragment1', { fin: false }), frame(0, 'fragment2'), killAfter(1)],
  },
  {
    id: '5.2',
    description: 'Send Pong fragmented into 2 fragments.',
    expectation: 'Connection is failed immediately, since control message MUST NOT be fragmented.',
    expected: { OK: [] },
    expectedClose: FAIL,
    steps: [frame(10, 'fragment1', { fin: false }), frame(0, 'fragment2'), killAfter(1)],
  },
  twoFragments('5.3', ONE_CHOP, ''),
  twoFragments('5.4', FRAME_CHOPS, ', octets are sent in frame-wise chops'),
  twoFragments('5.5', OCTET_CHOPS, ', octets are sent in octet-wise chops'),
  pingBetween('5.6', ONE_CHOP, ''),
  pingBetween('5.7', FRAME_CHOPS, '. Octets are sent in frame-wise chops'),
  pingBetween('5.8', OCTET_CHOPS, '. Octets are sent in octet-wise chops'),
  orphanContinuation('5.9', true, ONE_CHOP, 'one chop'),
  orphanContinuation('5.10', true, FRAME_CHOPS, 'per-frame chops'),
  orphanContinuation('5.11', true, OCTET_CHOPS, 'octet-wise chops'),
  orphanContinuation('5.12', false, ONE_CHOP, 'one chop'),
  orphanContinuation('5.13', false, FRAME_CHOPS, 'per-frame chops'),
  orphanContinuation('5.14', false, OCTET_CHOPS, 'octet-wise chops'),
  {
    id: '5.15',
    description: 'Send text Message fragmented into 2 fragments, then Continuation Frame with FIN = false where there is nothing to continue, then unfragmented Text Message, all sent in one chop.',
    expectation: 'The connection is failed immediately, since there is no message to continue.',
    expected: { OK: [text('fragment1fragment2')], 'NON-STRICT': [] },
    expectedClose: FAIL,
    steps: [
      frame(1, 'fragment1', { fin: false }),
      frame(0, 'fragment2'),
      frame(0, 'fragment3', { fin: false }),
      frame(1, 'fragment4'),
      killAfter(1),
    ],
  },
  repeatedOrphans('5.16', false),
  repeatedOrphans('5.17', true),
  {
    id: '5.18',
    description: 'Send text Message fragmented into 2 fragments, with both frame opcodes set to text, sent in one chop.',
    expectation: 'The connection is failed immediately, since all data frames after the initial data frame must have opcode 0.',
    expected: { OK: [] },
    expectedClose: FAIL,
    steps: [frame(1, 'fragment1', { fin: false }), frame(1, 'fragment2'), killAfter(1)],
  },
  pingsWithPause('5.19', false),
  pingsWithPause('5.20', true),
];
