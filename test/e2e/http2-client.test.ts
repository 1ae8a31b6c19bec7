/**
 * connect() over HTTP/2 (RFC 8441), first against a minimal extended-CONNECT
 * server written here with node:http2: it checks the header list the client
 * puts on the stream, answers, and talks hand-built frames, so these tests
 * pin what the client does on the wire (masking, END_STREAM, RST_STREAM,
 * one session per origin, GOAWAY, fallback).
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import http2, { type Http2SecureServer, type Http2Server, type Http2Session, type IncomingHttpHeaders, type ServerHttp2Stream } from 'node:http2';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { connect } from '../../src/client/connect.js';
import { sessionPool, SESSION_LINGER_MS } from '../../src/client/http2-sessions.js';
import { ClientHandshakeError } from '../../src/handshake/client-handshake-error.js';
import { LocalError } from '../../src/errors.js';
import { reconnecting } from '../../src/client/reconnecting.js';
import type { ClientOptions } from '../../src/client/options.js';
import type { WebSocketConnection } from '../../src/connection/websocket-connection.js';
import { createServer, type WebSocketServer } from '../../src/server/server.js';
import { close as closeFrame, text as textFrame } from '../helpers/frames.js';
import { referenceDecode, type ReferenceFrame } from '../helpers/reference-codec.js';
import { createSelfSignedCert } from '../helpers/self-signed-cert.js';
import { waitFor, withTimeout } from '../helpers/wait-for.js';

const TIMEOUT = { timeout: 20_000 };
const cert = createSelfSignedCert();

/** What the server saw of one stream, and a way to read the client's frames from it. */
interface SeenStream {
  stream: ServerHttp2Stream;
  headers: IncomingHttpHeaders;
  session: Http2Session;
  nextFrame(): Promise<ReferenceFrame>;
}

interface ConnectServer {
  port: number;
  url(path?: string): string;
  /** HTTP/2 sessions (TCP connections) the server accepted so far. */
  sessions: Http2Session[];
  /** Every stream, in arrival order. */
  streams: SeenStream[];
  nextStream(): Promise<SeenStream>;
  close(): Promise<void>;
}

/**
 * A node:http2 server (h2c, or TLS with ALPN h2 when `secure`) that advertises
 * extended CONNECT (unless told not to) and hands each stream to `onStream`.
 */
