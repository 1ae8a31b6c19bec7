/**
 * RFC 6455 §5.5.1 Close and §7 closing the connection, over real sockets
 * (Autobahn group 7 and every case's `behaviorClose`).
 *
 * §5.5.1: "If an endpoint receives a Close frame and did not previously send
 * a Close frame, the endpoint MUST send a Close frame in response."
 * §7.1.1: "the server SHOULD close the underlying TCP connection first" — so
 * after the closing handshake, the test client waits for the server's FIN.
 * §7.4.1/§7.4.2: which codes may appear on the wire.
 */
import assert from 'node:assert/strict';
import { after, afterEach, before, describe, it } from 'node:test';

import { OP, closePayload, frame, ping, text } from '../helpers/frames.js';
import { RawClient, TestServer, type Handler } from '../helpers/raw-client.js';

const VALID_CODES = [1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 3000, 3999, 4000, 4999];
const INVALID_CODES = [0, 999, 1004, 1005, 1006, 1016, 1100, 2000, 2999];

/** After our close and the server's answer, the server closes TCP first and cleanly. */
async function expectServerClosesTcp(c: RawClient): Promise<void> {
  const info = await c.waitForTcpClose(2000);
  assert.ok(info.serverClosedFirst, 'the server must close the TCP connection first (§7.1.1)');
  assert.equal(info.reset, false, 'the server reset the TCP connection instead of closing it');
}

describe('RFC 6455 closing handshake (§5.5.1, §7)', () => {
  let ts: TestServer;
  before(async () => {
    ts = await TestServer.start();
  });
  afterEach(() => ts?.dropClients());
  after(() => ts?.stop());

  describe('valid closes are answered, then the server closes TCP', () => {
    it('a close with no payload is answered with a close (empty or 1000), then TCP is closed by the server', async () => {
      const c = await ts.connect();
      c.sendClose();
      await c.expectClose([null, 1000]);
      await expectServerClosesTcp(c);
    });

    for (const code of VALID_CODES) {
      it(`close code ${code} is echoed`, async () => {
        const c = await ts.connect();
        c.sendClose(code);
        await c.expectClose(code);
        await expectServerClosesTcp(c);
      });
    }

    it('a close with code 1000 and a 123-byte reason (a 125-byte payload) is accepted', async () => {
      const c = await ts.connect();
      const reason = 'r'.repeat(123);
      c.sendClose(1000, reason);
      const body = await c.expectClose(1000);
      assert.ok(body.reason === '' || body.reason === reason, `reason must be echoed or omitted, got ${JSON.stringify(body.reason)}`);
      await expectServerClosesTcp(c);
    });

    it('a close reason with multi-byte UTF-8 is accepted', async () => {
      const c = await ts.connect();
      c.sendClose(1000, 'κόσμε 𝄞 bye');
      await c.expectClose(1000);
      await expectServerClosesTcp(c);
    });

    it('a message and a close in one write: the message is echoed, then the close', async () => {
      const c = await ts.connect();
      c.send(Buffer.concat([text('Hello'), frame({ opcode: OP.CLOSE, payload: closePayload(1000) })]));
      await c.expectText('Hello');
      await c.expectClose(1000);
      await expectServerClosesTcp(c);
    });
  });

  describe('invalid close frames fail the connection', () => {
    for (const code of INVALID_CODES) {
      it(`close code ${code} fails with 1002`, async () => {
        const c = await ts.connect();
        c.sendClose(code);
        await c.expectFail(1002);
      });
    }

    it('a 1-byte close payload fails with 1002', async () => {
      const c = await ts.connect();
      c.send(frame({ opcode: OP.CLOSE, payload: Buffer.of(0x03) }));
      await c.expectFail(1002);
    });

    it('a 126-byte close payload (code + 124-byte reason) fails with 1002: control frames are at most 125 bytes', async () => {
      const c = await ts.connect();
      c.send(frame({ opcode: OP.CLOSE, payload: closePayload(1000, 'r'.repeat(124)) }));
      await c.expectFail(1002);
    });

    it('a close reason that is not valid UTF-8 fails with 1007', async () => {
      const c = await ts.connect();
      c.send(frame({ opcode: OP.CLOSE, payload: Buffer.concat([closePayload(1000), Buffer.from('cebaeda0806564', 'hex')]) }));
      await c.expectFail(1007);
    });

    it('a close reason truncated in the middle of a code point fails with 1007', async () => {
      const c = await ts.connect();
      c.send(frame({ opcode: OP.CLOSE, payload: Buffer.concat([closePayload(1000), Buffer.from('e282', 'hex')]) }));
      await c.expectFail(1007);
    });
  });

  describe('after the client\'s close', () => {
    it('data frames in the same write after the close are ignored (no echo, no pong)', async () => {
      const c = await ts.connect();
      c.send(Buffer.concat([frame({ opcode: OP.CLOSE, payload: closePayload(1000) }), text('ignored'), ping('ignored')]));
      await c.expectClose(1000);
      await expectServerClosesTcp(c);
      assert.deepEqual(c.pendingFrames().length, 0, 'nothing may follow the server\'s close frame');
    });

    it('data frames in a later write after the close are ignored', async () => {
      const c = await ts.connect();
      c.sendClose(1000);
      c.send(text('too late'));
      c.send(ping('too late'));
      await c.expectClose(1000);
      await expectServerClosesTcp(c);
      assert.equal(c.pendingFrames().length, 0, 'nothing may follow the server\'s close frame');
    });

    it('a close between two fragments of a message is a normal close (1000), not an error', async () => {
      const c = await ts.connect();
      c.send(Buffer.concat([text('first half ', { fin: false }), frame({ opcode: OP.CLOSE, payload: closePayload(1000) })]));
      await c.expectClose(1000);
      await expectServerClosesTcp(c);
      assert.equal(c.pendingFrames().length, 0, 'the unfinished message must not be delivered');
    });
  });

  describe('after a protocol error', () => {
    it('the server sends its close frame first, then closes TCP promptly once the client answers', async () => {
      const c = await ts.connect();
      const started = Date.now();
      c.send(frame({ opcode: 0x3 }));
      await c.expectClose(1002); // answers with a close of its own
      await expectServerClosesTcp(c);
      assert.ok(Date.now() - started < 1000, `closing took ${Date.now() - started} ms`);
    });

    it('after its close, the server discards further frames (no echo, no pong) until the client\'s close', async () => {
      const c = await ts.connect();
      c.send(frame({ opcode: 0xc }));
      await c.expectClose(1002, { reply: false });
      c.send(Buffer.concat([text('ignored'), ping('ignored')]));
      await c.expectNoFrame(50, 'the server has already sent its close');
      c.sendClose(1002);
      await expectServerClosesTcp(c);
      assert.equal(c.pendingFrames().length, 0);
    });
  });
});

