// Fairness benchmark: how long an ordinary client waits while someone attacks the server.
//
//   npx tsx bench/fairness.ts [--attacks LIST] [--servers ours,ws] [--rounds N] [--seconds S] [--scale F]
//
// For each attack and each server (ours and ws, alternating), a fresh echo server child is
// started on core 0 (bench/servers/NAME.ts, 16 MiB message limit, --deflate for the deflate
// attacks). On core 1 run two children of this same file: the probe (`--role probe`: every
// 20 ms a fresh connection, handshake, one 16-byte echo; bench/fairness/probe.ts) and, at the
// lowest CPU priority (nice 19) so that it never delays the probe, the attacker (`--role
// attack`, bench/fairness/attacks.ts). The probe latencies that count are those of probes due
// while the attack ran; the table shows their p50, p99 and max, what the attacker received
// and when, the server's event-loop lag over the same window (the servers run with --loop-lag
// and are asked for it afterwards), its peak RSS, and whether it still answered a probe
// afterwards.
// Not part of `npm test`. See bench/README.md.
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { machineCpuSeconds, machineInfo, procCpuSeconds, procPeakRssKiB, procRssKiB, type LoopLagStats } from './common.js';
import { ATTACKS, MAX_MESSAGE, runAttackChild, type Attack, type Seen } from './fairness/attacks.js';
import { probeOnce, runProbeChild, type ProbeReport, type ProbeSample } from './fairness/probe.js';
import {
  BENCH,
  askServer,
  installCleanup,
  killTree,
  lastJsonLine,
  parseResultLine,
  runGenerator,
  setupPinning,
  sleep,
  startChild,
  startServer,
  stopServer,
  tail,
  benchNode,
  waitQuiet,
  type Running,
  type ServerName,
} from './harness.js';

const USAGE = `usage: npx tsx bench/fairness.ts [options]
  --attacks LIST       attacks to run (default: all)
                       ${ATTACKS.map((a) => a.id).join(', ')}
  --servers LIST       servers (default ours,ws)
  --rounds N           samples per attack and server, alternating; probes are pooled (default 1)
  --seconds S          longest an attack lasts once started (default 8)
  --scale F            multiplies the count-bounded sizes: connections of deflate-bomb, fragments,
                       ping-flood and non-reader, fragments per message, bomb size, bytes and
                       messages per connection (default 1; e.g. 0.1 for a quick check)
  --interval MS        probe period (default 20)
  --probe-timeout S    a probe slower than this is a failure (default 10)
  --json FILE          results (default bench/fairness.json, git-ignored)
  --quiet-wait S       before each sample wait up to S s for an idle machine (default 5, 0: off)
  --warm               before each sample, run the same attack on the fresh server at a tenth of
                       its scale for at most 2 s (not measured): an attack on a server whose code
                       is compiled and whose heap has grown, as on a server that has been running
  --no-pin             do not pin to cores
  -h, --help`;

const { values: opt } = parseArgs({
  options: {
    role: { type: 'string' }, // internal: probe | attack
    attack: { type: 'string' },
    port: { type: 'string' },
    attacks: { type: 'string', default: ATTACKS.map((a) => a.id).join(',') },
    servers: { type: 'string', default: 'ours,ws' },
    rounds: { type: 'string', default: '1' },
    seconds: { type: 'string', default: '8' },
    scale: { type: 'string', default: '1' },
    interval: { type: 'string', default: '20' },
    'probe-timeout': { type: 'string', default: '10' },
    json: { type: 'string', default: path.join(BENCH, 'fairness.json') },
    'quiet-wait': { type: 'string', default: '5' },
    'no-pin': { type: 'boolean', default: false },
    warm: { type: 'boolean', default: false },
    help: { type: 'boolean', short: 'h', default: false },
  },
  strict: true,
});

function usage(msg: string): never {
  console.error(`fairness: ${msg}\n${USAGE}`);
  process.exit(2);
}
function num(s: string, name: string, ok: (n: number) => boolean): number {
  const n = Number(s);
  if (!ok(n)) usage(`bad ${name}: ${s}`);
  return n;
}

const SECONDS = num(opt.seconds!, '--seconds', (n) => n > 0);
const SCALE = num(opt.scale!, '--scale', (n) => n > 0);
const INTERVAL = num(opt.interval!, '--interval', (n) => n >= 1);
const PROBE_TIMEOUT_S = num(opt['probe-timeout']!, '--probe-timeout', (n) => n > 0);

