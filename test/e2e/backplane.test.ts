/**
 * createServer({ backplane }) over real sockets: two servers in one process
 * joined by a small in-memory bus that implements the Backplane interface
 * (src/server/backplane.ts) the way a broker does — a message published by
 * one member reaches the other members that subscribed to its topic, never
 * the publisher. What the server promises: cross-server delivery exactly once
 * and in order, no echo, subscribe/unsubscribe only on the first/last local
 * subscriber (and when a connection closes), a failing backplane reported
 * through result.remote without crashing, oversize publishes refused, and
 * close() closing the backplane.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import WebSocket from 'ws';
import { createServer, LocalError, type Backplane, type BackplaneDelivery, type WebSocketServer } from '../../src/index.js';
import type { Message } from '../../src/connection/websocket-connection.js';
import { waitFor } from '../helpers/wait-for.js';

/** A broker in memory: members, each with its subscriptions; what each member was asked to do, in order. */
class Bus {
  readonly members = new Set<BusMember>();
  member(): BusMember {
    const member = new BusMember(this);
    this.members.add(member);
    return member;
  }
}

class BusMember implements Backplane {
  readonly calls: string[] = [];
  readonly topics = new Set<string>();
  deliver: BackplaneDelivery | undefined;
  closed = false;
  failPublish = false;
  constructor(private readonly bus: Bus) {}
  start(deliver: BackplaneDelivery): Promise<void> {
    this.calls.push('start');
    this.deliver = deliver;
    return Promise.resolve();
  }
  subscribe(topic: string): void {
    this.calls.push(`subscribe ${topic}`);
    this.topics.add(topic);
  }
  unsubscribe(topic: string): void {
    this.calls.push(`unsubscribe ${topic}`);
    this.topics.delete(topic);
  }
  publish(topic: string, message: Message): Promise<void> {
    this.calls.push(`publish ${topic}`);
    if (this.failPublish) return Promise.reject(new Error('broker unreachable'));
    // Asynchronous, as a broker is; in order, as one connection to it is.
    for (const member of this.bus.members) {
      if (member !== this && member.topics.has(topic)) queueMicrotask(() => member.deliver?.(topic, message));
    }
    return Promise.resolve();
  }
  close(): Promise<void> {
    this.calls.push('close');
    this.closed = true;
    this.bus.members.delete(this);
    return Promise.resolve();
  }
}

const until = (predicate: () => boolean, what: string) => waitFor(predicate, { what, timeout: 5_000, interval: 2 });

async function serverOn(backplane: Backplane, maxMessageSize?: number) {
  const server = createServer({ backplane, host: '127.0.0.1', ...(maxMessageSize ? { maxMessageSize } : {}) }, (ws) => {
    for (const topic of new URLSearchParams(ws.query).getAll('t')) ws.subscribe(topic);
  });
  server.on('error', () => {});
  const { port } = await server.listen(0);
  return { server, port };
}

async function listener(port: number, topics: string[]): Promise<{ ws: WebSocket; messages: string[] }> {
  const ws = new WebSocket(`ws://127.0.0.1:${port}/?${topics.map((t) => `t=${t}`).join('&')}`);
  const messages: string[] = [];
  ws.on('message', (data, isBinary) => messages.push(isBinary ? `bin:${(data as Buffer).toString('hex')}` : data.toString()));
  await once(ws, 'open');
  return { ws, messages };
}

async function closeAll(...servers: WebSocketServer[]) {
  await Promise.all(servers.map((server) => server.close()));
}

test('a publish on server A reaches a subscriber on server B once and in order; A\'s own subscriber gets it once (no echo)', { timeout: 10_000 }, async () => {
  const bus = new Bus();
  const A = bus.member();
  const B = bus.member();
  const a = await serverOn(A);
  const b = await serverOn(B);
  const onA = await listener(a.port, ['news']);
  const onB = await listener(b.port, ['news']);
  await until(() => A.topics.has('news') && B.topics.has('news'), 'both subscriptions on the bus');
  for (let i = 0; i < 50; i += 1) {
    const result = a.server.publish('news', `m${i}`);
    assert.equal(result.sent, 1);
    await result.remote;
  }
  a.server.publish('news', Buffer.from([1, 2, 255]));
  await until(() => onB.messages.length >= 51 && onA.messages.length >= 51, '51 messages on each side');
  await new Promise((resolve) => setTimeout(resolve, 50));
  const expected = [...Array.from({ length: 50 }, (_, i) => `m${i}`), 'bin:0102ff'];
  assert.deepEqual(onB.messages, expected);
  assert.deepEqual(onA.messages, expected);
  // A publish B's process makes reaches A's subscriber once too.
  await b.server.publish('news', 'from B').remote;
  await until(() => onA.messages.at(-1) === 'from B', 'B\'s publish on A');
  await new Promise((resolve) => setTimeout(resolve, 30));
  assert.equal(onA.messages.filter((m) => m === 'from B').length, 1);
  assert.equal(onB.messages.filter((m) => m === 'from B').length, 1);
  onA.ws.close();
  onB.ws.close();
  await closeAll(a.server, b.server);
});

