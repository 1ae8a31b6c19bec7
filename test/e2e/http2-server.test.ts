/**
 * WebSockets over HTTP/2 (RFC 8441), the server side, over real sockets: a
 * raw node:http2 client written here sends hand-built extended CONNECT
 * requests and hand-built masked frames on the stream, and reads what the
 * server answers byte by byte (frames, END_STREAM, RST_STREAM, GOAWAY).
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { connect as tlsConnect } from 'node:tls';
import { deflateRawSync, inflateRawSync } from 'node:zlib';
import http2, { type ClientHttp2Session, type ClientHttp2Stream, type IncomingHttpHeaders, type OutgoingHttpHeaders } from 'node:http2';
import { after, before, describe, it } from 'node:test';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer, type WebSocketServer } from '../../src/server/server.js';
import { serveStatic } from '../../src/http/static-files.js';
import type { WebSocketConnection } from '../../src/connection/websocket-connection.js';
import type { CloseInfo } from '../../src/protocol/close-state.js';
import { binary, close, cont, decodeFrames, OP, parseClosePayload, ping, pong, text, type DecodedFrame } from '../helpers/frames.js';
import { waitFor, withTimeout } from '../helpers/wait-for.js';
import { createSelfSignedCert } from '../helpers/self-signed-cert.js';
import { acceptFor, parseHttpResponse, rawRequest, upgradeRequest } from '../helpers/raw-client.js';
import { RSV1 } from '../helpers/frames.js';
import { connect as netConnect, createServer as createNetServer } from 'node:net';

const TEST_TIMEOUT = 15_000;

/** A valid extended CONNECT for `path` (RFC 8441 §5.1's example), plus `extra`. */
function connectHeaders(path = '/', extra: OutgoingHttpHeaders = {}): OutgoingHttpHeaders {
  return {
    ':method': 'CONNECT',
    ':protocol': 'websocket',
    ':scheme': 'http',
    ':path': path,
    ':authority': 'localhost',
    'sec-websocket-version': '13',
    ...extra,
  };
}

/** A session to `url` that has the server's SETTINGS (so :protocol may be sent, RFC 8441 §3). */
async function session(url: string, options: http2.SecureClientSessionOptions = {}): Promise<ClientHttp2Session> {
  const client = http2.connect(url, options);
  client.on('error', () => {});
  const [settings] = (await withTimeout(once(client, 'remoteSettings'), { what: 'the server SETTINGS' })) as [http2.Settings];
  assert.equal(settings.enableConnectProtocol, true, 'SETTINGS_ENABLE_CONNECT_PROTOCOL = 1 (RFC 8441 §3)');
  return client;
}

interface Answer {
  status: number | undefined;
  headers: IncomingHttpHeaders | undefined;
  body: string;
  /** The stream's RST_STREAM code, if it was reset (NO_ERROR 0 after a complete response). */
  rstCode: number | undefined;
  ended: boolean;
}

/** Send `headers` and collect the answer until the stream closes. */
async function ask(client: ClientHttp2Session, headers: OutgoingHttpHeaders): Promise<Answer> {
  const stream = client.request(headers, { endStream: false });
  const answer: Answer = { status: undefined, headers: undefined, body: '', rstCode: undefined, ended: false };
  stream.on('response', (h) => {
    answer.headers = h;
    answer.status = Number(h[':status']);
  });
  stream.on('data', (chunk: Buffer) => (answer.body += chunk.toString()));
  stream.on('end', () => (answer.ended = true));
  stream.on('error', () => {});
  await withTimeout(once(stream, 'close'), { what: `the stream of ${JSON.stringify(headers)} to close` });
  answer.rstCode = stream.rstCode;
  return answer;
}

/** A WebSocket stream and a reader of the frames the server sends on it. */
class WsStream {
  readonly frames: DecodedFrame[] = [];
  private buffered: Buffer = Buffer.alloc(0);
  ended = false;
  constructor(readonly stream: ClientHttp2Stream) {
    stream.on('data', (chunk: Buffer) => {
      const { frames, rest } = decodeFrames(Buffer.concat([this.buffered, chunk]));
      this.frames.push(...frames);
      this.buffered = rest;
    });
    stream.on('end', () => (this.ended = true));
    stream.on('error', () => {});
  }
  send(bytes: Buffer): void {
    this.stream.write(bytes);
  }
  async next(what: string): Promise<DecodedFrame> {
    await waitFor(() => this.frames.length > 0, { what });
    return this.frames.shift()!;
  }
}

/** Open a WebSocket stream on `client`; resolves once the 200 came. */
async function openWs(client: ClientHttp2Session, path = '/', extra: OutgoingHttpHeaders = {}): Promise<{ ws: WsStream; headers: IncomingHttpHeaders }> {
  const stream = client.request(connectHeaders(path, extra), { endStream: false });
  const ws = new WsStream(stream);
  const [headers] = (await withTimeout(once(stream, 'response'), { what: 'the 200' })) as [IncomingHttpHeaders];
  assert.equal(headers[':status'], 200);
  return { ws, headers };
}

