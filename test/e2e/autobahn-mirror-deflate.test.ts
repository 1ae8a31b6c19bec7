/**
 * Autobahn|Testsuite groups 12 and 13 (permessage-deflate), mirrored
 * (fuzzing/autobahn-mirror/cases/group12-13-deflate.ts): every one of the 216
 * cases runs against our echo server with `perMessageDeflate: true`, one test
 * per Autobahn case id, with fewer messages than Autobahn's 1000 so that the
 * whole file takes seconds: 30 messages per case, but no more than 1 MiB of
 * payload (8 messages of 128 KiB, 16 of 64 KiB). AUTOBAHN_MIRROR_FULL=1 runs
 * the real counts. The mirror's client compresses and inflates with its own
 * persistent zlib streams, so this is our codec against an independent one.
 *
 * A second block runs one case per offer list and per data set against the
 * `ws` server with permessage-deflate on (the known-good peer): if those
 * fail, the mirror is broken, not our server.
 *
 * The last block checks that the mirror can fail a server: no deflate at all
 * (UNIMPLEMENTED), a server that agrees to server_no_context_takeover or to a
 * smaller window and does not keep its word, and one that sets RSV1 on a
 * continuation frame.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { createServer as createNetServer, type Socket } from 'node:net';
import { constants as zlibConstants, deflateRawSync } from 'node:zlib';
import { after, before, describe, test } from 'node:test';

import { WebSocketServer as WsServer } from 'ws';

import { createServer } from '../../src/index.js';
import type { CaseDef, CaseResult } from '../../fuzzing/autobahn-mirror/case-types.js';
import { ALL_CASES } from '../../fuzzing/autobahn-mirror/cases/index.js';
import { isFailure } from '../../fuzzing/autobahn-mirror/judge.js';
import { formatDetails } from '../../fuzzing/autobahn-mirror/report.js';
import { runCase, type RunOptions } from '../../fuzzing/autobahn-mirror/runner.js';
import { selectCases } from '../../fuzzing/autobahn-mirror/select.js';

const FULL = process.env.AUTOBAHN_MIRROR_FULL === '1';

const CASES = selectCases(ALL_CASES, '12.*,13.*');

/** CI: 30 messages per case, at most 1 MiB of payload per case. */
function ciOptions(def: CaseDef): RunOptions {
  if (FULL) return {};
  const length = def.compression?.length ?? 1;
  return { deflateMessages: Math.max(1, Math.min(30, Math.floor((1024 * 1024) / length))) };
}

function explain(r: CaseResult): string {
  return [`${r.id}: behavior ${r.behavior}, close ${r.behaviorClose}`, ...formatDetails(r)].join('\n');
}

function wsDeflateServer(onHeaders?: (headers: string[]) => void): Promise<{ port: number; close: () => Promise<void> }> {
  const wss = new WsServer({ host: '127.0.0.1', port: 0, perMessageDeflate: true });
  if (onHeaders) wss.on('headers', onHeaders);
  wss.on('connection', (socket) => {
    socket.on('error', () => {});
    socket.on('message', (data, isBinary) => socket.send(data, { binary: isBinary }));
  });
  return new Promise((resolve) => {
    wss.once('listening', () => {
      resolve({
        port: (wss.address() as { port: number }).port,
        close: () =>
          new Promise<void>((done) => {
            for (const c of wss.clients) c.terminate();
            wss.close(() => done());
          }),
      });
    });
  });
}

describe('Autobahn groups 12-13 (permessage-deflate) against our echo server', () => {
  let server: ReturnType<typeof createServer>;
  let url: string;

  before(async () => {
    server = createServer({ host: '127.0.0.1', port: 0, perMessageDeflate: true }, (conn) => {
      conn.on('message', (data: string | Buffer) => {
        conn.send(data);
      });
    });
    const { port } = await server.listen();
    url = `ws://127.0.0.1:${port}`;
  });

  after(async () => {
    await server?.close();
  });

  test('the table has Autobahn\'s 216 cases: 5 data sets and 7 offer lists, 18 sizes each', () => {
    assert.equal(CASES.length, 216);
    assert.equal(CASES.filter((c) => c.id.startsWith('12.')).length, 90);
    assert.equal(CASES.filter((c) => c.id.startsWith('13.')).length, 126);
    assert.ok(CASES.every((c) => c.compression !== undefined));
  });

  for (const def of CASES) {
    test(def.id, async () => {
      const result = await runCase(url, def, ciOptions(def));
      assert.ok(!isFailure(result), explain(result));
      assert.equal(result.behavior, 'OK', explain(result));
      assert.equal(result.behaviorClose, 'OK', explain(result));
    });
  }
});

