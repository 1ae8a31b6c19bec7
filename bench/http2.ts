// WebSockets over HTTP/2 (RFC 8441) against HTTP/1.1 upgrades, on our server, both over TLS.
//
//   npx tsx bench/http2.ts [--only H2S1,H2S2,H2S4,H2MEM] [--rounds 1] [--duration 3] [--warmup 1]
//                          [--mem-sockets 1000] [--no-pin]
//   npm run bench -- --only H2S1,H2S2      (or --only H2: all four)
//
// One server, `createServer({ http2: true, tls })` with a certificate made at start, ALPN offering
// h2 and http/1.1 on its one port; the client picks the carrier:
// - h2: ONE TLS connection, ALPN h2, and N WebSockets as extended CONNECT streams on its one
//       session (RFC 8441 §4-5) (H2MEM: more sessions if the server allows fewer streams on one);
// - h1: N TLS connections, ALPN http/1.1, one RFC 6455 upgrade each.
// Scenarios:
//   H2S1  100 sockets, 16 B text, 1 in flight per socket          msg/s
//   H2S2  100 sockets, 16 B text, 16 in flight per socket         msg/s
//   H2S4  1 socket, 1 MiB binary, 2 in flight                     MB/s
//   H2MEM server RSS per open socket at --mem-sockets (default 1000), idle, after one echo each;
//         over h2 on as few sessions as the server's SETTINGS_MAX_CONCURRENT_STREAMS allows
// Every sample starts a fresh server child (core 0) and a client child (core 1). The client is
// closed-loop like bench/loadgen.ts: pre-built masked frames, each echoed frame replaced by a new
// one; echoed frames are counted from the byte count (our server echoes a message as one frame of
// the same size, unmasked), not parsed. The client is node:http2 and node:tls, not a WebSocket
// library. Server CPU is read from /proc over the measured window, RSS from /proc: before any
// socket, and with every socket open; the memory figure is their difference over the sockets
// (it includes TLS: one TLS connection per socket for h1, one in all for h2).
// h2 flow control: the client sets its windows to 16 MiB (session and streams) so that the
// server's sending is not held by the client's receive window; the server's windows are its own.
import { once } from 'node:events';
import http2 from 'node:http2';
import { performance } from 'node:perf_hooks';
import tls from 'node:tls';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { createServer } from '../src/index.js';
import { createSelfSignedCert } from '../src/tls/self-signed-cert.js';
import { announce, clientFrame, exitWithParent, frameHeader, jsonLines, machineInfo, makePayload, OP_BINARY, OP_TEXT, procCpuSeconds, procRssKiB, WS_ACCEPT, WS_KEY } from './common.js';
import { installCleanup, killTree, setupPinning, sleep, startChild, benchNode } from './harness.js';

const SELF = fileURLToPath(import.meta.url);
/** Flow-control windows the client grants (RFC 9113 §6.9): large, so that the client never holds the server back. */
const CLIENT_WINDOW = 16 << 20;
const HANDSHAKE_CONCURRENCY = 100;

const { values: opt } = parseArgs({
  options: {
    role: { type: 'string', default: 'main' },
    only: { type: 'string', default: 'H2S1,H2S2,H2S4,H2MEM' },
    carriers: { type: 'string', default: 'h2,h1' },
    rounds: { type: 'string', default: '1' },
    duration: { type: 'string', default: '3' },
    warmup: { type: 'string', default: '1' },
    'mem-sockets': { type: 'string', default: '1000' },
    // the client child's own options
    carrier: { type: 'string', default: 'h2' },
    port: { type: 'string', default: '0' },
    sockets: { type: 'string', default: '100' },
    size: { type: 'string', default: '16' },
    inflight: { type: 'string', default: '1' },
    binary: { type: 'boolean', default: false },
    idle: { type: 'boolean', default: false },
    'no-pin': { type: 'boolean', default: false },
    help: { type: 'boolean', short: 'h', default: false },
  },
  strict: true,
});

