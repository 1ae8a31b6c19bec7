/**
 * The server API over real sockets: routing, hooks, for-await iteration,
 * handler errors, timeouts, keepalive, graceful shutdown, backpressure.
 * (Wire-level conformance lives in conformance-*.test.ts.)
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { once } from 'node:events';
import { createServer as createHttpServer } from 'node:http';
import WebSocket from 'ws';
import { createServer, CloseCode, ConnectionClosedError, ReadyState, type ServerOptions, type ConnectionHandler, type WebSocketConnection } from '../../src/index.js';
import { waitFor, withTimeout } from '../helpers/wait-for.js';

async function startServer<D = undefined>(options: ServerOptions<D>, handler?: ConnectionHandler<D>) {
  const server = createServer<D>({ host: '127.0.0.1', ...options }, handler);
  server.on('error', () => {});
  const { port } = await server.listen(0);
  return { server, url: `ws://127.0.0.1:${port}`, port };
}

type Client = WebSocket & { nextMessage(): Promise<string> };

/** A ws client whose messages are buffered from the start (the server may send in the same packet as its 101). */
function openClient(url: string, protocols?: string[], headers?: Record<string, string>): Promise<Client> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, protocols, { headers }) as Client;
    const inbox: string[] = [];
    const waiters: Array<(message: string) => void> = [];
    ws.on('message', (data) => {
      const text = data.toString();
      const waiter = waiters.shift();
      if (waiter) waiter(text);
      else inbox.push(text);
    });
    ws.nextMessage = () => (inbox.length > 0 ? Promise.resolve(inbox.shift()!) : new Promise((r) => waiters.push(r)));
    ws.once('open', () => resolve(ws));
    ws.once('error', reject);
  });
}

function closeOf(ws: WebSocket): Promise<{ code: number; reason: string }> {
  return new Promise((resolve) => ws.once('close', (code, reason) => resolve({ code, reason: reason.toString() })));
}

function unexpectedResponse(url: string, headers?: Record<string, string>): Promise<number> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { headers });
    ws.once('unexpected-response', (_req, res) => {
      resolve(res.statusCode ?? 0);
      res.resume();
    });
    ws.once('open', () => reject(new Error('handshake unexpectedly succeeded')));
    ws.once('error', () => {});
  });
}

/** A raw client that completes the handshake and then does nothing: no pongs, no reads. */
async function rawUpgrade(port: number): Promise<{ socket: Socket; received: Buffer[] }> {
  const socket = connect(port, '127.0.0.1');
  await once(socket, 'connect');
  socket.write('GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n');
  const received: Buffer[] = [];
  socket.on('data', (chunk: Buffer) => received.push(chunk));
  await waitFor(() => Buffer.concat(received).includes('\r\n\r\n'), { what: 'the end of the response head' });
  return { socket, received };
}

test('per-path routes and the default handler; unknown path is 404 when only routes exist', async (t) => {
  const { server, url } = await startServer({});
  t.after(() => server.close());
  server.route('/a', (c) => c.send('route a'));
  server.route('/b', (c) => c.send(`route b ${c.query}`));
  const a = await openClient(`${url}/a`);
  assert.equal(await a.nextMessage(), 'route a');
  const b = await openClient(`${url}/b?x=1`);
  assert.equal(await b.nextMessage(), 'route b x=1');
  assert.equal(await unexpectedResponse(`${url}/c`), 404);
  a.close();
  b.close();
});

test('options.path restricts the default handler to one path', async (t) => {
  const { server, url } = await startServer({ path: '/ws' }, (c) => c.send('hi'));
  t.after(() => server.close());
  assert.equal(await unexpectedResponse(`${url}/other`), 404);
  const ws = await openClient(`${url}/ws`);
  assert.equal(await ws.nextMessage(), 'hi');
  ws.close();
});

