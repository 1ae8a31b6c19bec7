// Client benchmark: the message rate of OUR CLIENT (src/client, `connect()`) against our echo
// server, next to the `ws` package's client on the same server, same load. The echo benchmark
// (bench/run.ts) measures servers with a raw-socket generator; this one measures clients.
//
//   npx tsx bench/client-bench.ts                        # C1-C4, 3 rounds, ~2 min
//   npx tsx bench/client-bench.ts --only C2 --rounds 5 --servers ours,ws
//
// Each sample: a fresh server child on core 0 (bench/servers/NAME.ts), then this same file as
// a client child on core 1 (`--child ours|ws`), which opens the connections, keeps K messages
// in flight on each (closed loop: every echo received sends the next message), and prints one
// JSON line. Clients alternate between rounds; the table shows medians.
import os from 'node:os';
import { parseArgs } from 'node:util';
import { exitWithParent, makePayload, median, procCpuSeconds, procRssKiB } from './common.js';
import {
  installCleanup,
  runGenerator,
  setupPinning,
  sleep,
  startServer,
  stopServer,
  benchNode,
  waitQuiet,
  type Result,
  type ServerName,
} from './harness.js';

interface Scenario {
  id: string;
  conns: number;
  size: number;
  inflight: number;
  binary: boolean;
  what: string;
}

const SCENARIOS: Scenario[] = [
  { id: 'C1', conns: 1, size: 16, inflight: 1, binary: false, what: '1 conn × 16 B text, 1 in flight (round-trip latency)' },
  { id: 'C2', conns: 50, size: 16, inflight: 16, binary: false, what: '50 conns × 16 B text, 16 in flight (per-message cost)' },
  { id: 'C3', conns: 10, size: 16 * 1024, inflight: 4, binary: true, what: '10 conns × 16 KiB binary, 4 in flight (masking)' },
  { id: 'C4', conns: 1, size: 1024 * 1024, inflight: 2, binary: true, what: '1 conn × 1 MiB binary, 2 in flight (bulk, MB/s)' },
];

type ClientName = 'ours' | 'ws';

const { values } = parseArgs({
  options: {
    child: { type: 'string' },
    port: { type: 'string' },
    pid: { type: 'string' },
    scenario: { type: 'string' },
    rounds: { type: 'string', default: '3' },
    duration: { type: 'string', default: '3' },
    warmup: { type: 'string', default: '1' },
    only: { type: 'string', default: SCENARIOS.map((s) => s.id).join(',') },
    clients: { type: 'string', default: 'ours,ws' },
    servers: { type: 'string', default: 'ours' },
    'quiet-wait': { type: 'string', default: '20' },
    'no-pin': { type: 'boolean', default: false },
    help: { type: 'boolean', short: 'h', default: false },
  },
});

if (values.help) {
  console.log(`usage: npx tsx bench/client-bench.ts [--only C1,C2,C3,C4] [--clients ours,ws] [--servers ours[,ws]]
       [--rounds 3] [--duration 3] [--warmup 1] [--quiet-wait 20] [--no-pin]

${SCENARIOS.map((s) => `  ${s.id}  ${s.what}`).join('\n')}`);
  process.exit(0);
}

if (values.child !== undefined) await runClient(values.child as ClientName);
else await runHarness();

// ---------------------------------------------------------------- harness

async function runHarness(): Promise<void> {
  installCleanup();
  const pinned = setupPinning(values['no-pin']);
  const rounds = Number(values.rounds);
  const duration = Number(values.duration);
  const warmup = Number(values.warmup);
  const scenarios = SCENARIOS.filter((s) => values.only.split(',').includes(s.id));
  const clients = values.clients.split(',') as ClientName[];
  const servers = values.servers.split(',') as ServerName[];
  const notes: string[] = [];
  console.log(`client benchmark: ${os.cpus()[0]?.model ?? 'unknown CPU'}, ${os.availableParallelism()} cores, Node ${process.version}, ${new Date().toISOString()}`);
  console.log(pinned ? 'server pinned to core 0, client to core 1' : 'not pinned (taskset missing or < 2 cores): figures mean less');
  console.log(`${rounds} rounds × ${duration} s (+${warmup} s warm-up) per sample\n`);

  const samples = new Map<string, Result[]>();
  for (const server of servers) {
    for (const scenario of scenarios) {
      for (let round = 0; round < rounds; round++) {
        // Alternate the order so slow drifts of the machine hit both clients alike.
        const order = round % 2 === 0 ? clients : [...clients].reverse();
        for (const client of order) {
          await waitQuiet(0.3, Number(values['quiet-wait']));
          const srv = await startServer(server, notes);
          try {
            const args = ['--child', client, '--port', String(srv.port), '--pid', String(srv.pid), '--scenario', scenario.id, '--duration', String(duration), '--warmup', String(warmup)];
            const result = await runGenerator(benchNode('bench/client-bench.ts', args), srv, (duration + warmup + 30) * 1000, parseChild);
            const key = `${server}/${scenario.id}/${client}`;
            samples.set(key, [...(samples.get(key) ?? []), result]);
            console.log(
              `  ${scenario.id} server=${server} client=${client.padEnd(4)} ${fmt(Number(result.msgs_per_s))} msg/s  ${Number(result.mb_per_s).toFixed(1).padStart(7)} MB/s  client_cpu ${Number(result.client_cpu).toFixed(2)}  srv_cpu ${Number(result.srv_cpu).toFixed(2)}`,
            );
          } finally {
            await stopServer(srv);
          }
          await sleep(200);
        }
      }
    }
  }

  console.log('\nmedians (msg/s; MB/s for C4)\n');
  console.log(`| server | scenario | ${clients.map((c) => `${c} client`).join(' | ')} | ${clients.length === 2 ? `${clients[0]}/${clients[1]} | ` : ''}client CPU (${clients.join(' / ')}) |`);
  console.log(`|---|---|${clients.map(() => '---:|').join('')}${clients.length === 2 ? '---:|' : ''}---|`);
  for (const server of servers) {
    for (const scenario of scenarios) {
      const medians = clients.map((c) => median((samples.get(`${server}/${scenario.id}/${c}`) ?? []).map((r) => Number(scenario.id === 'C4' ? r.mb_per_s : r.msgs_per_s))));
      const cpus = clients.map((c) => median((samples.get(`${server}/${scenario.id}/${c}`) ?? []).map((r) => Number(r.client_cpu))).toFixed(2));
      const ratio = clients.length === 2 ? ` ${(medians[0] / medians[1]).toFixed(2)} |` : '';
      console.log(`| ${server} | ${scenario.id} | ${medians.map((m) => (scenario.id === 'C4' ? `${m.toFixed(0)} MB/s` : fmt(m))).join(' | ')} |${ratio} ${cpus.join(' / ')} |`);
    }
  }
  for (const note of notes) console.log(`note: ${note}`);
}

