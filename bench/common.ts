// Shared helpers for the benchmarks (bench/run.ts, bench/loadgen.ts, bench/fairness.ts, bench/http2.ts, bench/fanout*.ts,
// bench/servers/*). Deliberately independent of src/: the harness must keep working while
// src/ changes.
import { readFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import { performance } from 'node:perf_hooks';

/** RFC 6455 §1.3 example key and its accept value: every benchmark connection uses them. */
export const WS_KEY = 'dGhlIHNhbXBsZSBub25jZQ==';
export const WS_ACCEPT = 's3pPLMBiTxaQ9kYGzzhZRbK+xOo=';
/** Fixed client masking key (same as wsgen's, so either generator drives the raw server). */
export const MASK = Buffer.from([0x37, 0xfa, 0x21, 0x3d]);

export const OP_TEXT = 0x1;
export const OP_BINARY = 0x2;

/** Deterministic payload: ASCII (valid UTF-8) for text, xorshift noise for binary. */
export function makePayload(size: number, binary: boolean): Buffer {
  const p = Buffer.allocUnsafe(size);
  if (binary) {
    let x = 2463534242;
    for (let i = 0; i < size; i++) {
      x ^= x << 13;
      x ^= x >>> 17;
      x ^= x << 5;
      p[i] = x & 0xff;
    }
  } else {
    const a = 'abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ';
    for (let i = 0; i < size; i++) p[i] = a.charCodeAt(i % a.length);
  }
  return p;
}

/** Frame header (FIN set, no RSV), with or without the mask bit + key. */
export function frameHeader(opcode: number, len: number, mask: Buffer | null): Buffer {
  const m = mask ? 0x80 : 0;
  let h: Buffer;
  if (len <= 125) {
    h = Buffer.from([0x80 | opcode, m | len]);
  } else if (len <= 0xffff) {
    h = Buffer.from([0x80 | opcode, m | 126, len >>> 8, len & 0xff]);
  } else {
    h = Buffer.alloc(10);
    h[0] = 0x80 | opcode;
    h[1] = m | 127;
    h.writeBigUInt64BE(BigInt(len), 2);
  }
  return mask ? Buffer.concat([h, mask]) : h;
}

/** One complete masked client frame. */
export function clientFrame(opcode: number, payload: Buffer, mask: Buffer = MASK): Buffer {
  const h = frameHeader(opcode, payload.length, mask);
  const f = Buffer.allocUnsafe(h.length + payload.length);
  h.copy(f, 0);
  for (let i = 0; i < payload.length; i++) f[h.length + i] = payload[i] ^ mask[i & 3];
  return f;
}

/** `count` back-to-back copies of `frame` in one buffer. */
export function repeat(frame: Buffer, count: number): Buffer {
  const b = Buffer.allocUnsafe(frame.length * count);
  for (let i = 0; i < count; i++) frame.copy(b, i * frame.length);
  return b;
}

export const CLK_TCK = 100; // Linux USER_HZ: fixed at 100 on every mainstream kernel build

/** utime+stime of a process in seconds (all threads), or -1. */
export function procCpuSeconds(pid: number): number {
  try {
    const s = readFileSync(`/proc/${pid}/stat`, 'latin1');
    const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
    // f[0] is field 3 (state); utime = field 14, stime = field 15
    return (Number(f[11]) + Number(f[12])) / CLK_TCK;
  } catch {
    return -1;
  }
}

/** VmRSS of a process in KiB, or -1. */
export function procRssKiB(pid: number): number {
  try {
    const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${pid}/status`, 'latin1'));
    return m ? Number(m[1]) : -1;
  } catch {
    return -1;
  }
}

/**
 * VmHWM (peak resident set since the process's last exec) of a process in KiB, or -1. Unlike
 * getrusage's ru_maxrss (process.resourceUsage().maxRSS), which Linux carries across exec from
 * the forked copy of the parent: a child spawned by a parent holding 512 MiB reports >= 512 MiB.
 */
export function procPeakRssKiB(pid: number | 'self'): number {
  try {
    const m = /^VmHWM:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${pid}/status`, 'latin1'));
    return m ? Number(m[1]) : -1;
  } catch {
    return -1;
  }
}

