/**
 * Client options and their defaults. The limits and timers are the same
 * knobs as the server's (src/server/options.ts), with the same defaults and
 * the same rules (src/options/option-tables.ts).
 */
import type { ConnectionOptions as TlsConnectionOptions } from 'node:tls';
import type { MaskKeySource } from '../framing/mask-key.js';
import type { ClientDeflateOptions } from '../extensions/permessage-deflate-negotiation.js';
import type { HttpHeadLimits } from '../handshake/http-head-parser.js';
import type { FrameLogger } from '../protocol/frame-log.js';
import { DEFAULT_MESSAGE_LIMITS, type MessageLimits } from '../protocol/limits.js';
import { DEFAULT_TURN_BUDGET } from '../protocol/protocol.js';

/**
 * TLS settings for wss:// (passed to `tls.connect`): `ca` to trust a private
 * or self-signed certificate, `servername` for SNI and the certificate check
 * (default: the URL's host, unless it is an IP literal), `rejectUnauthorized`
 * (default true: keep it), client certificates (`key`, `cert`, `pfx`)...
 * Where to connect comes from the URL.
 */
export type ClientTlsOptions = Omit<TlsConnectionOptions, 'host' | 'port' | 'path' | 'socket' | 'allowHalfOpen' | 'timeout'>;

export interface ClientOptions extends Partial<MessageLimits> {
  /** Subprotocols to offer, in order of preference (§4.1 item 10). The server picks one or none: see `protocol`. */
  protocols?: string | readonly string[];
  /** Origin header (§4.1 item 8, §10.2): browsers must send it; other clients may, to look like one. Default: none. */
  origin?: string;
  /**
   * Sec-WebSocket-Extensions offer, raw (§4.1 item 11, §9.1), e.g.
   * `x-my-extension`. Default: none. The connection fails if the server
   * accepts an extension not offered. The core implements only
   * permessage-deflate (offer it with `perMessageDeflate`): a frame using
   * another extension's RSV bits still fails with 1002.
   */
  extensions?: string;
  /**
   * Offer permessage-deflate (RFC 7692): `true` for the defaults, or the
   * parameters to ask for. Default false. Messages from the threshold up
   * (1 KiB) are compressed once the server accepts.
   */
  perMessageDeflate?: boolean | ClientDeflateOptions;
  /** Extra request headers (Authorization, Cookie, User-Agent...). `Host` may be overridden; the WebSocket headers may not. */
  headers?: Record<string, string>;

  /** ms for TCP connect, TLS and the server's whole response head. Default 10 000. */
  connectTimeout?: number;
  /** ms to wait for each step of the closing handshake: the server's close frame, then its TCP close (§7.1.1). Default 5 000. */
  closeTimeout?: number;
  /** ms without traffic after which the client closes with 1001. Default 0 (off). */
  idleTimeout?: number;
  /** ms between keepalive pings; no pong before the next one → close 1011. Default 0 (off). */
  pingInterval?: number;
  /** send() returns false beyond this many buffered bytes. Default 64 KiB. */
  sendHighWaterMark?: number;
  /** ms that bytes above sendHighWaterMark may wait without the server taking any; then close 1008. 0 disables. Default 30 000. */
  sendStallTimeout?: number;
  /** Pongs written and not yet taken by the server beyond which a further ping closes with 1008. Default 256. */
  maxPendingPongs?: number;
  /** Frames (work units) processed per turn of the event loop before yielding. Default 1024. */
  turnBudget?: number;
  /** TLS settings for wss:// URLs. */
  tls?: ClientTlsOptions;
  /**
   * Open the WebSocket over HTTP/2 (RFC 8441: an extended CONNECT stream),
   * sharing one HTTP/2 connection per origin with every other WebSocket to
   * it (closed shortly after its last WebSocket closes). Default false:
   * HTTP/1.1 Upgrade, one connection each.
   * - `true`: HTTP/2 only. wss:// needs `h2` by ALPN, ws:// speaks HTTP/2
   *   without TLS (h2c, prior knowledge); either way the server must enable
   *   extended CONNECT in its SETTINGS, else connect() rejects
   *   (ClientHandshakeError `HS_ERR_H2_NOT_NEGOTIATED`,
   *   `HS_ERR_H2_NO_EXTENDED_CONNECT`).
   * - `'auto'`: wss:// offers `h2` and `http/1.1` by ALPN and uses HTTP/2
   *   if the server enables extended CONNECT, else the HTTP/1.1 Upgrade
   *   (on the same TLS connection if ALPN chose http/1.1, on a new one
   *   otherwise). ws:// uses HTTP/1.1: without TLS nothing tells whether the
   *   server speaks HTTP/2.
   */
  http2?: boolean | 'auto';
  /** Limits on the server's response head (the connection fails beyond them). Defaults as for requests. */
  httpLimits?: Partial<HttpHeadLimits>;

  /** Where masking keys come from (§5.3). Default: the CSPRNG. Inject a fixed source only in tests. */
  maskKeySource?: MaskKeySource;
  /** Debug log of every message and control frame, both ways (default: stderr when WSRFC_DEBUG=1). */
  logger?: FrameLogger | null;
}

export const DEFAULT_CLIENT_OPTIONS = Object.freeze({
  ...DEFAULT_MESSAGE_LIMITS,
  connectTimeout: 10_000,
  closeTimeout: 5_000,
  idleTimeout: 0,
  pingInterval: 0,
  sendHighWaterMark: 64 * 1024,
  sendStallTimeout: 30_000,
  maxPendingPongs: 256,
  turnBudget: DEFAULT_TURN_BUDGET,
  http2: false as boolean | 'auto',
});
