/**
 * The two halves of the cluster backplane without processes: the worker side
 * (ClusterBackplane over a stand-in IPC channel) and the primary's relay
 * (PrimaryRelay over stand-in workers). The same code runs over real
 * processes in test/e2e/cluster.test.ts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import type { Worker } from 'node:cluster';
import { LocalError } from '../../src/index.js';
import { ClusterBackplane, type IpcChannel } from '../../src/cluster/cluster-backplane.js';
import { PrimaryRelay } from '../../src/cluster/primary-relay.js';
import type { Message } from '../../src/connection/websocket-connection.js';

/** An IPC channel whose writes complete only when the test says so. */
class FakeChannel extends EventEmitter implements IpcChannel {
  connected = true;
  readonly sent: unknown[] = [];
  readonly callbacks: ((error: Error | null) => void)[] = [];
  send(message: unknown, _handle: undefined, _options: object, callback: (error: Error | null) => void): boolean {
    this.sent.push(message);
    this.callbacks.push(callback);
    return this.callbacks.length < 2;
  }
  flush(): void {
    for (const callback of this.callbacks.splice(0)) callback(null);
  }
}

const isCode = (code: string) => (error: unknown) => error instanceof LocalError && error.code === code;

test('worker side: publishes waiting for the channel are bounded (WS_ERR_BACKPLANE_BUSY), then accepted again once written', async () => {
  const channel = new FakeChannel();
  const backplane = new ClusterBackplane(channel, 3);
  await backplane.start(() => {}, () => {});
  const waiting = [backplane.publish('t', 'a'), backplane.publish('t', 'b'), backplane.publish('t', Buffer.from([1]))];
  await assert.rejects(backplane.publish('t', 'd'), isCode('WS_ERR_BACKPLANE_BUSY'));
  assert.equal(channel.sent.length, 3, 'the refused publish was not sent');
  channel.flush();
  await Promise.all(waiting);
  const next = backplane.publish('t', 'e');
  channel.flush();
  await next;
  assert.deepEqual(channel.sent.at(-1), { wsrfc: 'publish', topic: 't', message: 'e' });
});

test('worker side: a channel error or a gone primary rejects with WS_ERR_BACKPLANE_CLOSED', async () => {
  const channel = new FakeChannel();
  const backplane = new ClusterBackplane(channel, 10);
  await backplane.start(() => {}, () => {});
  const failing = backplane.publish('t', 'a');
  channel.callbacks.shift()!(new Error('channel closed'));
  await assert.rejects(failing, isCode('WS_ERR_BACKPLANE_CLOSED'));
  channel.connected = false;
  await assert.rejects(backplane.publish('t', 'b'), isCode('WS_ERR_BACKPLANE_CLOSED'));
});

test('worker side: deliveries become strings or Buffers, foreign messages are ignored, close() unsubscribes what it held', async () => {
  const channel = new FakeChannel();
  const backplane = new ClusterBackplane(channel, 10);
  const delivered: [string, Message][] = [];
  await backplane.start((topic, message) => delivered.push([topic, message]), () => {});
  backplane.subscribe('x');
  backplane.subscribe('y');
  backplane.unsubscribe('y');
  channel.emit('message', { wsrfc: 'deliver', topic: 'x', message: 'text' });
  channel.emit('message', { wsrfc: 'deliver', topic: 'x', message: new Uint8Array([7, 8]) });
  channel.emit('message', { app: 'something else' });
  channel.emit('message', 'a string');
  assert.deepEqual(delivered, [['x', 'text'], ['x', Buffer.from([7, 8])]]);
  assert.ok(Buffer.isBuffer(delivered[1]![1]));
  await backplane.close();
  assert.deepEqual(channel.sent, [
    { wsrfc: 'subscribe', topic: 'x' },
    { wsrfc: 'subscribe', topic: 'y' },
    { wsrfc: 'unsubscribe', topic: 'y' },
    { wsrfc: 'unsubscribe', topic: 'x' },
  ]);
  channel.emit('message', { wsrfc: 'deliver', topic: 'x', message: 'after close' });
  assert.equal(delivered.length, 2);
  await assert.rejects(backplane.publish('x', 'late'), isCode('WS_ERR_BACKPLANE_CLOSED'));
});

/** A worker as the relay sees it: messages in, send() out. */
class FakeWorker extends EventEmitter {
  readonly received: unknown[] = [];
  readonly callbacks: (() => void)[] = [];
  connected = true;
  isConnected(): boolean {
    return this.connected;
  }
  send(message: unknown, _handle: undefined, callback: () => void): boolean {
    this.received.push(message);
    this.callbacks.push(callback);
    return true;
  }
}

function relayOf(count: number, maxPending?: number) {
  const relay = new PrimaryRelay(maxPending);
  const workers = Array.from({ length: count }, () => new FakeWorker());
  for (const worker of workers) relay.add(worker as unknown as Worker);
  return { relay, workers };
}

test('relay: a publish goes to the other workers holding the topic, never back to the sender, following subscribe/unsubscribe and exits', () => {
  const { relay, workers } = relayOf(3);
  const [a, b, c] = workers as [FakeWorker, FakeWorker, FakeWorker];
  a.emit('message', { wsrfc: 'subscribe', topic: 'news' });
  b.emit('message', { wsrfc: 'subscribe', topic: 'news' });
  c.emit('message', { wsrfc: 'subscribe', topic: 'other' });
  a.emit('message', { wsrfc: 'publish', topic: 'news', message: 'one' });
  assert.deepEqual(a.received, []);
  assert.deepEqual(b.received, [{ wsrfc: 'deliver', topic: 'news', message: 'one' }]);
  assert.deepEqual(c.received, []);
  b.emit('message', { wsrfc: 'unsubscribe', topic: 'news' });
  c.emit('message', { wsrfc: 'publish', topic: 'news', message: 'two' });
  assert.deepEqual(a.received, [{ wsrfc: 'deliver', topic: 'news', message: 'two' }]);
  assert.equal(b.received.length, 1);
  a.emit('exit');
  assert.deepEqual([...relay.topics(a as unknown as Worker)], []);
  c.emit('message', { wsrfc: 'publish', topic: 'news', message: 'three' });
  assert.equal(a.received.length, 1, 'a worker that exited gets nothing');
});

test('relay: a worker whose channel is backed up past the bound loses messages (counted), never an unbounded queue', () => {
  const { relay, workers } = relayOf(2, 2);
  const [a, b] = workers as [FakeWorker, FakeWorker];
  b.emit('message', { wsrfc: 'subscribe', topic: 't' });
  for (const message of ['1', '2', '3', '4']) a.emit('message', { wsrfc: 'publish', topic: 't', message });
  assert.deepEqual(b.received.map((m) => (m as { message: string }).message), ['1', '2']);
  assert.equal(relay.dropped, 2);
  for (const callback of b.callbacks.splice(0)) callback();
  a.emit('message', { wsrfc: 'publish', topic: 't', message: '5' });
  assert.equal((b.received.at(-1) as { message: string }).message, '5');
});