type Carrier = 'h2' | 'h1';

interface Scenario {
  id: string;
  title: string;
  sockets: number;
  size: number;
  binary: boolean;
  inflight: number;
  unit: 'msg/s' | 'MB/s' | 'KiB/socket';
  idle?: boolean;
}

const SCENARIOS: Scenario[] = [
  { id: 'H2S1', title: '100 sockets, 16 B text, 1 in flight', sockets: 100, size: 16, binary: false, inflight: 1, unit: 'msg/s' },
  { id: 'H2S2', title: '100 sockets, 16 B text, 16 in flight', sockets: 100, size: 16, binary: false, inflight: 16, unit: 'msg/s' },
  { id: 'H2S4', title: '1 socket, 1 MiB binary, 2 in flight', sockets: 1, size: 1 << 20, binary: true, inflight: 2, unit: 'MB/s' },
  { id: 'H2MEM', title: `server RSS per idle socket at ${opt['mem-sockets']}`, sockets: Number(opt['mem-sockets']), size: 16, binary: false, inflight: 1, unit: 'KiB/socket', idle: true },
];

// ─── The server child ───────────────────────────────────────────────────────────────────

async function serve(): Promise<void> {
  exitWithParent();
  const server = createServer({ host: '127.0.0.1', http2: true, tls: createSelfSignedCert(), maxMessageSize: 64 << 20 }, (ws) => {
    ws.on('message', (message) => ws.send(message));
  });
  server.on('error', () => {});
  const { port } = await server.listen(0);
  announce(port, { server: 'ours', http2: true });
}

// ─── The client child ───────────────────────────────────────────────────────────────────

interface ClientResult {
  msgs_per_s: number;
  mb_per_s: number;
  echoed: number;
}

/** A WebSocket the client drives: where to write, and what to do with what arrives. */
interface Socket {
  write(bytes: Buffer): void;
  onData(handler: (chunk: Buffer) => void): void;
  destroy(): void;
}

const HEAD_END = Buffer.from('\r\n\r\n');

/** One TLS connection (ALPN http/1.1) and an RFC 6455 upgrade on it. */
function openH1(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = tls.connect({ host: '127.0.0.1', port, servername: 'localhost', ALPNProtocols: ['http/1.1'], rejectUnauthorized: false }, () => {
      socket.write(
        `GET / HTTP/1.1\r\nHost: localhost:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` + `Sec-WebSocket-Key: ${WS_KEY}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
      );
    });
    socket.setNoDelay(true);
    socket.on('error', reject);
    let head: Buffer | null = Buffer.alloc(0);
    let handler: (chunk: Buffer) => void = () => {};
    const early: Buffer[] = [];
    socket.on('data', (chunk: Buffer) => {
      if (head === null) return handler(chunk);
      head = Buffer.concat([head, chunk]);
      const end = head.indexOf(HEAD_END);
      if (end === -1) return;
      const text = head.toString('latin1', 0, end);
      if (!text.startsWith('HTTP/1.1 101') || !text.includes(WS_ACCEPT)) return reject(new Error(text));
      if (socket.alpnProtocol !== 'http/1.1') return reject(new Error(`ALPN chose ${socket.alpnProtocol}`));
      const rest = head.subarray(end + 4);
      head = null;
      if (rest.length > 0) early.push(rest);
      resolve({
        write: (bytes) => socket.write(bytes),
        onData: (h) => {
          handler = h;
          for (const chunk of early.splice(0)) h(chunk);
        },
        destroy: () => socket.destroy(),
      });
    });
  });
}

/** One TLS connection (ALPN h2), the server's SETTINGS awaited: extended CONNECT must be on (RFC 8441 §3). */
async function openSession(port: number): Promise<{ session: http2.ClientHttp2Session; maxStreams: number }> {
  const session = http2.connect(`https://localhost:${port}`, {
    rejectUnauthorized: false,
    settings: { initialWindowSize: CLIENT_WINDOW },
  });
  session.on('error', (error) => {
    console.error(`h2 session: ${error.message}`);
    process.exit(1);
  });
  const [settings] = (await once(session, 'remoteSettings')) as [http2.Settings];
  if (!settings.enableConnectProtocol) throw new Error('the server does not advertise SETTINGS_ENABLE_CONNECT_PROTOCOL');
  session.setLocalWindowSize(CLIENT_WINDOW);
  return { session, maxStreams: settings.maxConcurrentStreams ?? Infinity };
}

/** A WebSocket as an extended CONNECT stream on `session` (RFC 8441 §4), open once the server answered 200 (§5). */
function openH2(session: http2.ClientHttp2Session, port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const stream = session.request(
      { ':method': 'CONNECT', ':protocol': 'websocket', ':scheme': 'https', ':path': '/', ':authority': `localhost:${port}`, 'sec-websocket-version': '13' },
      { endStream: false },
    );
    stream.on('error', reject);
    const timer = setTimeout(() => reject(new Error('no answer to CONNECT within 10 s')), 10_000);
    stream.once('response', (headers) => {
      clearTimeout(timer);
      if (headers[':status'] !== 200) return reject(new Error(`CONNECT answered ${headers[':status']}`));
      resolve({
        write: (bytes) => stream.write(bytes),
        onData: (h) => stream.on('data', h),
        destroy: () => stream.close(http2.constants.NGHTTP2_CANCEL),
      });
    });
  });
}

