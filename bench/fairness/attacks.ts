// The attacks of the fairness benchmark (bench/fairness.ts), one function each.
//
// An attack runs in its own process (`--role attack`), opens its connections, calls
// `ctx.begin()` when the attack proper starts (the probe latencies that count are those of
// probes due between begin() and the end of the attack), and returns what its connections
// received from the server and when. Every attack stops by itself: by `ctx.seconds` after
// begin() at the latest, and most of them after a fixed count of messages, frames or bytes.
// Only 127.0.0.1 is ever contacted.
//
// To add an attack: write an `Attack` and append it to ATTACKS; `--attacks` takes its id.
import { performance } from 'node:perf_hooks';
import { deflateRawSync, inflateRawSync, constants as zc } from 'node:zlib';
import { MASK, exitWithParent } from '../common.js';
import {
  DEFLATE_OFFER,
  FIN,
  FrameReader,
  NoResponse,
  OP,
  RSV1,
  deflateRefused,
  errorKind,
  maskedFrame,
  upgrade,
  upgradeRequest,
  type ReaderEvents,
  type Upgraded,
} from './wire.js';

const KiB = 1024;
const MiB = 1024 * KiB;

/** The message limit both servers are started with (our default maxMessageSize; ws maxPayload). */
export const MAX_MESSAGE = 16 * MiB;

export interface AttackContext {
  port: number;
  /** Longest the attack may last after begin(). */
  seconds: number;
  /** Multiplies the count-bounded sizes (connections, fragments, bytes, bomb size). */
  scale: number;
  /** The attack proper starts now. Returns its deadline on the performance.now() clock. */
  begin(): number;
  /** ms since begin(). */
  since(): number;
}

/** First and last time (ms since begin; null: observed at the end) a label was seen. */
export interface Seen {
  n: number;
  first_ms: number | null;
  last_ms: number | null;
}

export interface AttackReport {
  /** What the attacker received, one line for the table. */
  outcome: string;
  /** The same, per label: `close 1009`, `reset`, `HTTP 101`, `echo`… */
  received: Record<string, Seen>;
  /** Figures of the attack itself: messages, handshakes, bytes, the attacker's RTTs. */
  stats: Record<string, number | string>;
}

export interface Attack {
  id: string;
  /** Servers started with --deflate (permessage-deflate on, both alike). */
  deflate: boolean;
  /** One line for the legend, at this scale. */
  describe(scale: number): string;
  run(ctx: AttackContext): Promise<AttackReport>;
}

// ---------------------------------------------------------------------------------------
// Helpers

/** Tallies what the attacker's connections received, by label. */
class Tally {
  private readonly seen = new Map<string, Seen>();

  add(label: string, ms: number | null): void {
    const s = this.seen.get(label);
    const t = ms === null ? null : Math.round(ms);
    if (!s) this.seen.set(label, { n: 1, first_ms: t, last_ms: t });
    else {
      s.n++;
      if (t !== null) {
        s.first_ms = s.first_ms === null ? t : Math.min(s.first_ms, t);
        s.last_ms = s.last_ms === null ? t : Math.max(s.last_ms, t);
      }
    }
  }

  /** `100× close 1009 @0.21–2.40 s; 3× reset @1.10 s` (most frequent first). */
  summary(): string {
    return [...this.seen]
      .sort((a, b) => b[1].n - a[1].n)
      .map(([label, s]) => `${s.n}× ${label}${s.first_ms === null ? '' : ` @${span(s.first_ms, s.last_ms!)}`}`)
      .join('; ');
  }

  toJSON(): Record<string, Seen> {
    return Object.fromEntries(this.seen);
  }
}

function span(a: number, b: number): string {
  if (b < 1000) return a === b ? `${a} ms` : `${a}–${b} ms`;
  const s = (x: number): string => (x / 1000).toFixed(2);
  return a === b ? `${s(a)} s` : `${s(a)}–${s(b)} s`;
}

