/**
 * `wsrfc/sans-io`: the pieces for driving WebSocket over a transport of your
 * own. Nothing here opens a socket, starts a timer or emits an event: bytes
 * go in, events and bytes come out (see STYLE.md, "sans-I/O").
 *
 * - the protocol core (WebSocketProtocol): an upgraded connection's frames,
 *   messages, pings and closing handshake (RFC 6455 §5–§7);
 * - the frame codec: parse (FrameParser) and encode (encodeFrame) single
 *   frames, masking, opcodes, close codes and the close payload (§5, §7.4);
 * - the opening handshake's pieces: HTTP head parser, upgrade request and
 *   response, Sec-WebSocket-Accept (§4);
 * - the incremental UTF-8 validator (§8.1);
 * - extensions: the Sec-WebSocket-Extensions grammar (§9.1) and the
 *   permessage-deflate codec and negotiation (RFC 7692).
 *
 * Applications want `wsrfc` (src/index.ts). test/unit/public-surface.test.ts
 * holds the exact list of names exported here.
 */

// ─── Protocol core (§5–§7) ──────────────────────────────────────────────────
export {
  WebSocketProtocol,
  DEFAULT_TURN_BUDGET,
  type ProtocolListener,
  type ProtocolOptions,
} from './protocol/protocol.js';
export { ReadyState } from './protocol/ready-state.js';
export {
  ClosePhase,
  TransportAction,
  ACTIVE_STATE,
  sendCloseFrame,
  receiveCloseFrame,
  failConnection,
  terminate,
  transportActionFor,
  closeInfoOf,
  type CloseState,
  type CloseFrameInfo,
  type CloseInitiator,
  type CloseInfo,
} from './protocol/close-state.js';
export { DEFAULT_MESSAGE_LIMITS, type MessageLimits } from './protocol/limits.js';
export { describeFrame, type FrameLogger } from './protocol/frame-log.js';

// ─── Frame codec (§5, §7.4) ─────────────────────────────────────────────────
export { FrameParser, type FrameSink, type FrameParserOptions } from './framing/frame-parser.js';
export { encodeFrame, headerSize, writeFrameHeader, MAX_HEADER_BYTES } from './framing/frame-encoder.js';
export { FrameWriter, COPY_THRESHOLD } from './framing/frame-writer.js';
export { Opcode, isControlOpcode, opcodeName } from './framing/opcodes.js';
export { CloseCode, isValidWireCloseCode, describeCloseCode } from './framing/close-codes.js';
export { parseClosePayload, buildClosePayload, MAX_CLOSE_REASON_BYTES, type ClosePayload } from './framing/close-payload.js';
export { applyMask } from './framing/mask.js';
export { randomMaskKey, type MaskKeySource } from './framing/mask-key.js';