/**
 * CPU seconds from /proc/stat, machine-wide or of one `core`: busy (user+nice+system+irq+
 * softirq) and the softirq part alone (loopback TCP is mostly softirq work, not charged to any
 * process), or -1s.
 */
export function machineCpuSeconds(core?: number): { busy: number; softirq: number } {
  try {
    const lines = readFileSync('/proc/stat', 'latin1').split('\n');
    const name = core === undefined ? 'cpu' : `cpu${core}`;
    const line = lines.find((l) => l.startsWith(name + ' '));
    if (!line) return { busy: -1, softirq: -1 };
    const v = line.trim().split(/\s+/).slice(1).map(Number);
    return { busy: (v[0] + v[1] + v[2] + v[5] + v[6]) / CLK_TCK, softirq: v[6] / CLK_TCK };
  } catch {
    return { busy: -1, softirq: -1 };
  }
}

/** The machine, for a benchmark's header and its JSON results. */
export function machineInfo(): { cpu: string; cores: number; node: string; platform: string; memory_gib: number } {
  return {
    cpu: cpuModel(),
    cores: os.availableParallelism(),
    node: process.version,
    platform: `${os.type()} ${os.release()} ${os.arch()}`,
    memory_gib: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
  };
}

/** The CPU's model name (/proc/cpuinfo; elsewhere what Node reports). */
export function cpuModel(): string {
  try {
    const m = /^model name\s*:\s*(.*)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'));
    if (m) return m[1].trim();
  } catch {
    /* not Linux */
  }
  return os.cpus()[0]?.model ?? 'unknown';
}

/**
 * Children of the harness exit when their stdin reaches EOF, i.e. when the harness dies,
 * even by SIGKILL: a benchmark must never leave a server or generator running.
 */
export function exitWithParent(): void {
  if (process.env.BENCH_CHILD !== '1') return; // started by hand: nothing to watch
  process.stdin.on('data', () => {});
  process.stdin.on('end', () => process.exit(0));
  process.stdin.on('close', () => process.exit(0));
  process.stdin.on('error', () => process.exit(0));
}

/** How late the event loop was over a wall-clock window (see LoopLag). */
export interface LoopLagStats {
  /** timer ticks counted */
  n: number;
  /** nearest-rank p99 and max of how late a tick was, in ms (0: on time; null: no tick) */
  p99_ms: number | null;
  max_ms: number | null;
  /** share of the window (%) the loop spent in stalls of 50 ms or more */
  stalled_pct: number;
}

/**
 * Event-loop lag by a drift detector: a timer due every `periodMs` notes when it ran
 * (Date.now(), comparable across processes) and how late it was (the time since the previous
 * tick, less the period). A tick `late` ms late at time t means the loop ran nothing between
 * t − late and t. Unlike perf_hooks.monitorEventLoopDelay, whose samples include the timer's
 * resolution (an idle loop reads ~10 ms at resolution 10), an idle loop reads ~0 here; and the
 * ticks keep their times, so any window can be summarized after the fact, without having to
 * reset anything at the right moment in a process that may be stalled at that moment.
 */
export class LoopLag {
  private readonly at: number[] = [];
  private readonly late: number[] = [];

  constructor(private readonly periodMs = 5) {
    let prev = performance.now();
    setInterval(() => {
      const now = performance.now();
      this.at.push(Date.now());
      this.late.push(Math.max(0, now - prev - this.periodMs));
      prev = now;
      if (this.at.length > 240_000) {
        // ~20 min at 5 ms: keep the recent half
        this.at.splice(0, 120_000);
        this.late.splice(0, 120_000);
      }
    }, this.periodMs).unref();
  }

