// WebSocket echo load generator on raw node:net sockets (no WebSocket client library).
//
// Closed loop: every connection does the upgrade handshake itself (RFC 6455 example key,
// accept value checked), then keeps K pre-built masked frames in flight; each read is parsed
// in place (header + length only: FIN, opcode and payload length are checked, the payload is
// skipped) and the frames it completed are replaced with ONE write of that many pre-built
// frames. Reads land in one shared static buffer (net `onread`), so the generator allocates
// nothing per read. Prints one JSON line with the result on stdout.
//
// --deflate (RFC 7692): the handshake offers `permessage-deflate; client_max_window_bits` and
// the 101 must accept permessage-deflate (else the sample fails). --distinct P JSON-like text
// payloads of --size bytes (deterministic) are each compressed ONCE at startup (raw deflate,
// sync flush, trailing 00 00 ff ff stripped: valid whatever context takeover was agreed, as
// each is compressed independently) into masked text frames with RSV1 set; each connection
// sends them in turn (one shared buffer of P + K frames, writes are subarrays of it). Echoes
// are counted, not inflated: each must be one FIN text frame with RSV1 set, unmasked, of any
// length, and a connection never gets more echoes than it sent messages. With --idle,
// --exchange M makes every connection exchange M such messages before the idle hold (so
// lazily created compression state exists on the server when its RSS is read).
//
//   node --import tsx bench/loadgen.ts --port P [--pid SERVER_PID] --conns 100 --size 16
//        [--binary] --inflight 16 --warmup 1 --duration 3
//   node --import tsx bench/loadgen.ts --port P --pid SERVER_PID --conns 10000 --idle 2
import net from 'node:net';
import { parseArgs } from 'node:util';
import { deflateRawSync, constants as zc } from 'node:zlib';
import {
  OP_BINARY,
  OP_TEXT,
  WS_ACCEPT,
  WS_KEY,
  clientFrame,
  exitWithParent,
  frameHeader,
  machineCpuSeconds,
  makeJsonPayload,
  makePayload,
  procCpuSeconds,
  procRssKiB,
  repeat,
} from './common.js';

exitWithParent();

const { values: a } = parseArgs({
  options: {
    host: { type: 'string', default: '127.0.0.1' },
    port: { type: 'string' },
    pid: { type: 'string', default: '0' },
    conns: { type: 'string', default: '100' },
    size: { type: 'string', default: '16' },
    binary: { type: 'boolean', default: false },
    inflight: { type: 'string', default: '1' },
    warmup: { type: 'string', default: '1' },
    duration: { type: 'string', default: '3' },
    idle: { type: 'string' }, // idle mode: hold the connections this many seconds, report RSS
    'max-pending': { type: 'string', default: '256' },
    'connect-timeout': { type: 'string', default: '60' },
    deflate: { type: 'boolean', default: false },
    distinct: { type: 'string', default: '8' },
    exchange: { type: 'string', default: '0' },
    // open loop: each connection sends this many messages per second (spread evenly), whatever the echoes
    rate: { type: 'string', default: '0' },
  },
  strict: true,
});

const HOST = a.host!;
const PORT = Number(a.port);
const SERVER_PID = Number(a.pid);
const CONNS = Number(a.conns);
const SIZE = Number(a.size);
const BINARY = a.binary!;
const INFLIGHT = Number(a.inflight);
const WARMUP = Number(a.warmup);
const DURATION = Number(a.duration);
const IDLE = a.idle === undefined ? -1 : Number(a.idle);
const MAX_PENDING = Number(a['max-pending']);
const CONNECT_TIMEOUT = Number(a['connect-timeout']);
const DEFLATE = a.deflate!;
const DISTINCT = Number(a.distinct);
const EXCHANGE = Number(a.exchange);
const RATE = Number(a.rate);
if (!(PORT > 0) || !(CONNS > 0) || !(SIZE >= 0) || !(INFLIGHT >= 1)) {
  fail('bad arguments: --port, --conns, --size, --inflight are required and must be positive');
}
if (DEFLATE && (BINARY || !(SIZE > 0) || !(DISTINCT >= 1) || !(EXCHANGE >= 0))) {
  fail('bad arguments: --deflate needs text (no --binary), --size > 0, --distinct >= 1, --exchange >= 0');
}
if (EXCHANGE > 0 && !DEFLATE) fail('bad arguments: --exchange is for --deflate');
if (!(RATE >= 0) || (RATE > 0 && (DEFLATE || IDLE >= 0))) fail('bad arguments: --rate is a number >= 0, not with --deflate or --idle');

