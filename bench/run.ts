// `npm run bench`: echo benchmark of our server against `ws` and a raw node:net ceiling.
//
// Every sample starts a fresh server child pinned to core 0 and a load generator child
// (bench/loadgen.ts) pinned to core 1; servers alternate within each scenario, round after
// round, with the starting server rotated each round; the table shows medians.
// D1, D2, DMEM run ours and ws with permessage-deflate on (raw does no deflate: skipped).
// See bench/README.md.
import { spawnSync } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { standingSvg } from './plot.js';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { machineInfo } from './common.js';
import {
  BENCH,
  ROOT,
  fdHardLimit,
  installCleanup,
  killAllNow,
  parseResultLine,
  runGenerator,
  setupPinning,
  startServer,
  stopServer,
  sleep,
  benchNode,
  waitQuiet,
  type Result,
  type Running,
  type ServerName,
} from './harness.js';

// ---------------------------------------------------------------------------------------
// Options

const USAGE = `usage: npm run bench -- [options]
  --rounds N         samples per server and scenario, alternating (default 3)
  --duration S       measured seconds per sample (default 3)
  --warmup S         warm-up seconds before measuring (default 1)
  --only LIST        scenarios, e.g. S1,S2 (default S1,S2,S3,S4,IDLE,D1,D2,DMEM; also FANOUT, STREAM,
                     STREAMRECV, and H2S1,H2S2,H2S4,H2MEM or H2 for all four: WebSockets over HTTP/2 vs HTTP/1.1)
  --servers LIST     servers, e.g. ours,ws (default ours,ws,raw)
  --idle-conns N     connections in the IDLE scenario (default 10000)
  --idle-hold S      seconds to hold them before reading RSS (default 3; DMEM too)
  --dmem-conns N     connections in the DMEM scenario (default 1000)
  --json FILE        machine-readable results (default bench/results.json)
  --svg FILE         the standing as a bar chart (default bench/results.svg)
  --quiet-wait S     before each sample wait up to S s for the machine to be idle (default 10, 0: off)
  --max-other C      retake a sample if other processes used more than C cores (default 0.3)
  --retries N        retakes per sample at most (default 1)
  --no-pin           do not pin to cores even if taskset works
  -h, --help`;

const { values: opt } = parseArgs({
  options: {
    rounds: { type: 'string', default: '3' },
    duration: { type: 'string', default: '3' },
    warmup: { type: 'string', default: '1' },
    only: { type: 'string', default: 'S1,S2,S3,S4,IDLE,D1,D2,DMEM' },
    servers: { type: 'string', default: 'ours,ws,raw' },
    'idle-conns': { type: 'string', default: '10000' },
    'idle-hold': { type: 'string', default: '3' },
    'dmem-conns': { type: 'string', default: '1000' },
    json: { type: 'string', default: path.join(BENCH, 'results.json') },
    svg: { type: 'string', default: path.join(BENCH, 'results.svg') },
    'quiet-wait': { type: 'string', default: '10' },
    'max-other': { type: 'string', default: '0.3' },
    retries: { type: 'string', default: '1' },
    'no-pin': { type: 'boolean', default: false },
    help: { type: 'boolean', short: 'h', default: false },
  },
  strict: true,
});
if (opt.help) {
  console.log(USAGE);
  process.exit(0);
}

const ROUNDS = posInt(opt.rounds!, '--rounds');
const DURATION = posNum(opt.duration!, '--duration');
const WARMUP = nonNeg(opt.warmup!, '--warmup');
const IDLE_CONNS = posInt(opt['idle-conns']!, '--idle-conns');
const IDLE_HOLD = nonNeg(opt['idle-hold']!, '--idle-hold');
const DMEM_CONNS = posInt(opt['dmem-conns']!, '--dmem-conns');
const DEFLATE_DISTINCT = 8; // distinct JSON-like payloads per deflate scenario
const DMEM_EXCHANGE = 3; // compressed messages each DMEM connection exchanges before the hold
const QUIET_WAIT = nonNeg(opt['quiet-wait']!, '--quiet-wait');
const QUIET_THRESHOLD = 0.2; // busy cores on the whole machine that still count as idle
const MAX_OTHER = nonNeg(opt['max-other']!, '--max-other');
const RETRIES = nonNeg(opt.retries!, '--retries');