async function clients(): Promise<void> {
  exitWithParent();
  const port = Number(opt.port);
  const count = Number(opt.sockets);
  const size = Number(opt.size);
  const inflight = Number(opt.inflight);
  const payload = makePayload(size, opt.binary);
  const opcode = opt.binary ? OP_BINARY : OP_TEXT;
  const frame = clientFrame(opcode, payload);
  const echoedFrameBytes = frameHeader(opcode, size, null).length + size;

  // h2: as few sessions as the server's SETTINGS_MAX_CONCURRENT_STREAMS allows (one, up to its limit).
  const sessions: http2.ClientHttp2Session[] = [];
  if (opt.carrier === 'h2') {
    const first = await openSession(port);
    sessions.push(first.session);
    while (sessions.length * first.maxStreams < count) sessions.push((await openSession(port)).session);
  }
  const perSession = Math.ceil(count / Math.max(1, sessions.length));
  const sockets: Socket[] = [];
  let next = 0;
  const opener = async (): Promise<void> => {
    while (next < count) {
      const index = next++;
      sockets.push(await (opt.carrier === 'h2' ? openH2(sessions[Math.floor(index / perSession)], port) : openH1(port)));
    }
  };
  await Promise.all(Array.from({ length: Math.min(HANDSHAKE_CONCURRENCY, count) }, opener));

  let echoed = 0;
  let running = true;
  if (opt.idle) {
    // One echo each (so every socket has done some work), then hold them open while RSS is read.
    await Promise.all(
      sockets.map(
        (socket) =>
          new Promise<void>((resolve) => {
            let received = 0;
            socket.onData((chunk) => {
              received += chunk.length;
              if (received >= echoedFrameBytes) resolve();
            });
            socket.write(frame);
          }),
      ),
    );
    process.stdout.write(JSON.stringify({ phase: 'open', sessions: sessions.length }) + '\n');
    await new Promise(() => {}); // killed by the harness
  }

  const batch = Buffer.concat(Array.from({ length: inflight }, () => frame));
  for (const socket of sockets) {
    let received = 0;
    socket.onData((chunk) => {
      received += chunk.length;
      const done = Math.floor(received / echoedFrameBytes);
      if (done === 0) return;
      received -= done * echoedFrameBytes;
      echoed += done;
      if (!running) return;
      // `done` frames came back: as many go out, in one write when they fit the pre-built batch.
      for (let left = done; left > 0; left -= inflight) socket.write(left >= inflight ? batch : batch.subarray(0, left * frame.length));
    });
    socket.write(batch);
  }
  process.stdout.write(JSON.stringify({ phase: 'open' }) + '\n');
  await sleep(Number(opt.warmup) * 1000);
  process.stdout.write(JSON.stringify({ phase: 'measuring' }) + '\n');
  const startEchoed = echoed;
  const start = performance.now();
  await sleep(Number(opt.duration) * 1000);
  const seconds = (performance.now() - start) / 1000;
  const n = echoed - startEchoed;
  running = false;
  const result: ClientResult = { msgs_per_s: Math.round(n / seconds), mb_per_s: Math.round(((n * size) / seconds / 1e6) * 10) / 10, echoed: n };
  process.stdout.write(JSON.stringify(result) + '\n');
  for (const socket of sockets) socket.destroy();
  for (const session of sessions) session.destroy();
  process.exit(0);
}

