/**
 * A reference echo server built on the `ws` package (a known-good
 * implementation), used to validate the Autobahn mirror: run the mirror
 * against it and the verdicts should match published Autobahn reports for ws.
 *
 *   npx tsx fuzzing/ws-echo-server.ts [--port 9002] [--max-fragments N] [--deflate]
 *
 * --deflate turns on ws's permessage-deflate with its defaults (threshold
 * 1024 B, every offer parameter honoured), for groups 12 and 13.
 *
 * Binds 127.0.0.1; port 0 (the default) picks a free port, printed on start.
 * Also usable in-process: `const { port, close } = await startWsEchoServer()`.
 */
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { WebSocketServer, type ServerOptions } from 'ws';

export interface WsEchoServerOptions {
  readonly port?: number;
  /** ws's own default is 16,384 (WebSocketServer option `maxFragments`); 0 lifts the limit. */
  readonly maxFragments?: number;
  /** Accept permessage-deflate: true for ws's defaults, or ws's own option object. */
  readonly perMessageDeflate?: boolean | NonNullable<ServerOptions['perMessageDeflate']>;
}

export async function startWsEchoServer(options: WsEchoServerOptions = {}): Promise<{ port: number; close: () => Promise<void> }> {
  const wss = new WebSocketServer({
    host: '127.0.0.1',
    port: options.port ?? 0,
    perMessageDeflate: options.perMessageDeflate ?? false,
    maxPayload: 64 * 1024 * 1024,
    ...(options.maxFragments !== undefined ? { maxFragments: options.maxFragments } : {}),
  });
  wss.on('connection', (socket) => {
    socket.on('message', (data, isBinary) => socket.send(data, { binary: isBinary }));
    socket.on('error', () => {
      /* protocol errors are what the fuzzer provokes; ws closes the connection itself */
    });
  });
  await new Promise<void>((resolve, reject) => {
    wss.once('listening', resolve);
    wss.once('error', reject);
  });
  const address = wss.address();
  if (address === null || typeof address === 'string') throw new Error('ws server has no TCP address');
  return {
    port: address.port,
    close: () =>
      new Promise<void>((resolve) => {
        for (const client of wss.clients) client.terminate();
        wss.close(() => resolve());
      }),
  };
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const { values } = parseArgs({
    options: { port: { type: 'string', default: '0' }, 'max-fragments': { type: 'string' }, deflate: { type: 'boolean', default: false } },
  });
  const maxFragments = values['max-fragments'] === undefined ? undefined : Number(values['max-fragments']);
  const server = await startWsEchoServer({ port: Number(values.port), perMessageDeflate: values.deflate, ...(maxFragments !== undefined ? { maxFragments } : {}) });
  console.log(`ws echo server listening on ws://127.0.0.1:${server.port}${values.deflate ? ' (permessage-deflate on)' : ''}`);
  const stop = (): void => {
    void server.close().then(() => process.exit(0));
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}
