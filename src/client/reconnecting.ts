/**
 * `reconnecting(url, options)`: a client that keeps a connection open, in
 * the spirit of python-websockets' `async for websocket in connect(uri)`.
 *
 *   for await (const ws of reconnecting('ws://127.0.0.1:9001/feed')) {
 *     for await (const message of ws) console.log(message);
 *   }
 *
 * It opens a connection with connect(), hands it over (the iterator yields
 * it, the 'connection' event carries it), waits for it to end, and opens a
 * new one when the way it ended allows, after a backoff. When to try again
 * and how long to wait is decided in reconnect-policy.ts (the policy is
 * written out there in full); this file is the I/O around it: the attempts,
 * the timer, the hand-over, and stopping.
 *
 * Why a function of its own rather than `connect(url, { reconnect })`:
 * connect() is one connection, whose failure is an error to catch; this is a
 * long-lived object that yields many connections, survives their failures,
 * and is stopped rather than awaited. One name per shape keeps the return
 * type of connect() a plain Promise<ClientConnection>.
 *
 * Stopping: `close(code?, reason?)`, the `signal` option, or leaving the
 * `for await` loop (break, return, throw). It closes the current connection
 * (1000 by default), cancels a pending retry, and ends the iterator.
 */
import { EventEmitter } from 'node:events';
import type { ClientConnection } from './client-connection.js';
import { connect } from './connect.js';
import type { ClientOptions } from './options.js';
import { backoffDelay, reconnectsAfterClose, retryAfterFailure, type ReconnectOptions } from './reconnect-policy.js';
import { parseWebSocketUrl } from './url.js';
import { CloseCode } from '../framing/close-codes.js';
import { resolveReconnectingOptions } from '../options/option-tables.js';
import type { CloseInfo } from '../protocol/close-state.js';

export interface ReconnectingOptions extends ClientOptions {
  /** Backoff and giving up (see ReconnectOptions for each and its default). */
  reconnect?: ReconnectOptions;
  /** Aborting it stops the client, as close() does. */
  signal?: AbortSignal;
}

/** Why a reconnecting client made its last connection. */
export interface ReconnectEnd {
  /**
   * - `stopped`: close() was called, the signal aborted, or a `for await` loop left;
   * - `closed`: a connection ended with a code that is not retried (1000, 1008, 4xxx...);
   * - `refused`: an attempt failed in a way that is not retried (403, a TLS error...);
   * - `gave up`: `maxAttempts` attempts in a row failed.
   */
  why: 'stopped' | 'closed' | 'refused' | 'gave up';
  /** `closed`: how the last connection ended (its code is `endingCode(close)`). */
  close?: CloseInfo;
  /** `refused`, `gave up`: the error of the last attempt, if it was a failure to connect. */
  error?: unknown;
}

/** A retry is scheduled. */
export interface ReconnectRetry {
  /** Number of the coming attempt in the current run (1 after a connection that lasted). */
  attempt: number;
  /** ms until it starts (backoff, or the server's Retry-After if longer). */
  delay: number;
  /** Why: the error of the failed attempt... */
  error?: unknown;
  /** ...or how the connection ended. */
  close?: CloseInfo;
}

export interface ReconnectingEvents {
  /** A new connection is open (also yielded by the iterator). */
  connection: [connection: ClientConnection];
  /** An attempt failed, or a connection ended in a way that is retried: the next attempt is scheduled. */
  retry: [retry: ReconnectRetry];
  /** No further connection will be made. */
  stop: [end: ReconnectEnd];
}

/**
 * Open a connection to `url` and keep opening a new one when it ends in a
 * way that allows it (see reconnect-policy.ts). Options are checked at once:
 * an invalid one throws a LocalError WS_ERR_INVALID_OPTION (an invalid URL,
 * HS_ERR_INVALID_URL). The first attempt starts on the next turn of the event
 * loop, after the caller attached its listeners.
 */
