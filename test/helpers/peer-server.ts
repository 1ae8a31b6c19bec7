/**
 * A server on 127.0.0.1 and port 0 that hands each connection to the test,
 * with raw peers (test/helpers/raw-peer.ts) to talk to it frame by frame.
 * `pair()` opens a raw client and resolves with it and the server's side
 * of its connection; everything is closed after the test.
 */
import { createServer, type ServerOptions, type WebSocketConnection } from '../../src/index.js';
import { RawPeer, type RawPeerOptions } from './raw-peer.js';
import { withTimeout } from './wait-for.js';

export async function startPeerServer(t: { after(fn: () => unknown): void }, options: ServerOptions = {}, handler?: (ws: WebSocketConnection) => void) {
  const waiting: Array<(ws: WebSocketConnection) => void> = [];
  const ready: WebSocketConnection[] = [];
  const server = createServer({ host: '127.0.0.1', closeTimeout: 2_000, ...options }, (ws) => {
    if (handler) return handler(ws);
    const next = waiting.shift();
    if (next) next(ws);
    else ready.push(ws);
  });
  server.on('error', () => {});
  const { port } = await server.listen(0);
  const peers: RawPeer[] = [];
  t.after(async () => {
    for (const peer of peers) peer.destroy();
    await server.close();
  });
  /** The server's side of the next connection. */
  const accepted = () =>
    withTimeout(
      new Promise<WebSocketConnection>((resolve) => {
        const ws = ready.shift();
        if (ws) resolve(ws);
        else waiting.push(resolve);
      }),
      { what: 'the server connection' },
    );
  return {
    port,
    url: `ws://127.0.0.1:${port}`,
    accepted,
    /** A raw client and the server's side of its connection. */
    async pair(peerOptions: RawPeerOptions = {}): Promise<{ peer: RawPeer; ws: WebSocketConnection }> {
      const connection = accepted();
      const peer = await RawPeer.connect(port, peerOptions);
      peers.push(peer);
      return { peer, ws: await connection };
    },
  };
}