function posInt(s: string, name: string): number {
  const n = Number(s);
  if (!Number.isInteger(n) || n < 1) usage(`${name} must be a positive integer`);
  return n;
}
function posNum(s: string, name: string): number {
  const n = Number(s);
  if (!(n > 0)) usage(`${name} must be a positive number`);
  return n;
}
function nonNeg(s: string, name: string): number {
  const n = Number(s);
  if (!(n >= 0)) usage(`${name} must be a number >= 0`);
  return n;
}
function usage(msg: string): never {
  console.error(`bench: ${msg}\n${USAGE}`);
  process.exit(2);
}

// ---------------------------------------------------------------------------------------
// Scenarios and servers

interface Scenario {
  id: string;
  title: string;
  unit: string; // what the table shows
  higherIsBetter: boolean;
  conns: number;
  size: number;
  binary: boolean;
  inflight: number;
  idle?: boolean;
  /** permessage-deflate on both ends: servers started with --deflate, JSON-like payloads
   * pre-compressed by the generator; raw is skipped (it does no WebSocket work at all). */
  deflate?: boolean;
  /** also show MB/s (payload bytes, before compression) in the table */
  alsoMB?: boolean;
  /** open loop: messages per second per connection (the table shows server CPU, %) */
  rate?: number;
}

const SCENARIOS: Scenario[] = [
  { id: 'S1', title: '100 conns, 16 B text, 1 in flight', unit: 'msg/s', higherIsBetter: true, conns: 100, size: 16, binary: false, inflight: 1 },
  { id: 'S2', title: '100 conns, 16 B text, 16 in flight', unit: 'msg/s', higherIsBetter: true, conns: 100, size: 16, binary: false, inflight: 16 },
  { id: 'S3', title: '10 conns, 16 KiB binary, 16 in flight', unit: 'msg/s', higherIsBetter: true, conns: 10, size: 16384, binary: true, inflight: 16 },
  { id: 'S4', title: '1 conn, 1 MiB binary, 2 in flight', unit: 'MB/s', higherIsBetter: true, conns: 1, size: 1 << 20, binary: true, inflight: 2 },
  { id: 'S5', title: '1,000 conns x 1 msg/s, 16 B text: server CPU', unit: 'CPU %', higherIsBetter: false, conns: 1000, size: 16, binary: false, inflight: 1, rate: 1 },
  { id: 'IDLE', title: `RSS per idle conn at ${IDLE_CONNS}`, unit: 'KiB/conn', higherIsBetter: false, conns: IDLE_CONNS, size: 0, binary: false, inflight: 1, idle: true },
  { id: 'D1', title: 'deflate: 100 conns, 1 KiB JSON text, 4 in flight', unit: 'msg/s', higherIsBetter: true, conns: 100, size: 1024, binary: false, inflight: 4, deflate: true },
  { id: 'D2', title: 'deflate: 10 conns, 64 KiB JSON text, 4 in flight', unit: 'msg/s', higherIsBetter: true, conns: 10, size: 65536, binary: false, inflight: 4, deflate: true, alsoMB: true },
  { id: 'DMEM', title: `deflate: RSS per conn at ${DMEM_CONNS}, ${DMEM_EXCHANGE} msgs each`, unit: 'KiB/conn', higherIsBetter: false, conns: DMEM_CONNS, size: 1024, binary: false, inflight: 1, idle: true, deflate: true },
];
/** Servers that take part in a scenario (raw has no permessage-deflate). */
const serversFor = (sc: Scenario): ServerName[] => (sc.deflate ? servers.filter((s) => s !== 'raw') : servers);

const SERVERS: readonly ServerName[] = ['ours', 'ws', 'raw'];

const only = opt.only!.split(',').map((s) => s.trim().toUpperCase()).filter(Boolean);
/**
 * Scenarios with their own script (their own clients and measures), run
 * after the echo scenarios with their default settings: FANOUT (10,000
 * subscribers on one topic, bench/fanout.ts), STREAM (a 256 MiB message
 * through sendStream(), bench/stream-send.ts) and STREAMRECV (a 256 MiB
 * message received streamed or whole, bench/stream-receive.ts). Run a script directly for
 * its options. The H2 scenarios (bench/http2.ts: WebSockets over HTTP/2
 * against HTTP/1.1 upgrades, both over TLS) run in one invocation of their
 * script, with --only, --duration and --warmup passed on.
 */
