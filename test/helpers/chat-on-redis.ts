/**
 * The chat example on two processes sharing a Redis, started the way a
 * newcomer would: `npm run example:chat-redis -- --redis <url> --ports 0,0`,
 * in its own process group (so stopping it reaches npm, tsx, the launcher
 * and both chat processes). Used by test/e2e/examples-chat-redis.test.ts and
 * test/browser/browser.test.ts.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { setTimeout as delay } from 'node:timers/promises';
import { createClient } from 'redis';
import { ROOM } from '../../examples/chat/server.js';
import { stopProcessGroup } from './spawned-process.js';

const REPO = fileURLToPath(new URL('../../', import.meta.url));

export interface ChatOnRedis {
  /** `http://127.0.0.1:<port>` of chat process 1 and chat process 2. */
  origins: [string, string];
  output(): string;
  /** SIGTERM to the group, SIGKILL after 5 s; resolves when every process of it has exited. */
  stop(): Promise<void>;
}

export async function startChatOnRedis(redisUrl: string): Promise<ChatOnRedis> {
  const child = spawn('npm', ['run', 'example:chat-redis', '--', '--redis', redisUrl, '--ports', '0,0'], {
    cwd: REPO,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, NO_COLOR: '1' },
  });
  let output = '';
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
  // 'close': the pipes close only once every process of the group has exited.
  const closed = new Promise<void>((resolve) => child.once('close', () => resolve()));
  let stopping: Promise<void> | undefined;
  const stop = () => (stopping ??= stopProcessGroup(child, closed));

  const origin = (n: number) => output.match(new RegExp(`\\[chat ${n}\\] chat server: open (http://127\\.0\\.0\\.1:\\d+)/`))?.[1];
  for (const deadline = Date.now() + 20_000; origin(1) === undefined || origin(2) === undefined; ) {
    if (child.exitCode !== null || Date.now() > deadline) {
      await stop();
      throw new Error(`npm run example:chat-redis: two chat processes did not start:\n${output}`);
    }
    await delay(20);
  }
  return { origins: [origin(1)!, origin(2)!], output: () => output, stop };
}

/**
 * Wait until `count` Redis connections are subscribed to the chat room's
 * channel: a process subscribes when its first client joins, and a message
 * published before its SUBSCRIBE reached Redis would not reach it (at most once).
 */
export async function waitForRoomSubscribers(redisUrl: string, count: number, ms = 5_000): Promise<void> {
  const client = createClient({ url: redisUrl });
  await client.connect();
  try {
    const channel = `wsrfc:${ROOM}`;
    for (const deadline = Date.now() + ms; ; ) {
      const subscribers = (await client.pubSubNumSub(channel))[channel] ?? 0;
      if (subscribers === count) return;
      if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${count} subscribers of ${channel} (${subscribers})`);
      await delay(10);
    }
  } finally {
    await client.quit();
  }
}
