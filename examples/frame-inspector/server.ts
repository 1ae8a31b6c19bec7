/**
 * Example 6: a frame inspector, to watch RFC 6455 at work. The page shows
 * every frame of a WebSocket connection, both ways, live: its header bits as
 * the §5.2 diagram, the masking key, the payload in hex and as text, and the
 * RFC section behind each field and each close code.
 *
 *   npm run example:inspector       then open http://127.0.0.1:8085/
 *
 * How it works (nothing is simulated; the page shows bytes that crossed a socket):
 *
 * 1. The page opens ws://…/watch, its report channel. The server gives it a
 *    session id and from then on sends it one JSON report per frame.
 * 2. The page opens its own connection, ws://…/inspect?session=<id>, and
 *    sends on it what you type (the server echoes every message). For each
 *    connection on /inspect the server calls `connection.tapWire()`, which
 *    hands it every chunk the server reads from the socket (before anything
 *    is parsed or unmasked) and every chunk it writes. FrameReader cuts
 *    each direction into frames and describes them field by field: the
 *    header bytes and masking key are the ones that were on the wire.
 * 3. A browser cannot send a fragmented message, a ping, invalid UTF-8 or
 *    an unmasked frame: its WebSocket API sends each message as one correct
 *    frame. For those the page asks, over /watch, for a scripted case; the
 *    server then connects to itself over raw TCP (scripted-client.ts builds
 *    the handshake and the frames byte by byte) on
 *    /inspect?session=<id>&case=<name>, and the page watches that
 *    connection the same way: what the scripted client sent, and the
 *    server's answer.
 *
 * The /watch connection itself is not tapped (reports about the reports
 * would never end). permessage-deflate is left off (the default), so
 * payloads are readable. A tool for learning on your own machine: anyone
 * who can reach /watch can make the server connect to itself, so do not
 * expose it.
 */
import { randomBytes } from 'node:crypto';
import { createServer, serveStatic, ReadyState, ProtocolError, type WebSocketConnection } from '../../src/index.js'; // in your project: from 'wsrfc'
import { runFromCommandLine } from '../run.js';
import { FrameReader, type FrameDescription } from './frame-reader.js';
import { runScriptedClient, SCRIPTED_CASES } from './scripted-client.js';

/** What the server tells the page over /watch. */
export type Report =
  | { type: 'hello'; session: string; cases: Record<string, string> }
  | { type: 'open'; connection: number; peer: 'browser' | 'scripted'; case: string | null; explain: string | null }
  | ({ type: 'frame'; connection: number; direction: 'client-to-server' | 'server-to-client' } & FrameDescription)
  | { type: 'error'; connection: number; code: string; closeCode: number; rfcSection: string; message: string }
  | { type: 'closed'; connection: number; code: number; reason: string; wasClean: boolean }
  | { type: 'script-failed'; case: string; message: string };

export function createFrameInspector() {
  const server = createServer({ http: serveStatic(new URL('public/', import.meta.url)) });
  /** Session id → the page's /watch connection. */
  const watchers = new Map<string, WebSocketConnection>();
  let connections = 0;

  const report = (watcher: WebSocketConnection, message: Report): void => {
    if (watcher.readyState === ReadyState.OPEN) watcher.send(JSON.stringify(message));
  };

  server.route('/watch', (watcher) => {
    const session = randomBytes(6).toString('hex');
    watchers.set(session, watcher);
    void watcher.closed.then(() => watchers.delete(session));
    const cases = Object.fromEntries(Object.entries(SCRIPTED_CASES).map(([name, { explain }]) => [name, explain]));
    report(watcher, { type: 'hello', session, cases });

    // The page's only command: { "run": "<case name>" }.
    watcher.on('message', (message) => {
      let name: unknown;
      try {
        name = (JSON.parse(String(message)) as { run?: unknown }).run;
      } catch {
        name = undefined;
      }
      const scripted = typeof name === 'string' && Object.hasOwn(SCRIPTED_CASES, name) ? SCRIPTED_CASES[name] : undefined;
      if (scripted === undefined) return watcher.close(1003, 'expected {"run": "<case>"}');
      const address = server.address()!;
      // Connect to ourselves on the address we listen on (loopback if we listen on every address).
      const host = address.address === '::' || address.address === '0.0.0.0' ? '127.0.0.1' : address.address;
      const path = `/inspect?session=${session}&case=${name}`;
      runScriptedClient(host, address.port, path, scripted.frames()).catch((error: Error) =>
        report(watcher, { type: 'script-failed', case: name as string, message: error.message }),
      );
    });
  });

  server.route('/inspect', (ws) => {
    const query = new URLSearchParams(ws.query);
    const watcher = watchers.get(query.get('session') ?? '');
    if (watcher === undefined) return ws.close(1008, 'unknown session: open /watch first (the inspector page does)');
    const connection = ++connections;
    const caseName = query.get('case');
    const scripted = caseName !== null && Object.hasOwn(SCRIPTED_CASES, caseName) ? SCRIPTED_CASES[caseName] : undefined;
    report(watcher, { type: 'open', connection, peer: scripted ? 'scripted' : 'browser', case: scripted ? caseName : null, explain: scripted?.explain ?? null });

    // The server's view: what it reads came from the client, what it writes goes to it.
    const readers = { read: new FrameReader(), write: new FrameReader() };
    ws.tapWire((direction, bytes) => {
      for (const frame of readers[direction].push(bytes)) {
        report(watcher, { type: 'frame', connection, direction: direction === 'read' ? 'client-to-server' : 'server-to-client', ...frame });
      }
    });

    ws.on('message', (message) => ws.send(message)); // an echo server: every message comes back
    ws.on('error', (error) => {
      // A rule the client broke: the error carries the close code the server sent and the RFC section.
      if (error instanceof ProtocolError) {
        report(watcher, { type: 'error', connection, code: error.code, closeCode: error.closeCode, rfcSection: error.rfcSection, message: error.message });
      }
    });
    void ws.closed.then(({ code, reason, wasClean }) => report(watcher, { type: 'closed', connection, code, reason, wasClean }));
  });

  return server;
}

await runFromCommandLine(import.meta.url, () => createFrameInspector(), {
  port: 8085,
  hint: (origin) => `frame inspector: open ${origin}/`,
});
