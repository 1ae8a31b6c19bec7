/**
 * The NATS backplane (wsrfc/nats) over real sockets and a real nats-server
 * (started once for this file, test/helpers/nats-server.ts): three server
 * processes (two forked, plus this one), clients of each subscribed to the
 * same topic; exactly-once, in-order delivery, text and binary; topics with
 * `.`, `*`, `>` and a space each one literal subject (never a wildcard, a
 * level or a queue group); an oversize publish forwarded nowhere; a message
 * over NATS's max_payload refused for the remote part only; NATS killed:
 * publish's `remote` rejects with WS_ERR_NATS_UNAVAILABLE at once, local
 * subscribers still get it, memory stays bounded, one error report; NATS
 * back: the backplanes re-subscribe exactly the topics they still hold (the
 * server's /connz) and publishes flow again. NATS down when a server starts:
 * listen() returns after startTimeout, and the server joins NATS when it
 * comes up.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import WebSocket from 'ws';
import { connect, type NatsConnection } from 'nats';
import { createServer, type WebSocketServer } from '../../src/index.js';
import { natsBackplane } from '../../src/nats/index.js';
import { NatsServer, natsSkipReason } from '../helpers/nats-server.js';
import { waitFor } from '../helpers/wait-for.js';
import { assertEachPublishOnceInOrder, assertPublishesFailFastWhileDown, forkBackplaneNode, topicListener, type BackplaneNode } from '../helpers/backplane-node.js';

const SKIP = natsSkipReason();
const until = (predicate: () => boolean, what: string, timeout = 8000) => waitFor(predicate, { what, timeout, interval: 5 });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** A carried message from "another process": flags, a foreign origin, the payload. */
const foreign = (flags: number, payload: Buffer | string) => Buffer.concat([Buffer.from([flags]), Buffer.alloc(16, 7), Buffer.from(payload)]);