function fail(msg: string): never {
  process.stderr.write(`loadgen: ${msg}\n`);
  process.stdout.write(JSON.stringify({ error: msg }) + '\n');
  process.exit(1);
}

const OPCODE = BINARY ? OP_BINARY : OP_TEXT;
const REQUEST = Buffer.from(
  `GET / HTTP/1.1\r\nHost: ${HOST}:${PORT}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
    `Sec-WebSocket-Key: ${WS_KEY}\r\nSec-WebSocket-Version: 13\r\n` +
    (DEFLATE ? 'Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n' : '') +
    '\r\n',
  'latin1',
);
const FRAME = clientFrame(OPCODE, makePayload(DEFLATE ? 0 : SIZE, BINARY));
const F = FRAME.length;
// One shared, immutable send buffer: K frames. A write of n frames is a subarray of it.
const TX = repeat(FRAME, DEFLATE ? 1 : INFLIGHT);
// Expected echo header (FIN, opcode, unmasked, payload length): compared byte by byte.
// (--deflate: echo lengths vary, every header goes through the general path.)
const EH = frameHeader(OPCODE, SIZE, null);
const HL = EH.length;
const H0 = DEFLATE ? -1 : EH[0];
const H1 = EH[1];

// --deflate: DISTINCT JSON-like payloads, each compressed once, as masked RSV1 text frames.
// DTX holds the frame sequence m0 m1 … m(P-1) m0 m1 … (P + max(K, M) frames); a connection
// at message index j (0 <= j < P) sends n frames as DTX[DOFF[j] .. DOFF[j + n]).
let DTX = Buffer.alloc(0);
let DOFF: number[] = [];
let DWIRE = 0; // mean compressed payload bytes per message sent
if (DEFLATE) {
  const frames: Buffer[] = [];
  for (let p = 0; p < DISTINCT; p++) {
    const z = deflateRawSync(makeJsonPayload(SIZE, p), { finishFlush: zc.Z_SYNC_FLUSH });
    if (z.length < 4 || z.readUInt32BE(z.length - 4) !== 0x0000ffff) fail('deflateRawSync output does not end with 00 00 ff ff');
    const c = z.subarray(0, z.length - 4);
    DWIRE += c.length / DISTINCT;
    const f = clientFrame(OPCODE, c);
    f[0] |= 0x40; // RSV1: compressed message
    frames.push(f);
  }
  const seq: Buffer[] = [];
  DOFF = [0];
  for (let j = 0; j < DISTINCT + Math.max(INFLIGHT, EXCHANGE); j++) {
    seq.push(frames[j % DISTINCT]);
    DOFF.push(DOFF[j] + frames[j % DISTINCT].length);
  }
  DTX = Buffer.concat(seq);
}
const RX = Buffer.allocUnsafe(256 * 1024); // shared read buffer (net onread)

let msgs = 0; // echoed data frames received (all connections)
let opened = 0;
let pendingConnects = 0;
let measuring = false;
let exchanged = 0; // --exchange: connections that got all their M echoes
let ready = false;

class Conn {
  sock: net.Socket;
  open = false;
  hs: Buffer | null = Buffer.alloc(0);
  skip = 0; // payload bytes of the current frame still to come
  ctrl = false; // current frame is a control frame (ping/pong: skipped, not counted)
  hdr = Buffer.alloc(14); // slow path: partial header
  hdrHave = 0;
  hdrNeed = 2;
  next = 0; // --deflate: index of the next distinct message to send
  sent = 0; // --deflate: messages sent / echoes received on this connection
  recv = 0;

  constructor() {
    this.sock = net.connect({
      host: HOST,
      port: PORT,
      noDelay: true,
      onread: {
        buffer: RX,
        callback: (n: number, buf: Uint8Array): boolean => {
          this.onRead(n, buf as Buffer);
          return true;
        },
      },
    });
    this.sock.on('connect', () => this.sock.write(REQUEST));
    this.sock.on('error', (e) => fail(`socket error: ${e.message}`));
    this.sock.on('end', () => fail('server closed a connection'));
  }

  onRead(n: number, buf: Buffer): void {
    if (!this.open) return this.onHandshake(buf.subarray(0, n));
    const done = this.parse(buf, n);
    if (done > 0) {
      msgs += done;
      if (DEFLATE) this.echoed(done);
      else if (IDLE < 0 && RATE === 0) this.sock.write(TX.subarray(0, done * F));
    }
  }

  /** --deflate: send the next n distinct messages (n <= max(K, M)) in one write. */
  sendN(n: number): void {
    const j = this.next;
    this.sock.write(DTX.subarray(DOFF[j], DOFF[j + n]));
    this.next = (j + n) % DISTINCT;
    this.sent += n;
  }

  /** --deflate: n echoes arrived on this connection. */
  echoed(n: number): void {
    this.recv += n;
    if (this.recv > this.sent) fail(`a connection received ${this.recv} echoes for ${this.sent} messages sent`);
    if (IDLE < 0) this.sendN(n);
    else if (this.recv === EXCHANGE) {
      exchanged++;
      maybeReady();
    }
  }

  onHandshake(d: Buffer): void {
    const hs = Buffer.concat([this.hs!, d]);
    const end = hs.indexOf('\r\n\r\n');
    if (end < 0) {
      if (hs.length > 8192) fail('handshake response too large');
      this.hs = hs;
      return;
    }
    const head = hs.toString('latin1', 0, end);
    if (!head.startsWith('HTTP/1.1 101')) fail(`handshake not answered with 101: ${head.split('\r\n')[0]}`);
    const m = /\r\nsec-websocket-accept:[ \t]*([^\r\n]*?)[ \t]*(?:\r\n|$)/i.exec(head);
    if (!m || m[1] !== WS_ACCEPT) fail('handshake: missing or wrong Sec-WebSocket-Accept');
    if (DEFLATE) checkDeflateAnswer(head);
    this.hs = null;
    this.open = true;
    opened++;
    pendingConnects--;
    const rest = hs.subarray(end + 4);
    if (rest.length > 0) {
      const done = this.parse(rest, rest.length);
      msgs += done;
      if (done > 0 && DEFLATE) fail('echo before any message was sent');
    }
    onOpened(this);
  }

  /** Consume `n` bytes of server frames from `b`; returns completed data frames. */
  parse(b: Buffer, n: number): number {
    let i = 0;
    let done = 0;
    let skip = this.skip;
    while (i < n) {
      if (skip > 0) {
        const avail = n - i;
        if (avail < skip) {
          skip -= avail;
          break;
        }
        i += skip;
        skip = 0;
        if (this.ctrl) this.ctrl = false;
        else done++;
        continue;
      }
      // Fast path: a whole expected header in this read.
      if (this.hdrHave === 0 && i + HL <= n && b[i] === H0 && b[i + 1] === H1 && (HL === 2 || this.extMatches(b, i))) {
        i += HL;
        if (SIZE === 0) done++;
        else skip = SIZE;
        continue;
      }
      // Slow path: header split across reads, or not the expected header.
      this.hdr[this.hdrHave++] = b[i++];
      if (this.hdrHave === 2) {
        const l7 = this.hdr[1] & 0x7f;
        this.hdrNeed = 2 + (l7 === 126 ? 2 : l7 === 127 ? 8 : 0) + (this.hdr[1] & 0x80 ? 4 : 0);
      }
      if (this.hdrHave >= 2 && this.hdrHave === this.hdrNeed) {
        skip = this.headerDone();
        if (skip === 0 && !this.ctrl) done++;
        this.ctrl = this.ctrl && skip > 0;
      }
    }
    this.skip = skip;
    return done;
  }

  extMatches(b: Buffer, i: number): boolean {
    for (let k = 2; k < HL; k++) if (b[i + k] !== EH[k]) return false;
    return true;
  }

  /** A complete header is in this.hdr: validate it, return its payload length. */
  headerDone(): number {
    const h = this.hdr;
    this.hdrHave = 0;
    if (h[1] & 0x80) fail('server sent a masked frame');
    const l7 = h[1] & 0x7f;
    const len = l7 === 126 ? h.readUInt16BE(2) : l7 === 127 ? Number(h.readBigUInt64BE(2)) : l7;
    const op = h[0] & 0x0f;
    if (op >= 8) {
      if (op === 8) fail('server sent a close frame');
      this.ctrl = true; // ping/pong: skipped
      return len;
    }
    this.ctrl = false;
    if (!(h[0] & 0x80)) fail('fragmented echo (FIN=0) not expected');
    if (op !== OPCODE) fail(`echo frame has opcode ${op}, expected ${OPCODE}`);
    if (DEFLATE) {
      // Any length (compressed); RSV1 must be set: every message is >= the 1024 B threshold.
      if ((h[0] & 0x70) !== 0x40) fail(`echo frame has RSV bits ${(h[0] >> 4) & 7}, expected RSV1 only (compressed)`);
      return len;
    }
    if (h[0] & 0x70) fail('echo frame has RSV bits set');
    if (len !== SIZE) fail(`echo frame has payload length ${len}, expected ${SIZE}`);
    return len;
  }
}

/**
 * --deflate: the 101 must accept permessage-deflate. Our frames are compressed with a 32 KiB
 * window (windowBits 15), so a smaller client_max_window_bits would make them invalid: fail.
 */
function checkDeflateAnswer(head: string): void {
  const lines = [...head.matchAll(/\r\nsec-websocket-extensions:[ \t]*([^\r\n]*)/gi)].map((x) => x[1]);
  const ext = lines.join(',').split(',').map((e) => e.trim()).filter(Boolean);
  if (ext.length === 0) fail('deflate: the 101 has no Sec-WebSocket-Extensions: the server did not accept permessage-deflate');
  const params = ext[0].split(';').map((p) => p.trim().toLowerCase());
  if (params[0] !== 'permessage-deflate' || ext.length > 1) fail(`deflate: unexpected Sec-WebSocket-Extensions answer: ${lines.join(', ')}`);
  for (const p of params.slice(1)) {
    const [k, v] = p.split('=').map((t) => t.trim().replace(/^"|"$/g, ''));
    if (k === 'client_max_window_bits' && v !== undefined && Number(v) < 15) {
      fail(`deflate: server asked for client_max_window_bits=${v}; our pre-compressed frames use 15`);
    }
  }
  if (!deflateAnswer) deflateAnswer = ext[0];
}
let deflateAnswer = '';

const conns: Conn[] = [];
const t0 = performance.now();
let connectTimer: NodeJS.Timeout | null = setTimeout(
  () => fail(`timeout: only ${opened}/${CONNS} connections upgraded after ${CONNECT_TIMEOUT}s`),
  CONNECT_TIMEOUT * 1000,
);
const rss0 = SERVER_PID ? procRssKiB(SERVER_PID) : -1;

function openMore(): void {
  while (pendingConnects < MAX_PENDING && conns.length < CONNS) {
    pendingConnects++;
    conns.push(new Conn());
  }
}

function onOpened(c: Conn): void {
  if (DEFLATE) {
    if (IDLE < 0) c.sendN(INFLIGHT);
    else if (EXCHANGE > 0) c.sendN(EXCHANGE);
  } else if (IDLE < 0 && RATE === 0) c.sock.write(TX); // K frames in flight from the start
  if (opened === CONNS) maybeReady();
  else openMore();
}

/** All connections upgraded (and, with --exchange, done exchanging): start the phase. */
function maybeReady(): void {
  if (ready || opened < CONNS) return;
  if (IDLE >= 0 && EXCHANGE > 0 && exchanged < CONNS) return;
  ready = true;
  allOpen();
}

function allOpen(): void {
  clearTimeout(connectTimer!);
  connectTimer = null;
  const connectS = (performance.now() - t0) / 1000;
  if (IDLE >= 0) return idlePhase(connectS);
  loadPhase(connectS);
}

function idlePhase(connectS: number): void {
  const s0 = procCpuSeconds(SERVER_PID);
  setTimeout(() => {
    const rss1 = procRssKiB(SERVER_PID);
    const s1 = procCpuSeconds(SERVER_PID);
    finish({
      mode: 'idle',
      conns: CONNS,
      connect_s: round(connectS, 2),
      hold_s: IDLE,
      ...(DEFLATE ? { deflate: deflateAnswer, exchanged_per_conn: EXCHANGE, size: SIZE, distinct: DISTINCT, tx_wire_bytes: Math.round(DWIRE) } : {}),
      srv_rss_before_kib: rss0,
      srv_rss_kib: rss1,
      kib_per_conn: rss0 > 0 && rss1 > 0 ? round((rss1 - rss0) / CONNS, 3) : null,
      srv_cpu_idle: s0 >= 0 && s1 >= 0 ? round((s1 - s0) / IDLE, 4) : null,
    });
  }, IDLE * 1000);
}

/**
 * --rate R (open loop, the S5 scenario): every 10 ms, the next CONNS × R / 100 connections
 * (round robin) each send one frame, so each connection sends R messages per second,
 * spread evenly over time; echoes are counted, never answered.
 */
function startOpenLoop(): void {
  let next = 0;
  let owed = 0;
  const frame = TX.subarray(0, F);
  setInterval(() => {
    owed += (conns.length * RATE) / 100;
    for (; owed >= 1; owed--) {
      conns[next].sock.write(frame);
      next = (next + 1) % conns.length;
    }
  }, 10);
}

function loadPhase(connectS: number): void {
  if (RATE > 0) startOpenLoop();
  let tm = 0;
  let m0 = 0;
  let s0 = 0;
  let g0 = process.cpuUsage();
  let b0 = { busy: -1, softirq: -1 };
  let last = -1;
  let lastChange = 0;
  // Stall watchdog: no echo for 3 s means lost messages or a hung server.
  const watchdog = setInterval(() => {
    const now = performance.now();
    if (msgs !== last) {
      last = msgs;
      lastChange = now;
    } else if (now - lastChange > 3000) fail(`stalled: no echoes for 3 s (${msgs} received so far)`);
  }, 250);
  setTimeout(() => {
    measuring = true;
    tm = performance.now();
    m0 = msgs;
    s0 = SERVER_PID ? procCpuSeconds(SERVER_PID) : -1;
    b0 = machineCpuSeconds();
    g0 = process.cpuUsage();
    setTimeout(() => {
      const secs = (performance.now() - tm) / 1000;
      const n = msgs - m0;
      const g = process.cpuUsage(g0);
      const s1 = SERVER_PID ? procCpuSeconds(SERVER_PID) : -1;
      const b1 = machineCpuSeconds();
      const genCpu = (g.user + g.system) / 1e6 / secs;
      const srvCpu = s0 >= 0 && s1 >= 0 ? (s1 - s0) / secs : null;
      clearInterval(watchdog);
      finish({
        mode: 'closed',
        conns: CONNS,
        size: SIZE,
        type: BINARY ? 'binary' : 'text',
        inflight: INFLIGHT,
        ...(RATE > 0 ? { mode: 'open', rate_per_conn: RATE } : {}),
        ...(DEFLATE ? { deflate: deflateAnswer, distinct: DISTINCT, tx_wire_bytes: Math.round(DWIRE) } : {}),
        connect_s: round(connectS, 2),
        secs: round(secs, 3),
        msgs: n,
        msgs_per_s: Math.round(n / secs),
        mb_per_s: round((n * SIZE) / secs / 1e6, 2),
        gen_cpu: round(genCpu, 3),
        srv_cpu: srvCpu === null ? null : round(srvCpu, 3),
        // softirq: mostly the loopback TCP stack (partly inside gen_cpu/srv_cpu already)
        sirq_cpu: b0.busy >= 0 && b1.busy >= 0 ? round((b1.softirq - b0.softirq) / secs, 3) : null,
        // busy CPU of the machine (softirq included) not charged to the generator or the
        // server: other processes, plus softirq work done outside both (small when quiet)
        other_cpu: b0.busy >= 0 && b1.busy >= 0 ? round((b1.busy - b0.busy) / secs - genCpu - (srvCpu ?? 0), 3) : null,
        srv_rss_kib: SERVER_PID ? procRssKiB(SERVER_PID) : null,
      });
    }, DURATION * 1000);
  }, WARMUP * 1000);
}

function finish(result: Record<string, unknown>): void {
  if (!measuring && IDLE < 0) fail('internal: finished without measuring');
  process.stdout.write(JSON.stringify(result) + '\n', () => process.exit(0));
}

function round(x: number, d: number): number {
  const p = 10 ** d;
  return Math.round(x * p) / p;
}

openMore();