// ---------------------------------------------------------------------------------------
// One sample: one attack against one fresh server

interface ProbeStats {
  n: number;
  ok: number;
  p50: number;
  p99: number;
  max: number;
  /** why probes failed, with counts */
  failures: Record<string, number>;
}

interface AttackerResult {
  outcome: string;
  received?: Record<string, Seen>;
  stats?: Record<string, number | string>;
  begin?: number;
  end?: number;
}

interface Sample {
  attack: string;
  server: ServerName;
  round: number;
  /** ms the probe window lasted (begin to end of the attack, capped at --seconds) */
  window_ms: number | null;
  probe: ProbeStats;
  /** latencies (ms) of the probes in the window; null: failed */
  latencies: (number | null)[];
  attacker: AttackerResult;
  rss_before_mib: number | null;
  peak_rss_mib: number | null;
  /** server CPU during the window, in cores (1.0: its core saturated; includes zlib threads) */
  server_cpu: number | null;
  /** the server's event-loop lag over the window (null: it did not answer) */
  loop_lag: LoopLagStats | null;
  /** the probe process's own event-loop lag over the window (the probe starved on its core) */
  probe_lag: LoopLagStats | null;
  /** core 1 (probe and attacker) over the window, in cores: all busy time, and softirq alone */
  core1: { busy: number; softirq: number } | null;
  survived: string;
  /** latency of the probe after the attack (ms), when it succeeded */
  after_ms: number | null;
  server_stderr?: string;
}

const mib = (kib: number): number | null => (kib < 0 ? null : Math.round((kib / 1024) * 10) / 10);

/** Nearest-rank percentiles over all probes, a failure ranking above every success. */
function probeStats(samples: ProbeSample[]): ProbeStats {
  const xs = samples.map((s) => s.ms ?? Infinity).sort((a, b) => a - b);
  const at = (p: number): number => (xs.length === 0 ? NaN : xs[Math.min(xs.length - 1, Math.max(0, Math.ceil(p * xs.length) - 1))]);
  const failures: Record<string, number> = {};
  for (const s of samples) if (s.ms === null) failures[s.err ?? 'unknown'] = (failures[s.err ?? 'unknown'] ?? 0) + 1;
  return { n: xs.length, ok: samples.filter((s) => s.ms !== null).length, p50: at(0.5), p99: at(0.99), max: xs.length ? xs[xs.length - 1] : NaN, failures };
}

interface ProbeChild {
  /** Stop probing; the report's lag is over [from, to] (ms since the epoch) when given. */
  stop(window?: { from: number; to: number }): Promise<ProbeReport>;
}

/** Start the probe child on core 1; resolves once it probes. */
async function startProbe(srv: Running): Promise<ProbeChild> {
  const args = ['--role', 'probe', '--port', String(srv.port), '--interval', String(INTERVAL), '--probe-timeout', String(PROBE_TIMEOUT_S)];
  const proc = startChild(1, benchNode(path.join('bench', 'fairness.ts'), args));
  let out = '';
  let err = '';
  proc.stderr!.setEncoding('utf8').on('data', (d: string) => (err = tail(err + d, 4000)));
  const exited = new Promise<void>((r) => proc.once('exit', () => r()));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`probe did not start within 30 s\n${err}`)), 30_000);
    proc.stdout!.setEncoding('utf8').on('data', (d: string) => {
      out += d;
      if (out.includes('ready\n')) {
        clearTimeout(timer);
        resolve();
      }
    });
    proc.once('exit', (code, sig) => {
      clearTimeout(timer);
      reject(new Error(`probe exited (${sig ?? code}) before starting\n${err}`));
    });
  });
  return {
    async stop(window) {
      proc.stdin!.write(window ? `stop ${Math.floor(window.from)} ${Math.ceil(window.to)}\n` : 'stop\n');
      const limit = setTimeout(() => killTree(proc, 'SIGKILL'), (PROBE_TIMEOUT_S + 15) * 1000);
      await exited;
      clearTimeout(limit);
      try {
        return lastJsonLine<ProbeReport>(out);
      } catch {
        throw new Error(`probe gave no result (exit ${proc.exitCode ?? proc.signalCode})\n${err}`);
      }
    },
  };
}

let NICE: string[] = [];

