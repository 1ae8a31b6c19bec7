/**
 * Server options, their defaults, and the hooks a server may pass in. The
 * rule each option obeys, and the check, are in src/options/option-tables.ts.
 */
import type { IncomingMessage, RequestListener, Server as HttpServer } from 'node:http';
import type { SecureContextOptions, TlsOptions } from 'node:tls';
import type { HttpHeadLimits } from '../handshake/http-head-parser.js';
import type { UpgradeRequest } from '../handshake/upgrade-request.js';
import type { PerMessageDeflateOptions } from '../extensions/permessage-deflate-negotiation.js';
import type { FrameLogger } from '../protocol/frame-log.js';
import { DEFAULT_MESSAGE_LIMITS, type MessageLimits } from '../protocol/limits.js';
import { DEFAULT_TURN_BUDGET } from '../protocol/protocol.js';
import type { WebSocketConnection } from '../connection/websocket-connection.js';
import type { SlowReceiverPolicy } from './broadcast.js';
import type { Backplane } from './backplane.js';
import type { TopicDelivery, TopicRegistry } from './topics.js';

/** The upgrade request as hooks see it: the validated request plus where it came from. */
export interface HandshakeRequest extends UpgradeRequest {
  remoteAddress: string | undefined;
  remotePort: number | undefined;
  /**
   * What the route matched in the path (`route('/rooms/:id')` on
   * `/rooms/42`: `{ id: '42' }`; `'*'` for a trailing wildcard), decoded.
   * Set before `checkOrigin` and `authorize` run; empty for exact routes.
   */
  params: Readonly<Record<string, string>>;
  /**
   * The node:http request, when the upgrade came through `handleUpgrade()`
   * or `attach()`: whatever the application attached to it (a session, a
   * user parsed by middleware) reaches `authorize` here. Undefined when the
   * server read the request itself.
   */
  incoming?: IncomingMessage;
}

/** What an `authorize` hook decides. Returning nothing accepts with no data. */
export type UpgradeVerdict<Data> =
  | undefined
  | void
  | { data?: Data; headers?: Record<string, string> }
  | { reject: { status: number; reason?: string; headers?: Record<string, string> } };

/**
 * Runs for each connection once the handshake succeeded. May be async: a
 * rejection (other than ConnectionClosedError) is reported and the connection
 * closed with 1011. Its return value is otherwise ignored.
 */
export type ConnectionHandler<Data> = (connection: WebSocketConnection<Data>) => unknown;

export interface ServerOptions<Data = undefined> extends Partial<MessageLimits> {
  /** Port for listen() when it is given none. Default 0 (any free port). */
  port?: number;
  /** Host for listen(). Default: Node's (all interfaces). */
  host?: string;
  /** Serve the default handler only on this path; other paths without a route get 404. */
  path?: string;
  /**
   * Accept permessage-deflate (RFC 7692) when a client offers it: `true` for
   * the defaults, or a policy (window bits, context takeover, level, memLevel,
   * threshold). Default false: offers are declined.
   */
  perMessageDeflate?: boolean | PerMessageDeflateOptions;
  /** Serve wss:// with node:tls (key, cert, ...). */
  tls?: TlsOptions & SecureContextOptions;
  /**
   * Plain HTTP on the same port. A request that is not a WebSocket upgrade is
   * handed, socket and bytes already read, to this node:http server (one that
   * does not listen itself; a node:http server also under `tls`, which has
   * already decrypted), or to a node:http server we create around this request
   * listener (e.g. `serveStatic('public')`). Without it such requests get 426.
   */
  http?: HttpServer | RequestListener;

  /**
   * Serve WebSockets over HTTP/2 too (RFC 8441, extended CONNECT), on the
   * same port: with `tls`, ALPN offers `h2` and `http/1.1` and each client
   * takes what it speaks; without, a connection that opens with the HTTP/2
   * preface (h2c with prior knowledge, RFC 9113 §3.3) is HTTP/2, any other
   * HTTP/1.1. The server advertises SETTINGS_ENABLE_CONNECT_PROTOCOL; an
   * extended CONNECT with `:protocol websocket` goes through the same
   * limits, routes and hooks as an HTTP/1.1 upgrade and is answered 200.
   * Other HTTP/2 requests go to the `http` option's handler (node:http2's
   * compatibility request and response), else 404. `true` for the
   * defaults. Default false. See docs/http2.md.
   */
  http2?:
    | boolean
    | {
        /** ms an HTTP/2 connection with no open stream is kept before it is closed (GOAWAY). 0: never. Default 120 000. */
        idleSessionTimeout?: number;
        /** Streams (WebSockets and requests) one HTTP/2 connection may have open at once (SETTINGS_MAX_CONCURRENT_STREAMS). Default 256. */
        maxConcurrentStreams?: number;
        /**
         * Bytes a client may send on one stream before we acknowledge them
         * (SETTINGS_INITIAL_WINDOW_SIZE, RFC 9113 §6.9.2): what a stream
         * whose WebSocket is paused can leave buffered. HTTP/2's default,
         * 65,535, holds a large message to one window per round trip (a
         * 1 MiB echo ran at a quarter of HTTP/1.1's speed). Default 1 MiB.
         */
        streamWindowSize?: number;
        /**
         * Bytes a client may send on all its streams together before we
         * acknowledge them (the connection's flow-control window, §6.9): the
         * most one HTTP/2 connection can leave buffered in nghttp2, whatever
         * its number of streams. Default 8 MiB.
         */
        sessionWindowSize?: number;
      };