describe('natsBackplane over a real nats-server', { skip: SKIP, timeout: 60_000 }, () => {
  let nats: NatsServer;
  let nodes: BackplaneNode[] = [];
  let local: WebSocketServer;
  let localPort: number;
  const errors: Error[] = [];
  const sockets: WebSocket[] = [];

  before(async () => {
    nats = await NatsServer.start();
    nodes = await Promise.all([forkBackplaneNode('nats', nats.url), forkBackplaneNode('nats', nats.url)]);
    local = createServer({ host: '127.0.0.1', maxMessageSize: 1024, backplane: natsBackplane({ servers: nats.url }, { reconnectDelay: 100 }) }, (ws) => {
      for (const topic of new URLSearchParams(ws.query).getAll('t')) ws.subscribe(topic);
    });
    local.on('error', (error: unknown) => errors.push(error as Error));
    localPort = (await local.listen(0)).port;
  });

  after(async () => {
    for (const ws of sockets) ws.terminate();
    await local?.close();
    for (const node of nodes) await node.stop();
    await nats?.stop();
  });

  /** Wait until `count` client connections of nats-server hold each of `subjects`. */
  async function subscribedBy(subjects: string[], count: number): Promise<void> {
    for (let i = 0; i < 400; i++) {
      const held = await nats.subscriptions();
      if (subjects.every((s) => held.get(s) === count)) return;
      await sleep(10);
    }
    assert.fail(`${subjects.join(', ')} not subscribed by ${count} connections: ${JSON.stringify([...(await nats.subscriptions())])}`);
  }

  async function subscribeEverywhere(topics: string[], subjects: string[]) {
    const clients = await Promise.all([topicListener(nodes[0]!.port, topics), topicListener(nodes[1]!.port, topics), topicListener(localPort, topics)]);
    sockets.push(...clients.map((c) => c.ws));
    await subscribedBy(subjects, 3);
    return clients;
  }

  it('every publish reaches each subscriber of every process exactly once, in order per publisher, text and binary', async () => {
    const clients = await subscribeEverywhere(['room'], ['wsrfc.room']);
    await assertEachPublishOnceInOrder('room', nodes[0]!, local, clients);
  });

  it('topics with ".", "*", ">" and a space are each one literal subject: no wildcard, no extra level, no queue group', async () => {
    const topics = ['a', 'a.b', 'a.*', 'a.>', '*', '>', 'a b', 'a%2Eb'];
    const clients = await Promise.all(topics.map((t) => topicListener(nodes[0]!.port, [t])));
    sockets.push(...clients.map((c) => c.ws));
    const subjects = ['wsrfc.a', 'wsrfc.a%2Eb', 'wsrfc.a%2E%2A', 'wsrfc.a%2E%3E', 'wsrfc.%2A', 'wsrfc.%3E', 'wsrfc.a%20b', 'wsrfc.a%252Eb'];
    await subscribedBy(subjects, 1);
    for (const subject of (await nats.subscriptions()).keys()) {
      assert.match(subject, /^wsrfc\.[A-Za-z0-9_%-]+$/, `${subject}: two tokens, the second literal`);
    }
    for (const topic of topics) assert.equal(await nodes[1]!.publish(topic, `to ${topic}`), 'ok');
    await until(() => clients.every((c) => c.messages.length >= 1), 'each topic delivered');
    await sleep(100);
    for (const [index, client] of clients.entries()) assert.deepEqual(client.messages, [`to ${topics[index]}`], `${topics[index]} got its own message only`);
  });

  it('an oversize publish is refused and forwarded nowhere; what is forwarded is flags, 16-byte origin, payload', async () => {
    const watcher = await connect({ servers: nats.url });
    const seen: Uint8Array[] = [];
    watcher.subscribe('wsrfc.big', { callback: (_error, message) => seen.push(message.data) });
    await watcher.flush();
    assert.throws(() => local.publish('big', Buffer.alloc(2048)), { code: 'WS_ERR_PUBLISH_TOO_BIG' });
    await local.publish('big', 'small').remote;
    await until(() => seen.length >= 1, 'the small one through NATS');
    await sleep(50);
    assert.equal(seen.length, 1);
    assert.equal(seen[0]![0], 0, 'text flag');
    assert.equal(Buffer.from(seen[0]!.subarray(17)).toString(), 'small', 'flags, 16-byte origin, payload');
    await watcher.close();
  });

  it("a message over the NATS server's max_payload: remote rejects WS_ERR_NATS_MESSAGE_TOO_BIG, local subscribers get it", async () => {
    const server = createServer({ host: '127.0.0.1', maxMessageSize: 2 * 1024 * 1024, backplane: natsBackplane({ servers: nats.url }) }, (ws) => ws.subscribe('huge'));
    const { port } = await server.listen(0);
    const reader = await topicListener(port, []);
    const result = server.publish('huge', Buffer.alloc(1024 * 1024, 1)); // + 17 bytes of framing: over 1 MiB
    assert.equal(result.sent, 1);
    await assert.rejects(result.remote!, { code: 'WS_ERR_NATS_MESSAGE_TOO_BIG', message: /max_payload \(1048576 bytes\)/ });
    await until(() => reader.messages.length === 1, 'local delivery');
    await server.publish('huge', Buffer.alloc(1024 * 1024 - 17, 2)).remote; // at the limit: taken
    reader.ws.terminate();
    await server.close();
  });

  it('{ connection } and a prefix: two servers share your connection, each gets the other\'s publishes not its own, foreign bytes are reported, your connection stays open', async () => {
    const mine = await connect({ servers: nats.url });
    const made = () => {
      const server = createServer({ host: '127.0.0.1', backplane: natsBackplane({ connection: mine }, { prefix: 'alt.' }) }, (ws) => ws.subscribe('news'));
      const seenErrors: unknown[] = [];
      server.on('error', (error: unknown) => seenErrors.push(error));
      return { server, seenErrors };
    };
    const a = made();
    const b = made();
    const readerA = await topicListener((await a.server.listen(0)).port, []);
    const readerB = await topicListener((await b.server.listen(0)).port, []);
    await subscribedBy(['alt.news'], 1); // one connection, holding two subscriptions
    await a.server.publish('news', 'from a').remote;
    await b.server.publish('news', 'from b').remote;
    const other = await connect({ servers: nats.url });
    other.publish('alt.news', foreign(0, 'from afar'));
    other.publish('alt.news', Buffer.from([0x80, 1, 2])); // not ours: dropped, reported
    other.publish('alt.news', foreign(1, Buffer.from([9, 9])));
    await other.flush();
    await until(() => readerA.messages.length >= 4 && readerB.messages.length >= 4, 'both readers have four messages');
    await sleep(100);
    assert.deepEqual(readerA.messages, ['from a', 'from b', 'from afar', 'bin:0909'], 'a: its own once (local), b\'s once (NATS echoed it to the shared connection)');
    assert.deepEqual(readerB.messages, ['from a', 'from b', 'from afar', 'bin:0909']);
    assert.equal(a.seenErrors.length, 1, 'the foreign message was reported');
    assert.equal(b.seenErrors.length, 1);
    assert.equal((await nats.subscriptions()).get('wsrfc.news'), undefined, 'the prefix replaces wsrfc.');
    readerA.ws.close();
    readerB.ws.close();
    await a.server.close();
    await b.server.close();
    assert.equal(mine.isClosed(), false, 'a connection you gave is not closed by the backplane');
    let left = true;
    for (let i = 0; i < 200 && left; i++) {
      left = (await nats.subscriptions()).has('alt.news');
      if (left) await sleep(10);
    }
    assert.equal(left, false, 'close() unsubscribed on your connection');
    await mine.close();
    await other.close();
  });

  it('at most maxPendingPublishes publishes wait for NATS; bad options and prefixes are refused', async () => {
    assert.throws(() => natsBackplane({ servers: nats.url }, { maxPendingPublishes: 0 }), { code: 'WS_ERR_INVALID_OPTION' });
    assert.throws(() => natsBackplane({ servers: nats.url }, { reconnectDelay: -1 }), { code: 'WS_ERR_INVALID_OPTION' });
    for (const prefix of ['a.*.', 'a.>', 'a b.', '.a.', 'a..b.']) {
      assert.throws(() => natsBackplane({ servers: nats.url }, { prefix }), { code: 'WS_ERR_INVALID_OPTION' }, prefix);
    }
    const backplane = natsBackplane({ servers: nats.url }, { maxPendingPublishes: 5 });
    await backplane.start(() => {}, () => {});
    const outcomes = await Promise.allSettled(Array.from({ length: 20 }, (_, i) => backplane.publish('burst', `m${i}`)));
    assert.equal(outcomes.filter((o) => o.status === 'fulfilled').length, 5, 'five in flight at once');
    assert.ok(outcomes.slice(5).every((o) => o.status === 'rejected' && (o.reason as { code?: string }).code === 'WS_ERR_NATS_UNAVAILABLE'));
    await backplane.publish('burst', 'after'); // the window frees as NATS answers
    await backplane.close();
  });

  it('NATS down: remote rejects at once, local delivery goes on, memory bounded; NATS back: re-subscribes exactly the held topics', async () => {
    const [, , mine] = await subscribeEverywhere(['outage'], ['wsrfc.outage']);
    const leaving = await topicListener(localPort, ['gone']);
    await subscribedBy(['wsrfc.gone'], 1);
    const errorsBefore = errors.length;
    await nats.stop();
    await assertPublishesFailFastWhileDown(local, 'outage', 'WS_ERR_NATS_UNAVAILABLE', mine!);
    await until(() => errors.length > errorsBefore, "the outage reported on the server's 'error' event");
    await sleep(400); // several reconnection attempts (every 100 ms)
    assert.equal(errors.length - errorsBefore, 1, 'one report per outage, not one per retry');
    // A topic left while NATS is away must not come back.
    leaving.ws.close();
    await sleep(100);
    await nats.run();
    // Publishes flow again across processes. Delivery is at most once: a publish made before this
    // process's subscriber has re-subscribed is lost to it, so publish until one arrives.
    let arrived = false;
    for (let i = 0; i < 100 && !arrived; i++) {
      await nodes[0]!.publish('outage', `back ${i}`);
      await sleep(100);
      arrived = mine!.messages.some((m) => m.startsWith('back '));
    }
    assert.ok(arrived, 'a publish of another process arrives after the restart (this process re-subscribed)');
    let flowing = false;
    for (let i = 0; i < 100 && !flowing; i++) {
      flowing = await local.publish('outage', `local back ${i}`).remote!.then(() => true, () => false);
      if (!flowing) await sleep(100);
    }
    assert.ok(flowing, "this process's publishes reach NATS again");
    await subscribedBy(['wsrfc.outage', 'wsrfc.room'], 3); // every process reconnected and re-subscribed
    const held = await nats.subscriptions();
    assert.deepEqual([...held.keys()].sort(), ['wsrfc.%2A', 'wsrfc.%3E', 'wsrfc.a', 'wsrfc.a%252Eb', 'wsrfc.a%20b', 'wsrfc.a%2E%2A', 'wsrfc.a%2E%3E', 'wsrfc.a%2Eb', 'wsrfc.outage', 'wsrfc.room'].sort(), 'exactly the topics still held (not gone, not big, not huge)');
    assert.equal(held.get('wsrfc.a'), 1, 'a topic of one process, re-subscribed by that one only');
  });
});

