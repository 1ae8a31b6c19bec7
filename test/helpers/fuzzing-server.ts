/**
 * Autobahn's `fuzzingserver` mode in miniature, for CI (the real one needs
 * Docker): a raw-socket server that plays the mirror's case definitions
 * (fuzzing/autobahn-mirror/cases/, the same cases Autobahn plays in both
 * modes) against a WebSocket CLIENT that echoes, and judges the outcome the
 * way Autobahn judges a client.
 *
 * The roles swap, the cases do not: the fuzzer now sends unmasked frames (a
 * server's), expects masked ones back, and, being the server, drops TCP
 * itself as soon as the close frames have crossed. Its books are those of
 * Autobahn's server-side protocol (autobahn/websocket/protocol.py):
 *
 *   closedByMe    the fuzzer sent the first close frame
 *   wasClean      close frames crossed (set when the peer's close arrives);
 *                 false if the client dropped TCP without one, or did not
 *                 answer our close within 1 s (closeHandshakeTimeout)
 *   remoteCloseCode   the code in the client's close frame
 *
 * and the verdicts are Autobahn's (case.py), with the rule that only applies
 * to a client under test left out: as the fuzzer is the server here, "the
 * fuzzer had to drop TCP" is the normal end, never FAILED BY CLIENT.
 *
 * Written independently of src/ (frames come from ./frames.ts), so a bug in
 * the client cannot hide behind the same bug here.
 */
import { isUtf8 } from 'node:buffer';
import net from 'node:net';
import type { Behavior, CaseDef, CaseEvent, CloseBehavior, PerformanceSpec } from '../../fuzzing/autobahn-mirror/case-types.js';
import { allExpectationsMet, sameEvents } from '../../fuzzing/autobahn-mirror/judge.js';
import { decodeFrames, frame, frameSize, type DecodedFrame } from './frames.js';
import { acceptFor } from './raw-client.js';

export interface ClientCaseResult {
  id: string;
  behavior: Behavior;
  behaviorClose: CloseBehavior;
  result: string;
  resultClose: string;
  received: string[];
  remoteCloseCode: number | null;
  closedByMe: boolean;
  wasClean: boolean;
  durationMs: number;
  /** Observations outside Autobahn's verdict (e.g. the client closed TCP first). */
  notes: string[];
  trace: string[];
}

/** Red in an Autobahn report. */
export function isClientFailure(r: ClientCaseResult): boolean {
  return r.behavior === 'FAILED' || r.behavior === 'UNIMPLEMENTED' || r.behaviorClose === 'FAILED' || r.behaviorClose === 'UNCLEAN';
}

/** Close codes a close frame may carry (§7.4.1, §7.4.2, and 1012-1014 registered since). */
function isValidCloseCode(code: number): boolean {
  return (code >= 3000 && code <= 4999) || [1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014].includes(code);
}

type State = 'CONNECTING' | 'OPEN' | 'CLOSING' | 'CLOSED';

/** One case on one connection, seen from the fuzzer's (server's) side. */
class FuzzerPeer {
  state: State = 'CONNECTING';
  closedByMe = false;
  wasClean = false;
  droppedByMe = false;
  connectionWasOpen = false;
  remoteCloseCode: number | null = null;
  readonly received: CaseEvent[] = [];
  readonly notes: string[] = [];
  readonly trace: string[] = [];
  private head: Buffer | undefined = Buffer.alloc(0);
  private chunks: Buffer[] = [];
  private buffered = 0;
  /** Bytes the frame in progress needs in all, once its header is known. */
  private needed = 0;
  private message: { opcode: number; parts: Buffer[] } | null = null;
  private readonly timers = new Set<NodeJS.Timeout>();
  private closeTimer: NodeJS.Timeout | null = null;
  private readonly queue: Buffer[] = [];
  private pumping = false;
  private readonly started = Date.now();

  constructor(
    readonly socket: net.Socket,
    private readonly onOpen: () => void,
    private readonly onMessage: (payload: Buffer, binary: boolean) => void,
    private readonly onPong: (payload: Buffer) => void,
    private readonly onLost: () => void,
  ) {
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', (e) => this.log(`socket error ${e.message}`));
    socket.on('end', () => {
      if (!this.droppedByMe && this.state !== 'CLOSED') this.notes.push('the client half-closed TCP before the fuzzer (the server) closed it');
    });
    socket.on('close', () => this.lost());
  }

