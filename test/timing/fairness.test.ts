/**
 * One hostile peer must not stall everyone. Each attack of the fairness
 * table (issue "event-loop fairness and resource budgets"), scaled to CI:
 * while it runs, a probe opens a fresh connection and gets an echo, again
 * and again; each test asserts the server stays alive, every probe is served
 * within a bound, memory stays within its budget, and the attacker gets the
 * documented close code or status. bench/fairness.ts measures the same
 * attacks at full scale, against ws.
 *
 * The attackers run in a worker thread (helpers/attacks.ts), so their own
 * work does not land on the event loop the server and the probe share: the
 * probe measures the server.
 */
import assert from 'node:assert/strict';
import { describe, it, after } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';

import { OP, frame, text } from '../helpers/frames.js';
import { runAttack } from '../helpers/attacks.js';
import { connect, createServer, LocalError, type WebSocketConnection } from '../../src/index.js';
import { RawClient, TestServer } from '../helpers/raw-client.js';
import { waitFor } from '../helpers/wait-for.js';

/**
 * The slowest probe allowed while an attack runs, per attack: a few times
 * what this machine measures (the benchmark's target is 50 ms at p99; CI
 * machines are slower and busier), and below what the code before the
 * fairness work measured where the attack is heavy enough to show it.
 */
const PROBE_BOUND_MS = { deflateEcho: 120, bombs: 200, subprotocol: 150, fragments: 150, pingFlood: 400 };
/** The median probe while subprotocol lists are checked (the quadratic check made it 45–70 ms here; linear, 7–11 ms). */
const SUBPROTOCOL_MEDIAN_BOUND_MS = 30;

/** Handshake + one echo on a fresh connection, in ms. */
async function probeOnce(port: number): Promise<number> {
  const started = performance.now();
  const client = await RawClient.connect(port, { timeoutMs: 5000 });
  try {
    client.send(text('probe'));
    await client.expectText('probe', 5000);
    return performance.now() - started;
  } finally {
    client.destroy();
  }
}

/**
 * Probe every `everyMs` until `until` settles; returns the latencies of the
 * probes that ended while the attack ran (the one in flight when it ends
 * overlaps the attacker's worker thread shutting down, which is not the
 * server's doing).
 */
async function probeWhile(port: number, until: Promise<unknown>, everyMs = 20): Promise<number[]> {
  let done = false;
  void until.finally(() => (done = true));
  const latencies: number[] = [];
  while (!done) {
    const latency = await probeOnce(port);
    if (!done) latencies.push(latency);
    await delay(everyMs);
  }
  return latencies;
}

function assertProbesServed(latencies: number[], what: string, bound: number, medianBound = Infinity): void {
  assert.ok(latencies.length >= 3, `too few probes ran during ${what}: ${latencies.length}`);
  const worst = Math.max(...latencies);
  if (process.env.WSRFC_FAIRNESS_VERBOSE === '1') {
    const sorted = [...latencies].sort((a, b) => a - b);
    console.error(`${what}: ${latencies.length} probes, p50 ${sorted[sorted.length >> 1].toFixed(1)} ms, max ${worst.toFixed(1)} ms`);
  }
  // One probe may be late up to twice the bound (a GC pause or the OS scheduling
  // the test's own threads on a loaded 2-core machine: seen at 238-279 ms with a
  // 150 ms bound); a stall longer than that, or a second late probe, fails.
  const all = latencies.map((l) => l.toFixed(0)).join(' ');
  const secondWorst = [...latencies].sort((a, b) => b - a)[1];
  assert.ok(worst < 2 * bound, `a probe waited ${worst.toFixed(0)} ms during ${what} (bound ${bound} ms, one probe up to ${2 * bound} ms; all: ${all})`);
  assert.ok(secondWorst < bound, `two probes waited ${bound} ms or more during ${what} (${secondWorst.toFixed(0)} ms the second worst; all: ${all})`);
  const median = [...latencies].sort((a, b) => a - b)[latencies.length >> 1];
  assert.ok(median < medianBound, `the median probe took ${median.toFixed(0)} ms during ${what} (bound ${medianBound} ms)`);
}


