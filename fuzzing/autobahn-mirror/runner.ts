/**
 * Runs cases one at a time, each on a fresh connection, like Autobahn's
 * fuzzingclient: open, play the case's steps, record what comes back, let the
 * timers and the server decide how the connection ends, then judge.
 *
 *   const summary = await runCases('ws://127.0.0.1:9001', '1.*,6.4.*');
 *   summary.results[0].behavior   // 'OK' | 'NON-STRICT' | …
 */
import { createHash } from 'node:crypto';
import type { Behavior, CaseDef, CaseEvent, CaseResult, CloseBehavior, CompressionSpec, PerformanceSpec } from './case-types.js';
import { ALL_CASES } from './cases/index.js';
import { AUTOBAHN_CLIENT_DEFAULTS, FuzzingClient, type ClientOptions } from './client.js';
import { allExpectationsMet, describeEvent, isFailure, judge } from './judge.js';
import { selectCases, type FilterInput } from './select.js';
import { dataSet, testData } from './testdata.js';
import { repeatTo, toBytes } from './wire.js';

export interface RunOptions {
  /** Client behavior; defaults to Autobahn's timers with failByDrop off (our fuzzingclient.json). */
  readonly client?: Partial<ClientOptions>;
  /** Override the number of round trips in 9.7.x / 9.8.x (Autobahn: 1000). */
  readonly roundTrips?: number;
  /** Override the number of messages per case in groups 12 and 13 (Autobahn: 1000). */
  readonly deflateMessages?: number;
  /** Called as each case finishes. */
  readonly onResult?: (result: CaseResult) => void;
  /** Keep the wire trace of every case, not only of those that did not pass. */
  readonly traceAll?: boolean;
}

export interface RunSummary {
  readonly results: readonly CaseResult[];
  /** Cases whose verdicts count against the server (see isFailure). */
  readonly failed: number;
  readonly passed: number;
  readonly behaviorCounts: Readonly<Partial<Record<Behavior, number>>>;
  readonly closeCounts: Readonly<Partial<Record<CloseBehavior, number>>>;
  readonly durationMs: number;
}

export async function runCases(url: string, filter?: FilterInput, options: RunOptions = {}): Promise<RunSummary> {
  const started = Date.now();
  const results: CaseResult[] = [];
  for (const def of selectCases(ALL_CASES, filter)) {
    const result = await runCase(url, def, options);
    results.push(result);
    options.onResult?.(result);
  }
  return summarize(results, Date.now() - started);
}

export function summarize(results: readonly CaseResult[], durationMs: number): RunSummary {
  const behaviorCounts: Partial<Record<Behavior, number>> = {};
  const closeCounts: Partial<Record<CloseBehavior, number>> = {};
  let failed = 0;
  for (const r of results) {
    behaviorCounts[r.behavior] = (behaviorCounts[r.behavior] ?? 0) + 1;
    closeCounts[r.behaviorClose] = (closeCounts[r.behaviorClose] ?? 0) + 1;
    if (isFailure(r)) failed++;
  }
  return { results, failed, passed: results.length - failed, behaviorCounts, closeCounts, durationMs };
}

/** Longest a case may take before the mirror gives up on it (Autobahn itself would wait forever). */
function safetySeconds(def: CaseDef): number {
  if (def.performance !== undefined) return def.performance.waitSecs + 5;
  if (def.compression !== undefined) return def.compression.waitSecs + 5;
  let waits = 0;
  let timer = 0;
  for (const s of def.steps) {
    if (s.do === 'wait') waits += s.seconds;
    if (s.do === 'killAfter' || s.do === 'closeAfter') timer = Math.max(timer, s.seconds);
  }
  return waits + timer + 2 + 5;
}

