/**
 * receive({ timeout, signal }) over real sockets: a timeout or an abort
 * gives up the wait, never a message (a property test races timers against
 * arrivals); concurrent callers are served in call order; receive() and
 * for-await share one queue; the close is reported once the messages that
 * came before it are taken; the queue pauses reading. And §5.5.1 for a
 * for-await handler still replying when the peer closes.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as delay } from 'node:timers/promises';
import fc from 'fast-check';
import { connect } from '../../src/client/connect.js';
import { createServer, type WebSocketServer } from '../../src/server/server.js';
import type { WebSocketConnection } from '../../src/connection/websocket-connection.js';
import { ConnectionClosedError, LocalError } from '../../src/errors.js';
import { withTimeout, waitFor } from '../helpers/wait-for.js';

async function startServer(handler: (ws: WebSocketConnection<undefined>) => unknown): Promise<{ server: WebSocketServer<undefined>; url: string }> {
  const server = createServer({ host: '127.0.0.1' }, handler);
  const { port } = await server.listen(0);
  return { server, url: `ws://127.0.0.1:${port}` };
}

/** A server that, on a message `send <count> <gap ms,...>`, sends `m0`…`m<count-1>` with those gaps. */
async function scheduledSender(): Promise<{ server: WebSocketServer<undefined>; url: string }> {
  return startServer(async (ws) => {
    for await (const command of ws) {
      const [, count, gaps] = String(command).split(' ');
      const delays = gaps === undefined || gaps === '' ? [] : gaps.split(',').map(Number);
      for (let i = 0; i < Number(count); i++) {
        const gap = delays[i % Math.max(1, delays.length)] ?? 0;
        if (gap > 0) await delay(gap);
        ws.send(`m${i}`);
      }
    }
  });
}

test('receive(): a message already queued resolves at once; a timeout rejects with WS_ERR_RECEIVE_TIMEOUT and the late message stays queued', { timeout: 10_000 }, async () => {
  const { server, url } = await scheduledSender();
  const client = await connect(url);
  try {
    client.send('send 1 150');
    const started = Date.now();
    await assert.rejects(client.receive({ timeout: 30 }), (error: unknown) => error instanceof LocalError && error.code === 'WS_ERR_RECEIVE_TIMEOUT');
    assert.ok(Date.now() - started >= 25, 'the timeout waited');
    // The message comes after the timeout: it is not lost.
    assert.equal(await withTimeout(client.receive(), { what: 'm0 after a timeout' }), 'm0');
    client.send('send 2 0');
    await delay(50);
    assert.equal(await client.receive({ timeout: 0 }), 'm0', 'a queued message beats even a zero timeout');
    assert.equal(await client.receive({ timeout: 0 }), 'm1');
  } finally {
    client.close();
    await server.close();
  }
});

test('receive(): an abort rejects with the signal\'s reason and takes no message; an aborted signal rejects at once', { timeout: 10_000 }, async () => {
  const { server, url } = await scheduledSender();
  const client = await connect(url);
  try {
    const controller = new AbortController();
    const pending = client.receive({ signal: controller.signal });
    controller.abort();
    await assert.rejects(pending, (error: unknown) => error instanceof DOMException && error.name === 'AbortError');
    const reason = new Error('mine');
    await assert.rejects(client.receive({ signal: AbortSignal.abort(reason) }), (error) => error === reason);
    client.send('send 1 0');
    assert.equal(await withTimeout(client.receive({ signal: new AbortController().signal }), { what: 'm0' }), 'm0');
    await assert.rejects(client.receive({ timeout: -1 }), (error: unknown) => error instanceof LocalError && error.code === 'WS_ERR_INVALID_ARGUMENT');
  } finally {
    client.close();
    await server.close();
  }
});

test('property: racing timeouts and aborts against arrivals, every message is received exactly once, in order', { timeout: 120_000 }, async () => {
  const { server, url } = await scheduledSender();
  try {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 25 }),
        fc.array(fc.integer({ min: 0, max: 6 }), { minLength: 1, maxLength: 8 }),
        fc.array(
          fc.oneof(
            fc.record({ kind: fc.constant('timeout' as const), ms: fc.integer({ min: 0, max: 6 }) }),
            fc.record({ kind: fc.constant('abort' as const), ms: fc.integer({ min: 0, max: 6 }) }),
            fc.record({ kind: fc.constant('plain' as const), ms: fc.constant(0) }),
          ),
          { minLength: 1, maxLength: 8 },
        ),
        async (count, gaps, attempts) => {
          const client = await connect(url);
          try {
            client.send(`send ${count} ${gaps.join(',')}`);
            const received: string[] = [];
            let attempt = 0;
            while (received.length < count) {
              const { kind, ms } = attempts[attempt++ % attempts.length];
              try {
                let message;
                if (kind === 'timeout') message = await client.receive({ timeout: ms });
                else if (kind === 'abort') {
                  const controller = new AbortController();
                  const timer = setTimeout(() => controller.abort(), ms);
                  try {
                    message = await client.receive({ signal: controller.signal });
                  } finally {
                    clearTimeout(timer);
                  }
                } else message = await withTimeout(client.receive(), { what: `message ${received.length}` });
                received.push(String(message));
              } catch (error) {
                const expected = (error instanceof LocalError && error.code === 'WS_ERR_RECEIVE_TIMEOUT') || (error instanceof DOMException && error.name === 'AbortError');
                if (!expected) throw error;
              }
            }
            assert.deepEqual(received, Array.from({ length: count }, (_, i) => `m${i}`));
            // Nothing more: no message was delivered twice.
            await assert.rejects(client.receive({ timeout: 20 }), (error: unknown) => error instanceof LocalError && error.code === 'WS_ERR_RECEIVE_TIMEOUT');
          } finally {
            client.close();
            await client.closed;
          }
        },
      ),
      { numRuns: 30 },
    );
  } finally {
    await server.close();
  }
});

