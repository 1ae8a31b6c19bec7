/**
 * Plain HTTP on the WebSocket port (the `http` option): requests that are not
 * upgrades are handed, with the bytes already read, to a node:http server.
 * Checked over real sockets: order and completeness of the bytes handed on
 * (pipelining, bodies split across reads, a head dribbled byte by byte),
 * keep-alive followed by an upgrade on the same connection, a user's own
 * node:http server, and shutdown with idle and busy HTTP connections.
 */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { once } from 'node:events';
import { createServer as createHttpServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { setTimeout as delay } from 'node:timers/promises';
import WebSocket from 'ws';
import { createServer, type ServerOptions } from '../../src/index.js';
import { parseServerFrames, text as textFrame, OP } from '../helpers/frames.js';
import { waitFor as waitUntil } from '../helpers/wait-for.js';

/** Answers `METHOD URL body=<bytes of body>` after reading the whole body. */
function describeRequest(request: IncomingMessage, response: ServerResponse): void {
  const chunks: Buffer[] = [];
  request.on('data', (chunk: Buffer) => chunks.push(chunk));
  request.on('end', () => {
    response.setHeader('Content-Type', 'text/plain; charset=utf-8');
    response.end(`${request.method} ${request.url} body=${Buffer.concat(chunks).toString()}`);
  });
}

async function start(options: ServerOptions = {}) {
  // A short closeTimeout: raw test clients never answer the close frame of close().
  const server = createServer({ host: '127.0.0.1', http: describeRequest, closeTimeout: 200, ...options }, (ws) => {
    ws.on('message', (message) => ws.send(message));
  });
  server.on('error', () => {});
  const { port } = await server.listen(0);
  return { server, port };
}

/** A raw connection that collects everything it receives as latin1 text. */
async function rawConnection(port: number): Promise<{ socket: Socket; received: () => string; waitFor: (text: string, count?: number) => Promise<void> }> {
  const socket = connect(port, '127.0.0.1');
  await once(socket, 'connect');
  let received = '';
  socket.on('data', (chunk: Buffer) => (received += chunk.toString('latin1')));
  const waitFor = async (needle: string, count = 1): Promise<void> => {
    await waitUntil(() => received.split(needle).length - 1 >= count, {
      timeout: 3000,
      what: () => `${count}× ${JSON.stringify(needle)}; got ${JSON.stringify(received)}`,
    });
  };
  return { socket, received: () => received, waitFor };
}

/** A server (closed after the test) and one raw connection to it (destroyed after the test). */
async function startWithClient(t: TestContext, options: ServerOptions = {}) {
  const { server, port } = await start(options);
  t.after(() => server.close());
  const client = await rawConnection(port);
  t.after(() => client.socket.destroy());
  return { server, client };
}

const UPGRADE = (path = '/') =>
  `GET ${path} HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n`;

test('HTTP and WebSocket on one port: fetch gets the page, a WebSocket client gets its echo', async (t) => {
  const { server, port } = await start();
  t.after(() => server.close());
  const response = await fetch(`http://127.0.0.1:${port}/page?x=1`);
  assert.equal(response.status, 200);
  assert.equal(await response.text(), 'GET /page?x=1 body=');

  const ws = new WebSocket(`ws://127.0.0.1:${port}/`);
  await once(ws, 'open');
  ws.send('héllo');
  const [echo] = await once(ws, 'message');
  assert.equal(echo.toString(), 'héllo');
  ws.close();
});

test('pipelined requests and a body split across reads arrive whole and in order', async (t) => {
  const { client } = await startWithClient(t);
  client.socket.write('GET /a HTTP/1.1\r\nHost: x\r\n\r\nPOST /b HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n12345');
  // The answer to /a shows the server has read the first write: the rest of /b's body comes in a later read.
  await client.waitFor('GET /a body=');
  client.socket.write('67890GET /c HTTP/1.1\r\nHost: x\r\n\r\n');
  await client.waitFor('HTTP/1.1 200', 3);
  await client.waitFor('GET /c body=');
  const bodies = client.received().match(/(GET|POST) \/\w body=\d*/g);
  assert.deepEqual(bodies, ['GET /a body=', 'POST /b body=1234567890', 'GET /c body=']);
});

test('a request head dribbled one byte at a time is handed on complete', async (t) => {
  const { client } = await startWithClient(t);
  const request = 'POST /dribble HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc';
  for (const byte of request) {
    client.socket.write(byte);
    await delay(1);
  }
  await client.waitFor('POST /dribble body=abc');
});

test('keep-alive: after plain requests, an upgrade on the same connection switches to WebSocket', async (t) => {
  const { server, client } = await startWithClient(t);
  client.socket.write('GET /first HTTP/1.1\r\nHost: x\r\n\r\n');
  await client.waitFor('GET /first body=');
  // The upgrade and a first frame in one write: node:http passes the frame on as the upgrade's `head`.
  client.socket.write(Buffer.concat([Buffer.from(UPGRADE(), 'latin1'), textFrame('same socket', { mask: true })]));
  await client.waitFor('HTTP/1.1 101 Switching Protocols');
  await client.waitFor('same socket');
  const afterHead = Buffer.from(client.received().slice(client.received().indexOf('\r\n\r\n', client.received().indexOf(' 101 ')) + 4), 'latin1');
  const { frames } = parseServerFrames(afterHead);
  assert.equal(frames[0].opcode, OP.TEXT);
  assert.equal(frames[0].payload.toString(), 'same socket');
  assert.equal(server.connections.size, 1);

  // It is a WebSocket connection now: close() sends it 1001, it does not drop it like an idle HTTP one.
  const before = client.received().length;
  await server.close();
  const { frames: last } = parseServerFrames(Buffer.from(client.received().slice(before), 'latin1'));
  assert.equal(last.at(-1)?.opcode, OP.CLOSE);
  assert.equal(last.at(-1)?.payload.readUInt16BE(0), 1001);
});

test('upgrade requests never reach node:http: a bad one is answered by the handshake (426), a good one switches', async (t) => {
  const seen: string[] = [];
  const { server, port } = await start({
    http: (request, response) => {
      seen.push(request.url ?? '');
      response.end('http');
    },
  });
  t.after(() => server.close());
  const client = await rawConnection(port);
  t.after(() => client.socket.destroy());
  client.socket.write(UPGRADE().replace('Version: 13', 'Version: 8'));
  await client.waitFor('HTTP/1.1 426');
  assert.match(client.received(), /Sec-WebSocket-Version: 13/);
  const ok = await rawConnection(port);
  t.after(() => ok.socket.destroy());
  ok.socket.write(UPGRADE());
  await ok.waitFor('HTTP/1.1 101');
  assert.deepEqual(seen, []);
});

test('without the http option, a plain request still gets 426 Upgrade Required', async (t) => {
  const server = createServer({ host: '127.0.0.1' }, () => {});
  const { port } = await server.listen(0);
  t.after(() => server.close());
  const response = await fetch(`http://127.0.0.1:${port}/`);
  assert.equal(response.status, 426);
  assert.equal(response.headers.get('upgrade'), 'websocket');
});

test('a node:http server of your own (not listening) as the http option: its handlers and properties apply', async (t) => {
  const http = createHttpServer((request, response) => {
    response.setHeader('X-Remote', request.socket.remoteAddress ?? '');
    response.end(`own server: ${request.url}`);
  });
  http.on('request', (request) => (request.headers['x-seen'] = 'yes'));
  const { server, port } = await start({ http });
  t.after(() => server.close());
  const response = await fetch(`http://127.0.0.1:${port}/mine`);
  assert.equal(await response.text(), 'own server: /mine');
  assert.equal(response.headers.get('x-remote'), '127.0.0.1');
  assert.equal(http.listening, false);
});

test('close(): idle keep-alive HTTP connections are closed at once, a response in progress is finished first', async (t) => {
  let finishSlow: (() => void) | undefined;
  const { server, port } = await start({
    http: (request, response) => {
      if (request.url === '/slow') finishSlow = () => response.end('slow done');
      else response.end('quick');
    },
  });
  const idle = await rawConnection(port);
  t.after(() => idle.socket.destroy());
  idle.socket.write('GET /quick HTTP/1.1\r\nHost: x\r\n\r\n');
  await idle.waitFor('quick');
  const busy = await rawConnection(port);
  t.after(() => busy.socket.destroy());
  busy.socket.write('GET /slow HTTP/1.1\r\nHost: x\r\n\r\n');
  const finish = await waitUntil(() => finishSlow, { what: 'the /slow request to reach the handler' });

  const closing = server.close();
  await once(idle.socket, 'close'); // ended without waiting for the keep-alive timeout
  await delay(50); // an observation window: the busy connection must not close meanwhile
  assert.equal(busy.socket.destroyed, false, 'the busy connection is still open');
  finish();
  await closing;
  await busy.waitFor('slow done');
});

test('connections handed to node:http do not count as WebSocket connections or handshakes', async (t) => {
  const { server, client } = await startWithClient(t);
  client.socket.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
  await client.waitFor('body=');
  assert.equal(server.connections.size, 0);
  // The handshake timeout no longer applies: node:http's keep-alive rules do.
  await delay(50); // an observation window: nothing may close the connection meanwhile
  assert.equal(client.socket.destroyed, false);
});

/** Wait for `socket` to close; fail the test if it is still open after `ms`. */
async function closedWithin(socket: Socket, ms: number): Promise<void> {
  if (socket.destroyed) return;
  const timer = delay(ms, 'timeout', { ref: false });
  const outcome = await Promise.race([once(socket, 'close').then(() => 'closed'), timer]);
  assert.equal(outcome, 'closed', `the connection is still open after ${ms} ms`);
}

/**
 * A raw connection to a server whose node:http server (not listening) answers
 * like describeRequest, with the given deadlines.
 */
async function connectWithDeadlines(t: TestContext, deadlines: { keepAliveTimeout: number; headersTimeout: number; requestTimeout: number }) {
  const http = createHttpServer(describeRequest);
  Object.assign(http, deadlines);
  const { client } = await startWithClient(t, { http });
  return client;
}

/** Send `bytes` every 100 ms (a slow-loris peer) until the connection closes; fail if it is open after 3 s. */
async function dribbleUntilClosed(t: TestContext, socket: Socket, bytes: string): Promise<void> {
  const dribble = setInterval(() => socket.write(bytes), 100);
  t.after(() => clearInterval(dribble));
  await closedWithin(socket, 3000);
  clearInterval(dribble);
}

test("a second request head dribbled forever gets 408 and the connection closes (node:http's headersTimeout, applied for it)", async (t) => {
  // keepAliveTimeout is an idle timer that every byte resets, so only the
  // head deadline can end this connection.
  const client = await connectWithDeadlines(t, { keepAliveTimeout: 300, headersTimeout: 400, requestTimeout: 10_000 });
  client.socket.write('GET /first HTTP/1.1\r\nHost: x\r\n\r\n');
  await client.waitFor('body=');
  const idleSince = Date.now();
  client.socket.write('GET /second HTTP/1.1\r\n');
  await dribbleUntilClosed(t, client.socket, 'X-Slow: 1\r\n');
  const openFor = Date.now() - idleSince;
  assert.match(client.received(), /HTTP\/1\.1 408 Request Timeout\r\n/);
  assert.ok(openFor >= 650, `closed after ${openFor} ms, before keepAliveTimeout + headersTimeout (700 ms)`);
});

test("a request body that never completes gets 408 and the connection closes (node:http's requestTimeout, applied for it)", async (t) => {
  const client = await connectWithDeadlines(t, { keepAliveTimeout: 5000, headersTimeout: 5000, requestTimeout: 400 });
  const started = Date.now();
  client.socket.write('POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n0123456789');
  await dribbleUntilClosed(t, client.socket, 'x');
  const openFor = Date.now() - started;
  assert.match(client.received(), /^HTTP\/1\.1 408 Request Timeout\r\n/, 'no response had started: 408 is the only answer');
  assert.ok(openFor >= 350, `closed after ${openFor} ms, before requestTimeout (400 ms)`);
});

test('pipelined: a body that never completes behind a complete request is timed too (its own requestTimeout)', async (t) => {
  const client = await connectWithDeadlines(t, { keepAliveTimeout: 5000, headersTimeout: 5000, requestTimeout: 400 });
  client.socket.write('GET /first HTTP/1.1\r\nHost: x\r\n\r\nPOST /second HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n0123');
  await client.waitFor('GET /first body=');
  await dribbleUntilClosed(t, client.socket, 'x');
  assert.match(client.received(), /GET \/first body=HTTP\/1\.1 408 Request Timeout\r\n/, 'the first response whole, then 408');
  assert.doesNotMatch(client.received(), /POST \/second/);
});

test('the deadlines do not cut a slow response to a complete request, nor a next request sent in time', async (t) => {
  const http = createHttpServer((request, response) => {
    if (request.url === '/slow') {
      response.write('part 1;');
      setTimeout(() => response.end('part 2'), 700);
    } else {
      response.end(`quick ${request.url}`);
    }
  });
  Object.assign(http, { keepAliveTimeout: 300, headersTimeout: 300, requestTimeout: 300 });
  const { client } = await startWithClient(t, { http });
  client.socket.write('GET /slow HTTP/1.1\r\nHost: x\r\n\r\n');
  await client.waitFor('part 2'); // 700 ms, past requestTimeout: the request itself was complete
  await delay(200); // idle, within keepAliveTimeout
  client.socket.write('GET /next HTTP/1.1\r\nHost: x\r\n\r\n');
  await client.waitFor('quick /next');
  assert.doesNotMatch(client.received(), /408/);
  assert.equal(client.socket.destroyed, false);
});