describe('closing when the client never answers (closeTimeout)', () => {
  let ts: TestServer;
  before(async () => {
    ts = await TestServer.start({ closeTimeout: 300 });
  });
  afterEach(() => ts?.dropClients());
  after(() => ts?.stop());

  it('after a protocol error the server closes TCP by itself within closeTimeout + margin', async () => {
    const c = await ts.connect();
    c.send(frame({ opcode: 0x7 }));
    await c.expectClose(1002, { reply: false });
    const started = Date.now();
    const info = await c.waitForTcpClose(1500);
    assert.ok(info.serverClosedFirst, 'the server must not wait for the client forever');
    assert.ok(Date.now() - started < 1300, `TCP closed after ${Date.now() - started} ms (closeTimeout 300)`);
  });
});

describe('close as seen by the connection handler', () => {
  const closes: { code: number; reason: string }[] = [];
  let ts: TestServer;
  before(async () => {
    const handler: Handler = (conn) => {
      conn.on('error', () => {});
      conn.on('close', (code: number, reason: string | Buffer) => closes.push({ code, reason: String(reason) }));
      conn.on('message', (data: string | Buffer) => {
        if (data === 'please close') conn.close(4321, 'as you wish');
        else conn.send(data);
      });
    };
    ts = await TestServer.start({}, handler);
  });
  afterEach(() => ts?.dropClients());
  after(() => ts?.stop());

  const waitForCloses = async (n: number): Promise<void> => {
    for (let i = 0; i < 100 && closes.length < n; i++) await new Promise((r) => setTimeout(r, 10));
    assert.ok(closes.length >= n, `expected ${n} 'close' events, got ${closes.length}`);
  };

  it('a client close with code and reason reaches the handler\'s "close" event', async () => {
    closes.length = 0;
    const c = await ts.connect();
    c.sendClose(4000, 'client bye');
    await c.expectClose(4000);
    await expectServerClosesTcp(c);
    await waitForCloses(1);
    assert.deepEqual(closes[0], { code: 4000, reason: 'client bye' });
  });

  it('an abrupt TCP close (no close frame) reaches the handler as 1006', async () => {
    closes.length = 0;
    const c = await ts.connect();
    c.send(text('hello'));
    await c.expectText('hello');
    c.destroy();
    await waitForCloses(1);
    assert.equal(closes[0].code, 1006);
  });

  it('a server-initiated close(4321, reason) sends that close frame; after the client answers, the server closes TCP', async () => {
    closes.length = 0;
    const c = await ts.connect();
    c.send(text('please close'));
    const body = await c.expectClose(4321); // and answers it
    assert.equal(body.reason, 'as you wish');
    await expectServerClosesTcp(c);
    await waitForCloses(1);
    assert.equal(closes[0].code, 4321);
  });

  it('§5.5.2: after its own close, while waiting for the client\'s, the server still answers a ping (a pong, not data)', async () => {
    closes.length = 0;
    const c = await ts.connect();
    c.send(text('please close'));
    await c.expectClose(4321, { reply: false });
    c.send(Buffer.concat([ping('still-there'), text('not echoed')]));
    await c.expectPong('still-there'); // no Close received yet: the pong is owed
    await c.expectNoFrame(50, 'data frames are not sent after a close (§5.5.1)');
    c.sendClose(4321);
    await expectServerClosesTcp(c);
    await waitForCloses(1);
    assert.equal(closes[0].code, 4321);
  });
});

describe('server.close() is graceful', () => {
  it('every open connection receives 1001 and close() resolves once they are closed', async (t) => {
    const ts = await TestServer.start();
    t.after(() => ts.stop());
    const a = await ts.connect();
    const b = await ts.connect();
    const closing = ts.closeServer();
    await a.expectClose(1001);
    await b.expectClose(1001);
    await expectServerClosesTcp(a);
    await expectServerClosesTcp(b);
    await closing;
    await assert.rejects(RawClient.connect(ts.port, { timeoutMs: 500 }), 'a closed server must not accept new connections');
  });
});