export function runCase(url: string, def: CaseDef, options: RunOptions = {}): Promise<CaseResult> {
  const clientOptions: ClientOptions = {
    ...AUTOBAHN_CLIENT_DEFAULTS,
    ...options.client,
    ...(def.compression !== undefined ? { deflateOffers: def.compression.offers } : {}),
  };
  return new Promise<CaseResult>((resolve) => {
    const received: CaseEvent[] = [];
    const started = Date.now();
    let openedAt: number | null = null;
    let perf: PerformanceDriver | CompressionDriver | null = null;
    let safety: NodeJS.Timeout | null = null;

    const finishWhenDone = (): void => {
      if (allExpectationsMet(def, received) && def.expectedClose.closedByMe && def.suppressClose !== true) {
        safeClose(client, def.expectedClose.closeCode[0]);
      }
    };

    const client: FuzzingClient = new FuzzingClient(url, clientOptions, {
      onOpen() {
        openedAt = Date.now();
        if (def.performance !== undefined) {
          perf = new PerformanceDriver(def.performance, client, options.roundTrips);
          perf.start();
        } else if (def.compression !== undefined) {
          perf = new CompressionDriver(def.compression, client, options.deflateMessages);
          perf.start();
        } else {
          void playSteps(def, client, received);
        }
      },
      onMessage(payload, binary) {
        if (perf !== null) {
          perf.onMessage(payload, binary);
          return;
        }
        received.push({ type: 'message', payload, binary });
        finishWhenDone();
      },
      onPong(payload) {
        if (perf !== null) return;
        received.push({ type: 'pong', payload });
        finishWhenDone();
      },
      onConnectionLost() {
        if (safety !== null) clearTimeout(safety);
        const ended = Date.now();
        const p = perf as PerformanceDriver | CompressionDriver | null;
        const verdict = judge(def, received, client, p === null ? undefined : { behavior: p.behavior, result: p.result });
        if (p !== null && !p.answered && p.behavior !== 'UNIMPLEMENTED') {
          // Autobahn only says "did not receive … within N seconds"; say how it really ended.
          const code = client.remoteCloseCode === null ? 'no close code' : `close code ${client.remoteCloseCode}`;
          const reason = client.remoteCloseReason ? ` ${JSON.stringify(client.remoteCloseReason)}` : '';
          verdict.result += ` The connection ended after ${ended - (openedAt ?? started)} ms (${client.closedByMe ? 'we closed' : 'the server closed'}, ${code}${reason}).`;
        }
        const notes = [...client.notes];
        if (p instanceof CompressionDriver) notes.push(...p.notes);
        if (!client.connectionWasOpen) {
          // Autobahn lists such a case as "Missing"; here it is simply a failure.
          verdict.behavior = 'FAILED';
          verdict.result = `The WebSocket opening handshake was never completed (${client.wasNotCleanReason ?? 'connection failed'}).`;
        }
        const keepTrace = options.traceAll === true || isFailure(verdict) || !['OK', 'INFORMATIONAL'].includes(verdict.behavior) || verdict.behaviorClose !== 'OK';
        resolve({
          id: def.id,
          description: def.description,
          ...verdict,
          durationMs: ended - (openedAt ?? started),
          received: received.map(describeEvent),
          expected: Object.fromEntries(Object.entries(def.expected).map(([k, v]) => [k, v.map(describeEvent)])),
          closedByMe: client.closedByMe,
          failedByMe: client.failedByMe,
          droppedByMe: client.droppedByMe,
          wasClean: client.wasClean,
          wasNotCleanReason: client.wasNotCleanReason,
          localCloseCode: client.localCloseCode,
          remoteCloseCode: client.remoteCloseCode,
          remoteCloseReason: client.remoteCloseReason,
          notes,
          ...(keepTrace ? { trace: [...client.trace] } : {}),
        });
      },
    });

    safety = setTimeout(() => {
      client.abortForSafety(`mirror safety timeout: case still running after ${safetySeconds(def)} s`);
    }, safetySeconds(def) * 1000);
  });
}

/** Start the closing handshake from a case's logic; a code Autobahn's sendClose refuses is noted, not thrown. */
function safeClose(client: FuzzingClient, code: number | undefined): void {
  try {
    client.sendClose(code);
  } catch (err) {
    client.notes.push(`could not start closing handshake: ${(err as Error).message}`);
  }
}

