/**
 * Interoperability: the `ws` npm client (a dev dependency, never imported by
 * src/) talks to our server. Everything here goes through a second, widely
 * used implementation of RFC 6455 rather than our hand-built frames.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { after, afterEach, before, describe, it } from 'node:test';

import WebSocket from 'ws';

import { TestServer, type Handler } from '../helpers/raw-client.js';

interface CloseRecord {
  code: number;
  reason: string;
}

interface ServerClose extends CloseRecord {
  path: string;
}

describe('interop with the ws client', () => {
  let ts: TestServer;
  const serverCloses: ServerClose[] = [];
  const sockets = new Set<WebSocket>();

  before(async () => {
    const handler: Handler = (conn) => {
      conn.on('error', () => {});
      conn.on('close', (code: number, reason: string | Buffer) => serverCloses.push({ path: conn.path, code, reason: String(reason) }));
      conn.on('pong', (data: Buffer) => conn.send(`pong:${Buffer.from(data).toString('utf8')}`));
      conn.on('message', (data: string | Buffer) => {
        if (data === 'close-me') conn.close(4001, 'server bye');
        else if (data === 'ping-me') conn.ping('from server');
        else conn.send(data);
      });
    };
    ts = await TestServer.start({ selectProtocol: (offered) => offered.find((p) => p === 'chat') }, handler);
  });
  afterEach(() => {
    for (const ws of sockets) ws.terminate();
    sockets.clear();
  });
  after(() => ts?.stop());

  async function open(protocols?: string[], path = '/'): Promise<WebSocket> {
    const ws = new WebSocket(`ws://127.0.0.1:${ts.port}${path}`, protocols);
    sockets.add(ws);
    await once(ws, 'open');
    return ws;
  }

  async function nextMessage(ws: WebSocket): Promise<{ data: Buffer; isBinary: boolean }> {
    const [data, isBinary] = (await once(ws, 'message')) as [Buffer, boolean];
    return { data, isBinary };
  }

  /** The handler's 'close' event for the connection opened on `path`. */
  async function serverCloseOf(path: string): Promise<CloseRecord> {
    for (let i = 0; i < 100; i++) {
      const found = serverCloses.find((c) => c.path === path);
      if (found) return { code: found.code, reason: found.reason };
      await new Promise((r) => setTimeout(r, 10));
    }
    assert.fail(`the handler never saw 'close' for ${path}`);
  }

  async function closed(ws: WebSocket): Promise<CloseRecord> {
    const [code, reason] = (await once(ws, 'close')) as [number, Buffer];
    return { code, reason: reason.toString('utf8') };
  }

  it('text round trip', async () => {
    const ws = await open();
    ws.send('hello from ws');
    const { data, isBinary } = await nextMessage(ws);
    assert.equal(isBinary, false);
    assert.equal(data.toString('utf8'), 'hello from ws');
  });

  it('multi-byte text round trip', async () => {
    const ws = await open();
    ws.send('κόσμε 𝄞 €');
    const { data, isBinary } = await nextMessage(ws);
    assert.equal(isBinary, false);
    assert.equal(data.toString('utf8'), 'κόσμε 𝄞 €');
  });

  it('binary round trip', async () => {
    const ws = await open();
    const payload = Buffer.from([0, 1, 2, 253, 254, 255]);
    ws.send(payload);
    const { data, isBinary } = await nextMessage(ws);
    assert.equal(isBinary, true);
    assert.deepEqual(data, payload);
  });

  it('1 MiB binary round trip', async () => {
    const ws = await open();
    const payload = Buffer.alloc(1024 * 1024);
    for (let i = 0; i < payload.length; i++) payload[i] = (i * 31 + 7) & 0xff;
    ws.send(payload);
    const { data, isBinary } = await nextMessage(ws);
    assert.equal(isBinary, true);
    assert.ok(data.equals(payload), '1 MiB payload changed in transit');
  });

  it('a message ws sends in fragments (send with fin: false) comes back whole', async () => {
    const ws = await open();
    ws.send('Hel', { fin: false });
    ws.send('lo, ', { fin: false });
    ws.send('fragments', { fin: true });
    const { data, isBinary } = await nextMessage(ws);
    assert.equal(isBinary, false);
    assert.equal(data.toString('utf8'), 'Hello, fragments');
  });

  it('a binary message in fragments comes back whole', async () => {
    const ws = await open();
    ws.send(Buffer.from([1, 2]), { binary: true, fin: false });
    ws.send(Buffer.from([3]), { binary: true, fin: false });
    ws.send(Buffer.from([4, 5]), { binary: true, fin: true });
    const { data, isBinary } = await nextMessage(ws);
    assert.equal(isBinary, true);
    assert.deepEqual(data, Buffer.from([1, 2, 3, 4, 5]));
  });

  it('ws ping → pong event with the same payload', async () => {
    const ws = await open();
    ws.ping('are you there');
    const [data] = (await once(ws, 'pong')) as [Buffer];
    assert.equal(data.toString('utf8'), 'are you there');
  });

  it('server ping → ws answers → the server sees the pong', async () => {
    const ws = await open();
    const pinged = once(ws, 'ping');
    ws.send('ping-me');
    const [data] = (await pinged) as [Buffer];
    assert.equal(data.toString('utf8'), 'from server');
    const { data: report } = await nextMessage(ws);
    assert.equal(report.toString('utf8'), 'pong:from server');
  });

  it('the chosen subprotocol is seen by ws', async () => {
    const ws = await open(['superchat', 'chat']);
    assert.equal(ws.protocol, 'chat');
  });

  it('ws closes with 4000 "client bye": ws gets the code echoed, the handler sees code and reason', async () => {
    const ws = await open(undefined, '/close-4000');
    ws.close(4000, 'client bye');
    const record = await closed(ws);
    assert.equal(record.code, 4000);
    assert.deepEqual(await serverCloseOf('/close-4000'), { code: 4000, reason: 'client bye' });
  });

  it('ws closes with no code: the handler sees 1005 (no status)', async () => {
    const ws = await open(undefined, '/close-empty');
    ws.close();
    const record = await closed(ws);
    assert.ok(record.code === 1005 || record.code === 1000, `ws saw ${record.code}`);
    assert.equal((await serverCloseOf('/close-empty')).code, 1005);
  });

  it('the server closes with 4001 "server bye": ws receives that code and reason', async () => {
    const ws = await open(undefined, '/server-closes');
    ws.send('close-me');
    assert.deepEqual(await closed(ws), { code: 4001, reason: 'server bye' });
    // ws echoed 4001; the handler sees the peer's answer.
    assert.equal((await serverCloseOf('/server-closes')).code, 4001);
  });

  it('server.close() closes ws clients with 1001', async () => {
    const own = await TestServer.start();
    try {
      const ws = new WebSocket(`ws://127.0.0.1:${own.port}/`);
      sockets.add(ws);
      await once(ws, 'open');
      const closing = own.closeServer();
      const record = await closed(ws);
      assert.equal(record.code, 1001);
      await closing;
    } finally {
      await own.stop();
    }
  });
});
