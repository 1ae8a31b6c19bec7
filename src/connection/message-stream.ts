/**
 * A received message delivered as it arrives, chunk by chunk, instead of
 * whole (the `streamMessagesAbove` option): for messages too large to hold
 * in memory.
 *
 * Text arrives as strings, decoded piece by piece; its UTF-8 is validated
 * by the protocol core as the bytes arrive (§8.1), so a bad byte fails the
 * connection with 1007 at once and the iterator rejects with that
 * ProtocolError. If the connection closes before the message is complete,
 * the iterator rejects with ConnectionClosedError.
 *
 * Memory stays bounded: while more than PAUSE_BYTES of chunks wait for the
 * consumer, the connection stops reading from the socket (`onPressure`);
 * taking them resumes it. A stream nobody reads therefore stops the
 * connection's input: read it to its end, or leave the loop early (`break`,
 * or `discard()`) to drop the rest of the message.
 */
import { LocalError } from '../errors.js';

/** Reading pauses while more than this many bytes (UTF-16 units for text) of chunks wait for the consumer. */
export const STREAM_PAUSE_BYTES = 1024 * 1024;

export class MessageStream implements AsyncIterable<string | Buffer> {
  /** true: chunks are Buffers (a binary message); false: strings (a text message). */
  readonly binary: boolean;

  private chunks: Array<string | Buffer> = [];
  private head = 0;
  private bytes = 0;
  private paused = false;
  private ended = false;
  private error: unknown = null;
  private discarded = false;
  private iterating = false;
  private waiter: { resolve(result: IteratorResult<string | Buffer, undefined>): void; reject(error: unknown): void } | null = null;
  private readonly onPressure: (paused: boolean) => void;

  /** @internal Made by the connection when a streamed message starts. */
  static create(binary: boolean, onPressure: (paused: boolean) => void): MessageStream {
    return new MessageStream(binary, onPressure);
  }

  /**
   * Private (not stripped from the declarations): they keep
   * `private constructor()`, so `new MessageStream()` does not compile in an
   * application (a stripped constructor would leave an implicit public one).
   */
  private constructor(binary: boolean, onPressure: (paused: boolean) => void) {
    this.binary = binary;
    this.onPressure = onPressure;
  }

  /** The message's chunks in order (strings for text, Buffers for binary). One loop per stream; leaving it early discards the rest. */
  [Symbol.asyncIterator](): AsyncIterator<string | Buffer, undefined> {
    if (this.iterating) throw new LocalError('WS_ERR_ALREADY_ITERATING', 'a message stream can be read by one loop, once');
    this.iterating = true;
    return {
      next: () => this.next(),
      return: async () => {
        this.discard();
        return { value: undefined, done: true };
      },
    };
  }

  /** The whole message, assembled (as a `for await` or receive() without `streams: true` delivers it). */
  async collect(): Promise<string | Buffer> {
    const parts: Array<string | Buffer> = [];
    for await (const chunk of this) parts.push(chunk);
    return this.binary ? Buffer.concat(parts as Buffer[]) : (parts as string[]).join('');
  }

  /** Drop the rest of the message (and what is buffered): reading goes on, the chunks are thrown away. */
  discard(): void {
    this.discarded = true;
    this.chunks = [];
    this.head = 0;
    this.bytes = 0;
    this.release();
    this.settleWaiter();
  }

  /** @internal A chunk of the message. */
  push(chunk: string | Buffer): void {
    if (this.discarded || this.ended) return;
    const waiter = this.waiter;
    if (waiter !== null) {
      this.waiter = null;
      waiter.resolve({ value: chunk, done: false });
      return;
    }
    this.chunks.push(chunk);
    this.bytes += chunk.length;
    if (!this.paused && this.bytes > STREAM_PAUSE_BYTES) {
      this.paused = true;
      this.onPressure(true);
    }
  }

  /** @internal The message is complete. */
  end(): void {
    if (this.ended) return;
    this.ended = true;
    // Input stays paused until the consumer has taken what is buffered (down
    // to half the bound): unread streams cannot pile up behind each other.
    if (this.bytes <= STREAM_PAUSE_BYTES / 2) this.release();
    this.settleWaiter();
  }

  /** @internal The connection failed or closed before the message was complete: the consumer gets `error` after the chunks that arrived. */
  fail(error: unknown): void {
    if (this.ended) return;
    this.error = error;
    this.end();
    this.release(); // (the connection is ending: nothing to hold back)
  }

  private next(): Promise<IteratorResult<string | Buffer, undefined>> {
    if (this.head < this.chunks.length) {
      const chunk = this.chunks[this.head];
      this.chunks[this.head++] = '';
      this.bytes -= chunk.length;
      if (this.head === this.chunks.length) {
        this.chunks = [];
        this.head = 0;
      }
      if (this.paused && this.bytes <= STREAM_PAUSE_BYTES / 2) this.release();
      return Promise.resolve({ value: chunk, done: false });
    }
    if (this.discarded) return Promise.resolve({ value: undefined, done: true });
    if (this.ended) return this.error !== null ? Promise.reject(this.error) : Promise.resolve({ value: undefined, done: true });
    return new Promise((resolve, reject) => (this.waiter = { resolve, reject }));
  }

  private settleWaiter(): void {
    const waiter = this.waiter;
    if (waiter === null) return;
    this.waiter = null;
    if (this.error !== null && !this.discarded) waiter.reject(this.error);
    else waiter.resolve({ value: undefined, done: true });
  }

  private release(): void {
    if (!this.paused) return;
    this.paused = false;
    this.onPressure(false);
  }
}
