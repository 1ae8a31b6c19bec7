/**
 * RFC 6455 §4.2 the server's opening handshake, and §4.4 version
 * negotiation, over real sockets. Every rejection is an HTTP error response
 * followed by the server closing the connection.
 */
import assert from 'node:assert/strict';
import { after, afterEach, before, describe, it } from 'node:test';

import { binary, ping, text } from '../helpers/frames.js';
import { RawClient, TestServer, acceptFor, hasToken, upgradeRequest, type RawResult, type RequestOptions } from '../helpers/raw-client.js';

/** The response must have `status`, and the server must have closed the connection. */
function assertRejected(result: RawResult, status: number): void {
  assert.ok(result.response, `expected an HTTP ${status} response, got ${JSON.stringify(result.raw.toString('latin1').slice(0, 200))}`);
  assert.equal(result.response.status, status, `expected ${status}, got:\n${result.response.head}`);
  assert.ok(result.closed, `the server must close the connection after a ${status} rejection`);
}

describe('RFC 6455 opening handshake (§4.2, §4.4)', () => {
  let ts: TestServer;
  before(async () => {
    ts = await TestServer.start({
      checkOrigin: (origin) => origin !== 'http://evil.example',
      selectProtocol: (offered) => (offered.includes('superchat') ? 'superchat' : undefined),
    });
  });
  afterEach(() => ts?.dropClients());
  after(() => ts?.stop());

  const send = (opts: RequestOptions, timeoutMs?: number): Promise<RawResult> => ts.request(upgradeRequest(ts.port, opts), { timeoutMs });

  describe('accepted upgrades', () => {
    it('the RFC §4.2.2 sample key gets 101 with Sec-WebSocket-Accept "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="', async () => {
      assert.equal(acceptFor('dGhlIHNhbXBsZSBub25jZQ=='), 's3pPLMBiTxaQ9kYGzzhZRbK+xOo=');
      const result = await send({ headers: { 'Sec-WebSocket-Key': 'dGhlIHNhbXBsZSBub25jZQ==' } }, 150);
      assert.ok(result.response, 'no response');
      const res = result.response;
      assert.match(res.statusLine, /^HTTP\/1\.1 101 /);
      assert.ok(hasToken(res.headers.upgrade, 'websocket'), res.head);
      assert.ok(hasToken(res.headers.connection, 'upgrade'), res.head);
      assert.equal(res.headers['sec-websocket-accept'], 's3pPLMBiTxaQ9kYGzzhZRbK+xOo=');
      assert.equal(res.headers['sec-websocket-protocol'], undefined, 'no subprotocol was offered');
      assert.equal(res.headers['sec-websocket-extensions'], undefined, 'no extension was offered');
      assert.equal(result.closed, false, 'an accepted connection stays open');
    });

    it('a random key gets the matching accept, and the connection then echoes', async () => {
      const c = await ts.connect(); // RawClient checks 101, Upgrade, Connection and the accept value
      assert.equal(c.response?.headers['sec-websocket-accept'], acceptFor(c.key));
      c.send(text('after the handshake'));
      await c.expectText('after the handshake');
    });

    it('header names and tokens are case-insensitive; Connection may list other tokens', async () => {
      const c = await RawClient.connect(ts.port, {
        headers: { host: `127.0.0.1:${ts.port}`, UPGRADE: 'WebSocket', connection: 'keep-alive, Upgrade', 'sec-websocket-version': '13' },
      });
      ts.clients.add(c);
      c.send(text('mixed case'));
      await c.expectText('mixed case');
    });

    it('frames sent in the same TCP write as the upgrade request are processed', async () => {
      const trailing = Buffer.concat([text('right behind the request'), ping('and a ping'), binary(Buffer.from([1, 2, 3]))]);
      const c = await ts.connect({ trailing });
      await c.expectText('right behind the request');
      await c.expectPong('and a ping');
      await c.expectBinary(Buffer.from([1, 2, 3]));
    });

    it('a query string does not stop the default handler from serving the path', async () => {
      const c = await ts.connect({ path: '/any/path?x=1&y=2' });
      c.send(text('query'));
      await c.expectText('query');
    });

    it('an offered subprotocol chosen by selectProtocol is returned in Sec-WebSocket-Protocol', async () => {
      const c = await ts.connect({ headers: { 'Sec-WebSocket-Protocol': 'chat, superchat' } });
      assert.equal(c.response?.headers['sec-websocket-protocol'], 'superchat');
    });

    it('when selectProtocol picks none, the 101 carries no Sec-WebSocket-Protocol', async () => {
      const c = await ts.connect({ headers: { 'Sec-WebSocket-Protocol': 'chat' } });
      assert.equal(c.response?.headers['sec-websocket-protocol'], undefined);
    });

    it('an Origin the hook allows is accepted', async () => {
      const c = await ts.connect({ headers: { Origin: 'http://good.example' } });
      c.send(text('allowed'));
      await c.expectText('allowed');
    });
  });

  describe('rejected requests get an HTTP error and a closed socket', () => {
    it('POST → 405 with "Allow: GET"', async () => {
      const result = await send({ method: 'POST' });
      assertRejected(result, 405);
      assert.equal(result.response?.headers.allow, 'GET');
    });

    it('no Upgrade header → 426', async () => {
      assertRejected(await send({ headers: { Upgrade: null } }), 426);
    });

    it('a 426 carries "Upgrade: websocket" (RFC 7231 §6.5.15: the server MUST send Upgrade)', async () => {
      const result = await send({ headers: { Upgrade: null } });
      assertRejected(result, 426);
      assert.ok(hasToken(result.response?.headers.upgrade, 'websocket'), result.response?.head);
    });

    it('no "upgrade" token in Connection → 400', async () => {
      assertRejected(await send({ headers: { Connection: 'keep-alive' } }), 400);
    });

    it('no Connection header → 400', async () => {
      assertRejected(await send({ headers: { Connection: null } }), 400);
    });

    for (const [name, key] of [
      ['not base64', '!!!!!!!!!!!!!!!!!!!!!!=='],
      ['3 bytes', Buffer.from('abc').toString('base64')],
      ['15 bytes', Buffer.alloc(15, 7).toString('base64')],
      ['17 bytes', Buffer.alloc(17, 7).toString('base64')],
      ['empty', ''],
    ] as const) {
      it(`a Sec-WebSocket-Key that is ${name} → 400`, async () => {
        assertRejected(await send({ headers: { 'Sec-WebSocket-Key': key } }), 400);
      });
    }

    it('no Sec-WebSocket-Key → 400', async () => {
      assertRejected(await send({ headers: { 'Sec-WebSocket-Key': null } }), 400);
    });

    it('Sec-WebSocket-Version 8 → 426 with "Sec-WebSocket-Version: 13" (§4.4)', async () => {
      const result = await send({ headers: { 'Sec-WebSocket-Version': '8' } });
      assertRejected(result, 426);
      assert.equal(result.response?.headers['sec-websocket-version'], '13');
    });

    it('no Host → 400', async () => {
      assertRejected(await send({ headers: { Host: null } }), 400);
    });

    it('64 KiB of headers → 431', async () => {
      const padding: Record<string, string> = {};
      for (let i = 0; i < 64; i++) padding[`X-Padding-${i}`] = 'p'.repeat(1024);
      assertRejected(await send({ headers: padding }, 2000), 431);
    });

    it('an Origin the hook rejects → 403', async () => {
      assertRejected(await send({ headers: { Origin: 'http://evil.example' } }), 403);
    });
  });
});

describe('routes (§4.2.1 item 2: the /resource name)', () => {
  let ts: TestServer;
  before(async () => {
    ts = await TestServer.start({}, null); // no default handler: only routed paths are served
    ts.server.route('/chat', ts.echo);
  });
  afterEach(() => ts?.dropClients());
  after(() => ts?.stop());

  it('a routed path is served', async () => {
    const c = await ts.connect({ path: '/chat' });
    c.send(text('routed'));
    await c.expectText('routed');
  });

  it('an unknown path → 404 and the socket is closed', async () => {
    assertRejected(await ts.request(upgradeRequest(ts.port, { path: '/nope' })), 404);
  });

  it('the root path is unknown too when only /chat is routed → 404', async () => {
    assertRejected(await ts.request(upgradeRequest(ts.port, { path: '/' })), 404);
  });
});
