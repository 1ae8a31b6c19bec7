/**
 * Streaming receive benchmark (not part of the test run): one large message
 * (256 MiB by default) from a bare-socket client to a server process, and
 * what it costs the RECEIVING process. The other half of bench/stream-send.ts.
 *
 *   node --import tsx bench/stream-receive.ts [--size MiB] [--fragments KiB] [--text] [--modes LIST] [--rounds N]
 *
 * Modes (each sample a fresh receiver child process, so its peak RSS is its own):
 *   - ours-stream: createServer({ streamMessagesAbove: 0 }), a 'stream' listener
 *                  reads the MessageStream chunk by chunk and only counts them;
 *   - ours-whole:  our server as it comes (messages assembled), a 'message'
 *                  listener counts the message's length;
 *   - ws-whole:    `ws` 8 (bufferutil loaded, as in bench/servers/ws.ts), a
 *                  'message' listener counts its length (`ws` has no streaming
 *                  receive).
 * Every server's message limit (maxMessageSize, maxPayload) is the message's size.
 * The writer (this process) sends hand-built masked client frames
 * (bench/fairness/wire.ts): by default the message is ONE frame; with
 * `--fragments KiB` it is a fragmented message of frames of that size.
 * `--text` sends an ASCII text message instead of binary noise (its UTF-8 is
 * then checked by the receiver, and ours-stream's chunks are strings).
 *
 * Reported per sample: MB/s (MB = 10^6 bytes) from the first byte written to
 * the receiver's "got it all" line on its stdout (printed when the last byte is
 * counted), the receiver's peak RSS (VmHWM from /proc/self/status at the end; not
 * resourceUsage().maxRSS, which here would start at the writer's RSS: see
 * procPeakRssKiB in bench/common.ts) and its RSS at start; then the medians and
 * the ratios ours / ws. The machine may be shared: take the median of a few
 * rounds, and compare modes within one run.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import type net from 'node:net';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { jsonLines, machineInfo, makePayload, median, procPeakRssKiB } from './common.js';
import { FIN, OP, maskedFrame, upgrade, upgradeRequest } from './fairness/wire.js';
import { benchNode } from './harness.js';

const MODES = ['ours-stream', 'ours-whole', 'ws-whole'] as const;

const { values: opt } = parseArgs({
  options: {
    size: { type: 'string', default: '256' },
    fragments: { type: 'string', default: '0' },
    text: { type: 'boolean', default: false },
    modes: { type: 'string', default: MODES.join(',') },
    rounds: { type: 'string', default: '1' },
    receiver: { type: 'string' },
    help: { type: 'boolean', short: 'h', default: false },
  },
  strict: true,
});

const SIZE = Number(opt.size) * 1024 * 1024;
/** Payload bytes per frame; 0: the whole message in one frame. */
const FRAGMENT = Number(opt.fragments) * 1024;

if (opt.help) {
  console.log(
    'usage: node --import tsx bench/stream-receive.ts [--size MiB (256)] [--fragments KiB (0: one frame)] [--text] ' +
      `[--modes ${MODES.join(',')}] [--rounds N (1)]`,
  );
} else if (opt.receiver !== undefined) {
  await runReceiver(opt.receiver);
} else {
  await runWriter();
}

// ------------------------------------------------------------------ receiver

