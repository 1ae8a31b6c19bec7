/**
 * The other processes of a broker backplane test (test/e2e/redis.test.ts,
 * test/e2e/nats.test.ts): forkBackplaneNode() forks a server on the broker
 * (test/helpers/backplane-node-process.ts) and publishes through it over IPC;
 * topicListener() is a client of a server, subscribed to topics by its query,
 * that records every message it gets (`bin:<hex>` for a binary one).
 */
import { fork, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import WebSocket from 'ws';

/** A forked server process on the broker. */
export interface BackplaneNode {
  child: ChildProcess;
  port: number;
  /** Publish from that process: resolves with 'ok' once the broker took it, or the error code of its `remote`. */
  publish(topic: string, data: string | Buffer): Promise<string>;
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
