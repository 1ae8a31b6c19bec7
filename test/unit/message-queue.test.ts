/**
 * The receive queue and the message stream, without sockets: takers in call
 * order, a give-up that removes the taker and never a message, the end after
 * the queued messages, and the pressure signals that pause and resume reading.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as delay } from 'node:timers/promises';
import { MessageQueue, QUEUE_PAUSE_BYTES } from '../../src/connection/message-queue.js';
import { MessageStream, STREAM_PAUSE_BYTES } from '../../src/connection/message-stream.js';
import { LocalError } from '../../src/errors.js';

test('MessageQueue: takers are served in call order; a timed-out taker leaves the line and the message goes to the next', async () => {
  const queue = new MessageQueue<string>(() => {});
  const a = queue.take();
  const b = queue.take({ timeout: 1 });
  const c = queue.take();
  await assert.rejects(b, (error: unknown) => error instanceof LocalError && error.code === 'WS_ERR_RECEIVE_TIMEOUT');
  queue.push('one', 3);
  queue.push('two', 3);
  queue.push('three', 5);
  assert.deepEqual(await Promise.all([a, c]), ['one', 'two']);
  assert.equal(await queue.take({ timeout: 0 }), 'three', 'a queued message is taken even with a zero timeout');
});

test('MessageQueue: an abort after the message was handed over changes nothing; an abort before takes nothing', async () => {
  const queue = new MessageQueue<string>(() => {});
  const controller = new AbortController();
  const taken = queue.take({ signal: controller.signal });
  queue.push('m', 1);
  controller.abort();
  assert.equal(await taken, 'm');
  const other = new AbortController();
  const waiting = queue.take({ signal: other.signal });
  other.abort();
  await assert.rejects(waiting, { name: 'AbortError' });
  queue.push('n', 1);
  assert.equal(await queue.take(), 'n');
});

test('MessageQueue: end() rejects waiting takers; queued messages are still taken first, then the end error', async () => {
  const queue = new MessageQueue<string>(() => {});
  const waiting = queue.take();
  const iterating = queue.next();
  queue.end(() => new Error('closed'));
  await assert.rejects(waiting, /closed/);
  assert.deepEqual(await iterating, { value: undefined, done: true });
  const other = new MessageQueue<string>(() => {});
  other.push('last', 4);
  other.end(() => new Error('closed'));
  assert.equal(await other.take(), 'last');
  await assert.rejects(other.take(), /closed/);
  assert.deepEqual(await other.next(), { value: undefined, done: true });
});

test('MessageQueue: past the byte bound it asks to pause; drained to half, to resume', async () => {
  const signals: boolean[] = [];
  const queue = new MessageQueue<string>((paused) => signals.push(paused));
  queue.push('a', QUEUE_PAUSE_BYTES);
  assert.deepEqual(signals, []);
  queue.push('b', 1);
  assert.deepEqual(signals, [true]);
  await queue.take();
  assert.deepEqual(signals, [true, false]);
  await delay(0);
});

test('MessageStream: chunks in order; past the bound it pauses input, and stays paused at its end until the consumer catches up', async () => {
  const signals: boolean[] = [];
  const stream = MessageStream.create(true, (paused) => signals.push(paused));
  const big = Buffer.alloc(STREAM_PAUSE_BYTES);
  stream.push(big);
  stream.push(Buffer.from('x'));
  assert.deepEqual(signals, [true]);
  stream.end();
  assert.deepEqual(signals, [true], 'unread chunks keep input paused after the end');
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  assert.deepEqual(signals, [true, false]);
  assert.equal(Buffer.concat(chunks).length, STREAM_PAUSE_BYTES + 1);
});

test('MessageStream: a failure comes after the chunks that arrived; break discards the rest and releases input', async () => {
  const stream = MessageStream.create(false, () => {});
  stream.push('ab');
  stream.push('cd');
  stream.fail(new Error('connection failed'));
  const seen: unknown[] = [];
  await assert.rejects(async () => {
    for await (const chunk of stream) seen.push(chunk);
  }, /connection failed/);
  assert.deepEqual(seen, ['ab', 'cd']);

  const signals: boolean[] = [];
  const left = MessageStream.create(true, (paused) => signals.push(paused));
  left.push(Buffer.alloc(STREAM_PAUSE_BYTES + 1));
  for await (const chunk of left) {
    assert.ok(chunk.length > 0);
    break;
  }
  left.push(Buffer.alloc(10)); // dropped
  assert.deepEqual(signals, [true, false]);
  assert.throws(() => left[Symbol.asyncIterator](), LocalError, 'one loop per stream');
});