const SCRIPT_SCENARIOS: Record<string, string> = { FANOUT: 'bench/fanout.ts', FANOUT2: 'bench/fanout-scale.ts', STREAM: 'bench/stream-send.ts', STREAMRECV: 'bench/stream-receive.ts' };
const H2_SCENARIOS = ['H2', 'H2S1', 'H2S2', 'H2S4', 'H2MEM'];
const h2 = only.filter((s) => H2_SCENARIOS.includes(s));
const scripts = only.filter((s) => s in SCRIPT_SCENARIOS);
only.splice(0, only.length, ...only.filter((s) => !(s in SCRIPT_SCENARIOS) && !H2_SCENARIOS.includes(s)));
for (const s of only) if (!SCENARIOS.some((x) => x.id === s)) usage(`unknown scenario ${s}`);
const scenarios = SCENARIOS.filter((s) => only.includes(s.id));
const wanted = opt.servers!.split(',').map((s) => s.trim().toLowerCase()).filter(Boolean);
for (const s of wanted) if (!(SERVERS as readonly string[]).includes(s)) usage(`unknown server ${s}`);
const notes: string[] = [];
let servers = SERVERS.filter((s) => wanted.includes(s));
if (servers.includes('ours') && !existsSync(path.join(ROOT, 'src', 'index.ts'))) {
  servers = servers.filter((s) => s !== 'ours');
  notes.push('ours: src/index.ts does not exist yet: not measured');
}
if (servers.length === 0) usage('no server to measure');

installCleanup();
const PIN = setupPinning(opt['no-pin']!);
if (!PIN) {
  notes.push(
    opt['no-pin']
      ? 'not pinned (--no-pin): server and generator share all cores'
      : 'taskset unavailable or fewer than 2 cores: server and generator NOT pinned, they compete for CPU',
  );
}
const FD_HARD = fdHardLimit();

function runLoadgen(sc: Scenario, srv: Running): Promise<Result> {
  const args = ['--port', String(srv.port), '--pid', String(srv.pid), '--conns', String(sc.conns)];
  if (sc.deflate) args.push('--deflate', '--distinct', String(DEFLATE_DISTINCT));
  if (sc.idle && sc.deflate) args.push('--idle', String(IDLE_HOLD), '--connect-timeout', '120', '--size', String(sc.size), '--exchange', String(DMEM_EXCHANGE));
  else if (sc.idle) args.push('--idle', String(IDLE_HOLD), '--connect-timeout', '120');
  else {
    args.push('--size', String(sc.size), '--inflight', String(sc.inflight));
    args.push('--warmup', String(WARMUP), '--duration', String(DURATION));
    if (sc.binary) args.push('--binary');
    if (sc.rate !== undefined) args.push('--rate', String(sc.rate));
  }
  const limit = (sc.idle ? 150 + IDLE_HOLD : WARMUP + DURATION + 60) * 1000;
  return runGenerator(benchNode(path.join('bench', 'loadgen.ts'), args), srv, limit, parseResultLine);
}

// ---------------------------------------------------------------------------------------
// Measurement

function metricOf(sc: Scenario, r: Result): number | null {
  const v = sc.idle
    ? r.kib_per_conn
    : sc.rate !== undefined
      ? typeof r.srv_cpu === 'number'
        ? Math.round(r.srv_cpu * 1000) / 10
        : null
      : sc.unit === 'MB/s'
        ? r.mb_per_s
        : r.msgs_per_s;
  return typeof v === 'number' ? v : null;
}