// ─── Opening handshake pieces (§4) ──────────────────────────────────────────
export {
  HttpHeadParser,
  DEFAULT_HTTP_HEAD_LIMITS,
  type HttpHeadLimits,
  type HttpRequestHead,
  type HttpResponseHead,
  type HttpHeadKind,
  type HttpHeadOf,
  type HttpHeadResult,
} from './handshake/http-head-parser.js';
export { HttpHeaders } from './handshake/http-headers.js';
export { parseUpgradeRequest, WEBSOCKET_VERSION, type UpgradeRequest } from './handshake/upgrade-request.js';
export { buildAcceptResponse, buildErrorResponse, rejectionFor, type AcceptResponseOptions } from './handshake/http-response.js';
export { computeAcceptKey, generateClientKey, isValidClientKey, WEBSOCKET_GUID } from './handshake/accept-key.js';
export { buildUpgradeRequest, type UpgradeRequestSpec } from './client/upgrade-request-builder.js';
export {
  validateUpgradeResponse,
  ClientHandshakeError,
  type UpgradeOffer,
  type AcceptedUpgrade,
} from './handshake/upgrade-response.js';
export { HandshakeErrorCode } from './handshake/error-codes.js';
export {
  ServerHandshake,
  type ServerHandshakeOptions,
  type ServerHandshakeState,
  type NeedMore,
  type UpgradeRequested,
  type PlainHttpRequest,
  type HandshakeRejected,
  type HandshakeAccepted,
  type HandshakeAbandoned,
  type HandshakeOver,
  type AcceptDecisions,
} from './handshake/server-handshake.js';
export { type HandshakeRequest, type UpgradeVerdict } from './server/options.js';
export { negotiate, checkSelectedProtocol, checkRefusalStatus, negotiateExtensions, type NegotiationPolicy, type NegotiatedUpgrade } from './handshake/server-negotiation.js';
export {
  ClientHandshake,
  MAX_REFUSAL_BODY,
  type ClientHandshakeOptions,
  type ClientHandshakeState,
  type ClientHandshakeAccepted,
  type ClientHandshakeRejected,
} from './handshake/client-handshake.js';
export { checkServerSelection, type NegotiationOffer, type ServerSelection, type AcceptedSelection } from './handshake/client-negotiation.js';
// WebSockets over HTTP/2 (RFC 8441): the extended CONNECT judged and answered as header blocks; h2c's preface recognised.
export {
  parseExtendedConnect,
  buildExtendedConnectResponse,
  buildExtendedConnectRejection,
  type Http2RequestHeaders,
  type Http2ResponseHeaders,
  type Http2Rejection,
} from './handshake/extended-connect.js';
export { sniffHttp2Preface, HTTP2_PREFACE, type PrefaceVerdict } from './handshake/http2-preface.js';
export { CONNECTION_SPECIFIC_FIELDS, isConnectionSpecificField } from './handshake/connection-specific-fields.js';
export {
  buildExtendedConnectRequest,
  responseHeadOf,
  judgeExtendedConnectResponse,
  isExtendedConnectSuccess,
  refusalOf,
  type ExtendedConnectRequestSpec,
  type ExtendedConnectRequestFields,
  type ExtendedConnectResponseFields,
  type ExtendedConnectOffer,
  type ExtendedConnectAccepted,
} from './handshake/client-extended-connect.js';

// ─── UTF-8 (§8.1) ───────────────────────────────────────────────────────────
export { Utf8Validator, isValidUtf8 } from './utf8/utf8-validator.js';

// ─── Extensions (§9, RFC 7692) ──────────────────────────────────────────────
export { type MessageExtension, type ExtensionCallback } from './extensions/extension.js';
export { parseExtensionHeader, formatExtension, type ExtensionOffer } from './extensions/extension-header.js';
export { PerMessageDeflate, PERMESSAGE_DEFLATE, deflateBound, type DeflateCodecConfig } from './extensions/permessage-deflate.js';
export {
  negotiateDeflate,
  deflateOffer,
  acceptDeflateResponse,
  deflateCodec,
  resolveDeflateOptions,
  DEFAULT_DEFLATE_OPTIONS,
  type DeflateAgreement,
  type AcceptedDeflateOffer,
  type DeflateSettings,
  type PerMessageDeflateOptions,
} from './extensions/permessage-deflate-negotiation.js';

// ─── Errors ─────────────────────────────────────────────────────────────────
export { WebSocketError, ProtocolError, InternalError, HandshakeError, LocalError, type ConnectionFailure } from './errors.js';
export {
  WEBSOCKET_ERRORS,
  protocolError,
  type WebSocketErrorCode,
  type ProtocolErrorCode,
  type ErrorCodeEntry,
  type ErrorKind,
} from './protocol/error-codes.js';

// ─── When a reconnecting client retries (pure policy) ───────────────────────
export {
  retryAfterFailure,
  reconnectsAfterClose,
  endingCode,
  backoffDelay,
  parseRetryAfter,
  RECONNECT_CLOSE_CODES,
  DEFAULT_RECONNECT_OPTIONS,
  type FailureVerdict,
  type ReconnectOptions,
} from './client/reconnect-policy.js';
