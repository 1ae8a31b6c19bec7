/**
 * The Autobahn fuzzingclient mirror (fuzzing/autobahn-mirror/) over HTTP/2:
 * the same cases as test/e2e/autobahn-mirror.test.ts (groups 1-7 and 10, a
 * subset of 9), each on an extended CONNECT stream (RFC 8441) of ONE h2c
 * session to our echo server, instead of a TCP connection of its own. The
 * mirror's client maps TCP to the stream as RFC 8441 §5 does (FIN ↔
 * END_STREAM, abort ↔ RST_STREAM CANCEL), so the verdicts mean the same:
 * a case passes unless the report would paint it red.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import http2, { type ClientHttp2Session } from 'node:http2';
import { after, before, describe, test } from 'node:test';

import { createServer } from '../../src/index.js';
import type { CaseResult } from '../../fuzzing/autobahn-mirror/case-types.js';
import { ALL_CASES } from '../../fuzzing/autobahn-mirror/cases/index.js';
import { isFailure } from '../../fuzzing/autobahn-mirror/judge.js';
import { formatDetails } from '../../fuzzing/autobahn-mirror/report.js';
import { runCase } from '../../fuzzing/autobahn-mirror/runner.js';
import { selectCases } from '../../fuzzing/autobahn-mirror/select.js';
import { withTimeout } from '../helpers/wait-for.js';

/** Group 9 as in CI over HTTP/1.1: each kind of limit once. */
const GROUP_9_SUBSET = ['9.1.1', '9.1.2', '9.1.3', '9.1.6', '9.2.1', '9.2.2', '9.2.3', '9.2.6', '9.3.1', '9.4.1', '9.5.1', '9.6.1', '9.7.*', '9.8.*'];
const CI_ROUND_TRIPS = 100;

const CASES = selectCases(ALL_CASES, { cases: ['1.*', '2.*', '3.*', '4.*', '5.*', '6.*', '7.*', '10.*', ...GROUP_9_SUBSET] });

function explain(r: CaseResult): string {
  return [`${r.id}: behavior ${r.behavior}, close ${r.behaviorClose}`, ...formatDetails(r)].join('\n');
}

describe('Autobahn fuzzingclient mirror over HTTP/2 streams (h2c, one session for every case)', () => {
  let server: ReturnType<typeof createServer>;
  let url: string;
  let session: ClientHttp2Session;
  const versions: string[] = [];

  before(async () => {
    server = createServer({ host: '127.0.0.1', port: 0, http2: true }, (conn) => {
      versions.push(conn.request.httpVersion ?? '?');
      conn.on('message', (data: string | Buffer) => conn.send(data));
    });
    const { port } = await server.listen();
    url = `ws://127.0.0.1:${port}`;
    session = http2.connect(`http://127.0.0.1:${port}`);
    session.on('error', () => {});
    const [settings] = (await withTimeout(once(session, 'remoteSettings'), { what: 'the server SETTINGS' })) as [http2.Settings];
    assert.equal(settings.enableConnectProtocol, true);
  });

  after(async () => {
    session?.destroy();
    await server?.close();
  });

  for (const def of CASES) {
    test(def.id, async () => {
      const result = await runCase(url, def, { roundTrips: CI_ROUND_TRIPS, client: { http2Session: session } });
      assert.ok(!isFailure(result), explain(result));
      assert.equal(session.destroyed || session.closed, false, 'the session outlives every case');
      assert.ok(versions.length > 0 && versions.every((v) => v === '2'), `connections arrived as HTTP/${versions.join(', ')}`);
    });
  }
});

describe('Autobahn mirror over HTTP/2, self-check (it must be able to fail a server)', () => {
  test('a server that answers close but never ends its stream is UNCLEAN in 2.7', async () => {
    // A deliberately bad HTTP/2 server: 200, then a close frame, and never END_STREAM (RFC 8441 §5: its "TCP close").
    const lazy = http2.createServer({ settings: { enableConnectProtocol: true } });
    lazy.on('stream', (stream) => {
      stream.on('error', () => {});
      stream.respond({ ':status': 200 });
      stream.once('data', () => stream.write(Buffer.from([0x88, 0x02, 0x03, 0xe8])));
    });
    lazy.listen(0, '127.0.0.1');
    await once(lazy, 'listening');
    const { port } = lazy.address() as { port: number };
    const session = http2.connect(`http://127.0.0.1:${port}`);
    session.on('error', () => {});
    await withTimeout(once(session, 'remoteSettings'), { what: 'SETTINGS' });
    try {
      const [def] = selectCases(ALL_CASES, '2.7');
      const result = await runCase(`ws://127.0.0.1:${port}`, def, { client: { http2Session: session } });
      assert.equal(result.behaviorClose, 'UNCLEAN', explain(result));
      assert.equal(result.droppedByMe, true);
      assert.ok(isFailure(result));
    } finally {
      session.destroy();
      await new Promise((resolve) => lazy.close(resolve));
    }
  });
});

/** CI: 30 messages per case, at most 1 MiB of payload per case (as test/e2e/autobahn-mirror-deflate.test.ts). */
function deflateMessages(length: number | undefined): number {
  return Math.max(1, Math.min(30, Math.floor((1024 * 1024) / (length ?? 1))));
}

/**
 * Over HTTP/2, a quarter of groups 12-13 (all of them pass too, in about 30 s
 * more): two data sets with the default offer, two offer lists, every size.
 */
const DEFLATE_CASES = '12.1.*,12.5.*,13.2.*,13.7.*';

describe('Autobahn groups 12-13 (permessage-deflate) over HTTP/2 streams, one h2c session', () => {
  let server: ReturnType<typeof createServer>;
  let url: string;
  let session: ClientHttp2Session;

  before(async () => {
    server = createServer({ host: '127.0.0.1', port: 0, http2: true, perMessageDeflate: true }, (conn) => {
      conn.on('message', (data: string | Buffer) => conn.send(data));
    });
    const { port } = await server.listen();
    url = `ws://127.0.0.1:${port}`;
    session = http2.connect(`http://127.0.0.1:${port}`);
    session.on('error', () => {});
    await withTimeout(once(session, 'remoteSettings'), { what: 'the server SETTINGS' });
  });

  after(async () => {
    session?.destroy();
    await server?.close();
  });

  for (const def of selectCases(ALL_CASES, DEFLATE_CASES)) {
    test(def.id, async () => {
      const result = await runCase(url, def, { deflateMessages: deflateMessages(def.compression?.length), client: { http2Session: session } });
      assert.ok(!isFailure(result), explain(result));
    });
  }
});
