// Child-process plumbing for bench/run.ts, bench/crosscheck.ts and bench/fairness.ts: pinned
// children in their own process groups, all of them killed on any exit of the harness (normal,
// error, signal).
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { machineCpuSeconds } from './common.js';

/** The project root: the nearest directory up with a package.json (this file also runs compiled, from BUILD). */
export const ROOT = findRoot(path.dirname(fileURLToPath(import.meta.url)));
export const BENCH = path.join(ROOT, 'bench');
/** Where tsconfig.bench.json compiles src/ and bench/ to (git-ignored). */
export const BUILD = path.join(ROOT, '.bench-build');

function findRoot(from: string): string {
  for (let dir = from; ; dir = path.dirname(dir)) {
    if (existsSync(path.join(dir, 'package.json'))) return dir;
    if (path.dirname(dir) === dir) throw new Error(`bench: no package.json above ${from}`);
  }
}

export type ServerName = 'ours' | 'ws' | 'raw';
export type Result = Record<string, number | string | null>;

const children = new Set<ChildProcess>();

export function killTree(c: ChildProcess, sig: NodeJS.Signals): void {
  if (c.pid === undefined || c.exitCode !== null || c.signalCode !== null) return;
  try {
    process.kill(-c.pid, sig); // detached: the child leads its own process group
  } catch {
    try {
      c.kill(sig);
    } catch {
      /* already gone */
    }
  }
}

export function killAllNow(): void {
  for (const c of children) killTree(c, 'SIGKILL');
  children.clear();
}

/** Kill every child on exit, on SIGINT/SIGTERM/SIGHUP and on any uncaught error. */
export function installCleanup(): void {
  process.on('exit', killAllNow);
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.on(sig, () => {
      console.error(`\nbench: ${sig}: stopping children`);
      killAllNow();
      process.exit(130);
    });
  }
  const fatal = (e: unknown): void => {
    console.error('bench: fatal:', e);
    killAllNow();
    process.exit(1);
  };
  process.on('uncaughtException', fatal);
  process.on('unhandledRejection', fatal);
}

let pin = false;
/** Decide whether to pin (taskset works and there are >= 2 cores). Returns the decision. */
export function setupPinning(disabled: boolean): boolean {
  pin =
    !disabled &&
    os.availableParallelism() >= 2 &&
    spawnSync('taskset', ['-c', '1', 'true'], { stdio: 'ignore' }).status === 0;
  return pin;
}

export function fdHardLimit(): number {
  return Number(spawnSync('bash', ['-c', 'ulimit -Hn'], { encoding: 'utf8' }).stdout.trim()) || 0;
}

/**
 * Start `CMD ARGS` in its own process group, with the fd soft limit raised to the hard limit,
 * pinned to `core` when pinning is on. `bash -c … exec` and `taskset` both exec, so the
 * child's pid is the pid of CMD itself. Its stdin is a pipe the child watches: it exits on
 * EOF, i.e. when the harness dies, even by SIGKILL.
 */
export function startChild(core: number, cmd: string[]): ChildProcess {
  const taskset = pin ? ['taskset', '-c', String(core)] : [];
  const c = spawn('bash', ['-c', 'ulimit -n "$(ulimit -Hn)" 2>/dev/null; exec "$@"', 'bench', ...taskset, ...cmd], {
    cwd: ROOT,
    stdio: ['pipe', 'pipe', 'pipe'],
    detached: true,
    env: { ...process.env, BENCH_CHILD: '1' },
  });
  children.add(c);
  c.on('exit', () => children.delete(c));
  c.stdin!.on('error', () => {});
  return c;
}

/*
 * Every child (servers, generators) runs compiled JavaScript with plain `node`, as the
 * package's users run dist/: never through tsx. Under tsx, each module's transformed source
 * and inline source map stay on the child's heap, and the loader runs a second isolate; for
 * this library (many modules) that pushed the server's start-up heap past V8's first
 * old-generation limit, and the limit V8 then set was small enough that the external
 * (ArrayBuffer) bytes of S4's 1 MiB messages started a major GC every ~100 ms, with the
 * concurrent marker on the server's only core: S4 fell from ~1,100 to ~350 MB/s while the
 * same code, compiled, did not (bench/RESULTS.md, "The S2-S4 regression"). `ws` (plain
 * JavaScript) was spared, which made the comparison unfair the other way.
 */
