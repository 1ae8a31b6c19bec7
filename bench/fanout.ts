// Fan-out benchmark: 10,000 subscribers on one topic, one publisher.
//
//   npx tsx bench/fanout.ts [--subscribers 10000] [--duration 3] [--warmup 1] [--rounds 1]
//                           [--size 64] [--window 4] [--servers ours,ws] [--no-pin]
//
// Each sample starts a fresh server child (core 0) and a client child (core 1):
// - the server: ours subscribes each connection on /sub to the topic `bench` and publishes
//   every message the publisher (/pub) sends with server.publish('bench', message): one
//   encoding, a Map<topic, Set<connection>>; `ws` keeps a Set of the /sub connections and
//   sends each message to every one in a loop (`for (const c of subs) c.send(data)`), the
//   usual way with that library. uWebSockets.js (its `publish`) is not on the npm registry
//   (`npm view uWebSockets.js`: 404; it is installed from GitHub), so it is not measured.
// - the client child opens the subscribers (bare sockets; they only count bytes, except one
//   in every 50, which parses its frames for the latency) and one publisher, which keeps at
//   most `window` messages in flight (sent minus delivered / subscribers) and stamps each
//   with its send time (performance.timeOrigin + now(): both children share the clock).
// Reported: messages delivered per second (to all subscribers together), latency p50 and
// p99 from publish to a subscriber's receipt, the server's CPU seconds per second; then the
// ratios ours / ws. The client child does as much work per delivery as the server, and on
// two cores it is the ceiling for both servers alike: compare the ratio, not the figures.
import net from 'node:net';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import { WebSocketServer } from 'ws';
import { createServer } from '../src/index.js';
import { announce, exitWithParent, frameHeader, jsonLines, openBareWebSocket, procCpuSeconds } from './common.js';
import { installCleanup, killTree, setupPinning, sleep, startChild, benchNode } from './harness.js';

const SELF = fileURLToPath(import.meta.url);
const TOPIC = 'bench';
/** One subscriber in PROBE_EVERY parses its frames for the latency; the others count bytes. */
const PROBE_EVERY = 50;
const HANDSHAKE_CONCURRENCY = 256;

const { values: opt } = parseArgs({
  options: {
    role: { type: 'string', default: 'main' },
    server: { type: 'string', default: 'ours' },
    port: { type: 'string', default: '0' },
    subscribers: { type: 'string', default: '10000' },
    duration: { type: 'string', default: '3' },
    warmup: { type: 'string', default: '1' },
    rounds: { type: 'string', default: '1' },
    size: { type: 'string', default: '64' },
    window: { type: 'string', default: '4' },
    servers: { type: 'string', default: 'ours,ws' },
    'no-pin': { type: 'boolean', default: false },
    help: { type: 'boolean', short: 'h', default: false },
  },
});

// ─── The server child ───────────────────────────────────────────────────────────────────

async function serve(name: string): Promise<void> {
  exitWithParent();
  if (name === 'ours') {
    const server = createServer({ host: '127.0.0.1', maxMessageSize: 1 << 20 });
    server.route('/sub', (ws) => ws.subscribe(TOPIC));
    server.route('/pub', (ws) => ws.on('message', (message) => server.publish(TOPIC, message)));
    server.on('error', () => {});
    const { port } = await server.listen(0);
    announce(port, { server: 'ours' });
    return;
  }
  const subscribers = new Set<import('ws').WebSocket>();
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, perMessageDeflate: false });
  wss.on('connection', (ws, request) => {
    ws.on('error', () => {});
    if (request.url === '/sub') {
      subscribers.add(ws);
      ws.on('close', () => subscribers.delete(ws));
    } else {
      ws.on('message', (data, isBinary) => {
        for (const subscriber of subscribers) subscriber.send(data as Buffer, { binary: isBinary });
      });
    }
  });
  wss.on('listening', () => announce((wss.address() as net.AddressInfo).port, { server: 'ws' }));
}

// ─── The client child: subscribers and the publisher ────────────────────────────────────

