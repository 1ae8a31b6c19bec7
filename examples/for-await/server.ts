/**
 * Example 5: an `await`-style handler. The connection is an async iterable:
 * `for await (const message of ws)` reads messages in order and ends when the
 * connection closes; the request's path, query, subprotocol and origin are on
 * the connection.
 *
 *   npm run example:for-await       then open http://127.0.0.1:8084/
 *
 * The client may ask for the subprotocol "shout" (answers in upper case) or
 * "whisper" (lower case).
 */
import { createServer, serveStatic } from '../../src/index.js'; // in your project: from 'wsrfc'
import { runFromCommandLine } from '../run.js';

const TONES: Record<string, (text: string) => string> = {
  shout: (text) => text.toUpperCase(),
  whisper: (text) => text.toLowerCase(),
  '': (text) => text,
};

export function createForAwaitServer() {
  const server = createServer(
    {
      http: serveStatic(new URL('public/', import.meta.url)),
      selectProtocol: (offered) => offered.find((protocol) => protocol === 'shout' || protocol === 'whisper'),
    },
    async (ws) => {
      ws.send(`hello ${ws.origin ?? 'client without an Origin'}: you are on ${ws.path}${ws.query ? `?${ws.query}` : ''}, subprotocol "${ws.protocol}"`);
      const tone = TONES[ws.protocol];
      let count = 0;
      for await (const message of ws) {
        count += 1;
        ws.send(typeof message === 'string' ? tone(message) : message);
      }
      // Here the connection is closed; `closed` says how.
      const { code } = await ws.closed;
      console.log(`${ws.path}: ${count} message(s), closed with ${code}`);
    },
  );
  return server;
}

await runFromCommandLine(import.meta.url, createForAwaitServer, {
  port: 8084,
  hint: (origin) => `for-await server: open ${origin}/ (any path works for the WebSocket)`,
});