function scaled(n: number, scale: number, min = 1): number {
  return Math.max(min, Math.round(n * scale));
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, Math.max(0, ms)));
}

function percentile(sorted: number[], p: number): number {
  return sorted.length === 0 ? NaN : sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))];
}

/** `p50 31 ms, max 80 ms` of a list of ms. */
function rttSummary(ms: number[]): string {
  if (ms.length === 0) return 'none';
  const s = [...ms].sort((a, b) => a - b);
  return `p50 ${percentile(s, 0.5).toFixed(1)} ms, max ${s[s.length - 1].toFixed(1)} ms`;
}

const HANDSHAKE_TIMEOUT = 10_000;

/**
 * Open `n` connections (64 handshakes at a time) with `request`; a failed handshake is
 * tallied as `handshake: …` and left out. With `deflate`, a 101 that cannot take our
 * precompressed frames fails the attack (the servers must be started with --deflate).
 */
async function openMany(port: number, n: number, request: string, deflate: boolean, tally: Tally): Promise<Upgraded[]> {
  const out: Upgraded[] = [];
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < n) {
      next++;
      try {
        const up = await upgrade(port, request, HANDSHAKE_TIMEOUT);
        if (up.status !== 101) {
          tally.add(`handshake: HTTP ${up.status}`, null);
          up.socket.destroy();
          continue;
        }
        const refused = deflate ? deflateRefused(up) : null;
        if (refused) {
          up.socket.destroy();
          throw new Error(`deflate attack, but ${refused}`);
        }
        out.push(up);
      } catch (e) {
        if (!(e instanceof NoResponse)) throw e;
        tally.add(`handshake: ${e.kind}`, null);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(64, n) }, worker));
  if (out.length === 0) throw new Error(`no connection opened: ${tally.summary()}`);
  return out;
}

/**
 * Watch an upgraded connection: `done(label)` once, at the first of a close frame from the
 * server, a reset, EOF without a close frame or an invalid frame. With `read`, the socket is
 * read (and `events` get the frames); without, it stays paused, as a peer that never reads.
 */
function watch(up: Upgraded, done: (label: string) => void, events: ReaderEvents = {}, read = true): FrameReader {
  let fired = false;
  const once = (label: string): void => {
    if (!fired) {
      fired = true;
      done(label);
    }
  };
  const reader = new FrameReader({
    ...events,
    close: (code) => once(`close ${code ?? '(no code)'}`),
    invalid: (why) => once(`invalid frame: ${why}`),
  });
  up.socket.on('error', (e: NodeJS.ErrnoException) => once(errorKind(e)));
  up.socket.on('end', () => once('EOF without close frame'));
  up.socket.on('close', () => once('socket closed'));
  if (read) {
    up.socket.on('data', (d: Buffer) => reader.feed(d));
    if (up.rest.length > 0) reader.feed(up.rest);
    up.socket.resume();
  }
  return reader;
}

/** Ends an attacker connection with `label`, seen `at` ms after begin (null: at the deadline). */
type Finish = (label: string, at: number | null) => void;

/**
 * One attacker connection until its first outcome: `run(finish)` starts it (watches the socket
 * and writes); the first `finish(label, at)` call, or the deadline (`atDeadline`, tallied
 * without a time), tallies the label, destroys the socket and resolves. Later calls are ignored.
 */
function untilFinished(up: Upgraded, tally: Tally, deadline: number, atDeadline: string, run: (finish: Finish) => void): Promise<void> {
  return new Promise<void>((resolve) => {
    let finished = false;
    const finish: Finish = (label, at) => {
      if (finished) return;
      finished = true;
      clearTimeout(timer);
      tally.add(label, at);
      up.socket.destroy();
      resolve();
    };
    const timer = setTimeout(() => finish(atDeadline, null), deadline - performance.now());
    run(finish);
  });
}

/** A connection of an attack that never reads, and what ended it (null: still open). */
interface Silent {
  up: Upgraded;
  ended: string | null;
  at: number | null;
  sent: number;
}

