/**
 * Turns of the event loop, shared fairly by the connections that have more
 * input than one turn's budget.
 *
 * A connection whose input used up its turn budget (see WebSocketProtocol)
 * stops reading and joins this queue. Once per turn of the event loop, after
 * the poll phase has served every socket with data (new connections, light
 * traffic), the queue hands out fresh budgets in arrival order, for at most
 * TURN_SLICE_MS in all; whoever is not reached waits for the next turn. So
 * however many connections flood the server, each turn of the loop spends
 * a few milliseconds on them, and a light connection, which never exhausts
 * its budget, is never queued behind them.
 *
 * `epoch` counts turns of the event loop (it advances in the check phase
 * after any input): a light connection starts a fresh budget once per turn.
 *
 * The poll phase is shared too. Each connection's budget bounds its own
 * turn, but a hundred connections with data in the same turn of the loop
 * would each spend a whole budget before the loop got round to anything
 * else (a probe's handshake waited 300 ms behind a hundred ping flooders,
 * 2 s behind twenty 16 MiB senders). So the time spent on input is counted
 * per turn of the loop, and once it passes POLL_SLICE_MS a connection that
 * reads is cut short: a light one to SMALL_TURN units (a handshake's worth,
 * a few small messages), a heavy one (it used up a budget lately) to none,
 * its input kept for the queue. Light traffic never notices: it spends far
 * less than the slice.
 */

/** What the queue resumes: a connection with input kept back. */
export interface TurnTaker {
  /** Start a new turn: a fresh budget, then the input kept back. */
  takeTurn(): void;
}

/** How long one turn of the event loop may spend on queued connections. */
export const TURN_SLICE_MS = 2;

let queue: TurnTaker[] = [];
let head = 0;
let scheduled = false;

/** How long one turn of the event loop may spend on input before every connection's turn is cut short. */
export const POLL_SLICE_MS = 2;
/** What is left of a light connection's turn once the loop's input slice is spent, in work units. */
export const SMALL_TURN = 32;

let epoch = 0;
let epochAdvanceScheduled = false;
/** Milliseconds spent on input in this turn of the loop. */
let inputTime = 0;

/** Queue `taker` for a turn (once: the caller keeps track of whether it is queued). */
export function awaitTurn(taker: TurnTaker): void {
  queue.push(taker);
  if (!scheduled) {
    scheduled = true;
    setImmediate(runTurns);
  }
}

function runTurns(): void {
  scheduled = false;
  // Those queued during this run (a connection that used up its new budget
  // at once) wait for the next turn of the loop.
  const end = queue.length;
  const deadline = performance.now() + TURN_SLICE_MS;
  while (head < end) {
    const taker = queue[head];
    queue[head++] = undefined as unknown as TurnTaker;
    taker.takeTurn();
    if (performance.now() >= deadline) break;
  }
  if (head === queue.length) {
    queue = [];
    head = 0;
  } else {
    if (head > 1024 && head * 2 > queue.length) {
      queue = queue.slice(head);
      head = 0;
    }
    if (!scheduled) {
      scheduled = true;
      setImmediate(runTurns);
    }
  }
}

/** The current turn of the event loop (a number that changes once per turn in which there was input). */
export function currentEpoch(): number {
  if (!epochAdvanceScheduled) {
    epochAdvanceScheduled = true;
    setImmediate(advanceEpoch);
  }
  return epoch;
}

/** Count `milliseconds` of input processing against this turn of the loop. */
export function chargeInputTime(milliseconds: number): void {
  inputTime += milliseconds;
}

/** This turn of the loop has spent its share on input: connections that read now get SMALL_TURN more units at most. */
export function inputSliceSpent(): boolean {
  return inputTime >= POLL_SLICE_MS;
}

function advanceEpoch(): void {
  epochAdvanceScheduled = false;
  epoch++;
  inputTime = 0;
}
