// Fan-out across processes: one topic, N subscribers spread over 2 server processes, one
// publisher connected to one of them; ours in four topologies against Socket.IO 4 on Redis.
//
//   npx tsx bench/fanout-scale.ts [--subscribers 10000] [--duration 3] [--warmup 1] [--rounds 1]
//                                 [--size 64] [--window 4] [--rate 0] [--modes one,cluster,redis,sio]
//
// Modes (each sample starts fresh children, and its own redis-server on a free port, no persistence):
// - one:     one process, createServer(); server.publish('bench', message) (the baseline);
// - cluster: runWorkers({ workers: 2 }): two node:cluster workers sharing one port (the primary
//            hands connections round-robin), topics joined through the primary over IPC;
// - redis:   two separate processes on two ports, createServer({ backplane: redisBackplane({ url }) });
//            subscribers alternate between the ports, the publisher is on the first;
// - sio:     Socket.IO 4 with @socket.io/redis-adapter (node-redis clients) on the same Redis, two
//            processes on two ports, subscribers alternate and join the room `bench` on connect, the
//            publisher emits 'm' and its server does io.to('bench').emit('m', data); the load
//            generator is socket.io-client (websocket transport only).
// The client child (one process) opens the subscribers (ours: bare sockets that count bytes, one in
// 50 parses its frames for the latency, as in bench/fanout.ts; sio: socket.io-client sockets, one in
// 50 reads the stamp) and one publisher, which either keeps `window` messages in flight (full speed)
// or, with --rate N, publishes N messages/s whatever the delivery (a fixed rate). Each message carries
// its send time (ours: an 8-byte double in a binary message of --size bytes; sio: the same time as
// decimal text padded to --size characters, a text message: Socket.IO would send a Buffer as two
// frames, an event header and an attachment).
// Reported: messages delivered per second (to all subscribers together), latency p50/p99 from publish
// to receipt, the CPU seconds per second of the server processes together and of redis-server; then
// the ratios against `one` and `sio`. Every mode gets the same subscriber count (default 10,000:
// socket.io-client opens them in one process too, in about half a minute; --subscribers 2000 for a quick run).
// Nothing is pinned: two server processes, redis-server and the client child share the machine's cores,
// and the client child is the ceiling at full speed: compare ratios, and the fixed-rate latencies.
import http from 'node:http';
import net from 'node:net';
import { spawnSync, type ChildProcess } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import { createServer } from '../src/index.js';
import { runWorkers } from '../src/cluster/workers.js';
import { redisBackplane, type Backplane } from '../src/redis/index.js';
import { announce, exitWithParent, frameHeader, jsonLines, openBareWebSocket, procCpuSeconds } from './common.js';
import { installCleanup, killTree, setupPinning, sleep, startChild, benchNode } from './harness.js';

const SELF = fileURLToPath(import.meta.url);
const TOPIC = 'bench';
const PROBE_EVERY = 50;
const HANDSHAKE_CONCURRENCY = 128;
const MODES = ['one', 'cluster', 'redis', 'sio'] as const;
type Mode = (typeof MODES)[number];

const { values: opt } = parseArgs({
  options: {
    role: { type: 'string', default: 'main' },
    mode: { type: 'string', default: 'one' },
    ports: { type: 'string', default: '' },
    redis: { type: 'string', default: '' },
    subscribers: { type: 'string', default: '10000' },
    duration: { type: 'string', default: '3' },
    warmup: { type: 'string', default: '1' },
    rounds: { type: 'string', default: '1' },
    size: { type: 'string', default: '64' },
    window: { type: 'string', default: '4' },
    rate: { type: 'string', default: '0' },
    modes: { type: 'string', default: MODES.join(',') },
    help: { type: 'boolean', short: 'h', default: false },
  },
  // node:cluster forks this script with the same argv: a worker sees the server's flags.
  strict: false,
});
const str = (key: keyof typeof opt): string => String(opt[key]);

// ─── The server children ────────────────────────────────────────────────────────────────