let built = false;

/** Compile src/ and bench/ into BUILD once per harness process (incremental: fast when nothing changed). */
export function buildBench(): void {
  if (built || process.env.BENCH_CHILD === '1' || process.env.BENCH_BUILT === '1') return;
  const tsc = path.join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
  const r = spawnSync(process.execPath, [tsc, '-p', path.join(ROOT, 'tsconfig.bench.json')], { cwd: ROOT, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`bench: tsc -p tsconfig.bench.json failed:\n${r.stdout}${r.stderr}`);
  built = true;
  process.env.BENCH_BUILT = '1'; // a harness this one runs (run.ts → http2.ts) need not build again
}

/**
 * `node BUILD/SCRIPT.js ARGS`: SCRIPT is a .ts file of the project (relative to the root, or
 * absolute), or already a compiled .js file under BUILD (a compiled parent spawning itself).
 */
export function benchNode(script: string, args: string[] = [], nodeFlags: string[] = []): string[] {
  const absolute = path.resolve(ROOT, script);
  if (absolute.startsWith(BUILD + path.sep)) return [process.execPath, ...nodeFlags, absolute, ...args];
  buildBench();
  const compiled = path.join(BUILD, path.relative(ROOT, absolute)).replace(/\.ts$/, '.js');
  return [process.execPath, ...nodeFlags, compiled, ...args];
}

export function tail(s: string, n = 1500): string {
  return s.length > n ? '…' + s.slice(-n) : s;
}

export interface Running {
  name: ServerName;
  proc: ChildProcess;
  port: number;
  pid: number;
  info: Record<string, unknown>;
  stderr: () => string;
}

/** Start bench/servers/NAME.ts [ARGS] on core 0; resolves once it printed its port. */
export function startServer(name: ServerName, notes: string[], args: string[] = []): Promise<Running> {
  const proc = startChild(0, benchNode(path.join('bench', 'servers', `${name}.ts`), args));
  let out = '';
  let err = '';
  proc.stderr!.setEncoding('utf8').on('data', (d: string) => {
    err = tail(err + d, 8000);
  });
  return new Promise((resolve, reject) => {
    let settled = false;
    const settle = (e: Error | null, r?: Running): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      proc.stdout!.removeAllListeners('data');
      proc.stdout!.resume();
      if (e) {
        killTree(proc, 'SIGKILL');
        reject(new Error(`server ${name}: ${e.message}${err ? `\n--- stderr ---\n${tail(err)}` : ''}`));
      } else resolve(r!);
    };
    const timer = setTimeout(() => settle(new Error('did not print its port within 30 s')), 30_000);
    proc.stdout!.setEncoding('utf8').on('data', (d: string) => {
      out += d;
      const nl = out.indexOf('\n');
      if (nl < 0) return;
      let info: Record<string, unknown>;
      try {
        info = JSON.parse(out.slice(0, nl)) as Record<string, unknown>;
      } catch {
        return settle(new Error(`bad first line on stdout: ${out.slice(0, nl)}`));
      }
      const port = Number(info.port);
      if (!(port > 0)) return settle(new Error(`no port in: ${out.slice(0, nl)}`));
      // The pid the server reports must be our child (bash and taskset exec into node).
      if (Number(info.pid) !== proc.pid) notes.push(`server ${name}: reported pid ${info.pid} != child pid ${proc.pid}`);
      settle(null, { name, proc, port, pid: Number(info.pid), info, stderr: () => err });
    });
    proc.on('exit', (code, sig) => settle(new Error(`exited (${sig ?? code}) before listening`)));
  });
}

export async function stopServer(s: Running): Promise<void> {
  const p = s.proc;
  if (p.exitCode !== null || p.signalCode !== null) return;
  const gone = new Promise<void>((r) => p.once('exit', () => r()));
  killTree(p, 'SIGTERM');
  const t = setTimeout(() => killTree(p, 'SIGKILL'), 2000);
  await gone;
  clearTimeout(t);
}