/** The attacker child (this file, `--role attack`, at nice 19): `attack` on `srv` for at most `seconds`, at `scale`. */
function runAttacker(attack: Attack, srv: Running, seconds: number, scale: number): Promise<unknown> {
  const args = ['--role', 'attack', '--attack', attack.id, '--port', String(srv.port), '--seconds', String(seconds), '--scale', String(scale)];
  return runGenerator([...NICE, ...benchNode(path.join('bench', 'fairness.ts'), args)], srv, (seconds + 120) * 1000, parseResultLine);
}

async function runSample(attack: Attack, name: ServerName, round: number, notes: string[]): Promise<Sample> {
  const args = ['--max-message', String(MAX_MESSAGE), '--loop-lag', ...(attack.deflate ? ['--deflate'] : [])];
  const srv = await startServer(name, notes, args);
  let peakKiB = -1;
  // CPU seconds over time: the server's, and core 1's (busy, softirq)
  const cpu: { t: number; s: number; busy: number; softirq: number }[] = [];
  const sampler = setInterval(() => {
    const k = procPeakRssKiB(srv.pid);
    if (k > peakKiB) peakKiB = k;
    const c = procCpuSeconds(srv.pid);
    const core1 = machineCpuSeconds(1);
    if (c >= 0) cpu.push({ t: Date.now(), s: c, ...core1 });
  }, 100);
  try {
    if (opt.warm) {
      // Warm-up, not measured: the same attack at a tenth of the scale.
      try {
        await runAttacker(attack, srv, 2, SCALE / 10);
      } catch (e) {
        notes.push(`${attack.id}/${name} round ${round}: the warm-up failed: ${(e as Error).message.split('\n')[0]}`);
      }
      await sleep(500);
    }
    if (QUIET_WAIT > 0) await waitQuiet(0.2, QUIET_WAIT);
    const probe = await startProbe(srv);
    await sleep(300); // the probe's first connections, before the attack: not counted
    const rssBefore = procRssKiB(srv.pid);
    let attacker: AttackerResult;
    try {
      const r = await runAttacker(attack, srv, SECONDS, SCALE);
      attacker = r as unknown as AttackerResult;
    } catch (e) {
      attacker = { outcome: `ATTACK FAILED: ${(e as Error).message.split('\n')[0].replace(/^load generator: /, '')}` };
      console.log(`    ${(e as Error).message.replace(/\n/g, '\n    ')}`);
    }
    // The probes that count: due between the start of the attack and its end (at most
    // --seconds later). Without a window (the attack failed), all of them. The server's and
    // the probe's loop lag are taken over the same window.
    const window =
      typeof attacker.begin === 'number' && typeof attacker.end === 'number'
        ? { from: attacker.begin, to: Math.min(attacker.end, attacker.begin + SECONDS * 1000) }
        : undefined;
    const probed = await probe.stop(window);
    const k = procPeakRssKiB(srv.pid);
    if (k > peakKiB) peakKiB = k;
    const lagAnswer = await askServer(srv, `loop-lag ${window ? `${Math.floor(window.from)} ${Math.ceil(window.to)}` : `0 ${Date.now()}`}`, 10_000);
    const loopLag = (lagAnswer?.loop_lag as LoopLagStats | undefined) ?? null;
    if (!loopLag) notes.push(`${attack.id}/${name} round ${round}: the server did not report its loop lag`);

    let windowMs: number | null = null;
    let inWindow = probed.samples;
    let serverCpu: number | null = null;
    let core1: Sample['core1'] = null;
    if (window) {
      const { from, to } = window;
      windowMs = to - from;
      inWindow = probed.samples.filter((s) => s.t >= from && s.t <= to);
      const a = cpu.find((c) => c.t >= from);
      const b = [...cpu].reverse().find((c) => c.t <= to);
      if (a && b && b.t - a.t >= 100) {
        const per = (x: number): number => Math.round((x / ((b.t - a.t) / 1000)) * 100) / 100;
        serverCpu = per(b.s - a.s);
        if (a.busy >= 0 && b.busy >= 0) core1 = { busy: per(b.busy - a.busy), softirq: per(b.softirq - a.softirq) };
      }
    }

    let survived: string;
    let afterMs: number | null = null;
    if (srv.proc.exitCode !== null || srv.proc.signalCode !== null) {
      survived = `NO (exited ${srv.proc.signalCode ?? srv.proc.exitCode})`;
    } else {
      const r = await probeOnce(srv.port, 10_000);
      if ('ms' in r) {
        survived = 'yes';
        afterMs = Math.round(r.ms * 100) / 100;
      } else survived = `unresponsive (${r.err})`;
    }
    const sample: Sample = {
      attack: attack.id,
      server: name,
      round,
      window_ms: windowMs,
      probe: probeStats(inWindow),
      latencies: inWindow.map((s) => s.ms),
      attacker: { outcome: attacker.outcome, received: attacker.received, stats: attacker.stats, begin: attacker.begin, end: attacker.end },
      rss_before_mib: mib(rssBefore),
      peak_rss_mib: mib(peakKiB),
      server_cpu: serverCpu,
      loop_lag: loopLag,
      probe_lag: probed.lag,
      core1,
      survived,
      after_ms: afterMs,
    };
    if (survived !== 'yes' && srv.stderr()) sample.server_stderr = tail(srv.stderr(), 2000);
    return sample;
  } finally {
    clearInterval(sampler);
    await stopServer(srv);
  }
}

