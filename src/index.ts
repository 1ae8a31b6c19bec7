/**
 * `wsrfc`: the library for applications — a server, a client, the
 * connection both hand you, the errors they throw, the constants you compare
 * against, and every type that appears in their signatures (so you can name
 * whatever the API gives you or asks of you).
 *
 * To drive the protocol core over a transport of your own (a test harness,
 * another event loop, HTTP/2), import from `wsrfc/sans-io` instead
 * (src/sans-io.ts): frame codec, handshake pieces, UTF-8 validator, deflate
 * codec, and the sans-I/O core itself.
 *
 * test/unit/public-surface.test.ts holds the exact list of names exported
 * here and checks that every type a public signature mentions is among them:
 * a new export goes in both places.
 */

// ─── Server ─────────────────────────────────────────────────────────────────
export { createServer, WebSocketServer, type ServerEvents } from './server/server.js';
export {
  DEFAULT_SERVER_OPTIONS,
  type ServerOptions,
  type ConnectionHandler,
  type HandshakeRequest,
  type UpgradeVerdict,
} from './server/options.js';
export { type BroadcastResult, type SlowReceiverPolicy } from './server/broadcast.js';
export { type MemoryBudget } from './server/memory-budget.js';
export { serveStatic, type StaticFilesOptions } from './http/static-files.js';

// ─── Client ─────────────────────────────────────────────────────────────────
export { connect } from './client/connect.js';
export { ClientConnection, type ClientHandshakeResult } from './client/client-connection.js';
export { DEFAULT_CLIENT_OPTIONS, type ClientOptions, type ClientTlsOptions } from './client/options.js';
export { type ClientDeflateOptions } from './extensions/permessage-deflate-negotiation.js';

// ─── The connection (both roles) ────────────────────────────────────────────
export {
  WebSocketConnection,
  type Message,
  type SendData,
  type CloseInfo,
  type ConnectionEvents,
  type ConnectionRequest,
} from './connection/websocket-connection.js';

// ─── Errors ─────────────────────────────────────────────────────────────────
export { WebSocketError, ProtocolError, InternalError, HandshakeError, LocalError, ConnectionClosedError, type ConnectionFailure } from './errors.js';
export { WEBSOCKET_ERRORS, type WebSocketErrorCode, type ErrorCodeEntry, type ErrorKind } from './protocol/error-codes.js';
export { type CloseFrameInfo, type CloseInitiator } from './protocol/close-state.js';
export { ClientHandshakeError } from './handshake/upgrade-response.js';
export { HandshakeErrorCode } from './handshake/error-codes.js';

// ─── Constants ──────────────────────────────────────────────────────────────
export { ReadyState } from './protocol/ready-state.js';
export { CloseCode, describeCloseCode } from './framing/close-codes.js';
export { DEFAULT_MESSAGE_LIMITS, type MessageLimits } from './protocol/limits.js';

// ─── Topics, streams, reconnecting (issue 12) ───────────────────────────────
export { type PublishOptions, type PublishResult } from './server/server.js';
export { type Backplane, type BackplaneDelivery } from './server/backplane.js';
export { runWorkers, type RunWorkersOptions, type WorkerPool, type WorkerProcess } from './cluster/workers.js';
export { clusterBackplane, type ClusterBackplaneOptions } from './cluster/cluster-backplane.js';
export { LocalTopicRegistry, MAX_TOPIC_BYTES, type TopicRegistry, type TopicListener, type TopicDelivery } from './server/topics.js';
export { MessageStream } from './connection/message-stream.js';
export { type ReceiveOptions } from './connection/message-queue.js';
export { type SendOptions, type SendStreamOptions, type SendStreamSource, type SendStreamChunk } from './connection/websocket-connection.js';
export { createWebSocketStream, type WebSocketStreamOptions } from './connection/duplex-stream.js';
export {
  reconnecting,
  ReconnectingClient,
  type ReconnectingOptions,
  type ReconnectEnd,
  type ReconnectRetry,
  type ReconnectingEvents,
} from './client/reconnecting.js';
export { DEFAULT_RECONNECT_OPTIONS, endingCode, type ReconnectOptions } from './client/reconnect-policy.js';

// ─── HTTP/2 (RFC 8441) and TLS for development (issue 14) ──────────────────
export { createSelfSignedCert, type SelfSignedCert, type SelfSignedCertOptions } from './tls/self-signed-cert.js';

// ─── Types that appear in the signatures above ──────────────────────────────
export { type HttpHeaders } from './handshake/http-headers.js';
export { type HttpHeadLimits, type HttpResponseHead } from './handshake/http-head-parser.js';
export { type UpgradeRequest } from './handshake/upgrade-request.js';
export { type PerMessageDeflateOptions } from './extensions/permessage-deflate-negotiation.js';
export { type FrameLogger } from './protocol/frame-log.js';
export { type WireTap } from './connection/websocket-connection.js';
export { type MaskKeySource } from './framing/mask-key.js';