/**
 * At the end of a non-reading attack, read what the server queued for each connection still
 * open, for at most `ms`: a close frame found there is what the server decided at some
 * unknown time before; otherwise the connection was still open at the deadline.
 */
async function readLeftovers(conns: Silent[], ms: number): Promise<void> {
  const open = conns.filter((c) => c.ended === null);
  await Promise.all(
    open.map(
      (c) =>
        new Promise<void>((resolve) => {
          let settled = false;
          const finish = (label: string): void => {
            if (settled) return;
            settled = true;
            if (c.ended === null) c.ended = label; // a reset meanwhile (writeFlood's listener) wins
            clearTimeout(timer);
            resolve();
          };
          c.up.socket.on('close', () => finish('socket closed'));
          const timer = setTimeout(() => finish('open at the deadline'), ms);
          const reader = new FrameReader({
            close: (code) => finish(`close ${code ?? '(no code)'} (queued, read after the deadline)`),
            invalid: (why) => finish(`invalid frame: ${why}`),
          });
          c.up.socket.on('data', (d: Buffer) => reader.feed(d));
          c.up.socket.on('end', () => finish('EOF (read after the deadline)'));
          c.up.socket.resume();
        }),
    ),
  );
}

// ---------------------------------------------------------------------------------------
// The attacks

/** BASELINE: no attack, the probe alone (what the latencies are on an idle server). */
const baseline: Attack = {
  id: 'baseline',
  deflate: false,
  describe: () => 'no attack: the probe alone, 5 s at most',
  async run(ctx) {
    ctx.begin();
    await sleep(Math.min(ctx.seconds, 5) * 1000);
    return { outcome: '(no attack)', received: {}, stats: {} };
  },
};

/** 16 MiB − 1 KiB of one repeated byte, compressed once: ~16 KiB on the wire. */
const ECHO_SIZE = MAX_MESSAGE - KiB;
let echoFrame: Buffer | null = null;
function deflateEchoFrame(): Buffer {
  if (!echoFrame) {
    // RFC 7692 §7.2.1: compress, sync flush, drop the trailing 00 00 ff ff. Compressed on
    // its own, so valid whatever context takeover was agreed.
    const z = deflateRawSync(Buffer.alloc(ECHO_SIZE, 0x61), { finishFlush: zc.Z_SYNC_FLUSH });
    echoFrame = maskedFrame(FIN | RSV1 | OP.BINARY, z.subarray(0, z.length - 4));
  }
  return echoFrame;
}

/**
 * DEFLATE-ECHO-N: N connections each send a binary message just under the 16 MiB limit that
 * compresses to ~16 KiB, wait for the echo (the server inflates 16 MiB, then deflates it
 * back), and send again, until the deadline.
 */
function deflateEcho(conns: number): Attack {
  const MAX_ROUNDS = 100_000; // per connection: never reached in practice, the deadline ends it
  return {
    id: `deflate-echo-${conns}`,
    deflate: true,
    describe: () => `${conns} conn(s) in a loop: send a binary message of 16 MiB − 1 KiB (one byte repeated, ~16 KiB compressed), wait for its echo`,
    async run(ctx) {
      const frame = deflateEchoFrame();
      const tally = new Tally();
      const ups = await openMany(ctx.port, conns, upgradeRequest(ctx.port, [DEFLATE_OFFER]), true, tally);
      const deadline = ctx.begin();
      const rtts: number[] = [];
      await Promise.all(
        ups.map((up) =>
          untilFinished(up, tally, deadline, 'echoing until the deadline', (finish) => {
            let sentAt = 0;
            let rounds = 0;
            const send = (): void => {
              if (performance.now() >= deadline) return finish('echoing until the deadline', null);
              if (rounds++ >= MAX_ROUNDS) return finish('done (count limit)', ctx.since());
              sentAt = performance.now();
              up.socket.write(frame);
            };
            watch(up, (label) => finish(label, ctx.since()), {
              message: () => {
                rtts.push(performance.now() - sentAt);
                send();
              },
            });
            send();
          }),
        ),
      );
      return {
        outcome: `${rtts.length} echoes (RTT ${rttSummary(rtts)}); ${tally.summary()}`,
        received: tally.toJSON(),
        stats: { conns: ups.length, echoes: rtts.length, wire_bytes_per_msg: frame.length, rtt: rttSummary(rtts) },
      };
    },
  };
}