/** Play a case's steps in order; `wait` steps pause here while the connection lives on. */
async function playSteps(def: CaseDef, client: FuzzingClient, received: CaseEvent[]): Promise<void> {
  for (const step of def.steps) {
    switch (step.do) {
      case 'frame': {
        const base = toBytes(step.payload);
        const payload = step.repeatTo === undefined ? base : repeatTo(base, step.repeatTo);
        client.sendFrame(step.opcode, payload, step.fin ?? true, step.rsv ?? 0, {
          ...(step.chop !== undefined ? { chop: step.chop } : {}),
          ...(step.sync !== undefined ? { sync: step.sync } : {}),
          ...(step.chopDelayMs !== undefined ? { chopDelayMs: step.chopDelayMs } : {}),
        });
        break;
      }
      case 'message': {
        const base = toBytes(step.payload);
        const payload = step.repeatTo === undefined ? base : repeatTo(base, step.repeatTo);
        client.sendMessage(payload, step.binary, step.fragmentSize);
        break;
      }
      case 'beginFrame':
        client.beginFrame(step.opcode, step.length, step.fin);
        break;
      case 'frameData':
        client.sendFrameData(toBytes(step.data));
        break;
      case 'close':
        safeClose(client, step.code);
        break;
      case 'closeFrame':
        client.sendCloseFrame(step.code, step.reason === undefined ? undefined : toBytes(step.reason), false);
        break;
      case 'killAfter':
        client.killAfter(step.seconds);
        break;
      case 'closeAfter':
        client.closeAfter(step.seconds);
        break;
      case 'wait': {
        // If the connection goes away first, the timer is cleared and this case simply stops here.
        await new Promise<void>((resolve) => client.later(step.seconds, resolve));
        if (step.tag !== undefined) {
          if (client.state !== 'OPEN') return;
          received.push({ type: 'timeout', tag: step.tag });
        } else if (client.state === 'CLOSED') {
          return;
        }
        break;
      }
    }
  }
}

/** Group 9: send, time the echo (or the round trips), check it, close. */
class PerformanceDriver {
  behavior: Behavior = 'FAILED';
  result: string;
  /** An echo (right or wrong) came back for the last message sent. */
  answered = false;
  private sent = 0;
  private readonly payload: Buffer;
  private readonly count: number;

  constructor(
    private readonly spec: PerformanceSpec,
    private readonly client: FuzzingClient,
    roundTrips: number | undefined,
  ) {
    this.count = spec.kind === 'round-trips' ? (roundTrips ?? spec.count) : 1;
    this.result = spec.kind === 'round-trips' ? `Case did not finish within ${spec.waitSecs} seconds.` : `Did not receive message within ${spec.waitSecs} seconds.`;
    const pattern = spec.kind === 'echo-once' ? spec.pattern : Buffer.from(spec.binary ? 'fe' : '2a', 'hex');
    this.payload = spec.length === 0 ? Buffer.alloc(0) : repeatTo(pattern, spec.length);
  }

  start(): void {
    this.client.closeAfter(this.spec.waitSecs);
    this.sendOne();
  }

  private sendOne(): void {
    this.sent++;
    this.answered = false;
    const opcode = this.spec.binary ? 2 : 1;
    if (this.spec.kind === 'echo-once' && this.spec.fragmentSize !== undefined) {
      this.client.sendMessage(this.payload, this.spec.binary, this.spec.fragmentSize);
    } else if (this.spec.kind === 'echo-once' && this.spec.chop !== undefined) {
      this.client.sendFrame(opcode, this.payload, true, 0, { chop: this.spec.chop });
    } else {
      this.client.sendFrame(opcode, this.payload);
    }
  }

  onMessage(payload: Buffer, binary: boolean): void {
    this.answered = true;
    const kind = this.spec.binary ? 'binary' : 'text';
    if (binary !== this.spec.binary || payload.length !== this.spec.length) {
      this.behavior = 'FAILED';
      this.result = `Expected ${kind} message with payload of length ${this.spec.length}, but got ${binary ? 'binary' : 'text'} of length ${payload.length}.`;
      safeClose(this.client, 1000);
      return;
    }
    if (!payload.equals(this.payload)) {
      // Stricter than Autobahn (which leaves "check actual content" as a FIXME).
      let at = 0;
      while (at < payload.length && payload[at] === this.payload[at]) at++;
      this.behavior = 'FAILED';
      this.result = `Echoed ${kind} message has the right length but differs from what we sent at byte ${at}.`;
      safeClose(this.client, 1000);
      return;
    }
    if (this.sent < this.count) {
      this.sendOne();
      return;
    }
    this.behavior = 'OK';
    this.result = this.count > 1 ? `Ok, received all ${this.count} echo'ed messages in time.` : `Received ${kind} message of length ${payload.length}.`;
    safeClose(this.client, 1000);
  }
}

