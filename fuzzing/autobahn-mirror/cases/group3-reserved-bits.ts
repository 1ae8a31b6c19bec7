/**
 * Group 3, Reserved Bits: RSV1-3 "MUST be 0 unless an extension is negotiated
 * that defines meanings for non-zero values" (RFC 6455 §5.2). What came before
 * the bad frame must still be echoed (OK); failing before echoing it is
 * NON-STRICT.
 */
import type { CaseDef } from '../case-types.js';
import { bytes, frame, killAfter, PROTOCOL_ERROR, serverFails, text } from './helpers.js';

const HELLO = 'Hello, world!';
const FAIL = serverFails(PROTOCOL_ERROR);

export const GROUP_3: readonly CaseDef[] = [
  {
    id: '3.1',
    description: 'Send small text message with RSV = 1.',
    expectation: 'The connection is failed immediately (1002/protocol error), since RSV must be 0, when no extension defining RSV meaning has been negotiated.',
    expected: { OK: [] },
    expectedClose: FAIL,
    steps: [frame(1, HELLO, { rsv: 1 }), killAfter(1)],
  },
  {
    id: '3.2',
    description: 'Send small text message, then send again with RSV = 2, then send Ping.',
    expectation: 'Echo for first message is received, but then connection is failed immediately, since RSV must be 0, when no extension defining RSV meaning has been negotiated. The Pong is not received.',
    expected: { OK: [text(HELLO)], 'NON-STRICT': [] },
    expectedClose: FAIL,
    steps: [frame(1, HELLO), frame(1, HELLO, { rsv: 2 }), frame(9), killAfter(1)],
  },
  {
    id: '3.3',
    description: 'Send small text message, then send again with RSV = 3, then send Ping. Octets are sent in frame-wise chops.',
    expectation: 'Echo for first message is received, but then connection is failed immediately, since RSV must be 0, when no extension defining RSV meaning has been negotiated. The Pong is not received.',
    expected: { OK: [text(HELLO)], 'NON-STRICT': [] },
    expectedClose: FAIL,
    steps: [frame(1, HELLO, { sync: true }), frame(1, HELLO, { rsv: 3, sync: true }), frame(9, '', { sync: true }), killAfter(1)],
  },
  {
    id: '3.4',
    description: 'Send small text message, then send again with RSV = 4, then send Ping. Octets are sent in octet-wise chops.',
    expectation: 'Echo for first message is received, but then connection is failed immediately, since RSV must be 0, when no extension defining RSV meaning has been negotiated. The Pong is not received.',
    expected: { OK: [text(HELLO)], 'NON-STRICT': [] },
    expectedClose: FAIL,
    steps: [frame(1, HELLO, { chop: 1 }), frame(1, HELLO, { rsv: 4, chop: 1 }), frame(9, '', { chop: 1 }), killAfter(1)],
  },
  {
    id: '3.5',
    description: 'Send small binary message with RSV = 5.',
    expectation: 'The connection is failed immediately, since RSV must be 0.',
    expected: { OK: [] },
    expectedClose: FAIL,
    steps: [frame(2, bytes('00fffefdfcfb00ff'), { rsv: 5 }), killAfter(1)],
  },
  {
    // Autobahn's description says "Ping", but the released case sends a
    // binary frame (opcode 2); we send what Autobahn sends.
    id: '3.6',
    description: 'Send Ping with RSV = 6 (as released, Autobahn sends it as a binary frame).',
    expectation: 'The connection is failed immediately, since RSV must be 0.',
    expected: { OK: [] },
    expectedClose: FAIL,
    steps: [frame(2, HELLO, { rsv: 6 }), killAfter(1)],
  },
  {
    id: '3.7',
    description: 'Send Close with RSV = 7.',
    expectation: 'The connection is failed immediately, since RSV must be 0.',
    expected: { OK: [] },
    expectedClose: FAIL,
    steps: [frame(8, '', { rsv: 7 }), killAfter(1)],
  },
];