  /** The ticks whose stall overlaps [from, to] (ms since the epoch; default: all of them). */
  stats(from = -Infinity, to = Infinity): LoopLagStats {
    const xs: number[] = [];
    let stalled = 0;
    for (let i = 0; i < this.at.length; i++) {
      const t = this.at[i];
      const d = this.late[i];
      if (t < from || t - d > to) continue;
      xs.push(d);
      if (d >= 50) stalled += Math.min(t, to) - Math.max(t - d, from);
    }
    xs.sort((a, b) => a - b);
    const r = (v: number): number => Math.round(v * 10) / 10;
    const p99 = xs.length === 0 ? null : r(xs[Math.min(xs.length - 1, Math.max(0, Math.ceil(0.99 * xs.length) - 1))]);
    const span = Number.isFinite(from) && Number.isFinite(to) ? to - from : (this.at[this.at.length - 1] ?? 0) - (this.at[0] ?? 0);
    return { n: xs.length, p99_ms: p99, max_ms: xs.length ? r(xs[xs.length - 1]) : null, stalled_pct: span > 0 ? r((stalled / span) * 100) : 0 };
  }
}

/**
 * A server started with `--loop-lag` (bench/fairness.ts) measures its event-loop lag (LoopLag,
 * 5 ms) and answers each line `loop-lag FROM TO` (ms since the epoch) on its stdin with one line
 * `{"loop_lag":{n,p99_ms,max_ms,stalled_pct}}` on its stdout, for that window. Without the
 * flag (bench/run.ts), nothing runs.
 */
export function serveLoopLag(): void {
  if (!process.argv.includes('--loop-lag')) return;
  const lag = new LoopLag(5);
  let buf = '';
  process.stdin.setEncoding('utf8').on('data', (d: string) => {
    buf += d;
    for (let nl = buf.indexOf('\n'); nl >= 0; nl = buf.indexOf('\n')) {
      const m = /^loop-lag (\d+) (\d+)$/.exec(buf.slice(0, nl).trim());
      buf = buf.slice(nl + 1);
      if (m) process.stdout.write(JSON.stringify({ loop_lag: lag.stats(Number(m[1]), Number(m[2])) }) + '\n');
    }
  });
}

/** `NAME N` on a server's command line: a positive integer, or `fallback` when absent. */
export function intFlag(name: string, fallback: number): number {
  const i = process.argv.indexOf(name);
  if (i < 0) return fallback;
  const n = Number(process.argv[i + 1]);
  if (!Number.isInteger(n) || n < 1) {
    console.error(`${name} needs a positive integer, got ${process.argv[i + 1]}`);
    process.exit(2);
  }
  return n;
}

/** The line a server prints on stdout once it listens: `{"port":…,"pid":…,…}`. */
export function announce(port: number, extra: Record<string, unknown> = {}): void {
  process.stdout.write(JSON.stringify({ port, pid: process.pid, ...extra }) + '\n');
}

/**
 * Deterministic JSON-like text of exactly `size` bytes (ASCII), different for each `seed`:
 * an envelope with a list of records (repeated keys, integers, decimals, short strings,
 * booleans, small arrays), padded to the exact size with a "note" of dictionary words.
 * Realistic for compression (keys repeat, values do not) and valid JSON.
 */
