/**
 * Hostile peers for the fairness tests, run in a worker thread (see
 * runAttack) so that their own work does not land on the event loop the
 * server and the probe share: what the probe measures is the server.
 *
 * Each attack is plain sockets and frames built once with the independent
 * frame builder (helpers/frames.ts), and stops by itself (bounded in count
 * and time). Every function returns a plain summary the test asserts on.
 */
import net from 'node:net';
import { Worker } from 'node:worker_threads';
import { deflateRawSync, constants as zlib } from 'node:zlib';
import { OP, frame, ping } from './frames.js';

const DEFLATE = 'Sec-WebSocket-Extensions: permessage-deflate\r\n';

/** Open a connection and complete the opening handshake; resolves with the socket and the status line. */
function handshake(port: number, extraHeaders = ''): Promise<{ socket: net.Socket; status: number; rest: Buffer }> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    socket.setNoDelay(true);
    let head = Buffer.alloc(0);
    const onData = (chunk: Buffer): void => {
      head = Buffer.concat([head, chunk]);
      const end = head.indexOf('\r\n\r\n');
      if (end === -1) return;
      socket.off('data', onData);
      socket.off('error', reject);
      resolve({ socket, status: Number(head.subarray(9, 12).toString()), rest: head.subarray(end + 4) });
    };
    socket.on('data', onData);
    socket.on('error', reject);
    socket.write(
      `GET / HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
        `Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n${extraHeaders}\r\n`,
    );
  });
}

/** Reads the server's (unmasked) frames off a socket, one header at a time; payloads are skipped, not kept. */
class FrameReader {
  private buffer: Buffer = Buffer.alloc(0);
  private waiting: ((f: { opcode: number; rsv: number; length: number; closeCode?: number }) => void) | null = null;
  private frames: Array<{ opcode: number; rsv: number; length: number; closeCode?: number }> = [];
  private skip = 0;
  private current: { opcode: number; rsv: number; length: number } | null = null;
  ended = false;

  constructor(socket: net.Socket, rest: Buffer) {
    socket.on('data', (chunk: Buffer) => this.push(chunk));
    socket.on('close', () => {
      this.ended = true;
      this.waiting?.({ opcode: -1, rsv: 0, length: 0 });
    });
    socket.on('error', () => {});
    this.push(rest);
  }

  private push(chunk: Buffer): void {
    this.buffer = this.buffer.length === 0 ? chunk : Buffer.concat([this.buffer, chunk]);
    for (;;) {
      if (this.current !== null) {
        // Skipping a data payload: only its length matters here.
        const take = Math.min(this.skip, this.buffer.length);
        this.skip -= take;
        this.buffer = this.buffer.subarray(take);
        if (this.skip > 0) return;
        this.emit(this.current);
        this.current = null;
      }
      if (this.buffer.length < 2) return;
      const len7 = this.buffer[1] & 0x7f;
      const size = len7 < 126 ? 2 : len7 === 126 ? 4 : 10;
      if (this.buffer.length < size) return;
      const length = len7 < 126 ? len7 : len7 === 126 ? this.buffer.readUInt16BE(2) : Number(this.buffer.readBigUInt64BE(2));
      const opcode = this.buffer[0] & 0x0f;
      const rsv = (this.buffer[0] >> 4) & 7;
      if (opcode === OP.CLOSE) {
        if (this.buffer.length < size + length) return;
        this.emit({ opcode, rsv, length, closeCode: length >= 2 ? this.buffer.readUInt16BE(size) : 1005 });
        this.buffer = this.buffer.subarray(size + length);
        continue;
      }
      this.current = { opcode, rsv, length };
      this.skip = length;
      this.buffer = this.buffer.subarray(size);
    }
  }

  private emit(f: { opcode: number; rsv: number; length: number; closeCode?: number }): void {
    const waiting = this.waiting;
    if (waiting !== null) {
      this.waiting = null;
      waiting(f);
    } else {
      this.frames.push(f);
    }
  }

  /** The next complete frame (opcode -1 once the connection closed). */
  next(): Promise<{ opcode: number; rsv: number; length: number; closeCode?: number }> {
    const queued = this.frames.shift();
    if (queued !== undefined) return Promise.resolve(queued);
    if (this.ended) return Promise.resolve({ opcode: -1, rsv: 0, length: 0 });
    return new Promise((resolve) => (this.waiting = resolve));
  }
}

function compressedZeros(size: number): Buffer {
  return deflateRawSync(Buffer.alloc(size), { finishFlush: zlib.Z_SYNC_FLUSH, level: 9 }).subarray(0, -4);
}

/** `conns` connections with permessage-deflate echo `rounds` messages of `size` zero bytes each (compressed to a few KiB). */
export async function deflateEcho(p: { port: number; conns: number; size: number; rounds: number }) {
  const message = frame({ opcode: OP.BINARY, rsv: 0b100, payload: compressedZeros(p.size) });
  const results = await Promise.all(
    Array.from({ length: p.conns }, async () => {
      const { socket, rest } = await handshake(p.port, DEFLATE);
      const reader = new FrameReader(socket, rest);
      const echoes: Array<{ opcode: number; rsv: number }> = [];
      for (let i = 0; i < p.rounds; i++) {
        socket.write(message);
        const echo = await reader.next();
        echoes.push({ opcode: echo.opcode, rsv: echo.rsv });
      }
      socket.destroy();
      return echoes;
    }),
  );
  return { echoes: results.flat() };
}

/** `conns` connections each send one compressed message inflating to `inflatedSize` bytes; returns the close codes they got. */
export async function deflateBomb(p: { port: number; conns: number; inflatedSize: number }) {
  const bomb = frame({ opcode: OP.BINARY, rsv: 0b100, payload: compressedZeros(p.inflatedSize) });
  const codes = await Promise.all(
    Array.from({ length: p.conns }, async () => {
      const { socket, rest } = await handshake(p.port, DEFLATE);
      const reader = new FrameReader(socket, rest);
      socket.write(bomb);
      for (;;) {
        const f = await reader.next();
        if (f.opcode === OP.CLOSE || f.opcode === -1) {
          socket.destroy();
          return f.closeCode ?? -1;
        }
      }
    }),
  );
  return { codes };
}

/** `attackers` loops of handshakes carrying `protocolLines` Sec-WebSocket-Protocol lines, for `ms`; returns how many and their statuses. */
export async function subprotocolHandshakes(p: { port: number; attackers: number; protocolLines: string[]; ms: number }) {
  const headers = p.protocolLines.map((line) => `Sec-WebSocket-Protocol: ${line}\r\n`).join('');
  const deadline = performance.now() + p.ms;
  const statuses = new Map<number, number>();
  await Promise.all(
    Array.from({ length: p.attackers }, async () => {
      while (performance.now() < deadline) {
        const { socket, status } = await handshake(p.port, headers);
        socket.destroy();
        statuses.set(status, (statuses.get(status) ?? 0) + 1);
      }
    }),
  );
  return { statuses: Object.fromEntries(statuses) };
}

/** `conns` connections each send one binary message as `count` one-byte fragments; returns the lengths echoed. */
export async function fragments(p: { port: number; conns: number; count: number }) {
  const wire = Buffer.concat([
    frame({ opcode: OP.BINARY, fin: false, payload: Buffer.of(0) }),
    ...Array.from({ length: p.count - 2 }, (_, i) => frame({ opcode: OP.CONT, fin: false, payload: Buffer.of(i & 0xff) })),
    frame({ opcode: OP.CONT, payload: Buffer.of(0xff) }),
  ]);
  const lengths = await Promise.all(
    Array.from({ length: p.conns }, async () => {
      const { socket, rest } = await handshake(p.port);
      const reader = new FrameReader(socket, rest);
      socket.write(wire);
      const echo = await reader.next();
      socket.destroy();
      return echo.length;
    }),
  );
  return { lengths };
}

/**
 * `conns` connections flood pings and never read their socket, for at most
 * `ms`; returns how many the server dropped (a write failed) and when.
 */
export async function pingFlood(p: { port: number; conns: number; burst: number; ms: number }) {
  const burst = Buffer.concat(Array.from({ length: p.burst }, () => ping('x'.repeat(100))));
  const started = performance.now();
  const droppedAfter = await Promise.all(
    Array.from({ length: p.conns }, async () => {
      const { socket } = await handshake(p.port);
      socket.pause(); // never read
      let failed = false;
      socket.on('error', () => (failed = true));
      socket.on('close', () => (failed = true));
      while (!failed && performance.now() - started < p.ms) {
        if (socket.writableLength < 1 << 20) socket.write(burst);
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
      socket.destroy();
      return failed ? performance.now() - started : -1;
    }),
  );
  return { droppedAfter };
}

const ATTACKS = { deflateEcho, deflateBomb, subprotocolHandshakes, fragments, pingFlood };
export type AttackName = keyof typeof ATTACKS;

/** Run one attack in a worker thread; resolves with its summary. */
export function runAttack<N extends AttackName>(name: N, params: Parameters<(typeof ATTACKS)[N]>[0]): Promise<Awaited<ReturnType<(typeof ATTACKS)[N]>>> {
  const url = new URL(import.meta.url).href;
  // The worker loads this module again (through tsx's loader) and runs the attack there.
  const source = `const { parentPort, workerData } = require('node:worker_threads');
import('tsx/esm/api').then((api) => { api.register(); return import(${JSON.stringify(url)}); })
  .then((m) => m.runInWorker(workerData)).then((r) => parentPort.postMessage({ ok: r }), (e) => parentPort.postMessage({ error: String(e && e.stack || e) }));`;
  return new Promise((resolve, reject) => {
    const worker = new Worker(source, { eval: true, workerData: { name, params } });
    let outcome: { ok?: unknown; error?: string } | undefined;
    worker.once('message', (m: { ok?: unknown; error?: string }) => (outcome = m));
    // Settles once the worker has exited (it ends by itself when its attack
    // is over), so its shutdown is not mistaken for the server's slowness.
    worker.once('exit', () => {
      if (outcome === undefined) reject(new Error(`attack ${name}: the worker exited without a result`));
      else if (outcome.error !== undefined) reject(new Error(`attack ${name} failed: ${outcome.error}`));
      else resolve(outcome.ok as Awaited<ReturnType<(typeof ATTACKS)[N]>>);
    });
    worker.once('error', reject);
  });
}

/** @internal The worker's entry point. */
export function runInWorker(data: { name: AttackName; params: never }): Promise<unknown> {
  return (ATTACKS[data.name] as (params: never) => Promise<unknown>)(data.params);
}