function oursServer(backplane?: Backplane) {
  const server = createServer({ host: '127.0.0.1', maxMessageSize: 1 << 20, ...(backplane ? { backplane } : {}) });
  server.route('/sub', (ws) => ws.subscribe(TOPIC));
  server.route('/pub', (ws) =>
    ws.on('message', (message) => {
      // A remote publish that fails (a full queue toward Redis) is dropped, as a subscriber would see it.
      server.publish(TOPIC, message).remote?.catch(() => {});
    }),
  );
  server.on('error', () => {});
  return server;
}

async function serve(mode: Mode): Promise<void> {
  exitWithParent();
  if (mode === 'one') {
    const { port } = await oursServer().listen(0);
    announce(port, { mode });
  } else if (mode === 'cluster') {
    const pool = await runWorkers({
      workers: 2,
      handleSignals: false,
      setup: async (backplane) => {
        const server = oursServer(backplane);
        await server.listen(0);
        return server;
      },
    });
    if (pool.role === 'primary') announce(await pool.ready, { mode });
  } else if (mode === 'redis') {
    const { port } = await oursServer(redisBackplane({ url: str('redis') })).listen(0);
    announce(port, { mode });
  } else {
    const [{ Server }, { createAdapter }, { createClient }] = await Promise.all([
      import('socket.io'),
      import('@socket.io/redis-adapter'),
      import('redis'),
    ]);
    const pub = createClient({ url: str('redis') });
    const sub = pub.duplicate();
    pub.on('error', () => {});
    sub.on('error', () => {});
    await Promise.all([pub.connect(), sub.connect()]);
    const httpServer = http.createServer();
    const io = new Server(httpServer, { transports: ['websocket'], perMessageDeflate: false, maxHttpBufferSize: 1 << 20 });
    io.adapter(createAdapter(pub, sub));
    io.on('connection', (socket) => {
      if (socket.handshake.query.role === 'pub') socket.on('m', (data: string) => io.to(TOPIC).emit('m', data));
      else socket.join(TOPIC);
    });
    httpServer.listen(0, '127.0.0.1', () => announce((httpServer.address() as net.AddressInfo).port, { mode }));
  }
}

// ─── The client child: subscribers and the publisher ────────────────────────────────────

interface ClientResult {
  delivered_per_s: number;
  p50_ms: number | null;
  p99_ms: number | null;
  published: number;
  samples: number;
}

/** What each kind of client gives the shared driver below. */
interface Load {
  /** Messages delivered so far (to all subscribers together). */
  delivered(): number;
  /** Send one message stamped with `stamp` (ms since the epoch). */
  publish(stamp: number): void;
  close(): void;
}

async function clients(mode: Mode): Promise<void> {
  exitWithParent();
  const ports = str('ports').split(',').map(Number);
  const count = Number(opt.subscribers);
  const size = Number(opt.size);
  const window = Number(opt.window);
  const rate = Number(opt.rate);
  if (!(size >= 24 && size <= 65_535)) throw new Error('--size: 24 to 65535 bytes (the send time takes up to 24)');
  const latencies: number[] = [];
  let measuring = false;
  let onDelivery = (): void => {};
  const now = (): number => performance.timeOrigin + performance.now();
  const record = (stamp: number): void => {
    if (measuring) latencies.push(now() - stamp);
  };
  const load = mode === 'sio' ? await sioLoad(ports, count, size, record, () => onDelivery()) : await oursLoad(ports, count, size, record, () => onDelivery());

  let published = 0;
  let running = true;
  let sending = false;
  if (rate > 0) {
    // A fixed rate: whatever has fallen due since the start, every 2 ms.
    const t0 = performance.now();
    const timer = setInterval(() => {
      if (!running) return clearInterval(timer);
      const due = Math.floor(((performance.now() - t0) / 1000) * rate);
      while (published < due) {
        load.publish(now());
        published++;
      }
    }, 2);
  } else {
    // Full speed: at most `window` messages in flight (published minus delivered / subscribers).
    onDelivery = () => {
      if (sending || !running) return;
      sending = true;
      while (published - load.delivered() / count < window) {
        load.publish(now());
        published++;
      }
      sending = false;
    };
    onDelivery();
  }
  await sleep(Number(opt.warmup) * 1000);
  measuring = true;
  process.stdout.write(JSON.stringify({ phase: 'measuring' }) + '\n');
  const startDelivered = load.delivered();
  const start = performance.now();
  await sleep(Number(opt.duration) * 1000);
  const seconds = (performance.now() - start) / 1000;
  const delivered = load.delivered() - startDelivered;
  measuring = false;
  running = false;
  latencies.sort((a, b) => a - b);
  const rank = (q: number) => (latencies.length === 0 ? null : Math.round(latencies[Math.min(latencies.length - 1, Math.ceil(q * latencies.length) - 1)] * 100) / 100);
  const result: ClientResult = { delivered_per_s: Math.round(delivered / seconds), p50_ms: rank(0.5), p99_ms: rank(0.99), published, samples: latencies.length };
  process.stdout.write(JSON.stringify(result) + '\n');
  load.close();
  process.exit(0);
}

