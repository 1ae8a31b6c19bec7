/**
 * A connection as a node:stream Duplex, for piping (`ws`'s
 * createWebSocketStream): each write becomes one message, each message
 * received becomes one chunk to read.
 *
 * Backpressure both ways:
 * - reading: the readable side pulls messages from the connection's
 *   for-await queue only while it wants more (push() returned true); when
 *   nobody reads, the queue fills up to its bound and the connection stops
 *   reading its socket, so a peer that sends faster than the pipe drains
 *   waits in TCP, not in memory;
 * - writing: a write's callback is called at once while send() returns true,
 *   else on the connection's 'drain' (bufferedAmount back under
 *   sendHighWaterMark): `pipe()`/`pipeline()` pause their source meanwhile.
 *
 * Ending:
 * - end() → once every write was accepted, close(1000): the close frame goes
 *   after the messages (they are queued in order), and 'finish' comes once
 *   the connection is closed;
 * - destroy(error) → the connection is closed with 1011 (the peer learns that
 *   something went wrong on our side); destroy() without an error while the
 *   connection is open drops it (terminate());
 * - the connection's close ends the readable side ('end'); an error the
 *   connection reports ('error' event: the peer broke a rule) destroys the
 *   stream with that error; a write after the close fails with
 *   ConnectionClosedError.
 */
import { Duplex, type DuplexOptions } from 'node:stream';
import { CloseCode } from '../framing/close-codes.js';
import { ConnectionClosedError, LocalError } from '../errors.js';
import { ReadyState } from '../protocol/ready-state.js';
import { isValidUtf8 } from '../utf8/utf8-validator.js';
import type { Message, SendData, WebSocketConnection } from './websocket-connection.js';

export interface WebSocketStreamOptions
  extends Pick<
    DuplexOptions,
    | 'allowHalfOpen'
    | 'encoding'
    | 'objectMode'
    | 'readableObjectMode'
    | 'writableObjectMode'
    | 'highWaterMark'
    | 'readableHighWaterMark'
    | 'writableHighWaterMark'
    | 'defaultEncoding'
    | 'emitClose'
  > {
  /**
   * Writes are sent as binary messages (true, the default) or as text
   * messages (false: a string as it is, bytes must be whole UTF-8 —
   * otherwise the write fails with WS_ERR_SEND_INVALID_UTF8).
   */
  binary?: boolean;
}

/**
 * Wrap a connection (server or client side) in a Duplex. Received text
 * messages are read as UTF-8 bytes (or strings, with `encoding` or
 * `readableObjectMode`); in object mode each message is one chunk as it is.
 * Use the connection only through the stream afterwards: the stream iterates
 * its messages (one iterator per connection).
 */
export function createWebSocketStream(ws: WebSocketConnection<unknown>, options: WebSocketStreamOptions = {}): Duplex {
  const { binary = true, ...duplexOptions } = options;
  let messages: AsyncIterator<Message> | null = null;
  let pulling = false;

  const onError = (error: Error): void => {
    duplex.destroy(error);
  };

  /** Pull messages while the readable side wants more. */
  const pull = async (): Promise<void> => {
    if (pulling) return;
    pulling = true;
    try {
      messages ??= ws[Symbol.asyncIterator]();
      for (;;) {
        const next = await messages.next();
        if (duplex.destroyed) return;
        if (next.done === true) {
          duplex.push(null);
          return;
        }
        if (!duplex.push(next.value)) return; // full: the next _read() pulls on
      }
    } catch (error) {
      duplex.destroy(error as Error);
    } finally {
      pulling = false;
    }
  };

  const duplex = new Duplex({
    ...duplexOptions,
    // Strings stay strings, so that text mode sends them as they are.
    decodeStrings: false,
    autoDestroy: true,

    read(): void {
      void pull();
    },

    write(chunk: unknown, encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
      let data: SendData;
      try {
        data = messageOf(chunk, encoding, binary);
        if (ws.send(data)) {
          callback();
          return;
        }
      } catch (error) {
        callback(error as Error);
        return;
      }
      // Above the high-water mark: this write completes on 'drain' (or fails if the connection closes first).
      const drained = (): void => {
        ws.off('close', closed);
        callback();
      };
      const closed = (code: number, reason: string): void => {
        ws.off('drain', drained);
        callback(new ConnectionClosedError(code, reason));
      };
      ws.once('drain', drained);
      ws.once('close', closed);
    },

    final(callback: (error?: Error | null) => void): void {
      if (ws.readyState === ReadyState.OPEN) ws.close(CloseCode.NORMAL);
      ws.closed.then(
        () => callback(),
        (error: Error) => callback(error),
      );
    },

    destroy(error: Error | null, callback: (error?: Error | null) => void): void {
      ws.off('error', onError);
      if (ws.readyState === ReadyState.OPEN) {
        if (error !== null) ws.close(CloseCode.INTERNAL_ERROR, 'stream destroyed');
        else ws.terminate();
      }
      void messages?.return?.();
      callback(error);
    },
  });

  ws.on('error', onError);
  return duplex;
}

/** A written chunk as the message to send. */
function messageOf(chunk: unknown, encoding: BufferEncoding, binary: boolean): SendData {
  if (typeof chunk === 'string') return binary ? Buffer.from(chunk, encoding === ('buffer' as BufferEncoding) ? 'utf8' : encoding) : chunk;
  if (!binary && chunk instanceof Uint8Array) {
    if (!isValidUtf8(chunk)) throw new LocalError('WS_ERR_SEND_INVALID_UTF8', 'a text-mode WebSocket stream was written bytes that are not valid UTF-8 (RFC 6455 §8.1)');
    return Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength).toString('utf8');
  }
  return chunk as SendData; // bytes; anything else: send() throws WS_ERR_INVALID_ARGUMENT
}