test('concurrent receive() callers are served in call order; a caller that times out leaves its place to the next', { timeout: 10_000 }, async () => {
  const { server, url } = await scheduledSender();
  const client = await connect(url);
  try {
    const first = client.receive();
    const quitter = client.receive({ timeout: 10 });
    const second = client.receive();
    const third = client.receive();
    await assert.rejects(quitter, (error: unknown) => error instanceof LocalError && error.code === 'WS_ERR_RECEIVE_TIMEOUT');
    client.send('send 3 0');
    assert.deepEqual(await withTimeout(Promise.all([first, second, third]), { what: 'three messages' }), ['m0', 'm1', 'm2']);
  } finally {
    client.close();
    await server.close();
  }
});

test('receive() and for-await share one queue: each message goes to exactly one taker, in the order they asked', { timeout: 10_000 }, async () => {
  const { server, url } = await scheduledSender();
  const client = await connect(url);
  try {
    const iterator = client[Symbol.asyncIterator]();
    const viaLoop = iterator.next();
    const viaReceive = client.receive();
    client.send('send 4 0');
    assert.deepEqual(await withTimeout(viaLoop, { what: 'the loop\'s message' }), { value: 'm0', done: false });
    assert.equal(await withTimeout(viaReceive, { what: 'receive()\'s message' }), 'm1');
    assert.deepEqual(await iterator.next(), { value: 'm2', done: false });
    assert.equal(await client.receive(), 'm3');
  } finally {
    client.close();
    await server.close();
  }
});

test('after the peer closes: messages sent before the close are delivered first, then receive() rejects with ConnectionClosedError carrying the close', { timeout: 10_000 }, async () => {
  const { server, url } = await startServer((ws) => {
    ws.send('a');
    ws.send('b');
    ws.close(4001, 'done');
  });
  const client = await connect(url);
  try {
    await withTimeout(client.closed, { what: 'the close' });
    assert.equal(await client.receive(), 'a');
    assert.equal(await client.receive({ timeout: 10 }), 'b');
    for (let i = 0; i < 2; i++) {
      await assert.rejects(client.receive(), (error: unknown) => {
        assert.ok(error instanceof ConnectionClosedError);
        assert.equal(error.closeCode, 4001);
        assert.equal(error.reason, 'done');
        assert.equal(error.info?.wasClean, true);
        assert.equal(error.info?.initiator, 'remote');
        return true;
      });
    }
  } finally {
    await server.close();
  }
});

test('a receive() waiting when the peer closes rejects with ConnectionClosedError; a waiting for-await loop ends', { timeout: 10_000 }, async () => {
  const { server, url } = await startServer(async (ws) => {
    await ws.receive();
    ws.close(1000, 'bye');
  });
  const client = await connect(url);
  try {
    const waiting = client.receive();
    const loop = client[Symbol.asyncIterator]().next();
    client.send('close please');
    await assert.rejects(withTimeout(waiting, { what: 'the rejection' }), (error: unknown) => error instanceof ConnectionClosedError && error.closeCode === 1000 && error.reason === 'bye');
    assert.deepEqual(await withTimeout(loop, { what: 'the loop to end' }), { value: undefined, done: true });
  } finally {
    await server.close();
  }
});

test('flow control: messages nobody takes pause reading (the sender backs up); taking them resumes it', { timeout: 20_000 }, async () => {
  const MESSAGES = 32;
  const size = 1024 * 1024;
  let serverSide: WebSocketConnection<undefined> | undefined;
  const { server, url } = await startServer((ws) => {
    serverSide = ws;
    const payload = Buffer.alloc(size, 7);
    for (let i = 0; i < MESSAGES; i++) ws.send(payload);
  });
  const client = await connect(url);
  try {
    await waitFor(() => serverSide !== undefined, { what: 'the server connection' });
    await delay(300);
    // Without the pause the client would have read all 32 MiB by now.
    assert.ok(serverSide!.bufferedAmount > 8 * size, `the server still holds ${serverSide!.bufferedAmount} bytes: the client stopped reading`);
    let total = 0;
    for (let i = 0; i < MESSAGES; i++) total += (await withTimeout(client.receive(), { what: `message ${i}` })).length;
    assert.equal(total, MESSAGES * size);
  } finally {
    client.close();
    await server.close();
  }
});

test('§5.5.1: the peer closes while a for-await handler is still replying: the reply is refused with ConnectionClosedError, which ends the handler quietly', { timeout: 10_000 }, async () => {
  let refused: unknown = null;
  const errors: unknown[] = [];
  const { server, url } = await startServer(async (ws) => {
    for await (const message of ws) {
      await delay(100); // still working on the reply when the close arrives
      try {
        ws.send(`reply to ${String(message)}`);
      } catch (error) {
        refused = error;
        throw error; // what an unguarded handler does: the server treats it as the peer leaving, not a bug
      }
    }
  });
  server.on('error', (error) => errors.push(error));
  const client = await connect(url);
  client.send('question');
  client.close(1000, 'leaving');
  const info = await withTimeout(client.closed, { what: 'the close' });
  await waitFor(() => refused !== null, { what: 'the handler to try its reply' });
  assert.ok(refused instanceof ConnectionClosedError, `the reply was refused with ${String(refused)}`);
  assert.equal(refused.closeCode, 1000);
  assert.equal(info.wasClean, true);
  assert.equal(info.sent?.code, 1000);
  assert.equal(info.received?.code, 1000, 'the server echoed our close at once, without waiting for the handler');
  await delay(20);
  assert.deepEqual(errors, [], 'no error reported for a handler ended by ConnectionClosedError');
  await server.close();
});
