/**
 * The client's opening handshake over real sockets (RFC 6455 §4.1): what it
 * sends, and how it judges every kind of wrong answer from a scripted raw
 * server. Each failure must reject connect() with a ClientHandshakeError whose
 * code and message name the rule.
 */
import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import { ClientHandshakeError, LocalError, connect, type ClientConnection } from '../../src/index.js';
import { text as textFrame } from '../helpers/frames.js';
import { acceptFor } from '../helpers/raw-client.js';
import { ScriptedServer, type ServerPeer } from '../helpers/raw-server.js';

/** Answer every connection with `respond(peer)` once its request is in. */
async function answering(respond: (peer: ServerPeer) => void): Promise<ScriptedServer> {
  return ScriptedServer.start((peer) => {
    void peer.waitForRequest().then(() => respond(peer), () => {});
  });
}

async function expectFailure(promise: Promise<ClientConnection>, code: string, ...mentions: string[]): Promise<ClientHandshakeError> {
  let failure: unknown;
  try {
    const connection = await promise;
    connection.terminate();
  } catch (error) {
    failure = error;
  }
  assert.ok(failure instanceof ClientHandshakeError, `expected a ClientHandshakeError ${code}, got ${failure instanceof Error ? `${failure.name} ${String((failure as { code?: unknown }).code)}: ${failure.message}` : 'a connection'}`);
  assert.equal(failure.code, code, failure.message);
  for (const mention of mentions) assert.ok(failure.message.includes(mention), `message should mention ${JSON.stringify(mention)}: ${failure.message}`);
  return failure;
}

describe('client opening handshake: the request (§4.1)', () => {
  let server: ScriptedServer;
  before(async () => {
    server = await answering((peer) => peer.write(peer.acceptResponse()));
  });
  after(() => server.stop());

  it('sends a valid upgrade request with every required header', async () => {
    const ws = await connect(`${server.url('/chat')}?room=1&x=%20`, {
      origin: 'https://app.example',
      protocols: ['chat.v2', 'chat.v1'],
      extensions: 'x-test; level=2',
      headers: { Authorization: 'Bearer abc', 'User-Agent': 'wsrfc-test' },
    });
    const peer = server.peers.at(-1)!;
    const request = peer.request!;
    assert.equal(request.requestLine, 'GET /chat?room=1&x=%20 HTTP/1.1'); // item 2, item 3
    assert.equal(request.headers.host, `127.0.0.1:${server.port}`); // item 4: the port, not the default
    assert.equal(request.headers.upgrade, 'websocket'); // item 5
    assert.equal(request.headers.connection, 'Upgrade'); // item 6
    const key = request.headers['sec-websocket-key']; // item 7: 16 random bytes, base64
    assert.equal(Buffer.from(key, 'base64').length, 16);
    assert.equal(Buffer.from(key, 'base64').toString('base64'), key);
    assert.equal(request.headers.origin, 'https://app.example'); // item 8
    assert.equal(request.headers['sec-websocket-version'], '13'); // item 9
    assert.equal(request.headers['sec-websocket-protocol'], 'chat.v2, chat.v1'); // item 10
    assert.equal(request.headers['sec-websocket-extensions'], 'x-test; level=2'); // item 11
    assert.equal(request.headers.authorization, 'Bearer abc'); // item 12
    assert.equal(request.headers['user-agent'], 'wsrfc-test');
    assert.equal(request.headers['content-length'], undefined);
    // The connection knows its side of the handshake.
    assert.equal(ws.path, '/chat');
    assert.equal(ws.query, 'room=1&x=%20');
    assert.equal(ws.origin, 'https://app.example');
    assert.equal(ws.protocol, ''); // the server selected none
    assert.equal(ws.response.status, 101);
    assert.equal(ws.headers.get('sec-websocket-accept'), acceptFor(key));
    ws.terminate();
  });

  it('picks a fresh key for every connection', async () => {
    const keys = new Set<string>();
    for (let i = 0; i < 5; i++) {
      const ws = await connect(server.url());
      keys.add(server.peers.at(-1)!.request!.headers['sec-websocket-key']);
      ws.terminate();
    }
    assert.equal(keys.size, 5);
  });

  it('lets Host be overridden, and nothing else the handshake owns', async () => {
    const ws = await connect(server.url(), { headers: { host: 'example.com' } });
    assert.equal(server.peers.at(-1)!.request!.headers.host, 'example.com');
    ws.terminate();
    for (const name of ['Upgrade', 'Connection', 'Sec-WebSocket-Key', 'Sec-WebSocket-Version', 'sec-websocket-protocol', 'Sec-WebSocket-Extensions', 'Origin']) {
      await assert.rejects(connect(server.url(), { headers: { [name]: 'x' } }), (e: unknown) => e instanceof LocalError && e.code === 'HS_ERR_RESERVED_REQUEST_HEADER');
    }
  });

  it('refuses header injection and invalid offers before connecting', async () => {
    const before = server.peers.length;
    const local = (code: string) => (e: unknown) => e instanceof LocalError && e.code === code;
    await assert.rejects(connect(server.url(), { headers: { 'X-A': 'x\r\nX-Injected: 1' } }), local('HS_ERR_INVALID_REQUEST_HEADER'));
    await assert.rejects(connect(server.url(), { headers: { 'Bad Name': 'x' } }), local('HS_ERR_INVALID_REQUEST_HEADER'));
    await assert.rejects(connect(server.url(), { origin: 'http://a\nb' }), local('HS_ERR_INVALID_CLIENT_OPTION'));
    await assert.rejects(connect(server.url(), { protocols: ['chat', 'chat'] }), local('HS_ERR_INVALID_CLIENT_OPTION'));
    await assert.rejects(connect(server.url(), { protocols: ['a b'] }), local('HS_ERR_INVALID_CLIENT_OPTION'));
    await assert.rejects(connect(server.url(), { extensions: 'x-a; =1' }), local('HS_ERR_INVALID_CLIENT_OPTION'));
    await assert.rejects(connect(server.url(), { extensions: 'permessage-deflate' }), local('HS_ERR_INVALID_CLIENT_OPTION'));
    await assert.rejects(connect(server.url(), { connectTimeout: -1 }), local('WS_ERR_INVALID_OPTION'));
    await assert.rejects(connect(server.url(), { perMessageDeflate: { level: 12 } }), local('WS_ERR_INVALID_OPTION'));
    await assert.rejects(connect(`http://127.0.0.1:${server.port}/`), local('HS_ERR_INVALID_URL'));
    await assert.rejects(connect(`${server.url()}#frag`), local('HS_ERR_INVALID_URL'));
    await assert.rejects(connect(`ws://user:secret@127.0.0.1:${server.port}/`), (e: unknown) => local('HS_ERR_INVALID_URL')(e) && !(e as Error).message.includes('secret'));
    assert.equal(server.peers.length, before, 'no connection may be opened for an invalid request');
  });
});

