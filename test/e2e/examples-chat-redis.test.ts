/**
 * The chat example on two processes sharing a real redis-server, started
 * with its one command (`npm run example:chat-redis`): clients on different
 * processes hear each other's joins, messages and leaves through the room
 * topic and the Redis backplane, and the command shuts both processes down
 * gracefully on SIGTERM. Skips loudly without redis-server (fails under
 * WSRFC_REQUIRE_SYSTEM_PACKAGES=1), as test/helpers/redis-server.ts does.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import WebSocket from 'ws';
import { RedisServer, redisSkipReason } from '../helpers/redis-server.js';
import { startChatOnRedis, waitForRoomSubscribers } from '../helpers/chat-on-redis.js';
import { withTimeout } from '../helpers/wait-for.js';

/** A ws client with an inbox: `next()` resolves with the next message, parsed. */
async function client(url: string) {
  const ws = new WebSocket(url);
  const inbox: unknown[] = [];
  const waiting: Array<(message: unknown) => void> = [];
  ws.on('message', (data) => {
    const message = JSON.parse(data.toString());
    const waiter = waiting.shift();
    if (waiter) waiter(message);
    else inbox.push(message);
  });
  await once(ws, 'open');
  return {
    ws,
    next: (what: string) => withTimeout(inbox.length > 0 ? Promise.resolve(inbox.shift()) : new Promise((resolve) => waiting.push(resolve)), { what }),
  };
}

test('chat on two processes over Redis (npm run example:chat-redis): joins, messages and leaves cross processes; SIGTERM closes both', { skip: redisSkipReason(), timeout: 60_000 }, async (t) => {
  const redis = await RedisServer.start();
  t.after(() => redis.stop());
  const chat = await startChatOnRedis(redis.url);
  t.after(() => chat.stop());
  const [one, two] = chat.origins.map((origin) => origin.replace('http:', 'ws:'));
  assert.notEqual(one, two);
  assert.match(chat.output(), /\[chat 1\] chat: the room crosses processes through Redis at redis:\/\/127\.0\.0\.1:\d+/);

  const ada = await client(`${one}/chat?name=ada`); // process 1
  assert.deepEqual(await ada.next('ada welcome'), { type: 'welcome', name: 'ada', present: [] });
  await waitForRoomSubscribers(redis.url, 1);

  const bob = await client(`${two}/chat?name=bob`); // process 2
  assert.deepEqual(await bob.next('bob welcome'), { type: 'welcome', name: 'bob', present: [] }); // present: this process's
  assert.deepEqual(await ada.next('bob joined, at ada'), { type: 'joined', name: 'bob' });
  await waitForRoomSubscribers(redis.url, 2);

  const carol = await client(`${two}/chat?name=carol`); // process 2 too
  assert.deepEqual(await carol.next('carol welcome'), { type: 'welcome', name: 'carol', present: ['bob'] });
  assert.deepEqual(await bob.next('carol joined, at bob'), { type: 'joined', name: 'carol' });
  assert.deepEqual(await ada.next('carol joined, at ada'), { type: 'joined', name: 'carol' });

  bob.ws.send('ça va? 你好');
  assert.deepEqual(await ada.next('bob\'s message, at ada'), { type: 'message', name: 'bob', text: 'ça va? 你好' });
  assert.deepEqual(await carol.next('bob\'s message, at carol'), { type: 'message', name: 'bob', text: 'ça va? 你好' });

  ada.ws.send('hi from process 1');
  assert.deepEqual(await bob.next('ada\'s message, at bob'), { type: 'message', name: 'ada', text: 'hi from process 1' });
  assert.deepEqual(await carol.next('ada\'s message, at carol'), { type: 'message', name: 'ada', text: 'hi from process 1' });

  // In order per publishing process, and nobody gets their own message back:
  // each one's next message is the other's, never its own.
  for (let i = 0; i < 5; i++) carol.ws.send(`carol ${i}`);
  for (let i = 0; i < 5; i++) {
    assert.deepEqual(await ada.next(`carol ${i}, at ada`), { type: 'message', name: 'carol', text: `carol ${i}` });
    assert.deepEqual(await bob.next(`carol ${i}, at bob`), { type: 'message', name: 'carol', text: `carol ${i}` });
  }
  ada.ws.send('bye');
  assert.deepEqual(await carol.next('ada\'s bye, at carol'), { type: 'message', name: 'ada', text: 'bye' });
  assert.deepEqual(await bob.next('ada\'s bye, at bob'), { type: 'message', name: 'ada', text: 'bye' });

  ada.ws.close();
  assert.deepEqual(await bob.next('ada left, at bob'), { type: 'left', name: 'ada' });
  assert.deepEqual(await carol.next('ada left, at carol'), { type: 'left', name: 'ada' });
  const closing = [once(bob.ws, 'close'), once(carol.ws, 'close')];

  await chat.stop();
  const [[bobCode], [carolCode]] = await withTimeout(Promise.all(closing), { what: 'bob and carol closed by the shutdown' });
  assert.equal(bobCode, 1001);
  assert.equal(carolCode, 1001);
  assert.equal(chat.output().match(/\[chat \d\] SIGTERM: closing/g)?.length, 2, `both processes shut down gracefully:\n${chat.output()}`);
});
