import type { WebSocketConnection } from '../../src/index.js';

/** The next `count` messages a connection receives, in order. */
export function nextMessages(ws: WebSocketConnection<unknown>, count: number): Promise<Array<string | Buffer>> {
  return new Promise((resolve) => {
    const got: Array<string | Buffer> = [];
    const on = (m: string | Buffer): void => {
      got.push(m);
      if (got.length === count) {
        ws.off('message', on);
        resolve(got);
      }
    };
    ws.on('message', on);
  });
}
