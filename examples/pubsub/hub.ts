/**
 * Example 3: a pub/sub hub. Subscribers connect on /ws; a plain HTTP request
 * on the same port, `GET /notify?msg=…`, publishes to every subscriber.
 *
 *   npm run example:pubsub                      the hub, on port 8082
 *   npm run example:subscribe                   a terminal subscriber (as many as you like)
 *   curl 'http://127.0.0.1:8082/notify?msg=hello'
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer } from '../../src/index.js'; // in your project: from 'wsrfc'
import { runFromCommandLine } from '../run.js';

export function createHub() {
  const server = createServer({ path: '/ws', http: publish }, (subscriber) => {
    subscriber.on('message', () => {}); // subscribers only listen: anything they send is dropped
  });

  function publish(request: IncomingMessage, response: ServerResponse): void {
    const url = new URL(request.url ?? '/', 'http://hub');
    const msg = url.searchParams.get('msg');
    response.setHeader('Content-Type', 'text/plain; charset=utf-8');
    if (request.method !== 'GET' || url.pathname !== '/notify' || msg === null) {
      response.statusCode = 404;
      response.end('subscribe with a WebSocket on /ws; publish with GET /notify?msg=hello\n');
      return;
    }
    const { sent } = server.broadcast(msg);
    response.end(`delivered to ${sent} subscriber${sent === 1 ? '' : 's'}\n`);
  }

  return server;
}

await runFromCommandLine(import.meta.url, createHub, {
  port: 8082,
  hint: (origin) => `pub/sub hub: subscribe on ${origin.replace('http', 'ws')}/ws, publish with curl '${origin}/notify?msg=hello'`,
});
