/**
 * Wait until `predicate()` holds. `wakers` is the caller's set of callbacks it
 * runs whenever something arrives; the check joins it until it succeeds or
 * `timeoutMs` passes (then the promise rejects with `describeTimeout()`).
 */
export function waitUntil(wakers: Set<() => void>, predicate: () => boolean, timeoutMs: number, describeTimeout: () => string): Promise<void> {
  if (predicate()) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const check = (): void => {
      if (!predicate()) return;
      clearTimeout(timer);
      wakers.delete(check);
      resolve();
    };
    const timer = setTimeout(() => {
      wakers.delete(check);
      reject(new Error(describeTimeout()));
    }, timeoutMs);
    wakers.add(check);
  });
}
