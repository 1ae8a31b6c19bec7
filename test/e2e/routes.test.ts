/**
 * Routes with parameters over real sockets: `:name` parameters and a
 * trailing wildcard on `ws.params`, the most specific route winning, 404 for
 * a path no route matches, 400 for an undecodable segment, the hooks seeing
 * the parameters, and handleUpgrade() handing node:http's request (and what
 * the application attached to it) on to `authorize`.
 */
import { test as nodeTest } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer as createHttpServer, type IncomingMessage } from 'node:http';
import net from 'node:net';
import WebSocket from 'ws';
import { createServer, type HandshakeRequest, type ServerOptions, type WebSocketConnection } from '../../src/index.js';

/** Every test here is bounded: a refusal that never comes fails it. */
const test = (name: string, fn: (t: import('node:test').TestContext) => Promise<void>) => nodeTest(name, { timeout: 20_000 }, fn);

/** Each handler answers with its name and the connection's params, as JSON. */
async function start(options: ServerOptions<unknown> = {}) {
  const server = createServer<unknown>({ host: '127.0.0.1', ...options });
  server.on('error', () => {});
  const answer = (name: string) => (ws: WebSocketConnection<unknown>) => ws.send(JSON.stringify({ route: name, params: ws.params, data: ws.data ?? null }));
  server
    .route('/rooms/lobby', answer('lobby'))
    .route('/rooms/:id', answer('room'))
    .route('/rooms/:id/users/:user', answer('user'))
    .route('/rooms/*', answer('rooms-wildcard'))
    .route('/files/*', answer('files'));
  const { port } = await server.listen(0);
  return { server, port, url: `ws://127.0.0.1:${port}` };
}

async function first(url: string): Promise<{ route: string; params: Record<string, string>; data: unknown }> {
  const ws = new WebSocket(url);
  const [data] = await once(ws, 'message');
  ws.close();
  return JSON.parse(String(data));
}

/** The HTTP status a refused upgrade got. */
async function refusedWith(url: string): Promise<number> {
  const ws = new WebSocket(url);
  ws.on('error', () => {});
  const [, response] = (await once(ws, 'unexpected-response')) as [unknown, IncomingMessage];
  response.resume();
  ws.terminate();
  return response.statusCode!;
}

/** A raw request target, sent as is (a WebSocket client would re-encode it). */
async function rawStatus(port: number, target: string): Promise<number> {
  const socket = net.connect(port, '127.0.0.1');
  socket.write(`GET ${target} HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n`);
  const [chunk] = await once(socket, 'data');
  socket.destroy();
  return Number(/^HTTP\/1\.1 (\d{3})/.exec(String(chunk))![1]);
}

test('parameters and the trailing wildcard arrive decoded on ws.params', async (t) => {
  const { server, url } = await start();
  t.after(() => server.close());
  assert.deepEqual(await first(`${url}/rooms/42`), { route: 'room', params: { id: '42' }, data: null });
  assert.deepEqual(await first(`${url}/rooms/caf%C3%A9%20au%20lait?x=1`), { route: 'room', params: { id: 'café au lait' }, data: null });
  assert.deepEqual(await first(`${url}/rooms/7/users/ada`), { route: 'user', params: { id: '7', user: 'ada' }, data: null });
  assert.deepEqual(await first(`${url}/files/docs/a%2Fb/readme.md`), { route: 'files', params: { '*': 'docs/a/b/readme.md' }, data: null });
  assert.deepEqual(await first(`${url}/files/`), { route: 'files', params: { '*': '' }, data: null });
});

test('the most specific route wins: literal over parameter over wildcard, longer over shorter', async (t) => {
  const { server, url } = await start();
  t.after(() => server.close());
  assert.equal((await first(`${url}/rooms/lobby`)).route, 'lobby');
  assert.equal((await first(`${url}/rooms/lobbyist`)).route, 'room');
  assert.deepEqual(await first(`${url}/rooms/lobby/users/bob`), { route: 'user', params: { id: 'lobby', user: 'bob' }, data: null });
  assert.deepEqual(await first(`${url}/rooms/7/other`), { route: 'rooms-wildcard', params: { '*': '7/other' }, data: null });
  assert.deepEqual(await first(`${url}/rooms/`), { route: 'rooms-wildcard', params: { '*': '' }, data: null });
  // :user cannot be empty: the parameter branch fails, and the wildcard above takes it.
  assert.deepEqual(await first(`${url}/rooms/1/users/`), { route: 'rooms-wildcard', params: { '*': '1/users/' }, data: null });
});

