/**
 * RFC 6455 §5.2 opcodes over real sockets (Autobahn group 4): "%x3-7 are
 * reserved for further non-control frames", "%xB-F are reserved for further
 * control frames", and "If an unknown opcode is received, the receiving
 * endpoint MUST _Fail the WebSocket Connection_."
 */
import { after, afterEach, before, describe, it } from 'node:test';

import { frame, ping, text } from '../helpers/frames.js';
import { TestServer } from '../helpers/raw-client.js';

const RESERVED = [3, 4, 5, 6, 7, 11, 12, 13, 14, 15];

describe('RFC 6455 reserved opcodes (§5.2)', () => {
  let ts: TestServer;
  before(async () => {
    ts = await TestServer.start();
  });
  afterEach(() => ts?.dropClients());
  after(() => ts?.stop());

  for (const opcode of RESERVED) {
    const kind = opcode < 8 ? 'non-control' : 'control';
    it(`reserved ${kind} opcode 0x${opcode.toString(16)} without payload fails with 1002`, async () => {
      const c = await ts.connect();
      c.send(frame({ opcode }));
      await c.expectFail(1002);
    });

    it(`reserved ${kind} opcode 0x${opcode.toString(16)} with payload fails with 1002`, async () => {
      const c = await ts.connect();
      c.send(frame({ opcode, payload: 'reserved opcode payload' }));
      await c.expectFail(1002);
    });
  }

  it('a valid message before a reserved opcode is echoed; a ping after it is not answered', async () => {
    const c = await ts.connect();
    c.send(Buffer.concat([text('before'), frame({ opcode: 5, payload: 'x' }), ping('after')]));
    await c.expectText('before');
    await c.expectFail(1002);
  });

  it('a reserved opcode in a later TCP write, after a ping was answered, fails with 1002', async () => {
    const c = await ts.connect();
    c.send(ping('first'));
    await c.expectPong('first');
    c.send(frame({ opcode: 0xb, payload: 'late' }));
    await c.expectFail(1002);
  });
});