  later(seconds: number, fn: () => void): void {
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      fn();
    }, seconds * 1000);
    this.timers.add(timer);
  }

  // ------------------------------------------------------------ sending

  sendFrame(opcode: number, payload: Buffer, fin = true, rsv = 0, how: { chop?: number; sync?: boolean } = {}): void {
    if (this.state === 'CLOSED') return;
    this.log(`TX ${opcode} fin=${fin} rsv=${rsv} ${payload.length} B`);
    const bytes = frame({ opcode, payload, fin, rsv, mask: false });
    if (how.chop !== undefined && how.chop > 0) {
      for (let at = 0; at < bytes.length; at += how.chop) this.queue.push(bytes.subarray(at, at + how.chop));
      this.pump();
    } else if (how.sync === true || this.pumping) {
      this.queue.push(bytes);
      this.pump();
    } else {
      this.write(bytes);
    }
  }

  sendMessage(payload: Buffer, binary: boolean, fragmentSize?: number): void {
    if (this.state !== 'OPEN') return;
    const opcode = binary ? 2 : 1;
    if (fragmentSize === undefined || fragmentSize <= 0 || payload.length <= fragmentSize) {
      this.write(frame({ opcode, payload, mask: false }));
      return;
    }
    const parts: Buffer[] = [];
    for (let at = 0; at < payload.length; at += fragmentSize) {
      const end = Math.min(at + fragmentSize, payload.length);
      parts.push(frame({ opcode: at === 0 ? opcode : 0, payload: payload.subarray(at, end), fin: end === payload.length, mask: false }));
    }
    this.write(Buffer.concat(parts));
  }

  beginFrame(opcode: number, length: number, fin: boolean): void {
    if (this.state !== 'OPEN') return;
    this.write(frame({ opcode, payload: '', length, fin, mask: false })); // the header alone
  }

  sendFrameData(data: Buffer): void {
    if (this.state === 'OPEN') this.write(data);
  }

  /** Autobahn's sendCloseFrame: any payload; enters CLOSING; our close starts the 1 s wait for the answer. */
  sendCloseFrame(code?: number, reason?: Buffer, isReply = false): void {
    if (this.state !== 'OPEN') return;
    const parts: Buffer[] = [];
    if (code !== undefined) {
      const c = Buffer.alloc(2);
      c.writeUInt16BE(code & 0xffff);
      parts.push(c);
    }
    if (reason !== undefined) parts.push(reason);
    this.sendFrame(8, Buffer.concat(parts));
    this.state = 'CLOSING';
    this.closedByMe = !isReply;
    if (this.closedByMe) {
      this.closeTimer = setTimeout(() => {
        if (this.state !== 'CLOSED') {
          this.wasClean = false;
          this.notes.push('the client did not answer our close frame within 1 s');
          this.drop(true);
        }
      }, 1000);
    }
  }

  /** Autobahn's failConnection with failByDrop off: a close frame 1001, or a drop when already closing. */
  failConnection(code = 1001, reason = 'Going Away'): void {
    if (this.state === 'OPEN') this.sendCloseFrame(code, Buffer.from(reason), false);
    else if (this.state !== 'CLOSED') this.drop(false);
  }

  drop(abort: boolean): void {
    if (this.state === 'CLOSED') return;
    this.log(`dropping TCP (${abort ? 'abort' : 'graceful'})`);
    this.droppedByMe = true;
    this.state = 'CLOSED';
    this.queue.length = 0;
    if (abort) this.socket.destroy();
    else this.socket.end(() => this.socket.destroy());
  }

  private pump(): void {
    if (this.pumping) return;
    this.pumping = true;
    const step = (): void => {
      const bytes = this.queue.shift();
      if (bytes === undefined) {
        this.pumping = false;
        return;
      }
      this.write(bytes);
      setImmediate(step);
    };
    step();
  }

  private write(bytes: Buffer): void {
    if (this.state === 'CLOSED' || this.socket.destroyed || !this.socket.writable) return;
    this.socket.write(bytes);
  }

  // ---------------------------------------------------------- receiving

  private onData(chunk: Buffer): void {
    if (this.state === 'CONNECTING') {
      const buf = Buffer.concat([this.head!, chunk]);
      const end = buf.indexOf('\r\n\r\n');
      if (end < 0) {
        this.head = buf;
        return;
      }
      const text = buf.subarray(0, end).toString('latin1');
      const key = /^sec-websocket-key:\s*(\S+)\s*$/im.exec(text)?.[1] ?? '';
      this.socket.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${acceptFor(key)}\r\n\r\n`);
      this.state = 'OPEN';
      this.connectionWasOpen = true;
      this.head = undefined;
      this.onOpen();
      chunk = buf.subarray(end + 4);
    }
    if (this.state === 'CLOSED') return;
    // Gather chunks until the frame in progress is complete, then join them once
    // (a 16 MiB frame arrives in hundreds of reads).
    this.chunks.push(chunk);
    this.buffered += chunk.length;
    if (this.buffered < this.needed) return;
    const buf = this.chunks.length === 1 ? this.chunks[0] : Buffer.concat(this.chunks, this.buffered);
    const { frames, rest } = decodeFrames(buf);
    this.chunks = rest.length > 0 ? [Buffer.from(rest)] : [];
    this.buffered = rest.length;
    this.needed = frameSize(rest) ?? 0;
    for (const f of frames) {
      if (this.isClosed()) return; // a frame before this one may have ended the connection
      this.onFrame(f);
    }
  }

  private isClosed(): boolean {
    return this.state === 'CLOSED';
  }

  /** Autobahn checks every client frame; a violation fails the connection with 1002 (1007 for bad text). */
  private onFrame(f: DecodedFrame): void {
    this.log(`RX ${f.opcode} fin=${f.fin} ${f.masked ? 'masked ' : ''}${f.payload.length} B`);
    const violation = (why: string, code = 1002): void => {
      this.notes.push(`client protocol violation: ${why}`);
      this.failConnection(code, why);
    };
    if (!f.masked) return violation('unmasked client-to-server frame');
    if (f.rsv !== 0) return violation('RSV != 0 and no extension negotiated');
    if (f.opcode >= 8) {
      if (!f.fin || f.payload.length > 125) return violation('invalid control frame');
      if (f.opcode === 8) return this.onCloseFrame(f.payload);
      if (f.opcode === 9) {
        if (this.state === 'OPEN') this.sendFrame(10, f.payload);
      } else if (f.opcode === 10) {
        this.onPong(f.payload);
      } else {
        return violation(`reserved opcode ${f.opcode}`);
      }
      return;
    }
    if (f.opcode > 2) return violation(`reserved opcode ${f.opcode}`);
    if (this.message === null) {
      if (f.opcode === 0) return violation('continuation without a message');
      this.message = { opcode: f.opcode, parts: [] };
    } else if (f.opcode !== 0) {
      return violation('new message inside a fragmented one');
    }
    this.message.parts.push(f.payload);
    if (!f.fin) return;
    const { opcode, parts } = this.message;
    this.message = null;
    const payload = Buffer.concat(parts);
    if (opcode === 1 && !isUtf8(payload)) return violation('invalid UTF-8 text from the client', 1007);
    if (this.state === 'OPEN' || this.state === 'CLOSING') this.onMessage(payload, opcode === 2);
  }

  private onCloseFrame(payload: Buffer): void {
    if (payload.length === 1) {
      this.notes.push('client sent a 1-byte close payload');
      this.drop(true);
      return;
    }
    const code = payload.length >= 2 ? payload.readUInt16BE(0) : null;
    if (code !== null && !isValidCloseCode(code)) this.notes.push(`client sent invalid close code ${code}`);
    if (payload.length > 2 && !isUtf8(payload.subarray(2))) this.notes.push('client close reason is not UTF-8');
    this.remoteCloseCode = code;
    this.wasClean = true;
    if (this.state === 'CLOSING') {
      // The answer to our close: a server drops TCP at once.
      if (this.closeTimer !== null) clearTimeout(this.closeTimer);
      this.drop(true);
    } else if (this.state === 'OPEN') {
      // The client closes first: answer (1000, as Autobahn does unless told to echo), then drop TCP.
      this.sendCloseFrame(1000, undefined, true);
      this.drop(false);
    }
  }

  private lost(): void {
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    if (this.closeTimer !== null) clearTimeout(this.closeTimer);
    if (!this.wasClean && !this.droppedByMe) this.notes.push('the client dropped TCP without a closing handshake');
    this.state = 'CLOSED';
    this.onLost();
  }

  log(line: string): void {
    if (this.trace.length < 200) this.trace.push(`${String(Date.now() - this.started).padStart(5)} ms  ${line}`);
  }
}

/**
 * Serve exactly one case: accept the next connection, play `def` on it, and
 * resolve with the verdict once TCP is gone. `roundTrips` shortens 9.7/9.8.
 */
export async function runClientCase(def: CaseDef, connectClient: (url: string) => Promise<void>, options: { roundTrips?: number } = {}): Promise<ClientCaseResult> {
  const server = net.createServer({ allowHalfOpen: true });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  try {
    const result = new Promise<ClientCaseResult>((resolve) => {
      server.once('connection', (socket) => {
        const started = Date.now();
        let perf: Performance | null = null;
        const finishWhenDone = (): void => {
          if (allExpectationsMet(def, peer.received) && def.expectedClose.closedByMe && def.suppressClose !== true) {
            peer.sendCloseFrame(def.expectedClose.closeCode[0]);
          }
        };
        const safety = setTimeout(() => {
          peer.notes.push('safety timeout: the case never ended');
          peer.drop(true);
        }, safetySeconds(def) * 1000);
        const peer: FuzzerPeer = new FuzzerPeer(
          socket,
          () => {
            if (def.performance !== undefined) {
              perf = new Performance(def.performance, peer, options.roundTrips);
              perf.start();
            } else {
              void playSteps(def, peer);
            }
          },
          (payload, binary) => {
            if (perf !== null) return perf.onMessage(payload, binary);
            peer.received.push({ type: 'message', payload, binary });
            finishWhenDone();
          },
          (payload) => {
            if (perf !== null) return;
            peer.received.push({ type: 'pong', payload });
            finishWhenDone();
          },
          () => {
            clearTimeout(safety);
            const p = perf as Performance | null;
            resolve({ id: def.id, ...judgeClient(def, peer, p), received: peer.received.map(describe), remoteCloseCode: peer.remoteCloseCode, closedByMe: peer.closedByMe, wasClean: peer.wasClean, durationMs: Date.now() - started, notes: peer.notes, trace: peer.trace });
          },
        );
      });
    });
    await connectClient(`ws://127.0.0.1:${port}/`);
    return await result;
  } finally {
    server.close();
  }
}