/** The receiving process: listen, count the first connection's one message, report, exit. */
async function runReceiver(mode: string): Promise<void> {
  const rssAtStart = process.memoryUsage().rss;
  let received = 0;
  const count = (length: number): void => {
    received += length;
    if (received < SIZE) return;
    // The last byte is counted: the writer stops its clock on this line.
    // VmHWM, not resourceUsage().maxRSS: the latter starts at the writer's RSS when this
    // process was forked, and the writer holds the whole message, framed (see procPeakRssKiB).
    // (Not Linux: no /proc; maxRSS it is, with that caveat.)
    const hwm = procPeakRssKiB('self');
    const peakRss = (hwm > 0 ? hwm : process.resourceUsage().maxRSS) * 1024;
    process.stdout.write(JSON.stringify({ done: true, received, peakRss, rssAtStart }) + '\n');
    setTimeout(() => process.exit(0), 50);
  };
  const fail = (error: unknown): void => {
    console.error(`receiver ${mode}:`, error);
    process.exit(1);
  };
  if (mode === 'ws-whole') {
    const { WebSocketServer } = await import('ws');
    // As bench/servers/ws.ts: `ws` is measured with its native unmasking, or not at all.
    const loaded = Object.keys(createRequire(import.meta.url).cache);
    if (!loaded.some((k) => /[\\/]bufferutil[\\/].*\.node$/.test(k)) && process.env.BENCH_ALLOW_NO_BUFFERUTIL !== '1') {
      fail(new Error('bufferutil native addon was not loaded by ws'));
    }
    const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, perMessageDeflate: false, maxPayload: SIZE });
    await once(wss, 'listening');
    wss.on('connection', (ws) => {
      ws.on('message', (data) => count((data as Buffer).length));
      ws.on('error', fail);
    });
    process.stdout.write(JSON.stringify({ port: (wss.address() as net.AddressInfo).port }) + '\n');
    return;
  }
  if (mode !== 'ours-stream' && mode !== 'ours-whole') fail(new Error(`unknown mode ${mode}`));
  const { createServer } = await import('../src/index.js');
  const streaming = mode === 'ours-stream';
  // streamMessagesAbove: 0 streams every message with a byte in it; ASCII text keeps
  // a string chunk's length equal to its bytes.
  const server = createServer({ host: '127.0.0.1', maxMessageSize: SIZE, ...(streaming ? { streamMessagesAbove: 0 } : {}) }, (ws) => {
    ws.on('error', fail);
    if (!streaming) {
      ws.on('message', (data: string | Buffer) => count(data.length));
      return;
    }
    ws.on('stream', (stream) => {
      void (async () => {
        for await (const chunk of stream) count(chunk.length);
      })().catch(fail);
    });
  });
  const { port } = await server.listen(0);
  process.stdout.write(JSON.stringify({ port }) + '\n');
}

// ------------------------------------------------------------------ writer

interface Sample {
  mode: string;
  mbPerSecond: number;
  peakRssMiB: number;
  rssAtStartMiB: number;
}

async function runWriter(): Promise<void> {
  const modes = opt.modes!.split(',');
  for (const mode of modes) if (!(MODES as readonly string[]).includes(mode)) throw new Error(`unknown mode ${mode} (modes: ${MODES.join(', ')})`);
  const rounds = Number(opt.rounds);
  if (!(SIZE > 0) || !(FRAGMENT >= 0) || !(rounds >= 1)) throw new Error('--size, --fragments and --rounds take positive numbers');
  const shape = FRAGMENT > 0 ? `fragments of ${FRAGMENT / 1024} KiB (${Math.ceil(SIZE / FRAGMENT)} frames)` : 'one frame';
  const kind = opt.text ? 'text' : 'binary';
  console.log(`streaming receive: one ${SIZE / 1048576} MiB ${kind} message, ${shape}; node ${process.version}, ${machineInfo().cpu}`);
  const frames = buildFrames();
  const samples: Sample[] = [];
  for (let round = 0; round < rounds; round++) {
    for (const mode of modes) {
      const sample = await oneSample(mode, frames);
      samples.push(sample);
      console.log(
        `${mode.padEnd(12)} ${sample.mbPerSecond.toFixed(0).padStart(6)} MB/s   receiver peak RSS ${sample.peakRssMiB.toFixed(0).padStart(5)} MiB` +
          ` (at start ${sample.rssAtStartMiB.toFixed(0)} MiB)`,
      );
    }
  }
  printMedians(modes, samples);
}

/**
 * The message as masked client frames (§5.3: a client masks every frame), built once, before
 * any clock runs: one FIN frame, or a first frame with the opcode, continuations (§5.4), and a
 * last one with FIN.
 */