/** Bare sockets on ours (as in bench/fanout.ts): count bytes, one in PROBE_EVERY parses for the stamp. */
async function oursLoad(ports: number[], count: number, size: number, record: (stamp: number) => void, delivery: () => void): Promise<Load> {
  const frameBytes = frameHeader(2, size, null).length + size;
  let deliveredBytes = 0;
  const open = openBareWebSocket;
  const counter = (chunk: Buffer): void => {
    deliveredBytes += chunk.length;
    delivery();
  };
  const prober = (): ((chunk: Buffer) => void) => {
    let pending: Buffer = Buffer.alloc(0);
    return (chunk) => {
      deliveredBytes += chunk.length;
      pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
      let offset = 0;
      for (; offset + frameBytes <= pending.length; offset += frameBytes) record(pending.readDoubleLE(offset + frameBytes - size));
      pending = pending.subarray(offset);
      delivery();
    };
  };
  const sockets: net.Socket[] = [];
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < count) {
      const index = next++;
      sockets.push(await open(ports[index % ports.length], '/sub', index % PROBE_EVERY === 0 ? prober() : counter));
    }
  };
  await Promise.all(Array.from({ length: HANDSHAKE_CONCURRENCY }, worker));
  const publisher = await open(ports[0], '/pub', () => {});
  // Masked binary frames with a zero mask (the payload goes as is), stamped with their send time.
  const header = frameHeader(2, size, Buffer.alloc(4));
  return {
    delivered: () => deliveredBytes / frameBytes,
    publish(stamp) {
      const frame = Buffer.alloc(header.length + size);
      header.copy(frame);
      frame.writeDoubleLE(stamp, header.length);
      publisher.write(frame);
    },
    close() {
      for (const socket of sockets) socket.destroy();
      publisher.destroy();
    },
  };
}

/** socket.io-client sockets: every 'm' counts, one in PROBE_EVERY reads the stamp. */
async function sioLoad(ports: number[], count: number, size: number, record: (stamp: number) => void, delivery: () => void): Promise<Load> {
  const { io } = await import('socket.io-client');
  type ClientSocket = ReturnType<typeof io>;
  let delivered = 0;
  const connect = (port: number, role: 'sub' | 'pub'): Promise<ClientSocket> =>
    new Promise((resolve, reject) => {
      const socket = io(`http://127.0.0.1:${port}`, { transports: ['websocket'], forceNew: true, reconnection: false, query: { role } });
      socket.once('connect', () => resolve(socket));
      socket.once('connect_error', reject);
    });
  const sockets: ClientSocket[] = [];
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < count) {
      const index = next++;
      const socket = await connect(ports[index % ports.length], 'sub');
      if (index % PROBE_EVERY === 0) {
        socket.on('m', (data: string) => {
          delivered++;
          record(Number.parseFloat(data));
          delivery();
        });
      } else {
        socket.on('m', () => {
          delivered++;
          delivery();
        });
      }
      sockets.push(socket);
    }
  };
  await Promise.all(Array.from({ length: HANDSHAKE_CONCURRENCY }, worker));
  const publisher = await connect(ports[0], 'pub');
  return {
    delivered: () => delivered,
    publish(stamp) {
      publisher.emit('m', String(stamp).padEnd(size, ' '));
    },
    close() {
      for (const socket of sockets) socket.disconnect();
      publisher.disconnect();
    },
  };
}