interface ClientResult {
  delivered_per_s: number;
  p50_ms: number | null;
  p99_ms: number | null;
  published: number;
  samples: number;
}

async function clients(): Promise<void> {
  exitWithParent();
  const port = Number(opt.port);
  const count = Number(opt.subscribers);
  const size = Number(opt.size);
  const window = Number(opt.window);
  if (!(size >= 8 && size <= 65_535)) throw new Error('--size: 8 to 65535 bytes (the send time takes 8)');
  const frameBytes = frameHeader(2, size, null).length + size;
  let deliveredBytes = 0;
  let measuring = false;
  // The publisher, and whether it keeps publishing.
  let publisher: net.Socket | null = null;
  let running = false;
  let published = 0;
  let sending = false;
  const latencies: number[] = [];

  /** Open a connection; resolves once its 101 arrived, then hands each later chunk to `onData`. */
  const open = (path: string, onData: (chunk: Buffer) => void): Promise<net.Socket> => openBareWebSocket(port, path, onData);

  const counter = (chunk: Buffer): void => {
    deliveredBytes += chunk.length;
    maybePublish();
  };
  const prober = (): ((chunk: Buffer) => void) => {
    let pending: Buffer = Buffer.alloc(0);
    return (chunk) => {
      deliveredBytes += chunk.length;
      pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
      const now = performance.timeOrigin + performance.now();
      let offset = 0;
      for (; offset + frameBytes <= pending.length; offset += frameBytes) {
        if (measuring) latencies.push(now - pending.readDoubleLE(offset + frameBytes - size));
      }
      pending = pending.subarray(offset);
      maybePublish();
    };
  };

  // The subscribers, a few hundred handshakes at a time.
  const sockets: net.Socket[] = [];
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < count) {
      const index = next++;
      sockets.push(await open('/sub', index % PROBE_EVERY === 0 ? prober() : counter));
    }
  };
  await Promise.all(Array.from({ length: HANDSHAKE_CONCURRENCY }, worker));

  // The publisher: masked binary frames (a zero mask: the payload goes as is), stamped with their send time.
  const header = frameHeader(2, size, Buffer.alloc(4));
  publisher = await open('/pub', () => {});
  function maybePublish(): void {
    if (sending || !running || publisher === null) return;
    sending = true;
    while (published - deliveredBytes / frameBytes / count < window) {
      const frame = Buffer.alloc(header.length + size);
      header.copy(frame);
      frame.writeDoubleLE(performance.timeOrigin + performance.now(), header.length);
      publisher.write(frame);
      published++;
    }
    sending = false;
  }
  running = true;
  maybePublish();
  await sleep(Number(opt.warmup) * 1000);
  measuring = true;
  process.stdout.write(JSON.stringify({ phase: 'measuring' }) + '\n');
  const startBytes = deliveredBytes;
  const start = performance.now();
  await sleep(Number(opt.duration) * 1000);
  const seconds = (performance.now() - start) / 1000;
  const delivered = (deliveredBytes - startBytes) / frameBytes;
  measuring = false;
  running = false;
  latencies.sort((a, b) => a - b);
  const rank = (q: number) => (latencies.length === 0 ? null : Math.round(latencies[Math.min(latencies.length - 1, Math.ceil(q * latencies.length) - 1)] * 100) / 100);
  const result: ClientResult = { delivered_per_s: Math.round(delivered / seconds), p50_ms: rank(0.5), p99_ms: rank(0.99), published, samples: latencies.length };
  process.stdout.write(JSON.stringify(result) + '\n');
  for (const socket of sockets) socket.destroy();
  publisher?.destroy();
  process.exit(0);
}

// ─── The harness ────────────────────────────────────────────────────────────────────────

