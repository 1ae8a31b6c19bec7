/**
 * The vocabulary of the case table: what a case sends (steps), what it expects
 * back (events), and how its closing handshake must go (expectedClose).
 *
 * These mirror the fields of an Autobahn|Testsuite `Case` object
 * (autobahntestsuite/case/case.py): `expected` maps a verdict to the exact
 * sequence of events that earns it, `expectedClose` is the
 * {closedByMe, closeCode, requireClean} triple judged after the TCP
 * connection is gone. Nothing here depends on the server under test.
 */
import type { DeflateOffer } from './deflate.js';
import type { DataSetName } from './testdata.js';

/** What a case can observe from the server, in arrival order. */
export type CaseEvent =
  | { readonly type: 'message'; readonly payload: Buffer; readonly binary: boolean }
  | { readonly type: 'pong'; readonly payload: Buffer }
  /** A `wait` step with a tag ran out while the connection was still open. */
  | { readonly type: 'timeout'; readonly tag: string };

/** Verdict on the events a case saw (the report's left column). */
export type Behavior = 'OK' | 'NON-STRICT' | 'INFORMATIONAL' | 'UNIMPLEMENTED' | 'FAILED';

/** Verdict on the closing handshake (the report's close-code column). */
export type CloseBehavior =
  | 'OK'
  | 'WRONG CODE'
  | 'UNCLEAN'
  | 'FAILED BY CLIENT'
  | 'INFORMATIONAL'
  | 'FAILED';

/** The outcomes a case may list event sequences for. */
export type ExpectedOutcome = 'OK' | 'NON-STRICT';

export interface ExpectedClose {
  /** True when the fuzzer (we) must be the one that sends the first close frame. */
  readonly closedByMe: boolean;
  /** Acceptable codes in the server's close frame (a close without a code is always fine). */
  readonly closeCode: readonly number[];
  /** True when the close handshake must complete and the server must drop TCP in time. */
  readonly requireClean: boolean;
  /** UTF-8 cases: if the wrong side closed, the server never noticed the bad text. */
  readonly closedByWrongEndpointIsFatal?: boolean;
}

/** One frame the fuzzer writes. Anything goes: reserved opcodes, RSV bits, oversized control frames. */
export interface FrameStep {
  readonly do: 'frame';
  readonly opcode: number;
  readonly payload?: Buffer | string;
  /** Default true. */
  readonly fin?: boolean;
  /** The three RSV bits as a number 0-7. */
  readonly rsv?: number;
  /** Repeat `payload` until the frame carries exactly this many bytes (Autobahn's payload_len). */
  readonly repeatTo?: number;
  /** Write the frame in TCP chunks of this many bytes, yielding to the event loop between chunks. */
  readonly chop?: number;
  /** Write the frame on its own, after the writes before it have gone out (Autobahn's sync=True). */
  readonly sync?: boolean;
  /** With `chop`: pause this long between chunks (default: one event-loop turn, like Autobahn's 10 µs). */
  readonly chopDelayMs?: number;
}

/** A whole message, optionally split into frames of `fragmentSize` bytes (Autobahn's sendMessage). */
export interface MessageStep {
  readonly do: 'message';
  readonly payload: Buffer | string;
  readonly binary: boolean;
  readonly fragmentSize?: number;
  /** Repeat `payload` to this many bytes before fragmenting. */
  readonly repeatTo?: number;
}

/** Start one frame whose payload follows in `frameData` steps (Autobahn's beginMessageFrame). */
export interface BeginFrameStep {
  readonly do: 'beginFrame';
  readonly opcode: number;
  readonly length: number;
  readonly fin: boolean;
}

/** Continue the frame started by `beginFrame`, masked with that frame's key. */
export interface FrameDataStep {
  readonly do: 'frameData';
  readonly data: Buffer | string;
}

/** Start the closing handshake the polite way (Autobahn's sendClose: only valid codes). */
export interface CloseStep {
  readonly do: 'close';
  readonly code?: number;
  readonly reason?: string;
}

/** Send a close frame with any payload at all, and enter CLOSING (Autobahn's sendCloseFrame). */
export interface CloseFrameStep {
  readonly do: 'closeFrame';
  readonly code?: number;
  readonly reason?: Buffer | string;
}

/** Fail the connection this many seconds from now unless it is gone already. */
export interface KillAfterStep {
  readonly do: 'killAfter';
  readonly seconds: number;
}

/** Start a closing handshake (no code) this many seconds from now unless closed already. */
export interface CloseAfterStep {
  readonly do: 'closeAfter';
  readonly seconds: number;
}