async function startConnectServer(options: { secure?: boolean; enableConnectProtocol?: boolean; onStream?: (seen: SeenStream) => void } = {}): Promise<ConnectServer> {
  const settings = { enableConnectProtocol: options.enableConnectProtocol ?? true };
  const server: Http2Server | Http2SecureServer = options.secure
    ? http2.createSecureServer({ key: cert.key, cert: cert.cert, settings })
    : http2.createServer({ settings });
  const sessions: Http2Session[] = [];
  const streams: SeenStream[] = [];
  const waiting: Array<(seen: SeenStream) => void> = [];
  server.on('session', (session) => {
    sessions.push(session);
    session.on('error', () => {});
  });
  server.on('stream', (stream, headers) => {
    stream.on('error', () => {});
    let bytes = Buffer.alloc(0);
    let taken = 0;
    const readers: Array<() => void> = [];
    stream.on('data', (chunk: Buffer) => {
      bytes = Buffer.concat([bytes, chunk]);
      for (const wake of readers.splice(0)) wake();
    });
    const nextFrame = async (): Promise<ReferenceFrame> => {
      for (;;) {
        const { frames } = referenceDecode(bytes, { role: 'server', maxFrameSize: 1 << 24 });
        if (frames.length > taken) return frames[taken++];
        await withTimeout(new Promise<void>((resolve) => readers.push(resolve)), { what: 'a frame from the client' });
      }
    };
    const seen: SeenStream = { stream, headers, session: stream.session!, nextFrame };
    streams.push(seen);
    const waiter = waiting.shift();
    if (waiter !== undefined) waiter(seen);
    options.onStream?.(seen);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as AddressInfo).port;
  let handed = 0;
  return {
    port,
    url: (path = '/chat') => `${options.secure ? 'wss' : 'ws'}://${options.secure ? 'localhost' : '127.0.0.1'}:${port}${path}`,
    sessions,
    streams,
    nextStream: () => {
      if (streams.length > handed) return Promise.resolve(streams[handed++]);
      handed++;
      return withTimeout(new Promise<SeenStream>((resolve) => waiting.push(resolve)), { what: 'an extended CONNECT stream' });
    },
    close: async () => {
      for (const session of sessions) session.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** Accept the stream: 200 with `headers`. */
function accept(seen: SeenStream, headers: Record<string, string> = {}): void {
  seen.stream.respond({ ':status': 200, ...headers });
}

describe('connect() over HTTP/2: what the client puts on the wire (a hand-built extended CONNECT server)', TIMEOUT, () => {
  let server: ConnectServer;
  before(async () => {
    server = await startConnectServer();
  });
  after(() => server.close());

  it('h2c: the extended CONNECT header list of RFC 8441 §5, then masked frames in, unmasked out, and a close ending with END_STREAM', TIMEOUT, async () => {
    const connecting = connect(server.url('/chat?room=1'), {
      http2: true,
      protocols: ['chat', 'superchat'],
      origin: 'http://example.com',
      perMessageDeflate: true,
      headers: { 'X-Token': 'abc', 'Keep-Alive': 'timeout=5' },
    });
    const seen = await server.nextStream();
    const h = seen.headers;
    assert.equal(h[':method'], 'CONNECT');
    assert.equal(h[':protocol'], 'websocket');
    assert.equal(h[':scheme'], 'http');
    assert.equal(h[':path'], '/chat?room=1');
    assert.equal(h[':authority'], `127.0.0.1:${server.port}`);
    assert.equal(h['sec-websocket-version'], '13');
    assert.equal(h.origin, 'http://example.com');
    assert.equal(h['sec-websocket-protocol'], 'chat, superchat');
    assert.match(String(h['sec-websocket-extensions']), /^permessage-deflate/);
    assert.equal(h['x-token'], 'abc');
    // RFC 8441 §5: no key, no accept; RFC 9113 §8.2.2: no connection-specific fields.
    for (const name of ['sec-websocket-key', 'upgrade', 'connection', 'keep-alive', 'host']) assert.equal(h[name], undefined, name);

    accept(seen, { 'sec-websocket-protocol': 'superchat' });
    const ws = await connecting;
    assert.equal(ws.protocol, 'superchat');
    assert.equal(ws.extensions, '', 'no deflate: the server did not accept it');
    assert.equal(ws.response.status, 200);
    assert.equal(ws.response.httpVersion, '2.0');

    const message = once(ws, 'message');
    seen.stream.write(textFrame('hello', { mask: false }));
    assert.equal(String((await message)[0]), 'hello');

    ws.send('hi');
    const sent = await seen.nextFrame();
    assert.equal(sent.opcode, 0x1);
    assert.equal(sent.payload.toString(), 'hi', 'the frame decodes as a masked client frame (role server)');

    // Our close, the server's answer and END_STREAM: a clean closure, the stream ended both ways, never reset.
    ws.close(1000, 'bye');
    const closing = await seen.nextFrame();
    assert.equal(closing.opcode, 0x8);
    assert.equal(closing.payload.readUInt16BE(0), 1000);
    seen.stream.end(closeFrame(1000, 'bye', { mask: false }));
    const info = await withTimeout(ws.closed, { what: 'the WebSocket to close' });
    assert.equal(info.code, 1000);
    assert.equal(info.wasClean, true);
    await withTimeout(once(seen.stream, 'close'), { what: 'the stream to close' });
    assert.equal(seen.stream.rstCode, http2.constants.NGHTTP2_NO_ERROR, 'closed by END_STREAM both ways, not RST_STREAM');
    assert.equal(server.sessions[server.sessions.length - 1].destroyed, false, 'the HTTP/2 connection stays up');
  });

  it('the server closes first: its close frame is echoed, then its END_STREAM answered with ours', TIMEOUT, async () => {
    const connecting = connect(server.url(), { http2: true });
    const seen = await server.nextStream();
    accept(seen);
    const ws = await connecting;
    seen.stream.write(closeFrame(1001, 'leaving', { mask: false }));
    const echo = await seen.nextFrame();
    assert.equal(echo.opcode, 0x8);
    assert.equal(echo.payload.readUInt16BE(0), 1001);
    const ended = once(seen.stream, 'end');
    seen.stream.end();
    await withTimeout(ended, { what: "the client's END_STREAM" });
    const info = await withTimeout(ws.closed, { what: 'the WebSocket to close' });
    assert.deepEqual([info.code, info.reason, info.wasClean], [1001, 'leaving', true]);
  });

  it('a refusal (403 with a body) rejects with ClientHandshakeError, the status and the body', TIMEOUT, async () => {
    const connecting = connect(server.url(), { http2: true });
    const seen = await server.nextStream();
    seen.stream.respond({ ':status': 403, 'content-type': 'text/plain' });
    seen.stream.end('no entry for you');
    await assert.rejects(connecting, (error: unknown) => {
      assert.ok(error instanceof ClientHandshakeError);
      assert.equal(error.code, 'HS_ERR_UNEXPECTED_STATUS');
      assert.equal(error.status, 403);
      assert.equal(error.body, 'no entry for you');
      assert.match(error.message, /2xx to the extended CONNECT/);
      return true;
    });
  });

  it('a subprotocol we did not offer fails the handshake, and the stream is reset (CANCEL)', TIMEOUT, async () => {
    const connecting = connect(server.url(), { http2: true, protocols: ['a'] });
    const seen = await server.nextStream();
    accept(seen, { 'sec-websocket-protocol': 'b' });
    await assert.rejects(connecting, { name: 'ClientHandshakeError', code: 'HS_ERR_PROTOCOL_NOT_OFFERED' });
    await withTimeout(once(seen.stream, 'close'), { what: 'the stream to close' });
    assert.equal(seen.stream.rstCode, http2.constants.NGHTTP2_CANCEL);
  });

  it('a stream the server resets ends the WebSocket as an abnormal closure (1006); the session lives on', TIMEOUT, async () => {
    const connecting = connect(server.url(), { http2: true });
    const seen = await server.nextStream();
    accept(seen);
    const ws = await connecting;
    seen.stream.close(http2.constants.NGHTTP2_CANCEL);
    const info = await withTimeout(ws.closed, { what: 'the WebSocket to close' });
    assert.equal(info.code, 1006);
    assert.equal(info.wasClean, false);
    assert.equal(seen.session.destroyed, false);
  });

  it('a stream reset before the response rejects with HS_ERR_H2_STREAM_RESET', TIMEOUT, async () => {
    const connecting = connect(server.url(), { http2: true });
    const seen = await server.nextStream();
    seen.stream.close(http2.constants.NGHTTP2_INTERNAL_ERROR);
    await assert.rejects(connecting, (error: unknown) => {
      assert.ok(error instanceof ClientHandshakeError);
      assert.equal(error.code, 'HS_ERR_H2_STREAM_RESET');
      assert.match(error.message, /INTERNAL_ERROR \(2\)/);
      return true;
    });
  });

  it('a CONNECT refused unprocessed (REFUSED_STREAM) is tried again once (RFC 9113 §8.7); refused twice, it fails', TIMEOUT, async () => {
    const connecting = connect(server.url(), { http2: true });
    (await server.nextStream()).stream.close(http2.constants.NGHTTP2_REFUSED_STREAM);
    accept(await server.nextStream());
    const ws = await connecting;
    ws.terminate();
    const again = connect(server.url(), { http2: true });
    (await server.nextStream()).stream.close(http2.constants.NGHTTP2_REFUSED_STREAM);
    (await server.nextStream()).stream.close(http2.constants.NGHTTP2_REFUSED_STREAM);
    await assert.rejects(again, (error: unknown) => error instanceof ClientHandshakeError && /REFUSED_STREAM/.test(error.message));
  });

  it('failing the connection (a masked frame from the server: 1002) resets the stream after our close frame', TIMEOUT, async () => {
    const connecting = connect(server.url(), { http2: true, closeTimeout: 300 });
    const seen = await server.nextStream();
    accept(seen);
    const ws = await connecting;
    seen.stream.write(textFrame('masked', { mask: true }));
    const closing = await seen.nextFrame();
    assert.equal(closing.payload.readUInt16BE(0), 1002);
    const info = await withTimeout(ws.closed, { what: 'the WebSocket to close' });
    assert.equal(info.wasClean, false);
    assert.equal(info.error?.code, 'WS_ERR_MASKED_FRAME');
  });

  it('connectTimeout covers the CONNECT: no response → HS_ERR_CONNECT_TIMEOUT, and the stream is reset', TIMEOUT, async () => {
    const connecting = connect(server.url(), { http2: true, connectTimeout: 200 });
    const seen = await server.nextStream();
    await assert.rejects(connecting, { name: 'ClientHandshakeError', code: 'HS_ERR_CONNECT_TIMEOUT' });
    await withTimeout(once(seen.stream, 'close'), { what: 'the stream to close' });
    assert.equal(seen.stream.rstCode, http2.constants.NGHTTP2_CANCEL);
  });

  it('session.request() throwing on a live session is our fault: connect() rejects with that error, no retry, no HS_ERR_H2_STREAM_RESET', TIMEOUT, async () => {
    // Warm the origin's session, then make its request() throw as node:http2 does on a header block it will not send.
    const ws = await (async () => {
      const connecting = connect(server.url(), { http2: true });
      accept(await server.nextStream());
      return connecting;
    })();
    const session = server.sessions.length;
    const before = server.streams.length;
    const probe = http2.connect('http://127.0.0.1:1'); // (no server there: only its prototype is wanted)
    probe.on('error', () => {});
    probe.destroy();
    const proto = Object.getPrototypeOf(probe) as { request: (...args: unknown[]) => unknown };
    const request = proto.request;
    proto.request = () => {
      throw Object.assign(new TypeError('Invalid connection header'), { code: 'ERR_HTTP2_INVALID_CONNECTION_HEADERS' });
    };
    try {
      await assert.rejects(connect(server.url(), { http2: true }), { name: 'TypeError', code: 'ERR_HTTP2_INVALID_CONNECTION_HEADERS' });
    } finally {
      proto.request = request;
    }
    assert.equal(server.streams.length, before, 'no stream opened');
    assert.equal(server.sessions.length, session, 'no new session tried');
    ws.terminate();
  });

  it('a header HTTP/2 cannot carry is refused before any I/O, as over HTTP/1.1', TIMEOUT, async () => {
    const before = server.streams.length;
    await assert.rejects(connect(server.url(), { http2: true, headers: { Upgrade: 'x' } }), { name: 'LocalError', code: 'HS_ERR_RESERVED_REQUEST_HEADER' });
    // RFC 9113 §8.2.2: connection-specific; node:http2 would throw on it in session.request().
    await assert.rejects(connect(server.url(), { http2: true, headers: { 'HTTP2-Settings': 'AAMAAABkAAQAAP__' } }), { name: 'LocalError', code: 'HS_ERR_RESERVED_REQUEST_HEADER' });
    await assert.rejects(connect(server.url(), { http2: 'yes' as never }), (error: unknown) => error instanceof LocalError && /http2 must be 'auto' or true or false/.test(error.message));
    assert.equal(server.streams.length, before);
  });
});

describe('one HTTP/2 session per origin', TIMEOUT, () => {
  it('concurrent connects share one session (one TCP connection); it closes after the last WebSocket, once its linger is over', TIMEOUT, async () => {
    const server = await startConnectServer({ onStream: (seen) => accept(seen) });
    try {
      const sockets = await Promise.all(Array.from({ length: 10 }, () => connect(server.url(), { http2: true })));
      assert.equal(server.sessions.length, 1, 'one session for ten WebSockets opened at once');
      assert.equal(server.streams.length, 10);
      // A later connect joins the same session.
      const eleventh = await connect(server.url(), { http2: true });
      assert.equal(server.sessions.length, 1);
      const session = server.sessions[0];
      for (const ws of [...sockets, eleventh]) ws.terminate();
      await Promise.all([...sockets, eleventh].map((ws) => ws.closed));
      const started = Date.now();
      await withTimeout(once(session, 'close'), { what: 'the session to close', timeout: SESSION_LINGER_MS + 3000 });
      assert.ok(Date.now() - started >= SESSION_LINGER_MS - 50, 'the session lingered before closing');
    } finally {
      await server.close();
    }
  });

  it('a session that receives GOAWAY leaves the pool: its WebSockets close with 1001, a new connect opens a new session', TIMEOUT, async () => {
    const server = await startConnectServer({ onStream: (seen) => accept(seen) });
    try {
      const ws = await connect(server.url(), { http2: true });
      const seen = server.streams[0];
      seen.session.goaway(http2.constants.NGHTTP2_NO_ERROR);
      const closing = await seen.nextFrame();
      assert.equal(closing.opcode, 0x8);
      assert.equal(closing.payload.readUInt16BE(0), 1001, 'going away');
      seen.stream.end(closeFrame(1001, '', { mask: false }));
      const info = await withTimeout(ws.closed, { what: 'the WebSocket to close' });
      assert.equal(info.code, 1001);
      const next = await connect(server.url(), { http2: true });
      assert.equal(server.sessions.length, 2, 'a new session');
      next.terminate();
    } finally {
      await server.close();
    }
  });

  it('a session that fails (the server drops it) ends its WebSockets with 1006', TIMEOUT, async () => {
    const server = await startConnectServer({ onStream: (seen) => accept(seen) });
    try {
      const a = await connect(server.url(), { http2: true });
      const b = await connect(server.url(), { http2: true });
      server.sessions[0].destroy(new Error('dropped'));
      const infos = await withTimeout(Promise.all([a.closed, b.closed]), { what: 'both WebSockets to close' });
      assert.deepEqual(infos.map((info) => info.code), [1006, 1006]);
      const { port } = server;
      await waitFor(() => sessionPool.sessionFor({ secure: false, host: '127.0.0.1', port, tls: undefined }) === undefined, { what: 'the session to leave the pool' });
    } finally {
      await server.close();
    }
  });
});

describe('a server without extended CONNECT, and the fallback', TIMEOUT, () => {
  it("h2c without SETTINGS_ENABLE_CONNECT_PROTOCOL: http2: true rejects with HS_ERR_H2_NO_EXTENDED_CONNECT, no stream opened", TIMEOUT, async () => {
    const server = await startConnectServer({ enableConnectProtocol: false });
    try {
      await assert.rejects(connect(server.url(), { http2: true }), { name: 'ClientHandshakeError', code: 'HS_ERR_H2_NO_EXTENDED_CONNECT' });
      assert.equal(server.streams.length, 0);
    } finally {
      await server.close();
    }
  });

  it("TLS h2 without extended CONNECT: 'auto' falls back to HTTP/1.1 on a new connection (which fails here: the port speaks only h2)", TIMEOUT, async () => {
    const server = await startConnectServer({ secure: true, enableConnectProtocol: false });
    try {
      // node:http2 refuses HTTP/1.1 by ALPN unless allowHTTP1: the fallback's TLS handshake fails.
      await assert.rejects(connect(server.url(), { http2: 'auto', tls: { ca: cert.cert } }), (error: unknown) => !(error instanceof ClientHandshakeError && error.code.startsWith('HS_ERR_H2_')));
      assert.equal(server.sessions.length, 1, 'HTTP/2 was tried first');
      await assert.rejects(connect(server.url(), { http2: true, tls: { ca: cert.cert } }), { code: 'HS_ERR_H2_NO_EXTENDED_CONNECT' });
      assert.equal(server.streams.length, 0);
    } finally {
      await server.close();
    }
  });

  it("TLS h2 without extended CONNECT, HTTP/1.1 beside it (allowHTTP1): 'auto' falls back to the upgrade on a new connection, and remembers", TIMEOUT, async () => {
    const h2 = http2.createSecureServer({ key: cert.key, cert: cert.cert, allowHTTP1: true, settings: { enableConnectProtocol: false } });
    let h2Sessions = 0;
    h2.on('session', () => h2Sessions++);
    const ws = createServer({}, (connection) => connection.on('message', (m) => connection.send(m)));
    // node:http2 hands HTTP/1.1 upgrades of an allowHTTP1 server to 'upgrade' listeners, as node:https does.
    ws.attach(h2 as unknown as import('node:https').Server);
    h2.listen(0, '127.0.0.1');
    await once(h2, 'listening');
    const url = `wss://localhost:${(h2.address() as AddressInfo).port}/`;
    try {
      for (let i = 0; i < 2; i++) {
        const client = await connect(url, { http2: 'auto', tls: { ca: cert.cert } });
        assert.equal(client.response.status, 101, 'the HTTP/1.1 upgrade');
        client.send('fell back');
        assert.equal(await withTimeout(client.receive(), { what: 'the echo' }), 'fell back');
        client.close();
        await withTimeout(client.closed, { what: 'the close' });
        assert.equal(h2Sessions, 1, "one HTTP/2 attempt: then 'auto' remembers the origin lacks extended CONNECT");
      }
      // true still asks (the server may have changed), and fails.
      await assert.rejects(connect(url, { http2: true, tls: { ca: cert.cert } }), { code: 'HS_ERR_H2_NO_EXTENDED_CONNECT' });
      assert.equal(h2Sessions, 2);
    } finally {
      await withTimeout(ws.close(), { what: 'the WebSocket server to close' });
      h2.close();
    }
  });

  it("a TLS server that speaks only HTTP/1.1: 'auto' goes on over the same TLS connection; true rejects with HS_ERR_H2_NOT_NEGOTIATED", TIMEOUT, async () => {
    let tlsConnections = 0;
    const server = createServer({ tls: { key: cert.key, cert: cert.cert } }, (ws) => ws.on('message', (m) => ws.send(m)));
    // The TLS listener under the WebSocket server, to count its TLS connections.
    (server as unknown as { netServer: import('node:tls').Server }).netServer.on('secureConnection', () => tlsConnections++);
    const { port } = await server.listen(0, '127.0.0.1');
    try {
      const url = `wss://localhost:${port}/`;
      const ws = await connect(url, { http2: 'auto', tls: { ca: cert.cert } });
      assert.equal(ws.response.status, 101);
      const echo = once(ws, 'message');
      ws.send('over http/1.1');
      assert.equal(String((await echo)[0]), 'over http/1.1');
      assert.equal(tlsConnections, 1, 'the TLS connection ALPN chose http/1.1 on was used, not a second one');
      ws.close();
      await ws.closed;
      await assert.rejects(connect(url, { http2: true, tls: { ca: cert.cert } }), { name: 'ClientHandshakeError', code: 'HS_ERR_H2_NOT_NEGOTIATED' });
    } finally {
      await server.close();
    }
  });

  it("TLS h2 with extended CONNECT: 'auto' uses it (:scheme https)", TIMEOUT, async () => {
    const server = await startConnectServer({ secure: true, onStream: (seen) => accept(seen) });
    try {
      const ws = await connect(server.url(), { http2: 'auto', tls: { ca: cert.cert } });
      assert.equal(ws.response.httpVersion, '2.0');
      assert.equal(server.streams[0].headers[':scheme'], 'https');
      assert.equal(server.streams[0].headers[':authority'], `localhost:${server.port}`);
      ws.terminate();
    } finally {
      await server.close();
    }
  });

  it('ws:// with http2: true against a server that speaks only HTTP/1.1: HS_ERR_H2_NOT_NEGOTIATED', TIMEOUT, async () => {
    const server = createServer({}, () => assert.fail('no WebSocket may open'));
    const { port } = await server.listen(0, '127.0.0.1');
    try {
      await assert.rejects(connect(`ws://127.0.0.1:${port}/`, { http2: true }), (error: unknown) => {
        assert.ok(error instanceof ClientHandshakeError, String(error));
        assert.equal(error.code, 'HS_ERR_H2_NOT_NEGOTIATED');
        return true;
      });
    } finally {
      await server.close();
    }
  });

  it('connectTimeout covers the session too: a server that accepts TCP and sends no SETTINGS → HS_ERR_CONNECT_TIMEOUT, its socket closed', TIMEOUT, async () => {
    const { createServer: createNetServer } = await import('node:net');
    const sockets: import('node:net').Socket[] = [];
    const silent = createNetServer((socket) => {
      sockets.push(socket);
      socket.on('error', () => {});
      socket.resume(); // read (and drop) the preface, so that the client's FIN is seen
    });
    silent.listen(0, '127.0.0.1');
    await once(silent, 'listening');
    try {
      const started = Date.now();
      await assert.rejects(connect(`ws://127.0.0.1:${(silent.address() as AddressInfo).port}/`, { http2: true, connectTimeout: 300 }), { code: 'HS_ERR_CONNECT_TIMEOUT' });
      assert.ok(Date.now() - started < 2000);
      assert.equal(sockets.length, 1);
      await withTimeout(once(sockets[0], 'close'), { what: 'the client to drop the connection' });
    } finally {
      silent.close();
    }
  });

  it("ws:// with 'auto' stays on HTTP/1.1 (nothing to ask the server without TLS)", TIMEOUT, async () => {
    const server = createServer({}, (ws) => ws.on('message', (m) => ws.send(m)));
    const { port } = await server.listen(0, '127.0.0.1');
    try {
      const ws = await connect(`ws://127.0.0.1:${port}/`, { http2: 'auto' });
      assert.equal(ws.response.status, 101);
      ws.close();
      await ws.closed;
    } finally {
      await server.close();
    }
  });
});

// ─── against our own server (createServer({ http2: true }), src/server/http2-door.ts) ───

for (const secure of [false, true]) {
  const over = secure ? 'TLS + ALPN h2' : 'h2c';
  describe(`our client against our server over HTTP/2 (${over})`, TIMEOUT, () => {
    let server: WebSocketServer<undefined>;
    let base: string;
    const serverSide: Array<WebSocketConnection<undefined>> = [];
    const options = (more: ClientOptions = {}): ClientOptions => ({ http2: true, ...(secure ? { tls: { ca: cert.cert } } : {}), ...more });

    before(async () => {
      server = createServer({ http2: true, maxMessageSize: 1024, perMessageDeflate: true, ...(secure ? { tls: { key: cert.key, cert: cert.cert } } : {}) }, (ws) => {
        serverSide.push(ws);
        ws.on('message', (message) => {
          if (message === 'close please') ws.close(4000, 'as asked');
          else ws.send(message);
        });
      });
      const { port } = await server.listen(0, '127.0.0.1');
      base = `${secure ? 'wss://localhost' : 'ws://127.0.0.1'}:${port}`;
    });
    after(() => withTimeout(server.close(), { what: 'server.close()' }));

    it('text, binary, fragmented, ping/pong; the server sees an extended CONNECT stream; close from the client', TIMEOUT, async () => {
      const ws = await connect(`${base}/echo`, options());
      const remote = await waitFor(() => serverSide.at(-1), { what: 'the server side' });
      assert.equal(remote.request.httpVersion, '2');
      assert.equal(ws.response.httpVersion, '2.0');
      const next = (): Promise<unknown> => withTimeout(ws.receive(), { what: 'an echo' });

      ws.send('héllo');
      assert.equal(await next(), 'héllo');
      ws.send(Buffer.from([0, 1, 2, 255]));
      assert.deepEqual(await next(), Buffer.from([0, 1, 2, 255]));
      await ws.sendStream(['frag', 'men', 'ted']);
      assert.equal(await next(), 'fragmented');
      const pong = once(ws, 'pong');
      ws.ping('are you there');
      assert.equal(String((await withTimeout(pong, { what: 'the pong' }))[0]), 'are you there');

      ws.close(1000, 'done');
      const [mine, theirs] = await withTimeout(Promise.all([ws.closed, remote.closed]), { what: 'both ends to close' });
      assert.deepEqual([mine.code, mine.wasClean], [1000, true]);
      assert.deepEqual([theirs.code, theirs.reason, theirs.wasClean], [1000, 'done', true]);
    });

    it('close from the server', TIMEOUT, async () => {
      const ws = await connect(`${base}/`, options());
      ws.send('close please');
      const info = await withTimeout(ws.closed, { what: 'the close' });
      assert.deepEqual([info.code, info.reason, info.wasClean], [4000, 'as asked', true]);
    });

    it("limits: a message one byte over the server's maxMessageSize gets 1009, at the limit passes", TIMEOUT, async () => {
      const ws = await connect(`${base}/`, options());
      ws.send('x'.repeat(1024));
      assert.equal(((await withTimeout(ws.receive(), { what: 'the echo' })) as string).length, 1024);
      ws.send('x'.repeat(1025));
      const info = await withTimeout(ws.closed, { what: 'the close' });
      assert.equal(info.code, 1009);
    });

    it('permessage-deflate negotiated over the stream, compressed messages both ways', TIMEOUT, async () => {
      const ws = await connect(`${base}/`, options({ perMessageDeflate: true }));
      assert.match(ws.extensions, /^permessage-deflate/);
      const big = 'compress me '.repeat(80);
      ws.send(big);
      assert.equal(await withTimeout(ws.receive(), { what: 'the echo' }), big);
      ws.close();
      await ws.closed;
    });

    it('a stream reset: terminate() on either side is an abnormal closure (1006) for the other, the session lives on', TIMEOUT, async () => {
      const a = await connect(`${base}/`, options());
      const b = await connect(`${base}/`, options());
      const remoteB = await waitFor(() => serverSide.at(-1), { what: 'the server side' });
      const remoteA = serverSide.at(-2)!;
      a.terminate();
      assert.equal((await withTimeout(remoteA.closed, { what: 'the server side of a' })).code, 1006);
      remoteB.terminate();
      assert.equal((await withTimeout(b.closed, { what: 'b' })).code, 1006);
      const c = await connect(`${base}/`, options());
      c.send('still here');
      assert.equal(await withTimeout(c.receive(), { what: 'the echo' }), 'still here');
      assert.equal(serverSide.at(-1)!.request.remotePort, remoteA.request.remotePort, 'the same TCP connection');
      c.close();
      await c.closed;
    });
  });
}

describe('one session for many WebSockets, against our server', TIMEOUT, () => {
  it('100 WebSockets on one HTTP/2 connection; the session closes after the last one, once its linger is over', { timeout: 60_000 }, async () => {
    const serverSide: Array<WebSocketConnection<undefined>> = [];
    const server = createServer({ http2: true }, (ws) => {
      serverSide.push(ws);
      ws.on('message', (message) => ws.send(message));
    });
    const { port } = await server.listen(0, '127.0.0.1');
    try {
      const url = `ws://127.0.0.1:${port}/many`;
      const sockets = await withTimeout(Promise.all(Array.from({ length: 100 }, () => connect(url, { http2: true }))), { what: '100 connects', timeout: 30_000 });
      const replies = await withTimeout(
        Promise.all(
          sockets.map((ws, i) => {
            ws.send(`#${i}`);
            return ws.receive();
          }),
        ),
        { what: '100 echoes', timeout: 30_000 },
      );
      assert.deepEqual(replies, sockets.map((_, i) => `#${i}`));
      // One TCP connection: every server side sees the same client address and port.
      assert.equal(serverSide.length, 100);
      assert.equal(new Set(serverSide.map((ws) => `${ws.request.remoteAddress}:${ws.request.remotePort}`)).size, 1);
      assert.ok(serverSide.every((ws) => ws.request.httpVersion === '2'));
      const pooled = sessionPool.sessionFor({ secure: false, host: '127.0.0.1', port, tls: undefined });
      assert.ok(pooled !== undefined);
      assert.equal(pooled.references, 100);

      for (const ws of sockets) ws.close();
      await withTimeout(Promise.all(sockets.map((ws) => ws.closed)), { what: 'the closes', timeout: 30_000 });
      assert.equal(pooled.references, 0);
      assert.equal(pooled.session.closed, false, 'lingering');
      await withTimeout(once(pooled.session, 'close'), { what: 'the session to close', timeout: SESSION_LINGER_MS + 5000 });
      assert.equal(sessionPool.sessionFor({ secure: false, host: '127.0.0.1', port, tls: undefined }), undefined);
    } finally {
      await withTimeout(server.close(), { what: 'server.close()' });
    }
  });

  it('server.close() sends GOAWAY: the WebSockets close with 1001, and the next connect opens a new session', TIMEOUT, async () => {
    const server = createServer({ http2: true, closeTimeout: 1000 }, () => {});
    const { port } = await server.listen(0, '127.0.0.1');
    const url = `ws://127.0.0.1:${port}/`;
    const a = await connect(url, { http2: true });
    const b = await connect(url, { http2: true });
    const pooled = sessionPool.sessionFor({ secure: false, host: '127.0.0.1', port, tls: undefined })!;
    await withTimeout(server.close(), { what: 'server.close()' });
    const infos = await withTimeout(Promise.all([a.closed, b.closed]), { what: 'the closes' });
    assert.deepEqual(infos.map((info) => info.code), [1001, 1001]);
    assert.equal(pooled.usable, false);
    assert.notEqual(sessionPool.sessionFor({ secure: false, host: '127.0.0.1', port, tls: undefined }), pooled);
  });

  it("'auto' against our TLS server with http2: HTTP/2; without http2: the HTTP/1.1 upgrade on the same TLS port", TIMEOUT, async () => {
    for (const http2Option of [true, false]) {
      const seen: string[] = [];
      const server = createServer({ http2: http2Option, tls: { key: cert.key, cert: cert.cert } }, (ws) => {
        seen.push(ws.request.httpVersion ?? '1.1');
      });
      const { port } = await server.listen(0, '127.0.0.1');
      try {
        const ws = await connect(`wss://localhost:${port}/`, { http2: 'auto', tls: { ca: cert.cert } });
        assert.equal(ws.response.status, http2Option ? 200 : 101);
        await waitFor(() => seen.length === 1, { what: 'the server side' });
        assert.deepEqual(seen, [http2Option ? '2' : '1.1']);
        ws.close();
        await withTimeout(ws.closed, { what: 'the close' });
      } finally {
        await withTimeout(server.close(), { what: 'server.close()' });
      }
    }
  });

  it('reconnecting() takes the option through', TIMEOUT, async () => {
    const seen: string[] = [];
    const server = createServer({ http2: true }, (ws) => {
      seen.push(ws.request.httpVersion ?? '1.1');
      ws.close(1012, 'restarting');
    });
    const { port } = await server.listen(0, '127.0.0.1');
    const controller = new AbortController();
    try {
      const client = reconnecting(`ws://127.0.0.1:${port}/`, { http2: true, signal: controller.signal, reconnect: { initialDelay: 10, maxDelay: 20 } });
      await waitFor(() => seen.length >= 2, { what: 'two connections' });
      assert.deepEqual(seen.slice(0, 2), ['2', '2']);
      controller.abort();
      await withTimeout(client.stopped, { what: 'the client to stop' });
    } finally {
      await withTimeout(server.close(), { what: 'server.close()' });
    }
  });
});