/**
 * A raw-deflate stream of `mib` MiB of zeros, ~1 KiB per MiB: one 1 MiB block compressed once
 * and repeated. Each copy ends with a sync flush (an empty stored block, not final), so the
 * copies concatenate into one valid stream; the last 00 00 ff ff is dropped (RFC 7692 §7.2.1).
 */
function zeroBomb(mib: number): Buffer {
  const block = deflateRawSync(Buffer.alloc(MiB), { finishFlush: zc.Z_SYNC_FLUSH });
  if (block.readUInt32BE(block.length - 4) !== 0x0000ffff) throw new Error('deflate block does not end with a sync flush');
  const stream = Buffer.concat(Array.from({ length: mib }, () => block));
  // Cheap self-check on a small sample of copies: they really do inflate to zeros.
  const check = inflateRawSync(Buffer.concat([block, block, block]), { finishFlush: zc.Z_SYNC_FLUSH });
  if (check.length !== 3 * MiB || check.some((b) => b !== 0)) throw new Error('deflate bomb self-check failed');
  return stream.subarray(0, stream.length - 4);
}

/**
 * DEFLATE-BOMB: connections each send one compressed message that inflates to 1 GiB of zeros
 * (~1 MiB on the wire); the limit is 16 MiB, so each should be closed with 1009 (§7.4.1).
 */
const deflateBomb: Attack = {
  id: 'deflate-bomb',
  deflate: true,
  describe: (scale) => `${scaled(100, scale)} conns each send one message inflating to ${bombMiB(scale)} MiB (~${bombMiB(scale)} KiB compressed); expected: close 1009`,
  async run(ctx) {
    const frame = maskedFrame(FIN | RSV1 | OP.BINARY, zeroBomb(bombMiB(ctx.scale)));
    const tally = new Tally();
    const ups = await openMany(ctx.port, scaled(100, ctx.scale), upgradeRequest(ctx.port, [DEFLATE_OFFER]), true, tally);
    const deadline = ctx.begin();
    let echoes = 0;
    await Promise.all(
      ups.map((up) =>
        untilFinished(up, tally, deadline, 'no answer by the deadline', (finish) => {
          watch(up, (label) => finish(label, ctx.since()), {
            message: () => {
              echoes++;
              finish('echo (limit not enforced!)', ctx.since());
            },
          });
          up.socket.write(frame);
        }),
      ),
    );
    return {
      outcome: tally.summary(),
      received: tally.toJSON(),
      stats: { conns: ups.length, inflated_mib: bombMiB(ctx.scale), wire_bytes: frame.length, echoes },
    };
  },
};

function bombMiB(scale: number): number {
  return Math.max((4 * MAX_MESSAGE) / MiB, Math.round(1024 * scale)); // 1 GiB at scale 1, never under 4× the limit
}

/**
 * The largest upgrade request the default head limits of both servers let through, its
 * Sec-WebSocket-Protocol list as long as possible: ours allows a 16 KiB head, 8 KiB a line,
 * 100 header lines; Node's http parser (ws) a 16 KiB head. Tokens are unique (a duplicate
 * is a 400 on both servers) and as short as possible (1, 2, then 3 characters of [0-9a-z])
 * so the list holds as many offers as the bytes allow (~4,380 on 2 lines: the fewest
 * lines, since each repeats the field name).
 */
