/**
 * Example 3: a pub/sub hub with topics. A subscriber connects to
 * `/ws/<topic>` (or `/ws?topic=a&topic=b` for several; `/ws` alone is the
 * topic `general`) and gets what is published to its topics. Plain HTTP on
 * the same port publishes:
 *
 *   POST /publish/<topic>              the request body is the message
 *   GET  /notify?topic=<topic>&msg=…   the same from a browser's address bar
 *
 * A publish costs in the topic's subscribers, not in the hub's connections:
 * the server keeps who is subscribed to what (ws.subscribe, server.publish).
 *
 *   npm run example:pubsub                                    the hub, on port 8082
 *   npm run example:subscribe -- ws://127.0.0.1:8082/ws/news  a terminal subscriber to news
 *   curl -d 'hello' http://127.0.0.1:8082/publish/news
 *   curl 'http://127.0.0.1:8082/notify?topic=news&msg=hello'
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer, LocalError, MAX_TOPIC_BYTES, type WebSocketConnection } from '../../src/index.js'; // in your project: from 'wsrfc'
import { runFromCommandLine } from '../run.js';

/** The topic of `/ws` and of a `/notify` without one. */
const DEFAULT_TOPIC = 'general';
/** The largest message POST /publish takes, in bytes. */
const MAX_BODY = 64 * 1024;

const USAGE =
  'subscribe with a WebSocket on /ws/<topic> (or /ws?topic=a&topic=b)\n' +
  'publish with POST /publish/<topic> (the body is the message) or GET /notify?topic=<topic>&msg=hello\n';

export function createHub() {
  const server = createServer<{ topics: string[] }>({
    http: publish,
    // Topic names are checked before the upgrade: a bad one gets a 400, not a broken connection.
    authorize: (request) => {
      const topics = request.params.topic !== undefined ? [request.params.topic] : new URLSearchParams(request.query).getAll('topic');
      if (topics.length === 0) topics.push(DEFAULT_TOPIC);
      if (!topics.every(isTopicName)) return { reject: { status: 400, reason: `topic names are 1 to ${MAX_TOPIC_BYTES} bytes` } };
      return { data: { topics } };
    },
  });
  const subscribe = (subscriber: WebSocketConnection<{ topics: string[] }>) => {
    for (const topic of subscriber.data!.topics) subscriber.subscribe(topic);
    subscriber.on('message', () => {}); // subscribers only listen: anything they send is dropped
  };
  server.route('/ws', subscribe).route('/ws/:topic', subscribe);

  function publish(request: IncomingMessage, response: ServerResponse): void {
    const url = new URL(request.url ?? '/', 'http://hub');
    response.setHeader('Content-Type', 'text/plain; charset=utf-8');
    const answer = (status: number, text: string) => {
      response.statusCode = status;
      response.end(text);
    };
    const deliver = (topic: string, message: string) => {
      try {
        const { sent } = server.publish(topic, message);
        answer(200, `delivered to ${sent} subscriber${sent === 1 ? '' : 's'} of ${topic}\n`);
      } catch (error) {
        if (!(error instanceof LocalError && error.code === 'WS_ERR_INVALID_TOPIC')) throw error;
        answer(400, `topic names are 1 to ${MAX_TOPIC_BYTES} bytes\n`);
      }
    };

    if (request.method === 'GET' && url.pathname === '/notify' && url.searchParams.has('msg')) {
      return deliver(url.searchParams.get('topic') ?? DEFAULT_TOPIC, url.searchParams.get('msg')!);
    }
    const route = /^\/publish\/([^/]+)$/.exec(url.pathname);
    if (request.method === 'POST' && route !== null) {
      let topic: string;
      try {
        topic = decodeURIComponent(route[1]);
      } catch {
        return answer(400, 'the topic is not percent-encoded UTF-8\n');
      }
      const chunks: Buffer[] = [];
      let size = 0;
      request.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size <= MAX_BODY) chunks.push(chunk);
      });
      request.on('end', () => {
        if (size > MAX_BODY) return answer(413, `messages are at most ${MAX_BODY} bytes\n`);
        deliver(topic, Buffer.concat(chunks).toString('utf8'));
      });
      return;
    }
    answer(404, USAGE);
  }

  return server;
}

/** A name ws.subscribe() takes: 1 to MAX_TOPIC_BYTES UTF-8 bytes (it throws LocalError WS_ERR_INVALID_TOPIC otherwise). */
function isTopicName(topic: string): boolean {
  return topic.length > 0 && Buffer.byteLength(topic) <= MAX_TOPIC_BYTES;
}

await runFromCommandLine(import.meta.url, createHub, {
  port: 8082,
  hint: (origin) =>
    `pub/sub hub: subscribe on ${origin.replace('http', 'ws')}/ws/<topic>, publish with curl -d hello ${origin}/publish/<topic> or curl '${origin}/notify?topic=<topic>&msg=hello'`,
});
