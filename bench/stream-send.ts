/**
 * Streaming send benchmark (not part of the test run): one large message
 * (256 MiB by default) from a server process to a bare-socket reader, and
 * what it costs the SENDING process.
 *
 *   node --import tsx bench/stream-send.ts [--size MiB] [--chunk KiB] [--modes LIST] [--rounds N]
 *
 * Modes (each sample a fresh sender child process, so its peak RSS is its own):
 *   - ours-stream: ws.sendStream(generator of `chunk`-sized Buffers), fragments
 *                  as they come, backpressure from the socket;
 *   - ours-send:   ws.send(one Buffer of the whole size), for comparison;
 *   - ws-send:     `ws` 8 ws.send(one Buffer of the whole size) (`ws` has no
 *                  streaming send).
 * Reported per sample: MB/s (first payload byte to the last, at the reader;
 * MB = 10^6 bytes), the sender's peak RSS (VmHWM from /proc/self/status, after
 * the message is produced: the whole-buffer modes count their buffer), and its
 * RSS at start. The reader (this process) only counts bytes. The machine may be
 * shared: take the median of a few rounds, and compare modes within one run.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import net from 'node:net';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { jsonLines, procPeakRssKiB } from './common.js';
import { benchNode } from './harness.js';

const { values: opt } = parseArgs({
  options: {
    size: { type: 'string', default: '256' },
    chunk: { type: 'string', default: '64' },
    modes: { type: 'string', default: 'ours-stream,ours-send,ws-send' },
    rounds: { type: 'string', default: '1' },
    sender: { type: 'string' },
    help: { type: 'boolean', short: 'h', default: false },
  },
  strict: true,
});

const SIZE = Number(opt.size) * 1024 * 1024;
const CHUNK = Number(opt.chunk) * 1024;

if (opt.help) {
  console.log('usage: node --import tsx bench/stream-send.ts [--size MiB (256)] [--chunk KiB (64)] [--modes ours-stream,ours-send,ws-send] [--rounds N (1)]');
} else if (opt.sender !== undefined) {
  await runSender(opt.sender);
} else {
  await runReader();
}

// ------------------------------------------------------------------ sender

/** The sending process: listen, send one message to the first connection, report, exit. */
async function runSender(mode: string): Promise<void> {
  const rssAtStart = process.memoryUsage().rss;
  const report = (): void => {
    // VmHWM, not resourceUsage().maxRSS: on Linux a child's maxRSS starts from its parent's peak.
    const peak = procPeakRssKiB('self') * 1024;
    process.stdout.write(JSON.stringify({ done: true, peakRss: peak, rssAtStart }) + '\n');
    setTimeout(() => process.exit(0), 50);
  };
  if (mode === 'ws-send') {
    const { WebSocketServer } = await import('ws');
    const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, perMessageDeflate: false });
    await once(wss, 'listening');
    wss.on('connection', (ws) => {
      ws.send(Buffer.alloc(SIZE, 1), () => report());
    });
    process.stdout.write(JSON.stringify({ port: (wss.address() as net.AddressInfo).port }) + '\n');
    return;
  }
  const { createServer } = await import('../src/index.js');
  const server = createServer({ host: '127.0.0.1' }, (ws) => {
    if (mode === 'ours-send') {
      ws.sent(Buffer.alloc(SIZE, 1)).then(report, (error: unknown) => {
        console.error(error);
        process.exit(1);
      });
      return;
    }
    function* chunks(): Generator<Buffer> {
      for (let sent = 0; sent < SIZE; sent += CHUNK) yield Buffer.alloc(Math.min(CHUNK, SIZE - sent), 1);
    }
    ws.sendStream(chunks()).then(report, (error: unknown) => {
      console.error(error);
      process.exit(1);
    });
  });
  const { port } = await server.listen(0);
  process.stdout.write(JSON.stringify({ port }) + '\n');
}

// ------------------------------------------------------------------ reader

interface Sample {
  mode: string;
  mbPerSecond: number;
  peakRssMiB: number;
  rssAtStartMiB: number;
}

