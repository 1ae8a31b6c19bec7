/**
 * A message at maxMessageSize passes whichever way it is sent: 16 MiB of
 * random bytes grows when deflated (by 0.03% at zlib's defaults, 0.24% with
 * python-websockets' memLevel 5 and 12-bit window, 3.9% at memLevel 1), and
 * the limit counts the message once inflated. Round trips over real sockets
 * with permessage-deflate, both directions: our client ↔ our server, and the
 * `ws` client → our server → `ws` client.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { after, before, describe, it } from 'node:test';
import { deflateRawSync, constants as zlib } from 'node:zlib';
import WebSocket from 'ws';
import { connect, createServer, DEFAULT_MESSAGE_LIMITS, type WebSocketServer } from '../../src/index.js';

const LIMIT = DEFAULT_MESSAGE_LIMITS.maxMessageSize;
const TIMEOUT = 120_000;

describe('a 16 MiB incompressible message under permessage-deflate', { timeout: TIMEOUT }, () => {
  const message = randomBytes(LIMIT);
  let server: WebSocketServer<undefined>;
  let url: string;
  const closeCodes: number[] = [];

  before(async () => {
    // The server compresses with memLevel 1 (stored blocks of 127 bytes: the largest growth zlib makes of random bytes in stored blocks).
    server = createServer({ host: '127.0.0.1', perMessageDeflate: { memLevel: 1 } }, (ws) => {
      ws.on('message', (data) => ws.send(data));
      ws.on('close', (code) => closeCodes.push(code));
    });
    url = `ws://127.0.0.1:${(await server.listen(0)).port}`;
  });
  after(async () => {
    await server.close();
  });

  it('grows when deflated: the compressed frame is larger than maxMessageSize', () => {
    for (const options of [{}, { memLevel: 5, windowBits: 12 }, { memLevel: 1 }]) {
      const size = deflateRawSync(message, { ...options, finishFlush: zlib.Z_SYNC_FLUSH }).length - 4;
      assert.ok(size > LIMIT, `${JSON.stringify(options)}: ${size}`);
    }
  });

  it('our client → our server → our client, each side compressing with memLevel 1', async () => {
    const ws = await connect(url, { perMessageDeflate: { memLevel: 1 } });
    assert.match(ws.extensions, /permessage-deflate/);
    const received = once(ws, 'message');
    ws.send(message);
    const [echo] = await received;
    assert.ok(Buffer.isBuffer(echo) && echo.equals(message), 'the echo is the message');
    ws.close(1000);
    const [code] = await once(ws, 'close');
    assert.equal(code, 1000);
  });

  for (const [name, zlibDeflateOptions] of [
    ['zlib defaults', {}],
    ['python-websockets settings (memLevel 5)', { memLevel: 5 }],
    ['memLevel 1', { memLevel: 1 }],
  ] as const) {
    it(`the ws client → our server → the ws client, ws compressing with ${name}`, async () => {
      const ws = new WebSocket(url, { perMessageDeflate: { threshold: 0, zlibDeflateOptions }, maxPayload: 2 * LIMIT });
      await once(ws, 'open');
      assert.match(ws.extensions, /permessage-deflate/);
      const received = once(ws, 'message');
      ws.send(message, { compress: true });
      const [echo] = (await received) as [Buffer];
      assert.ok(echo.equals(message), 'the echo is the message');
      ws.close(1000);
      const [code] = await once(ws, 'close');
      assert.equal(code, 1000);
    });
  }

  it('a message one byte over the limit is still refused with 1009 after inflation', async () => {
    const ws = new WebSocket(url, { perMessageDeflate: { threshold: 0 } });
    await once(ws, 'open');
    ws.send(randomBytes(LIMIT + 1), { compress: true });
    const [code] = await once(ws, 'close');
    assert.equal(code, 1009);
  });
});
