/**
 * Topics over real sockets: ws.subscribe()/unsubscribe()/topics,
 * server.publish(topic, message, { except }) with broadcast's result and
 * slow-receiver policy, a closed connection leaving its topics, the
 * registry's interface (first and last local subscriber, delivery of a
 * message published elsewhere), the limits, broadcast() to an iterable, and
 * 10,000 subscribers on one topic.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import WebSocket from 'ws';
import { connect, createServer, LocalError, ReadyState, type ServerOptions, type WebSocketConnection } from '../../src/index.js';
import { LocalTopicRegistry } from '../../src/server/topics.js';
import { encodeMessage } from '../../src/server/broadcast.js';
import { RawClient } from '../helpers/raw-client.js';
import { waitFor } from '../helpers/wait-for.js';

/** A server whose handler subscribes each connection to the topics in its query (`?t=a&t=b`). */
async function start(options: ServerOptions = {}) {
  const server = createServer({ host: '127.0.0.1', ...options }, (ws) => {
    for (const topic of new URLSearchParams(ws.query).getAll('t')) ws.subscribe(topic);
  });
  server.on('error', () => {});
  const { port } = await server.listen(0);
  return { server, port, url: `ws://127.0.0.1:${port}` };
}

async function listener(url: string): Promise<{ ws: WebSocket; messages: string[] }> {
  const ws = new WebSocket(url);
  const messages: string[] = [];
  ws.on('message', (data, isBinary) => messages.push(isBinary ? `binary:${(data as Buffer).length}` : data.toString()));
  await once(ws, 'open');
  return { ws, messages };
}

const until = (predicate: () => boolean, what: string, timeout = 5000) => waitFor(predicate, { what, timeout, interval: 2 });

/** The server side of the connection whose client is `ws` (found by its port). */
function serverSide<Data>(server: { connections: ReadonlySet<WebSocketConnection<Data>> }, ws: WebSocket): WebSocketConnection<Data> {
  const port = (ws as unknown as { _socket: { localPort: number } })._socket.localPort;
  const found = [...server.connections].find((c) => c.request.remotePort === port);
  assert.ok(found, 'the server side of the connection');
  return found;
}

test('publish reaches the subscribers of the topic only, encoded once, and returns what broadcast returns', async (t) => {
  const { server, url } = await start();
  t.after(() => server.close());
  const news = await listener(`${url}/?t=news`);
  const both = await listener(`${url}/?t=news&t=sport`);
  const none = await listener(`${url}/`);
  t.after(() => [news, both, none].forEach((c) => c.ws.terminate()));
  await until(() => server.connections.size === 3, 'three connections');

  assert.deepEqual(server.publish('news', 'n1'), { sent: 2, skipped: 0, closed: 0 });
  assert.deepEqual(server.publish('sport', Buffer.alloc(3)), { sent: 1, skipped: 0, closed: 0 });
  assert.deepEqual(server.publish('nobody', 'lost'), { sent: 0, skipped: 0, closed: 0 });
  await until(() => news.messages.length === 1 && both.messages.length === 2, 'deliveries');
  assert.deepEqual(news.messages, ['n1']);
  assert.deepEqual(both.messages, ['n1', 'binary:3']);

  // One encoding for all subscribers.
  const handed: Buffer[] = [];
  for (const connection of server.topics.subscribers('news')) {
    const original = connection.sendEncodedFrame.bind(connection);
    connection.sendEncodedFrame = (frame: Buffer) => (handed.push(frame), original(frame));
  }
  server.publish('news', Buffer.alloc(50_000, 7));
  assert.equal(handed.length, 2);
  assert.equal(handed[0], handed[1], 'the same Buffer');
  assert.ok(handed[0].equals(encodeMessage(Buffer.alloc(50_000, 7))));
  await until(() => news.messages.length === 2 && both.messages.length === 3, 'the big one');
  assert.deepEqual(none.messages, [], 'not subscribed: nothing');
});

