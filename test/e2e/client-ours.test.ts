/**
 * Our client against our server, over real sockets: every message type and
 * size, fragmentation limits, close codes both ways, ping/pong, for-await,
 * backpressure, subprotocols and refusals, permessage-deflate, wss:// with a
 * self-signed certificate made by the openssl CLI during the run, and IPv6.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, afterEach, before, describe, it } from 'node:test';
import {
  ClientHandshakeError,
  ConnectionClosedError,
  ReadyState,
  connect,
  createServer,
  type ClientConnection,
  type ClientOptions,
  type ConnectionHandler,
  type ServerOptions,
  type WebSocketServer,
} from '../../src/index.js';
import { seededBytes } from '../helpers/frames.js';
import { createSelfSignedCert } from '../helpers/self-signed-cert.js';
import { InternalError } from '../../src/errors.js';
import { nextMessages } from '../helpers/next-messages.js';
import { waitFor, withTimeout } from '../helpers/wait-for.js';

const servers: WebSocketServer<undefined>[] = [];
const clients: ClientConnection[] = [];

async function serve(options: ServerOptions = {}, handler?: ConnectionHandler<undefined>, host = '127.0.0.1'): Promise<string> {
  const server = createServer({ ...options, host }, handler ?? ((ws) => ws.on('message', (m) => ws.send(m))));
  server.on('error', () => {});
  servers.push(server);
  const { port } = await server.listen(0);
  return `${options.tls ? 'wss' : 'ws'}://${host.includes(':') ? `[${host}]` : host}:${port}`;
}

async function open(url: string, options?: ClientOptions): Promise<ClientConnection> {
  const ws = await connect(url, options);
  clients.push(ws);
  return ws;
}

const messages = nextMessages;

afterEach(() => {
  for (const ws of clients) ws.terminate();
  clients.length = 0;
});
after(async () => {
  for (const server of servers) await server.close();
});

describe('our client, our server: messages', () => {
  let url: string;
  before(async () => {
    url = await serve();
  });

  it('binary messages of every length encoding round-trip byte for byte', async () => {
    const ws = await open(url);
    const sizes = [0, 1, 125, 126, 127, 65535, 65536, 65537, 1 << 20];
    const payloads = sizes.map((size, i) => seededBytes(size, i + 1));
    const echoed = messages(ws, sizes.length);
    for (const payload of payloads) ws.send(payload);
    const got = await echoed;
    for (let i = 0; i < sizes.length; i++) {
      assert.ok(Buffer.isBuffer(got[i]), `message ${i} should be binary`);
      assert.ok((got[i] as Buffer).equals(payloads[i]), `binary message of ${sizes[i]} bytes`);
    }
  });

  it('text messages, ASCII and multi-byte, short and long', async () => {
    const ws = await open(url);
    const texts = ['', 'a', 'héllo wörld', '😀'.repeat(40), 'κόσμε'.repeat(20000), 'x'.repeat(70000)];
    const echoed = messages(ws, texts.length);
    for (const t of texts) ws.send(t);
    assert.deepEqual(await echoed, texts);
  });

  it('typed arrays and ArrayBuffers go as binary', async () => {
    const ws = await open(url);
    const echoed = messages(ws, 3);
    ws.send(new Uint8Array([1, 2, 3]));
    ws.send(new Uint16Array([0x0201]).buffer);
    ws.send(new DataView(new Uint8Array([9, 8, 7, 6]).buffer, 1, 2));
    assert.deepEqual((await echoed).map((m) => [...(m as Buffer)]), [[1, 2, 3], [1, 2], [8, 7]]);
  });

  it('a 16 MiB message, the default limit, passes both ways', async () => {
    const ws = await open(url);
    const big = seededBytes(16 * 1024 * 1024, 7);
    const echoed = messages(ws, 1);
    ws.send(big);
    assert.ok(((await echoed)[0] as Buffer).equals(big));
  });

  it('for await delivers messages in order and ends at close', async () => {
    const burst = await serve({}, (ws) => {
      for (let i = 0; i < 5; i++) ws.send(`m${i}`);
      ws.close(1000, 'done');
    });
    const ws = await open(burst);
    const got: unknown[] = [];
    for await (const m of ws) got.push(m);
    assert.deepEqual(got, ['m0', 'm1', 'm2', 'm3', 'm4']);
    assert.deepEqual(await ws.closed, { code: 1000, reason: 'done', wasClean: true, initiator: 'remote', sent: { code: 1000, reason: '' }, received: { code: 1000, reason: 'done' }, error: null });
    assert.equal(ws.readyState, ReadyState.CLOSED);
  });

  it('backpressure: send() returns false past the high-water mark, then drain', async () => {
    let received = 0;
    const counting = await serve({}, (ws) => ws.on('message', (m) => (received += m.length)));
    const ws = await open(counting, { sendHighWaterMark: 256 * 1024 });
    const chunk = seededBytes(64 * 1024, 5);
    let sent = 0;
    // Bounded: a synchronous loop is out of reach of any test timeout.
    for (let accepted = true; accepted; sent += chunk.length) {
      assert.ok(sent < 1024 * chunk.length, 'send() never reported backpressure');
      accepted = ws.send(chunk);
    }
    assert.ok(ws.bufferedAmount >= 256 * 1024, `bufferedAmount ${ws.bufferedAmount}`);
    await withTimeout(once(ws, 'drain'), { what: "'drain'" });
    assert.equal(ws.bufferedAmount, 0);
    await waitFor(() => received >= sent, { what: () => `the server to receive ${sent} bytes, got ${received}` });
    assert.equal(received, sent);
  });

  it('a listener that throws closes the connection with 1011 and is reported on \'error\'', async () => {
    let serverSaw: number | undefined;
    const echo = await serve({}, (ws) => {
      ws.on('message', (m) => ws.send(m));
      ws.on('close', (code) => (serverSaw = code));
    });
    const ws = await open(echo);
    const errors: Error[] = [];
    ws.on('error', (e) => errors.push(e));
    ws.on('message', () => {
      throw new Error('listener bug');
    });
    ws.send('boom');
    const info = await ws.closed;
    assert.equal(errors[0]?.message, 'listener bug');
    assert.equal(info.wasClean, false); // we failed the connection (§7.1.7)
    assert.equal(info.initiator, 'local');
    assert.deepEqual(info.sent, { code: 1011, reason: 'internal error' });
    assert.ok(info.error instanceof InternalError && info.error.closeCode === 1011, String(info.error));
    assert.equal(info.error.cause, errors[0]);
    for (let i = 0; i < 50 && serverSaw === undefined; i++) await new Promise((r) => setTimeout(r, 10));
    assert.equal(serverSaw, 1011);
  });
});

describe('our client, our server: control frames and closing', () => {
  it('ping → pong event with the payload; the server\'s keepalive pings are answered', async () => {
    const url = await serve({ pingInterval: 50 }, (ws) => ws.on('pong', (p) => ws.send(`pong:${p.length}`)));
    const ws = await open(url);
    const pong = new Promise<Buffer>((resolve) => ws.once('pong', resolve));
    const pinged = new Promise<Buffer>((resolve) => ws.once('ping', resolve));
    ws.ping('are you there');
    assert.equal((await pong).toString(), 'are you there');
    await pinged;
    assert.deepEqual(await messages(ws, 1), ['pong:0']); // the server got our automatic pong
    assert.equal(ws.readyState, ReadyState.OPEN);
  });

  it('client-initiated close codes and reasons arrive at the server; TCP closes cleanly', async () => {
    const seen: Array<[number, string]> = [];
    const url = await serve({}, (ws) => ws.on('close', (code, reason) => seen.push([code, reason])));
    for (const [code, reason] of [
      [1000, ''],
      [1001, 'leaving'],
      [4000, 'app-defined'],
      [3000, 'registered ✓'],
    ] as const) {
      const ws = await open(url);
      ws.close(code, reason);
      assert.throws(() => ws.send('x'), ConnectionClosedError);
      const info = await ws.closed;
      assert.equal(info.wasClean, true);
      assert.equal(info.code, code); // the server echoes the code (§5.5.1)
    }
    for (let i = 0; i < 50 && seen.length < 4; i++) await new Promise((r) => setTimeout(r, 10));
    assert.deepEqual(seen, [
      [1000, ''],
      [1001, 'leaving'],
      [4000, 'app-defined'],
      [3000, 'registered ✓'],
    ]);
  });

  it('server-initiated close: the client reports the server\'s code and reason', async () => {
    const url = await serve({}, (ws) => ws.on('message', (m) => ws.close(Number(m), `bye ${String(m)}`)));
    for (const code of [1000, 1001, 1008, 1011, 4999]) {
      const ws = await open(url);
      ws.send(String(code));
      assert.deepEqual(await ws.closed, { code: code, reason: `bye ${code}`, wasClean: true, initiator: 'remote', sent: { code: code, reason: '' }, received: { code: code, reason: `bye ${code}` }, error: null });
    }
  });

  it('close() without arguments sends 1000; readyState goes CLOSING then CLOSED', async () => {
    const url = await serve();
    const ws = await open(url);
    ws.close();
    assert.equal(ws.readyState, ReadyState.CLOSING);
    assert.deepEqual(await ws.closed, { code: 1000, reason: '', wasClean: true, initiator: 'local', sent: { code: 1000, reason: '' }, received: { code: 1000, reason: '' }, error: null });
    assert.equal(ws.readyState, ReadyState.CLOSED);
  });

  it('a server shutting down closes its clients with 1001', async () => {
    const server = createServer({ host: '127.0.0.1' }, () => {});
    const { port } = await server.listen(0);
    const ws = await open(`ws://127.0.0.1:${port}`);
    const [, info] = await Promise.all([server.close(), ws.closed]);
    assert.deepEqual(info, { code: 1001, reason: 'server shutting down', wasClean: true, initiator: 'remote', sent: { code: 1001, reason: '' }, received: { code: 1001, reason: 'server shutting down' }, error: null });
  });
});

describe('our client, our server: handshake features', () => {
  it('subprotocol selection, Origin and extra headers reach the server', async () => {
    let seen: { origin?: string; auth?: string; protocols?: string[] } = {};
    const url = await serve({ selectProtocol: (offered) => offered.find((p) => p === 'v2') }, (ws) => {
      seen = { origin: ws.origin, auth: ws.headers.get('authorization') };
      ws.send(ws.protocol);
    });
    const ws = await open(`${url}/room`, { protocols: ['v3', 'v2'], origin: 'https://app.example', headers: { Authorization: 'Bearer t' } });
    assert.equal(ws.protocol, 'v2');
    assert.deepEqual(await messages(ws, 1), ['v2']);
    assert.deepEqual(seen, { origin: 'https://app.example', auth: 'Bearer t' });
  });

  it('refusals carry the server\'s status and reason', async () => {
    const url = await serve({
      path: '/only',
      authorize: (request) => (request.headers.get('authorization') ? undefined : { reject: { status: 401, reason: 'token required' } }),
    });
    await assert.rejects(connect(`${url}/only`), (e: unknown) => e instanceof ClientHandshakeError && e.status === 401 && e.message.includes('token required'));
    await assert.rejects(connect(`${url}/elsewhere`, { headers: { Authorization: 'x' } }), (e: unknown) => e instanceof ClientHandshakeError && e.status === 404);
  });

  it('permessage-deflate: offered, negotiated, compressed both ways', async () => {
    const url = await serve({ perMessageDeflate: true });
    for (const options of [true, { clientMaxWindowBits: 9, serverMaxWindowBits: 10 }, { serverNoContextTakeover: true, clientNoContextTakeover: true }]) {
      const ws = await open(url, { perMessageDeflate: options });
      assert.match(ws.extensions, /^permessage-deflate/);
      const texts = Array.from({ length: 5 }, (_, i) => `${'compressible text '.repeat(500)}${i}`);
      const binary = Buffer.alloc(100_000, 7);
      const echoed = messages(ws, texts.length + 2);
      for (const t of texts) ws.send(t);
      ws.send(binary);
      ws.send('short');
      const got = await echoed;
      assert.deepEqual(got.slice(0, texts.length), texts);
      assert.ok((got[texts.length] as Buffer).equals(binary));
      assert.equal(got[texts.length + 1], 'short');
    }
    // A server without deflate declines by not answering.
    const plain = await serve();
    const ws = await open(plain, { perMessageDeflate: true });
    assert.equal(ws.extensions, '');
    ws.send('x'.repeat(5000));
    assert.deepEqual(await messages(ws, 1), ['x'.repeat(5000)]);
  });

  it('several clients at once on one server', async () => {
    const url = await serve();
    const conns = await Promise.all(Array.from({ length: 20 }, () => open(url)));
    const replies = await Promise.all(conns.map((ws, i) => {
      const reply = messages(ws, 1);
      ws.send(`client ${i}`);
      return reply;
    }));
    assert.deepEqual(replies.map((r) => r[0]), conns.map((_, i) => `client ${i}`));
  });
});

describe('our client, our server: wss:// and IPv6', () => {
  let dir: string | undefined;
  let key: string | Buffer;
  let cert: string | Buffer;

  before(() => {
    // A self-signed certificate for localhost and 127.0.0.1, made now by the openssl CLI: no
    // network, nothing checked in. Without openssl, the node:crypto-built one of
    // test/helpers/self-signed-cert.ts does the same job.
    try {
      dir = mkdtempSync(join(tmpdir(), 'wsrfc-tls-'));
      execFileSync('openssl', [
        'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
        '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'), '-days', '1',
        '-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1',
      ], { stdio: 'pipe' });
      key = readFileSync(join(dir, 'key.pem'));
      cert = readFileSync(join(dir, 'cert.pem'));
    } catch (error) {
      console.error(`# openssl could not make a certificate (${(error as Error).message.split('\n')[0]}); using node:crypto`);
      ({ key, cert } = createSelfSignedCert());
    }
  });
  after(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('wss:// with the self-signed certificate as CA: round trip and clean close', async () => {
    const url = await serve({ tls: { key, cert } });
    const ws = await open(url, { tls: { ca: cert } });
    const echoed = messages(ws, 2);
    ws.send('over TLS');
    ws.send(seededBytes(200_000, 9));
    const got = await echoed;
    assert.equal(got[0], 'over TLS');
    assert.ok((got[1] as Buffer).equals(seededBytes(200_000, 9)));
    ws.close(1000);
    assert.deepEqual(await ws.closed, { code: 1000, reason: '', wasClean: true, initiator: 'local', sent: { code: 1000, reason: '' }, received: { code: 1000, reason: '' }, error: null });
  });

  it('wss:// checks the certificate: untrusted → TLS error; wrong name → TLS error; servername and rejectUnauthorized', async () => {
    const url = await serve({ tls: { key, cert } });
    await assert.rejects(connect(url), (e: NodeJS.ErrnoException) => e.code === 'DEPTH_ZERO_SELF_SIGNED_CERT');
    await assert.rejects(connect(url, { tls: { ca: cert, servername: 'other.example' } }), (e: NodeJS.ErrnoException) => e.code === 'ERR_TLS_CERT_ALTNAME_INVALID');
    const byName = await open(url, { tls: { ca: cert, servername: 'localhost' } });
    assert.equal(byName.readyState, ReadyState.OPEN);
    const insecure = await open(url, { tls: { rejectUnauthorized: false } });
    assert.equal(insecure.readyState, ReadyState.OPEN);
  });

  it('ws:// to a wss:// server fails as a bad response, not a hang', async () => {
    const url = await serve({ tls: { key, cert } });
    await assert.rejects(connect(url.replace('wss:', 'ws:'), { connectTimeout: 2000 }), (e: unknown) => e instanceof ClientHandshakeError);
  });

  it('an IPv6 literal: ws://[::1]:port/', async (t) => {
    let url: string;
    try {
      url = await serve({}, (ws) => ws.send(ws.headers.get('host') ?? ''), '::1');
    } catch (error) {
      return t.skip(`no IPv6 loopback here: ${(error as Error).message}`);
    }
    const ws = await open(`${url}/v6`);
    const port = new URL(url).port;
    assert.deepEqual(await messages(ws, 1), [`[::1]:${port}`]);
    assert.equal(ws.remoteAddress, '::1');
  });
});
