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
import { createServer } from '../../src/server/server.js';
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
    seen.stream.close(http2.constants.NGHTTP2_REFUSED_STREAM);
    await assert.rejects(connecting, (error: unknown) => {
      assert.ok(error instanceof ClientHandshakeError);
      assert.equal(error.code, 'HS_ERR_H2_STREAM_RESET');
      assert.match(error.message, /REFUSED_STREAM/);
      return true;
    });
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

  it('a header HTTP/2 cannot carry is refused before any I/O, as over HTTP/1.1', TIMEOUT, async () => {
    const before = server.streams.length;
    await assert.rejects(connect(server.url(), { http2: true, headers: { Upgrade: 'x' } }), { name: 'LocalError', code: 'HS_ERR_RESERVED_REQUEST_HEADER' });
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
      await assert.rejects(connect(server.url(), { http2: true, tls: { ca: cert.cert } }), { code: 'HS_ERR_H2_NO_EXTENDED_CONNECT' });
      // node:http2 refuses HTTP/1.1 by ALPN unless allowHTTP1: the fallback's TLS handshake fails.
      await assert.rejects(connect(server.url(), { http2: 'auto', tls: { ca: cert.cert } }), (error: unknown) => !(error instanceof ClientHandshakeError && error.code.startsWith('HS_ERR_H2_')));
      assert.equal(server.streams.length, 0);
    } finally {
      await server.close();
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