test('subscribe/unsubscribe return whether anything changed; ws.topics is a read-only view; except leaves the publisher out', async (t) => {
  const { server, url } = await start();
  t.after(() => server.close());
  const a = await listener(url);
  const b = await listener(url);
  t.after(() => [a, b].forEach((c) => c.ws.terminate()));
  await until(() => server.connections.size === 2, 'two connections');
  const [sa, sb] = [serverSide(server, a.ws), serverSide(server, b.ws)];

  assert.equal(sa.subscribe('room'), true);
  assert.equal(sa.subscribe('room'), false, 'already in');
  assert.equal(sb.subscribe('room'), true);
  assert.equal(sa.subscribe('другой'), true);
  assert.deepEqual([...sa.topics].sort(), ['room', 'другой']);
  assert.equal(sa.topics.has('room'), true);
  assert.equal('add' in sa.topics, false, 'no add() on the view');
  assert.deepEqual([...server.topics.topics()].sort(), ['room', 'другой']);
  assert.equal(server.topics.subscribers('room').size, 2);

  assert.deepEqual(server.publish('room', 'from a', { except: sa }), { sent: 1, skipped: 0, closed: 0 });
  await until(() => b.messages.length === 1, 'b got it');
  assert.deepEqual(b.messages, ['from a']);

  assert.equal(sb.unsubscribe('room'), true);
  assert.equal(sb.unsubscribe('room'), false, 'not in any more');
  assert.equal(sb.unsubscribe('never'), false);
  assert.deepEqual(server.publish('room', 'after'), { sent: 1, skipped: 0, closed: 0 });
  await until(() => a.messages.length === 1, 'a got it');
  assert.deepEqual(a.messages, ['after']);
  assert.deepEqual(b.messages, ['from a'], 'b left the topic');
  assert.equal(sb.topics.size, 0);
});

test('a closed connection leaves its topics; the registry tells a backplane of the first and last local subscriber', async (t) => {
  const events: string[] = [];
  let registry: LocalTopicRegistry<WebSocketConnection> | undefined;
  const { server, url } = await start({
    topicRegistry: (deliver) =>
      (registry = new LocalTopicRegistry(deliver, {
        topicOpened: (topic) => events.push(`+${topic}`),
        topicClosed: (topic) => events.push(`-${topic}`),
      })),
  });
  t.after(() => server.close());
  assert.equal(server.topics, registry, 'the option built the registry');
  const a = await listener(`${url}/?t=x&t=y`);
  const b = await listener(`${url}/?t=x`);
  t.after(() => b.ws.terminate());
  await until(() => server.topics.subscribers('x').size === 2, 'two subscribers of x');
  assert.deepEqual(events, ['+x', '+y'], 'opened once each');
  const sa = serverSide(server, a.ws);

  a.ws.close(); // a clean close: the connection leaves when TCP closes
  await sa.closed;
  assert.equal(sa.readyState, ReadyState.CLOSED);
  assert.deepEqual([...server.topics.subscribers('x')].length, 1);
  assert.equal(server.topics.subscribers('y').size, 0);
  assert.deepEqual(events, ['+x', '+y', '-y']);
  assert.deepEqual([...server.topics.topics()], ['x']);
  assert.equal(sa.topics.size, 0);
  assert.throws(() => sa.subscribe('z'), { code: 'WS_ERR_CONNECTION_CLOSED' }, 'a closed connection joins nothing');

  // A message published by another process reaches the local subscribers through the registry.
  assert.deepEqual(registry!.publish('x', 'from elsewhere'), { sent: 1, skipped: 0, closed: 0 });
  await until(() => b.messages.length === 1, 'b got the remote message');
  assert.deepEqual(b.messages, ['from elsewhere']);

  b.ws.terminate(); // an abnormal closure leaves too
  await until(() => server.topics.subscribers('x').size === 0, 'x empty');
  assert.deepEqual(events, ['+x', '+y', '-y', '-x']);
});

