/**
 * The primary's side of the cluster backplane: it tracks which topics each
 * worker holds (from their subscribe/unsubscribe messages) and forwards each
 * publish to the workers that hold its topic — never back to the sender,
 * which already delivered it to its own subscribers.
 *
 * Bounded memory: `worker.send()` returning false means that worker's channel
 * is backed up; the messages not yet written to it are counted, and beyond
 * `maxPendingPerWorker` a message for that worker is dropped (delivery is at
 * most once) and counted in `dropped`, rather than queued without end.
 */
import type { Worker } from 'node:cluster';
import { isClusterMessage, type PrimaryToWorker } from './ipc-messages.js';

export const DEFAULT_MAX_PENDING_PER_WORKER = 4096;

export class PrimaryRelay {
  private readonly topicsOf = new Map<Worker, Set<string>>();
  private readonly pendingOf = new Map<Worker, number>();
  /** Messages not forwarded because a worker's channel was backed up past the bound. */
  dropped = 0;

  constructor(private readonly maxPendingPerWorker = DEFAULT_MAX_PENDING_PER_WORKER) {}

  /** Start relaying for `worker` (call right after fork). */
  add(worker: Worker): void {
    this.topicsOf.set(worker, new Set());
    this.pendingOf.set(worker, 0);
    worker.on('message', (value: unknown) => this.onMessage(worker, value));
    worker.once('exit', () => this.remove(worker));
  }

  /** Forget `worker` and its topics. */
  remove(worker: Worker): void {
    this.topicsOf.delete(worker);
    this.pendingOf.delete(worker);
  }

  /** The topics `worker` holds (for tests and diagnostics). */
  topics(worker: Worker): ReadonlySet<string> {
    return this.topicsOf.get(worker) ?? new Set();
  }

  private onMessage(sender: Worker, value: unknown): void {
    if (!isClusterMessage(value)) return;
    const topics = this.topicsOf.get(sender);
    if (topics === undefined) return;
    switch (value.wsrfc) {
      case 'subscribe':
        topics.add(value.topic);
        return;
      case 'unsubscribe':
        topics.delete(value.topic);
        return;
      case 'publish': {
        const deliver: PrimaryToWorker = { wsrfc: 'deliver', topic: value.topic, message: value.message };
        for (const [worker, held] of this.topicsOf) {
          if (worker !== sender && held.has(value.topic)) this.forward(worker, deliver);
        }
        return;
      }
      default:
        return;
    }
  }

  private forward(worker: Worker, message: PrimaryToWorker): void {
    const pending = this.pendingOf.get(worker) ?? 0;
    if (pending >= this.maxPendingPerWorker || !worker.isConnected()) {
      this.dropped += 1;
      return;
    }
    this.pendingOf.set(worker, pending + 1);
    const written = (): void => {
      const now = this.pendingOf.get(worker);
      if (now !== undefined) this.pendingOf.set(worker, now - 1);
    };
    try {
      worker.send(message, undefined, written);
    } catch {
      written();
      this.dropped += 1;
    }
  }
}