describe('fairness: one hostile peer must not stall everyone', () => {
  const servers: TestServer[] = [];
  after(async () => {
    await Promise.all(servers.map((s) => s.stop()));
  });
  async function start(options: Parameters<typeof TestServer.start>[0]): Promise<TestServer> {
    const ts = await TestServer.start(options);
    servers.push(ts);
    return ts;
  }

  it('permessage-deflate echo of messages just under the limit, 4 connections in a loop: probes stay fast', { timeout: 60_000 }, async () => {
    const size = 4 * 1024 * 1024;
    const ts = await start({ perMessageDeflate: true, maxMessageSize: size });
    const attack = runAttack('deflateEcho', { port: ts.port, conns: 4, size: size - 1024, rounds: 8 });
    const latencies = await probeWhile(ts.port, attack);
    const { echoes } = await attack;
    assert.equal(echoes.length, 32);
    assert.ok(echoes.every((e) => e.opcode === OP.BINARY && e.rsv === 0b100), 'every echo comes back, compressed');
    assertProbesServed(latencies, 'a deflate echo loop', PROBE_BOUND_MS.deflateEcho);
    await ts.assertEchoWorks();
  });

  it('20 connections each send a deflate bomb (256 MiB inflated, 16 MiB allowed): each closed with 1009, probes stay fast', { timeout: 60_000 }, async () => {
    const ts = await start({ perMessageDeflate: true });
    const attack = runAttack('deflateBomb', { port: ts.port, conns: 20, inflatedSize: 256 * 1024 * 1024 });
    const latencies = await probeWhile(ts.port, attack);
    const { codes } = await attack;
    assert.deepEqual(codes, Array(20).fill(1009));
    assertProbesServed(latencies, '20 deflate bombs', PROBE_BOUND_MS.bombs);
    await ts.assertEchoWorks();
  });

  it('handshakes with the largest Sec-WebSocket-Protocol list the default limits allow, 8 attackers in a loop: probes stay fast', { timeout: 60_000 }, async () => {
    const ts = await start({});
    // The head limit is 16 KiB: 15 lines of ~1,000 bytes of short unique tokens (about 3,000 of them).
    const lines: string[] = [];
    let n = 0;
    for (let line = 0; line < 15; line++) {
      const tokens: string[] = [];
      while (tokens.join(', ').length < 1000) tokens.push(`p${(n++).toString(36)}`);
      lines.push(tokens.join(', '));
    }
    const attack = runAttack('subprotocolHandshakes', { port: ts.port, attackers: 8, protocolLines: lines, ms: 3000 });
    const latencies = await probeWhile(ts.port, attack);
    const { statuses } = await attack;
    assert.deepEqual(Object.keys(statuses), ['101'], 'the list is valid: every handshake succeeds');
    assert.ok(statuses[101] > 20, `only ${statuses[101]} attacking handshakes ran`);
    assertProbesServed(latencies, 'subprotocol-list handshakes', PROBE_BOUND_MS.subprotocol, SUBPROTOCOL_MEDIAN_BOUND_MS);
  });

  it('40 connections each send a message as 50,000 one-byte fragments: delivered whole, probes stay fast', { timeout: 60_000 }, async () => {
    const ts = await start({});
    const attack = runAttack('fragments', { port: ts.port, conns: 40, count: 50_000 });
    const latencies = await probeWhile(ts.port, attack);
    const { lengths } = await attack;
    assert.deepEqual(lengths, Array(40).fill(50_000));
    assertProbesServed(latencies, 'one-byte fragments', PROBE_BOUND_MS.fragments);
  });

  it('a ping flood from 20 connections that never read their pongs: each closed (1008) and dropped, probes stay fast', { timeout: 60_000 }, async () => {
    const ts = await start({ maxPendingPongs: 64, closeTimeout: 1000 });
    const attack = runAttack('pingFlood', { port: ts.port, conns: 20, burst: 4096, ms: 20_000 });
    const latencies = await probeWhile(ts.port, attack);
    const { droppedAfter } = await attack;
    assert.ok(droppedAfter.every((ms) => ms >= 0), `the server must drop every peer that does not read its pongs (ms: ${droppedAfter.join(' ')})`);
    assertProbesServed(latencies, 'a ping flood', PROBE_BOUND_MS.pingFlood);
    assert.equal(ts.server.connections.size, 0, 'every flooding connection is gone');
    await ts.assertEchoWorks();
  });

  it('peers that never read while their large messages are echoed: memory within the budget, 503 while over it, then dropped (send stall 1008, shedding 1013)', { timeout: 60_000 }, async () => {
    const budget = 24 * 1024 * 1024;
    const ts = await start({ sendStallTimeout: 1000, closeTimeout: 500, memoryBudget: budget, maxMessageSize: 4 * 1024 * 1024 });
    const message = frame({ opcode: OP.BINARY, payload: Buffer.alloc(4 * 1024 * 1024 - 16, 1) });
    const attackers = await Promise.all(Array.from({ length: 12 }, () => ts.connect()));
    let peak = 0;
    const sampler = setInterval(() => (peak = Math.max(peak, ts.server.memoryBudget.used)), 5);
    try {
      for (const c of attackers) {
        c.socket.pause(); // never read what the server echoes
        for (let i = 0; i < 3; i++) c.send(message);
      }
      // While they pin memory over the budget, a new upgrade is refused with 503.
      const overBy = performance.now() + 5000;
      while (!ts.server.memoryBudget.isExceeded && performance.now() < overBy) await delay(5);
      assert.ok(ts.server.memoryBudget.isExceeded, `the attack never reached the budget (used ${ts.server.memoryBudget.used})`);
      const answer = await ts.request('GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n', { timeoutMs: 2000 });
      assert.equal(answer.response?.status, 503);
      assert.ok(answer.response?.headers['retry-after'], '503 says when to come back');
      // Then the send-stall deadline closes them (1008) and drops them: memory is released.
      const droppedBy = performance.now() + 10_000;
      while (ts.server.connections.size > 0 && performance.now() < droppedBy) await delay(10);
      assert.equal(ts.server.connections.size, 0, 'every stalled peer is dropped');
    } finally {
      clearInterval(sampler);
    }
    // Reading stops for the heaviest connections once over the budget: each
    // can overshoot by what it had already read (a read and a message being
    // assembled) and the echo it had queued.
    const slack = attackers.length * (4 * 1024 * 1024 + 64 * 1024);
    assert.ok(peak <= budget + slack, `peak ${peak} bytes held, budget ${budget} + slack ${slack}`);
    assert.equal(ts.server.memoryBudget.used, 0, 'every byte the dropped peers held is released');
    assert.equal(ts.server.memoryBudget.isExceeded, false, 'upgrades are accepted again');
    await ts.assertEchoWorks();
  });

  it('a slow reader that keeps taking bytes is not a stalled one: it gets its whole echo', { timeout: 30_000 }, async () => {
    const ts = await start({ sendStallTimeout: 300, maxMessageSize: 8 * 1024 * 1024 });
    const client = await ts.connect();
    const size = 8 * 1024 * 1024 - 16;
    client.socket.pause();
    client.send(frame({ opcode: OP.BINARY, payload: Buffer.alloc(size, 2) }));
    // Read a little every 100 ms: progress within every sendStallTimeout.
    const reading = setInterval(() => {
      client.socket.resume();
      setTimeout(() => client.socket.pause(), 2);
    }, 100);
    try {
      const echo = await client.nextFrame(20_000);
      assert.equal(echo.payload.length, size);
    } finally {
      clearInterval(reading);
    }
    assert.equal(ts.server.connections.size, 1, 'still connected');
  });
});