describe('WebSocket over HTTP/2 (h2c): the exchange on one stream', { timeout: TEST_TIMEOUT }, () => {
  let server: WebSocketServer<undefined>;
  let url: string;
  const serverSide: WebSocketConnection<undefined>[] = [];

  before(async () => {
    server = createServer({ http2: true }, (ws) => {
      serverSide.push(ws);
      ws.on('message', (message) => {
        if (message === 'close please') ws.close(1000, 'as asked');
        else ws.send(message);
      });
    });
    const { port } = await server.listen(0, '127.0.0.1');
    url = `http://127.0.0.1:${port}`;
  });
  after(() => server.close());

  it('text, binary, fragmented, ping/pong; the server sends unmasked frames; the client closes, END_STREAM both ways', async () => {
    const client = await session(url);
    try {
      const { ws } = await openWs(client, '/echo?x=1');
      const connection = await waitFor(() => serverSide.at(-1), { what: 'the server connection' });
      assert.equal(connection.request.httpVersion, '2');
      assert.equal(connection.request.path, '/echo');
      assert.equal(connection.request.query, 'x=1');
      ws.send(text('héllo'));
      let frame = await ws.next('the text echo');
      assert.equal(frame.masked, false, 'RFC 6455 §5.1: a server MUST NOT mask (RFC 8441 §5 keeps it)');
      assert.equal(frame.opcode, OP.TEXT);
      assert.equal(frame.payload.toString(), 'héllo');
      ws.send(binary(Buffer.from([0, 1, 2, 255])));
      frame = await ws.next('the binary echo');
      assert.equal(frame.opcode, OP.BINARY);
      assert.deepEqual([...frame.payload], [0, 1, 2, 255]);
      ws.send(text('frag', { fin: false }));
      ws.send(ping('p1'));
      frame = await ws.next('the pong in the middle of a fragmented message');
      assert.equal(frame.opcode, OP.PONG);
      assert.equal(frame.payload.toString(), 'p1');
      ws.send(cont('mented'));
      frame = await ws.next('the reassembled message');
      assert.equal(frame.payload.toString(), 'fragmented');
      ws.send(pong('unsolicited'));
      ws.send(close(1000, 'bye'));
      frame = await ws.next('the close answer');
      assert.equal(frame.opcode, OP.CLOSE);
      assert.equal(parseClosePayload(frame.payload).code, 1000);
      await waitFor(() => ws.ended, { what: "the server's END_STREAM after its close frame (RFC 8441 §5)" });
      ws.stream.end();
      await withTimeout(once(ws.stream, 'close'), { what: 'the stream to close' });
      assert.equal(ws.stream.rstCode, http2.constants.NGHTTP2_NO_ERROR);
      const info = await withTimeout(connection.closed, { what: 'the server connection to close' });
      assert.equal(info.code, 1000);
      assert.equal(info.wasClean, true);
      assert.equal(client.closed, false, 'the HTTP/2 connection stays open for other streams');
    } finally {
      client.close();
    }
  });

  it('the server closes: its close frame, the client answers, END_STREAM ends the stream', async () => {
    const client = await session(url);
    try {
      const { ws } = await openWs(client);
      ws.send(text('close please'));
      const frame = await ws.next("the server's close frame");
      assert.equal(frame.opcode, OP.CLOSE);
      assert.deepEqual({ ...parseClosePayload(frame.payload), reasonBytes: undefined }, { code: 1000, reason: 'as asked', reasonBytes: undefined });
      ws.send(close(1000));
      await waitFor(() => ws.ended, { what: "the server's END_STREAM" });
      ws.stream.end();
      await withTimeout(once(ws.stream, 'close'), { what: 'the stream to close' });
      assert.equal(ws.stream.rstCode, http2.constants.NGHTTP2_NO_ERROR);
    } finally {
      client.close();
    }
  });

  it('a stream reset by the client: the server side closes with 1006, wasClean false; the session lives on', async () => {
    const client = await session(url);
    try {
      const { ws } = await openWs(client);
      const connection = await waitFor(() => serverSide.at(-1), { what: 'the server connection' });
      ws.stream.close(http2.constants.NGHTTP2_CANCEL);
      const info: CloseInfo = await withTimeout(connection.closed, { what: 'the server connection to close' });
      assert.equal(info.code, 1006);
      assert.equal(info.wasClean, false);
      const again = await openWs(client);
      again.ws.send(text('still here'));
      assert.equal((await again.ws.next('an echo on a new stream')).payload.toString(), 'still here');
      again.ws.stream.close(http2.constants.NGHTTP2_CANCEL);
    } finally {
      client.close();
    }
  });
});

describe('WebSocket over HTTP/2: failing, limits, the close timeout', { timeout: TEST_TIMEOUT }, () => {
  let server: WebSocketServer<undefined>;
  let url: string;
  const serverSide: WebSocketConnection<undefined>[] = [];

  before(async () => {
    server = createServer({ http2: true, closeTimeout: 300, maxMessageSize: 1000 }, (ws) => {
      serverSide.push(ws);
      ws.on('message', (m) => (m === 'close please' ? ws.close(1000) : ws.send(m)));
    });
    const { port } = await server.listen(0, '127.0.0.1');
    url = `http://127.0.0.1:${port}`;
  });
  after(() => server.close());

  it('the connection knows where it came from: the session socket\'s address', async () => {
    const client = await session(url);
    try {
      const { ws } = await openWs(client);
      const connection = await waitFor(() => serverSide.at(-1), { what: 'the server connection' });
      assert.equal(connection.remoteAddress, '127.0.0.1');
      assert.equal(connection.request.remotePort, client.socket.localPort);
      ws.stream.close(http2.constants.NGHTTP2_CANCEL);
    } finally {
      client.close();
    }
  });

  it('an unmasked client frame: the server fails with 1002, then END_STREAM once the client answers', async () => {
    const client = await session(url);
    try {
      const { ws } = await openWs(client);
      ws.send(text('naked', { mask: false }));
      const frame = await ws.next('the close frame');
      assert.equal(frame.opcode, OP.CLOSE);
      assert.equal(parseClosePayload(frame.payload).code, 1002);
      ws.send(close(1002));
      await waitFor(() => ws.ended, { what: 'END_STREAM' });
      ws.stream.end();
      await withTimeout(once(ws.stream, 'close'), { what: 'the stream to close' });
      assert.equal(ws.stream.rstCode, http2.constants.NGHTTP2_NO_ERROR);
    } finally {
      client.close();
    }
  });

  it('maxMessageSize applies unchanged: a message one byte over gets 1009, at the limit passes', async () => {
    const client = await session(url);
    try {
      const { ws } = await openWs(client);
      ws.send(binary(Buffer.alloc(1000, 7)));
      assert.equal((await ws.next('the echo at the limit')).payload.length, 1000);
      ws.send(binary(Buffer.alloc(1001, 7)));
      const frame = await ws.next('the close frame');
      assert.equal(parseClosePayload(frame.payload).code, 1009);
      ws.stream.close(http2.constants.NGHTTP2_CANCEL);
    } finally {
      client.close();
    }
  });

  it('a client that never answers our close frame: after closeTimeout the stream (only) is reset with RST_STREAM CANCEL', async () => {
    const client = await session(url);
    try {
      const { ws } = await openWs(client);
      ws.send(text('close please'));
      assert.equal((await ws.next("the server's close frame")).opcode, OP.CLOSE);
      await withTimeout(once(ws.stream, 'close'), { what: 'the reset after closeTimeout' });
      assert.equal(ws.stream.rstCode, http2.constants.NGHTTP2_CANCEL, 'RFC 8441 §5: RST exceptions are RST_STREAM with CANCEL');
      assert.equal(client.closed || client.destroyed, false, 'the HTTP/2 connection is not closed');
      const again = await openWs(client);
      again.ws.send(text('next'));
      assert.equal((await again.ws.next('an echo on the same session')).payload.toString(), 'next');
      again.ws.stream.close(http2.constants.NGHTTP2_CANCEL);
    } finally {
      client.close();
    }
  });
});