// ─── The harness ────────────────────────────────────────────────────────────────────────

interface Sample {
  value: number;
  msgs_per_s?: number;
  mb_per_s?: number;
  server_cpu?: number;
  rss_before_mib: number;
  rss_open_mib: number;
  /** H2MEM: HTTP/2 connections the sockets took (the server's SETTINGS_MAX_CONCURRENT_STREAMS each at most). */
  h2_sessions?: number;
}

async function sample(sc: Scenario, carrier: Carrier): Promise<Sample> {
  const server = startChild(0, benchNode(SELF, ['--role', 'server']));
  let errors = '';
  server.stderr!.setEncoding('utf8').on('data', (d: string) => (errors += d));
  try {
    const { port, pid } = await jsonLines(server.stdout!)('server', 30_000);
    await sleep(300); // let the server's start-up garbage settle before the first RSS reading
    const rssBefore = procRssKiB(Number(pid));
    const args = ['--role', 'clients', '--carrier', carrier, '--port', String(port), '--sockets', String(sc.sockets), '--size', String(sc.size), '--inflight', String(sc.inflight)];
    args.push('--warmup', String(opt.warmup), '--duration', String(opt.duration));
    if (sc.binary) args.push('--binary');
    if (sc.idle) args.push('--idle');
    const client = startChild(1, benchNode(SELF, args));
    client.stderr!.setEncoding('utf8').on('data', (d: string) => (errors += d));
    const next = jsonLines(client.stdout!);
    try {
      const opened = await next('clients: open', 120_000);
      if (sc.idle) {
        await sleep(1000);
        const rssOpen = procRssKiB(Number(pid));
        return { value: (rssOpen - rssBefore) / sc.sockets, rss_before_mib: mib(rssBefore), rss_open_mib: mib(rssOpen), ...(carrier === 'h2' ? { h2_sessions: opened.sessions as number } : {}) };
      }
      const rssOpen = procRssKiB(Number(pid));
      await next('clients: measuring', 60_000);
      const cpuAtStart = procCpuSeconds(Number(pid));
      const t0 = performance.now();
      const answer = (await next('clients: result', 120_000)) as unknown as ClientResult;
      const cpu = (procCpuSeconds(Number(pid)) - cpuAtStart) / ((performance.now() - t0) / 1000);
      return {
        value: sc.unit === 'MB/s' ? answer.mb_per_s : answer.msgs_per_s,
        msgs_per_s: answer.msgs_per_s,
        mb_per_s: answer.mb_per_s,
        server_cpu: Math.round(cpu * 100) / 100,
        rss_before_mib: mib(rssBefore),
        rss_open_mib: mib(rssOpen),
      };
    } catch (error) {
      throw new Error(`${(error as Error).message}\n${errors}`);
    } finally {
      killTree(client, 'SIGKILL');
    }
  } finally {
    killTree(server, 'SIGKILL');
  }
}

const mib = (kib: number): number => Math.round((kib / 1024) * 10) / 10;

