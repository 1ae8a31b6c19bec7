/**
 * The turn scheduler (src/connection/turn-scheduler.ts): the queue of
 * connections with input kept back, and the input slice of each turn of
 * the event loop.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setImmediate as nextLoopTurn } from 'node:timers/promises';
import { POLL_SLICE_MS, TURN_SLICE_MS, awaitTurn, chargeInputTime, currentEpoch, inputSliceSpent } from '../../src/connection/turn-scheduler.js';

const T = { timeout: 10_000 };

test('the input slice: spent once a turn of the loop has charged POLL_SLICE_MS of input, whole again on the next turn', T, async () => {
  await nextLoopTurn(); // start from a fresh turn
  const epoch = currentEpoch();
  assert.equal(inputSliceSpent(), false);
  chargeInputTime(POLL_SLICE_MS / 2);
  assert.equal(inputSliceSpent(), false, 'half the slice');
  chargeInputTime(POLL_SLICE_MS / 2);
  assert.equal(inputSliceSpent(), true, 'the whole slice');
  await nextLoopTurn();
  await nextLoopTurn();
  assert.ok(currentEpoch() > epoch, 'the epoch moved on');
  assert.equal(inputSliceSpent(), false, 'a new turn of the loop has its own slice');
});

test('the queue: takers get their turns in arrival order, a few milliseconds of them per turn of the loop', T, async () => {
  const order: number[] = [];
  const turnsOfLoop: number[] = [];
  let loopTurn = 0;
  const ticking = setInterval(() => loopTurn++, 0);
  // Each taker works 1 ms: at most about TURN_SLICE_MS of them per turn of the loop.
  const busy = (ms: number) => {
    const end = performance.now() + ms;
    while (performance.now() < end);
  };
  for (let i = 0; i < 12; i++) {
    awaitTurn({
      takeTurn() {
        order.push(i);
        turnsOfLoop.push(loopTurn);
        busy(1);
      },
    });
  }
  while (order.length < 12) await nextLoopTurn();
  clearInterval(ticking);
  assert.deepEqual(order, [...Array(12).keys()], 'first come, first served');
  const perTurn = new Map<number, number>();
  for (const t of turnsOfLoop) perTurn.set(t, (perTurn.get(t) ?? 0) + 1);
  assert.ok(Math.max(...perTurn.values()) <= TURN_SLICE_MS + 1, `at most ${TURN_SLICE_MS + 1} one-millisecond turns per turn of the loop, got ${[...perTurn.values()]}`);
});
