// `ws` echo server for the benchmark: WebSocketServer with bufferutil (native masking),
// perMessageDeflate off (with --deflate: perMessageDeflate true, ws's defaults: threshold 1024,
// context takeover both ways, zlib level default, concurrencyLimit 10), maxPayload 64 MiB
// (--max-message N: maxPayload N bytes; bench/fairness.ts passes 16 MiB, like ours).
// --loop-lag: measures its event-loop lag and reports it on request (serveLoopLag in
// bench/common.ts; bench/fairness.ts).
// Prints {"port","pid",…} on stdout when listening.
import { createRequire } from 'node:module';
import { isUtf8 } from 'node:buffer';
import { WebSocketServer } from 'ws';
import { announce, exitWithParent, intFlag, serveLoopLag } from '../common.js';

exitWithParent();
serveLoopLag();

const deflate = process.argv.includes('--deflate');
const maxPayload = intFlag('--max-message', 64 * 1024 * 1024);

const require = createRequire(import.meta.url);
const loaded = Object.keys(require.cache);
const bufferutil = loaded.find((k) => /[\\/]bufferutil[\\/].*\.node$/.test(k)) ?? null;
const utf8validate = loaded.find((k) => /[\\/]utf-8-validate[\\/].*\.node$/.test(k)) ?? null;
// ws 8.x validates UTF-8 with node:buffer's native isUtf8 when it exists (Node >= 18.14),
// and only falls back to utf-8-validate without it: on Node 20 the native check is in use.
const utf8 = utf8validate ? 'utf-8-validate' : typeof isUtf8 === 'function' ? 'node:buffer isUtf8 (native)' : null;
if (!bufferutil && process.env.BENCH_ALLOW_NO_BUFFERUTIL !== '1') {
  console.error('ws server: bufferutil native addon was not loaded by ws (WS_NO_BUFFER_UTIL set? prebuild missing?)');
  process.exit(2);
}
if (!utf8 && process.env.BENCH_ALLOW_NO_BUFFERUTIL !== '1') {
  console.error('ws server: no native UTF-8 validator (neither node:buffer isUtf8 nor utf-8-validate)');
  process.exit(2);
}

const wss = new WebSocketServer({
  host: '127.0.0.1',
  port: 0,
  perMessageDeflate: deflate,
  maxPayload,
});
wss.on('connection', (ws) => {
  ws.on('message', (data, isBinary) => {
    ws.send(data as Buffer, { binary: isBinary });
  });
  ws.on('error', () => {});
});
wss.on('listening', () => {
  const a = wss.address();
  if (a === null || typeof a === 'string') throw new Error('unexpected address');
  announce(a.port, { bufferutil: bufferutil !== null, utf8, maxPayload, ...(deflate ? { deflate: true } : {}) });
});
