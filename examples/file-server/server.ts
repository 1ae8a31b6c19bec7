/**
 * Example 4: a file server with per-path WebSocket handlers, all on one port.
 * - plain HTTP: the files of ./public (index.html, app.js, style.css...);
 * - ws://…/echo echoes every message;
 * - ws://…/odd-even counts the messages it gets, answers "odd" or "even",
 *   and closes after the 10th (a fragmented message counts once).
 *
 *   npm run example:files           then open http://127.0.0.1:8083/
 */
import { createServer, serveStatic } from '../../src/index.js'; // in your project: from 'wsrfc'
import { runFromCommandLine } from '../run.js';

export function createFileServer(folder: string | URL = new URL('public/', import.meta.url)) {
  const server = createServer({ http: serveStatic(folder) });

  server.route('/echo', (ws) => {
    ws.on('message', (message) => ws.send(message));
  });

  server.route('/odd-even', (ws) => {
    let count = 0;
    ws.on('message', () => {
      count += 1;
      ws.send(count % 2 === 1 ? 'odd' : 'even');
      if (count === 10) ws.close(1000, 'that was 10, goodbye');
    });
  });

  return server;
}

await runFromCommandLine(import.meta.url, () => createFileServer(), {
  port: 8083,
  hint: (origin) => `file server: open ${origin}/ (WebSockets on ${origin.replace('http', 'ws')}/echo and /odd-even)`,
});
