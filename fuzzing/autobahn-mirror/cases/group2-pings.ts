/**
 * Group 2, Pings/Pongs: a ping must be answered by a pong with the same
 * payload (RFC 6455 §5.5.3), a 126-byte ping is a protocol error (§5.5),
 * an unsolicited pong needs no answer (§5.5.3).
 */
import type { CaseDef } from '../case-types.js';
import { bytes, CLEAN_NORMAL_CLOSE, closeAfter, frame, killAfter, pong, PROTOCOL_ERROR, serverFails } from './helpers.js';

const PING = 9;
const PONG = 10;

const tenPings = (chop?: number): CaseDef['steps'] => [
  ...Array.from({ length: 10 }, (_, i) => frame(PING, `payload-${i}`, chop ? { chop } : {})),
  closeAfter(3),
];

export const GROUP_2: readonly CaseDef[] = [
  {
    id: '2.1',
    description: 'Send ping without payload.',
    expectation: 'Pong (with empty payload) is sent in reply to Ping. Clean close with normal code.',
    expected: { OK: [pong()] },
    expectedClose: CLEAN_NORMAL_CLOSE,
    steps: [frame(PING), closeAfter(1)],
  },
  {
    id: '2.2',
    description: 'Send ping with small text payload.',
    expectation: "Pong with payload echo'ed is sent in reply to Ping. Clean close with normal code.",
    expected: { OK: [pong('Hello, world!')] },
    expectedClose: CLEAN_NORMAL_CLOSE,
    steps: [frame(PING, 'Hello, world!'), closeAfter(1)],
  },
  {
    id: '2.3',
    description: 'Send ping with small binary (non UTF-8) payload.',
    expectation: "Pong with payload echo'ed is sent in reply to Ping. Clean close with normal code.",
    expected: { OK: [pong(bytes('00fffefdfcfb00ff'))] },
    expectedClose: CLEAN_NORMAL_CLOSE,
    steps: [frame(PING, bytes('00fffefdfcfb00ff')), closeAfter(1)],
  },
  {
    id: '2.4',
    description: 'Send ping with binary payload of 125 octets.',
    expectation: "Pong with payload echo'ed is sent in reply to Ping. Clean close with normal code.",
    expected: { OK: [pong(Buffer.alloc(125, 0xfe))] },
    expectedClose: CLEAN_NORMAL_CLOSE,
    steps: [frame(PING, Buffer.alloc(125, 0xfe)), closeAfter(1)],
  },
  {
    id: '2.5',
    description: 'Send ping with binary payload of 126 octets.',
    expectation: 'Connection is failed immediately (1002/Protocol Error), since control frames may carry at most 125 octets.',
    expected: { OK: [] },
    expectedClose: serverFails(PROTOCOL_ERROR),
    steps: [frame(PING, Buffer.alloc(126, 0xfe)), killAfter(1)],
  },
  {
    id: '2.6',
    description: 'Send ping with binary payload of 125 octets, written in octet-wise TCP chunks.',
    expectation: "Pong with payload echo'ed is sent in reply to Ping. Implementations must be TCP clean. Clean close with normal code.",
    expected: { OK: [pong(Buffer.alloc(125, 0xfe))] },
    expectedClose: CLEAN_NORMAL_CLOSE,
    steps: [frame(PING, Buffer.alloc(125, 0xfe), { chop: 1 }), closeAfter(2)],
  },
  {
    id: '2.7',
    description: 'Send unsolicited pong without payload. Verify nothing is received. Clean close with normal code.',
    expectation: 'Nothing.',
    expected: { OK: [] },
    expectedClose: CLEAN_NORMAL_CLOSE,
    steps: [frame(PONG), { do: 'close', code: 1000 }, closeAfter(1)],
  },
  {
    id: '2.8',
    description: 'Send unsolicited pong with payload. Verify nothing is received. Clean close with normal code.',
    expectation: 'Nothing.',
    expected: { OK: [] },
    expectedClose: CLEAN_NORMAL_CLOSE,
    steps: [frame(PONG, 'unsolicited pong payload'), { do: 'close', code: 1000 }, closeAfter(1)],
  },
  {
    id: '2.9',
    description: 'Send unsolicited pong with payload. Send ping with payload. Verify pong for ping is received.',
    expectation: "Nothing in reply to own Pong, but Pong with payload echo'ed in reply to Ping. Clean close with normal code.",
    expected: { OK: [pong('ping payload')] },
    expectedClose: CLEAN_NORMAL_CLOSE,
    steps: [frame(PONG, 'unsolicited pong payload'), frame(PING, 'ping payload'), closeAfter(1)],
  },
  {
    id: '2.10',
    description: 'Send 10 Pings with payload.',
    expectation: 'Pongs for our Pings with all the payloads. Note: This is not required by the Spec .. but we check for this behaviour anyway. Clean close with normal code.',
    expected: { OK: Array.from({ length: 10 }, (_, i) => pong(`payload-${i}`)) },
    expectedClose: CLEAN_NORMAL_CLOSE,
    steps: tenPings(),
  },
  {
    id: '2.11',
    description: 'Send 10 Pings with payload, written in octet-wise TCP chunks.',
    expectation: 'Pongs for our Pings with all the payloads. Note: This is not required by the Spec .. but we check for this behaviour anyway. Clean close with normal code.',
    expected: { OK: Array.from({ length: 10 }, (_, i) => pong(`payload-${i}`)) },
    expectedClose: CLEAN_NORMAL_CLOSE,
    steps: tenPings(1),
  },
];