/**
 * Pause the step list (Autobahn's continueLater). With a tag the remaining steps
 * run only if the connection is still OPEN, and a `timeout` event with that tag
 * is recorded first (the 6.4.x pattern); without a tag they run unless the
 * connection is CLOSED.
 */
export interface WaitStep {
  readonly do: 'wait';
  readonly seconds: number;
  readonly tag?: string;
}

export type Step =
  | FrameStep
  | MessageStep
  | BeginFrameStep
  | FrameDataStep
  | CloseStep
  | CloseFrameStep
  | KillAfterStep
  | CloseAfterStep
  | WaitStep;

/**
 * Group 9 cases do not compare event lists: they time one echo (or a run of
 * round trips) and close. Their behavior starts FAILED and turns OK when the
 * echo arrives with the right type and length.
 */
export type PerformanceSpec =
  | {
      readonly kind: 'echo-once';
      readonly binary: boolean;
      readonly length: number;
      /** The byte pattern repeated to `length`. */
      readonly pattern: Buffer;
      /** Send as fragments of this size (9.3, 9.4). */
      readonly fragmentSize?: number;
      /** Write the single frame in TCP chunks of this size (9.5, 9.6). */
      readonly chop?: number;
      /** Autobahn closes (and the case fails) if the echo has not come back by then. */
      readonly waitSecs: number;
    }
  | {
      readonly kind: 'round-trips';
      readonly binary: boolean;
      readonly length: number;
      readonly count: number;
      readonly waitSecs: number;
    };

/**
 * Groups 12 and 13 (permessage-deflate): offer deflate, then send COUNT
 * messages of LEN bytes cut from a test data file one at a time (each when
 * the previous echo has come back), compressed and auto-fragmented, and
 * compare every echo (type, length, SHA-1). OK when all came back in time;
 * UNIMPLEMENTED when the server did not accept deflate.
 */
export interface CompressionSpec {
  /** The offers, in order of preference (Autobahn's CLIENT_OFFERS). */
  readonly offers: readonly DeflateOffer[];
  /** The test data file the messages are cut from. */
  readonly data: DataSetName;
  /** Bytes per message (LEN). */
  readonly length: number;
  /** Messages to send (COUNT). */
  readonly count: number;
  /** Autobahn closes (and the case fails) if not done by then (WAITSECS). */
  readonly waitSecs: number;
  /** Split the compressed payload into frames of this size; 0 = one frame (AUTOFRAGSIZE). */
  readonly autoFragmentSize: number;
}

export interface CaseDef {
  /** Autobahn's case id, e.g. '6.4.3'. */
  readonly id: string;
  readonly description: string;
  readonly expectation: string;
  /** Event sequences per verdict; absent for group 9. */
  readonly expected: Partial<Record<ExpectedOutcome, readonly CaseEvent[]>>;
  readonly expectedClose: ExpectedClose;
  /** Run in order once the opening handshake is done. */
  readonly steps: readonly Step[];
  /** Do not start the closing handshake when the expected events have arrived. */
  readonly suppressClose?: boolean;
  /** Group 7: a close code outside `closeCode` also fails the case itself. */
  readonly wrongCodeFails?: boolean;
  /** 7.1.6 and 7.13.x: both verdicts are INFORMATIONAL whatever happens. */
  readonly informational?: boolean;
  /** Group 9 timing cases. */
  readonly performance?: PerformanceSpec;
  /** Groups 12 and 13, permessage-deflate. */
  readonly compression?: CompressionSpec;
  /** 10.1.1: the message we send must go out as exactly this many frames (checks the fuzzer itself). */
  readonly expectTxFrames?: { readonly text: number; readonly continuation: number };
}

/** Everything the judge decided about one case run. */
export interface CaseResult {
  readonly id: string;
  readonly description: string;
  readonly behavior: Behavior;
  readonly behaviorClose: CloseBehavior;
  /** Why the behavior verdict is what it is. */
  readonly result: string;
  /** Why the close verdict is what it is. */
  readonly resultClose: string;
  readonly durationMs: number;
  readonly received: readonly string[];
  readonly expected: Partial<Record<ExpectedOutcome, readonly string[]>>;
  readonly closedByMe: boolean;
  readonly failedByMe: boolean;
  readonly droppedByMe: boolean;
  readonly wasClean: boolean;
  readonly wasNotCleanReason: string | null;
  readonly localCloseCode: number | null;
  readonly remoteCloseCode: number | null;
  readonly remoteCloseReason: string | null;
  /** Observations that do not change the verdict (e.g. a mirror safety timeout). */
  readonly notes: readonly string[];
  /** Wire log, kept for cases that did not end OK/OK (or all, with traceAll). */
  readonly trace?: readonly string[];
}
