/**
 * Example 2: chat in one room. Everyone is told when someone joins or leaves,
 * and each message goes to everyone else. Every connection subscribes to the
 * room's topic, and the server publishes to it (`server.publish`: one
 * encoding for all receivers; a receiver too slow to keep up is closed with
 * 1008 rather than buffered for without end).
 *
 *   npm run example:chat            then open http://127.0.0.1:8081/ in two tabs
 *                                   (http://127.0.0.1:8081/?name=ada picks a name)
 *
 * On several processes (or machines) sharing Redis, the room's topic crosses
 * processes through the Redis backplane (`wsrfc/redis`, which needs the
 * optional peer dependency `redis`). Start a throwaway Redis first:
 *
 *   redis-server --save '' --port 6379
 *   npm run example:chat-redis      two processes, on 8081 and 8086: open
 *                                   http://127.0.0.1:8081/ and http://127.0.0.1:8086/
 *   npm run example:chat -- --port 8086 --redis redis://127.0.0.1:6379
 *                                   one process on Redis, started alone
 *
 * Messages are JSON:
 *   to a newcomer   { type: 'welcome', name, present: [names] }
 *   to the others   { type: 'joined' | 'left', name }, { type: 'message', name, text }
 *
 * On Redis, `present` and the unique names are this process's: who is
 * connected to the other processes is learnt from their `joined` notices
 * (a shared roster would need a Redis set, beyond this example).
 */
import { createServer, serveStatic, type Backplane, type WebSocketConnection } from '../../src/index.js'; // in your project: from 'wsrfc'
import { runFromCommandLine } from '../run.js';

/** The room's topic: every chat connection subscribes to it. */
export const ROOM = 'chat';

export interface ChatOptions {
  /** Share the room with other processes: `redisBackplane({ url })` from 'wsrfc/redis'. */
  backplane?: Backplane;
}

export function createChatServer(options: ChatOptions = {}) {
  const names = new Map<WebSocketConnection, string>();
  const server = createServer({
    http: serveStatic(new URL('public/', import.meta.url)),
    maxMessageSize: 64 * 1024, // a chat line, not a file: close 1009 beyond it
    ...(options.backplane === undefined ? {} : { backplane: options.backplane }),
  });

  if (options.backplane !== undefined) {
    // The backplane reports a lost Redis here, once per reconnection attempt:
    // one line each time it changes, not a stack trace each time.
    let last = '';
    server.on('error', (error) => {
      const line = error instanceof Error ? error.message : String(error);
      if (line !== last) console.error(`chat: ${line}`);
      last = line;
    });
  }

  /** Publish to the room (on every process, with a backplane), `except` one connection. */
  function toRoom(message: object, except?: WebSocketConnection): void {
    const result = server.publish(ROOM, JSON.stringify(message), except === undefined ? {} : { except });
    // With a backplane, the other processes' part may fail (Redis down): this
    // process's subscribers got it anyway; say so rather than crash.
    result.remote?.catch((error: Error) => console.error(`chat: not delivered to the other processes: ${error.message}`));
  }

  server.route('/chat', (ws) => {
    // A new client: greet it, tell everyone else, then join the room.
    const name = uniqueName(new URLSearchParams(ws.query).get('name'), new Set(names.values()));
    ws.send(JSON.stringify({ type: 'welcome', name, present: [...names.values()] }));
    toRoom({ type: 'joined', name });
    names.set(ws, name);
    ws.subscribe(ROOM);

    // A message: to everyone but its author.
    ws.on('message', (text) => {
      if (typeof text !== 'string') {
        ws.close(1003, 'this chat takes text only'); // §7.4.1: a type of data it cannot accept
        return;
      }
      toRoom({ type: 'message', name, text }, ws);
    });

    // The client left (closed, or its connection dropped; closing left the room).
    ws.on('close', () => {
      names.delete(ws);
      toRoom({ type: 'left', name });
    });
  });
  return server;
}

/** The name asked for (trimmed, at most 24 characters) or `guest`, made unique with a number. */
function uniqueName(wanted: string | null, taken: Set<string>): string {
  const base = wanted?.trim().slice(0, 24) || 'guest';
  let name = base;
  for (let n = 2; taken.has(name); n++) name = `${base}-${n}`;
  return name;
}

await runFromCommandLine(
  import.meta.url,
  async ({ redis }) => {
    if (typeof redis !== 'string') return createChatServer();
    // Loaded only in this mode: single-process users need no Redis client.
    const { redisBackplane } = await import('../../src/redis/index.js'); // in your project: from 'wsrfc/redis'
    console.log(`chat: the room crosses processes through Redis at ${redis}`);
    return createChatServer({ backplane: redisBackplane({ url: redis }) });
  },
  {
    port: 8081,
    options: { redis: { type: 'string' } },
    hint: (origin) => `chat server: open ${origin}/ in two or more tabs (or ${origin}/?name=ada)`,
  },
);