export function subprotocolRequest(port: number, headBytes: number, lineBytes = 8 * KiB): { request: string; tokens: number; lines: number } {
  const base = upgradeRequest(port); // ends with the empty line
  const prefix = base.slice(0, base.length - 2);
  const name = 'Sec-WebSocket-Protocol: ';
  const alphabet = '0123456789abcdefghijklmnopqrstuvwxyz';
  let counter = 0;
  const token = (): string => {
    // 1-char tokens for 0..35, 2-char for the next 36², then 3-char.
    let i = counter++;
    let len = 1;
    let block = alphabet.length;
    while (i >= block) {
      i -= block;
      len++;
      block *= alphabet.length;
    }
    let s = '';
    for (let k = 0; k < len; k++) {
      s = alphabet[i % alphabet.length] + s;
      i = Math.floor(i / alphabet.length);
    }
    return s;
  };
  let total = prefix.length + 2; // the final empty line
  const lines: string[] = [];
  let tokens = 0;
  let pending = token();
  for (;;) {
    // a new line: "Name: tok" + CRLF
    if (total + name.length + pending.length + 2 > headBytes) break;
    let line = name + pending;
    tokens++;
    pending = token();
    while (line.length + 1 + pending.length + 2 <= lineBytes && total + line.length + 1 + pending.length + 2 <= headBytes) {
      line += ',' + pending;
      tokens++;
      pending = token();
    }
    lines.push(line + '\r\n');
    total += line.length + 2;
  }
  const request = prefix + lines.join('') + '\r\n';
  if (request.length !== total || request.length > headBytes) throw new Error('subprotocolRequest: size mismatch');
  return { request, tokens, lines: lines.length };
}

/**
 * Head size used by SUBPROTOCOL: our default maxHeadBytes, exactly. Node's http parser (ws)
 * accepts a head of this size too (checked by hand: both answer 101), so both parse the
 * same request.
 */
const SUBPROTOCOL_HEAD_BYTES = 16 * KiB;

/** SUBPROTOCOL: 8 attackers in a loop: upgrade with the largest protocol list, drop, again. */
const subprotocol: Attack = {
  id: 'subprotocol',
  deflate: false,
  describe: () => {
    const r = subprotocolRequest(1, SUBPROTOCOL_HEAD_BYTES);
    return `8 attackers in a loop: upgrade request of ${r.request.length} B offering ${r.tokens} unique subprotocols on ${r.lines} lines, then drop the connection`;
  },
  async run(ctx) {
    const ATTACKERS = 8;
    const maxEach = scaled(5000, ctx.scale); // handshakes per attacker at most
    const built = subprotocolRequest(ctx.port, SUBPROTOCOL_HEAD_BYTES);
    const request = Buffer.from(built.request, 'latin1'); // encoded once, written as is
    const tokens = built.tokens;
    const tally = new Tally();
    const rtts: number[] = [];
    const deadline = ctx.begin();
    await Promise.all(
      Array.from({ length: ATTACKERS }, async () => {
        for (let i = 0; i < maxEach && performance.now() < deadline; i++) {
          const t0 = performance.now();
          try {
            const up = await upgrade(ctx.port, request, Math.max(1, deadline - t0));
            rtts.push(performance.now() - t0);
            tally.add(`HTTP ${up.status}`, ctx.since());
            up.socket.destroy();
          } catch (e) {
            if (!(e instanceof NoResponse)) throw e;
            if (e.kind === 'timeout') tally.add('in flight at the deadline', null);
            else tally.add(e.kind, ctx.since());
          }
        }
      }),
    );
    return {
      outcome: `${rtts.length} handshakes (RTT ${rttSummary(rtts)}): ${tally.summary()}`,
      received: tally.toJSON(),
      stats: { attackers: ATTACKERS, request_bytes: request.length, tokens, handshakes: rtts.length, rtt: rttSummary(rtts) },
    };
  },
};

/**
 * One message as `n` masked one-byte frames: a non-FIN binary frame, n − 2 non-FIN
 * continuations, a FIN continuation (§5.4). 7 bytes a frame.
 */
