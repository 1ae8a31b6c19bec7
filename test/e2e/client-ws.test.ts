/**
 * Interoperability: our client against the `ws` package's WebSocketServer (a
 * dev dependency, never imported by src/), a second, widely used
 * implementation of RFC 6455: messages, fragmented messages, ping/pong both
 * ways, closing from either side, subprotocols, refusals, permessage-deflate.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { after, afterEach, before, describe, it } from 'node:test';
import { WebSocketServer, type WebSocket } from 'ws';
import { ClientHandshakeError, connect, type ClientConnection, type ClientOptions } from '../../src/index.js';
import { seededBytes } from '../helpers/frames.js';
import { nextMessages } from '../helpers/next-messages.js';

const clients: ClientConnection[] = [];
const servers: WebSocketServer[] = [];

async function wsServer(options: ConstructorParameters<typeof WebSocketServer>[0] = {}, onConnection?: (socket: WebSocket) => void): Promise<string> {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, ...options });
  servers.push(wss);
  wss.on('connection', (socket) => {
    socket.on('error', () => {});
    if (onConnection) onConnection(socket);
    else socket.on('message', (data, isBinary) => socket.send(data as Buffer, { binary: isBinary }));
  });
  await once(wss, 'listening');
  return `ws://127.0.0.1:${(wss.address() as AddressInfo).port}`;
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
  for (const wss of servers) {
    for (const socket of wss.clients) socket.terminate();
    await new Promise((resolve) => wss.close(resolve));
  }
});

describe('our client against the ws server', () => {
  let echo: string;
  before(async () => {
    echo = await wsServer();
  });

  it('text and binary echo, every length encoding', async () => {
    const ws = await open(echo);
    const sizes = [0, 1, 125, 126, 65535, 65536, 1 << 20];
    const sent: Array<string | Buffer> = [];
    for (const [i, size] of sizes.entries()) {
      sent.push(seededBytes(size, i + 1));
      sent.push('ü'.repeat(size >> 1));
    }
    const echoed = messages(ws, sent.length);
    for (const m of sent) ws.send(m);
    const got = await echoed;
    for (let i = 0; i < sent.length; i++) {
      if (typeof sent[i] === 'string') assert.equal(got[i], sent[i]);
      else assert.ok(Buffer.isBuffer(got[i]) && (got[i] as Buffer).equals(sent[i] as Buffer), `binary #${i}`);
    }
  });

  it('reassembles messages ws sends in fragments, with a ping in between', async () => {
    const url = await wsServer({}, (socket) => {
      socket.send('frag', { fin: false });
      socket.ping('mid');
      socket.send('men', { fin: false });
      socket.send('ted', { fin: true });
      socket.send(Buffer.from([1, 2]), { binary: true, fin: false });
      socket.send(Buffer.from([3]), { binary: true, fin: true });
    });
    const ws = await open(url);
    const got = await messages(ws, 2);
    assert.equal(got[0], 'fragmented');
    assert.deepEqual([...(got[1] as Buffer)], [1, 2, 3]);
  });

  it('ping/pong both ways', async () => {
    let serverGotPong: Buffer | undefined;
    const url = await wsServer({}, (socket) => {
      socket.on('pong', (data) => (serverGotPong = data));
      socket.ping('from ws');
    });
    const ws = await open(url);
    const [ping] = (await once(ws, 'ping')) as [Buffer];
    assert.equal(ping.toString(), 'from ws');
    ws.ping('from us');
    const [pong] = (await once(ws, 'pong')) as [Buffer];
    assert.equal(pong.toString(), 'from us');
    for (let i = 0; i < 50 && serverGotPong === undefined; i++) await new Promise((r) => setTimeout(r, 10));
    assert.equal(serverGotPong?.toString(), 'from ws');
  });

  it('we close: ws sees our code and reason, closes TCP, and the close is clean', async () => {
    const seen: Array<[number, string]> = [];
    const url = await wsServer({}, (socket) => socket.on('close', (code, reason) => seen.push([code, reason.toString()])));
    const ws = await open(url);
    ws.close(4000, 'bye from wsrfc');
    assert.deepEqual(await ws.closed, { code: 4000, reason: 'bye from wsrfc', wasClean: true, initiator: 'local', sent: { code: 4000, reason: 'bye from wsrfc' }, received: { code: 4000, reason: 'bye from wsrfc' }, error: null });
    for (let i = 0; i < 50 && seen.length === 0; i++) await new Promise((r) => setTimeout(r, 10));
    assert.deepEqual(seen, [[4000, 'bye from wsrfc']]);
  });

  it('ws closes: we answer and report its code and reason', async () => {
    const url = await wsServer({}, (socket) => socket.on('message', () => socket.close(4001, 'bye from ws')));
    const ws = await open(url);
    ws.send('close please');
    assert.deepEqual(await ws.closed, { code: 4001, reason: 'bye from ws', wasClean: true, initiator: 'remote', sent: { code: 4001, reason: '' }, received: { code: 4001, reason: 'bye from ws' }, error: null });
  });

  it('ws terminates: 1006, not clean', async () => {
    const url = await wsServer({}, (socket) => socket.on('message', () => socket.terminate()));
    const ws = await open(url);
    ws.send('drop me');
    assert.deepEqual(await ws.closed, { code: 1006, reason: '', wasClean: false, initiator: 'remote', sent: null, received: null, error: null });
  });

  it('subprotocol chosen by ws\'s handleProtocols', async () => {
    const url = await wsServer({ handleProtocols: (protocols) => (protocols.has('b') ? 'b' : false) });
    const ws = await open(url, { protocols: ['a', 'b'] });
    assert.equal(ws.protocol, 'b');
    const none = await open(url, { protocols: ['c'] });
    assert.equal(none.protocol, '');
  });

  it('a refusal by verifyClient surfaces as its HTTP status', async () => {
    const url = await wsServer({ verifyClient: (_info, done) => done(false, 401, 'Unauthorized') });
    await assert.rejects(connect(url), (e: unknown) => e instanceof ClientHandshakeError && e.status === 401 && e.code === 'HS_ERR_UNEXPECTED_STATUS');
  });

  it('permessage-deflate with ws, under several parameter sets', async () => {
    const url = await wsServer({ perMessageDeflate: { threshold: 0 } });
    for (const options of [true, { clientMaxWindowBits: 8, serverMaxWindowBits: 9 }, { serverNoContextTakeover: true, clientNoContextTakeover: true }, { threshold: 0 }]) {
      const ws = await open(url, { perMessageDeflate: options });
      assert.match(ws.extensions, /^permessage-deflate/);
      const sent = ['hello', 'hello'.repeat(1000), seededBytes(50_000, 3), Buffer.alloc(300_000, 1), 'κόσμε '.repeat(3000)];
      const echoed = messages(ws, sent.length * 2);
      for (const m of [...sent, ...sent]) ws.send(m);
      const got = await echoed;
      for (let i = 0; i < got.length; i++) {
        const want = sent[i % sent.length];
        if (typeof want === 'string') assert.equal(got[i], want, `message ${i} with ${JSON.stringify(options)}`);
        else assert.ok((got[i] as Buffer).equals(want), `message ${i} with ${JSON.stringify(options)}`);
      }
    }
  });
});