describe('the budgets are validated options', () => {
  for (const [name, bad] of [
    ['sendStallTimeout', -1],
    ['maxPendingPongs', 0],
    ['turnBudget', 0],
    ['memoryBudget', 0],
    ['turnBudget', 1.5],
    ['sendStallTimeout', '1000'],
  ] as const) {
    it(`createServer({ ${name}: ${JSON.stringify(bad)} }) throws a LocalError`, { timeout: 5000 }, () => {
      assert.throws(() => createServer({ [name]: bad } as never), (error: unknown) => error instanceof LocalError && error.message.startsWith(name));
    });
  }
  it('the smallest valid values are accepted', { timeout: 5000 }, () => {
    assert.doesNotThrow(() => createServer({ sendStallTimeout: 0, maxPendingPongs: 1, turnBudget: 1, memoryBudget: 1 }));
  });
});

describe('permessage-deflate off the event loop, end to end', () => {
  it('large and small messages, compressed and inflated on the thread pool or at once, keep their order both ways', { timeout: 30_000 }, async () => {
    const server = createServer({ perMessageDeflate: true }, (ws) => ws.on('message', (m) => ws.send(m)));
    const { port } = await server.listen(0, '127.0.0.1');
    try {
      const client = await connect(`ws://127.0.0.1:${port}`, { perMessageDeflate: true });
      const sent: Array<string | Buffer> = [];
      for (let i = 0; i < 12; i++) {
        // Alternate: 1 MiB (thread pool both ways), 2 KiB (at once), a short text (not compressed).
        const message = i % 3 === 0 ? Buffer.alloc(1 << 20, i) : i % 3 === 1 ? Buffer.alloc(2048, i) : `text ${i}`;
        sent.push(message);
        client.send(message);
      }
      const received: Array<string | Buffer> = [];
      for await (const message of client) {
        received.push(message);
        if (received.length === sent.length) break;
      }
      assert.deepEqual(received, sent);
      client.close();
      await client.closed;
    } finally {
      await server.close();
    }
  });

  it("send() answering false for a message held for compression is followed by 'drain'", { timeout: 30_000 }, async () => {
    let accepted: WebSocketConnection | undefined;
    const server = createServer({ perMessageDeflate: true }, (ws) => (accepted = ws));
    const { port } = await server.listen(0, '127.0.0.1');
    try {
      const client = await connect(`ws://127.0.0.1:${port}`, { perMessageDeflate: true });
      const got = new Promise<Buffer>((resolve) => client.once('message', (m) => resolve(m as Buffer)));
      const serverSide = await waitFor(() => accepted, { what: 'the server-side connection' });
      // 1 MiB of zeros: compressed off the event loop to ~1 KiB, too little for the socket to report a drain itself.
      assert.equal(serverSide.send(Buffer.alloc(1 << 20)), false, 'held bytes count against the high-water mark');
      await new Promise<void>((resolve) => serverSide.once('drain', resolve));
      assert.equal(serverSide.bufferedAmount, 0);
      assert.equal((await got).length, 1 << 20);
      client.close();
      await client.closed;
    } finally {
      await server.close();
    }
  });
});
