// The probe of the fairness benchmark: what an ordinary client sees while an attack runs.
//
// Every `interval` ms (open loop: on a fixed schedule, whether or not earlier probes have
// finished, so a stalled server is not given time to recover between probes) the probe opens
// a fresh connection, does the upgrade handshake, sends one masked 16-byte text message and
// waits for its echo. Its latency is handshake + echo, from the moment it was due. A probe
// that fails (reset, non-101 status, close frame, wrong echo) or takes longer than `timeout`
// is a failure, counted separately and ranked as slower than any success.
import { performance } from 'node:perf_hooks';
import { LoopLag, exitWithParent, type LoopLagStats } from '../common.js';
import { FIN, FrameReader, OP, closeFrame, errorKind, maskedFrame, NoResponse, upgrade, upgradeRequest } from './wire.js';

const PROBE_TEXT = Buffer.from('fairness probe!!', 'latin1'); // 16 bytes
const PROBE_FRAME = maskedFrame(FIN | OP.TEXT, PROBE_TEXT);
const CLOSE_1000 = closeFrame(1000);

/** One probe: `ms` is its latency, or `err` says why it failed. */
export type ProbeResult = { ms: number } | { err: string };

/** One probe, due at wall-clock time `t` (ms since the epoch). */
export interface ProbeSample {
  t: number;
  ms: number | null;
  err?: string;
}

/** Handshake + one 16-byte echo on a fresh connection to 127.0.0.1:port. */
export async function probeOnce(port: number, timeoutMs: number): Promise<ProbeResult> {
  const t0 = performance.now();
  let up;
  try {
    up = await upgrade(port, upgradeRequest(port), timeoutMs);
  } catch (e) {
    return { err: e instanceof NoResponse ? e.kind : String(e) };
  }
  if (up.status !== 101) {
    up.socket.destroy();
    return { err: `HTTP ${up.status}` };
  }
  const socket = up.socket;
  return new Promise<ProbeResult>((resolve) => {
    let settled = false;
    const settle = (r: ProbeResult): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if ('ms' in r) {
        // Close politely (§7.1.2), but do not wait for the server's answer.
        socket.end(CLOSE_1000);
        setTimeout(() => socket.destroy(), 2000).unref();
      } else socket.destroy();
      resolve(r);
    };
    const timer = setTimeout(() => settle({ err: 'timeout' }), Math.max(0, timeoutMs - (performance.now() - t0)));
    const reader = new FrameReader({
      message: (opcode, bytes) =>
        settle(opcode === OP.TEXT && bytes === PROBE_TEXT.length ? { ms: performance.now() - t0 } : { err: 'wrong echo' }),
      close: (code) => settle({ err: `close ${code ?? 'without code'}` }),
      invalid: (why) => settle({ err: why }),
    });
    socket.on('data', (d: Buffer) => reader.feed(d));
    socket.on('error', (e: NodeJS.ErrnoException) => settle({ err: errorKind(e) }));
    socket.on('end', () => settle({ err: 'eof' }));
    socket.write(PROBE_FRAME);
    if (up.rest.length > 0) reader.feed(up.rest);
    socket.resume();
  });
}

/** What the probe child prints at the end (one JSON line). */
export interface ProbeReport {
  samples: ProbeSample[];
  /** the probe process's own event-loop lag over the window given with `stop` (a starved probe) */
  lag: LoopLagStats;
}

/**
 * `--role probe`: print `ready`, probe every `intervalMs` until a line `stop [FROM TO]` arrives
 * on stdin, wait for the probes still running (each ends within `timeoutMs`), print a
 * ProbeReport as one JSON line (its own loop lag over [FROM, TO], ms since the epoch, or over
 * the whole run) and exit.
 */
export async function runProbeChild(port: number, intervalMs: number, timeoutMs: number): Promise<void> {
  exitWithParent();
  const lag = new LoopLag(5);
  const samples: ProbeSample[] = [];
  const running = new Set<Promise<void>>();
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  const start = performance.now();
  let k = 0;
  const tick = (): void => {
    if (stopped) return;
    const sample: ProbeSample = { t: Date.now(), ms: null };
    samples.push(sample);
    const p = probeOnce(port, timeoutMs).then((r) => {
      if ('ms' in r) sample.ms = Math.round(r.ms * 100) / 100;
      else sample.err = r.err;
      running.delete(p);
    });
    running.add(p);
    k++;
    // Fixed schedule: a late tick does not push back the later ones.
    timer = setTimeout(tick, Math.max(0, start + k * intervalMs - performance.now()));
  };
  const stop = new Promise<[number, number] | []>((resolve) => {
    let buf = '';
    process.stdin.setEncoding('utf8').on('data', (d: string) => {
      buf += d;
      const m = /^stop(?: (\d+) (\d+))?\n/m.exec(buf);
      if (m) resolve(m[1] === undefined ? [] : [Number(m[1]), Number(m[2])]);
    });
  });
  process.stdout.write('ready\n');
  tick();
  const window = await stop;
  stopped = true;
  clearTimeout(timer);
  await Promise.all(running);
  const report: ProbeReport = { samples, lag: lag.stats(...window) };
  process.stdout.write(JSON.stringify(report) + '\n', () => process.exit(0));
}
