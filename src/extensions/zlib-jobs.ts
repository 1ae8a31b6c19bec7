/**
 * A process-wide bound on zlib work running off the event loop.
 *
 * Large permessage-deflate messages are compressed and inflated on libuv's
 * thread pool (node:zlib's asynchronous calls), so the event loop stays free
 * for every other connection. The pool is shared with fs and dns and has 4
 * threads by default (UV_THREADPOOL_SIZE): a flood of large compressed
 * messages must not occupy all of it, nor pile up an unbounded number of
 * jobs inside zlib. Jobs beyond MAX_CONCURRENT_ZLIB_JOBS wait here, in
 * arrival order. Each connection has at most one job per direction (its
 * messages stay in order), so the waiting list holds at most two entries per
 * connection.
 */
import { availableParallelism } from 'node:os';

/**
 * zlib jobs running at once, across the whole process: one core's worth less
 * than the machine has (the event loop keeps one), at least 1, at most the
 * thread pool's default 4 threads.
 */
export const MAX_CONCURRENT_ZLIB_JOBS = Math.max(1, Math.min(4, availableParallelism() - 1));

/** A job starts its zlib call and calls `finished()` exactly once when it completes (or at once if it has nothing left to do). */
export type ZlibJob = (finished: () => void) => void;

let running = 0;
let waiting: ZlibJob[] = [];
let waitingHead = 0;
/** A loop in startWaitingJobs() is under way (a job that finishes at once must not start a nested one). */
let starting = false;

/** Run `job` now if a slot is free, else when one frees up. */
export function runZlibJob(job: ZlibJob): void {
  waiting.push(job);
  startWaitingJobs();
}

function jobFinished(): void {
  running--;
  startWaitingJobs();
}

function startWaitingJobs(): void {
  if (starting) return;
  starting = true;
  while (running < MAX_CONCURRENT_ZLIB_JOBS && waitingHead < waiting.length) {
    const next = waiting[waitingHead];
    waiting[waitingHead++] = undefined as unknown as ZlibJob;
    if (waitingHead === waiting.length) {
      waiting = [];
      waitingHead = 0;
    }
    running++;
    next(jobFinished);
  }
  starting = false;
}