// ─── The harness ────────────────────────────────────────────────────────────────────────

/** CPU seconds used so far by every process in the group `leader` leads (a cluster primary and its workers). */
function groupCpuSeconds(leader: number): number {
  const ps = spawnSync('ps', ['-o', 'pid=', '-g', String(leader)], { encoding: 'utf8' });
  let total = 0;
  for (const pid of ps.stdout.split('\n').map((s) => Number(s.trim())).filter((n) => n > 0)) {
    try {
      total += procCpuSeconds(pid);
    } catch {
      /* gone */
    }
  }
  return total;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = net.createServer();
    probe.on('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as net.AddressInfo;
      probe.close(() => resolve(port));
    });
  });
}

/** A redis-server of our own on a free port, no persistence; resolves once it accepts connections. */
async function startRedis(): Promise<{ proc: ChildProcess; url: string }> {
  const port = await freePort();
  const proc = startChild(0, ['redis-server', '--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no']);
  for (let i = 0; i < 100; i++) {
    const up = await new Promise<boolean>((resolve) => {
      const socket = net.connect(port, '127.0.0.1', () => {
        socket.destroy();
        resolve(true);
      });
      socket.on('error', () => resolve(false));
    });
    if (up) return { proc, url: `redis://127.0.0.1:${port}` };
    await sleep(50);
  }
  killTree(proc, 'SIGKILL');
  throw new Error('redis-server did not start');
}

type Sample = ClientResult & { server_cpu_per_s: number; redis_cpu_per_s: number | null };

async function sample(mode: Mode): Promise<Sample> {
  const procs: ChildProcess[] = [];
  let errors = '';
  const watch = (c: ChildProcess): ChildProcess => {
    procs.push(c);
    c.stderr!.setEncoding('utf8').on('data', (d: string) => (errors += d));
    return c;
  };
  try {
    const redis = mode === 'redis' || mode === 'sio' ? await startRedis() : null;
    if (redis) procs.push(redis.proc);
    const serverCount = mode === 'redis' || mode === 'sio' ? 2 : 1;
    const servers = Array.from({ length: serverCount }, () =>
      watch(startChild(0, benchNode(SELF, ['--role', 'server', '--mode', mode, ...(redis ? ['--redis', redis.url] : [])]))),
    );
    const announced = await Promise.all(servers.map((s, i) => jsonLines(s.stdout!)(`server ${mode} #${i}`, 60_000)));
    const args = ['--role', 'clients', '--mode', mode, '--ports', announced.map((a) => a.port).join(',')];
    for (const key of ['subscribers', 'duration', 'warmup', 'size', 'window', 'rate'] as const) args.push(`--${key}`, str(key));
    const client = watch(startChild(1, benchNode(SELF, args)));
    const next = jsonLines(client.stdout!);
    try {
      await next('clients: measuring', 600_000);
      const serverCpu = () => servers.reduce((sum, s) => sum + groupCpuSeconds(s.pid!), 0);
      const cpu0 = serverCpu();
      const redis0 = redis ? groupCpuSeconds(redis.proc.pid!) : 0;
      const t0 = performance.now();
      const answer = (await next('clients: result', 120_000)) as unknown as ClientResult;
      const seconds = (performance.now() - t0) / 1000;
      const round = (x: number) => Math.round(x * 100) / 100;
      return {
        ...answer,
        server_cpu_per_s: round((serverCpu() - cpu0) / seconds),
        redis_cpu_per_s: redis ? round((groupCpuSeconds(redis.proc.pid!) - redis0) / seconds) : null,
      };
    } catch (error) {
      throw new Error(`${(error as Error).message}\n${errors.slice(-2000)}`);
    }
  } finally {
    for (const c of procs.reverse()) killTree(c, 'SIGKILL');
  }
}

