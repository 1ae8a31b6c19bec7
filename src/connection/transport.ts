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
import type { Duplex } from 'node:stream';

export type WebSocketTransport = Duplex & {
  /** Call `onIdle` after `ms` without reads or writes (0: never). */
  setTimeout(ms: number, onIdle?: () => void): unknown;
};
