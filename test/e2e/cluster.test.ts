/**
 * The cluster backplane over real processes (test/helpers/cluster-app.ts
 * under runWorkers(), 2 workers sharing one port): delivery across workers
 * exactly once and in order, text and binary; a worker killed with SIGKILL;
 * a rolling restart (SIGHUP); SIGTERM → 1012 and every process exits.
 * Each primary runs in its own process group, killed whole in `after`.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { after, test } from 'node:test';
import WebSocket from 'ws';
import { reconnecting, type ClientConnection } from '../../src/index.js';
import { waitFor } from '../helpers/wait-for.js';
import { processGroupGone } from '../helpers/spawned-process.js';

const REPO = fileURLToPath(new URL('../../', import.meta.url));
const started = new Set<ChildProcess>();
after(() => {
  for (const child of started) {
    try {
      process.kill(-child.pid!, 'SIGKILL');
    } catch {
      // gone already
    }
  }
});

const until = (predicate: () => boolean, what: string, timeout = 8_000) => waitFor(predicate, { what, timeout, interval: 5 });

function spawnCluster(workers: number, env: NodeJS.ProcessEnv = {}) {
  const child = spawn(process.execPath, ['--import', 'tsx', 'test/helpers/cluster-app.ts', String(workers)], {
    cwd: REPO,
    env: { ...process.env, ...env },
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  started.add(child);
  let output = '';
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, exited, output: () => output };
}

async function startCluster(workers = 2, env: NodeJS.ProcessEnv = {}) {
  const { child, exited, output: read } = spawnCluster(workers, env);
  await until(() => /ready \d+/.test(read()), 'the cluster to be ready', 15_000);
  const output = read();
  const port = Number(/ready (\d+)/.exec(output)![1]);
  return { child, port, exited, output: read };
}

interface Client {
  ws: WebSocket;
  pid: number;
  messages: string[];
}

async function client(port: number, topic = 'news'): Promise<Client> {
  const ws = new WebSocket(`ws://127.0.0.1:${port}/?t=${topic}`);
  const messages: string[] = [];
  let pid = 0;
  ws.on('message', (data, isBinary) => {
    const text = isBinary ? `bin:${(data as Buffer).toString('hex')}` : data.toString();
    if (pid === 0 && text.startsWith('pid:')) pid = Number(text.slice(4));
    else messages.push(text);
  });
  await once(ws, 'open');
  await until(() => pid !== 0, 'the pid line');
  return { ws, pid, messages };
}

/** Clients until two are on different workers (round-robin: the second usually is). */
async function twoWorkers(port: number): Promise<[Client, Client, Client[]]> {
  const all: Client[] = [await client(port)];
  for (let i = 0; i < 10; i += 1) {
    const next = await client(port);
    all.push(next);
    if (next.pid !== all[0]!.pid) return [all[0]!, next, all];
  }
  throw new Error('every client landed on one worker');
}

const binary = (topic: string, bytes: number[]) => Buffer.from([topic.length, ...Buffer.from(topic), ...bytes]);