describe('WebSocket over HTTP/2: refused extended CONNECTs, from a raw node:http2 client', { timeout: TEST_TIMEOUT }, () => {
  let server: WebSocketServer<undefined>;
  let url: string;
  let client: ClientHttp2Session;

  before(async () => {
    server = createServer({ http2: true, closeTimeout: 1000 }).route('/chat', (ws) => ws.on('message', (m) => ws.send(m)));
    const { port } = await server.listen(0, '127.0.0.1');
    url = `http://127.0.0.1:${port}`;
    client = await session(url);
  });
  after(async () => {
    client.close();
    await server.close();
  });

  /** Each refusal: its status, a text body ending the stream (END_STREAM), then RST_STREAM NO_ERROR (RFC 9113 §8.1). */
  async function refusedWith(headers: OutgoingHttpHeaders, status: number): Promise<Answer> {
    const answer = await ask(client, headers);
    assert.equal(answer.status, status, `${JSON.stringify(headers)}: ${answer.body}`);
    assert.equal(answer.ended, true, 'the refusal ends the stream (END_STREAM)');
    assert.ok(answer.rstCode === undefined || answer.rstCode === http2.constants.NGHTTP2_NO_ERROR, `rstCode ${answer.rstCode}`);
    assert.equal(answer.headers?.['content-type'], 'text/plain; charset=utf-8');
    return answer;
  }

  it('CONNECT without :protocol (a tunnel request): 501', async () => {
    const answer = await refusedWith({ ':method': 'CONNECT', ':authority': 'example.com:443' }, 501);
    assert.match(answer.body, /tunnel/);
  });

  it(':protocol other than websocket: 501', async () => {
    await refusedWith(connectHeaders('/chat', { ':protocol': 'webtransport' }), 501);
  });

  it('sec-websocket-version missing or 8: 400 with sec-websocket-version: 13', async () => {
    const headers = connectHeaders('/chat');
    delete headers['sec-websocket-version'];
    let answer = await refusedWith(headers, 400);
    assert.equal(answer.headers?.['sec-websocket-version'], '13');
    answer = await refusedWith(connectHeaders('/chat', { 'sec-websocket-version': '8' }), 400);
    assert.equal(answer.headers?.['sec-websocket-version'], '13');
  });

  it(':scheme that is not http(s), a :path with a fragment, a Host that differs from :authority: 400', async () => {
    await refusedWith(connectHeaders('/chat', { ':scheme': 'ftp' }), 400);
    await refusedWith(connectHeaders('/chat#frag'), 400);
    await refusedWith(connectHeaders('/chat', { host: 'other.example' }), 400);
  });

  it('a content-length, or subprotocol offers that are not unique tokens: 400', async () => {
    await refusedWith(connectHeaders('/chat', { 'content-length': '5' }), 400);
    await refusedWith(connectHeaders('/chat', { 'sec-websocket-protocol': 'a, a' }), 400);
  });

  it('a path no route serves: 404, the same routes as HTTP/1.1', async () => {
    await refusedWith(connectHeaders('/nowhere'), 404);
    const { ws } = await openWs(client, '/chat');
    ws.send(text('routed'));
    assert.equal((await ws.next('the echo')).payload.toString(), 'routed');
    ws.stream.close(http2.constants.NGHTTP2_CANCEL);
  });

  it('a plain GET without an http handler: 404', async () => {
    const answer = await ask(client, { ':method': 'GET', ':path': '/' });
    assert.equal(answer.status, 404);
  });

  it('the session survives every refusal: a WebSocket opens on it afterwards', async () => {
    const { ws } = await openWs(client, '/chat');
    ws.send(text('alive'));
    assert.equal((await ws.next('the echo')).payload.toString(), 'alive');
    ws.stream.close(http2.constants.NGHTTP2_CANCEL);
  });
});

/**
 * A minimal HTTP/2 client by hand, for the requests node:http2 will not
 * send (it fills in :scheme, :path and :authority itself): the preface, an
 * empty SETTINGS, and one HEADERS frame whose fields are HPACK literals
 * without indexing (RFC 7541 §6.2.2), lengths under 127.
 */
