/**
 * reconnecting() over real sockets: a server that restarts on the same port
 * (1001, then ECONNREFUSED until it is back), one that refuses (403: stop;
 * 503 with Retry-After: wait that long, then retry), close codes that stop
 * (1008) or reconnect (1012), the backoff's delays within their bounds, its
 * reset after a connection that lasted, giving up after maxAttempts, and
 * stopping with close(), an AbortSignal, or by leaving the loop.
 *
 * Delays are small (tens of ms) so that the whole file runs in a few seconds.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import net from 'node:net';
import { afterEach, describe, it } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { ClientHandshakeError } from '../../src/index.js';
import { createServer, type WebSocketServer } from '../../src/server/server.js';
import type { ServerOptions, ConnectionHandler } from '../../src/server/options.js';
import { reconnecting, type ReconnectingClient, type ReconnectRetry, type ReconnectEnd } from '../../src/client/reconnecting.js';
import { DEFAULT_RECONNECT_OPTIONS, endingCode, type ReconnectOptions } from '../../src/client/reconnect-policy.js';

const TIMEOUT = { timeout: 20_000 };
const FAST: ReconnectOptions = { initialDelay: 40, factor: 2, maxDelay: 160, jitter: 0.5, resetAfter: 5_000 };

const servers: WebSocketServer<undefined>[] = [];
const clients: ReconnectingClient[] = [];

async function serve(handler: ConnectionHandler<undefined>, options: ServerOptions = {}, port = 0): Promise<{ server: WebSocketServer<undefined>; port: number }> {
  const server = createServer({ host: '127.0.0.1', ...options }, handler);
  server.on('error', () => {});
  servers.push(server);
  const address = await server.listen(port);
  return { server, port: address.port };
}

const echo: ConnectionHandler<undefined> = (ws) => ws.on('message', (m) => ws.send(m));

/** A reconnecting client whose retries (with the time each was scheduled) and end are recorded. */
function client(url: string, reconnect: ReconnectOptions = FAST, signal?: AbortSignal) {
  const c = reconnecting(url, { reconnect, signal });
  clients.push(c);
  const retries: Array<ReconnectRetry & { at: number }> = [];
  const starts: number[] = [];
  c.on('retry', (retry) => retries.push({ ...retry, at: Date.now() }));
  c.on('connection', () => starts.push(Date.now()));
  return { c, retries, starts };
}

/** The nominal delay d of the n-th failure in a row; the jittered delay lies in [(1 − jitter) d, d]. */
function nominal(n: number, policy: ReconnectOptions = FAST): number {
  const p = { ...DEFAULT_RECONNECT_OPTIONS, ...policy };
  return Math.min(p.maxDelay, p.initialDelay * p.factor ** Math.max(0, n - 1));
}

function assertWithinBounds(retries: readonly ReconnectRetry[], policy: ReconnectOptions = FAST): void {
  const jitter = policy.jitter ?? DEFAULT_RECONNECT_OPTIONS.jitter;
  for (const { attempt, delay: d } of retries) {
    const top = nominal(attempt - 1, policy);
    assert.ok(d >= Math.floor((1 - jitter) * top) && d <= top, `attempt ${attempt}: delay ${d} not within [${(1 - jitter) * top}, ${top}]`);
  }
}

/** A port on 127.0.0.1 that nothing listens on (taken from the OS, then released). */
async function freePort(): Promise<number> {
  const probe = net.createServer().listen(0, '127.0.0.1');
  await once(probe, 'listening');
  const { port } = probe.address() as net.AddressInfo;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return port;
}

async function nextMessage(ws: { once(event: 'message', listener: (m: unknown) => void): unknown }): Promise<unknown> {
  return new Promise((resolve) => ws.once('message', resolve));
}

afterEach(async () => {
  for (const c of clients.splice(0)) await c.close();
  for (const s of servers.splice(0)) await s.close();
});