export function reconnecting(url: string | URL, options: ReconnectingOptions = {}): ReconnectingClient {
  return new ReconnectingClient(url, options);
}

/**
 * A client that reconnects. Iterate it (`for await`) for each connection, or
 * listen to 'connection'; `close()` to stop. The iterator yields every
 * connection made, in order, even one that closed before it was taken (its
 * messages are still there to read); it ends after `close()` or a close code
 * that is not retried, and throws the error when an attempt was refused or
 * the client gave up. Several loops over one client share its connections.
 * (An application that only listens to 'connection' and never iterates has
 * nothing queued for it.)
 */
export class ReconnectingClient extends EventEmitter<ReconnectingEvents> implements AsyncIterable<ClientConnection> {
  /** The URL, normalized. */
  readonly url: string;
  /** Resolves once no further connection will be made (never rejects). */
  readonly stopped: Promise<ReconnectEnd>;

  readonly #clientOptions: ClientOptions;
  readonly #policy: Required<ReconnectOptions>;
  readonly #signal: AbortSignal | undefined;
  #connection: ClientConnection | null = null;
  /** Attempts made since the last connection that lasted `resetAfter` (or since the start). */
  #attemptsInRow = 0;
  #retryTimer: NodeJS.Timeout | undefined;
  /** The attempt under way (connect() not settled yet), if any. */
  #connecting: Promise<void> | null = null;
  /** An iterator was asked for: connections are queued for it. */
  #iterated = false;
  #end: ReconnectEnd | null = null;
  #resolveStopped!: (end: ReconnectEnd) => void;
  /** Connections not yet taken by an iterator, and iterators waiting for one. */
  readonly #queue: ClientConnection[] = [];
  readonly #waiting: Array<{ resolve: (result: IteratorResult<ClientConnection>) => void; reject: (error: unknown) => void }> = [];
  /** The error the iterator throws once (after `refused` or `gave up`); then it is done. */
  #iteratorError: { error: unknown } | null = null;

