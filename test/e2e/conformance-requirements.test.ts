/**
 * RFC 6455 rules listed in docs/requirements/rfc6455.ts that no other test
 * checked directly, each over real sockets: what the client puts (and does
 * not put) on the wire, and what the server reports when it fails a
 * connection.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer as createTlsServer, type TLSSocket } from 'node:tls';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { connect, type ClientConnection } from '../../src/index.js';
import { OP, text as textFrame } from '../helpers/frames.js';
import { TestServer } from '../helpers/raw-client.js';
import { ScriptedServer } from '../helpers/raw-server.js';
import { createSelfSignedCert } from '../helpers/self-signed-cert.js';

describe('client rules on the wire (RFC 6455 §4.1, §9.1, §10.3)', () => {
  let server: ScriptedServer;
  before(async () => {
    server = await ScriptedServer.start();
  });
  after(() => server.stop());

  it('§4.1: after its opening handshake the client sends nothing until the server has answered', { timeout: 10_000 }, async () => {
    const opening = connect(server.url('/quiet'));
    const peer = await server.peer(server.peers.length);
    const request = await peer.waitForRequest();
    let bytes = 0;
    peer.socket.on('data', (chunk: Buffer) => (bytes += chunk.length));
    // Whatever the client might send early would arrive in this window.
    await new Promise((resolve) => setTimeout(resolve, 200));
    assert.equal(bytes, 0, 'bytes arrived after the request head, before any answer');
    assert.equal(peer.received.length, 0);
    assert.ok(request.raw.endsWith('\r\n\r\n'));
    peer.write(peer.acceptResponse());
    const ws = await opening;
    ws.send('now');
    const frame = await peer.nextFrame();
    assert.equal(frame.opcode, OP.TEXT);
    assert.equal(frame.payload.toString(), 'now');
    ws.terminate();
  });

  async function sentFrame(answer: Record<string, string | null>): Promise<{ ws: ClientConnection; rsv: number; payload: Buffer }> {
    const opening = connect(server.url(), { perMessageDeflate: { threshold: 0 } });
    const peer = await server.peer(server.peers.length);
    const request = await peer.waitForRequest();
    assert.match(request.headers['sec-websocket-extensions'] ?? '', /^permessage-deflate/, 'the client offered permessage-deflate');
    peer.write(peer.acceptResponse(answer));
    const ws = await opening;
    ws.send('a'.repeat(2000));
    const frame = await peer.nextFrame();
    return { ws, rsv: frame.rsv, payload: frame.payload };
  }

  it('§9.1: an offered extension the server did not accept is not used (messages go uncompressed)', { timeout: 10_000 }, async () => {
    const declined = await sentFrame({});
    assert.equal(declined.rsv, 0, 'RSV1 set although the server declined permessage-deflate');
    assert.equal(declined.payload.toString(), 'a'.repeat(2000));
    declined.ws.terminate();
    // The same client, when the server accepts, does compress: the check above can fail.
    const accepted = await sentFrame({ 'Sec-WebSocket-Extensions': 'permessage-deflate' });
    assert.equal(accepted.rsv, 0b100);
    assert.ok(accepted.payload.length < 100);
    accepted.ws.terminate();
  });

  it('§10.3: once sent, a frame\'s payload cannot be changed by the application (small and large buffers)', { timeout: 10_000 }, async () => {
    const opening = connect(server.url());
    const peer = await server.peer(server.peers.length);
    await peer.accept();
    const ws = await opening;
    for (const size of [100, 40_000]) {
      const data = Buffer.alloc(size, 0x61);
      ws.send(data);
      data.fill(0x62); // the application reuses its buffer at once
      const frame = await peer.nextFrame();
      assert.equal(frame.masked, true);
      assert.equal(frame.payload.length, size);
      assert.ok(frame.payload.every((byte) => byte === 0x61), `the ${size}-byte frame carries bytes changed after send()`);
    }
    ws.terminate();
  });
});

describe('§4.1: the client uses the Server Name Indication extension', () => {
  // tls.connect() sends SNI only when given `servername` (node:https's agent
  // sets it; tls.connect does not default it to `host`): connect() passes the
  // URL's host name, and nothing for an IP literal.
  it('sends the URL\'s host name as SNI (and none for an IP literal, RFC 6066 §3)', { timeout: 10_000 }, async (t) => {
    const cert = createSelfSignedCert('localhost', '127.0.0.1');
    const names: Array<string | false | null> = [];
    const tls = createTlsServer({ key: cert.key, cert: cert.cert }, (socket: TLSSocket) => {
      names.push(socket.servername);
      socket.destroy(); // no WebSocket here: only the TLS handshake matters
    });
    tls.listen(0, '127.0.0.1');
    await once(tls, 'listening');
    t.after(() => tls.close());
    const { port } = tls.address() as AddressInfo;
    for (const host of ['localhost', '127.0.0.1']) {
      await assert.rejects(connect(`wss://${host}:${port}/`, { tls: { ca: cert.cert }, connectTimeout: 5000 }));
    }
    assert.deepEqual(names, ['localhost', false]);
  });
});

describe('§7.1.7: a server that fails a connection reports the problem', () => {
  let ts: TestServer;
  before(async () => {
    ts = await TestServer.start();
  });
  after(() => ts.stop());

  it('the connection\'s "error" event carries the rule broken, its close code and section; the peer gets that code', { timeout: 10_000 }, async () => {
    const c = await ts.connect();
    c.send(textFrame('not masked', { mask: false }));
    await c.expectFail(1002);
    const error = ts.connectionErrors.at(-1) as { code?: string; closeCode?: number; rfcSection?: string } | undefined;
    assert.equal(error?.code, 'WS_ERR_UNMASKED_FRAME');
    assert.equal(error?.closeCode, 1002);
    assert.equal(error?.rfcSection, '5.1');
  });
});
