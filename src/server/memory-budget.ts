/**
 * The server's memory budget: one bound on the bytes all its connections
 * hold at once, whatever their peers do.
 *
 * Each connection's own limits (maxMessageSize, the write pause, the send
 * stall deadline) bound what one peer can make us hold; a thousand hostile
 * peers each staying just under them could still pin gigabytes. So every
 * connection reports what it holds (a message being received, input kept
 * back, output the kernel has not taken, messages queued for `for await`),
 * and while the total is over `memoryBudget`:
 * - the heaviest connections (holding at least the average of those that
 *   hold anything) stop being read, and so does any connection that grows
 *   past that mark meanwhile: no peer can add to the total;
 * - new upgrades are refused with 503 (`Retry-After`), before any hook runs.
 * Once the total falls to three quarters of the budget (peers read what we
 * sent, messages complete, connections close or are closed by their own
 * deadlines), every paused connection is read again and upgrades are
 * accepted. Paused connections holding half-received messages could keep the
 * total up forever, so if it stays over the budget for `shedAfterMs` (the
 * server's sendStallTimeout), the heaviest connection is closed with 1013
 * (Try Again Later) and dropped, and so on every `shedAfterMs` until the
 * total falls back.
 *
 * The budget counts what the library buffers, not what the application keeps
 * (a message it stores, closures of its own), nor kernel socket buffers.
 */
import type { WebSocketConnection } from '../connection/websocket-connection.js';

/** Reading resumes and upgrades are accepted again once the total falls to this fraction of the budget. */
const RESUME_FRACTION = 0.75;

/** The bytes all of a server's connections hold, against its `memoryBudget` option (`server.memoryBudget.used`). */
export class MemoryBudget {
  /** The budget, in bytes. */
  readonly limit: number;
  /** Bytes all connections report holding now. */
  private total = 0;
  private exceeded = false;
  /** While over the budget: connections holding at least this many bytes are paused. */
  private heavyMark = 0;
  private readonly paused = new Set<WebSocketConnection<unknown>>();
  private readonly connections: () => Iterable<WebSocketConnection<unknown>>;
  /** ms over the budget before the heaviest connection is shed (0: never). */
  private readonly shedAfterMs: number;
  private shedTimer: NodeJS.Timeout | undefined;

  /** @internal `connections` lists the live connections (scanned each time the budget is exceeded, and at each shedding). */
  constructor(limit: number, connections: () => Iterable<WebSocketConnection<unknown>>, shedAfterMs: number) {
    this.limit = limit;
    this.connections = connections;
    this.shedAfterMs = shedAfterMs;
  }

  /** Bytes held by all connections now. */
  get used(): number {
    return this.total;
  }

  /** True while over the budget (new upgrades get 503). */
  get isExceeded(): boolean {
    return this.exceeded;
  }

  /** Connections not being read because of the budget. */
  get pausedCount(): number {
    return this.paused.size;
  }

  /** @internal A connection now holds `held` bytes, `delta` more than at its last report (0 when it closed). */
  change(connection: WebSocketConnection<unknown>, delta: number, held: number): void {
    this.total += delta;
    if (!this.exceeded) {
      if (this.total > this.limit) this.overBudget();
      return;
    }
    if (this.total <= this.limit * RESUME_FRACTION) {
      this.backUnderBudget();
    } else if (delta > 0 && held >= this.heavyMark) {
      this.pause(connection);
    } else if (held === 0) {
      this.paused.delete(connection); // closed
    }
  }

  private overBudget(): void {
    this.exceeded = true;
    // One scan per crossing: pause every connection holding at least the
    // average of those holding anything.
    let holders = 0;
    let sum = 0;
    for (const connection of this.connections()) {
      const held = connection.reportedHeldBytes;
      if (held > 0) {
        holders++;
        sum += held;
      }
    }
    this.heavyMark = holders === 0 ? 0 : sum / holders;
    for (const connection of this.connections()) {
      if (connection.reportedHeldBytes > 0 && connection.reportedHeldBytes >= this.heavyMark) this.pause(connection);
    }
    this.armShedding();
  }

  private armShedding(): void {
    if (this.shedAfterMs <= 0 || this.shedTimer !== undefined) return;
    this.shedTimer = setTimeout(() => this.shedHeaviest(), this.shedAfterMs);
    this.shedTimer.unref();
  }

  /** Still over the budget after shedAfterMs: close the connection holding the most (1013), and look again later. */
  private shedHeaviest(): void {
    this.shedTimer = undefined;
    if (!this.exceeded) return;
    let heaviest: WebSocketConnection<unknown> | undefined;
    for (const connection of this.connections()) {
      if (heaviest === undefined || connection.reportedHeldBytes > heaviest.reportedHeldBytes) heaviest = connection;
    }
    heaviest?.shedForMemoryBudget();
    if (this.exceeded) this.armShedding();
  }

  private pause(connection: WebSocketConnection<unknown>): void {
    if (this.paused.has(connection)) return;
    this.paused.add(connection);
    connection.setPausedForBudget(true);
  }

  private backUnderBudget(): void {
    this.exceeded = false;
    clearTimeout(this.shedTimer);
    this.shedTimer = undefined;
    for (const connection of this.paused) connection.setPausedForBudget(false);
    this.paused.clear();
  }
}