describe('reconnecting(): a server that restarts on the same port', TIMEOUT, () => {
  it('1001 from the dying server, ECONNREFUSED while it is down, then a new connection to the new one', async () => {
    const first = await serve(echo);
    const url = `ws://127.0.0.1:${first.port}/feed`;
    const { c, retries } = client(url);
    const seen: string[] = [];
    const loop = (async () => {
      for await (const ws of c) {
        ws.send(`hello ${seen.length + 1}`);
        for await (const message of ws) {
          seen.push(String(message));
          if (seen.length === 2) return;
        }
      }
    })();
    await new Promise((resolve) => c.once('connection', resolve));
    await delay(50);
    await first.server.close();
    // Down for a while: several attempts are refused, each after a longer delay.
    await delay(400);
    const refused = retries.filter((r) => (r.error as NodeJS.ErrnoException | undefined)?.code === 'ECONNREFUSED');
    assert.ok(refused.length >= 2, `refused attempts: ${refused.length}`);
    await serve(echo, {}, first.port);
    await loop;
    assert.deepEqual(seen, ['hello 1', 'hello 2']);
    // The first retry follows the 1001 of the shutdown.
    assert.equal(retries[0].close && endingCode(retries[0].close), 1001);
    // Delays: exponential from 40 ms, capped at 160, jitter within bounds; attempts numbered in a row.
    assertWithinBounds(retries);
    assert.deepEqual(retries.map((r) => r.attempt), retries.map((_, i) => i + 2));
    assert.ok(retries.some((r) => r.delay > nominal(1)), 'the delay grew');
    // Leaving the loop stopped the client.
    assert.deepEqual(await c.stopped, { why: 'stopped' });
  });

  it('the reconnect after a connection that lasted resetAfter starts the backoff over', async () => {
    // Each connection is closed with 1012 by the server after 150 ms; resetAfter 100 ms.
    const { port } = await serve((ws) => void setTimeout(() => ws.close(1012, 'restart'), 150));
    const policy = { ...FAST, resetAfter: 100 };
    const { c, retries } = client(`ws://127.0.0.1:${port}`, policy);
    let connections = 0;
    c.on('connection', () => connections++);
    while (connections < 3) await new Promise((resolve) => c.once('connection', resolve));
    assert.ok(retries.length >= 2);
    for (const retry of retries) {
      assert.equal(retry.attempt, 1, 'every retry is the first of a new run');
      assert.equal(endingCode(retry.close!), 1012);
    }
    assertWithinBounds(retries, policy);
  });

  it('a server that accepts and drops at once (1012) is not hammered: the delay grows', async () => {
    const { port } = await serve((ws) => ws.close(1012));
    const { c, retries, starts } = client(`ws://127.0.0.1:${port}`);
    while (retries.length < 4) await new Promise((resolve) => c.once('retry', resolve));
    assert.deepEqual(retries.map((r) => r.attempt), [2, 3, 4, 5]);
    assertWithinBounds(retries);
    // Measured on the wire: the gap between two connections is at least the delay scheduled.
    for (let i = 1; i < starts.length; i++) {
      assert.ok(starts[i] - starts[i - 1] >= retries[i - 1].delay - 5, `gap ${starts[i] - starts[i - 1]} < delay ${retries[i - 1].delay}`);
    }
  });
});

describe('reconnecting(): the close code decides', TIMEOUT, () => {
  it('1012 service restart: reconnects', async () => {
    let n = 0;
    const { port } = await serve((ws) => {
      if (++n === 1) ws.close(1012, 'restarting');
      else echo(ws);
    });
    const { c, retries } = client(`ws://127.0.0.1:${port}`);
    const it = c[Symbol.asyncIterator]();
    const first = (await it.next()).value!;
    const [code] = await once(first, 'close');
    assert.equal(code, 1012);
    const second = (await it.next()).value!;
    second.send('still here');
    assert.equal(await nextMessage(second), 'still here');
    assert.equal(retries.length, 1);
    assert.equal(endingCode(retries[0].close!), 1012);
  });

  it('1008 policy violation: stops, the iterator ends, no further attempt', async () => {
    let n = 0;
    const { port } = await serve((ws) => {
      n++;
      ws.close(1008, 'banned');
    });
    const { c, retries } = client(`ws://127.0.0.1:${port}`);
    const yielded: number[] = [];
    for await (const ws of c) {
      const [code] = await once(ws, 'close');
      yielded.push(code as number);
    }
    assert.deepEqual(yielded, [1008]);
    const end = await c.stopped;
    assert.equal(end.why, 'closed');
    assert.equal(endingCode(end.close!), 1008);
    await delay(150);
    assert.equal(n, 1, 'one connection only');
    assert.equal(retries.length, 0);
  });

  it('1000 from the server: stops', async () => {
    const { port } = await serve((ws) => ws.close(1000, 'done'));
    const { c } = client(`ws://127.0.0.1:${port}`);
    const end = await c.stopped;
    assert.equal(end.why, 'closed');
    assert.equal(end.close?.code, 1000);
  });
});