  /** broadcast(): bytes waiting to be written to a receiver beyond which it is slow. Default 1 MiB. */
  broadcastLimit?: number;
  /** broadcast(): what happens to a slow receiver: 'close' with 1008 (default) or 'skip' the message. */
  slowReceiver?: SlowReceiverPolicy;
  /** Topics one connection may be subscribed to at once; subscribe() beyond throws WS_ERR_TOO_MANY_TOPICS. Default 1000. */
  maxTopicsPerConnection?: number;
  /**
   * Where topic subscriptions live. Default: `(deliver) => new
   * LocalTopicRegistry(deliver)`, this process's subscribers in memory. A
   * registry shared by many processes (a broker, a backplane) wraps a
   * LocalTopicRegistry built on `deliver`, which queues a message, encoded
   * once, on local subscribers with the slow-receiver policy.
   */
  topicRegistry?: (deliver: TopicDelivery<WebSocketConnection<Data>>) => TopicRegistry<WebSocketConnection<Data>>;
  /**
   * Carry topics to other processes (src/server/backplane.ts): cluster
   * workers through the primary, or a broker (`redisBackplane()` from
   * `wsrfc/redis`). The server subscribes it to the topics that have local
   * subscribers, hands it every publish, and delivers what it receives to
   * the local subscribers. Started when the server is created (listen()
   * waits for it), closed by close(). Not with `topicRegistry`.
   */
  backplane?: Backplane;

  /** ms a client has to send its complete upgrade request. Default 10 000. */
  handshakeTimeout?: number;
  /** ms to wait for each step of the closing handshake before dropping the socket. Default 5 000. */
  closeTimeout?: number;
  /** ms without traffic after which the server closes with 1001. Default 0 (off). */
  idleTimeout?: number;
  /** ms between keepalive pings; a peer that does not answer one before the next fails with 1011. Default 0 (off). */
  pingInterval?: number;
  /** send() returns false beyond this many buffered bytes. Default 64 KiB. */
  sendHighWaterMark?: number;
  /**
   * ms that bytes above `sendHighWaterMark` may wait without the peer taking
   * any of them; then the connection is closed with 1008 and dropped after
   * `closeTimeout`. 0 disables. Default 30 000.
   */
  sendStallTimeout?: number;
  /**
   * Pongs written to the socket that the peer has not taken yet; a ping
   * beyond closes the connection with 1008 instead of queueing another pong.
   * Default 256.
   */
  maxPendingPongs?: number;
  /**
   * Work (frames, mostly) one connection's input may do in one turn of the
   * event loop before the rest waits for a later turn, so no peer holds the
   * loop. Default 1024 (about a millisecond).
   */
  turnBudget?: number;
  /**
   * Bytes all connections together may hold (messages being received, input
   * kept back, output their peers have not taken). Past it the heaviest stop
   * being read and new upgrades get 503, until the total falls to three
   * quarters of it. Default 1 GiB.
   */
  memoryBudget?: number;
  /** Debug log of every message and control frame, both ways (default: stderr when WSRFC_DEBUG=1). */
  logger?: FrameLogger | null;
  /** Limits on the HTTP request head (431 beyond them). */
  httpLimits?: Partial<HttpHeadLimits>;

  /** Origin policy (§10.2): return false to answer 403. */
  checkOrigin?: (origin: string | undefined, request: HandshakeRequest) => boolean | Promise<boolean>;
  /** Pick a subprotocol among the client's offers (§4.2.2 item 5.5); return undefined for none. */
  selectProtocol?: (offered: string[], request: HandshakeRequest) => string | undefined;
  /** Authenticate or otherwise decide on the upgrade; may attach per-connection data. */
  authorize?: (request: HandshakeRequest) => UpgradeVerdict<Data> | Promise<UpgradeVerdict<Data>>;
}

/**
 * How long a refused client has to read our HTTP answer (an HTTP/1.1
 * socket, an HTTP/2 stream) before it is dropped: the socket destroyed, the
 * stream reset. Not an option: a client that cannot read a short refusal in
 * this time is not one to wait for.
 */
export const REJECTION_LINGER_MS = 2_000;

export const DEFAULT_SERVER_OPTIONS = Object.freeze({
  ...DEFAULT_MESSAGE_LIMITS,
  handshakeTimeout: 10_000,
  closeTimeout: 5_000,
  idleTimeout: 0,
  pingInterval: 0,
  sendHighWaterMark: 64 * 1024,
  sendStallTimeout: 30_000,
  maxPendingPongs: 256,
  turnBudget: DEFAULT_TURN_BUDGET,
  memoryBudget: 1024 * 1024 * 1024,
  broadcastLimit: 1024 * 1024,
  slowReceiver: 'close' as SlowReceiverPolicy,
  maxTopicsPerConnection: 1000,
});

/** The `http2` option's settings, as an object. */
export type Http2Settings = Required<Exclude<NonNullable<ServerOptions['http2']>, boolean>>;

export const DEFAULT_HTTP2_OPTIONS: Readonly<Http2Settings> = Object.freeze({
  idleSessionTimeout: 120_000,
  maxConcurrentStreams: 256,
  streamWindowSize: 1024 * 1024,
  sessionWindowSize: 8 * 1024 * 1024,
});
