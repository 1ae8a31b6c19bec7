/**
 * Hostile and broken peers: garbage, truncation, slowness, absurd lengths.
 * Each case must end with the offending connection closed, and the server
 * still accepting: every test finishes with a fresh client getting an echo.
 */
import assert from 'node:assert/strict';
import { after, afterEach, before, describe, it } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';

import { OP, frame, seededBytes, text } from '../helpers/frames.js';
import { RawClient, TestServer, upgradeRequest } from '../helpers/raw-client.js';

const HANDSHAKE_TIMEOUT = 300;

describe('robustness against broken and hostile peers', () => {
  let ts: TestServer;
  before(async () => {
    ts = await TestServer.start({ handshakeTimeout: HANDSHAKE_TIMEOUT });
  });
  afterEach(() => ts?.dropClients());
  after(() => ts?.stop());

  describe('before the handshake completes', () => {
    it('a line of ASCII garbage instead of a request → 400 and closed', async () => {
      const result = await ts.request('HELLO THERE, SERVER\r\n\r\n');
      assert.equal(result.response?.status, 400, `got ${JSON.stringify(result.raw.toString('latin1').slice(0, 100))}`);
      assert.ok(result.closed, 'the server must close the connection');
      await ts.assertEchoWorks();
    });

    it('binary garbage instead of a request → 400 and closed', async () => {
      const garbage = Buffer.concat([seededBytes(512, 0xbad), Buffer.from('\r\n\r\n')]);
      const result = await ts.request(garbage);
      assert.equal(result.response?.status, 400, `got ${JSON.stringify(result.raw.toString('latin1').slice(0, 100))}`);
      assert.ok(result.closed, 'the server must close the connection');
      await ts.assertEchoWorks();
    });

    it('a WebSocket frame instead of a request → 400 and closed', async () => {
      const result = await ts.request(Buffer.concat([text('not HTTP'), Buffer.from('\r\n\r\n')]));
      assert.equal(result.response?.status, 400);
      assert.ok(result.closed);
      await ts.assertEchoWorks();
    });

    it('a truncated request followed by the client\'s FIN → the server closes too, and keeps serving others', async () => {
      const partial = upgradeRequest(ts.port).slice(0, 40);
      const result = await ts.request(partial, { endAfterSend: true, timeoutMs: 1000 });
      assert.ok(result.closed, 'the server must close a connection whose request can never complete');
      assert.notEqual(result.response?.status, 101);
      // The FIN says the request will never complete: no reason to hold the
      // socket until the handshake deadline (10 s by default).
      assert.ok(
        result.closedAfterMs !== undefined && result.closedAfterMs < HANDSHAKE_TIMEOUT - 100,
        `closed after ${result.closedAfterMs} ms: the server waited for its handshake deadline (${HANDSHAKE_TIMEOUT} ms) instead of reacting to the client's FIN`,
      );
      await ts.assertEchoWorks();
    });

    it(`a request dribbled 1 byte every 10 ms is cut off at the handshake deadline (${HANDSHAKE_TIMEOUT} ms)`, async () => {
      const request = upgradeRequest(ts.port);
      const result = await ts.request([...request], { delayMs: 10, timeoutMs: 2500 });
      assert.ok(result.closed, 'the server must close a handshake that outlives its deadline');
      assert.ok(result.closedAfterMs !== undefined && result.closedAfterMs >= HANDSHAKE_TIMEOUT - 50, `closed after ${result.closedAfterMs} ms: too early`);
      assert.ok(result.closedAfterMs < HANDSHAKE_TIMEOUT + 700, `closed after ${result.closedAfterMs} ms: the deadline is ${HANDSHAKE_TIMEOUT} ms`);
      assert.ok(result.response === undefined || result.response.status === 408, `only a 408 (or nothing) fits here, got ${result.response?.statusLine}`);
      await ts.assertEchoWorks();
    });

    it('a connection that never sends anything is closed at the handshake deadline', async () => {
      const result = await ts.request([], { timeoutMs: 2000 });
      assert.ok(result.closed, 'an idle pre-handshake connection must be closed');
      assert.ok(result.closedAfterMs !== undefined && result.closedAfterMs < HANDSHAKE_TIMEOUT + 700, `closed after ${result.closedAfterMs} ms`);
      await ts.assertEchoWorks();
    });

    it('50 connections opened and destroyed at once do not disturb the server', async () => {
      const clients = await Promise.all(Array.from({ length: 50 }, () => ts.open()));
      clients.forEach((c, i) => {
        if (i % 2 === 0) c.send(Buffer.from(upgradeRequest(ts.port).slice(0, i + 1), 'latin1'));
        c.destroy();
      });
      await ts.assertEchoWorks();
    });
  });

  describe('after the handshake', () => {
    it('a frame header claiming 2^62 bytes → 1009 (or 1002) and closed', async () => {
      const c = await ts.connect();
      c.send(frame({ opcode: OP.BINARY, length: 2n ** 62n, payload: 'a few bytes of it' }));
      await c.expectFail([1009, 1002]);
      await ts.assertEchoWorks();
    });

    for (const seed of [1, 2, 3, 42, 6455]) {
      it(`64 KiB of seeded random garbage (seed ${seed}) → a close frame, then TCP closed`, async () => {
        const c = await ts.connect();
        const garbage = seededBytes(64 * 1024, seed);
        // Clear the MASK bit of the first header so the server sees a broken
        // frame at once, rather than waiting for a payload a random length declared.
        garbage[1] &= 0x7f;
        c.send(garbage);
        await c.expectClose([1002, 1009], { reply: true });
        const info = await c.waitForTcpClose(2000);
        assert.ok(info.serverClosedFirst, 'the server must close the connection');
        await ts.assertEchoWorks();
      });
    }

    it('a client that vanishes in the middle of a frame does not disturb the server', async () => {
      const c = await ts.connect();
      const wire = text('x'.repeat(5000));
      c.send(wire.subarray(0, 2000));
      await delay(20);
      c.destroy();
      await ts.assertEchoWorks();
    });

    it('a client that half-closes TCP without a close frame gets its connection closed', async () => {
      const c = await ts.connect();
      c.send(text('bye without a close frame'));
      await c.expectText('bye without a close frame');
      c.end();
      await c.waitFor(() => c.tcpClosed, 1000, 'the server to finish closing');
      await ts.assertEchoWorks();
    });

    it('a client that keeps writing after its close frame does not keep the connection open', async () => {
      const c = await ts.connect();
      c.sendClose(1000);
      const junk = seededBytes(16 * 1024, 99);
      for (let i = 0; i < 8; i++) c.send(junk);
      await c.expectClose(1000);
      const info = await c.waitForTcpClose(2000);
      assert.ok(info.serverClosedFirst);
      await ts.assertEchoWorks();
    });
  });

  it('the server never crashed: a RawClient still connects and echoes 20 messages', async () => {
    const c = await RawClient.connect(ts.port);
    ts.clients.add(c);
    for (let i = 0; i < 20; i++) c.send(text(`m${i}`));
    for (let i = 0; i < 20; i++) await c.expectText(`m${i}`);
  });
});