describe('Autobahn groups 12-13 mirror against ws (validates the mirror)', () => {
  let ws: Awaited<ReturnType<typeof wsDeflateServer>>;

  before(async () => {
    ws = await wsDeflateServer();
  });
  after(async () => {
    await ws?.close();
  });

  // Every data set at 128 KiB in 256-byte frames, every offer list at 4 KiB and at 128 KiB in one frame.
  const subset = selectCases(ALL_CASES, ['12.*.15', '13.*.5', '13.*.10']);
  for (const def of subset) {
    test(`ws ${def.id}`, async () => {
      const result = await runCase(`ws://127.0.0.1:${ws.port}`, def, { deflateMessages: 8 });
      assert.equal(result.behavior, 'OK', explain(result));
      assert.equal(result.behaviorClose, 'OK', explain(result));
    });
  }
});

describe('Autobahn deflate mirror self-check (it must be able to fail a server)', () => {
  test('a server without permessage-deflate is UNIMPLEMENTED (and closes cleanly)', async () => {
    const plain = createServer({ host: '127.0.0.1', port: 0 }, (conn) => {
      conn.on('message', (data: string | Buffer) => conn.send(data));
    });
    const { port } = await plain.listen();
    try {
      const [def] = selectCases(ALL_CASES, '12.1.1');
      const result = await runCase(`ws://127.0.0.1:${port}`, def, { deflateMessages: 3 });
      assert.equal(result.behavior, 'UNIMPLEMENTED', explain(result));
      assert.equal(result.behaviorClose, 'OK', explain(result));
      assert.ok(isFailure(result));
    } finally {
      await plain.close();
    }
  });

  test('a server that answers server_no_context_takeover but keeps its context fails 13.1.5', async () => {
    // ws agrees to the default offer, and we add the parameter (a server may, unasked) to its answer: ws goes on compressing with context.
    const liar = await wsDeflateServer((headers) => rewriteExtensions(headers, (v) => `${v}; server_no_context_takeover`));
    try {
      const [def] = selectCases(ALL_CASES, '13.1.5');
      const result = await runCase(`ws://127.0.0.1:${liar.port}`, def, { deflateMessages: 10 });
      assert.equal(result.behavior, 'FAILED', explain(result));
      assert.ok(result.notes.some((n) => n.includes('cannot be inflated')), explain(result));
    } finally {
      await liar.close();
    }
  });

  test('a server that answers server_max_window_bits=9 but compresses with 32 KiB fails 13.4.10', async () => {
    const liar = await wsDeflateServer((headers) => rewriteExtensions(headers, (v) => v.replace(/server_max_window_bits=\d+/, 'server_max_window_bits=9')));
    try {
      const [def] = selectCases(ALL_CASES, '13.4.10'); // asks for 15; ws compresses with 15; the answer claims 9
      const result = await runCase(`ws://127.0.0.1:${liar.port}`, def, { deflateMessages: 4 });
      assert.equal(result.behavior, 'FAILED', explain(result));
      assert.ok(result.notes.some((n) => n.includes('cannot be inflated')), explain(result));
    } finally {
      await liar.close();
    }
  });

  test('an answer that fits none of the offers fails the opening handshake', async () => {
    const liar = await wsDeflateServer((headers) => rewriteExtensions(headers, (v) => v.replace(/server_max_window_bits=\d+/, 'server_max_window_bits=12')));
    try {
      const [def] = selectCases(ALL_CASES, '13.3.1'); // asks for server_max_window_bits=8
      const result = await runCase(`ws://127.0.0.1:${liar.port}`, def, { deflateMessages: 2 });
      assert.equal(result.behavior, 'FAILED', explain(result));
      assert.match(result.result, /opening handshake was never completed.*server_max_window_bits=12 is above the 8 requested/, explain(result));
    } finally {
      await liar.close();
    }
  });

  test('a server that sets RSV1 on a continuation frame fails 12.1.11', async () => {
    const compressed = deflateRawSync(Buffer.from('{"hello": "world", "again": "hello world"}'), { finishFlush: zlibConstants.Z_SYNC_FLUSH }).subarray(0, -4);
    const half = compressed.length >> 1;
    const bad = await startScriptedServer(
      Buffer.concat([
        Buffer.from([0x41, half]), // TEXT, not fin, RSV1
        compressed.subarray(0, half),
        Buffer.from([0xc0, compressed.length - half]), // CONTINUATION, fin, RSV1: wrong
        compressed.subarray(half),
      ]),
      false,
    );
    try {
      const [def] = selectCases(ALL_CASES, '12.1.11');
      const result = await runCase(`ws://127.0.0.1:${bad.port}`, def, { deflateMessages: 2 });
      assert.equal(result.behavior, 'FAILED', explain(result));
      assert.ok(result.notes.some((n) => n.includes('RSV1 set on a continuation frame')), explain(result));
    } finally {
      await bad.close();
    }
  });

  test('frames behind a message being inflated still count when TCP closes meanwhile', async () => {
    // A wrong (but well-formed) compressed echo, a close frame 1001, and TCP closed at once, all in one write.
    const wrong = deflateRawSync(Buffer.from('not what you sent'), { finishFlush: zlibConstants.Z_SYNC_FLUSH }).subarray(0, -4);
    const bad = await startScriptedServer(Buffer.concat([Buffer.from([0xc1, wrong.length]), wrong, Buffer.from([0x88, 0x02, 0x03, 0xe9])]), true);
    try {
      const [def] = selectCases(ALL_CASES, '12.1.2');
      const result = await runCase(`ws://127.0.0.1:${bad.port}`, def, { deflateMessages: 2 });
      assert.equal(result.behavior, 'FAILED', explain(result));
      assert.match(result.result, /length differs/, explain(result));
      assert.equal(result.remoteCloseCode, 1001, explain(result));
    } finally {
      await bad.close();
    }
  });
});

