/**
 * Public API. The protocol core (sans-I/O) is exported too, for people who
 * want to run it over their own transport.
 */
export { createServer, WebSocketServer, type ServerEvents } from './server/server.js';
export { WebSocketConnection, type Message, type SendData, type CloseInfo, type ConnectionEvents, type ConnectionRequest } from './connection/websocket-connection.js';
export { DEFAULT_SERVER_OPTIONS, type ServerOptions, type ConnectionHandler, type HandshakeRequest, type UpgradeVerdict } from './server/options.js';
export { WebSocketProtocol, type ProtocolListener, type ProtocolOptions } from './protocol/protocol.js';
export { ReadyState } from './protocol/ready-state.js';
export { DEFAULT_MESSAGE_LIMITS, type MessageLimits } from './protocol/limits.js';
export { CloseCode, isValidWireCloseCode, describeCloseCode } from './framing/close-codes.js';
export { Opcode } from './framing/opcodes.js';
export { encodeFrame } from './framing/frame-encoder.js';
export { WebSocketError, ProtocolError, HandshakeError, LocalError, ConnectionClosedError } from './errors.js';
export { computeAcceptKey } from './handshake/accept-key.js';
export { Utf8Validator, isValidUtf8 } from './utf8/utf8-validator.js';
export { connect } from './client/connect.js';
export { ClientConnection, type ClientHandshakeResult } from './client/client-connection.js';
export { DEFAULT_CLIENT_OPTIONS, type ClientOptions, type ClientTlsOptions } from './client/options.js';
export { ClientHandshakeError, validateUpgradeResponse, type UpgradeOffer, type AcceptedUpgrade } from './handshake/upgrade-response.js';
export { generateClientKey } from './handshake/accept-key.js';
export { HandshakeErrorCode } from './handshake/error-codes.js';
export { serveStatic, type StaticFilesOptions } from './http/static-files.js';
export { contentTypeFor } from './http/content-types.js';
export { SLOW_RECEIVER_REASON, type BroadcastResult, type SlowReceiverPolicy } from './server/broadcast.js';
export { type ClientDeflateOptions } from './client/deflate-negotiation.js';
