/**
 * Broadcast: one message to many connections, encoded once, with a policy
 * for receivers that do not keep up.
 *
 * The frame is built once (`encodeFrame`) and the same bytes are queued on
 * every receiver: small frames are copied into each connection's output
 * slab, large ones are shared by reference, never copied per receiver.
 * With permessage-deflate the frame goes uncompressed (RSV1 clear): each
 * connection has its own compression context, so a compressed frame cannot
 * be shared, and RFC 7692 §6 lets any message be sent uncompressed.
 *
 * Slow receivers. A peer that does not read makes its bytes pile up on our
 * side. Before queueing, each receiver's `bufferedAmount` is compared with
 * `broadcastLimit`; past it, the receiver is slow, and per `slowReceiver`:
 * - `'close'` (default): it is closed with 1008 (policy violation), so it
 *   knows it missed messages and can reconnect and catch up;
 * - `'skip'`: it misses this message and stays open (right for state that the
 *   next message replaces: positions, prices, presence).
 * Either way a receiver never holds more than the limit plus one message, and
 * one stuck peer never delays the others.
 *
 * The receivers are any iterable of server connections: every open
 * connection, those a filter accepts, a list the application keeps (as
 * python-websockets' `broadcast(connections, message)`), or the subscribers
 * of a topic (src/server/topics.ts, `server.publish`).
 */
import { ConnectionClosedError, LocalError } from '../errors.js';
import { CloseCode } from '../framing/close-codes.js';
import { encodeFrame } from '../framing/frame-encoder.js';
import { Opcode } from '../framing/opcodes.js';
import { ReadyState } from '../protocol/ready-state.js';
import type { SendData, WebSocketConnection } from '../connection/websocket-connection.js';

/** What broadcast() does with a receiver over `broadcastLimit`. */
export type SlowReceiverPolicy = 'skip' | 'close';

/** How one broadcast went. */
export interface BroadcastResult {
  /** Receivers the message was queued for. */
  sent: number;
  /** Slow receivers that missed it (policy 'skip'). */
  skipped: number;
  /** Slow receivers closed with 1008 (policy 'close'). */
  closed: number;
}

export interface BroadcastPolicy {
  /** Bytes waiting to be written to a receiver beyond which it counts as slow. */
  limit: number;
  slowReceiver: SlowReceiverPolicy;
}

/** The close reason a slow receiver gets with its 1008. */
export const SLOW_RECEIVER_REASON = 'too slow: broadcast backlog over the limit';

/** Is `message` something send(), broadcast() and publish() take: a string, or bytes? */
export function isSendData(message: unknown): message is SendData {
  return typeof message === 'string' || message instanceof ArrayBuffer || ArrayBuffer.isView(message);
}

/** One unmasked frame for `message`: a string as TEXT (UTF-8), bytes as BINARY. */
export function encodeMessage(message: SendData): Buffer {
  if (typeof message === 'string') return encodeFrame(Opcode.TEXT, Buffer.from(message, 'utf8'));
  if (message instanceof Uint8Array) return encodeFrame(Opcode.BINARY, message);
  if (message instanceof ArrayBuffer) return encodeFrame(Opcode.BINARY, new Uint8Array(message));
  if (ArrayBuffer.isView(message)) return encodeFrame(Opcode.BINARY, new Uint8Array(message.buffer, message.byteOffset, message.byteLength));
  throw new LocalError('WS_ERR_INVALID_ARGUMENT', 'broadcast() takes a string, a Buffer, a typed array or an ArrayBuffer');
}

/**
 * Queue `frame` on every open receiver that `filter` accepts, applying the
 * slow-receiver policy. A receiver listed twice gets the frame twice.
 */
export function broadcastFrame<Data>(
  receivers: Iterable<WebSocketConnection<Data>>,
  frame: Buffer,
  policy: BroadcastPolicy,
  filter?: (connection: WebSocketConnection<Data>) => boolean,
): BroadcastResult {
  const result: BroadcastResult = { sent: 0, skipped: 0, closed: 0 };
  for (const connection of receivers) {
    if (connection.readyState !== ReadyState.OPEN) continue;
    if (filter !== undefined && !filter(connection)) continue;
    if (connection.bufferedAmount > policy.limit) {
      if (policy.slowReceiver === 'skip') {
        result.skipped++;
      } else {
        connection.close(CloseCode.POLICY_VIOLATION, SLOW_RECEIVER_REASON);
        result.closed++;
      }
      continue;
    }
    try {
      connection.sendEncodedFrame(frame);
      result.sent++;
    } catch (error) {
      // The filter may have closed it; anything else is a bug worth seeing.
      if (!(error instanceof ConnectionClosedError)) throw error;
    }
  }
  return result;
}