// ---------------------------------------------------------------------------------------
// Output

function fmtMs(v: number): string {
  if (Number.isNaN(v)) return 'n/a';
  if (!Number.isFinite(v)) return 'fail';
  return v < 10 ? v.toFixed(2) : v < 100 ? v.toFixed(1) : String(Math.round(v));
}

/** `p99 1.2 / max 30 ms (stalled 4%)` of a loop-lag report. */
function fmtLag(l: LoopLagStats | null): string {
  if (!l || l.p99_ms === null || l.max_ms === null) return '?';
  return `p99 ${fmtMs(l.p99_ms)} / max ${fmtMs(l.max_ms)} ms${l.stalled_pct > 0 ? ` (stalled ${l.stalled_pct}%)` : ''}`;
}

function ratio(a: number, b: number): string {
  if (!Number.isFinite(a) || !Number.isFinite(b) || b <= 0) return 'n/a';
  const r = a / b;
  return r >= 10 ? r.toFixed(0) : r >= 0.1 ? r.toFixed(2) : r.toPrecision(2);
}

function markdown(rows: string[][]): string {
  const w = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  const line = (r: string[]): string => '| ' + r.map((c, i) => c.padEnd(w[i])).join(' | ') + ' |';
  return [line(rows[0]), '|' + w.map((n) => '-'.repeat(n + 2)).join('|') + '|', ...rows.slice(1).map(line)].join('\n');
}

let QUIET_WAIT = 0;