test('2 workers share one port (port 0); publishes from either reach every subscriber once, in order; text and binary', { timeout: 30_000 }, async () => {
  const { child, port, exited } = await startCluster(2);
  assert.ok(port > 0);
  const [a, b, all] = await twoWorkers(port);
  assert.notEqual(a.pid, b.pid);
  // Subscriptions travel to the primary over IPC: give them a moment before publishing.
  await new Promise((resolve) => setTimeout(resolve, 200));
  for (let i = 0; i < 20; i += 1) a.ws.send(`pub:news:a${i}`);
  for (let i = 0; i < 20; i += 1) b.ws.send(`pub:news:b${i}`);
  b.ws.send(binary('news', [0, 255, 1]));
  const expected = 41;
  for (const c of all) await until(() => c.messages.length >= expected, `${expected} messages on a client of worker ${c.pid}`);
  await new Promise((resolve) => setTimeout(resolve, 200)); // nothing more (no duplicate) arrives
  for (const c of all) {
    assert.equal(c.messages.length, expected, `exactly once: ${c.messages.join(',')}`);
    assert.deepEqual(c.messages.filter((m) => /^a\d+$/.test(m)), Array.from({ length: 20 }, (_, i) => `a${i}`));
    assert.deepEqual(c.messages.filter((m) => /^b\d+$/.test(m)), Array.from({ length: 20 }, (_, i) => `b${i}`));
    assert.ok(c.messages.includes('bin:00ff01'));
  }
  // A topic nobody subscribed to reaches nobody.
  a.ws.send('pub:other:x');
  await new Promise((resolve) => setTimeout(resolve, 100));
  for (const c of all) assert.ok(!c.messages.includes('x'));

  // SIGTERM to the primary: every client gets 1012, and everything exits.
  const codes = all.map((c) => once(c.ws, 'close').then(([code]) => code as number));
  child.kill('SIGTERM');
  assert.deepEqual(await Promise.all(codes), all.map(() => 1012));
  assert.equal(await exited, 0);
  await until(() => processGroupGone(child), 'the whole process group to be gone');
});

test('the cluster backplane is the default under runWorkers(): a server created without one still reaches the other worker', { timeout: 30_000 }, async () => {
  const { child, port, exited } = await startCluster(2, { DEFAULT_BACKPLANE: '1' });
  const [a, b, all] = await twoWorkers(port);
  await new Promise((resolve) => setTimeout(resolve, 200)); // subscriptions reach the primary
  a.ws.send('pub:news:from-a');
  b.ws.send('pub:news:from-b');
  for (const c of all) await until(() => c.messages.length >= 2, `both publishes on a client of worker ${c.pid}`);
  for (const c of all) assert.deepEqual([...c.messages].sort(), ['from-a', 'from-b']);
  child.kill('SIGTERM');
  assert.equal(await exited, 0);
});

test('a worker killed with SIGKILL: the other keeps serving, a new one is forked, a reconnecting client lands on a live worker', { timeout: 30_000 }, async () => {
  const { child, port } = await startCluster(2);
  const [a, b] = await twoWorkers(port);
  const pids: number[] = [];
  const rc = reconnecting(`ws://127.0.0.1:${port}/?t=news`, { reconnect: { initialDelay: 50, maxDelay: 200, jitter: 0 } });
  rc.on('connection', (connection: ClientConnection) => {
    connection.on('message', (message) => {
      if (typeof message === 'string' && message.startsWith('pid:')) pids.push(Number(message.slice(4)));
    });
  });
  await until(() => pids.length === 1, 'the reconnecting client to connect');
  const victim = pids[0]!;
  const survivor = victim === a.pid ? b : a;
  process.kill(victim, 'SIGKILL');
  await until(() => pids.length === 2, 'the reconnecting client to land again');
  assert.notEqual(pids[1], victim);
  // The survivor still serves: its own subscribers get its publishes.
  survivor.ws.send('pub:news:still-here');
  await until(() => survivor.messages.includes('still-here'), 'the surviving worker to serve');
  // The primary forked a replacement: a new client lands on a pid that is neither.
  let fresh = 0;
  for (let i = 0; i < 20 && fresh === 0; i += 1) {
    const c = await client(port);
    if (c.pid !== a.pid && c.pid !== b.pid) fresh = c.pid;
    c.ws.close();
    if (fresh === 0) await new Promise((resolve) => setTimeout(resolve, 100));
  }
  assert.ok(fresh > 0, 'a replacement worker serves');
  rc.close();
  child.kill('SIGTERM');
});

