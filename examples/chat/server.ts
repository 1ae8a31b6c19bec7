/**
 * Example 2: broadcast chat. Everyone is told when someone joins or leaves,
 * and each message goes to everyone else, through `server.broadcast` (one
 * encoding for all receivers; a receiver too slow to keep up is closed with
 * 1008 rather than buffered for without end).
 *
 *   npm run example:chat            then open http://127.0.0.1:8081/ in two tabs
 *                                   (http://127.0.0.1:8081/?name=ada picks a name)
 *
 * Messages are JSON:
 *   to a newcomer   { type: 'welcome', name, present: [names] }
 *   to the others   { type: 'joined' | 'left', name }, { type: 'message', name, text }
 */
import { createServer, serveStatic, type WebSocketConnection } from '../../src/index.js'; // in your project: from 'wsrfc'
import { runFromCommandLine } from '../run.js';

export function createChatServer() {
  const names = new Map<WebSocketConnection, string>();
  const server = createServer({
    http: serveStatic(new URL('public/', import.meta.url)),
    maxMessageSize: 64 * 1024, // a chat line, not a file: close 1009 beyond it
  });

  server.route('/chat', (ws) => {
    // A new client: greet it, and tell everyone else.
    const name = uniqueName(new URLSearchParams(ws.query).get('name'), new Set(names.values()));
    ws.send(JSON.stringify({ type: 'welcome', name, present: [...names.values()] }));
    server.broadcast(JSON.stringify({ type: 'joined', name }), (peer) => peer !== ws);
    names.set(ws, name);

    // A message: to everyone but its author.
    ws.on('message', (text) => {
      if (typeof text !== 'string') {
        ws.close(1003, 'this chat takes text only'); // §7.4.1: a type of data it cannot accept
        return;
      }
      server.broadcast(JSON.stringify({ type: 'message', name, text }), (peer) => peer !== ws);
    });

    // The client left (closed, or its connection dropped).
    ws.on('close', () => {
      names.delete(ws);
      server.broadcast(JSON.stringify({ type: 'left', name }));
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

await runFromCommandLine(import.meta.url, createChatServer, {
  port: 8081,
  hint: (origin) => `chat server: open ${origin}/ in two or more tabs (or ${origin}/?name=ada)`,
});