test('for await iterates messages (text as string, binary as Buffer) and ends on close', async (t) => {
  const seen: Array<string | Buffer> = [];
  let ended!: () => void;
  const done = new Promise<void>((resolve) => (ended = resolve));
  let allArrived!: () => void;
  const arrived = new Promise<void>((resolve) => (allArrived = resolve));
  const { server, url } = await startServer({}, async (c) => {
    // Messages arriving before the loop starts are queued, not lost: the loop
    // starts only once the server has read all three (it answered the ping
    // the client sent after them, and the core reads in order).
    await withTimeout(arrived, { what: 'the pong to the ping sent after the three messages' });
    for await (const message of c) {
      seen.push(message);
      c.send(typeof message === 'string' ? message.toUpperCase() : message);
    }
    ended();
  });
  t.after(() => server.close());
  const ws = await openClient(url);
  const replies: Array<string> = [];
  ws.on('message', (data, isBinary) => replies.push(isBinary ? `bin:${(data as Buffer).toString('hex')}` : data.toString()));
  ws.send('abc');
  ws.send(Buffer.from([1, 2, 3]));
  ws.send('déf');
  ws.once('pong', () => allArrived());
  ws.ping();
  await waitFor(() => replies.length >= 3, { what: () => `3 replies, got ${JSON.stringify(replies)}` });
  assert.deepEqual(replies, ['ABC', 'bin:010203', 'DÉF']);
  assert.equal(typeof seen[0], 'string');
  assert.ok(Buffer.isBuffer(seen[1]));
  ws.close(1000);
  await withTimeout(done, { what: 'the for-await loop to end' });
  assert.equal(seen.length, 3);
});

test('connection exposes path, query, headers, subprotocol, origin and remote address', async (t) => {
  let info: Record<string, unknown> = {};
  const { server, url } = await startServer(
    { selectProtocol: (offered) => (offered.includes('chat.v2') ? 'chat.v2' : undefined) },
    (c) => {
      info = { path: c.path, query: c.query, protocol: c.protocol, origin: c.origin, remote: c.remoteAddress, custom: c.headers.get('x-custom') };
      c.send('ok');
    },
  );
  t.after(() => server.close());
  const ws = await openClient(`${url}/room/1?u=2`, ['chat.v1', 'chat.v2'], { Origin: 'https://example.test', 'X-Custom': 'yes' });
  assert.equal(ws.protocol, 'chat.v2');
  assert.equal(await ws.nextMessage(), 'ok');
  assert.deepEqual(info, { path: '/room/1', query: 'u=2', protocol: 'chat.v2', origin: 'https://example.test', remote: '127.0.0.1', custom: 'yes' });
  ws.close();
});

test('the remote address and port still answer once the socket is closed (the request holds them, not the socket)', async (t) => {
  let connection: WebSocketConnection | undefined;
  const { server, url } = await startServer({}, (c) => {
    connection = c;
    c.send('ok');
  });
  t.after(() => server.close());
  const ws = await openClient(url);
  assert.equal(await ws.nextMessage(), 'ok');
  const clientPort = (ws as unknown as { _socket: Socket })._socket.localPort;
  ws.terminate();
  const info = await withTimeout(connection!.closed, { what: 'the server side to close' });
  assert.equal(info.code, CloseCode.ABNORMAL_CLOSURE);
  assert.equal(connection!.readyState, ReadyState.CLOSED);
  assert.equal(connection!.remoteAddress, '127.0.0.1');
  assert.equal(connection!.request.remoteAddress, '127.0.0.1');
  assert.equal(connection!.request.remotePort, clientPort);
});

test('checkOrigin false → 403; authorize rejects with its own status; authorize data reaches the connection', async (t) => {
  const { server, url } = await startServer<{ user: string }>(
    {
      checkOrigin: (origin) => origin !== 'https://evil.test',
      authorize: async (request) => {
        const token = request.headers.get('authorization');
        if (token !== 'Bearer good') return { reject: { status: 401, reason: 'bad token', headers: { 'WWW-Authenticate': 'Bearer' } } };
        return { data: { user: 'alice' } };
      },
    },
    (c) => c.send(`hello ${c.data?.user}`),
  );
  t.after(() => server.close());
  assert.equal(await unexpectedResponse(url, { Origin: 'https://evil.test', Authorization: 'Bearer good' }), 403);
  assert.equal(await unexpectedResponse(url, { Authorization: 'Bearer bad' }), 401);
  const ws = await openClient(url, undefined, { Authorization: 'Bearer good' });
  assert.equal(await ws.nextMessage(), 'hello alice');
  ws.close();
});

