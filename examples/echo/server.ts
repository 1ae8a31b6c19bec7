/**
 * Example 1, the classic first demo: an echo server, and a page that
 * connects, sends and logs, served over plain HTTP on the same port.
 *
 *   npm run example:echo            then open http://127.0.0.1:8080/
 */
import { createServer, serveStatic } from '../../src/index.js'; // in your project: from 'wsrfc'
import { runFromCommandLine } from '../run.js';

export function createEchoServer() {
  // Requests that are not WebSocket upgrades (the page itself) go to the static file handler.
  return createServer({ http: serveStatic(new URL('public/', import.meta.url)) }, (ws) => {
    ws.on('message', (message) => ws.send(message)); // text comes back as text, binary as binary
  });
}

await runFromCommandLine(import.meta.url, createEchoServer, {
  port: 8080,
  hint: (origin) => `echo server: open ${origin}/ in a browser (WebSocket on ${origin.replace('http', 'ws')}/)`,
});