export function makeJsonPayload(size: number, seed: number): Buffer {
  let x = (0x9e3779b9 ^ Math.imul(seed + 1, 0x85ebca6b)) >>> 0 || 1;
  const rnd = (n: number): number => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x % n;
  };
  const words = ['alpha', 'bravo', 'north', 'south', 'rack', 'sensor', 'edge', 'core', 'eu-west', 'us-east', 'primary', 'replica', 'ok', 'warn', 'idle', 'busy'];
  const status = ['ok', 'warn', 'error', 'idle', 'busy'];
  const names = ['alice', 'bob', 'carol', 'dave', 'erin', 'frank', 'grace', 'heidi', 'ivan', 'judy'];
  const head = `{"type":"update","seq":${1000 + rnd(900000)},"ts":${1700000000000 + rnd(1e9)},"source":"${words[rnd(words.length)]}-${rnd(100)}","items":[`;
  const tail = '],"note":"';
  const end = '"}';
  let body = '';
  for (let i = 0; ; i++) {
    const item =
      `{"id":${rnd(100000)},"user":"${names[rnd(names.length)]}${rnd(1000)}","status":"${status[rnd(status.length)]}",` +
      `"value":${rnd(100000) / 100},"count":${rnd(5000)},"active":${rnd(2) === 1},` +
      `"tags":["${words[rnd(words.length)]}","${words[rnd(words.length)]}"],"region":"${words[8 + rnd(2)]}"}`;
    const next = body + (i > 0 ? ',' : '') + item;
    if (head.length + next.length + tail.length + end.length > size) break;
    body = next;
  }
  let note = '';
  const room = size - head.length - body.length - tail.length - end.length;
  if (room < 0) throw new Error(`makeJsonPayload: ${size} bytes is too small`);
  while (note.length < room) note += (note ? ' ' : '') + words[rnd(words.length)];
  const s = head + body + tail + note.slice(0, room) + end;
  if (s.length !== size) throw new Error('makeJsonPayload: internal size mismatch');
  return Buffer.from(s, 'latin1');
}

/** The median of `xs` (the mean of the middle two for an even count); NaN for none. */
export function median(xs: number[]): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** Resolves with each JSON line `stream` prints, in order; rejects once the stream ended without one. */
export function jsonLines(stream: NodeJS.ReadableStream): (what: string, timeoutMs: number) => Promise<Record<string, unknown>> {
  const lines: string[] = [];
  const waiting: Array<(line: string) => void> = [];
  let text = '';
  let ended = false;
  stream.setEncoding('utf8');
  stream.on('end', () => {
    ended = true;
    for (const waiter of waiting.splice(0)) waiter('');
  });
  stream.on('data', (chunk: string) => {
    text += chunk;
    for (let nl = text.indexOf('\n'); nl !== -1; nl = text.indexOf('\n')) {
      const line = text.slice(0, nl);
      text = text.slice(nl + 1);
      const waiter = waiting.shift();
      if (waiter) waiter(line);
      else lines.push(line);
    }
  });
  return (what, timeoutMs) =>
    new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${what}: no answer within ${timeoutMs / 1000} s`)), timeoutMs);
      const take = (line: string) => {
        clearTimeout(timer);
        if (line === '') reject(new Error(`${what}: the process ended`));
        else resolve(JSON.parse(line) as Record<string, unknown>);
      };
      if (lines.length > 0) take(lines.shift()!);
      else if (ended) take('');
      else waiting.push(take);
    });
}

const HEAD_END = Buffer.from('\r\n\r\n');

/**
 * A bare TCP socket upgraded to WebSocket by hand (the RFC 6455 example key;
 * the answer's status line checked, nothing else): resolves once the 101
 * arrived, then hands every later chunk, the bytes right behind the 101
 * included, to `onData`. The fan-out benchmarks' subscribers.
 */
export function openBareWebSocket(port: number, path: string, onData: (chunk: Buffer) => void): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1', () =>
      socket.write(
        `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
          'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n',
      ),
    );
    socket.setNoDelay(true);
    let head: Buffer | null = Buffer.alloc(0);
    socket.on('error', reject);
    socket.on('data', (chunk: Buffer) => {
      if (head === null) return onData(chunk);
      head = Buffer.concat([head, chunk]);
      const end = head.indexOf(HEAD_END);
      if (end === -1) return;
      if (!head.subarray(0, 12).toString('latin1').startsWith('HTTP/1.1 101')) return reject(new Error(head.toString('latin1', 0, end)));
      const rest = head.subarray(end + 4);
      head = null;
      resolve(socket);
      if (rest.length > 0) onData(rest);
    });
  });
}