/** Apply `change` to the Sec-WebSocket-Extensions line of a ws handshake response. */
function rewriteExtensions(headers: string[], change: (value: string) => string): void {
  const i = headers.findIndex((h) => h.toLowerCase().startsWith('sec-websocket-extensions:'));
  if (i < 0) return;
  const value = headers[i].slice(headers[i].indexOf(':') + 1).trim();
  headers[i] = `Sec-WebSocket-Extensions: ${change(value)}`;
}

/**
 * A deliberately bad server: accepts permessage-deflate, answers the first
 * bytes after the handshake with `frames` (and then ends TCP at once if
 * `endAtOnce`), and ends TCP on whatever the client sends next.
 */
async function startScriptedServer(frames: Buffer, endAtOnce: boolean): Promise<{ port: number; close: () => Promise<void> }> {
  const sockets = new Set<Socket>();
  const net = createNetServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => {});
    let head = '';
    let state: 'handshake' | 'open' | 'answered' = 'handshake';
    socket.on('data', (chunk: Buffer) => {
      if (state === 'handshake') {
        head += chunk.toString('latin1');
        const end = head.indexOf('\r\n\r\n');
        if (end < 0) return;
        const key = /^sec-websocket-key:\s*(\S+)/im.exec(head)?.[1] ?? '';
        const accept = createHash('sha1').update(`${key}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`).digest('base64');
        socket.write(
          `HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\nSec-WebSocket-Extensions: permessage-deflate\r\n\r\n`,
        );
        state = 'open';
        if (head.length === end + 4) return;
      }
      if (state === 'open') {
        state = 'answered';
        if (endAtOnce) socket.end(frames);
        else socket.write(frames);
      } else {
        // Whatever the client says next (its close), end the connection.
        socket.end();
      }
    });
  });
  await new Promise<void>((resolve) => net.listen(0, '127.0.0.1', resolve));
  return {
    port: (net.address() as { port: number }).port,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        net.close(() => resolve());
      }),
  };
}