test('topic names: 1 to 256 UTF-8 bytes; maxTopicsPerConnection at the limit passes, one over fails; a client connection has no topics', async (t) => {
  const { server, url } = await start({ maxTopicsPerConnection: 3 });
  t.after(() => server.close());
  const a = await listener(url);
  t.after(() => a.ws.terminate());
  await until(() => server.connections.size === 1, 'one connection');
  const sa = serverSide(server, a.ws);
  const invalid = (error: unknown) => error instanceof LocalError && error.code === 'WS_ERR_INVALID_TOPIC';

  assert.equal(sa.subscribe('x'.repeat(256)), true, '256 bytes');
  assert.equal(sa.subscribe('é'.repeat(128)), true, '256 bytes of 2-byte characters');
  assert.throws(() => sa.subscribe('x'.repeat(257)), invalid);
  assert.throws(() => sa.subscribe('é'.repeat(128) + 'x'), invalid);
  assert.throws(() => sa.subscribe(''), invalid);
  assert.throws(() => sa.subscribe(42 as unknown as string), invalid);
  assert.throws(() => server.publish('', 'x'), invalid);
  assert.throws(() => server.publish('x', 42 as unknown as string), { code: 'WS_ERR_INVALID_ARGUMENT' });

  assert.equal(sa.subscribe('third'), true, 'the third topic: at the limit');
  assert.throws(() => sa.subscribe('fourth'), { code: 'WS_ERR_TOO_MANY_TOPICS' });
  assert.equal(sa.subscribe('third'), false, 'one it is in already is no new topic');
  sa.unsubscribe('third');
  assert.equal(sa.subscribe('fourth'), true, 'room again after leaving one');

  assert.throws(() => createServer({ maxTopicsPerConnection: 0 }), { code: 'WS_ERR_INVALID_OPTION' });

  const client = await connect(`${url}/`);
  t.after(() => client.terminate());
  assert.throws(() => client.subscribe('x'), { code: 'WS_ERR_NO_TOPICS' });
  assert.equal(client.topics.size, 0);
  assert.deepEqual(client.params, {});
});

test("slow subscribers: the policy applies ('skip' here), the others get every message, the stuck one's backlog stays bounded", async (t) => {
  const limit = 128 * 1024;
  const size = 32 * 1024;
  const count = 200; // 6.4 MiB: more than the kernel buffers of a socket that is not read
  const { server, port, url } = await start({ slowReceiver: 'skip', broadcastLimit: limit });
  t.after(() => server.close());
  const fast = await listener(`${url}/?t=feed`);
  const stuck = await RawClient.connect(port, { path: '/?t=feed' });
  t.after(() => {
    fast.ws.terminate();
    stuck.destroy();
  });
  stuck.socket.pause();
  await until(() => server.topics.subscribers('feed').size === 2, 'two subscribers');
  const stuckSide = [...server.topics.subscribers('feed')].find((c) => c.request.remotePort === stuck.socket.localPort)!;
  const totals = { sent: 0, skipped: 0, closed: 0 };
  let maxBuffered = 0;
  for (let i = 0; i < count; i++) {
    const result = server.publish('feed', Buffer.alloc(size, 0x61));
    totals.sent += result.sent;
    totals.skipped += result.skipped;
    totals.closed += result.closed;
    maxBuffered = Math.max(maxBuffered, stuckSide.bufferedAmount);
    await until(() => fast.messages.length === i + 1, `message ${i + 1}`);
  }
  assert.ok(totals.skipped > 0, 'the stuck subscriber missed some');
  assert.equal(totals.closed, 0);
  assert.equal(totals.sent + totals.skipped, 2 * count);
  assert.ok(maxBuffered <= limit + size + 14, `buffered for the stuck subscriber: ${maxBuffered}`);
  assert.equal(stuckSide.readyState, ReadyState.OPEN);
});

test('with permessage-deflate negotiated, a published frame goes uncompressed (RSV1 clear, RFC 7692 §6), in step with compressed sends', async (t) => {
  const { server, port } = await start({ perMessageDeflate: true });
  t.after(() => server.close());
  const deflating = await listener(`ws://127.0.0.1:${port}/?t=d`);
  t.after(() => deflating.ws.terminate());
  assert.match(deflating.ws.extensions, /permessage-deflate/);
  const raw = await RawClient.connect(port, { path: '/?t=d' }); // no extension offered: plain frames
  t.after(() => raw.destroy());
  await until(() => server.topics.subscribers('d').size === 2, 'two subscribers');
  const side = serverSide(server, deflating.ws);
  side.send('a'.repeat(4096)); // compressed, through the connection's own context
  assert.deepEqual(server.publish('d', 'b'.repeat(4096)), { sent: 2, skipped: 0, closed: 0 });
  side.send('c'.repeat(4096)); // the context is still in step
  await until(() => deflating.messages.length === 3, 'three messages');
  assert.deepEqual(deflating.messages, ['a'.repeat(4096), 'b'.repeat(4096), 'c'.repeat(4096)]);
  const frame = await raw.nextFrame(3000);
  assert.equal(frame.payload.toString(), 'b'.repeat(4096), 'the same message to a subscriber without deflate');
});

