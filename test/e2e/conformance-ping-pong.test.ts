/**
 * RFC 6455 §5.5.2 Ping and §5.5.3 Pong over real sockets (Autobahn group 2).
 */
import { after, afterEach, before, describe, it } from 'node:test';

import { ping, pong, seededBytes, text } from '../helpers/frames.js';
import { TestServer } from '../helpers/raw-client.js';

describe('RFC 6455 ping and pong (§5.5.2, §5.5.3)', () => {
  let ts: TestServer;
  before(async () => {
    ts = await TestServer.start();
  });
  afterEach(() => ts?.dropClients());
  after(() => ts?.stop());

  it('a ping with no payload gets a pong with no payload', async () => {
    const c = await ts.connect();
    c.send(ping());
    await c.expectPong('');
  });

  it('a ping with a text payload gets a pong with the identical payload', async () => {
    const c = await ts.connect();
    c.send(ping('Hello, pong'));
    await c.expectPong('Hello, pong');
  });

  it('a ping with a binary payload (not UTF-8) gets a pong with identical bytes', async () => {
    const c = await ts.connect();
    const payload = Buffer.from([0x00, 0xff, 0xfe, 0xfd, 0xfc, 0xfb, 0x00, 0xff]);
    c.send(ping(payload));
    await c.expectPong(payload);
  });

  it('a ping with a 125-byte payload (the maximum) gets a pong with identical bytes', async () => {
    const c = await ts.connect();
    const payload = seededBytes(125, 125);
    c.send(ping(payload));
    await c.expectPong(payload);
  });

  it('a ping with a 126-byte payload fails the connection with 1002 (§5.5 control frames ≤ 125)', async () => {
    const c = await ts.connect();
    c.send(ping(seededBytes(126, 126)));
    await c.expectFail(1002);
  });

  it('a 125-byte ping dribbled 1 byte per TCP write gets its pong', async () => {
    const c = await ts.connect();
    const payload = seededBytes(125, 9);
    await c.sendChunks(ping(payload), 1, 1);
    await c.expectPong(payload, 3000);
  });

  it('an unsolicited pong is ignored: no reply, and the next text is still echoed', async () => {
    const c = await ts.connect();
    c.send(pong('unsolicited'));
    c.send(text('after the pong'));
    await c.expectText('after the pong');
  });

  it('an unsolicited empty pong followed by a ping: only the ping is answered', async () => {
    const c = await ts.connect();
    c.send(Buffer.concat([pong(), ping('only me')]));
    await c.expectPong('only me');
    await c.expectNoFrame(50, 'a pong must not be answered');
  });

  it('10 pings in one TCP write get 10 pongs, in order', async () => {
    const c = await ts.connect();
    const payloads = Array.from({ length: 10 }, (_, i) => `ping number ${i}`);
    c.send(Buffer.concat(payloads.map((p) => ping(p))));
    for (const p of payloads) await c.expectPong(p);
  });

  it('pings interleaved with messages are answered in stream order', async () => {
    const c = await ts.connect();
    c.send(Buffer.concat([text('one'), ping('p1'), text('two'), ping('p2')]));
    await c.expectText('one');
    await c.expectPong('p1');
    await c.expectText('two');
    await c.expectPong('p2');
  });
});