async function rawHttp2Request(port: number, fields: Array<[string, string]>): Promise<{ rstCode: number | undefined; status: boolean }> {
  const socket = netConnect(port, '127.0.0.1');
  await once(socket, 'connect');
  const frameOf = (type: number, flags: number, stream: number, payload: Buffer): Buffer => {
    const head = Buffer.alloc(9);
    head.writeUIntBE(payload.length, 0, 3);
    head[3] = type;
    head[4] = flags;
    head.writeUInt32BE(stream, 5);
    return Buffer.concat([head, payload]);
  };
  const block = Buffer.concat(
    fields.map(([name, value]) => Buffer.concat([Buffer.from([0x00, name.length]), Buffer.from(name), Buffer.from([value.length]), Buffer.from(value)])),
  );
  socket.write(Buffer.concat([Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n'), frameOf(0x4, 0, 0, Buffer.alloc(0))]));
  let buffered = Buffer.alloc(0);
  let sentHeaders = false;
  const result: { rstCode: number | undefined; status: boolean } = { rstCode: undefined, status: false };
  await withTimeout(
    new Promise<void>((resolve) => {
      socket.on('data', (chunk: Buffer) => {
        buffered = Buffer.concat([buffered, chunk]);
        while (buffered.length >= 9) {
          const length = buffered.readUIntBE(0, 3);
          if (buffered.length < 9 + length) break;
          const type = buffered[3];
          const flags = buffered[4];
          const stream = buffered.readUInt32BE(5) & 0x7fffffff;
          const payload = buffered.subarray(9, 9 + length);
          buffered = buffered.subarray(9 + length);
          if (type === 0x4 && (flags & 0x1) === 0) {
            // The server's SETTINGS: acknowledge it, then send the request (after SETTINGS_ENABLE_CONNECT_PROTOCOL, RFC 8441 §3).
            socket.write(frameOf(0x4, 0x1, 0, Buffer.alloc(0)));
            if (!sentHeaders) {
              sentHeaders = true;
              socket.write(frameOf(0x1, 0x4 /* END_HEADERS */, 1, block));
            }
          }
          if (stream === 1 && type === 0x3) {
            result.rstCode = payload.readUInt32BE(0);
            resolve();
          }
          if (stream === 1 && type === 0x1) {
            result.status = true;
            resolve();
          }
        }
      });
    }),
    { what: 'an answer to the hand-built HEADERS' },
  );
  socket.destroy();
  return result;
}

describe('WebSocket over HTTP/2: malformed extended CONNECTs never reach us (nghttp2 resets them)', { timeout: TEST_TIMEOUT }, () => {
  let server: WebSocketServer<undefined>;
  let port: number;
  before(async () => {
    server = createServer({ http2: true }, () => assert.fail('no connection may open'));
    ({ port } = await server.listen(0, '127.0.0.1'));
  });
  after(() => server.close());

  const base: Array<[string, string]> = [
    [':method', 'CONNECT'],
    [':protocol', 'websocket'],
    [':scheme', 'http'],
    [':path', '/'],
    [':authority', 'localhost'],
    ['sec-websocket-version', '13'],
  ];
  const without = (name: string): Array<[string, string]> => base.filter(([n]) => n !== name);

  it('the hand-built valid request is answered (the harness works)', async () => {
    server.route('/', (ws) => ws.close());
    assert.deepEqual(await rawHttp2Request(port, base), { rstCode: undefined, status: true });
  });

  for (const missing of [':scheme', ':path', ':authority']) {
    it(`without ${missing}: RST_STREAM PROTOCOL_ERROR (RFC 8441 §4, RFC 9113 §8.1.1: malformed)`, async () => {
      assert.deepEqual(await rawHttp2Request(port, without(missing)), { rstCode: http2.constants.NGHTTP2_PROTOCOL_ERROR, status: false });
    });
  }

  it(':protocol on a GET: RST_STREAM PROTOCOL_ERROR', async () => {
    const fields = base.map(([n, v]): [string, string] => (n === ':method' ? [n, 'GET'] : [n, v]));
    assert.deepEqual(await rawHttp2Request(port, fields), { rstCode: http2.constants.NGHTTP2_PROTOCOL_ERROR, status: false });
  });

  it('Connection or Upgrade in the request (RFC 8441 §5 "MUST NOT be included"): RST_STREAM PROTOCOL_ERROR', async () => {
    for (const field of [['connection', 'Upgrade'], ['upgrade', 'websocket']] as Array<[string, string]>) {
      assert.deepEqual(await rawHttp2Request(port, [...base, field]), { rstCode: http2.constants.NGHTTP2_PROTOCOL_ERROR, status: false });
    }
  });
});

describe('WebSocket over HTTP/2: many streams on one session, plain requests beside them', { timeout: TEST_TIMEOUT }, () => {
  let server: WebSocketServer<undefined>;
  let url: string;
  const sessions = new Set<unknown>();

  before(async () => {
    server = createServer(
      {
        http2: true,
        closeTimeout: 1000,
        http: (req, res) => {
          res.setHeader('content-type', 'text/plain');
          res.end(`plain ${req.method} ${req.url} over HTTP/${req.httpVersion}`);
        },
      },
      (ws) => ws.on('message', (m) => ws.send(`${ws.request.path}:${String(m)}`)),
    );
    server.on('connection', (ws) => sessions.add(ws.request.remotePort));
    const { port } = await server.listen(0, '127.0.0.1');
    url = `http://127.0.0.1:${port}`;
  });
  after(() => server.close());

  it('two WebSockets and a GET on one HTTP/2 connection, each answered on its own stream', async () => {
    const client = await session(url);
    try {
      const a = await openWs(client, '/a');
      const b = await openWs(client, '/b');
      const get = ask(client, { ':method': 'GET', ':path': '/page?q=1' });
      a.ws.send(text('1'));
      b.ws.send(text('2'));
      assert.equal((await a.ws.next('a echo')).payload.toString(), '/a:1');
      assert.equal((await b.ws.next('b echo')).payload.toString(), '/b:2');
      const answer = await get;
      assert.equal(answer.status, 200);
      assert.equal(answer.body, 'plain GET /page?q=1 over HTTP/2.0');
      assert.equal(sessions.size, 1, 'both WebSockets came from the same TCP connection');
      assert.equal(server.connections.size, 2);
      // Closing one leaves the other open.
      a.ws.send(close(1000));
      await waitFor(() => a.ws.ended, { what: 'END_STREAM on a' });
      a.ws.stream.end();
      b.ws.send(text('3'));
      assert.equal((await b.ws.next('b echo after a closed')).payload.toString(), '/b:3');
      await waitFor(() => server.connections.size === 1, { what: 'one connection left' });
    } finally {
      client.close();
    }
  });

  it('100 WebSockets on one HTTP/2 connection, each echoing on its own stream', async () => {
    const client = await session(url);
    try {
      const sockets = await Promise.all(Array.from({ length: 100 }, (_, i) => openWs(client, `/n${i}`)));
      for (const [i, { ws }] of sockets.entries()) ws.send(text(String(i)));
      for (const [i, { ws }] of sockets.entries()) assert.equal((await ws.next(`echo ${i}`)).payload.toString(), `/n${i}:${i}`);
      assert.equal([...server.connections].filter((c) => c.request.path.startsWith('/n')).length, 100);
      for (const { ws } of sockets) ws.send(close(1000));
      for (const { ws } of sockets) {
        await waitFor(() => ws.ended, { what: 'END_STREAM' });
        ws.stream.end();
      }
      await waitFor(() => ![...server.connections].some((c) => c.request.path.startsWith('/n')), { what: 'all 100 closed' });
    } finally {
      client.close();
    }
  });

  it('GOAWAY from the client: its WebSockets are closed with 1001 (going away)', async () => {
    const client = await session(url);
    const { ws } = await openWs(client, '/g');
    const connection = await waitFor(() => [...server.connections].find((c) => c.request.path === '/g'), { what: 'the server connection' });
    client.goaway(http2.constants.NGHTTP2_NO_ERROR);
    const frame = await ws.next('the close frame after GOAWAY');
    assert.equal(frame.opcode, OP.CLOSE);
    assert.equal(parseClosePayload(frame.payload).code, 1001);
    ws.send(close(1001));
    await waitFor(() => ws.ended, { what: 'END_STREAM' });
    ws.stream.end();
    const info = await withTimeout(connection.closed, { what: 'the server connection to close' });
    assert.equal(info.wasClean, true);
    client.destroy();
  });
});

describe('WebSocket over HTTP/2: hooks, deflate, closing the server', { timeout: TEST_TIMEOUT }, () => {
  it('checkOrigin, authorize (refusal and extra headers), selectProtocol and permessage-deflate run over h2', async () => {
    const server = createServer<{ user: string }>(
      {
        http2: true,
        closeTimeout: 1000,
        perMessageDeflate: true,
        checkOrigin: (origin) => origin !== 'https://evil.example',
        authorize: (request) => {
          if (request.headers.get('authorization') !== 'Bearer ok') return { reject: { status: 401, reason: 'token please', headers: { 'WWW-Authenticate': 'Bearer' } } };
          return { data: { user: 'ann' }, headers: { 'Set-Cookie': 'sid=1', Connection: 'keep-alive' } };
        },
        selectProtocol: (offered) => (offered.includes('chat') ? 'chat' : undefined),
      },
      (ws) => ws.on('message', (m) => ws.send(`${ws.data?.user}:${String(m)}`)),
    );
    const { port } = await server.listen(0, '127.0.0.1');
    const client = await session(`http://127.0.0.1:${port}`);
    try {
      let answer = await ask(client, connectHeaders('/', { origin: 'https://evil.example', authorization: 'Bearer ok' }));
      assert.equal(answer.status, 403);
      answer = await ask(client, connectHeaders('/', { origin: 'https://good.example' }));
      assert.equal(answer.status, 401);
      assert.equal(answer.headers?.['www-authenticate'], 'Bearer');
      const { ws, headers } = await openWs(client, '/', {
        origin: 'https://good.example',
        authorization: 'Bearer ok',
        'sec-websocket-protocol': 'other, chat',
        'sec-websocket-extensions': 'permessage-deflate; client_max_window_bits',
      });
      assert.equal(headers['sec-websocket-protocol'], 'chat');
      assert.match(String(headers['sec-websocket-extensions']), /^permessage-deflate/);
      assert.equal(headers['set-cookie']?.[0], 'sid=1');
      assert.equal(headers.connection, undefined, 'no connection-specific header over HTTP/2');
      assert.equal(headers['sec-websocket-accept'], undefined);
      // A compressed message (RFC 7692 §7.2.1: deflate, drop the 00 00 ff ff tail, RSV1).
      const compressed = deflateRawSync(Buffer.from('squeezed'), { finishFlush: 2 /* Z_SYNC_FLUSH */ });
      ws.send(text(compressed.subarray(0, compressed.length - 4), { rsv: RSV1 }));
      const frame = await ws.next('the echo');
      const payload = frame.rsv === RSV1 ? inflateRawSync(Buffer.concat([frame.payload, Buffer.from([0, 0, 0xff, 0xff])]), { finishFlush: 2 }) : frame.payload;
      assert.equal(payload.toString(), 'ann:squeezed');
      ws.stream.close(http2.constants.NGHTTP2_CANCEL);
    } finally {
      client.close();
      await server.close();
    }
  });

  it('server.close(): the WebSockets get 1001, the client gets GOAWAY, the session closes', async () => {
    const server = createServer({ http2: true, closeTimeout: 1000 }, () => {});
    const { port } = await server.listen(0, '127.0.0.1');
    const client = await session(`http://127.0.0.1:${port}`);
    const goaway = once(client, 'goaway');
    const sessionClosed = once(client, 'close');
    const { ws } = await openWs(client);
    const closing = server.close();
    const frame = await ws.next('the close frame');
    assert.equal(parseClosePayload(frame.payload).code, 1001);
    ws.send(close(1001));
    await waitFor(() => ws.ended, { what: 'END_STREAM' });
    ws.stream.end();
    await withTimeout(goaway, { what: 'GOAWAY' });
    await withTimeout(closing, { what: 'server.close()' });
    await withTimeout(sessionClosed, { what: 'the session to close' });
  });

  it('an HTTP/2 connection without streams is closed after idleSessionTimeout', async () => {
    const server = createServer({ http2: { idleSessionTimeout: 200 } }, () => {});
    const { port } = await server.listen(0, '127.0.0.1');
    try {
      const client = await session(`http://127.0.0.1:${port}`);
      const started = Date.now();
      await withTimeout(once(client, 'goaway'), { what: 'GOAWAY on an idle session' });
      await withTimeout(once(client, 'close'), { what: 'the idle session to close' });
      assert.ok(Date.now() - started >= 150, 'not before the timeout');
    } finally {
      await server.close();
    }
  });

  it('a non-reading h2 peer: flow control shows as backpressure, send() returns false, sendStallTimeout closes with 1008', async () => {
    let connection: WebSocketConnection<undefined> | undefined;
    const server = createServer({ http2: true, sendStallTimeout: 300, closeTimeout: 300 }, (ws) => (connection = ws));
    const { port } = await server.listen(0, '127.0.0.1');
    const client = await session(`http://127.0.0.1:${port}`);
    try {
      const stream = client.request(connectHeaders('/'), { endStream: false });
      stream.on('error', () => {});
      await withTimeout(once(stream, 'response'), { what: 'the 200' });
      stream.pause(); // never read: no WINDOW_UPDATE for the stream
      const ws = await waitFor(() => connection, { what: 'the server connection' });
      const chunk = Buffer.alloc(64 * 1024);
      let accepted = 0;
      while (ws.send(chunk) && accepted < 1000) accepted++;
      assert.ok(accepted < 1000, 'send() returned false');
      assert.ok(ws.bufferedAmount > 64 * 1024, `bufferedAmount ${ws.bufferedAmount}`);
      const info = await withTimeout(ws.closed, { what: 'the stalled connection to close' });
      assert.equal(info.code, 1006, 'the peer never answered (it does not read)');
      assert.equal(info.sent?.code, 1008, 'we closed with 1008 (WS_ERR_SEND_STALLED)');
    } finally {
      client.destroy();
      await server.close();
    }
  });
});

describe('WebSocket over HTTP/2: hostile peers and broken hooks (the audit of issue 14)', { timeout: TEST_TIMEOUT }, () => {
  it('a client with SETTINGS_INITIAL_WINDOW_SIZE 0: a refusal and a 404 are reset with CANCEL after the linger, then the session idles out', async () => {
    const server = createServer({ http2: { idleSessionTimeout: 200 }, handshakeTimeout: 500 }, () => {});
    const { port } = await server.listen(0, '127.0.0.1');
    try {
      const client = await session(`http://127.0.0.1:${port}`, { settings: { initialWindowSize: 0 } });
      const sessionClosed = once(client, 'close');
      const started = Date.now();
      // No sec-websocket-version: 400, whose body the window of 0 holds back; a GET: 404, the same.
      const refused = client.request(connectHeaders('/', { 'sec-websocket-version': undefined }), { endStream: false });
      const notFound = client.request({ ':path': '/' });
      const statuses: number[] = [];
      for (const stream of [refused, notFound]) {
        stream.on('error', () => {});
        stream.on('response', (headers) => statuses.push(Number(headers[':status'])));
      }
      await withTimeout(Promise.all([once(refused, 'close'), once(notFound, 'close')]), { what: 'both streams to be reset', timeout: 5000 });
      assert.deepEqual(statuses.sort(), [400, 404]);
      assert.equal(refused.rstCode, http2.constants.NGHTTP2_CANCEL, 'RST_STREAM CANCEL (RFC 9113 §7)');
      assert.equal(notFound.rstCode, http2.constants.NGHTTP2_CANCEL);
      assert.ok(Date.now() - started >= 1500, 'the client had the linger to read the answer');
      await withTimeout(sessionClosed, { what: 'the idle session to close', timeout: 3000 });
    } finally {
      await server.close();
    }
  });

  it('an authorize hook that never settles: 408 after handshakeTimeout, the stream closed, then the session idles out', async () => {
    const server = createServer({ http2: { idleSessionTimeout: 200 }, handshakeTimeout: 300, authorize: () => new Promise<never>(() => {}) }, () => {});
    const { port } = await server.listen(0, '127.0.0.1');
    try {
      const client = await session(`http://127.0.0.1:${port}`);
      const sessionClosed = once(client, 'close');
      const started = Date.now();
      const answer = await ask(client, connectHeaders('/'));
      assert.equal(answer.status, 408);
      assert.equal(answer.ended, true);
      assert.ok(Date.now() - started >= 250, 'not before handshakeTimeout');
      await withTimeout(sessionClosed, { what: 'the idle session to close' });
    } finally {
      await server.close();
    }
  });

  it('authorize refusing with a 2xx: a 500 (RFC 9113 §8.5: a 2xx would open the tunnel), the fault reported', async () => {
    const errors: unknown[] = [];
    const server = createServer({ http2: true, authorize: () => ({ reject: { status: 200, reason: 'go away' } }) }, () => {});
    server.on('error', (error) => errors.push(error));
    const { port } = await server.listen(0, '127.0.0.1');
    const client = await session(`http://127.0.0.1:${port}`);
    try {
      const answer = await ask(client, connectHeaders('/'));
      assert.equal(answer.status, 500);
      assert.equal(answer.body, 'internal server error\n');
      await waitFor(() => errors.length > 0, { what: 'the error reported' });
      assert.match(String((errors[0] as Error).message), /status 200/);
    } finally {
      client.close();
      await server.close();
    }
  });

  it('authorize adding HTTP2-Settings (connection-specific, RFC 9113 §8.2.2): left out of the 200, no crash', async () => {
    const errors: unknown[] = [];
    const server = createServer({ http2: true, authorize: () => ({ headers: { 'HTTP2-Settings': 'AAMAAABkAAQAAP__', 'x-ok': '1' } }) }, () => {});
    server.on('error', (error) => errors.push(error));
    const { port } = await server.listen(0, '127.0.0.1');
    const client = await session(`http://127.0.0.1:${port}`);
    try {
      const { ws, headers } = await openWs(client);
      assert.equal(headers['x-ok'], '1');
      assert.equal(headers['http2-settings'], undefined, 'not generated');
      ws.stream.close(http2.constants.NGHTTP2_CANCEL);
      assert.deepEqual(errors, []);
    } finally {
      client.close();
      await server.close();
    }
  });

  it('a respond() that throws (whatever node:http2 refuses to send): the stream (only) reset with INTERNAL_ERROR, the error reported, no unhandled rejection', async () => {
    const rejections: unknown[] = [];
    const onRejection = (reason: unknown): void => void rejections.push(reason);
    process.on('unhandledRejection', onRejection);
    const errors: unknown[] = [];
    const wss = createServer({}, () => {});
    wss.on('error', (error) => errors.push(error));
    const own = http2.createServer({ settings: { enableConnectProtocol: true } });
    own.on('stream', (stream, headers) => {
      if (headers['x-break'] !== undefined) {
        stream.respond = () => {
          throw new Error('respond refused');
        };
      }
      wss.handleStream(stream, headers);
    });
    own.listen(0, '127.0.0.1');
    await once(own, 'listening');
    const { port } = own.address() as { port: number };
    const client = await session(`http://127.0.0.1:${port}`);
    try {
      for (const path of ['/', '/nowhere']) {
        // An accepted handshake (its 200) and a refused one (its 404).
        const stream = client.request(connectHeaders(path, { 'x-break': '1' }), { endStream: false });
        let status: unknown;
        stream.on('response', (headers) => (status = headers[':status']));
        stream.on('error', () => {});
        await withTimeout(new Promise((resolve) => stream.once('close', resolve)), { what: 'the reset' });
        assert.equal(status, undefined, 'no answer');
        assert.equal(stream.rstCode, http2.constants.NGHTTP2_INTERNAL_ERROR, 'RST_STREAM INTERNAL_ERROR (RFC 9113 §7)');
      }
      assert.equal(errors.length, 2);
      assert.match(String((errors[0] as Error).message), /respond refused/);
      const { ws } = await openWs(client);
      ws.stream.close(http2.constants.NGHTTP2_CANCEL);
      await new Promise((resolve) => setImmediate(resolve));
      assert.deepEqual(rejections, [], 'no unhandled rejection');
    } finally {
      process.off('unhandledRejection', onRejection);
      client.destroy();
      await wss.close();
      await new Promise((resolve) => own.close(resolve));
    }
  });

  it('a peer with huge windows that stops reading TCP: the session socket\'s backlog shows on the stream, send() returns false, sendStallTimeout closes with 1008', async () => {
    // In one process, pausing a socket node:http2 owns does not stop its
    // session from reading (it reads the handle itself): the client would
    // take all and buffer it in its own stream. So a TCP relay in between
    // stops reading from the server, as a real peer's kernel would.
    let connection: WebSocketConnection<undefined> | undefined;
    const server = createServer({ http2: true, sendStallTimeout: 300, closeTimeout: 300 }, (ws) => (connection = ws));
    const { port } = await server.listen(0, '127.0.0.1');
    let upstream: import('node:net').Socket | undefined;
    const relay = createNetServer((down) => {
      const up = netConnect(port, '127.0.0.1');
      upstream = up;
      down.pipe(up);
      up.pipe(down);
      down.on('error', () => {});
      up.on('error', () => {});
    });
    relay.listen(0, '127.0.0.1');
    await once(relay, 'listening');
    const client = await session(`http://127.0.0.1:${(relay.address() as { port: number }).port}`, { settings: { initialWindowSize: 2 ** 31 - 1 } });
    client.setLocalWindowSize(2 ** 31 - 1);
    try {
      const stream = client.request(connectHeaders('/'), { endStream: false });
      stream.on('error', () => {});
      await withTimeout(once(stream, 'response'), { what: 'the 200' });
      const ws = await waitFor(() => connection, { what: 'the server connection' });
      // The peer's TCP stops reading; its HTTP/2 windows stay wide open.
      upstream!.unpipe();
      upstream!.pause();
      // A well-behaved sender: on false, wait for 'drain'. The kernels and the relay take a few MiB, then nothing.
      const chunk = Buffer.alloc(64 * 1024);
      const cap = 4096; // 256 MiB: far more than the kernels and the relay can take
      let closed = false;
      void ws.closed.then(() => (closed = true));
      let sent = 0;
      let refusals = 0;
      while (!closed && sent < cap) {
        sent++;
        if (!ws.send(chunk)) {
          refusals++;
          await Promise.race([once(ws, 'drain'), ws.closed]);
        }
      }
      assert.ok(sent < cap, `bounded: ${sent} chunks of 64 KiB sent before the close`);
      assert.ok(refusals > 0, 'send() returned false');
      assert.ok(ws.bufferedAmount <= 2 * 64 * 1024 + 1024, `what stays buffered here is bounded by the high-water mark: ${ws.bufferedAmount}`);
      const info = await withTimeout(ws.closed, { what: 'the stalled connection to close' });
      assert.equal(info.sent?.code, 1008, 'we closed with 1008 (WS_ERR_SEND_STALLED)');
      assert.equal(info.error?.code, 'WS_ERR_SEND_STALLED');
    } finally {
      upstream?.destroy();
      client.destroy();
      relay.close();
      await server.close();
    }
  });
});

describe('WebSocket over HTTP/2: one TLS port for h2 and HTTP/1.1 (ALPN), one cleartext port for h2c and HTTP/1.1', { timeout: TEST_TIMEOUT }, () => {
  const cert = createSelfSignedCert();

  it('over TLS: ALPN h2 gets HTTP/2 streams; ALPN http/1.1 and no ALPN get the HTTP/1.1 upgrade', async () => {
    const seen: string[] = [];
    const server = createServer({ http2: true, tls: { key: cert.key, cert: cert.cert }, closeTimeout: 1000 }, (ws) => {
      seen.push(ws.request.httpVersion ?? '?');
      ws.on('message', (m) => ws.send(m));
    });
    const { port } = await server.listen(0, '127.0.0.1');
    try {
      const client = await session(`https://localhost:${port}`, { ca: cert.cert });
      assert.equal((client.socket as unknown as { alpnProtocol: string }).alpnProtocol, 'h2');
      const { ws } = await openWs(client, '/', { ':scheme': 'https' });
      ws.send(text('over h2'));
      assert.equal((await ws.next('the h2 echo')).payload.toString(), 'over h2');
      ws.stream.close(http2.constants.NGHTTP2_CANCEL);
      client.close();

      for (const ALPNProtocols of [['http/1.1'], undefined]) {
        const socket = tlsConnect({ port, host: '127.0.0.1', servername: 'localhost', ca: cert.cert, ALPNProtocols });
        await withTimeout(once(socket, 'secureConnect'), { what: 'TLS' });
        assert.equal(socket.alpnProtocol, ALPNProtocols === undefined ? false : 'http/1.1');
        let received = Buffer.alloc(0);
        socket.on('data', (chunk: Buffer) => (received = Buffer.concat([received, chunk])));
        const request = upgradeRequest(port);
        const key = /Sec-WebSocket-Key: (.*)\r\n/.exec(request)![1];
        socket.write(request);
        const response = await waitFor(() => parseHttpResponse(received), { what: 'the 101' });
        assert.equal(response.status, 101);
        assert.equal(response.headers['sec-websocket-accept'], acceptFor(key));
        socket.destroy();
      }
      await waitFor(() => seen.length === 3, { what: 'three connections' });
      assert.deepEqual(seen, ['2', '1.1', '1.1']);
    } finally {
      await server.close();
    }
  });

  it('a page served over TLS/h2 by serveStatic, then a WebSocket on the same HTTP/2 connection (what a browser does)', async () => {
    const root = mkdtempSync(join(tmpdir(), 'wsrfc-h2-'));
    writeFileSync(join(root, 'index.html'), '<!doctype html><title>h2</title>');
    const server = createServer({ http2: true, tls: { key: cert.key, cert: cert.cert }, http: serveStatic(root), closeTimeout: 1000 }, (ws) =>
      ws.on('message', (m) => ws.send(m)),
    );
    const { port } = await server.listen(0, '127.0.0.1');
    const client = await session(`https://localhost:${port}`, { ca: cert.cert });
    try {
      const page = await ask(client, { ':method': 'GET', ':path': '/', ':scheme': 'https' });
      assert.equal(page.status, 200);
      assert.equal(page.headers?.['content-type'], 'text/html; charset=utf-8');
      assert.equal(page.body, '<!doctype html><title>h2</title>');
      const { ws } = await openWs(client, '/socket', { ':scheme': 'https' });
      ws.send(text('same connection'));
      assert.equal((await ws.next('the echo')).payload.toString(), 'same connection');
      const [connection] = server.connections;
      assert.equal(connection.request.httpVersion, '2');
      assert.equal(connection.request.remotePort, client.socket.localPort, 'the WebSocket came on the page\'s connection');
      ws.stream.close(http2.constants.NGHTTP2_CANCEL);
    } finally {
      client.close();
      await server.close();
      rmSync(root, { recursive: true, force: true });
    }
  });

  it('handleSocket() with http2: sockets of an application\'s own listener, h2c and HTTP/1.1, their first bytes already read', async () => {
    const wss = createServer({ http2: true, closeTimeout: 1000 }, (ws) => ws.on('message', (m) => ws.send(`${ws.request.httpVersion}:${String(m)}`)));
    const own = createNetServer((socket) => socket.once('data', (first: Buffer) => wss.handleSocket(socket, first)));
    own.listen(0, '127.0.0.1');
    await once(own, 'listening');
    const { port } = own.address() as { port: number };
    try {
      const client = await session(`http://127.0.0.1:${port}`);
      const { ws } = await openWs(client);
      ws.send(text('a'));
      assert.equal((await ws.next('the h2c echo')).payload.toString(), '2:a');
      ws.stream.close(http2.constants.NGHTTP2_CANCEL);
      client.close();
      const upgrade = await rawRequest(port, upgradeRequest(port), { timeoutMs: 300 });
      assert.equal(upgrade.response?.status, 101);
    } finally {
      await wss.close();
      await new Promise((resolve) => own.close(resolve));
    }
  });

  it('cleartext: the HTTP/2 preface goes to h2, an HTTP/1.1 upgrade to HTTP/1.1; a client silent past handshakeTimeout gets 408', async () => {
    const server = createServer({ http2: true, handshakeTimeout: 300 }, (ws) => ws.on('message', (m) => ws.send(m)));
    const { port } = await server.listen(0, '127.0.0.1');
    try {
      const upgrade = await rawRequest(port, upgradeRequest(port), { timeoutMs: 300 });
      assert.equal(upgrade.response?.status, 101);
      const silent = await rawRequest(port, [], { timeoutMs: 2000 });
      assert.equal(silent.response?.status, 408);
      assert.ok((silent.closedAfterMs ?? 0) < 1500, `answered after ${silent.closedAfterMs} ms`);
      // Part of the preface, then nothing: at handshakeTimeout the bytes go to HTTP/1.1, which reads an HTTP/2.0 request line.
      const halfPreface = await rawRequest(port, 'PRI * HTTP/2.0\r\n', { timeoutMs: 2000 });
      assert.equal(halfPreface.response?.status, 505, 'the preface must come within handshakeTimeout too');
      assert.ok((halfPreface.closedAfterMs ?? Infinity) >= 250 && (halfPreface.closedAfterMs ?? Infinity) < 1500, `answered after ${halfPreface.closedAfterMs} ms`);
      const client = await session(`http://127.0.0.1:${port}`);
      const { ws } = await openWs(client);
      ws.send(text('h2c'));
      assert.equal((await ws.next('the h2c echo')).payload.toString(), 'h2c');
      ws.stream.close(http2.constants.NGHTTP2_CANCEL);
      client.close();
    } finally {
      await server.close();
    }
  });
});

describe('handleStream(): WebSockets on the streams of an application\'s own node:http2 server', { timeout: TEST_TIMEOUT }, () => {
  it('its CONNECT streams become WebSockets (hooks and routes included), its other streams stay its own; close() leaves its sessions open', async () => {
    const wss = createServer({ closeTimeout: 1000 }).route('/ws/:room', (ws) => ws.on('message', (m) => ws.send(`${ws.params.room}:${String(m)}`)));
    const own = http2.createServer({ settings: { enableConnectProtocol: true } });
    own.on('stream', (stream, headers) => {
      if (headers[':method'] === 'CONNECT') wss.handleStream(stream, headers);
      else stream.respond({ ':status': 200 }, { endStream: true });
    });
    own.listen(0, '127.0.0.1');
    await once(own, 'listening');
    const { port } = own.address() as { port: number };
    const client = await session(`http://127.0.0.1:${port}`);
    try {
      assert.equal((await ask(client, { ':method': 'GET', ':path': '/' })).status, 200);
      assert.equal((await ask(client, connectHeaders('/nowhere'))).status, 404);
      const { ws } = await openWs(client, '/ws/lobby');
      ws.send(text('hi'));
      assert.equal((await ws.next('the echo')).payload.toString(), 'lobby:hi');
      await wss.close();
      const frame = await ws.next('the close frame of close()');
      assert.equal(parseClosePayload(frame.payload).code, 1001);
      assert.equal(client.closed, false, 'the application\'s session is not closed by wss.close()');
      assert.equal((await ask(client, { ':method': 'GET', ':path': '/' })).status, 200);
    } finally {
      client.destroy();
      await new Promise((resolve) => own.close(resolve));
    }
  });
});
