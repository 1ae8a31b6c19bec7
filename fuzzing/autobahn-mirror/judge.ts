/**
 * Autobahn's judging rules (autobahntestsuite/case/case.py), restated.
 *
 * Behavior: the events received are compared with each expected sequence;
 * the first exact match names the verdict (OK or NON-STRICT). No match is
 * FAILED. Group 9 decides its own behavior (see runner.ts).
 *
 * behaviorClose, checked in this order once TCP is gone:
 *   1. the handshake never completed                   -> FAILED
 *   2. the wrong side sent the first close frame       -> FAILED
 *   3. a clean close was required and did not happen   -> UNCLEAN
 *      (clean: close frames crossed and the server dropped TCP within 1 s)
 *   4. the server's close code is not an expected one  -> WRONG CODE
 *      (a close frame without a code is accepted)
 *   5. we, the client, had to drop TCP                 -> FAILED BY CLIENT
 *      ("It is preferred that the server close the TCP connection")
 *   6. otherwise                                       -> OK
 * Then: for UTF-8 cases (closedByWrongEndpointIsFatal) a close by the wrong
 * side fails the behavior too; group 7 cases turn WRONG CODE into a failed
 * behavior; 7.1.6 and 7.13.x are INFORMATIONAL whatever happened.
 *
 * finishWhenDone: as soon as the events received equal *every* expected
 * sequence (in practice: a case with a single expectation whose events have
 * all arrived), the fuzzer starts the closing handshake with the first
 * expected code, unless the case suppresses that.
 */
import type { Behavior, CaseDef, CaseEvent, CloseBehavior, ExpectedOutcome } from './case-types.js';
import type { FuzzingClient } from './client.js';

export function sameEvents(a: readonly CaseEvent[], b: readonly CaseEvent[]): boolean {
  if (a.length !== b.length) return false;
  return a.every((x, i) => sameEvent(x, b[i]));
}

function sameEvent(a: CaseEvent, b: CaseEvent): boolean {
  if (a.type !== b.type) return false;
  switch (a.type) {
    case 'message':
      return b.type === 'message' && a.binary === b.binary && a.payload.equals(b.payload);
    case 'pong':
      return b.type === 'pong' && a.payload.equals(b.payload);
    case 'timeout':
      return b.type === 'timeout' && a.tag === b.tag;
  }
}

/** Order in which expected outcomes are tried (Python dicts kept insertion order: OK first). */
const OUTCOME_ORDER: readonly ExpectedOutcome[] = ['OK', 'NON-STRICT'];

/** True when every expected sequence equals what has been received (Autobahn's finishWhenDone test). */
export function allExpectationsMet(def: CaseDef, received: readonly CaseEvent[]): boolean {
  const lists = OUTCOME_ORDER.map((o) => def.expected[o]).filter((l): l is readonly CaseEvent[] => l !== undefined);
  return lists.length > 0 && lists.every((l) => sameEvents(received, l));
}

export interface Verdict {
  behavior: Behavior;
  behaviorClose: CloseBehavior;
  result: string;
  resultClose: string;
}

/**
 * The verdict once the connection is lost. `performance` carries group 9's
 * own behavior decision (its expected map is empty).
 */
export function judge(
  def: CaseDef,
  received: readonly CaseEvent[],
  client: FuzzingClient,
  performance?: { behavior: Behavior; result: string },
): Verdict {
  const v: Verdict = {
    behavior: 'FAILED',
    behaviorClose: 'FAILED',
    result: 'Actual events differ from any expected.',
    resultClose: 'TCP connection was dropped without close handshake',
  };

  if (performance !== undefined) {
    v.behavior = performance.behavior;
    v.result = performance.result;
  } else {
    for (const outcome of OUTCOME_ORDER) {
      const list = def.expected[outcome];
      if (list !== undefined && sameEvents(received, list)) {
        v.behavior = outcome;
        v.result = 'Actual events match at least one expected.';
        break;
      }
    }
  }

  const ec = def.expectedClose;
  if (!client.connectionWasOpen) {
    v.behaviorClose = 'FAILED';
    v.resultClose = 'The WebSocket opening handshake was never completed!';
  } else {
    if (ec.closedByMe !== client.closedByMe) {
      v.behaviorClose = 'FAILED';
      v.resultClose = 'The connection was failed by the wrong endpoint';
    } else if (ec.requireClean && !client.wasClean) {
      v.behaviorClose = 'UNCLEAN';
      v.resultClose = `The spec requires the connection to be failed cleanly here (${client.wasNotCleanReason ?? 'not clean'})`;
    } else if (client.remoteCloseCode !== null && !ec.closeCode.includes(client.remoteCloseCode)) {
      v.behaviorClose = 'WRONG CODE';
      v.resultClose = `The close code should have been ${ec.closeCode.join(',')} or empty`;
    } else if (client.droppedByMe) {
      v.behaviorClose = 'FAILED BY CLIENT';
      v.resultClose = 'It is preferred that the server close the TCP connection';
    } else {
      v.behaviorClose = 'OK';
      v.resultClose = 'Connection was properly closed';
    }
    if (ec.closedByWrongEndpointIsFatal === true && ec.closedByMe !== client.closedByMe) {
      v.behavior = 'FAILED';
    }
  }

  if (def.wrongCodeFails === true && v.behaviorClose === 'WRONG CODE') {
    v.behavior = 'FAILED';
    v.result = v.resultClose;
  }

  if (def.expectTxFrames !== undefined && client.connectionWasOpen) {
    const got = { text: client.txFrames.get(1) ?? 0, continuation: client.txFrames.get(0) ?? 0 };
    if (got.text !== def.expectTxFrames.text || got.continuation !== def.expectTxFrames.continuation) {
      v.behavior = 'FAILED';
      v.result = `Frames transmitted ${JSON.stringify(got)} do not match what we expected ${JSON.stringify(def.expectTxFrames)}.`;
    }
  }

  if (def.informational === true) {
    // 7.1.6 tells which way the race went; 7.13.x only that the spec is silent.
    const race = def.expected['NON-STRICT'] !== undefined;
    if (!race) v.result = 'Actual events are undefined by the spec.';
    else if (v.behavior === 'OK') v.result = 'Text message was processed before close.';
    else if (v.behavior === 'NON-STRICT') v.result = 'Close was processed before text message could be returned.';
    v.behavior = 'INFORMATIONAL';
    v.behaviorClose = 'INFORMATIONAL';
  }
  return v;
}

/** Verdicts that count against the server: what the Autobahn report paints red. */
export function isFailure(r: { behavior: Behavior; behaviorClose: CloseBehavior }): boolean {
  return r.behavior === 'FAILED' || r.behavior === 'UNIMPLEMENTED' || r.behaviorClose === 'FAILED' || r.behaviorClose === 'UNCLEAN';
}

/** One line per event for reports: `message text 13 B "Hello, world!"`. */
export function describeEvent(e: CaseEvent): string {
  switch (e.type) {
    case 'timeout':
      return `timeout ${e.tag}`;
    case 'pong':
      return `pong ${e.payload.length} B ${preview(e.payload, false)}`;
    case 'message':
      return `message ${e.binary ? 'binary' : 'text'} ${e.payload.length} B ${preview(e.payload, e.binary)}`;
  }
}

function preview(payload: Buffer, binary: boolean): string {
  const max = 32;
  const head = payload.subarray(0, max);
  const more = payload.length > max ? '…' : '';
  if (!binary) {
    const text = head.toString('utf8');
    if (!text.includes('\ufffd')) return JSON.stringify(text + more);
  }
  return `0x${head.toString('hex')}${more}`;
}
