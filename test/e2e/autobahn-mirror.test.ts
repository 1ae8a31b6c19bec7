/**
 * Autobahn|Testsuite fuzzingclient, mirrored (fuzzing/autobahn-mirror/):
 * every case of groups 1-7 and 10 runs against our echo server, in-process,
 * one test per Autobahn case id; group 9 (limits/performance) runs a subset
 * that takes a few seconds. AUTOBAHN_MIRROR_FULL=1 runs all of group 9 with
 * Autobahn's full message counts.
 *
 * A case passes unless the report would paint it red: behavior FAILED or
 * UNIMPLEMENTED, or a close verdict of FAILED or UNCLEAN (NON-STRICT,
 * INFORMATIONAL, WRONG CODE and FAILED BY CLIENT are allowed, as in Autobahn).
 *
 * The last block checks the mirror itself: it must fail a server that skips
 * UTF-8 validation and one that never closes TCP.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { createServer as createNetServer, type Server as NetServer, type Socket } from 'node:net';
import { after, before, describe, test } from 'node:test';

import { WebSocketServer as WsServer } from 'ws';

import { createServer } from '../../src/index.js';
import type { CaseResult } from '../../fuzzing/autobahn-mirror/case-types.js';
import { ALL_CASES } from '../../fuzzing/autobahn-mirror/cases/index.js';
import { isFailure } from '../../fuzzing/autobahn-mirror/judge.js';
import { formatDetails } from '../../fuzzing/autobahn-mirror/report.js';
import { runCase } from '../../fuzzing/autobahn-mirror/runner.js';
import { selectCases } from '../../fuzzing/autobahn-mirror/select.js';

const FULL = process.env.AUTOBAHN_MIRROR_FULL === '1';

/** Group 9 in CI: each kind of limit once, kept to a few seconds. */
const GROUP_9_SUBSET = [
  '9.1.1', '9.1.2', '9.1.3', '9.1.6', // text, one frame: 64 KiB, 256 KiB, 1 MiB, 16 MiB
  '9.2.1', '9.2.2', '9.2.3', '9.2.6', // binary, the same sizes
  '9.3.1', '9.4.1', // 4 MiB as 65,536 fragments of 64 B
  '9.5.1', '9.6.1', // 1 MiB written in 64-byte TCP chunks
  '9.7.*', '9.8.*', // round trips, 100 instead of 1000 each
];
const CI_ROUND_TRIPS = 100;

const CASES = selectCases(ALL_CASES, {
  cases: ['1.*', '2.*', '3.*', '4.*', '5.*', '6.*', '7.*', '10.*', ...(FULL ? ['9.*'] : GROUP_9_SUBSET)],
});

function explain(r: CaseResult): string {
  return [`${r.id}: behavior ${r.behavior}, close ${r.behaviorClose}`, ...formatDetails(r)].join('\n');
}

describe('Autobahn fuzzingclient mirror against our echo server', () => {
  let server: ReturnType<typeof createServer>;
  let url: string;

  before(async () => {
    server = createServer({ host: '127.0.0.1', port: 0 }, (conn) => {
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

  for (const def of CASES) {
    test(def.id, async () => {
      const result = await runCase(url, def, FULL ? {} : { roundTrips: CI_ROUND_TRIPS });
      assert.ok(!isFailure(result), explain(result));
    });
  }
});

describe('Autobahn mirror self-check (it must be able to fail a server)', () => {
  test('a ws server that skips UTF-8 validation fails 6.3.1', async () => {
    const wss = new WsServer({ host: '127.0.0.1', port: 0, perMessageDeflate: false, skipUTF8Validation: true });
    wss.on('connection', (socket) => {
      socket.on('error', () => {});
      socket.on('message', (data, isBinary) => socket.send(data, { binary: isBinary }));
    });
    await new Promise<void>((resolve) => wss.once('listening', resolve));
    const port = (wss.address() as { port: number }).port;
    try {
      const [def] = selectCases(ALL_CASES, '6.3.1');
      const result = await runCase(`ws://127.0.0.1:${port}`, def);
      assert.equal(result.behavior, 'FAILED', explain(result));
      assert.ok(isFailure(result));
    } finally {
      for (const c of wss.clients) c.terminate();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
    }
  });

  test('a server that answers close but never drops TCP is UNCLEAN in 2.7', async () => {
    const lazy = await startLazyServer();
    try {
      const [def] = selectCases(ALL_CASES, '2.7');
      const result = await runCase(`ws://127.0.0.1:${lazy.port}`, def);
      assert.equal(result.behaviorClose, 'UNCLEAN', explain(result));
      assert.equal(result.droppedByMe, true);
      assert.ok(isFailure(result));
    } finally {
      await lazy.close();
    }
  });
});

/**
 * A deliberately bad server: completes the handshake, answers the first
 * bytes after it with a close frame (1000), and then waits for the client to
 * close TCP, which RFC 6455 §7.1.1 says the server should do itself.
 */
async function startLazyServer(): Promise<{ port: number; close: () => Promise<void> }> {
  const sockets = new Set<Socket>();
  const net: NetServer = createNetServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => {});
    let head = '';
    let open = false;
    let closed = false;
    socket.on('data', (chunk: Buffer) => {
      if (!open) {
        head += chunk.toString('latin1');
        const end = head.indexOf('\r\n\r\n');
        if (end < 0) return;
        const key = /^sec-websocket-key:\s*(\S+)/im.exec(head)?.[1] ?? '';
        const accept = createHash('sha1').update(`${key}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`).digest('base64');
        socket.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n\r\n`);
        open = true;
        if (head.length === end + 4) return;
      }
      if (!closed) {
        closed = true;
        socket.write(Buffer.from([0x88, 0x02, 0x03, 0xe8]));
      }
    });
  });
  await new Promise<void>((resolve) => net.listen(0, '127.0.0.1', resolve));
  const port = (net.address() as { port: number }).port;
  return {
    port,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        net.close(() => resolve());
      }),
  };
}
