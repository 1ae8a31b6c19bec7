/**
 * Type test, checked by `npm run typecheck` and by
 * test/unit/public-surface.test.ts: what `ws.data` is typed as.
 *
 * `authorize` may accept without attaching anything (and a server may have no
 * `authorize` at all); then `ws.data` is undefined at run time, so its type
 * says `Data | undefined` and the handler narrows it. Each
 * `@ts-expect-error` below fails the typecheck ("unused directive") if the
 * type ever claims more than run time delivers.
 */
import { createServer, type WebSocketConnection } from '../../src/index.js';

interface Session {
  user: string;
}

// authorize attaches data for some requests and accepts others with nothing.
export const server = createServer<Session>(
  {
    authorize: (request) => (request.headers.get('authorization') === 'Bearer good' ? { data: { user: 'alice' } } : undefined),
  },
  (ws) => {
    // @ts-expect-error ws.data is possibly undefined: authorize accepted without data
    ws.send(ws.data.user);
    // Narrowed, it is the Session authorize attached.
    if (ws.data) ws.send(ws.data.user);
    const user: string = ws.data?.user ?? 'anonymous';
    ws.send(user);
  },
);

// No authorize: the data type is undefined, and so is the value.
export const plain = createServer({}, (ws) => {
  const nothing: undefined = ws.data;
  // @ts-expect-error there is no data to read a property of
  ws.send(String(ws.data.user));
  return nothing;
});

// Naming the connection type in an application's own function.
export function greet(ws: WebSocketConnection<Session>): string {
  // @ts-expect-error still possibly undefined when the type is written out
  const direct: string = ws.data.user;
  return ws.data === undefined ? 'who are you?' : `hello ${ws.data.user}${direct}`;
}