describe('client opening handshake: judging the answer (§4.1)', () => {
  const servers: ScriptedServer[] = [];
  after(async () => {
    for (const s of servers) await s.stop();
  });
  async function serve(respond: (peer: ServerPeer) => void): Promise<ScriptedServer> {
    const s = await answering(respond);
    servers.push(s);
    return s;
  }
  const accept = (override: Record<string, string | null>, extra: string[] = []) => (peer: ServerPeer) => peer.write(peer.acceptResponse(override, extra));

  it('wrong Sec-WebSocket-Accept → HS_ERR_ACCEPT_MISMATCH', async () => {
    const s = await serve(accept({ 'Sec-WebSocket-Accept': acceptFor('dGhlIHNhbXBsZSBub25jZQ==') }));
    const error = await expectFailure(connect(s.url()), 'HS_ERR_ACCEPT_MISMATCH', '§4.1', 's3pPLMBiTxaQ9kYGzzhZRbK+xOo=');
    assert.equal(error.rfcSection, '4.1');
    assert.equal(error.status, 101);
    // Failing before the connection is established means dropping TCP, no close frame (§4.1, §7.1.7).
    const peer = s.peers[0];
    await peer.waitForClientEnd();
    assert.equal(peer.received.length, 0);
  });

  it('missing Sec-WebSocket-Accept, or two of them → HS_ERR_ACCEPT_MISMATCH', async () => {
    await expectFailure(connect((await serve(accept({ 'Sec-WebSocket-Accept': null }))).url()), 'HS_ERR_ACCEPT_MISMATCH', 'no Sec-WebSocket-Accept');
    const twice = await serve((peer) => peer.write(peer.acceptResponse({}, [`Sec-WebSocket-Accept: ${acceptFor(peer.request!.headers['sec-websocket-key'])}`])));
    await expectFailure(connect(twice.url()), 'HS_ERR_ACCEPT_MISMATCH');
  });

  it('missing or wrong Upgrade → HS_ERR_RESPONSE_UPGRADE', async () => {
    await expectFailure(connect((await serve(accept({ Upgrade: null }))).url()), 'HS_ERR_RESPONSE_UPGRADE', 'no Upgrade header', '§4.1');
    await expectFailure(connect((await serve(accept({ Upgrade: 'h2c' }))).url()), 'HS_ERR_RESPONSE_UPGRADE', '"h2c"');
  });

  it('missing Connection, or one without the Upgrade token → HS_ERR_RESPONSE_CONNECTION', async () => {
    await expectFailure(connect((await serve(accept({ Connection: null }))).url()), 'HS_ERR_RESPONSE_CONNECTION', '§4.1');
    await expectFailure(connect((await serve(accept({ Connection: 'keep-alive' }))).url()), 'HS_ERR_RESPONSE_CONNECTION', '"keep-alive"');
  });

  it('header names and the Upgrade/Connection values are case-insensitive, Connection is a list', async () => {
    const s = await serve((peer) =>
      peer.write(`HTTP/1.1 101 OK\r\nupgrade: WebSocket\r\nCONNECTION: keep-alive, upgrade\r\nsec-websocket-accept:   ${acceptFor(peer.request!.headers['sec-websocket-key'])}  \r\n\r\n`),
    );
    const ws = await connect(s.url());
    ws.terminate();
  });

  it('a subprotocol that was not offered → HS_ERR_PROTOCOL_NOT_OFFERED', async () => {
    const s = await serve(accept({ 'Sec-WebSocket-Protocol': 'chat' }));
    await expectFailure(connect(s.url()), 'HS_ERR_PROTOCOL_NOT_OFFERED', '"chat"', 'we offered none');
    await expectFailure(connect(s.url(), { protocols: ['Chat', 'chat.v2'] }), 'HS_ERR_PROTOCOL_NOT_OFFERED', 'we offered Chat, chat.v2');
    const ws = await connect(s.url(), { protocols: ['chat.v2', 'chat'] });
    assert.equal(ws.protocol, 'chat');
    ws.terminate();
  });

  it('more than one subprotocol selected → HS_ERR_PROTOCOL_NOT_OFFERED', async () => {
    const s = await serve(accept({ 'Sec-WebSocket-Protocol': 'a, b' }));
    await expectFailure(connect(s.url(), { protocols: ['a', 'b'] }), 'HS_ERR_PROTOCOL_NOT_OFFERED', 'exactly one');
  });

  it('an extension that was not offered → HS_ERR_EXTENSION_NOT_OFFERED', async () => {
    const s = await serve(accept({ 'Sec-WebSocket-Extensions': 'permessage-deflate' }));
    await expectFailure(connect(s.url()), 'HS_ERR_EXTENSION_NOT_OFFERED', '"permessage-deflate"', 'we offered none');
    await expectFailure(connect(s.url(), { extensions: 'x-foo' }), 'HS_ERR_EXTENSION_NOT_OFFERED', 'we offered x-foo');
  });

  it('an offered extension is accepted and reported; a malformed answer fails', async () => {
    const ok = await serve(accept({ 'Sec-WebSocket-Extensions': 'X-Foo; bar="baz"' }));
    const ws = await connect(ok.url(), { extensions: 'x-foo; bar=baz, x-other' });
    assert.equal(ws.extensions, 'X-Foo; bar="baz"');
    ws.terminate();
    const bad = await serve(accept({ 'Sec-WebSocket-Extensions': 'x-foo; =' }));
    await expectFailure(connect(bad.url(), { extensions: 'x-foo' }), 'HS_ERR_RESPONSE_EXTENSIONS', 'malformed');
  });

  it('a redirect is not followed: HS_ERR_REDIRECT names the Location', async () => {
    const s = await serve((peer) => peer.write('HTTP/1.1 302 Found\r\nLocation: ws://elsewhere.example/chat\r\nContent-Length: 0\r\n\r\n'));
    const error = await expectFailure(connect(s.url()), 'HS_ERR_REDIRECT', '"ws://elsewhere.example/chat"', '302 Found', 'not followed');
    assert.equal(error.status, 302);
    assert.equal(error.response?.headers.get('location'), 'ws://elsewhere.example/chat');
    assert.equal(s.peers.length, 1);
  });

  it('another status → HS_ERR_UNEXPECTED_STATUS quoting the body the server explained itself in', async () => {
    const body = 'origin https://evil.example is not allowed';
    const s = await serve((peer) => peer.write(`HTTP/1.1 403 Forbidden\r\nContent-Type: text/plain\r\nContent-Length: ${body.length}\r\n\r\n${body}`));
    const error = await expectFailure(connect(s.url()), 'HS_ERR_UNEXPECTED_STATUS', '403 Forbidden', body);
    assert.equal(error.status, 403);
    assert.equal(error.body, body);
  });

  it('a refusal whose body arrives later, or ends with the connection', async () => {
    const later = await serve((peer) => {
      peer.write('HTTP/1.1 400 Bad Request\r\nContent-Length: 11\r\n\r\nbad ');
      setTimeout(() => peer.write('request'), 30);
    });
    assert.equal((await expectFailure(connect(later.url()), 'HS_ERR_UNEXPECTED_STATUS')).body, 'bad request');
    const untilEof = await serve((peer) => {
      peer.write('HTTP/1.1 503 Service Unavailable\r\n\r\ntry again');
      peer.end();
    });
    assert.equal((await expectFailure(connect(untilEof.url()), 'HS_ERR_UNEXPECTED_STATUS', '503')).body, 'try again');
  });

  it('426 names the version the server speaks; 401 its challenge', async () => {
    const v = await serve((peer) => peer.write('HTTP/1.1 426 Upgrade Required\r\nSec-WebSocket-Version: 8\r\nContent-Length: 0\r\n\r\n'));
    await expectFailure(connect(v.url()), 'HS_ERR_UNEXPECTED_STATUS', 'Sec-WebSocket-Version 8');
    const a = await serve((peer) => peer.write('HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Bearer realm="x"\r\nContent-Length: 0\r\n\r\n'));
    await expectFailure(connect(a.url()), 'HS_ERR_UNEXPECTED_STATUS', 'Bearer realm="x"');
  });

  it('not HTTP at all → the head parser code', async () => {
    const s = await serve((peer) => peer.write('SSH-2.0-OpenSSH_9.6\r\n'));
    await expectFailure(connect(s.url()), 'HS_ERR_BAD_STATUS_LINE', 'HTTP/');
  });

  it('a 101 over HTTP/1.0 → HS_ERR_RESPONSE_HTTP_VERSION', async () => {
    const s = await serve((peer) => peer.write(peer.acceptResponse().replace('HTTP/1.1', 'HTTP/1.0')));
    await expectFailure(connect(s.url()), 'HS_ERR_RESPONSE_HTTP_VERSION');
  });

  it('a response head over the limit fails without buffering it all', async () => {
    const s = await serve((peer) => peer.write(`HTTP/1.1 101 Switching Protocols\r\nX-Big: ${'a'.repeat(2000)}\r\n\r\n`));
    await expectFailure(connect(s.url(), { httpLimits: { maxLineBytes: 1000 } }), 'HS_ERR_LINE_TOO_LONG');
  });

  it('the server closes before its answer is complete → HS_ERR_NO_RESPONSE', async () => {
    const s = await serve((peer) => {
      peer.write('HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n');
      peer.end();
    });
    await expectFailure(connect(s.url()), 'HS_ERR_NO_RESPONSE', 'before a complete handshake response');
  });

  it('no answer in time → HS_ERR_CONNECT_TIMEOUT, and the socket is dropped', async () => {
    const s = await serve(() => {});
    const started = Date.now();
    await expectFailure(connect(s.url(), { connectTimeout: 150 }), 'HS_ERR_CONNECT_TIMEOUT', '150 ms');
    assert.ok(Date.now() - started >= 140);
    await s.peers[0].waitForClientEnd();
  });

  it('a refused TCP connection rejects with the socket error', async () => {
    const probe = net.createServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    const { port } = probe.address() as net.AddressInfo;
    await new Promise<void>((resolve) => probe.close(() => resolve()));
    await assert.rejects(connect(`ws://127.0.0.1:${port}/`), (e: NodeJS.ErrnoException) => e.code === 'ECONNREFUSED');
  });

  it('a dribbled answer with frames right behind the 101 is read correctly', async () => {
    const s = await serve((peer) => {
      const bytes = Buffer.concat([Buffer.from(peer.acceptResponse(), 'latin1'), textFrame('first', { mask: false }), textFrame('second', { mask: false })]);
      let i = 0;
      const drip = (): void => {
        if (i < bytes.length) {
          peer.write(bytes.subarray(i, i + 7));
          i += 7;
          setImmediate(drip);
        }
      };
      drip();
    });
    const ws = await connect(s.url());
    const messages: unknown[] = [];
    for await (const message of ws) {
      messages.push(message);
      if (messages.length === 2) break;
    }
    assert.deepEqual(messages, ['first', 'second']);
    ws.terminate();
  });

  it('frames in the same write as the 101 reach a listener attached after await', async () => {
    const s = await serve((peer) => peer.write(Buffer.concat([Buffer.from(peer.acceptResponse(), 'latin1'), textFrame('greeting', { mask: false })])));
    const ws = await connect(s.url());
    const message = await new Promise((resolve) => ws.once('message', resolve));
    assert.equal(message, 'greeting');
    ws.terminate();
  });
});
