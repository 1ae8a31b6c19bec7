// Cross-check bench/loadgen.ts against an independent generator (wsgen, a C epoll load
// generator that is NOT part of this project; build it yourself, see bench/README.md).
//
//   npx tsx bench/crosscheck.ts --wsgen /tmp/wsgen [--servers raw,ws,ours] [--only S1,S2,S3]
//                               [--rounds 3] [--duration 5] [--warmup 1]
//
// For each scenario and server it starts ONE server (core 0) and drives it alternately with
// loadgen.ts and wsgen (core 1), same parameters (waiting before each run, up to 30 s, for
// the machine to be idle), and prints the medians side by side. If
// loadgen's figure is well below wsgen's on the same server, loadgen is the bottleneck there.
import { existsSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import {
  ROOT,
  installCleanup,
  killAllNow,
  parseResultLine,
  runGenerator,
  setupPinning,
  startServer,
  stopServer,
  benchNode,
  waitQuiet,
  type Result,
  type ServerName,
} from './harness.js';

const { values: opt } = parseArgs({
  options: {
    wsgen: { type: 'string' },
    servers: { type: 'string', default: 'raw,ws,ours' },
    only: { type: 'string', default: 'S1,S2,S3' },
    rounds: { type: 'string', default: '3' },
    duration: { type: 'string', default: '5' },
    warmup: { type: 'string', default: '1' },
  },
  strict: true,
});
if (!opt.wsgen || !existsSync(opt.wsgen)) {
  console.error('usage: npx tsx bench/crosscheck.ts --wsgen PATH_TO_WSGEN [--servers raw,ws,ours] [--only S1,S2,S3] [--rounds 3] [--duration 5]');
  process.exit(2);
}
const WSGEN = path.resolve(opt.wsgen);
const ROUNDS = Number(opt.rounds);
const DURATION = Number(opt.duration);
const WARMUP = Number(opt.warmup);

interface Sc {
  id: string;
  conns: number;
  size: number;
  binary: boolean;
  inflight: number;
}
const ALL: Sc[] = [
  { id: 'S1', conns: 100, size: 16, binary: false, inflight: 1 },
  { id: 'S2', conns: 100, size: 16, binary: false, inflight: 16 },
  { id: 'S3', conns: 10, size: 16384, binary: true, inflight: 16 },
  { id: 'S4', conns: 1, size: 1 << 20, binary: true, inflight: 2 },
];
const only = opt.only!.toUpperCase().split(',');
const scenarios = ALL.filter((s) => only.includes(s.id));
let servers = opt.servers!.split(',') as ServerName[];
if (servers.includes('ours') && !existsSync(path.join(ROOT, 'src', 'index.ts'))) {
  console.log('note: src/index.ts does not exist yet: ours skipped');
  servers = servers.filter((s) => s !== 'ours');
}

installCleanup();
const notes: string[] = [];
if (!setupPinning(false)) console.log('note: NOT pinned (taskset unavailable or < 2 cores)');

function parseWsgen(stdout: string): Result {
  const line = stdout.split('\n').find((l) => l.startsWith('RESULT ')) ?? '';
  const r: Result = {};
  for (const m of line.matchAll(/(\w+)=("[^"]*"|\S+)/g)) {
    const v = m[2].replace(/^"|"$/g, '');
    r[m[1]] = /^-?[\d.]+$/.test(v) ? Number(v) : v;
  }
  if (r.error) throw new Error(String(r.error));
  if (r.msgs_per_s === undefined) throw new Error(`no RESULT line: ${stdout.slice(0, 300)}`);
  return r;
}

const med = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

const rows: string[][] = [['scenario', 'server', 'loadgen msg/s', 'wsgen msg/s', 'loadgen/wsgen', 'loadgen gen_cpu', 'wsgen gen_cpu', 'srv_cpu (lg/wsgen)']];
for (const sc of scenarios) {
  for (const name of servers) {
    const srv = await startServer(name, notes);
    const lg: Result[] = [];
    const wg: Result[] = [];
    try {
      for (let r = 0; r < ROUNDS; r++) {
        const lgArgs = ['--port', String(srv.port), '--pid', String(srv.pid), '--conns', String(sc.conns), '--size', String(sc.size)];
        lgArgs.push('--inflight', String(sc.inflight), '--warmup', String(WARMUP), '--duration', String(DURATION));
        if (sc.binary) lgArgs.push('--binary');
        const wgArgs = ['-p', String(srv.port), '-P', String(srv.pid), '-c', String(sc.conns), '-s', String(sc.size)];
        wgArgs.push('-k', String(sc.inflight), '-d', String(DURATION), '-w', String(WARMUP), '-q');
        if (sc.binary) wgArgs.push('-b');
        const limit = (WARMUP + DURATION + 60) * 1000;
        // alternate which generator goes first
        const runLg = async (): Promise<void> => {
          await waitQuiet(0.2, 30);
          lg.push(await runGenerator(benchNode(path.join('bench', 'loadgen.ts'), lgArgs), srv, limit, parseResultLine));
        };
        const runWg = async (): Promise<void> => {
          await waitQuiet(0.2, 30);
          wg.push(await runGenerator([WSGEN, ...wgArgs], srv, limit, parseWsgen));
        };
        if (r % 2 === 0) {
          await runLg();
          await runWg();
        } else {
          await runWg();
          await runLg();
        }
        const a = lg[lg.length - 1];
        const b = wg[wg.length - 1];
        console.log(
          `${sc.id} ${name.padEnd(4)} round ${r + 1}: loadgen ${a.msgs_per_s} msg/s (gen ${a.gen_cpu}, srv ${a.srv_cpu}, sirq ${a.sirq_cpu}, other ${a.other_cpu})` +
            `  wsgen ${b.msgs_per_s} msg/s (gen ${b.gen_cpu}, srv ${b.srv_cpu}, sirq ${b.sirq_cpu})`,
        );
      }
    } finally {
      await stopServer(srv);
    }
    const ml = med(lg.map((r) => Number(r.msgs_per_s)));
    const mw = med(wg.map((r) => Number(r.msgs_per_s)));
    rows.push([
      sc.id,
      name,
      Math.round(ml).toLocaleString('en-US'),
      Math.round(mw).toLocaleString('en-US'),
      (ml / mw).toFixed(2),
      med(lg.map((r) => Number(r.gen_cpu))).toFixed(2),
      med(wg.map((r) => Number(r.gen_cpu))).toFixed(2),
      `${med(lg.map((r) => Number(r.srv_cpu))).toFixed(2)}/${med(wg.map((r) => Number(r.srv_cpu))).toFixed(2)}`,
    ]);
  }
}
const w = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
console.log(`\nmedians of ${ROUNDS} alternating round(s), ${DURATION} s each:\n`);
console.log(rows.map((r) => r.map((c, i) => (i < 2 ? c.padEnd(w[i]) : c.padStart(w[i]))).join('  ')).join('\n'));
for (const n of notes) console.log(`note: ${n}`);
killAllNow();