test('ws.data is undefined when authorize accepts without attaching data (as its type says)', async (t) => {
  const { server, url } = await startServer<{ user: string }>(
    { authorize: (request) => (request.path === '/with' ? { data: { user: 'bob' } } : { headers: { 'X-Accepted': 'yes' } }) },
    (c) => c.send(c.data === undefined ? 'no data' : `data for ${c.data.user}`),
  );
  t.after(() => server.close());
  const without = await openClient(`${url}/without`);
  assert.equal(await without.nextMessage(), 'no data');
  const withData = await openClient(`${url}/with`);
  assert.equal(await withData.nextMessage(), 'data for bob');
  without.close();
  withData.close();
});

test('a hook that throws answers 500 and is reported, the server keeps serving', async (t) => {
  const errors: unknown[] = [];
  const { server, url } = await startServer({
    authorize: (request) => {
      if (request.path === '/boom') throw new Error('hook failed');
    },
  }, (c) => c.send('fine'));
  server.on('error', (error) => errors.push(error));
  t.after(() => server.close());
  assert.equal(await unexpectedResponse(`${url}/boom`), 500);
  assert.equal((errors[0] as Error).message, 'hook failed');
  const ws = await openClient(url);
  assert.equal(await ws.nextMessage(), 'fine');
  ws.close();
});

test('a hook whose answer cannot be written (a header with CR LF, a status out of range) gets 500 and is reported, never a crash', async (t) => {
  const errors: unknown[] = [];
  const { server, url } = await startServer({
    authorize: (request) => {
      if (request.path === '/header') return { headers: { 'X-Evil': 'a\r\nInjected: yes' } };
      if (request.path === '/status') return { reject: { status: 99 } };
      // A refusal must be 3xx–5xx: a 101 is the acceptance (RFC 6455 §4.2.2), a 2xx is none either (over HTTP/2 it opens the tunnel, RFC 9113 §8.5).
      if (request.path === '/101') return { reject: { status: 101 } };
      if (request.path === '/200') return { reject: { status: 200, reason: 'go away' } };
      return undefined;
    },
  }, (c) => c.send('fine'));
  server.on('error', (error) => errors.push(error));
  t.after(() => server.close());
  assert.equal(await unexpectedResponse(`${url}/header`), 500);
  assert.equal(await unexpectedResponse(`${url}/status`), 500);
  assert.equal(await unexpectedResponse(`${url}/101`), 500);
  assert.equal(await unexpectedResponse(`${url}/200`), 500);
  assert.equal(errors.length, 4);
  assert.ok(errors.every((error) => (error as { code?: string }).code === 'HS_ERR_INVALID_RESPONSE_HEADER' || (error as { code?: string }).code === 'HS_ERR_INVALID_RESPONSE'), String(errors));
  const ws = await openClient(url);
  assert.equal(await ws.nextMessage(), 'fine');
  ws.close();
});

test('a hook that never settles: 408 after handshakeTimeout, as for a request that never arrives (listen() and attach())', { timeout: 10_000 }, async (t) => {
  const { server, url } = await startServer({ handshakeTimeout: 300, authorize: () => new Promise<never>(() => {}) }, () => {});
  t.after(() => server.close());
  let started = Date.now();
  assert.equal(await withTimeout(unexpectedResponse(url), { what: 'the 408' }), 408);
  assert.ok(Date.now() - started >= 250, 'not before handshakeTimeout');
  // The upgrade node:http has read (attach(), handleUpgrade()) is bounded the same way.
  const http = createHttpServer();
  server.attach(http);
  http.listen(0, '127.0.0.1');
  await once(http, 'listening');
  t.after(() => new Promise((resolve) => http.close(resolve)));
  started = Date.now();
  const { port } = http.address() as { port: number };
  assert.equal(await withTimeout(unexpectedResponse(`ws://127.0.0.1:${port}`), { what: 'the 408 over attach()' }), 408);
  assert.ok(Date.now() - started >= 250, 'not before handshakeTimeout');
});

