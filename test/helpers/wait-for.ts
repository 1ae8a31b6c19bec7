/**
 * Bounded waits for tests. A test that waits for something must fail, naming
 * what it waited for, when that never happens: never hang the suite.
 *
 * - `withTimeout(promise, { what })`: await an event you have a promise for
 *   (`once(socket, 'close')`, a handler's promise). Prefer this.
 * - `waitFor(condition, { what })`: poll state that no event announces
 *   (a count reaching n, a variable a handler sets), every few milliseconds.
 *
 * Neither replaces an observation window ("nothing happens within 50 ms"):
 * absence cannot be awaited, so such tests keep their explicit delay.
 */

export interface WaitOptions {
  /** What is awaited, for the failure message: "timed out after 5000 ms waiting for <what>". */
  what: string | (() => string);
  /** ms before giving up. Default 5 000. */
  timeout?: number;
}

export interface PollOptions extends WaitOptions {
  /** ms between two checks. Default 5. */
  interval?: number;
}

export const DEFAULT_WAIT_MS = 5_000;

function timedOut(options: WaitOptions, timeout: number): Error {
  const what = typeof options.what === 'function' ? options.what() : options.what;
  return new Error(`timed out after ${timeout} ms waiting for ${what}`);
}

/** Resolve with `promise`, or reject once `timeout` ms passed without it settling. */
export function withTimeout<T>(promise: Promise<T>, options: WaitOptions): Promise<T> {
  const timeout = options.timeout ?? DEFAULT_WAIT_MS;
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(timedOut(options, timeout)), timeout);
  });
  return Promise.race([promise, expired]).finally(() => clearTimeout(timer));
}

/**
 * Resolve with the first truthy value `condition()` returns, checking at once
 * and then every `interval` ms; reject once `timeout` ms passed. An exception
 * thrown by `condition` rejects at once.
 */
export async function waitFor<T>(condition: () => T, options: PollOptions): Promise<NonNullable<T>> {
  const timeout = options.timeout ?? DEFAULT_WAIT_MS;
  const interval = options.interval ?? 5;
  const deadline = performance.now() + timeout;
  for (;;) {
    const value = condition();
    if (value) return value as NonNullable<T>;
    if (performance.now() >= deadline) throw timedOut(options, timeout);
    await new Promise((resolve) => setTimeout(resolve, interval));
  }
}