function format(value: number | null, unit: Scenario['unit']): string {
  if (value === null) return 'n/a';
  if (unit === 'msg/s') return Math.round(value).toLocaleString('en-US');
  if (unit === 'MB/s') return value.toFixed(1);
  return value.toFixed(1);
}

async function main(): Promise<void> {
  if (opt.help) {
    console.log('usage: npx tsx bench/http2.ts [--only H2S1,H2S2,H2S4,H2MEM] [--carriers h2,h1] [--rounds N] [--duration S] [--warmup S] [--mem-sockets N] [--no-pin]\nSee the header of bench/http2.ts.');
    return;
  }
  installCleanup();
  const pinned = setupPinning(opt['no-pin']);
  const only = opt.only.split(',').map((s) => s.trim().toUpperCase()).filter(Boolean);
  const wanted = only.includes('H2') ? SCENARIOS.map((s) => s.id) : only;
  for (const id of wanted) if (!SCENARIOS.some((s) => s.id === id)) throw new Error(`unknown scenario ${id} (${SCENARIOS.map((s) => s.id).join(', ')}, or H2 for all)`);
  const carriers = opt.carriers.split(',').map((s) => s.trim()) as Carrier[];
  for (const c of carriers) if (c !== 'h2' && c !== 'h1') throw new Error(`unknown carrier ${c} (h2, h1)`);
  const machine = machineInfo();
  console.log(`WebSockets over HTTP/2 (one TLS connection, extended CONNECT streams) vs HTTP/1.1 (a TLS connection each), our server — ${new Date().toISOString()}`);
  console.log(`machine: ${machine.cpu}, ${machine.cores} cores, node ${machine.node}; ${opt.rounds} round(s), ${opt.warmup} s warm-up + ${opt.duration} s${pinned ? '; server on core 0, client on core 1' : '; not pinned'}`);

  const rows: string[][] = [['scenario', 'unit', 'h2', 'h1', 'h2/h1', 'srv CPU h2', 'srv CPU h1']];
  const median = (xs: number[]): number | null => (xs.length === 0 ? null : [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)]);
  for (const sc of SCENARIOS.filter((s) => wanted.includes(s.id))) {
    console.log(`\n${sc.id}: ${sc.title}`);
    const results = new Map<Carrier, Sample[]>(carriers.map((c) => [c, []]));
    for (let round = 0; round < Number(opt.rounds); round++) {
      for (const carrier of round % 2 === 0 ? carriers : [...carriers].reverse()) {
        try {
          const r = await sample(sc, carrier);
          results.get(carrier)!.push(r);
          const { value, ...rest } = r;
          console.log(`  round ${round + 1} ${carrier} ${format(value, sc.unit).padStart(10)} ${sc.unit}  ${JSON.stringify(rest)}`);
        } catch (error) {
          console.log(`  round ${round + 1} ${carrier} FAILED: ${(error as Error).message}`);
        }
      }
    }
    const value = (c: Carrier) => median((results.get(c) ?? []).map((r) => r.value));
    const cpu = (c: Carrier) => median((results.get(c) ?? []).flatMap((r) => (r.server_cpu === undefined ? [] : [r.server_cpu])));
    const h2 = value('h2');
    const h1 = value('h1');
    rows.push([
      `${sc.id} ${sc.title}`,
      sc.unit + (sc.idle ? ' (lower is better)' : ''),
      format(h2, sc.unit),
      format(h1, sc.unit),
      h2 !== null && h1 !== null && h1 !== 0 ? (h2 / h1).toFixed(2) : 'n/a',
      cpu('h2')?.toFixed(2) ?? '-',
      cpu('h1')?.toFixed(2) ?? '-',
    ]);
  }
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  console.log(`\nmedians of ${opt.rounds} round(s):\n`);
  console.log(rows.map((r) => r.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ')).join('\n'));
}

if (opt.role === 'server') await serve();
else if (opt.role === 'clients') await clients();
else await main();