test('a handler that throws closes its connection with 1011 and reports the error', async (t) => {
  const errors: unknown[] = [];
  const { server, url } = await startServer({}, (c) => {
    c.on('message', () => {
      throw new Error('handler bug');
    });
  });
  server.on('error', (error) => errors.push(error));
  t.after(() => server.close());
  const ws = await openClient(url);
  const closed = closeOf(ws);
  ws.send('x');
  assert.equal((await closed).code, CloseCode.INTERNAL_ERROR);
  assert.equal((errors[0] as Error).message, 'handler bug');
});

test('an async handler rejecting with ConnectionClosedError is not an error', async (t) => {
  const errors: unknown[] = [];
  let sendError: unknown;
  let finished!: () => void;
  const done = new Promise<void>((r) => (finished = r));
  const { server, url } = await startServer({}, async (c) => {
    await c.closed;
    try {
      c.send('too late');
    } catch (error) {
      sendError = error;
      finished();
      throw error;
    }
  });
  server.on('error', (error) => errors.push(error));
  t.after(() => server.close());
  const ws = await openClient(url);
  ws.close(1000, 'bye');
  await done;
  assert.ok(sendError instanceof ConnectionClosedError);
  assert.equal((sendError as ConnectionClosedError).closeCode, 1000);
  // The handler's rejection is handled in the microtasks that follow `done`:
  // by the next turn of the event loop, a report would have been emitted.
  await new Promise((resolve) => setImmediate(resolve));
  assert.deepEqual(errors, []);
});

test('close event and closed promise report the peer code, reason and cleanliness', async (t) => {
  let connection: WebSocketConnection | undefined;
  const { server, url } = await startServer({}, (c) => (connection = c));
  t.after(() => server.close());
  const ws = await openClient(url);
  const conn = await waitFor(() => connection, { what: 'the server-side connection' });
  const events: unknown[] = [];
  conn.on('close', (code, reason) => events.push([code, reason]));
  ws.close(4001, 'done here');
  const info = await conn.closed;
  assert.deepEqual(info, { code: 4001, reason: 'done here', wasClean: true, initiator: 'remote', sent: { code: 4001, reason: '' }, received: { code: 4001, reason: 'done here' }, error: null });
  assert.deepEqual(events, [[4001, 'done here']]);
  assert.equal(conn.readyState, ReadyState.CLOSED);
});

test('server-initiated close(): client receives the code; a bad code is a local error', async (t) => {
  let connection: WebSocketConnection | undefined;
  const { server, url } = await startServer({}, (c) => (connection = c));
  t.after(() => server.close());
  const ws = await openClient(url);
  const conn = await waitFor(() => connection, { what: 'the server-side connection' });
  assert.throws(() => conn.close(1005), /1005/);
  assert.throws(() => conn.close(1000, 'x'.repeat(124)), /123/);
  const closed = closeOf(ws);
  conn.close(4002, 'server says bye');
  assert.equal(conn.readyState, ReadyState.CLOSING);
  assert.throws(() => conn.send('after close'), ConnectionClosedError);
  assert.deepEqual(await closed, { code: 4002, reason: 'server says bye' });
  assert.equal((await conn.closed).wasClean, true);
});

test('graceful server.close() sends 1001 to every connection and resolves once they are gone', async () => {
  const { server, url } = await startServer({}, () => {});
  const clients = await Promise.all([openClient(url), openClient(url), openClient(url)]);
  const closes = clients.map(closeOf);
  await server.close();
  for (const result of await Promise.all(closes)) assert.equal(result.code, CloseCode.GOING_AWAY);
  assert.equal(server.connections.size, 0);
});

test('idleTimeout closes a silent connection with 1001', async (t) => {
  const { server, url } = await startServer({ idleTimeout: 150 }, () => {});
  t.after(() => server.close());
  const ws = await openClient(url);
  const started = Date.now();
  const { code, reason } = await closeOf(ws);
  assert.equal(code, CloseCode.GOING_AWAY);
  assert.equal(reason, 'idle timeout');
  assert.ok(Date.now() - started >= 100, 'closed too early');
});

