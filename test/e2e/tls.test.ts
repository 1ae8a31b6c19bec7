/**
 * wss:// over node:tls, with a self-signed certificate made at test time
 * (test/helpers/self-signed-cert.ts). Clients trust it explicitly (`ca`), so
 * certificate and host name are really verified. Covers our own TLS listener
 * (`createServer({ tls })`), HTTPS on the same port through the `http`
 * option, and attaching to a node:https server.
 */
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { get as httpsGet, createServer as createHttpsServer } from 'node:https';
import { connect as connectTcp, type AddressInfo } from 'node:net';
import { connect as connectTls } from 'node:tls';
import WebSocket from 'ws';
import { createServer, serveStatic } from '../../src/index.js';
import { createSelfSignedCert, type SelfSignedCert } from '../helpers/self-signed-cert.js';
import { close as closeFrame, parseServerFrames, parseClosePayload, OP } from '../helpers/frames.js';
import { waitFor } from '../helpers/wait-for.js';

let tls: SelfSignedCert;

before(() => {
  tls = createSelfSignedCert('localhost', '127.0.0.1');
});

function httpsText(url: string, ca: string): Promise<{ status: number; type: string | undefined; body: string }> {
  return new Promise((resolve, reject) => {
    httpsGet(url, { ca, agent: false }, (response) => {
      let body = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => (body += chunk));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, type: response.headers['content-type'], body }));
    }).once('error', reject);
  });
}

test('wss:// echo: text and binary, certificate verified for localhost and 127.0.0.1', async (t) => {
  const server = createServer({ host: '127.0.0.1', tls: { key: tls.key, cert: tls.cert } }, (ws) => {
    ws.on('message', (message) => ws.send(message));
  });
  const { port } = await server.listen(0);
  t.after(() => server.close());

  for (const host of ['localhost', '127.0.0.1']) {
    const ws = new WebSocket(`wss://${host}:${port}/`, { ca: tls.cert });
    await once(ws, 'open');
    ws.send('héllo über TLS ✓');
    assert.equal(String((await once(ws, 'message'))[0]), 'héllo über TLS ✓');
    const bytes = Buffer.alloc(200_000, 7);
    ws.send(bytes);
    const [echoed, isBinary] = await once(ws, 'message');
    assert.equal(isBinary, true);
    assert.ok(bytes.equals(echoed as Buffer));
    ws.close();
    await once(ws, 'close');
  }
});

test('a client that does not trust the certificate is refused by its own TLS check', async (t) => {
  const server = createServer({ host: '127.0.0.1', tls: { key: tls.key, cert: tls.cert } }, () => {});
  const { port } = await server.listen(0);
  t.after(() => server.close());
  const ws = new WebSocket(`wss://localhost:${port}/`);
  const [error] = await once(ws, 'error');
  assert.match(String((error as NodeJS.ErrnoException).code), /SELF_SIGNED|UNABLE_TO_VERIFY/);
});

test('closing handshake over TLS: a client that sends its close frame and half-closes still gets ours', async (t) => {
  const server = createServer({ host: '127.0.0.1', tls: { key: tls.key, cert: tls.cert } }, () => {});
  const { port } = await server.listen(0);
  t.after(() => server.close());
  const socket = connectTls({ host: '127.0.0.1', port, servername: 'localhost', ca: tls.cert });
  t.after(() => socket.destroy());
  await once(socket, 'secureConnect');
  let received = Buffer.alloc(0);
  socket.on('data', (chunk: Buffer) => (received = Buffer.concat([received, chunk])));
  const ended = once(socket, 'end');
  socket.write('GET / HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n');
  await waitFor(() => received.includes('\r\n\r\n'), { what: 'the end of the 101 response head' });
  socket.write(closeFrame(1000, 'bye'));
  socket.end(); // FIN right behind the close frame
  await ended; // the server closes its side once it has answered (§7.1.1)
  const { frames } = parseServerFrames(received.subarray(received.indexOf('\r\n\r\n') + 4));
  assert.equal(frames.length, 1);
  assert.equal(frames[0].opcode, OP.CLOSE);
  assert.equal(parseClosePayload(frames[0].payload).code, 1000);
});

test('a TCP client that never starts TLS is dropped after handshakeTimeout', async (t) => {
  const server = createServer({ host: '127.0.0.1', tls: { key: tls.key, cert: tls.cert }, handshakeTimeout: 200 }, () => {});
  const { port } = await server.listen(0);
  t.after(() => server.close());
  const socket = connectTcp(port, '127.0.0.1');
  t.after(() => socket.destroy());
  socket.on('error', () => {});
  await once(socket, 'connect');
  const started = Date.now();
  await once(socket, 'close');
  const elapsed = Date.now() - started;
  assert.ok(elapsed >= 150 && elapsed < 2000, `dropped after ${elapsed} ms`);
});

test('HTTPS on the wss:// port: the http option serves the page over the same TLS listener', async (t) => {
  const root = new URL('../../examples/echo/public/', import.meta.url);
  const server = createServer({ host: '127.0.0.1', tls: { key: tls.key, cert: tls.cert }, http: serveStatic(root) }, (ws) => {
    ws.on('message', (message) => ws.send(message));
  });
  const { port } = await server.listen(0);
  t.after(() => server.close());
  const page = await httpsText(`https://localhost:${port}/`, tls.cert);
  assert.equal(page.status, 200);
  assert.equal(page.type, 'text/html; charset=utf-8');
  assert.match(page.body, /<h1>Echo<\/h1>/);
  const ws = new WebSocket(`wss://localhost:${port}/`, { ca: tls.cert });
  await once(ws, 'open');
  ws.send('same port');
  assert.equal(String((await once(ws, 'message'))[0]), 'same port');
  ws.close();
});

test('attach() to a node:https server', async (t) => {
  const https = createHttpsServer({ key: tls.key, cert: tls.cert }, (_request, response) => response.end('https page'));
  await new Promise<void>((resolve) => https.listen(0, '127.0.0.1', resolve));
  const port = (https.address() as AddressInfo).port;
  const server = createServer({}, (ws) => ws.send(`secure: ${ws.path}`)).attach(https);
  t.after(async () => {
    await server.close();
    https.closeAllConnections();
    await new Promise((resolve) => https.close(resolve));
  });
  assert.equal((await httpsText(`https://localhost:${port}/`, tls.cert)).body, 'https page');
  const ws = new WebSocket(`wss://localhost:${port}/room`, { ca: tls.cert });
  assert.equal(String((await once(ws, 'message'))[0]), 'secure: /room');
  ws.close();
  await once(ws, 'close');
});