async function runReader(): Promise<void> {
  const modes = opt.modes!.split(',');
  const rounds = Number(opt.rounds);
  const samples: Sample[] = [];
  console.log(`streaming send: one ${SIZE / 1048576} MiB message, chunks of ${CHUNK / 1024} KiB (ours-stream); node ${process.version}`);
  for (let round = 0; round < rounds; round++) {
    for (const mode of modes) {
      const sample = await oneSample(mode);
      samples.push(sample);
      console.log(`${mode.padEnd(12)} ${sample.mbPerSecond.toFixed(0).padStart(6)} MB/s   sender peak RSS ${sample.peakRssMiB.toFixed(0).padStart(5)} MiB (at start ${sample.rssAtStartMiB.toFixed(0)} MiB)`);
    }
  }
}

async function oneSample(mode: string): Promise<Sample> {
  const [node, ...nodeArgs] = benchNode(fileURLToPath(import.meta.url), ['--sender', mode, '--size', opt.size!, '--chunk', opt.chunk!]);
  const child = spawn(node, nodeArgs, {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const line = jsonLines(child.stdout!);
  try {
    const { port } = (await line(`sender ${mode} listening`, 30_000)) as { port: number };
    const socket = net.connect({ host: '127.0.0.1', port });
    await once(socket, 'connect');
    socket.write(
      `GET / HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
        `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
    );
    const { seconds } = await readOneMessage(socket);
    const report = (await line(`sender ${mode} done`, 300_000)) as { peakRss: number; rssAtStart: number };
    socket.destroy();
    return { mode, mbPerSecond: SIZE / 1e6 / seconds, peakRssMiB: report.peakRss / 1048576, rssAtStartMiB: report.rssAtStart / 1048576 };
  } finally {
    child.kill();
  }
}

/** Skip the 101 response, then parse frames (counting payload only) until a frame with FIN ends the message. */
function readOneMessage(socket: net.Socket): Promise<{ seconds: number }> {
  return new Promise((resolve, reject) => {
    let head = true;
    let pending: Buffer = Buffer.alloc(0);
    let remaining = 0;
    let inFrame = false;
    let fin = false;
    let payload = 0;
    let started = 0n;
    socket.on('error', reject);
    socket.on('data', (data: Buffer) => {
      let buffer = pending.length > 0 ? Buffer.concat([pending, data]) : data;
      pending = Buffer.alloc(0);
      if (head) {
        const end = buffer.indexOf('\r\n\r\n');
        if (end < 0) return void (pending = buffer);
        head = false;
        buffer = buffer.subarray(end + 4);
      }
      while (buffer.length > 0) {
        if (inFrame) {
          const take = Math.min(remaining, buffer.length);
          if (started === 0n && take > 0) started = process.hrtime.bigint();
          remaining -= take;
          payload += take;
          buffer = buffer.subarray(take);
          if (remaining > 0) return;
          inFrame = false;
          if (fin) {
            const seconds = Number(process.hrtime.bigint() - started) / 1e9;
            if (payload !== SIZE) reject(new Error(`got ${payload} bytes, expected ${SIZE}`));
            else resolve({ seconds });
            return;
          }
          continue;
        }
        if (buffer.length < 2) return void (pending = buffer);
        const len7 = buffer[1] & 0x7f;
        const headerLength = len7 === 126 ? 4 : len7 === 127 ? 10 : 2;
        if (buffer.length < headerLength) return void (pending = buffer);
        fin = (buffer[0] & 0x80) !== 0;
        remaining = len7 === 126 ? buffer.readUInt16BE(2) : len7 === 127 ? Number(buffer.readBigUInt64BE(2)) : len7;
        inFrame = true;
        buffer = buffer.subarray(headerLength);
        if (remaining === 0 && fin) {
          inFrame = false;
          resolve({ seconds: Number(process.hrtime.bigint() - started) / 1e9 });
          return;
        }
      }
    });
  });
}