test('keepalive pings: an answering peer stays connected, a silent one is dropped', async (t) => {
  const { server, url, port } = await startServer({ pingInterval: 80, closeTimeout: 200 }, () => {});
  t.after(() => server.close());
  const alive = await openClient(url);
  let pings = 0;
  alive.on('ping', () => pings++);
  const { socket, received } = await rawUpgrade(port);
  const silentClosed = once(socket, 'close');
  await waitFor(() => pings >= 3, { what: () => `several pings to the answering peer (got ${pings})` });
  await withTimeout(silentClosed, { what: 'the silent peer to be dropped' });
  assert.ok(pings >= 3, `expected several pings, got ${pings}`);
  assert.equal(alive.readyState, WebSocket.OPEN);
  // The silent peer got pings, then a close frame with 1011.
  const bytes = Buffer.concat(received);
  const closeAt = bytes.indexOf(Buffer.from([0x88]));
  assert.ok(closeAt > 0, 'no close frame sent to the silent peer');
  assert.equal(bytes.readUInt16BE(closeAt + 2), CloseCode.INTERNAL_ERROR);
  alive.close();
});

test('send() reports backpressure and drain fires; reading pauses while the peer does not read', async (t) => {
  let connection: WebSocketConnection | undefined;
  const { server, port } = await startServer({ sendHighWaterMark: 256 * 1024 }, (c) => (connection = c));
  t.after(() => server.close());
  const { socket } = await rawUpgrade(port);
  socket.pause(); // the peer stops reading
  const conn = await waitFor(() => connection, { what: 'the server-side connection' });
  const chunk = Buffer.alloc(64 * 1024, 1);
  let accepted = 0;
  // Bounded: the loop is synchronous, so were send() never to report
  // backpressure, no test timeout could stop it.
  while (accepted < 64 && conn.send(chunk)) accepted++;
  assert.ok(accepted < 64, 'send() never reported backpressure');
  assert.ok(conn.bufferedAmount >= 256 * 1024);
  const drained = once(conn, 'drain');
  socket.resume();
  await withTimeout(drained, { what: "'drain' once the peer reads again" });
  assert.ok(conn.bufferedAmount < 256 * 1024);
  socket.destroy();
});

test('a peer that never reads cannot grow server memory with pings: its pongs are capped, then it is dropped', { timeout: 15_000 }, async (t) => {
  const { server, port } = await startServer({ maxPendingPongs: 64 }, () => {});
  t.after(() => server.close());
  const { socket } = await rawUpgrade(port);
  socket.pause();
  let dropped = false;
  socket.on('error', () => (dropped = true)); // ECONNRESET / EPIPE once the server is gone
  socket.on('close', () => (dropped = true));
  // 125-byte masked pings, as fast as the socket takes them, until the server gives up on us.
  const ping = Buffer.concat([Buffer.from([0x89, 0x80 | 125, 1, 2, 3, 4]), Buffer.alloc(125)]);
  const burst = Buffer.concat(Array.from({ length: 512 }, () => ping));
  let written = 0;
  let mostHeld = 0;
  const until = Date.now() + 10_000;
  while (!dropped && Date.now() < until) {
    if (socket.writableLength < 1 << 20) {
      socket.write(burst);
      written += burst.length;
    }
    mostHeld = Math.max(mostHeld, server.memoryBudget.used);
    await new Promise((r) => setTimeout(r, 2));
  }
  socket.destroy();
  assert.ok(dropped, `still connected after writing ${written} bytes of pings`);
  // Everything we wrote would mean this many bytes of pongs; the server held far less.
  assert.ok(mostHeld < 4 * 1024 * 1024, `the server held ${mostHeld} bytes`);
  await waitFor(() => server.connections.size === 0, { timeout: 2000, what: 'the connection to be gone' });
  assert.equal(server.connections.size, 0, 'the connection is gone');
});