test('subscribe/unsubscribe reach the backplane only on the first/last local subscriber, and when a connection closes', { timeout: 10_000 }, async () => {
  const bus = new Bus();
  const A = bus.member();
  const a = await serverOn(A);
  const first = await listener(a.port, ['x', 'y']);
  const second = await listener(a.port, ['x']);
  await until(() => A.calls.includes('subscribe y'), 'the subscriptions');
  await new Promise((resolve) => setTimeout(resolve, 30));
  assert.deepEqual(A.calls.filter((c) => c.startsWith('subscribe')).sort(), ['subscribe x', 'subscribe y']);
  first.ws.close();
  await until(() => A.calls.includes('unsubscribe y'), 'y left with its only subscriber');
  assert.ok(!A.calls.includes('unsubscribe x'), 'x still has a subscriber');
  second.ws.terminate();
  await until(() => A.calls.includes('unsubscribe x'), 'x left when its last subscriber\'s connection closed');
  assert.deepEqual([...A.topics], []);
  await a.server.close();
});

test('a backplane whose publish rejects: result.remote rejects, local subscribers still get it, nothing crashes', { timeout: 10_000 }, async () => {
  const bus = new Bus();
  const A = bus.member();
  A.failPublish = true;
  const a = await serverOn(A);
  const unhandled: unknown[] = [];
  const onUnhandled = (reason: unknown) => unhandled.push(reason);
  process.on('unhandledRejection', onUnhandled);
  try {
    const local = await listener(a.port, ['news']);
    await until(() => A.topics.has('news'), 'the subscription');
    const result = a.server.publish('news', 'still local');
    assert.equal(result.sent, 1);
    await assert.rejects(result.remote!, /broker unreachable/);
    a.server.publish('news', 'nobody awaits this one'); // its rejection must not surface anywhere
    await until(() => local.messages.length === 2, 'both messages locally');
    assert.deepEqual(local.messages, ['still local', 'nobody awaits this one']);
    await new Promise((resolve) => setTimeout(resolve, 50));
    assert.deepEqual(unhandled, []);
    local.ws.close();
  } finally {
    process.off('unhandledRejection', onUnhandled);
    await a.server.close();
  }
});

test('a publish over maxMessageSize is refused (WS_ERR_PUBLISH_TOO_BIG), delivered nowhere; close() closes the backplane', { timeout: 10_000 }, async () => {
  const bus = new Bus();
  const A = bus.member();
  const B = bus.member();
  const a = await serverOn(A, 1024);
  const b = await serverOn(B, 1024);
  const onA = await listener(a.port, ['news']);
  const onB = await listener(b.port, ['news']);
  await until(() => A.topics.has('news') && B.topics.has('news'), 'both subscriptions');
  assert.throws(
    () => a.server.publish('news', Buffer.alloc(1025)),
    (error: unknown) => error instanceof LocalError && error.code === 'WS_ERR_PUBLISH_TOO_BIG',
  );
  assert.throws(() => a.server.publish('news', 'é'.repeat(513)), /WS_ERR_PUBLISH_TOO_BIG|over maxMessageSize/);
  assert.ok(!A.calls.includes('publish news'), 'not handed to the backplane');
  await new Promise((resolve) => setTimeout(resolve, 50));
  assert.deepEqual(onA.messages, []);
  assert.deepEqual(onB.messages, []);
  const closedA = once(onA.ws, 'close');
  await a.server.close();
  await closedA;
  assert.equal(A.closed, true);
  assert.equal(A.calls.at(-1), 'close');
  assert.equal(B.closed, false);
  onB.ws.close();
  await b.server.close();
  assert.equal(B.closed, true);
});