async function main(): Promise<void> {
  if (opt.help) {
    console.log('usage: npx tsx bench/fanout-scale.ts [--subscribers N] [--duration S] [--warmup S] [--rounds N] [--size BYTES] [--window N] [--rate MSG_PER_S] [--modes one,cluster,redis,sio]\nSee the header of bench/fanout-scale.ts.');
    return;
  }
  installCleanup();
  setupPinning(true); // nothing pinned: the server processes, redis-server and the clients share the cores
  const modes = str('modes').split(',').map((s) => s.trim()) as Mode[];
  for (const m of modes) if (!MODES.includes(m)) throw new Error(`unknown mode ${m} (${MODES.join(', ')})`);
  const rate = Number(opt.rate);
  console.log(
    `fan-out across processes: ${str('subscribers')} subscribers on one topic, one publisher, ${str('size')}-byte messages, ` +
      `${rate > 0 ? `fixed rate ${rate} msg/s` : `full speed (window ${str('window')})`}, ${str('duration')} s measured after ${str('warmup')} s, ` +
      `${str('rounds')} round(s), not pinned`,
  );
  const results = new Map<Mode, Sample[]>();
  for (let round = 0; round < Number(opt.rounds); round++) {
    for (const mode of round % 2 === 0 ? modes : [...modes].reverse()) {
      const r = await sample(mode);
      console.log(`  ${mode.padEnd(7)} ${JSON.stringify(r)}`);
      results.set(mode, [...(results.get(mode) ?? []), r]);
    }
  }
  const median = (xs: number[]) => {
    const sorted = [...xs].sort((a, b) => a - b);
    const middle = (sorted.length - 1) / 2;
    return (sorted[Math.floor(middle)] + sorted[Math.ceil(middle)]) / 2;
  };
  const summary = new Map<Mode, { rate: number; p50: number; p99: number; cpu: number; redis: number | null }>();
  console.log('\nmode     delivered msg/s   p50 ms   p99 ms   servers CPU s/s   redis CPU s/s   ×one rate   ×sio rate   ×sio p99');
  for (const [mode, rs] of results) {
    summary.set(mode, {
      rate: median(rs.map((r) => r.delivered_per_s)),
      p50: median(rs.map((r) => r.p50_ms ?? NaN)),
      p99: median(rs.map((r) => r.p99_ms ?? NaN)),
      cpu: median(rs.map((r) => r.server_cpu_per_s)),
      redis: rs[0].redis_cpu_per_s === null ? null : median(rs.map((r) => r.redis_cpu_per_s ?? NaN)),
    });
  }
  const one = summary.get('one');
  const sio = summary.get('sio');
  const ratio = (a: number, b: number | undefined) => (b === undefined ? '—' : `×${(a / b).toFixed(2)}`);
  for (const [mode, s] of summary) {
    console.log(
      `${mode.padEnd(8)} ${String(Math.round(s.rate)).padStart(15)}   ${s.p50.toFixed(2).padStart(6)}   ${s.p99.toFixed(2).padStart(6)}   ` +
        `${s.cpu.toFixed(2).padStart(15)}   ${(s.redis === null ? '—' : s.redis.toFixed(2)).padStart(13)}   ` +
        `${ratio(s.rate, one?.rate).padStart(9)}   ${ratio(s.rate, sio?.rate).padStart(9)}   ${ratio(s.p99, sio?.p99).padStart(8)}`,
    );
  }
}

if (opt.role === 'server') await serve(str('mode') as Mode);
else if (opt.role === 'clients') await clients(str('mode') as Mode);
else await main();