async function main(): Promise<void> {
  const startedAt = Date.now();
  const rounds = num(opt.rounds!, '--rounds', (n) => Number.isInteger(n) && n >= 1);
  QUIET_WAIT = num(opt['quiet-wait']!, '--quiet-wait', (n) => n >= 0);
  const ids = opt.attacks!.split(',').map((s) => s.trim().toLowerCase()).filter(Boolean);
  for (const id of ids) if (!ATTACKS.some((a) => a.id === id)) usage(`unknown attack ${id}`);
  const attacks = ATTACKS.filter((a) => ids.includes(a.id));
  const servers = opt.servers!.split(',').map((s) => s.trim().toLowerCase()).filter(Boolean) as ServerName[];
  for (const s of servers) if (s !== 'ours' && s !== 'ws') usage(`unknown server ${s} (ours, ws)`);
  if (attacks.length === 0 || servers.length === 0) usage('nothing to run');

  installCleanup();
  const pinned = setupPinning(opt['no-pin']!);
  const notes: string[] = [];
  if (!pinned) notes.push(opt['no-pin'] ? 'not pinned (--no-pin)' : 'taskset unavailable or < 2 cores: NOT pinned, server and attacker compete for CPU');
  if (spawnSync('nice', ['-n', '19', 'true'], { stdio: 'ignore' }).status === 0) NICE = ['nice', '-n', '19'];
  else notes.push('nice unavailable: the attacker runs at the probe\'s priority and can delay it');

  const machine = {
    ...machineInfo(),
    pinned: pinned ? 'server: core 0; probe and attacker (nice 19): core 1' : 'no',
  };
  const options = { attacks: attacks.map((a) => a.id), servers, rounds, seconds: SECONDS, scale: SCALE, interval_ms: INTERVAL, probe_timeout_s: PROBE_TIMEOUT_S, max_message: MAX_MESSAGE, warm: opt.warm === true };
  console.log(`fairness benchmark — ${new Date(startedAt).toISOString()}`);
  console.log(`machine: ${machine.cpu}, ${machine.cores} cores, ${machine.memory_gib} GiB, node ${machine.node}, ${machine.platform}`);
  console.log(`pinning: ${machine.pinned}`);
  console.log(
    `servers: ${servers.join(', ')} (message limit 16 MiB; permessage-deflate on for deflate-*); ${rounds} round(s); ` +
      `attacks last ≤ ${SECONDS} s; scale ${SCALE}; probe every ${INTERVAL} ms (handshake + 16 B echo, timeout ${PROBE_TIMEOUT_S} s)`,
  );
  if (opt.warm) console.log("warm-up: each server first took the same attack at a tenth of the scale (not measured)");
  for (const n of notes) console.log(`note: ${n}`);
  console.log('\nattacks:');
  for (const a of attacks) console.log(`  ${a.id.padEnd(16)} ${a.describe(SCALE)}`);

  const samples: Sample[] = [];
  const errors: { attack: string; server: string; round: number; error: string }[] = [];
  const save = (): void => {
    const json = { date: new Date(startedAt).toISOString(), machine, options, notes, samples, errors, summary: summarize() };
    writeFileSync(opt.json!, JSON.stringify(json, null, 1) + '\n');
  };

  interface Cell {
    probe: ProbeStats;
    /** the server's loop lag, ms: with several rounds, the worst round's p99 and max (NaN: unknown) */
    lag: { p99: number; max: number };
    outcome: string;
    peak: number | null;
    survived: string;
  }
  const cells = new Map<string, Cell>();
  function summarize(): Record<string, Cell> {
    for (const a of attacks) {
      for (const s of servers) {
        const mine = samples.filter((x) => x.attack === a.id && x.server === s);
        if (mine.length === 0) continue;
        const pooled: ProbeSample[] = mine.flatMap((x) => x.latencies.map((ms) => ({ t: 0, ms })));
        const st = probeStats(pooled);
        // failure reasons, pooled
        st.failures = {};
        for (const x of mine) for (const [k, v] of Object.entries(x.probe.failures)) st.failures[k] = (st.failures[k] ?? 0) + v;
        const peaks = mine.map((x) => x.peak_rss_mib).filter((x): x is number => x !== null);
        const worst = (f: (l: LoopLagStats) => number | null): number => {
          const v = mine.map((x) => (x.loop_lag ? f(x.loop_lag) : null));
          return v.some((x) => x === null) ? NaN : Math.max(...(v as number[]));
        };
        const bad = mine.filter((x) => x.survived !== 'yes');
        cells.set(`${a.id}/${s}`, {
          probe: st,
          lag: { p99: worst((l) => l.p99_ms), max: worst((l) => l.max_ms) },
          outcome: mine[0].attacker.outcome + (mine.length > 1 ? ` (round 1 of ${mine.length})` : ''),
          peak: peaks.length ? Math.max(...peaks) : null,
          survived: bad.length === 0 ? 'yes' : bad.map((x) => `r${x.round}: ${x.survived}`).join(', '),
        });
      }
    }
    return Object.fromEntries(cells);
  }

  for (const attack of attacks) {
    console.log(`\n${attack.id}: ${attack.describe(SCALE)}`);
    for (let round = 0; round < rounds; round++) {
      const order = servers.map((_, i) => servers[(i + round) % servers.length]);
      for (const name of order) {
        try {
          const s = await runSample(attack, name, round + 1, notes);
          samples.push(s);
          const p = s.probe;
          const failed = Object.entries(p.failures).map(([k, v]) => `${v}× ${k}`).join(', ');
          console.log(
            `  round ${round + 1} ${name.padEnd(4)} probe p50 ${fmtMs(p.p50)} ms, p99 ${fmtMs(p.p99)}, max ${fmtMs(p.max)} ` +
              `(${p.ok}/${p.n} ok${failed ? `; ${failed}` : ''}; window ${s.window_ms === null ? '?' : (s.window_ms / 1000).toFixed(2)} s) | ` +
              `server CPU ${s.server_cpu ?? '?'}, loop lag ${fmtLag(s.loop_lag)} | ` +
              `probe's own loop lag ${fmtLag(s.probe_lag)}; core 1 busy ${s.core1?.busy ?? '?'}, softirq ${s.core1?.softirq ?? '?'} | peak RSS ${s.peak_rss_mib ?? '?'} MiB (before ${s.rss_before_mib ?? '?'}) | survived ${s.survived}` +
              (s.after_ms !== null ? ` (probe after: ${fmtMs(s.after_ms)} ms)` : ''),
          );
          console.log(`      attacker: ${s.attacker.outcome}`);
          if (s.server_stderr) console.log(`      server stderr: ${s.server_stderr.replace(/\n/g, '\n      ')}`);
        } catch (e) {
          const msg = (e as Error).message;
          console.log(`  round ${round + 1} ${name.padEnd(4)} FAILED: ${msg.replace(/\n/g, '\n    ')}`);
          errors.push({ attack: attack.id, server: name, round: round + 1, error: msg });
        }
        save();
      }
    }
  }
  summarize();

  // Table 1: every attack and server.
  const rows: string[][] = [['attack', 'server', 'probes ok/n', 'probe p50 ms', 'p99', 'max', 'loop lag p99 ms', 'max', 'attacker outcome', 'peak RSS MiB', 'survived']];
  for (const a of attacks) {
    for (const s of servers) {
      const c = cells.get(`${a.id}/${s}`);
      if (!c) {
        rows.push([a.id, s, '-', '-', '-', '-', '-', '-', 'FAILED (see log)', '-', '-']);
        continue;
      }
      const p = c.probe;
      rows.push([a.id, s, `${p.ok}/${p.n}`, fmtMs(p.p50), fmtMs(p.p99), fmtMs(p.max), fmtMs(c.lag.p99), fmtMs(c.lag.max), c.outcome, c.peak === null ? '?' : c.peak.toFixed(0), c.survived]);
    }
  }
  console.log(
    `\n## Probe latency under attack (handshake + 16 B echo; failed or timed-out probes rank as slowest, shown as "fail"); ` +
      `the server's event-loop lag over the same window (how late a 5 ms timer ran${rounds > 1 ? '; worst round' : ''})\n`,
  );
  console.log(markdown(rows));

  // Table 2: ours against ws.
  if (servers.includes('ours') && servers.includes('ws')) {
    const sum: string[][] = [
      ['attack', 'p50 ours', 'p50 ws', 'ours/ws', 'p99 ours', 'p99 ws', 'ours/ws', 'max ours', 'max ws', 'ours/ws', 'lag p99 ours', 'lag p99 ws', 'ours/ws', 'lag max ours', 'lag max ws', 'ours/ws', 'RSS ours', 'RSS ws', 'survived ours / ws'],
    ];
    for (const a of attacks) {
      const o = cells.get(`${a.id}/ours`);
      const w = cells.get(`${a.id}/ws`);
      if (!o || !w) continue;
      // ours, ws, ours/ws
      const both = (f: (c: Cell) => number): string[] => [fmtMs(f(o)), fmtMs(f(w)), ratio(f(o), f(w))];
      sum.push([
        a.id,
        ...both((c) => c.probe.p50),
        ...both((c) => c.probe.p99),
        ...both((c) => c.probe.max),
        ...both((c) => c.lag.p99),
        ...both((c) => c.lag.max),
        o.peak === null ? '?' : o.peak.toFixed(0),
        w.peak === null ? '?' : w.peak.toFixed(0),
        `${o.survived} / ${w.survived}`,
      ]);
    }
    console.log(`\n## Ours vs ws (probe latency and server loop lag, ms; ratio > 1: ours slower)\n`);
    console.log(markdown(sum));
  }
  save();
  console.log(`\n${errors.length} failed sample(s); results in ${path.relative(process.cwd(), opt.json!) || opt.json}; took ${((Date.now() - startedAt) / 1000).toFixed(0)} s`);
  process.exit(0);
}

// ---------------------------------------------------------------------------------------
// Entry: the harness, or one of its children (this same file with --role)

if (opt.role === 'probe') {
  await runProbeChild(Number(opt.port), INTERVAL, PROBE_TIMEOUT_S * 1000);
} else if (opt.role === 'attack') {
  await runAttackChild(opt.attack ?? '', Number(opt.port), SECONDS, SCALE);
} else if (opt.role !== undefined) {
  usage(`unknown role ${opt.role}`);
} else if (opt.help) {
  console.log(USAGE);
} else {
  await main();
}