test('broadcast() to any iterable of connections (a list the application keeps), besides the filter form', async (t) => {
  const { server, url } = await start();
  t.after(() => server.close());
  const clients = await Promise.all([listener(url), listener(url), listener(url)]);
  t.after(() => clients.forEach((c) => c.ws.terminate()));
  await until(() => server.connections.size === 3, 'three connections');
  const [s0, , s2] = clients.map((c) => serverSide(server, c.ws));
  assert.deepEqual(server.broadcast('some', [s0, s2]), { sent: 2, skipped: 0, closed: 0 });
  assert.deepEqual(server.broadcast('from a set', new Set([s2])), { sent: 1, skipped: 0, closed: 0 });
  assert.deepEqual(server.broadcast('filtered', (c) => c === s0), { sent: 1, skipped: 0, closed: 0 });
  assert.throws(() => server.broadcast('x', 42 as unknown as []), { code: 'WS_ERR_INVALID_ARGUMENT' });
  assert.throws(() => server.broadcast('x', null as unknown as []), { code: 'WS_ERR_INVALID_ARGUMENT' });
  await until(() => clients[0].messages.length === 2 && clients[2].messages.length === 2, 'deliveries');
  assert.deepEqual(clients[0].messages, ['some', 'filtered']);
  assert.deepEqual(clients[1].messages, []);
  assert.deepEqual(clients[2].messages, ['some', 'from a set']);
});

test('10,000 subscribers on one topic: one publish reaches every one; a topic of one costs one send among them', { timeout: 180_000 }, async (t) => {
  const SUBSCRIBERS = 10_000;
  const { server, port } = await start({ maxMessageSize: 1024 });
  t.after(() => server.close());
  server.route('/sub', (ws) => ws.subscribe('all'));
  server.route('/one', (ws) => {
    ws.subscribe('all');
    ws.subscribe('single');
  });
  const helper = fileURLToPath(new URL('../helpers/many-clients.ts', import.meta.url));
  const child = spawn(process.execPath, ['--import', 'tsx', helper, String(port), String(SUBSCRIBERS - 1), '/sub'], { stdio: ['pipe', 'pipe', 'inherit'] });
  t.after(() => {
    child.stdin.end();
    if (child.exitCode === null) child.kill();
  });
  const lines = createInterface({ input: child.stdout });
  const nextLine = (): Promise<string> => new Promise((resolve) => lines.once('line', resolve));
  const readyLine = nextLine();
  const one = await listener(`ws://127.0.0.1:${port}/one`);
  t.after(() => one.ws.terminate());
  assert.match(await readyLine, /^ready 9999$/);
  await until(() => server.topics.subscribers('all').size === SUBSCRIBERS, '10,000 subscribers', 60_000);

  const message = 'fan-out!'; // a frame of 2 + 8 bytes
  const frameBytes = encodeMessage(message).length;
  const MESSAGES = 5;
  for (let i = 0; i < MESSAGES; i++) assert.deepEqual(server.publish('all', message), { sent: SUBSCRIBERS, skipped: 0, closed: 0 });
  assert.deepEqual(server.publish('single', 'only one'), { sent: 1, skipped: 0, closed: 0 });

  const expected = MESSAGES * frameBytes;
  const wanted = `bytes ${expected * (SUBSCRIBERS - 1)} min ${expected} max ${expected}`;
  let report = '';
  const deadline = Date.now() + 60_000;
  while (report !== wanted) {
    assert.ok(Date.now() < deadline, `every subscriber should get ${MESSAGES} frames: ${report}`);
    const answer = nextLine();
    child.stdin.write('report\n');
    report = await answer;
    if (report !== wanted) await new Promise((resolve) => setTimeout(resolve, 100));
  }
  await until(() => one.messages.length === MESSAGES + 1, 'the /one subscriber', 30_000);
  assert.deepEqual(one.messages, [...Array(MESSAGES).fill(message), 'only one']);
});