function median(xs: number[]): number | null {
  if (xs.length === 0) return null;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

interface Cell {
  samples: Result[];
  values: number[];
  median: number | null;
  errors: string[];
}

function fmt(v: number | null, unit: string): string {
  if (v === null) return 'n/a';
  if (unit === 'msg/s') return Math.round(v).toLocaleString('en-US');
  if (unit === 'MB/s') return v.toFixed(1);
  return v.toFixed(2);
}

function ratio(a: number | null | undefined, b: number | null | undefined): string {
  if (a == null || b == null || b === 0) return 'n/a';
  return (a / b).toFixed(2);
}

function pad(rows: string[][]): string {
  const w = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  return rows.map((r) => r.map((c, i) => (i === 0 ? c.padEnd(w[i]) : c.padStart(w[i]))).join('  ')).join('\n');
}

async function main(): Promise<void> {
  const started = Date.now();
  const machine = {
    ...machineInfo(),
    pinned: PIN ? 'server: core 0, load generator: core 1' : 'no',
    fd_limit: FD_HARD,
  };
  console.log(`echo benchmark — ${new Date().toISOString()}`);
  console.log(`machine: ${machine.cpu}, ${machine.cores} cores, ${machine.memory_gib} GiB, node ${machine.node}, ${machine.platform}`);
  console.log(`pinning: ${machine.pinned}; fd hard limit ${FD_HARD}`);
  console.log(
    `servers: ${servers.join(', ')}; scenarios: ${scenarios.map((s) => s.id).join(', ')}; ` +
      `${ROUNDS} round(s), warm-up ${WARMUP} s + ${DURATION} s per sample`,
  );
  for (const n of notes) console.log(`note: ${n}`);

  const idle = scenarios.find((s) => s.id === 'IDLE');
  if (idle && FD_HARD > 0 && FD_HARD < IDLE_CONNS + 200) {
    console.log(`note: fd hard limit ${FD_HARD} < ${IDLE_CONNS} + margin: IDLE will likely fail (raise it with ulimit -Hn as root)`);
  }

  const cells = new Map<string, Cell>(); // `${scenario}/${server}`
  const failed = new Set<ServerName>(); // servers that cannot start at all
  const startFailures = new Map<ServerName, number>();
  const serverInfo = new Map<ServerName, Record<string, unknown>>(); // what each server reported
  const START_FAILURES = 3;
  for (const sc of scenarios) {
    console.log(`\n${sc.id}: ${sc.title}`);
    const scServers = serversFor(sc);
    if (scServers.length === 0) {
      console.log('  (no server to measure: raw does not do permessage-deflate)');
      continue;
    }
    for (const s of scServers) cells.set(`${sc.id}/${s}`, { samples: [], values: [], median: null, errors: [] });
    for (let round = 0; round < ROUNDS; round++) {
      const order = scServers.map((_, i) => scServers[(i + round) % scServers.length]);
      for (const name of order) {
        if (failed.has(name)) continue;
        const cell = cells.get(`${sc.id}/${name}`)!;
        // A sample disturbed by other processes (other_cpu > MAX_OTHER) is taken again, up to
        // RETRIES times; the least disturbed attempt is kept.
        let best: Result | null = null;
        for (let attempt = 0; attempt <= RETRIES; attempt++) {
          let srv: Running;
          try {
            srv = await startServer(name, notes, sc.deflate ? ['--deflate'] : []);
            const infoKey = (sc.deflate ? `${name}+deflate` : name) as ServerName;
            if (!serverInfo.has(infoKey)) {
              const { port: _p, pid: _q, ...info } = srv.info;
              serverInfo.set(infoKey, info);
              if (Object.keys(info).length > 0) console.log(`  (${name} server reports ${JSON.stringify(info)})`);
            }
          } catch (e) {
            // Tolerate a transient failure (e.g. someone reinstalling node_modules); give up
            // on a server that failed to start START_FAILURES times.
            const msg = (e as Error).message;
            console.log(`  round ${round + 1} ${name.padEnd(4)} FAILED TO START: ${msg}`);
            cell.errors.push(msg);
            startFailures.set(name, (startFailures.get(name) ?? 0) + 1);
            if (startFailures.get(name)! >= START_FAILURES) {
              failed.add(name);
              notes.push(`${name}: failed to start ${START_FAILURES} times, not measured further: ${msg.split('\n')[0]}`);
              break;
            }
            await sleep(2000);
            continue;
          }
          try {
            const busy = QUIET_WAIT > 0 ? await waitQuiet(QUIET_THRESHOLD, QUIET_WAIT) : 0;
            const r: Result = { round: round + 1, attempt: attempt + 1, busy_before: Math.round(busy * 100) / 100, ...(await runLoadgen(sc, srv)) };
            const other = typeof r.other_cpu === 'number' ? r.other_cpu : 0;
            const noisy = !sc.idle && other > MAX_OTHER;
            const extra = sc.idle
              ? (sc.deflate ? `${r.deflate}; ` : '') +
                `rss ${((r.srv_rss_before_kib as number) / 1024).toFixed(1)} -> ${((r.srv_rss_kib as number) / 1024).toFixed(1)} MiB, connect ${r.connect_s} s`
              : (sc.alsoMB ? `${r.mb_per_s} MB/s, ` : '') +
                (sc.deflate ? `${r.tx_wire_bytes} B/msg on the wire, ` : '') +
                `srv_cpu ${r.srv_cpu}, gen_cpu ${r.gen_cpu}, sirq ${r.sirq_cpu}, other ${r.other_cpu}, rss ${((r.srv_rss_kib as number) / 1024).toFixed(1)} MiB`;
            const warn =
              (!sc.idle && Number(r.gen_cpu) > 0.9 && Number(r.srv_cpu) < 0.9 ? '  [generator-bound?]' : '') +
              (noisy ? (attempt < RETRIES ? '  [disturbed: again]' : '  [disturbed]') : '');
            console.log(`  round ${round + 1} ${name.padEnd(4)} ${fmt(metricOf(sc, r), sc.unit).padStart(12)} ${sc.unit}  (${extra})${warn}`);
            if (best === null || other < (best.other_cpu as number)) best = r;
            if (!noisy) break;
          } catch (e) {
            const msg = (e as Error).message;
            console.log(`  round ${round + 1} ${name.padEnd(4)} FAILED: ${msg}`);
            cell.errors.push(msg);
            continue; // another attempt, if any left
          } finally {
            await stopServer(srv);
          }
        }
        if (best) {
          cell.samples.push(best);
          const v = metricOf(sc, best);
          if (v !== null) cell.values.push(v);
        }
      }
    }
    for (const s of scServers) {
      const c = cells.get(`${sc.id}/${s}`)!;
      c.median = median(c.values);
    }
  }

  // ---- summary table
  const rows: string[][] = [['scenario', 'unit', 'ours', 'ws', 'raw', 'ours/ws', 'ours/raw']];
  for (const sc of scenarios) {
    const med = (s: ServerName): number | null => cells.get(`${sc.id}/${s}`)?.median ?? null;
    const row = (title: string, unit: string, m: (s: ServerName) => number | null): string[] => [
      title,
      unit + (sc.higherIsBetter ? '' : ' (lower is better)'),
      fmt(m('ours'), unit),
      fmt(m('ws'), unit),
      sc.deflate ? '-' : fmt(m('raw'), unit),
      ratio(m('ours'), m('ws')),
      sc.deflate ? '-' : ratio(m('ours'), m('raw')),
    ];
    rows.push(row(`${sc.id} ${sc.title}`, sc.unit, med));
    if (sc.alsoMB) {
      const mb = (s: ServerName): number | null => median((cells.get(`${sc.id}/${s}`)?.samples ?? []).map((r) => Number(r.mb_per_s)));
      rows.push(row(`${sc.id} (same samples)`, 'MB/s', mb));
    }
  }
  const elapsed = (Date.now() - started) / 1000;
  console.log(`\nmedians of ${ROUNDS} alternating round(s):\n`);
  console.log(pad(rows));
  // server CPU per sample: a server below ~0.95 was not the bottleneck
  const cpuRows: string[][] = [['scenario', 'ours srv_cpu', 'ws srv_cpu', 'raw srv_cpu', 'max gen_cpu', 'max sirq_cpu', 'max other_cpu']];
  for (const sc of scenarios.filter((s) => !s.idle)) {
    const all: Result[] = [];
    const col = (s: ServerName): string => {
      const c = cells.get(`${sc.id}/${s}`);
      if (!c || c.samples.length === 0) return 'n/a';
      all.push(...c.samples);
      return (median(c.samples.map((r) => Number(r.srv_cpu))) ?? 0).toFixed(2);
    };
    const row = [sc.id, col('ours'), col('ws'), sc.deflate ? '-' : col('raw')];
    const mx = (k: string): string => (all.length ? Math.max(...all.map((r) => Number(r[k]))).toFixed(2) : 'n/a');
    cpuRows.push([...row, mx('gen_cpu'), mx('sirq_cpu'), mx('other_cpu')]);
  }
  if (cpuRows.length > 1) {
    console.log('\nCPU in the measured window (cores; medians for servers, max over all samples for the rest):\n');
    console.log(pad(cpuRows));
  }
  const maxOther = Math.max(
    0,
    ...[...cells.values()].flatMap((c) => c.samples.map((r) => (typeof r.other_cpu === 'number' ? r.other_cpu : 0))),
  );
  const noisy = [...cells.values()].reduce((n, c) => n + c.samples.filter((r) => Number(r.other_cpu) > MAX_OTHER).length, 0);
  if (noisy > 0) {
    notes.push(
      `${noisy} kept sample(s) were disturbed by other processes (other_cpu up to ${maxOther.toFixed(2)} cores > ${MAX_OTHER}): figures are noisy, run again on a quiet machine`,
    );
  }
  for (const n of notes) console.log(`note: ${n}`);
  console.log(`\ntotal time ${elapsed.toFixed(0)} s; results in ${path.relative(process.cwd(), opt.json!) || opt.json}`);

  const json = {
    date: new Date(started).toISOString(),
    elapsed_s: Math.round(elapsed),
    machine,
    options: { rounds: ROUNDS, duration_s: DURATION, warmup_s: WARMUP, quiet_wait_s: QUIET_WAIT, max_other_cpu: MAX_OTHER, retries: RETRIES, idle_conns: IDLE_CONNS, idle_hold_s: IDLE_HOLD, dmem_conns: DMEM_CONNS, servers, scenarios: scenarios.map((s) => s.id) },
    notes,
    server_info: Object.fromEntries(serverInfo),
    scenarios: scenarios.map((sc) => ({
      id: sc.id,
      title: sc.title,
      unit: sc.unit,
      higher_is_better: sc.higherIsBetter,
      params: {
        conns: sc.conns,
        size: sc.size,
        type: sc.binary ? 'binary' : 'text',
        inflight: sc.idle ? 0 : sc.inflight,
        ...(sc.deflate ? { deflate: true, payload: 'JSON-like text', distinct: DEFLATE_DISTINCT, ...(sc.idle ? { exchanged_per_conn: DMEM_EXCHANGE } : {}) } : {}),
      },
      results: Object.fromEntries(
        servers.map((s) => {
          const c = cells.get(`${sc.id}/${s}`);
          if (!c) return [s, null]; // not part of this scenario (raw in deflate scenarios)
          return [s, { median: c.median, values: c.values, samples: c.samples, errors: c.errors }];
        }),
      ),
    })),
  };
  writeFileSync(opt.json!, JSON.stringify(json, null, 2) + '\n');
  // The same medians as a bar chart (bench/plot.ts), for bench/RESULTS.md.
  writeFileSync(opt.svg!, standingSvg(json));
  console.log(`chart in ${path.relative(process.cwd(), opt.svg!) || opt.svg}`);
}

if (scenarios.length > 0) await main();
killAllNow();
if (h2.length > 0) {
  console.log(`\n${h2.join(',')}: bench/http2.ts (see bench/README.md)`);
  const args = ['--only', h2.join(','), '--rounds', String(ROUNDS), '--duration', String(DURATION), '--warmup', String(WARMUP), ...(opt['no-pin'] ? ['--no-pin'] : [])];
  const run = spawnSync(process.execPath, ['--import', 'tsx', path.join(ROOT, 'bench', 'http2.ts'), ...args], { stdio: 'inherit' });
  if (run.status !== 0) process.exitCode = 1;
}
for (const id of scripts) {
  console.log(`\n${id}: ${SCRIPT_SCENARIOS[id]} (see bench/README.md)`);
  const run = spawnSync(process.execPath, ['--import', 'tsx', path.join(ROOT, SCRIPT_SCENARIOS[id]), '--rounds', String(ROUNDS)], { stdio: 'inherit' });
  if (run.status !== 0) process.exitCode = 1;
}