function safetySeconds(def: CaseDef): number {
  if (def.performance !== undefined) return def.performance.waitSecs + 5;
  let total = 2;
  for (const s of def.steps) if (s.do === 'wait' || s.do === 'killAfter' || s.do === 'closeAfter') total += s.seconds;
  return total + 5;
}

/** Autobahn's verdicts (case.py), for a client under test. */
function judgeClient(def: CaseDef, peer: FuzzerPeer, perf: Performance | null): { behavior: Behavior; behaviorClose: CloseBehavior; result: string; resultClose: string } {
  let behavior: Behavior = 'FAILED';
  let result = 'Actual events differ from any expected.';
  if (perf !== null) {
    behavior = perf.behavior;
    result = perf.result;
  } else {
    for (const outcome of ['OK', 'NON-STRICT'] as const) {
      const list = def.expected[outcome];
      if (list !== undefined && sameEvents(peer.received, list)) {
        behavior = outcome;
        result = 'Actual events match at least one expected.';
        break;
      }
    }
  }
  const ec = def.expectedClose;
  let behaviorClose: CloseBehavior;
  let resultClose: string;
  if (!peer.connectionWasOpen) {
    behaviorClose = 'FAILED';
    resultClose = 'The WebSocket opening handshake was never completed!';
  } else if (ec.closedByMe !== peer.closedByMe) {
    behaviorClose = 'FAILED';
    resultClose = 'The connection was failed by the wrong endpoint';
  } else if (ec.requireClean && !peer.wasClean) {
    behaviorClose = 'UNCLEAN';
    resultClose = 'The spec requires the connection to be failed cleanly here';
  } else if (peer.remoteCloseCode !== null && !ec.closeCode.includes(peer.remoteCloseCode)) {
    behaviorClose = 'WRONG CODE';
    resultClose = `The close code should have been ${ec.closeCode.join(',')} or empty`;
  } else {
    behaviorClose = 'OK';
    resultClose = 'Connection was properly closed';
  }
  if (ec.closedByWrongEndpointIsFatal === true && ec.closedByMe !== peer.closedByMe) behavior = 'FAILED';
  if (def.wrongCodeFails === true && behaviorClose === 'WRONG CODE') {
    behavior = 'FAILED';
    result = resultClose;
  }
  if (def.informational === true) {
    behavior = 'INFORMATIONAL';
    behaviorClose = 'INFORMATIONAL';
  }
  return { behavior, behaviorClose, result, resultClose };
}

