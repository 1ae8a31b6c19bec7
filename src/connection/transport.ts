/**
 * What a WebSocket connection runs over: a byte stream in both directions
 * that can be paused, half-closed, destroyed and given an idle timeout.
 *
 * A TCP or TLS socket (`net.Socket`, `tls.TLSSocket`) is one; so is an
 * HTTP/2 stream (`Http2Stream`), which is how RFC 8441 carries a WebSocket:
 * there, `end()` sends END_STREAM where a socket sends its FIN, and
 * `destroy()` resets the stream (RST_STREAM) where a socket drops its TCP
 * connection (RFC 8441 §6), leaving the HTTP/2 connection and its other
 * streams alone. The connection (websocket-connection.ts) uses nothing else
 * of its transport, so the rules of RFC 6455 run unchanged over either.
 */
import { Http2ErrorCode } from './http2-module.js';
import type { Duplex } from 'node:stream';

export type WebSocketTransport = Duplex & {
  /** Call `onIdle` after `ms` without reads or writes (0: never). */
  setTimeout(ms: number, onIdle?: () => void): unknown;
};

/**
 * Drop the transport at once, without a closing handshake: the TCP
 * connection of a socket (`destroy()`), or, for an HTTP/2 stream, the stream
 * alone with RST_STREAM CANCEL. RFC 8441 §5: "Orderly TCP-level closures are
 * represented as END_STREAM flags ([RFC7540], Section 6.1). RST exceptions
 * are represented with the RST_STREAM frame ([RFC7540], Section 6.4) with
 * the CANCEL error code ([RFC7540], Section 7)." (An Http2Stream's own
 * `destroy()` would reset it with NO_ERROR.)
 */
export function abortTransport(transport: WebSocketTransport): void {
  if (isHttp2Stream(transport)) {
    if (!transport.closed) transport.close(Http2ErrorCode.CANCEL);
    else transport.destroy();
    return;
  }
  transport.destroy();
}

/** Is `transport` an HTTP/2 stream (node:http2 does not export the class to test against)? */
function isHttp2Stream(transport: WebSocketTransport): transport is WebSocketTransport & { closed: boolean; close(code: number): void } {
  return 'rstCode' in transport && typeof (transport as { close?: unknown }).close === 'function';
}

/**
 * node:net gives every socket an 'end' listener of its own, which does
 * nothing when the socket allows half-open connections (as ours do: the
 * connection decides when to close its side, §7.1.1). With another beside it,
 * EventEmitter keeps the two in an array (64 B per idle connection,
 * bench/idle-heap.ts); alone, one is kept as it is. Called before adding
 * one (the handshake's, the connection's). Any other 'end' listener (a TLS
 * socket's, an HTTP/2 stream's) stays.
 */
export function dropNodesEndListener(socket: Duplex): void {
  if ((socket as { allowHalfOpen?: boolean }).allowHalfOpen !== true || socket.listenerCount('end') !== 1) return;
  const [listener] = socket.listeners('end');
  if (listener.name === 'onReadableStreamEnd') socket.removeListener('end', listener as () => void);
}
