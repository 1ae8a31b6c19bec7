/**
 * The queue between a connection and the code that takes its messages:
 * `receive()` calls and the `for await` loop take from the one queue, so
 * that each message goes to exactly one taker, in arrival order.
 *
 * Cancellation safety. A message leaves the queue only at the moment it is
 * handed to a taker, synchronously, and a taker that gives up (its timeout
 * fired, its signal aborted) is first taken out of the line: a timeout or
 * an abort removes a waiter, never a message. Racing a timer against
 * `iterator.next()` from the outside cannot give that guarantee (the
 * message can resolve a promise nobody reads any more); `receive({ timeout,
 * signal })` does, because both ends of the race are decided here.
 *
 * Takers are served in call order (a for-await loop's pending next() is one
 * taker among the others). Flow control: past PAUSE_BYTES bytes or
 * PAUSE_COUNT messages queued, `onPressure(true)` asks the connection to
 * stop reading; once the queue is drained to half of both, `onPressure(false)`.
 */
import { LocalError } from '../errors.js';

/** How long receive() waits and what can cancel it. */
export interface ReceiveOptions {
  /** ms to wait for a message before rejecting with a LocalError `WS_ERR_RECEIVE_TIMEOUT` (default: no limit). The message, when it comes, stays queued. */
  timeout?: number;
  /** Aborting rejects the wait with the signal's reason (an AbortError by default); no message is taken. */
  signal?: AbortSignal;
}

/** Reading pauses while more than this many message bytes wait in the queue... */
export const QUEUE_PAUSE_BYTES = 1024 * 1024;
/** ...or this many messages. */
export const QUEUE_PAUSE_COUNT = 1024;

/** One caller waiting for a message. */
interface Taker<T> {
  deliver(message: T): void;
  /** No message will come: the queue ended (with the error receive() rejects with). */
  finish(error: Error): void;
}

/**
 * Shared empty arrays: a queue holds arrays of its own only while something
 * is queued or waits (most connections, idle, never do). Never written to.
 */
const NONE: never[] = [];

export class MessageQueue<T> {
  private items: T[] = NONE;
  private head = 0;
  private sizes: number[] = NONE;
  private bytes = 0;
  private takers: Taker<T>[] = NONE;
  private paused = false;
  /** Set once no more messages will arrive: the error a taker that finds the queue empty gets. */
  private endError: (() => Error) | null = null;

  constructor(private readonly onPressure: (paused: boolean) => void) {}

  /** Messages queued, not yet taken. */
  get length(): number {
    return this.items.length - this.head;
  }

  /** Bytes of the messages queued (what they hold in memory, roughly). */
  get queuedBytes(): number {
    return this.bytes;
  }

  /** Someone waits for a message (receive(), or a for-await loop's next()). */
  get hasTakers(): boolean {
    return this.takers.length > 0;
  }

  /** A message arrived: to the first waiting taker, else into the queue. */
  push(message: T, size: number): void {
    const taker = this.takers.shift();
    if (taker !== undefined) {
      taker.deliver(message);
      return;
    }
    if (this.items === NONE) {
      this.items = [];
      this.sizes = [];
    }
    this.items.push(message);
    this.sizes.push(size);
    this.bytes += size;
    if (!this.paused && (this.bytes > QUEUE_PAUSE_BYTES || this.length > QUEUE_PAUSE_COUNT)) {
      this.paused = true;
      this.onPressure(true);
    }
  }

  /**
   * No more messages will arrive: the takers waiting now, and those that
   * come once the queue is drained, get `error()` (a for-await loop ends).
   * Messages already queued are still taken first.
   */
  end(error: () => Error): void {
    if (this.endError !== null) return;
    this.endError = error;
    const takers = this.takers;
    this.takers = NONE;
    for (const taker of takers) taker.finish(error());
  }

  /** The next message; rejects as ReceiveOptions says, or with the end error once the queue is drained and ended. */
  take(options: ReceiveOptions = {}): Promise<T> {
    const { timeout, signal } = options;
    if (timeout !== undefined && !(typeof timeout === 'number' && timeout >= 0 && timeout <= 2 ** 31 - 1)) {
      return Promise.reject(new LocalError('WS_ERR_INVALID_ARGUMENT', `receive(): timeout must be a number of ms from 0 to ${2 ** 31 - 1}, got ${String(timeout)}`));
    }
    if (signal?.aborted) return Promise.reject(signal.reason);
    if (this.length > 0) return Promise.resolve(this.shift());
    if (this.endError !== null) return Promise.reject(this.endError());
    return new Promise<T>((resolve, reject) => {
      let timer: NodeJS.Timeout | undefined;
      const settle = (): void => {
        if (timer !== undefined) clearTimeout(timer);
        signal?.removeEventListener('abort', aborted);
      };
      const taker: Taker<T> = {
        deliver: (message) => {
          settle();
          resolve(message);
        },
        finish: (error) => {
          settle();
          reject(error);
        },
      };
      // Giving up takes the taker out of the line first: no message can reach it afterwards.
      const giveUp = (error: unknown): void => {
        const index = this.takers.indexOf(taker);
        if (index < 0) return; // already served or finished
        this.takers.splice(index, 1);
        settle();
        reject(error);
      };
      const aborted = (): void => giveUp(signal!.reason);
      if (timeout !== undefined) {
        timer = setTimeout(() => giveUp(new LocalError('WS_ERR_RECEIVE_TIMEOUT', `receive(): no message within ${timeout} ms`)), timeout);
      }
      signal?.addEventListener('abort', aborted, { once: true });
      this.addTaker(taker);
    });
  }

  /** For a for-await loop: the next message, or done once the queue is drained and ended. */
  next(): Promise<IteratorResult<T, undefined>> {
    if (this.length > 0) return Promise.resolve({ value: this.shift(), done: false });
    if (this.endError !== null) return Promise.resolve({ value: undefined, done: true });
    return new Promise((resolve) => {
      this.addTaker({
        deliver: (message) => resolve({ value: message, done: false }),
        finish: () => resolve({ value: undefined, done: true }),
      });
    });
  }

  private addTaker(taker: Taker<T>): void {
    if (this.takers === NONE) this.takers = [];
    this.takers.push(taker);
  }

  private shift(): T {
    const message = this.items[this.head];
    const size = this.sizes[this.head];
    this.items[this.head] = undefined as T;
    this.head++;
    this.bytes -= size;
    if (this.head === this.items.length) {
      this.items = NONE;
      this.sizes = NONE;
      this.head = 0;
    }
    if (this.paused && this.bytes <= QUEUE_PAUSE_BYTES / 2 && this.length <= QUEUE_PAUSE_COUNT / 2) {
      this.paused = false;
      this.onPressure(false);
    }
    return message;
  }
}