async function playSteps(def: CaseDef, peer: FuzzerPeer): Promise<void> {
  for (const step of def.steps) {
    switch (step.do) {
      case 'frame':
        peer.sendFrame(step.opcode, payloadOf(step.payload, step.repeatTo), step.fin ?? true, step.rsv ?? 0, { chop: step.chop, sync: step.sync });
        break;
      case 'message':
        peer.sendMessage(payloadOf(step.payload, step.repeatTo), step.binary, step.fragmentSize);
        break;
      case 'beginFrame':
        peer.beginFrame(step.opcode, step.length, step.fin);
        break;
      case 'frameData':
        peer.sendFrameData(payloadOf(step.data));
        break;
      case 'close':
        peer.sendCloseFrame(step.code, step.reason === undefined ? undefined : Buffer.from(step.reason));
        break;
      case 'closeFrame':
        peer.sendCloseFrame(step.code, step.reason === undefined ? undefined : payloadOf(step.reason));
        break;
      case 'killAfter':
        peer.later(step.seconds, () => peer.failConnection());
        break;
      case 'closeAfter':
        peer.later(step.seconds, () => peer.sendCloseFrame());
        break;
      case 'wait':
        await new Promise<void>((resolve) => peer.later(step.seconds, resolve));
        if (step.tag !== undefined) {
          if (peer.state !== 'OPEN') return;
          peer.received.push({ type: 'timeout', tag: step.tag });
        } else if (peer.state === 'CLOSED') {
          return;
        }
        break;
    }
  }
}