/**
 * Run a generator child on core 1 and collect its stdout. `parse` turns the whole stdout into
 * a result or throws. Rejects with the generator's and the server's stderr on failure.
 */
export function runGenerator(
  cmd: string[],
  srv: Running,
  timeoutMs: number,
  parse: (stdout: string, code: number | null) => Result,
): Promise<Result> {
  const proc = startChild(1, cmd);
  let out = '';
  let err = '';
  proc.stdout!.setEncoding('utf8').on('data', (d: string) => (out += d));
  proc.stderr!.setEncoding('utf8').on('data', (d: string) => (err = tail(err + d, 8000)));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      killTree(proc, 'SIGKILL');
      reject(new Error(`load generator timed out after ${timeoutMs / 1000} s`));
    }, timeoutMs);
    proc.on('exit', (code, sig) => {
      clearTimeout(timer);
      try {
        if (sig) throw new Error(`killed by ${sig}`);
        resolve(parse(out, code));
      } catch (e) {
        const serr = srv.stderr();
        reject(
          new Error(
            `load generator: ${(e as Error).message}` +
              (err ? `\n--- generator stderr ---\n${tail(err)}` : '') +
              (serr ? `\n--- server stderr ---\n${tail(serr)}` : ''),
          ),
        );
      }
    });
  });
}

/** The last line of a child's stdout, parsed as JSON; throws when it is not JSON. */
export function lastJsonLine<T = Result>(stdout: string): T {
  return JSON.parse(stdout.trim().split('\n').pop() ?? '') as T;
}

/**
 * `parse` for runGenerator, for a child that ends by printing its result as one JSON line
 * (bench/loadgen.ts, the fairness attacker): fails without that line, with an `error` in it,
 * or on a non-zero exit.
 */
export function parseResultLine(stdout: string, code: number | null): Result {
  let r: Result;
  try {
    r = lastJsonLine(stdout);
  } catch {
    throw new Error(`exited (${code}) without a result`);
  }
  if (r.error) throw new Error(String(r.error));
  if (code !== 0) throw new Error(`exited (${code})`);
  return r;
}

/**
 * Write `line` to a running server's stdin and resolve with the next line it prints on stdout,
 * parsed as JSON; null if none comes within `timeoutMs` (a stalled server), it is not JSON, or
 * the server exits first.
 */
export function askServer(s: Running, line: string, timeoutMs: number): Promise<Record<string, unknown> | null> {
  const { proc } = s;
  if (proc.exitCode !== null || proc.signalCode !== null) return Promise.resolve(null);
  return new Promise((resolve) => {
    let out = '';
    const done = (r: Record<string, unknown> | null): void => {
      clearTimeout(timer);
      proc.stdout!.off('data', onData);
      proc.off('exit', onExit);
      resolve(r);
    };
    const onData = (d: string): void => {
      out += d;
      const nl = out.indexOf('\n');
      if (nl < 0) return;
      try {
        done(JSON.parse(out.slice(0, nl)) as Record<string, unknown>);
      } catch {
        done(null);
      }
    };
    const onExit = (): void => done(null);
    const timer = setTimeout(() => done(null), timeoutMs);
    proc.stdout!.on('data', onData);
    proc.once('exit', onExit);
    proc.stdin!.write(line + '\n');
  });
}

/**
 * The machine is shared (other people's builds and tests): before a sample, wait until the
 * whole machine has been nearly idle (< `threshold` busy cores over 0.5 s), at most
 * `maxWaitS` seconds. Returns the busy cores of the last probe (> threshold: gave up waiting).
 */
export async function waitQuiet(threshold: number, maxWaitS: number): Promise<number> {
  const deadline = Date.now() + maxWaitS * 1000;
  for (;;) {
    const a = machineCpuSeconds();
    await sleep(500);
    const b = machineCpuSeconds();
    if (a.busy < 0 || b.busy < 0) return 0;
    const busy = (b.busy - a.busy) / 0.5;
    if (busy < threshold || Date.now() >= deadline) return busy;
    await sleep(1000);
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
