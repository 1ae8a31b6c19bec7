/**
 * RFC 6455 §5.2 RSV1–RSV3 over real sockets (Autobahn group 3): "MUST be 0
 * unless an extension is negotiated that defines meanings for non-zero
 * values. If a nonzero value is received and none of the negotiated
 * extensions defines the meaning of such a nonzero value, the receiving
 * endpoint MUST _Fail the WebSocket Connection_." No extension is negotiated
 * here, so every RSV bit is an error.
 */
import { after, afterEach, before, describe, it } from 'node:test';

import { RSV1, RSV2, RSV3, binary, close, cont, ping, pong, text } from '../helpers/frames.js';
import { TestServer } from '../helpers/raw-client.js';

const BITS = [
  ['RSV1', RSV1],
  ['RSV2', RSV2],
  ['RSV3', RSV3],
  ['RSV1+RSV2+RSV3', RSV1 | RSV2 | RSV3],
] as const;

const KINDS = [
  ['text', (rsv: number) => text('Hello', { rsv })],
  ['binary', (rsv: number) => binary(Buffer.from([0xde, 0xad]), { rsv })],
  ['ping', (rsv: number) => ping('Hello', { rsv })],
  ['close', (rsv: number) => close(1000, '', { rsv })],
] as const;

describe('RFC 6455 reserved bits (§5.2)', () => {
  let ts: TestServer;
  before(async () => {
    ts = await TestServer.start();
  });
  afterEach(() => ts?.dropClients());
  after(() => ts?.stop());

  for (const [kind, build] of KINDS) {
    for (const [bitName, rsv] of BITS) {
      it(`${bitName} on a ${kind} frame fails the connection with 1002`, async () => {
        const c = await ts.connect();
        c.send(build(rsv));
        // The bad ping must not be answered, nor the bad close treated as a close.
        await c.expectFail(1002);
      });
    }
  }

  it('a valid message BEFORE the bad frame is echoed first, then 1002', async () => {
    const c = await ts.connect();
    c.send(Buffer.concat([text('valid first'), text('bad', { rsv: RSV2 })]));
    await c.expectText('valid first');
    await c.expectFail(1002);
  });

  it('a ping AFTER the bad frame (same write) is not answered: the rest of the input is discarded', async () => {
    const c = await ts.connect();
    c.send(Buffer.concat([text('valid first'), text('bad', { rsv: RSV3 }), ping('too late')]));
    await c.expectText('valid first');
    await c.expectFail(1002);
  });

  it('RSV1 on a continuation frame fails the connection with 1002 (and the message is not delivered)', async () => {
    const c = await ts.connect();
    c.send(Buffer.concat([text('frag', { fin: false }), cont('ment', { rsv: RSV1 })]));
    await c.expectFail(1002);
  });

  it('RSV2 on a pong fails the connection with 1002', async () => {
    const c = await ts.connect();
    c.send(Buffer.concat([text('valid first'), ping(), pong('pong?', { rsv: RSV2 })]));
    await c.expectText('valid first');
    await c.expectPong('');
    await c.expectFail(1002);
  });
});