function payloadOf(data: Buffer | string | undefined, repeatTo?: number): Buffer {
  const base = data === undefined ? Buffer.alloc(0) : typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
  if (repeatTo === undefined) return base;
  const out = Buffer.allocUnsafe(repeatTo);
  for (let at = 0; at < repeatTo; at += base.length) base.copy(out, at, 0, Math.min(base.length, repeatTo - at));
  return out;
}

/** Group 9: send, wait for the echo (or the round trips), compare, close. */
class Performance {
  behavior: Behavior = 'FAILED';
  result: string;
  private sent = 0;
  private readonly payload: Buffer;
  private readonly count: number;

  constructor(
    private readonly spec: PerformanceSpec,
    private readonly peer: FuzzerPeer,
    roundTrips: number | undefined,
  ) {
    this.count = spec.kind === 'round-trips' ? (roundTrips ?? spec.count) : 1;
    this.result = `No echo within ${spec.waitSecs} s.`;
    const pattern = spec.kind === 'echo-once' ? spec.pattern : Buffer.from(spec.binary ? 'fe' : '2a', 'hex');
    this.payload = spec.length === 0 ? Buffer.alloc(0) : payloadOf(pattern, spec.length);
  }

  start(): void {
    this.peer.later(this.spec.waitSecs, () => this.peer.sendCloseFrame());
    this.sendOne();
  }

  private sendOne(): void {
    this.sent++;
    const opcode = this.spec.binary ? 2 : 1;
    if (this.spec.kind === 'echo-once' && this.spec.fragmentSize !== undefined) this.peer.sendMessage(this.payload, this.spec.binary, this.spec.fragmentSize);
    else if (this.spec.kind === 'echo-once' && this.spec.chop !== undefined) this.peer.sendFrame(opcode, this.payload, true, 0, { chop: this.spec.chop });
    else this.peer.sendFrame(opcode, this.payload);
  }

  onMessage(payload: Buffer, binary: boolean): void {
    if (binary !== this.spec.binary || !payload.equals(this.payload)) {
      this.result = `Echo differs: ${binary ? 'binary' : 'text'} of ${payload.length} B.`;
      this.peer.sendCloseFrame(1000);
      return;
    }
    if (this.sent < this.count) return this.sendOne();
    this.behavior = 'OK';
    this.result = `Received the echo${this.count > 1 ? `es of ${this.count} round trips` : ''}.`;
    this.peer.sendCloseFrame(1000);
  }
}

function describe(e: CaseEvent): string {
  if (e.type === 'timeout') return `timeout ${e.tag}`;
  if (e.type === 'pong') return `pong ${e.payload.length} B`;
  return `message ${e.binary ? 'binary' : 'text'} ${e.payload.length} B`;
}