  constructor(url: string | URL, options: ReconnectingOptions = {}) {
    super();
    // Every option checked now, connect()'s included (it checks them again,
    // unchanged, on each attempt), and the URL too.
    const { reconnect, signal } = resolveReconnectingOptions(options);
    this.url = parseWebSocketUrl(url).href;
    this.#clientOptions = clientOptionsOf(options);
    this.#policy = reconnect;
    this.#signal = signal;
    this.stopped = new Promise((resolve) => (this.#resolveStopped = resolve));
    if (signal?.aborted) {
      this.#finish({ why: 'stopped' });
      return;
    }
    signal?.addEventListener('abort', this.#onAbort, { once: true });
    setImmediate(() => this.#attempt());
  }

  /** The open connection, if there is one now. */
  get connection(): ClientConnection | null {
    return this.#connection;
  }

  /** Attempts made in a row without a connection that lasted `resetAfter` (the backoff's exponent). */
  get attempts(): number {
    return this.#attemptsInRow;
  }

  /**
   * Stop: no further attempt; the open connection, if any, is closed with
   * `code` (default 1000) and `reason`, and one being opened is closed as
   * soon as it opens. Resolves once it has closed.
   */
  async close(code: number = CloseCode.NORMAL, reason = ''): Promise<void> {
    this.#finish({ why: 'stopped' });
    const connection = this.#connection;
    if (connection !== null) {
      if (connection.readyState === 1) connection.close(code, reason);
      await connection.closed;
    }
    await this.#connecting;
  }

  #onAbort = (): void => {
    void this.close();
  };

  async #attempt(): Promise<void> {
    this.#retryTimer = undefined;
    if (this.#end !== null) return;
    this.#attemptsInRow++;
    // close() waits for an attempt under way, and for what it opened to close.
    let settled!: () => void;
    this.#connecting = new Promise<void>((resolve) => (settled = resolve));
    let connection: ClientConnection;
    try {
      connection = await connect(this.url, this.#clientOptions);
    } catch (error) {
      this.#connecting = null;
      settled();
      if (this.#end !== null) return;
      const verdict = retryAfterFailure(error, Date.now());
      if (!verdict.retry) this.#finish({ why: 'refused', error });
      else this.#retry({ error }, verdict.retryAfter);
      return;
    }
    if (this.#end !== null) {
      // Stopped while this attempt was under way.
      connection.close(CloseCode.NORMAL);
      await connection.closed;
      this.#connecting = null;
      settled();
      return;
    }
    this.#connecting = null;
    settled();
    this.#connection = connection;
    const lasted = setTimeout(() => (this.#attemptsInRow = 0), this.#policy.resetAfter);
    this.#deliver(connection);
    this.emit('connection', connection);
    const info = await connection.closed;
    clearTimeout(lasted);
    this.#connection = null;
    if (this.#end !== null) return;
    if (reconnectsAfterClose(info)) this.#retry({ close: info }, 0);
    else this.#finish({ why: 'closed', close: info });
  }

  /** Schedule the next attempt after a failure or a close that is retried, or give up. */
  #retry(cause: { error?: unknown; close?: CloseInfo }, retryAfter: number): void {
    if (this.#attemptsInRow >= this.#policy.maxAttempts) {
      this.#finish({ why: 'gave up', ...cause });
      return;
    }
    const delay = Math.max(backoffDelay(this.#attemptsInRow, this.#policy), retryAfter);
    this.#retryTimer = setTimeout(() => void this.#attempt(), delay);
    this.emit('retry', { attempt: this.#attemptsInRow + 1, delay, ...cause });
  }

  #finish(end: ReconnectEnd): void {
    if (this.#end !== null) return;
    this.#end = end;
    clearTimeout(this.#retryTimer);
    this.#signal?.removeEventListener('abort', this.#onAbort);
    if ((end.why === 'refused' || end.why === 'gave up') && end.error !== undefined) this.#iteratorError = { error: end.error };
    // Iterators waiting for a connection learn that none is coming.
    for (const waiter of this.#waiting.splice(0)) this.#settleEnded(waiter);
    this.#resolveStopped(end);
    this.emit('stop', end);
  }

  #deliver(connection: ClientConnection): void {
    const waiter = this.#waiting.shift();
    if (waiter !== undefined) waiter.resolve({ value: connection, done: false });
    // Kept for a loop to come, unless the application takes its connections
    // from the 'connection' event only (then nothing would ever take them).
    else if (this.#iterated || this.listenerCount('connection') === 0) this.#queue.push(connection);
  }

  /** An iterator asks for a connection after the end: the error once (if any), then done. */
  #settleEnded(waiter: { resolve: (result: IteratorResult<ClientConnection>) => void; reject: (error: unknown) => void }): void {
    const failure = this.#iteratorError;
    this.#iteratorError = null;
    if (failure !== null) waiter.reject(failure.error);
    else waiter.resolve({ value: undefined, done: true });
  }

  [Symbol.asyncIterator](): AsyncIterator<ClientConnection> {
    this.#iterated = true;
    return {
      next: () =>
        new Promise<IteratorResult<ClientConnection>>((resolve, reject) => {
          const queued = this.#queue.shift();
          if (queued !== undefined) resolve({ value: queued, done: false });
          else if (this.#end !== null) this.#settleEnded({ resolve, reject });
          else this.#waiting.push({ resolve, reject });
        }),
      // Leaving a for-await loop (break, return, an exception) stops the client.
      return: async () => {
        await this.close();
        return { value: undefined, done: true };
      },
    };
  }
}

/** The options as the application gave them, less our own: what connect() takes. */
function clientOptionsOf(options: ReconnectingOptions): ClientOptions {
  const { reconnect: _reconnect, signal: _signal, ...client } = options;
  return client;
}