async function sample(name: string): Promise<ClientResult & { server_cpu_per_s: number }> {
  const server = startChild(0, benchNode(SELF, ['--role', 'server', '--server', name]));
  let errors = '';
  server.stderr!.setEncoding('utf8').on('data', (d: string) => (errors += d));
  try {
    const { port, pid } = await jsonLines(server.stdout!)(`server ${name}`, 30_000);
    const args = ['--role', 'clients', '--port', String(port)];
    for (const key of ['subscribers', 'duration', 'warmup', 'size', 'window'] as const) args.push(`--${key}`, String(opt[key]));
    const client = startChild(1, benchNode(SELF, args));
    client.stderr!.setEncoding('utf8').on('data', (d: string) => (errors += d));
    const next = jsonLines(client.stdout!);
    try {
      // The server's CPU over the measured seconds only (not the connection setup, not the warm-up).
      await next('clients: measuring', 300_000);
      const cpuAtStart = procCpuSeconds(Number(pid));
      const t0 = performance.now();
      const answer = (await next('clients: result', 300_000)) as unknown as ClientResult;
      const cpu = (procCpuSeconds(Number(pid)) - cpuAtStart) / ((performance.now() - t0) / 1000);
      return { ...answer, server_cpu_per_s: Math.round(cpu * 100) / 100 };
    } catch (error) {
      throw new Error(`${(error as Error).message}\n${errors}`);
    } finally {
      killTree(client, 'SIGKILL');
    }
  } finally {
    killTree(server, 'SIGKILL');
  }
}

async function main(): Promise<void> {
  if (opt.help) {
    console.log(readme());
    return;
  }
  installCleanup();
  const pinned = setupPinning(opt['no-pin']);
  const servers = opt.servers.split(',').map((s) => s.trim());
  for (const name of servers) if (name !== 'ours' && name !== 'ws') throw new Error(`unknown server ${name} (ours, ws)`);
  console.log(
    `fan-out: ${opt.subscribers} subscribers on one topic, one publisher, ${opt.size}-byte messages, window ${opt.window}, ` +
      `${opt.duration} s measured after ${opt.warmup} s, ${opt.rounds} round(s)${pinned ? ', server on core 0, clients on core 1' : ', not pinned'}`,
  );
  console.log('uWebSockets.js: not measured (not on the npm registry: `npm view uWebSockets.js` answers 404; it installs from GitHub only)');
  const results = new Map<string, Array<ClientResult & { server_cpu_per_s: number }>>();
  for (let round = 0; round < Number(opt.rounds); round++) {
    for (const name of round % 2 === 0 ? servers : [...servers].reverse()) {
      const r = await sample(name);
      console.log(`  ${name.padEnd(5)} ${JSON.stringify(r)}`);
      results.set(name, [...(results.get(name) ?? []), r]);
    }
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)];
  const summary = new Map<string, { rate: number; p50: number; p99: number; cpu: number }>();
  console.log('\nserver   delivered msg/s   p50 ms   p99 ms   server CPU s/s');
  for (const [name, rs] of results) {
    const s = {
      rate: median(rs.map((r) => r.delivered_per_s)),
      p50: median(rs.map((r) => r.p50_ms ?? NaN)),
      p99: median(rs.map((r) => r.p99_ms ?? NaN)),
      cpu: median(rs.map((r) => r.server_cpu_per_s)),
    };
    summary.set(name, s);
    console.log(`${name.padEnd(8)} ${String(s.rate).padStart(15)}   ${s.p50.toFixed(2).padStart(6)}   ${s.p99.toFixed(2).padStart(6)}   ${s.cpu.toFixed(2).padStart(14)}`);
  }
  const ours = summary.get('ours');
  const ws = summary.get('ws');
  if (ours && ws) {
    console.log(
      `\nours / ws: delivered msg/s ×${(ours.rate / ws.rate).toFixed(2)}, p99 latency ×${(ours.p99 / ws.p99).toFixed(2)} (lower is better), ` +
        `CPU per delivered message ×${(ours.cpu / ours.rate / (ws.cpu / ws.rate)).toFixed(2)} (lower is better)`,
    );
  }
}

function readme(): string {
  return 'usage: npx tsx bench/fanout.ts [--subscribers N] [--duration S] [--warmup S] [--rounds N] [--size BYTES] [--window N] [--servers ours,ws] [--no-pin]\nSee the header of bench/fanout.ts.';
}

if (opt.role === 'server') await serve(opt.server);
else if (opt.role === 'clients') await clients();
else await main();
