/**
 * Group 4, Opcodes: "If an unknown opcode is received, the receiving endpoint
 * MUST _Fail the WebSocket Connection_" (RFC 6455 §5.2). 4.1 uses the reserved
 * non-control opcodes 3-7, 4.2 the reserved control opcodes 11-15.
 */
import type { CaseDef } from '../case-types.js';
import { frame, killAfter, PROTOCOL_ERROR, serverFails, text } from './helpers.js';

const HELLO = 'Hello, world!';
const FAIL = serverFails(PROTOCOL_ERROR);

function build(sub: 1 | 2, opcodes: readonly [number, number, number, number, number]): CaseDef[] {
  const kind = sub === 1 ? 'non-control' : 'control';
  const [a, b, c, d, e] = opcodes;
  return [
    {
      id: `4.${sub}.1`,
      description: `Send frame with reserved ${kind} Opcode = ${a}.`,
      expectation: 'The connection is failed immediately.',
      expected: { OK: [] },
      expectedClose: FAIL,
      steps: [frame(a), killAfter(1)],
    },
    {
      id: `4.${sub}.2`,
      description: `Send frame with reserved ${kind} Opcode = ${b} and non-empty payload.`,
      expectation: 'The connection is failed immediately.',
      expected: { OK: [] },
      expectedClose: FAIL,
      steps: [frame(b, 'reserved opcode payload'), killAfter(1)],
    },
    {
      id: `4.${sub}.3`,
      description: `Send small text message, then send frame with reserved ${kind} Opcode = ${c}, then send Ping.`,
      expectation: 'Echo for first message is received, but then connection is failed immediately, since reserved opcode frame is used. A Pong is not received.',
      expected: { OK: [text(HELLO)], 'NON-STRICT': [] },
      expectedClose: FAIL,
      steps: [frame(1, HELLO), frame(c), frame(9), killAfter(1)],
    },
    {
      id: `4.${sub}.4`,
      description: `Send small text message, then send frame with reserved ${kind} Opcode = ${d} and non-empty payload, then send Ping.`,
      expectation: 'Echo for first message is received, but then connection is failed immediately, since reserved opcode frame is used. A Pong is not received.',
      expected: { OK: [text(HELLO)], 'NON-STRICT': [] },
      expectedClose: FAIL,
      steps: [frame(1, HELLO), frame(d, HELLO), frame(9), killAfter(1)],
    },
    {
      id: `4.${sub}.5`,
      description: `Send small text message, then send frame with reserved ${kind} Opcode = ${e} and non-empty payload, then send Ping. Octets are sent in octet-wise chops.`,
      expectation: 'Echo for first message is received, but then connection is failed immediately, since reserved opcode frame is used. A Pong is not received.',
      expected: { OK: [text(HELLO)], 'NON-STRICT': [] },
      expectedClose: FAIL,
      steps: [frame(1, HELLO, { chop: 1 }), frame(e, HELLO, { chop: 1 }), frame(9, '', { chop: 1 }), killAfter(1)],
    },
  ];
}

export const GROUP_4: readonly CaseDef[] = [...build(1, [3, 4, 5, 6, 7]), ...build(2, [11, 12, 13, 14, 15])];