describe('reconnecting(): handshake refusals', TIMEOUT, () => {
  it('403: stops at once, the iterator throws the ClientHandshakeError', async () => {
    let requests = 0;
    const { port } = await serve(echo, {
      authorize: () => {
        requests++;
        return { reject: { status: 403, reason: 'Forbidden' } };
      },
    });
    const { c, retries } = client(`ws://127.0.0.1:${port}`);
    await assert.rejects(
      (async () => {
        for await (const _ of c) assert.fail('no connection');
      })(),
      (error: unknown) => error instanceof ClientHandshakeError && error.status === 403,
    );
    const end: ReconnectEnd = await c.stopped;
    assert.equal(end.why, 'refused');
    await delay(150);
    assert.equal(requests, 1);
    assert.equal(retries.length, 0);
    // Once thrown, the iterator is done.
    assert.deepEqual(await c[Symbol.asyncIterator]().next(), { value: undefined, done: true });
  });

  it('503 with Retry-After: 1 waits a second (not the 40 ms backoff), then connects', async () => {
    const times: number[] = [];
    const { port } = await serve(echo, {
      authorize: () => {
        times.push(Date.now());
        if (times.length === 1) return { reject: { status: 503, headers: { 'Retry-After': '1' } } };
        return undefined;
      },
    });
    const { c, retries } = client(`ws://127.0.0.1:${port}`);
    const ws = (await c[Symbol.asyncIterator]().next()).value!;
    assert.equal(ws.readyState, 1);
    assert.equal(retries.length, 1);
    assert.equal(retries[0].delay, 1000);
    assert.equal((retries[0].error as ClientHandshakeError).status, 503);
    assert.ok(times[1] - times[0] >= 990, `retried after ${times[1] - times[0]} ms`);
  });

  it('gives up after maxAttempts attempts in a row (ECONNREFUSED), with the last error', async () => {
    const port = await freePort();
    const { c, retries } = client(`ws://127.0.0.1:${port}`, { ...FAST, maxAttempts: 3 });
    const started = Date.now();
    await assert.rejects(c[Symbol.asyncIterator]().next(), { code: 'ECONNREFUSED' });
    const end = await c.stopped;
    assert.equal(end.why, 'gave up');
    assert.equal((end.error as NodeJS.ErrnoException).code, 'ECONNREFUSED');
    assert.deepEqual(retries.map((r) => r.attempt), [2, 3]);
    assertWithinBounds(retries);
    assert.ok(Date.now() - started >= retries[0].delay + retries[1].delay - 5);
  });
});

describe('reconnecting(): stopping', TIMEOUT, () => {
  it('close() closes the current connection with 1000 and ends the iterator', async () => {
    const codes: number[] = [];
    const { port } = await serve((ws) => ws.on('close', (code) => codes.push(code)));
    const { c } = client(`ws://127.0.0.1:${port}`);
    const it = c[Symbol.asyncIterator]();
    const ws = (await it.next()).value!;
    await c.close();
    assert.equal(ws.readyState, 3);
    assert.deepEqual(await it.next(), { value: undefined, done: true });
    await delay(50);
    assert.deepEqual(codes, [1000]);
  });

  it('close() during an attempt: what it opens is closed with 1000 before close() resolves, and never handed over', async () => {
    const codes: number[] = [];
    let authorizing!: () => void;
    const asked = new Promise<void>((resolve) => (authorizing = resolve));
    const { port } = await serve((ws) => ws.on('close', (code) => codes.push(code)), {
      authorize: async () => {
        authorizing();
        await delay(150);
      },
    });
    const { c } = client(`ws://127.0.0.1:${port}`);
    let handed = 0;
    c.on('connection', () => handed++);
    await asked;
    await c.close();
    assert.equal(c.connection, null);
    assert.equal(handed, 0);
    await delay(50);
    assert.deepEqual(codes, [1000]);
    assert.deepEqual(await c[Symbol.asyncIterator]().next(), { value: undefined, done: true });
  });

  it('an AbortSignal stops a client waiting to retry', async () => {
    const port = await freePort();
    const controller = new AbortController();
    const { c, retries } = client(`ws://127.0.0.1:${port}`, { ...FAST, initialDelay: 10_000, maxDelay: 10_000 }, controller.signal);
    await new Promise((resolve) => c.once('retry', resolve));
    const started = Date.now();
    controller.abort();
    assert.deepEqual(await c.stopped, { why: 'stopped' });
    assert.deepEqual(await c[Symbol.asyncIterator]().next(), { value: undefined, done: true });
    assert.ok(Date.now() - started < 1_000);
    assert.equal(retries.length, 1);
  });

  it('an already aborted signal: no attempt at all', async () => {
    let connections = 0;
    const { port } = await serve(() => void connections++);
    const { c } = client(`ws://127.0.0.1:${port}`, FAST, AbortSignal.abort());
    assert.deepEqual(await c.stopped, { why: 'stopped' });
    await delay(100);
    assert.equal(connections, 0);
  });

  it('invalid options throw at once, naming the option', () => {
    assert.throws(() => reconnecting('ws://127.0.0.1:1', { reconnect: { factor: 0.5 } }), {
      code: 'WS_ERR_INVALID_OPTION',
      message: 'reconnect.factor must be a number from 1 to 100, got 0.5',
    });
    assert.throws(() => reconnecting('http://127.0.0.1:1'), { code: 'HS_ERR_INVALID_URL' });
  });
});