function fragmentedMessage(n: number): Buffer {
  const f = Buffer.allocUnsafe(7 * n);
  for (let i = 0; i < n; i++) {
    const o = 7 * i;
    f[o] = (i === 0 ? OP.BINARY : OP.CONT) | (i === n - 1 ? FIN : 0);
    f[o + 1] = 0x80 | 1;
    MASK.copy(f, o + 2);
    f[o + 6] = 0x61 ^ MASK[0];
  }
  return f;
}

/** FRAGMENTS: connections each send one message as 100,000 one-byte fragments, then wait for its echo. */
const fragments: Attack = {
  id: 'fragments',
  deflate: false,
  describe: (scale) => `${scaled(100, scale)} conns each send one binary message as ${scaled(100_000, scale, 2).toLocaleString('en-US')} one-byte fragments, wait for its echo`,
  async run(ctx) {
    const n = scaled(100_000, ctx.scale, 2);
    const message = fragmentedMessage(n);
    const tally = new Tally();
    const ups = await openMany(ctx.port, scaled(100, ctx.scale), upgradeRequest(ctx.port), false, tally);
    const deadline = ctx.begin();
    await Promise.all(
      ups.map((up) =>
        untilFinished(up, tally, deadline, 'no echo by the deadline', (finish) => {
          watch(up, (label) => finish(label, ctx.since()), {
            message: (_op, bytes) => finish(bytes === n ? 'echo' : `echo of ${bytes} B (sent ${n})`, ctx.since()),
          });
          up.socket.write(message);
        }),
      ),
    );
    return {
      outcome: tally.summary(),
      received: tally.toJSON(),
      stats: { conns: ups.length, fragments: n, wire_bytes: message.length },
    };
  },
};

/**
 * Write `chunk` over and over on a paused (never read) socket until `limit` bytes, the
 * deadline, or the connection ends; waits for 'drain' between writes, as a sender that does
 * not run ahead of TCP.
 */
/** Until the deadline, or earlier if the server ended every connection. */
async function holdUntilDeadline(conns: Silent[], deadline: number): Promise<void> {
  while (performance.now() < deadline && conns.some((c) => c.ended === null)) await sleep(Math.min(50, deadline - performance.now()));
}

async function writeFlood(c: Silent, chunk: Buffer, limit: number, deadline: number, since: () => number): Promise<void> {
  const s = c.up.socket;
  let wake: (() => void) | null = null;
  const end = (label: string): void => {
    if (c.ended === null) {
      c.ended = label;
      c.at = since();
    }
    wake?.();
  };
  s.on('error', (e: NodeJS.ErrnoException) => end(errorKind(e)));
  s.on('close', () => end('socket closed'));
  s.on('drain', () => wake?.());
  while (c.ended === null && c.sent < limit && performance.now() < deadline) {
    c.sent += chunk.length;
    if (s.write(chunk)) continue;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, deadline - performance.now());
      wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });
    wake = null;
  }
}

function silentOutcome(conns: Silent[], tally: Tally, what: (sent: number) => string): AttackReport['stats'] {
  for (const c of conns) tally.add(c.ended ?? 'open at the deadline', c.at);
  const sent = conns.map((c) => c.sent).sort((a, b) => a - b);
  return { conns: conns.length, sent_min: what(sent[0]), sent_max: what(sent[sent.length - 1]) };
}

/**
 * PING-FLOOD: connections write 125-byte pings as fast as TCP takes them and never read the
 * pongs (the socket stays paused after the 101), until the deadline or 4 MiB each.
 */