function parseChild(stdout: string, code: number | null): Result {
  const line = stdout.trim().split('\n').pop() ?? '';
  let r: Result;
  try {
    r = JSON.parse(line) as Result;
  } catch {
    throw new Error(`client exited (${code}) without a result`);
  }
  if (r.error) throw new Error(String(r.error));
  return r;
}

function fmt(n: number): string {
  return Math.round(n).toLocaleString('en-US').padStart(10);
}

// ---------------------------------------------------------------- client child

/** A connection as the closed loop needs it, whatever the library. */
interface LoopConnection {
  /** Send the next message. */
  send(): void;
  /** Call `onEcho` for every message received. */
  onMessage(onEcho: () => void): void;
  terminate(): void;
}

async function openOurs(url: string, payload: string | Buffer): Promise<LoopConnection> {
  const { connect } = await import('../src/index.js');
  const ws = await connect(url, { maxMessageSize: 64 * 1024 * 1024 });
  return {
    send: () => void ws.send(payload),
    onMessage: (onEcho) => ws.on('message', onEcho),
    terminate: () => ws.terminate(),
  };
}

async function openWs(url: string, payload: string | Buffer): Promise<LoopConnection> {
  const { default: WebSocket } = await import('ws');
  const ws = new WebSocket(url, { perMessageDeflate: false, maxPayload: 64 * 1024 * 1024 });
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  const binary = typeof payload !== 'string';
  return {
    send: () => ws.send(payload, { binary }),
    onMessage: (onEcho) => ws.on('message', onEcho),
    terminate: () => ws.terminate(),
  };
}

async function runClient(name: ClientName): Promise<void> {
  exitWithParent();
  const fail = (message: string): never => {
    process.stdout.write(JSON.stringify({ error: message }) + '\n', () => process.exit(1));
    throw new Error(message);
  };
  const scenario = SCENARIOS.find((s) => s.id === values.scenario) ?? fail(`unknown scenario ${values.scenario}`);
  const port = Number(values.port);
  const serverPid = Number(values.pid);
  const duration = Number(values.duration);
  const warmup = Number(values.warmup);
  const url = `ws://127.0.0.1:${port}/`;
  const bytes = makePayload(scenario.size, scenario.binary);
  const payload = scenario.binary ? bytes : bytes.toString('latin1');
  const open = name === 'ours' ? openOurs : name === 'ws' ? openWs : fail(`unknown client ${name}`);

  let received = 0;
  const connections: LoopConnection[] = [];
  try {
    for (let i = 0; i < scenario.conns; i++) connections.push(await open(url, payload));
  } catch (error) {
    fail(`connect: ${(error as Error).message}`);
  }
  for (const c of connections) {
    c.onMessage(() => {
      received++;
      c.send();
    });
    for (let k = 0; k < scenario.inflight; k++) c.send();
  }
  await sleep(warmup * 1000);
  const startCount = received;
  const startCpu = process.cpuUsage();
  const startSrv = procCpuSeconds(serverPid);
  const startedAt = process.hrtime.bigint();
  await sleep(duration * 1000);
  const elapsed = Number(process.hrtime.bigint() - startedAt) / 1e9;
  const count = received - startCount;
  const cpu = process.cpuUsage(startCpu);
  const srv = procCpuSeconds(serverPid);
  const result = {
    client: name,
    scenario: scenario.id,
    msgs_per_s: count / elapsed,
    mb_per_s: (count * scenario.size) / elapsed / 1e6,
    client_cpu: (cpu.user + cpu.system) / 1e6 / elapsed,
    srv_cpu: startSrv < 0 || srv < 0 ? -1 : (srv - startSrv) / elapsed,
    srv_rss_kib: procRssKiB(serverPid),
  };
  for (const c of connections) c.terminate();
  process.stdout.write(JSON.stringify(result) + '\n', () => process.exit(0));
}