/**
 * Groups 12 and 13 (Autobahn's case12_x_x.py): if the server accepted
 * permessage-deflate, send COUNT messages of LEN bytes cut from the test data
 * one after the other, compressed, each when the previous echo came back
 * equal (type, length, SHA-1); close when done, at the first wrong echo, or
 * at WAITSECS (closeAfter). Without deflate the case is UNIMPLEMENTED and we
 * close at once.
 */
class CompressionDriver {
  behavior: Behavior = 'FAILED';
  result: string;
  /** An echo came back for the last message sent (or none was due yet). */
  answered = true;
  readonly notes: string[] = [];
  private readonly data: Buffer;
  private readonly binary: boolean;
  private readonly count: number;
  private sent = 0;
  private pointer = 0;
  private expectedHash = '';
  private done = false;

  constructor(
    private readonly spec: CompressionSpec,
    private readonly client: FuzzingClient,
    messages: number | undefined,
  ) {
    this.data = testData(spec.data);
    this.binary = dataSet(spec.data).binary;
    this.count = messages ?? spec.count;
    this.result = `Case did not finish within ${spec.waitSecs} seconds.`;
  }

  start(): void {
    const agreement = this.client.deflateAgreement;
    if (agreement === null) {
      this.behavior = 'UNIMPLEMENTED';
      this.result = 'The server did not accept any permessage-deflate offer.';
      this.done = true;
      safeClose(this.client, 1000);
      return;
    }
    this.notes.push(`permessage-deflate agreed: ${agreement.response}`);
    this.client.closeAfter(this.spec.waitSecs);
    this.sendOne();
  }

  /** Autobahn's sendOne: the next LEN bytes of the data, wrapping around at its end. */
  private sendOne(): void {
    const length = this.spec.length;
    const size = this.data.length;
    const from = this.pointer;
    const to = (from + length) % size;
    const message = to > from ? this.data.subarray(from, to) : Buffer.concat([this.data.subarray(from), this.data.subarray(0, to)]);
    this.pointer = to;
    this.expectedHash = createHash('sha1').update(message).digest('hex');
    this.sent++;
    this.answered = false;
    this.client.sendCompressedMessage(message, this.binary, this.spec.autoFragmentSize).then(
      (sent) => {
        if (!sent && !this.done) this.notes.push(`message ${this.sent} was not sent: the connection was no longer open`);
      },
      (err: unknown) => {
        this.notes.push(`compressing message ${this.sent} failed: ${(err as Error).message}`);
        this.finish('FAILED', `Could not compress message ${this.sent}: ${(err as Error).message}`);
      },
    );
  }

  onMessage(payload: Buffer, binary: boolean): void {
    if (this.done) return;
    this.answered = true;
    const hash = createHash('sha1').update(payload).digest('hex');
    if (binary !== this.binary) {
      this.finish('FAILED', `Echo'ed message type differs from what I sent (got binary ${binary}, expected binary ${this.binary}).`);
    } else if (payload.length !== this.spec.length) {
      this.finish('FAILED', `Echo'ed message length differs from what I sent (got length ${payload.length}, expected length ${this.spec.length}).`);
    } else if (hash !== this.expectedHash) {
      this.finish('FAILED', `Echo'ed message contents differs from what I sent (got SHA1 ${hash}, expected SHA1 ${this.expectedHash}).`);
    } else if (this.sent < this.count) {
      this.sendOne();
    } else {
      this.finish('OK', `Ok, received all ${this.count} echo'ed messages in time.`);
    }
  }

  private finish(behavior: Behavior, result: string): void {
    if (this.done) return;
    this.done = true;
    this.behavior = behavior;
    this.result = behavior === 'FAILED' ? `${result} (message ${this.sent} of ${this.count})` : result;
    safeClose(this.client, 1000);
  }
}