function buildFrames(): Buffer[] {
  const opcode = opt.text ? OP.TEXT : OP.BINARY;
  const payload = makePayload(SIZE, !opt.text);
  if (FRAGMENT === 0) return [maskedFrame(FIN | opcode, payload)];
  const frames: Buffer[] = [];
  for (let at = 0; at < SIZE; at += FRAGMENT) {
    const last = at + FRAGMENT >= SIZE;
    frames.push(maskedFrame((last ? FIN : 0) | (at === 0 ? opcode : OP.CONT), payload.subarray(at, Math.min(at + FRAGMENT, SIZE))));
  }
  return frames;
}

async function oneSample(mode: string, frames: Buffer[]): Promise<Sample> {
  const [node, ...nodeArgs] = benchNode(fileURLToPath(import.meta.url), ['--receiver', mode, '--size', opt.size!, ...(opt.text ? ['--text'] : [])]);
  const child = spawn(node, nodeArgs, { stdio: ['ignore', 'pipe', 'inherit'] });
  const line = jsonLines(child.stdout!);
  try {
    const { port } = (await line(`receiver ${mode} listening`, 30_000)) as { port: number };
    const up = await upgrade(port, upgradeRequest(port), 10_000);
    if (up.status !== 101) throw new Error(`receiver ${mode}: HTTP ${up.status}`);
    const { socket } = up;
    // The socket stays paused: nothing comes back before the receiver's line on stdout.
    const started = process.hrtime.bigint();
    for (const frame of frames) socket.write(frame);
    const report = (await line(`receiver ${mode} done`, 300_000)) as { received: number; peakRss: number; rssAtStart: number };
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    socket.destroy();
    if (report.received !== SIZE) throw new Error(`receiver ${mode}: counted ${report.received} bytes, expected ${SIZE}`);
    return { mode, mbPerSecond: SIZE / 1e6 / seconds, peakRssMiB: report.peakRss / 1048576, rssAtStartMiB: report.rssAtStart / 1048576 };
  } finally {
    // The receiver exits by itself once it has reported: let it (its memory is freed before the
    // next sample starts), and kill it only if it does not.
    if (child.exitCode === null && child.signalCode === null) {
      const timer = setTimeout(() => child.kill(), 5_000);
      await once(child, 'exit');
      clearTimeout(timer);
    }
  }
}

/** The medians per mode (with the range), and ours / ws for MB/s and peak RSS when ws-whole ran. */
function printMedians(modes: string[], samples: Sample[]): void {
  const of = (mode: string): Sample[] => samples.filter((s) => s.mode === mode);
  const ws = of('ws-whole');
  const wsMbps = ws.length > 0 ? median(ws.map((s) => s.mbPerSecond)) : NaN;
  const wsPeak = ws.length > 0 ? median(ws.map((s) => s.peakRssMiB)) : NaN;
  const range = (xs: number[]): string => `${Math.min(...xs).toFixed(0)}–${Math.max(...xs).toFixed(0)}`;
  console.log(`\nmedians of ${samples.length / modes.length} round(s):\n`);
  console.log('| mode | MB/s | receiver peak RSS MiB | RSS at start MiB | MB/s ours / ws | peak RSS ours / ws |');
  console.log('|---|---:|---:|---:|---:|---:|');
  for (const mode of modes) {
    const xs = of(mode);
    const mbps = xs.map((s) => s.mbPerSecond);
    const peaks = xs.map((s) => s.peakRssMiB);
    const ratio = (a: number, b: number): string => (mode === 'ws-whole' || Number.isNaN(b) ? '–' : (a / b).toFixed(2));
    console.log(
      `| ${mode} | ${median(mbps).toFixed(0)} (${range(mbps)}) | ${median(peaks).toFixed(0)} (${range(peaks)}) | ` +
        `${median(xs.map((s) => s.rssAtStartMiB)).toFixed(0)} | ${ratio(median(mbps), wsMbps)} | ${ratio(median(peaks), wsPeak)} |`,
    );
  }
}
