/**
 * Attaching to an existing node:http server (`server.attach(httpServer)`, or
 * `handleUpgrade` from your own 'upgrade' listener): node:http keeps serving
 * HTTP and has already parsed each upgrade request; ours validates it, runs
 * the hooks and routes, and answers 101 or an HTTP error on the same path as
 * connections we accept ourselves.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { connect } from 'node:net';
import { setTimeout as delay } from 'node:timers/promises';
import WebSocket from 'ws';
import { createServer } from '../../src/index.js';
import { parseServerFrames, text as textFrame, OP } from '../helpers/frames.js';

async function httpServer(): Promise<{ http: HttpServer; port: number }> {
  const http = createHttpServer((request, response) => response.end(`plain http: ${request.url}`));
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  return { http, port: (http.address() as AddressInfo).port };
}

function closeHttp(http: HttpServer): Promise<void> {
  http.closeAllConnections();
  return new Promise((resolve) => http.close(() => resolve()));
}

function statusOf(url: string, options?: WebSocket.ClientOptions): Promise<number> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, options);
    ws.once('unexpected-response', (_request, response) => {
      resolve(response.statusCode ?? 0);
      response.resume();
    });
    ws.once('open', () => reject(new Error('handshake unexpectedly succeeded')));
    ws.once('error', () => {});
  });
}

test('attach(): HTTP stays with node:http, upgrades go to routes, hooks apply', async (t) => {
  const { http, port } = await httpServer();
  const server = createServer({ checkOrigin: (origin) => origin !== 'https://evil.example', closeTimeout: 200 });
  server.on('error', () => {});
  server.route('/echo', (ws) => ws.on('message', (message) => ws.send(`echo: ${String(message)}`)));
  server.attach(http);
  t.after(async () => {
    await server.close();
    await closeHttp(http);
  });

  assert.equal(await (await fetch(`http://127.0.0.1:${port}/page`)).text(), 'plain http: /page');

  const ws = new WebSocket(`ws://127.0.0.1:${port}/echo?room=1`);
  await once(ws, 'open');
  ws.send('hi');
  assert.equal(String((await once(ws, 'message'))[0]), 'echo: hi');
  const [connection] = server.connections;
  assert.equal(connection.path, '/echo');
  assert.equal(connection.query, 'room=1');
  assert.equal(connection.remoteAddress, '127.0.0.1');
  ws.close();

  assert.equal(await statusOf(`ws://127.0.0.1:${port}/nowhere`), 404);
  assert.equal(await statusOf(`ws://127.0.0.1:${port}/echo`, { origin: 'https://evil.example' }), 403);
  assert.equal(await statusOf(`ws://127.0.0.1:${port}/echo`, { protocolVersion: 8 }), 426);
});

test('attach(): frames sent right behind the upgrade request (node:http `head`) are not lost', async (t) => {
  const { http, port } = await httpServer();
  const server = createServer({ closeTimeout: 200 }, (ws) => ws.on('message', (message) => ws.send(message)));
  server.attach(http);
  t.after(async () => {
    await server.close();
    await closeHttp(http);
  });
  const socket = connect(port, '127.0.0.1');
  t.after(() => socket.destroy());
  await once(socket, 'connect');
  let received = Buffer.alloc(0);
  socket.on('data', (chunk: Buffer) => (received = Buffer.concat([received, chunk])));
  socket.write(
    Buffer.concat([
      Buffer.from('GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n'),
      textFrame('first', { mask: true }),
      textFrame('second', { mask: true }),
    ]),
  );
  for (let i = 0; i < 200 && !received.includes('second'); i++) await delay(5);
  const head = received.indexOf('\r\n\r\n');
  assert.match(received.subarray(0, head).toString(), /^HTTP\/1.1 101 /);
  const { frames } = parseServerFrames(received.subarray(head + 4));
  assert.deepEqual(
    frames.map((f) => [f.opcode, f.payload.toString()]),
    [
      [OP.TEXT, 'first'],
      [OP.TEXT, 'second'],
    ],
  );
});

test('handleUpgrade() from your own upgrade listener: pick which upgrades are ours', async (t) => {
  const { http, port } = await httpServer();
  const server = createServer({ closeTimeout: 200 }, (ws) => ws.send(`hello ${ws.path}`));
  http.on('upgrade', (request, socket, head) => {
    if (request.url?.startsWith('/ws/')) server.handleUpgrade(request, socket, head);
    else socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
  });
  t.after(async () => {
    await server.close();
    await closeHttp(http);
  });
  const ws = new WebSocket(`ws://127.0.0.1:${port}/ws/a`);
  assert.equal(String((await once(ws, 'message'))[0]), 'hello /ws/a');
  ws.close();
  assert.equal(await statusOf(`ws://127.0.0.1:${port}/other`), 400);
});

test('close() detaches: the node:http server keeps serving HTTP, and no longer has our upgrade listener', async (t) => {
  const { http, port } = await httpServer();
  t.after(() => closeHttp(http));
  const server = createServer({ closeTimeout: 200 }, () => {});
  server.attach(http).attach(http); // attaching twice is attaching once
  assert.equal(http.listenerCount('upgrade'), 1);
  const ws = new WebSocket(`ws://127.0.0.1:${port}/`);
  await once(ws, 'open');
  const closedByServer = once(ws, 'close');
  await server.close();
  assert.equal((await closedByServer)[0], 1001);
  assert.equal(http.listenerCount('upgrade'), 0);
  assert.equal(await (await fetch(`http://127.0.0.1:${port}/still`)).text(), 'plain http: /still');
});