const pingFlood: Attack = {
  id: 'ping-flood',
  deflate: false,
  describe: (scale) => `${scaled(100, scale)} conns write 125-byte pings as fast as TCP takes them (${scaled(4, scale)} MiB each at most), never read`,
  async run(ctx) {
    const ping = maskedFrame(FIN | OP.PING, Buffer.alloc(125, 0x70));
    const chunk = Buffer.concat(Array.from({ length: 512 }, () => ping)); // 65.5 KB
    const limit = scaled(4, ctx.scale) * MiB;
    const tally = new Tally();
    const ups = await openMany(ctx.port, scaled(100, ctx.scale), upgradeRequest(ctx.port), false, tally);
    const conns: Silent[] = ups.map((up) => ({ up, ended: null, at: null, sent: 0 }));
    const deadline = ctx.begin();
    await Promise.all(conns.map((c) => writeFlood(c, chunk, limit, deadline, () => ctx.since())));
    // Bytes written: the server has not necessarily read them all.
    const pings = (b: number): string => `${Math.round(b / ping.length)} pings (${(b / MiB).toFixed(1)} MiB)`;
    await holdUntilDeadline(conns, deadline); // one that hit its byte limit stays open, unread
    await readLeftovers(conns, 1000);
    const stats = silentOutcome(conns, tally, pings);
    for (const c of conns) c.up.socket.destroy();
    return { outcome: `${tally.summary()}; written per conn ${stats.sent_min} – ${stats.sent_max}`, received: tally.toJSON(), stats };
  },
};

/**
 * NON-READER: connections send large messages (16 MiB − 1 KiB, binary) to the echo server and
 * never read, so the echoes pile up in the server; up to 4 messages each, until the deadline.
 */
const nonReader: Attack = {
  id: 'non-reader',
  deflate: false,
  describe: (scale) => `${scaled(20, scale)} conns send up to ${scaled(4, scale)} binary message(s) of 16 MiB − 1 KiB each, never read the echoes`,
  async run(ctx) {
    const frame = maskedFrame(FIN | OP.BINARY, Buffer.alloc(MAX_MESSAGE - KiB, 0x62));
    const tally = new Tally();
    const ups = await openMany(ctx.port, scaled(20, ctx.scale), upgradeRequest(ctx.port), false, tally);
    const conns: Silent[] = ups.map((up) => ({ up, ended: null, at: null, sent: 0 }));
    const deadline = ctx.begin();
    await Promise.all(conns.map((c) => writeFlood(c, frame, scaled(4, ctx.scale) * frame.length, deadline, () => ctx.since())));
    await holdUntilDeadline(conns, deadline);
    await readLeftovers(conns, 1000);
    // `sent` counts a message once its write started; 'drain' after the last one is not awaited.
    const msgs = (b: number): string => `${Math.round(b / frame.length)} msg(s)`;
    const stats = silentOutcome(conns, tally, msgs);
    for (const c of conns) c.up.socket.destroy();
    return { outcome: `${tally.summary()}; written per conn ${stats.sent_min} – ${stats.sent_max}`, received: tally.toJSON(), stats };
  },
};

export const ATTACKS: readonly Attack[] = [
  baseline,
  deflateEcho(1),
  deflateEcho(4),
  deflateEcho(20),
  deflateBomb,
  subprotocol,
  fragments,
  pingFlood,
  nonReader,
];

/**
 * `--role attack`: run one attack against 127.0.0.1:port and print one JSON line: the
 * report, and the wall-clock times (ms since the epoch) the attack began and ended.
 */
export async function runAttackChild(id: string, port: number, seconds: number, scale: number): Promise<void> {
  exitWithParent();
  const done = (line: object, code: number): void => {
    process.stdout.write(JSON.stringify(line) + '\n', () => process.exit(code));
  };
  const attack = ATTACKS.find((a) => a.id === id);
  if (!attack) return done({ error: `unknown attack ${id}` }, 2);
  let began = -1;
  let beganWall = -1;
  const ctx: AttackContext = {
    port,
    seconds,
    scale,
    begin() {
      began = performance.now();
      beganWall = Date.now();
      return began + seconds * 1000;
    },
    since: () => performance.now() - began,
  };
  try {
    const report = await attack.run(ctx);
    if (began < 0) throw new Error('attack did not call begin()');
    done({ attack: id, begin: beganWall, end: Date.now(), ...report }, 0);
  } catch (e) {
    done({ error: (e as Error).message }, 1);
  }
}
