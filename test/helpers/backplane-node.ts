/**
 * The other processes of a broker backplane test (test/e2e/redis.test.ts,
 * test/e2e/nats.test.ts): forkBackplaneNode() forks a server on the broker
 * (test/helpers/backplane-node-process.ts) and publishes through it over IPC;
 * topicListener() is a client of a server, subscribed to topics by its query,
 * that records every message it gets (`bin:<hex>` for a binary one);
 * assertEachPublishOnceInOrder() and assertPublishesFailFastWhileDown() are
 * checks every broker backplane passes.
 */
import assert from 'node:assert/strict';
import { fork, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import WebSocket from 'ws';
import type { WebSocketServer } from '../../src/index.js';
import { waitFor } from './wait-for.js';

/** A forked server process on the broker. */
export interface BackplaneNode {
  child: ChildProcess;
  port: number;
  /** Publish from that process: resolves with 'ok' once the broker took it, or the error code of its `remote`. */
  publish(topic: string, data: string | Buffer): Promise<string>;
  /** Let it close its server (IPC disconnected), up to 3 s, then SIGKILL it: no process is left behind. */
  stop(): Promise<void>;
}

/** Fork a server whose backplane is `broker`'s at `url`; resolves once it listens. */
export async function forkBackplaneNode(broker: 'redis' | 'nats', url: string): Promise<BackplaneNode> {
  const child = fork(new URL('./backplane-node-process.ts', import.meta.url), [broker, url], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const [{ port }] = (await once(child, 'message')) as [{ port: number }];
  let next = 0;
  const pending = new Map<number, (remote: string) => void>();
  child.on('message', (reply: { id?: number; remote?: string }) => {
    if (reply.id !== undefined) pending.get(reply.id)?.(reply.remote!);
  });
  return {
    child,
    port,
    publish(topic, data) {
      const id = next++;
      const binary = typeof data !== 'string';
      child.send({ id, topic, binary, data: binary ? data.toString('base64') : data });
      return new Promise((resolve) => pending.set(id, resolve));
    },
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = once(child, 'exit');
      if (child.connected) child.disconnect();
      await Promise.race([exited, new Promise((r) => setTimeout(r, 3000))]);
      child.kill('SIGKILL');
    },
  };
}

/** A client of the server on `port`, subscribed to `topics` (`?t=a&t=b`), recording what it receives. */
export async function topicListener(port: number, topics: string[]): Promise<{ ws: WebSocket; messages: string[] }> {
  const ws = new WebSocket(`ws://127.0.0.1:${port}/?${topics.map((t) => `t=${encodeURIComponent(t)}`).join('&')}`);
  const messages: string[] = [];
  ws.on('message', (data, isBinary) => messages.push(isBinary ? `bin:${(data as Buffer).toString('hex')}` : data.toString()));
  await once(ws, 'open');
  return { ws, messages };
}

/**
 * 40 publishes on `topic` from `node` (another process) and 40 from `local`
 * (this one), text and binary alternating: each of `clients` (subscribed to
 * `topic` on every process) gets the 80 exactly once, each publisher's in order.
 */
export async function assertEachPublishOnceInOrder(topic: string, node: BackplaneNode, local: WebSocketServer, clients: ReadonlyArray<{ messages: string[] }>): Promise<void> {
  const expectedFromNode: string[] = [];
  const expectedFromLocal: string[] = [];
  const publishes: Array<Promise<unknown>> = [];
  for (let i = 0; i < 40; i++) {
    const data = i % 2 === 0 ? `n${i}` : Buffer.from([0, i, 255]);
    expectedFromNode.push(typeof data === 'string' ? data : `bin:${data.toString('hex')}`);
    publishes.push(node.publish(topic, data).then((r) => assert.equal(r, 'ok')));
    const mine = i % 2 === 0 ? `l${i}` : Buffer.from([1, i]);
    expectedFromLocal.push(typeof mine === 'string' ? mine : `bin:${mine.toString('hex')}`);
    publishes.push(local.publish(topic, mine).remote!);
  }
  await Promise.all(publishes);
  await waitFor(() => clients.every((c) => c.messages.length >= 80), { what: 'every client has 80 messages', timeout: 8000, interval: 5 });
  await new Promise((r) => setTimeout(r, 100)); // nothing more (no duplicate) arrives
  for (const [index, client] of clients.entries()) {
    assert.equal(client.messages.length, 80, `client ${index}: exactly once each`);
    const fromNode = client.messages.filter((m) => m.startsWith('n') || m.startsWith('bin:00'));
    const fromLocal = client.messages.filter((m) => m.startsWith('l') || m.startsWith('bin:01'));
    assert.deepEqual(fromNode, expectedFromNode, `client ${index}: node 0's publishes in order`);
    assert.deepEqual(fromLocal, expectedFromLocal, `client ${index}: this process's publishes in order (its own subscriber once)`);
  }
}

/**
 * With the broker down: 3000 publishes on `topic` from `local`, one after the
 * other. `remote` rejects at once (`code`), well within 5 s for all, `subscriber`
 * (a local subscriber of `topic`) still gets each, and memory stays bounded (no queue).
 */
export async function assertPublishesFailFastWhileDown(local: WebSocketServer, topic: string, code: string, subscriber: { messages: string[] }): Promise<void> {
  const rssBefore = process.memoryUsage().rss;
  const started = Date.now();
  let rejected = 0;
  for (let i = 0; i < 3000; i++) {
    const result = local.publish(topic, `down ${i}`);
    await result.remote!.then(
      () => {},
      (error: { code?: string }) => {
        assert.equal(error.code, code);
        rejected++;
      },
    );
  }
  assert.ok(Date.now() - started < 5000, `publishes fail fast, not after a timeout each (${Date.now() - started} ms)`);
  // The first few may still reach the broker's socket before the backplane has noticed the outage.
  assert.ok(rejected >= 2990, `publishes rejected while the broker is down (${rejected})`);
  await waitFor(() => subscriber.messages.filter((m) => m.startsWith('down ')).length === 3000, { what: 'local subscriber got every message', timeout: 8000, interval: 5 });
  assert.ok(process.memoryUsage().rss - rssBefore < 64 * 1024 * 1024, 'no unbounded queue');
}