test('rolling restart (SIGHUP): new workers serve, a reconnecting subscriber is never away longer than one reconnect', { timeout: 30_000 }, async () => {
  const { child, port, output } = await startCluster(2);
  const [a, b] = await twoWorkers(port);
  const oldPids = new Set([a.pid, b.pid]);
  const pids: number[] = [];
  const gaps: number[] = [];
  const codes: number[] = [];
  let closedAt = 0;
  const rc = reconnecting(`ws://127.0.0.1:${port}/?t=news`, { reconnect: { initialDelay: 50, maxDelay: 200, jitter: 0 } });
  rc.on('connection', (connection: ClientConnection) => {
    if (closedAt) gaps.push(Date.now() - closedAt);
    connection.on('message', (message) => {
      if (typeof message === 'string' && message.startsWith('pid:')) pids.push(Number(message.slice(4)));
    });
    void connection.closed.then((info) => {
      closedAt = Date.now();
      codes.push(info.code);
    });
  });
  await until(() => pids.length === 1, 'the reconnecting client to connect');
  a.ws.on('error', () => {});
  b.ws.on('error', () => {});
  child.kill('SIGHUP');
  await until(() => output().includes('restarted'), 'the rolling restart to finish', 20_000);
  await until(() => !oldPids.has(pids.at(-1)!), 'the reconnecting client on a new worker');
  assert.ok(codes.length >= 1 && codes.every((code) => code === 1012), `closed with 1012 (Service Restart): ${codes.join(',')}`);
  assert.equal(gaps.length, codes.length, 'every close was followed by a reconnect');
  for (const gap of gaps) assert.ok(gap < 1_000, `back within one reconnect (${gap} ms)`);
  // The new workers relay topics to each other too.
  const [c, d] = await twoWorkers(port);
  assert.ok(!oldPids.has(c.pid) && !oldPids.has(d.pid));
  await new Promise((resolve) => setTimeout(resolve, 200));
  c.ws.send('pub:news:after');
  await until(() => d.messages.includes('after'), 'a publish across the new workers');
  rc.close();
  child.kill('SIGTERM');
});

test('npm start -- --port 0 --workers 2: the PID npm started is the primary; it echoes on 2 workers; SIGTERM → 1012 and exit 0', { timeout: 30_000 }, async () => {
  const child = spawn('npm', ['start', '--', '--port', '0', '--host', '127.0.0.1', '--workers', '2'], {
    cwd: REPO,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, NO_COLOR: '1' },
  });
  started.add(child);
  let output = '';
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  await until(() => /listening on ws:\/\/127\.0\.0\.1:\d+ \(2 workers\)/.test(output), 'the clustered echo server', 15_000);
  const port = Number(/127\.0\.0\.1:(\d+)/.exec(output)![1]);
  const clients = await Promise.all([0, 1, 2, 3].map(async () => {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/`);
    await once(ws, 'open');
    ws.send('ping');
    const [data] = await once(ws, 'message');
    assert.equal(String(data), 'ping');
    return ws;
  }));
  const codes = clients.map((ws) => once(ws, 'close').then(([code]) => code as number));
  child.kill('SIGTERM'); // the PID npm started: `exec node` made it the primary
  assert.deepEqual(await Promise.all(codes), [1012, 1012, 1012, 1012]);
  assert.equal(await exited, 0);
  await until(() => processGroupGone(child), 'the whole process group to be gone');
});

test('a worker that crashes at once is restarted with a growing delay, not in a tight loop; SIGTERM still stops the primary', { timeout: 30_000 }, async () => {
  const { child, exited } = spawnCluster(1, { CRASH: '1' });
  const forkedAt: number[] = [];
  const exitedAt: number[] = [];
  child.stdout!.on('data', (chunk: string) => {
    for (const line of chunk.split('\n')) {
      if (line === 'forked') forkedAt.push(Date.now());
      if (line === 'exited') exitedAt.push(Date.now());
    }
  });
  await until(() => forkedAt.length >= 6, 'six forks', 20_000);
  // The wait between a worker's exit and the next fork, apart from how long a worker takes to boot and crash.
  const wait = (n: number) => forkedAt[n]! - exitedAt[n - 1]!;
  // restartDelay 50 ms, doubled on each quick death: the 1st wait is 50 ms, the 5th 800 ms.
  const waits = [1, 2, 3, 4, 5].map(wait);
  assert.ok(wait(5) >= 750 && wait(5) - wait(1) >= 500, `the delay grows (waits ${waits.join(', ')} ms)`);
  child.kill('SIGTERM');
  assert.equal(await exited, 0);
});