test('404 for a path no route matches (and no default handler); 400 for a segment that is not percent-encoded UTF-8', async (t) => {
  const { server, port, url } = await start();
  t.after(() => server.close());
  assert.equal(await refusedWith(`${url}/`), 404);
  assert.equal(await refusedWith(`${url}/rooms`), 404);
  assert.equal(await refusedWith(`${url}/files`), 404, '/files/* is under /files/');
  assert.equal(await refusedWith(`${url}/chat/rooms/1`), 404);
  assert.equal(await rawStatus(port, '/rooms/%FF'), 400);
  assert.equal(await rawStatus(port, '/rooms/%zz'), 400);
  assert.equal(await rawStatus(port, '/rooms/42'), 101, 'the same raw request, well encoded, upgrades');
});

test('the default handler serves what no route matches; options.path limits it', async (t) => {
  const server = createServer({ host: '127.0.0.1', path: '/home' }, (ws) => ws.send(`default ${JSON.stringify(ws.params)}`));
  server.on('error', () => {});
  server.route('/rooms/:id', (ws) => ws.send(`room ${ws.params.id}`));
  const { port } = await server.listen(0);
  t.after(() => server.close());
  const message = async (path: string) => {
    const ws = new WebSocket(`ws://127.0.0.1:${port}${path}`);
    const [data] = await once(ws, 'message');
    ws.close();
    return String(data);
  };
  assert.equal(await message('/rooms/9'), 'room 9');
  assert.equal(await message('/home'), 'default {}');
  assert.equal(await refusedWith(`ws://127.0.0.1:${port}/elsewhere`), 404);
});

test('checkOrigin and authorize see the params; authorize may refuse on them', async (t) => {
  const seen: Array<[string, Record<string, string>]> = [];
  const { server, url } = await start({
    checkOrigin: (_origin, request) => {
      seen.push(['origin', { ...request.params }]);
      return true;
    },
    authorize: (request) => {
      seen.push(['authorize', { ...request.params }]);
      if (request.params.id === 'private') return { reject: { status: 403, reason: 'members only' } };
      return { data: { room: request.params.id } };
    },
  });
  t.after(() => server.close());
  assert.deepEqual(await first(`${url}/rooms/5`), { route: 'room', params: { id: '5' }, data: { room: '5' } });
  assert.deepEqual(seen, [
    ['origin', { id: '5' }],
    ['authorize', { id: '5' }],
  ]);
  assert.equal(await refusedWith(`${url}/rooms/private`), 403);
});

test('handleUpgrade(request, socket, head) passes the IncomingMessage, and what the application attached to it, on to authorize', async (t) => {
  const incomings: Array<IncomingMessage | undefined> = [];
  const wss = createServer<{ user: string }>({
    authorize: (request: HandshakeRequest) => {
      incomings.push(request.incoming);
      const session = (request.incoming as (IncomingMessage & { session?: { user: string } }) | undefined)?.session;
      if (!session) return { reject: { status: 401, reason: 'log in first' } };
      return { data: { user: `${session.user} in ${request.params.id}` } };
    },
  });
  wss.on('error', () => {});
  wss.route('/rooms/:id', (ws) => ws.send(ws.data!.user));
  const http = createHttpServer((_request, response) => response.end('http'));
  http.on('upgrade', (request: IncomingMessage & { session?: { user: string } }, socket, head) => {
    // What a session middleware would do: read a cookie, attach the session.
    if (request.headers.cookie === 'sid=ada') request.session = { user: 'ada' };
    wss.handleUpgrade(request, socket, head);
  });
  http.listen(0, '127.0.0.1');
  await once(http, 'listening');
  const { port } = http.address() as net.AddressInfo;
  t.after(async () => {
    await wss.close();
    http.close();
  });

  const ws = new WebSocket(`ws://127.0.0.1:${port}/rooms/12`, { headers: { Cookie: 'sid=ada' } });
  const [data] = await once(ws, 'message');
  assert.equal(String(data), 'ada in 12');
  ws.close();
  assert.equal(incomings.length, 1);
  assert.equal(incomings[0]?.url, '/rooms/12', 'the very request node:http parsed');
  assert.equal(await refusedWith(`ws://127.0.0.1:${port}/rooms/12`), 401);

  // Requests our own listener reads have no IncomingMessage.
  const own = createServer({ host: '127.0.0.1', authorize: (request) => void incomings.push(request.incoming) }, (c) => c.send('ok'));
  own.on('error', () => {});
  const { port: ownPort } = await own.listen(0);
  t.after(() => own.close());
  const direct = new WebSocket(`ws://127.0.0.1:${ownPort}/`);
  await once(direct, 'message');
  direct.close();
  assert.equal(incomings.at(-1), undefined);
});