describe('natsBackplane when NATS is down at start', { skip: SKIP, timeout: 30_000 }, () => {
  it('listen() returns after startTimeout, serving locally; NATS comes up: the topics subscribed meanwhile join it', async () => {
    const nats = await NatsServer.reserve(); // ports with no NATS on them yet
    const errors: Array<{ code?: string }> = [];
    const server = createServer({ host: '127.0.0.1', backplane: natsBackplane({ servers: nats.url }, { startTimeout: 200, reconnectDelay: 100 }) }, (ws) => {
      for (const topic of new URLSearchParams(ws.query).getAll('t')) ws.subscribe(topic);
    });
    server.on('error', (error: unknown) => errors.push(error as { code?: string }));
    let other: NatsConnection | undefined;
    try {
      const started = Date.now();
      const { port } = await server.listen(0);
      assert.ok(Date.now() - started < 4000, `listen() did not wait for NATS (${Date.now() - started} ms)`);
      assert.ok(errors.some((e) => e.code === 'WS_ERR_NATS_UNAVAILABLE'), "the outage is reported on 'error'");
      const sub = await topicListener(port, ['late']);
      const result = server.publish('late', 'local only');
      assert.equal(result.sent, 1);
      await assert.rejects(result.remote!, { code: 'WS_ERR_NATS_UNAVAILABLE' });
      await until(() => sub.messages.includes('local only'), 'local delivery without NATS');
      await sleep(300);
      assert.equal(errors.length, 1, 'one report, not one per connection attempt');
      await nats.run();
      let joined = false;
      for (let i = 0; i < 200 && !joined; i++) {
        joined = (await nats.subscriptions()).get('wsrfc.late') === 1;
        if (!joined) await sleep(25);
      }
      assert.ok(joined, 'the topic subscribed while NATS was down is subscribed once it is up');
      other = await connect({ servers: nats.url });
      other.publish('wsrfc.late', foreign(0, 'from elsewhere'));
      await other.flush();
      await until(() => sub.messages.includes('from elsewhere'), 'a message from another process arrives');
      assert.equal(await server.publish('late', 'remote').remote!.then(() => 'ok'), 'ok', "this server's publishes reach NATS once it is up");
      sub.ws.terminate();
    } finally {
      await other?.close();
      await server.close();
      await nats.stop();
    }
  });

  it('close() returns promptly while NATS is away, whether it never came or went away, and settles every publish', async () => {
    const nats = await NatsServer.reserve();
    try {
      const never = natsBackplane({ servers: nats.url }, { startTimeout: 50, reconnectDelay: 50 });
      await never.start(() => {}, () => {});
      let started = Date.now();
      await never.close();
      assert.ok(Date.now() - started < 1000, `closed while still trying to connect (${Date.now() - started} ms)`);
      await nats.run();
      const errors: Error[] = [];
      const lost = natsBackplane({ servers: nats.url }, { reconnectDelay: 50 });
      await lost.start(() => {}, (error) => errors.push(error));
      lost.subscribe('t');
      await lost.publish('t', 'while up');
      await nats.stop();
      await until(() => errors.length === 1, 'the outage noticed');
      const settled = lost.publish('t', 'while down').then(() => 'resolved', (error: { code?: string }) => error.code);
      started = Date.now();
      await lost.close();
      assert.ok(Date.now() - started < 3000, `closed while reconnecting (${Date.now() - started} ms)`);
      assert.equal(await settled, 'WS_ERR_NATS_UNAVAILABLE');
    } finally {
      await nats.stop();
    }
  });
});
