/**
 * WebSockets over HTTP/2 (RFC 8441), the server side, over real sockets: a
 * raw node:http2 client written here sends hand-built extended CONNECT
 * requests and hand-built masked frames on the stream, and reads what the
 * server answers byte by byte (frames, END_STREAM, RST_STREAM, GOAWAY).
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import http2, { type ClientHttp2Session, type ClientHttp2Stream, type IncomingHttpHeaders, type OutgoingHttpHeaders } from 'node:http2';
import { after, before, describe, it } from 'node:test';
import { createServer, type WebSocketServer } from '../../src/server/server.js';
import type { WebSocketConnection } from '../../src/connection/websocket-connection.js';
import type { CloseInfo } from '../../src/protocol/close-state.js';
import { binary, close, cont, decodeFrames, OP, parseClosePayload, ping, pong, text, type DecodedFrame } from '../helpers/frames.js';
import { waitFor, withTimeout } from '../helpers/wait-for.js';

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
export async function ask(client: ClientHttp2Session, headers: OutgoingHttpHeaders): Promise<Answer> {
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
    } finally {
      client.close();
    }
  });
});
