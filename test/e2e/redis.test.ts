/**
 * The Redis backplane (wsrfc/redis) over real sockets and a real
 * redis-server (started once for this file, test/helpers/redis-server.ts):
 * three server processes (two forked, plus this one), clients of each
 * subscribed to the same topic; exactly-once, in-order delivery, text and
 * binary; a topic with `*` taken literally; an oversize publish forwarded
 * nowhere; Redis killed: publish's `remote` rejects with
 * WS_ERR_REDIS_UNAVAILABLE at once, local subscribers still get it, memory
 * stays bounded; Redis back: the backplanes re-subscribe exactly the topics
 * they still hold (PUBSUB CHANNELS) and publishes flow again. Redis down
 * when a server starts: listen() returns after startTimeout, and the server
 * joins Redis when it comes up.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import WebSocket from 'ws';
import { createClient } from 'redis';
import { createServer, type WebSocketServer } from '../../src/index.js';
import { redisBackplane } from '../../src/redis/index.js';
import { RedisServer, redisSkipReason } from '../helpers/redis-server.js';
import { waitFor } from '../helpers/wait-for.js';
import { assertEachPublishOnceInOrder, assertPublishesFailFastWhileDown, forkBackplaneNode, topicListener, type BackplaneNode } from '../helpers/backplane-node.js';

const SKIP = redisSkipReason();
const until = (predicate: () => boolean, what: string, timeout = 8000) => waitFor(predicate, { what, timeout, interval: 5 });

describe('redisBackplane over a real redis-server', { skip: SKIP, timeout: 60_000 }, () => {
  let redis: RedisServer;
  let nodes: BackplaneNode[] = [];
  let local: WebSocketServer;
  let localPort: number;
  const errors: Error[] = [];
  const sockets: WebSocket[] = [];
  let monitor: ReturnType<typeof createClient>;

  before(async () => {
    redis = await RedisServer.start();
    nodes = await Promise.all([forkBackplaneNode('redis', redis.url), forkBackplaneNode('redis', redis.url)]);
    local = createServer({ host: '127.0.0.1', maxMessageSize: 1024, backplane: redisBackplane({ url: redis.url }, { maxReconnectDelay: 200 }) }, (ws) => {
      for (const topic of new URLSearchParams(ws.query).getAll('t')) ws.subscribe(topic);
    });
    local.on('error', (error: unknown) => errors.push(error as Error));
    localPort = (await local.listen(0)).port;
    monitor = createClient({ url: redis.url, socket: { reconnectStrategy: 100 } });
    monitor.on('error', () => {});
    await monitor.connect();
  });

  after(async () => {
    for (const ws of sockets) ws.terminate();
    monitor?.destroy();
    await local?.close();
    for (const node of nodes) await node.stop();
    await redis?.stop();
  });

  async function subscribeEverywhere(topics: string[]) {
    const clients = await Promise.all([topicListener(nodes[0]!.port, topics), topicListener(nodes[1]!.port, topics), topicListener(localPort, topics)]);
    sockets.push(...clients.map((c) => c.ws));
    const channels = topics.map((t) => `wsrfc:${t}`);
    // Three backplanes subscribed to each channel.
    for (let i = 0; i < 200; i++) {
      const counts = (await monitor.pubSubNumSub(channels)) as Record<string, number>;
      if (channels.every((c) => counts[c] === 3)) break;
      await new Promise((r) => setTimeout(r, 10));
    }
    return clients;
  }

  it('every publish reaches each subscriber of every process exactly once, in order per publisher, text and binary', async () => {
    const clients = await subscribeEverywhere(['room']);
    await assertEachPublishOnceInOrder('room', nodes[0]!, local, clients);
  });

  it('a topic name with * is one literal channel (SUBSCRIBE, not PSUBSCRIBE)', async () => {
    const [star] = await subscribeEverywhere(['a*']);
    const plain = await topicListener(nodes[0]!.port, ['ab']);
    sockets.push(plain.ws);
    assert.ok((await monitor.pubSubChannels('wsrfc:a*')).includes('wsrfc:a*'));
    assert.equal(await monitor.sendCommand(['PUBSUB', 'NUMPAT']), 0, 'no pattern subscription');
    assert.equal(await nodes[1]!.publish('ab', 'to ab'), 'ok');
    assert.equal(await nodes[1]!.publish('a*', 'to a*'), 'ok');
    await until(() => star!.messages.length >= 1 && plain.messages.length >= 1, 'both delivered');
    await new Promise((r) => setTimeout(r, 100));
    assert.deepEqual(star!.messages, ['to a*']);
    assert.deepEqual(plain.messages, ['to ab']);
  });

  it('an oversize publish is refused and forwarded nowhere', async () => {
    const watcher = createClient({ url: redis.url });
    await watcher.connect();
    const seen: Buffer[] = [];
    await watcher.subscribe('wsrfc:big', (message: Buffer) => seen.push(message), true);
    assert.throws(() => local.publish('big', Buffer.alloc(2048)), { code: 'WS_ERR_PUBLISH_TOO_BIG' });
    await local.publish('big', 'small').remote;
    await until(() => seen.length >= 1, 'the small one through Redis');
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(seen.length, 1);
    assert.equal(seen[0]!.subarray(17).toString(), 'small', 'flags, 16-byte origin, payload');
    watcher.destroy();
  });

  it('{ client } and a prefix: your client publishes, a duplicate subscribes, foreign bytes are reported and dropped, your client stays open', async () => {
    const mine = createClient({ url: redis.url });
    mine.on('error', () => {});
    const server = createServer({ host: '127.0.0.1', backplane: redisBackplane({ client: mine }, { prefix: 'alt:' }) }, (ws) => ws.subscribe('news'));
    const seenErrors: unknown[] = [];
    server.on('error', (error: unknown) => seenErrors.push(error));
    const { port } = await server.listen(0);
    const reader = await topicListener(port, []);
    for (let i = 0; i < 200 && ((await monitor.pubSubNumSub(['alt:news'])) as Record<string, number>)['alt:news'] !== 1; i++) await new Promise((r) => setTimeout(r, 10));
    // A message from "another process": text flag, a foreign origin, the payload.
    await monitor.publish('alt:news', Buffer.concat([Buffer.from([0]), Buffer.alloc(16, 7), Buffer.from('from afar')]));
    await monitor.publish('alt:news', Buffer.from([0x80, 1, 2])); // not ours: dropped, reported
    await monitor.publish('alt:news', Buffer.concat([Buffer.from([1]), Buffer.alloc(16, 7), Buffer.from([9, 9])]));
    await until(() => reader.messages.length >= 2, 'both valid messages');
    assert.deepEqual(reader.messages, ['from afar', 'bin:0909']);
    assert.equal(seenErrors.length, 1, 'the foreign message was reported');
    assert.equal((await monitor.pubSubNumSub(['wsrfc:news']) as Record<string, number>)['wsrfc:news'], 0, 'the prefix replaces wsrfc:');
    reader.ws.close();
    await server.close();
    assert.equal(mine.isOpen, true, 'a client you gave is not closed by the backplane');
    mine.destroy();
  });

  it('at most maxPendingPublishes publishes wait for Redis; bad options are refused', async () => {
    assert.throws(() => redisBackplane({ url: redis.url }, { maxPendingPublishes: 0 }), { code: 'WS_ERR_INVALID_OPTION' });
    assert.throws(() => redisBackplane({ url: redis.url }, { maxReconnectDelay: -1 }), { code: 'WS_ERR_INVALID_OPTION' });
    const backplane = redisBackplane({ url: redis.url }, { maxPendingPublishes: 5 });
    await backplane.start(() => {}, () => {});
    const outcomes = await Promise.allSettled(Array.from({ length: 20 }, (_, i) => backplane.publish('burst', `m${i}`)));
    assert.equal(outcomes.filter((o) => o.status === 'fulfilled').length, 5, 'five in flight at once');
    assert.ok(outcomes.slice(5).every((o) => o.status === 'rejected' && (o.reason as { code?: string }).code === 'WS_ERR_REDIS_UNAVAILABLE'));
    await backplane.publish('burst', 'after'); // the window frees as Redis answers
    await backplane.close();
  });

  it('Redis down: remote rejects at once, local delivery goes on, memory bounded; Redis back: re-subscribes exactly the held topics', async () => {
    const [, , mine] = await subscribeEverywhere(['outage']);
    const leaving = await topicListener(localPort, ['gone']);
    const errorsBefore = errors.length;
    await redis.stop();
    await assertPublishesFailFastWhileDown(local, 'outage', 'WS_ERR_REDIS_UNAVAILABLE', mine!);
    await until(() => errors.length > errorsBefore, "the outage reported on the server's 'error' event");
    assert.ok(errors.length - errorsBefore <= 2, `one report per outage, not one per retry (${errors.length - errorsBefore})`);
    // A topic left while Redis is away must not come back.
    leaving.ws.close();
    await new Promise((r) => setTimeout(r, 100));
    await redis.restart();
    await until(() => monitor.isReady, 'monitor reconnected');
    // Publishes flow again across processes. Delivery is at most once: a publish made before this
    // process's subscriber has re-subscribed is lost to it, so publish until one arrives.
    let arrived = false;
    for (let i = 0; i < 100 && !arrived; i++) {
      await nodes[0]!.publish('outage', `back ${i}`);
      await new Promise((r) => setTimeout(r, 100));
      arrived = mine!.messages.some((m) => m.startsWith('back '));
    }
    assert.ok(arrived, 'a publish of another process arrives after the restart (this process re-subscribed)');
    let flowing = false;
    for (let i = 0; i < 100 && !flowing; i++) {
      flowing = await local.publish('outage', `local back ${i}`).remote!.then(() => true, () => false);
      if (!flowing) await new Promise((r) => setTimeout(r, 100));
    }
    assert.ok(flowing, "this process's publishes reach Redis again");
    // Every process re-subscribes on its own reconnection: give the slowest a moment.
    let counts: Record<string, number> = {};
    for (let i = 0; i < 50; i++) {
      counts = { ...((await monitor.pubSubNumSub(['wsrfc:outage', 'wsrfc:room'])) as Record<string, number>) };
      if (counts['wsrfc:outage'] === 3 && counts['wsrfc:room'] === 3) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.deepEqual(counts, { 'wsrfc:outage': 3, 'wsrfc:room': 3 }, 'every process re-subscribed');
    const channels = (await monitor.pubSubChannels()).sort();
    assert.deepEqual(channels, ['wsrfc:a*', 'wsrfc:ab', 'wsrfc:outage', 'wsrfc:room'], 'exactly the topics still held (not wsrfc:gone, not wsrfc:big)');
  });
});

describe('redisBackplane when Redis is down at start', { skip: SKIP, timeout: 30_000 }, () => {
  it('listen() returns after startTimeout, serving locally; Redis comes up: the topics subscribed meanwhile join it', async () => {
    const redis = await RedisServer.reserve(); // a port with no Redis on it yet
    const errors: Array<{ code?: string }> = [];
    const server = createServer({ host: '127.0.0.1', backplane: redisBackplane({ url: redis.url }, { startTimeout: 200, maxReconnectDelay: 100 }) }, (ws) => {
      for (const topic of new URLSearchParams(ws.query).getAll('t')) ws.subscribe(topic);
    });
    server.on('error', (error: unknown) => errors.push(error as { code?: string }));
    let other: ReturnType<typeof createClient> | undefined;
    try {
      const started = Date.now();
      const { port } = await server.listen(0);
      assert.ok(Date.now() - started < 4000, `listen() did not wait for Redis (${Date.now() - started} ms)`);
      assert.ok(errors.some((e) => e.code === 'WS_ERR_REDIS_UNAVAILABLE'), "the outage is reported on 'error'");
      const sub = await topicListener(port, ['late']);
      const result = server.publish('late', 'local only');
      assert.equal(result.sent, 1);
      await assert.rejects(result.remote!, { code: 'WS_ERR_REDIS_UNAVAILABLE' });
      await until(() => sub.messages.includes('local only'), 'local delivery without Redis');
      await redis.run();
      // Another process publishes on the channel once this server's subscription reached Redis.
      other = createClient({ url: redis.url });
      other.on('error', () => {});
      await other.connect();
      let joined = false;
      for (let i = 0; i < 200 && !joined; i++) {
        joined = ((await other.pubSubNumSub(['wsrfc:late'])) as Record<string, number>)['wsrfc:late'] === 1;
        if (!joined) await new Promise((r) => setTimeout(r, 25));
      }
      assert.ok(joined, 'the topic subscribed while Redis was down is subscribed once it is up');
      await other.publish('wsrfc:late', Buffer.concat([Buffer.from([0]), Buffer.alloc(16, 7), Buffer.from('from elsewhere')]));
      await until(() => sub.messages.includes('from elsewhere'), 'a message from another process arrives');
      let remoteOk = false;
      for (let i = 0; i < 100 && !remoteOk; i++) {
        remoteOk = await server.publish('late', `remote ${i}`).remote!.then(() => true, () => false);
        if (!remoteOk) await new Promise((r) => setTimeout(r, 50));
      }
      assert.ok(remoteOk, "this server's publishes reach Redis once it is up");
      sub.ws.terminate();
    } finally {
      other?.destroy();
      await server.close();
      await redis.stop();
    }
  });
});
