/**
 * Stable codes of every error raised after the opening handshake, in one
 * table: what each means, the close code the connection is failed with, and
 * the rule it enforces. (The opening handshake has its own table:
 * src/handshake/error-codes.ts.)
 *
 * Four kinds:
 * - `protocol`: the peer broke a rule of RFC 6455 or RFC 7692, or went past a
 *   limit of ours (§10.4). A `ProtocolError`; we fail the connection
 *   (§7.1.7) with its close code.
 * - `policy`: the peer keeps to the protocol but not to this endpoint's
 *   policy (it does not read, does not answer pings), or the server sheds it
 *   to stay within its memory budget. Also a `ProtocolError`, raised by the
 *   connection shell rather than the parser.
 * - `internal`: something failed on our side while handling the
 *   connection (a bug, an extension or an event listener that threw):
 *   an `InternalError`, close code 1011 (§7.4.1).
 * - `local`: this program misused the API (a bad argument, a call in the
 *   wrong state). A `LocalError`; the connection is not affected.
 *
 * The same fault has the same code on both roles. Throw sites write the code
 * and a message that says what was seen; the close code and RFC section come
 * from here (`protocolError()`). Codes are part of the public API: never
 * rename one, only add.
 */
import { CloseCode } from '../framing/close-codes.js';
import { ProtocolError } from '../errors.js';

/** The four kinds of error (see above): who is at fault, and what happens to the connection. */
export type ErrorKind = 'protocol' | 'policy' | 'internal' | 'local';

/** One row of WEBSOCKET_ERRORS. */
export interface ErrorCodeEntry {
  readonly kind: ErrorKind;
  /** The close code the connection is failed with; null for a local error (nothing is sent). */
  readonly closeCode: number | null;
  /** The rule: a section of RFC 6455 (`5.2`), or `RFC 7692 §6` for another RFC; '' for a local error of our own API. */
  readonly section: string;
  /** What happened, in one line. */
  readonly meaning: string;
}

function entry<K extends ErrorKind, C extends number | null>(kind: K, closeCode: C, section: string, meaning: string): ErrorCodeEntry & { kind: K; closeCode: C } {
  return { kind, closeCode, section, meaning };
}

const { PROTOCOL_ERROR, INVALID_PAYLOAD, POLICY_VIOLATION, MESSAGE_TOO_BIG, INTERNAL_ERROR, TRY_AGAIN_LATER } = CloseCode;

/** Every error code after the handshake, with its kind, close code, RFC section and meaning. */
export const WEBSOCKET_ERRORS = {
  // --- Frames (§5.2), raised by FrameParser ---------------------------------
  WS_ERR_RESERVED_BITS: entry('protocol', PROTOCOL_ERROR, '5.2', 'An RSV bit is set that no negotiated extension defines (a continuation frame may carry none: RFC 7692 §6).'),
  WS_ERR_RESERVED_OPCODE: entry('protocol', PROTOCOL_ERROR, '5.2', 'The opcode is one of the reserved values 0x3–0x7 or 0xB–0xF.'),
  WS_ERR_INVALID_LENGTH: entry('protocol', PROTOCOL_ERROR, '5.2', 'The 64-bit payload length has its most significant bit set.'),
  WS_ERR_UNMASKED_FRAME: entry('protocol', PROTOCOL_ERROR, '5.1', 'A client sent a frame without a mask (server role).'),
  WS_ERR_MASKED_FRAME: entry('protocol', PROTOCOL_ERROR, '5.1', 'A server sent a masked frame (client role).'),
  WS_ERR_FRAGMENTED_CONTROL_FRAME: entry('protocol', PROTOCOL_ERROR, '5.5', 'A control frame (close, ping, pong) without FIN.'),
  WS_ERR_CONTROL_FRAME_TOO_LONG: entry('protocol', PROTOCOL_ERROR, '5.5', 'A control frame declares more than 125 bytes of payload.'),
  WS_ERR_FRAME_TOO_BIG: entry('protocol', MESSAGE_TOO_BIG, '10.4', 'A frame declares more payload than maxFrameSize (or maxMessageSize).'),

  // --- Messages (§5.4, §8.1, §10.4), raised by the protocol core --------------
  WS_ERR_UNEXPECTED_CONTINUATION: entry('protocol', PROTOCOL_ERROR, '5.4', 'A continuation frame arrived with no fragmented message to continue.'),
  WS_ERR_EXPECTED_CONTINUATION: entry('protocol', PROTOCOL_ERROR, '5.4', 'A new text or binary frame arrived inside a fragmented message.'),
  WS_ERR_TOO_MANY_FRAGMENTS: entry('protocol', MESSAGE_TOO_BIG, '10.4', 'A message is split into more frames than maxFragments.'),
  WS_ERR_MESSAGE_TOO_BIG: entry('protocol', MESSAGE_TOO_BIG, '10.4', 'A message (declared, or once decompressed) exceeds maxMessageSize.'),
  WS_ERR_INVALID_UTF8: entry('protocol', INVALID_PAYLOAD, '8.1', 'A text message is not valid UTF-8 (checked from the first bad byte on).'),

  // --- Close frames (§5.5.1, §7.4), raised by parseClosePayload ---------------
  WS_ERR_CLOSE_PAYLOAD_ONE_BYTE: entry('protocol', PROTOCOL_ERROR, '5.5.1', 'A close frame with a 1-byte payload (a status code takes two).'),
  WS_ERR_INVALID_CLOSE_CODE: entry('protocol', PROTOCOL_ERROR, '7.4.1', 'A close frame carries a status code that may not appear on the wire (1005, 1006, 1015, unassigned).'),
  WS_ERR_INVALID_CLOSE_REASON: entry('protocol', INVALID_PAYLOAD, '8.1', 'The reason in a close frame is not valid UTF-8.'),

  // --- permessage-deflate (RFC 7692), raised by the extension ----------------
  WS_ERR_INVALID_COMPRESSED_DATA: entry('protocol', INVALID_PAYLOAD, 'RFC 7692 §7.2.2', 'A compressed message cannot be inflated.'),
  WS_ERR_COMPRESSION_FAILED: entry('internal', INTERNAL_ERROR, 'RFC 7692 §7.2.1', 'Compressing an outgoing message failed.'),

  // --- Policies of the connection shell ------------------------------------
  WS_ERR_SEND_STALLED: entry('policy', POLICY_VIOLATION, '7.4.1', 'Bytes above sendHighWaterMark made no progress for sendStallTimeout: the peer does not read.'),
  WS_ERR_TOO_MANY_PONGS: entry('policy', POLICY_VIOLATION, '7.4.1', 'The peer keeps pinging but does not read our pongs (maxPendingPongs).'),
  WS_ERR_KEEPALIVE_TIMEOUT: entry('policy', INTERNAL_ERROR, '5.5.2', 'No pong came back within pingInterval of our keepalive ping.'),
  WS_ERR_OVER_MEMORY_BUDGET: entry('policy', TRY_AGAIN_LATER, '7.4.1', 'The server stayed over its memoryBudget and this connection held the most.'),

  // --- Internal errors -----------------------------------------------------
  WS_ERR_INTERNAL: entry('internal', INTERNAL_ERROR, '7.4.1', 'Something on our side threw while handling the connection: a bug, an extension, an event listener or handler. The error is its `cause`.'),

  // --- Local errors: API misuse (LocalError), nothing is sent ------------------
  WS_ERR_CONNECTION_CLOSED: entry('local', null, '', 'A send, ping or close on a connection that is closing or closed (ConnectionClosedError).'),
  WS_ERR_UNSENDABLE_CLOSE_CODE: entry('local', null, '7.4', 'close() was given a code that may not be sent (1005, 1006, 1015, outside 1000–4999).'),
  WS_ERR_CLOSE_REASON_TOO_LONG: entry('local', null, '5.5', 'close() was given a reason over 123 UTF-8 bytes.'),
  WS_ERR_CLOSE_REASON_WITHOUT_CODE: entry('local', null, '5.5.1', 'A close reason was given without a code.'),
  WS_ERR_CONTROL_PAYLOAD_TOO_LONG: entry('local', null, '5.5', 'ping() or pong() was given more than 125 bytes.'),
  WS_ERR_ENCODED_FRAME_ON_CLIENT: entry('local', null, '5.1', 'A client tried to send a pre-encoded (unmasked) frame.'),
  WS_ERR_INVALID_ARGUMENT: entry('local', null, '', 'send() or broadcast() was given something other than a string or bytes, or receive() a timeout that is not a number of ms.'),
  WS_ERR_ALREADY_ITERATING: entry('local', null, '', 'A second for-await loop over one connection (or over one MessageStream).'),
  WS_ERR_RECEIVE_TIMEOUT: entry('local', null, '', 'receive() waited its `timeout` without a message arriving; no message was taken, the next one stays queued.'),
  WS_ERR_FRAGMENT_OUT_OF_ORDER: entry('local', null, '5.4', 'sendFragment() was given a CONTINUATION with no fragmented message open, or a TEXT/BINARY frame inside one.'),
  WS_ERR_STREAM_IN_PROGRESS: entry('local', null, '5.4', 'sendStream() while another sendStream() on the same connection is still sending.'),
  WS_ERR_SEND_INVALID_UTF8: entry('local', null, '8.1', 'A text message to send (sendStream() with bytes, a text Duplex write) is not valid UTF-8; nothing invalid was sent.'),
  WS_ERR_INVALID_RANGE: entry('local', null, '', 'The UTF-8 validator was given a range outside its array.'),
  WS_ERR_INVALID_OPTION: entry('local', null, '', 'An option of createServer() or connect() (perMessageDeflate and httpLimits included) is outside its accepted range; the message names it and the range. Raised before any I/O, with the same code and message for both roles.'),
  WS_ERR_SLAB_RESERVED: entry('local', null, '', 'Internal misuse of the shared encode slab: a second reservation while one is open (src/framing/encode-slab.ts).'),
  WS_ERR_SLAB_COMMIT: entry('local', null, '', 'Internal misuse of the shared encode slab: a commit that matches no open reservation, or more bytes than reserved.'),
  WS_ERR_PUBLISH_TOO_BIG: entry('local', null, '', 'publish() with a backplane was given a message over maxMessageSize: refused, delivered nowhere.'),
  WS_ERR_BACKPLANE_BUSY: entry('local', null, '', 'publish() with the cluster backplane while too many publishes already wait for the IPC channel (maxPending): refused at once, delivered locally only.'),
  WS_ERR_BACKPLANE_CLOSED: entry('local', null, '', 'publish() with the cluster backplane after it closed or after the primary went away: delivered locally only.'),
  WS_ERR_REDIS_UNAVAILABLE: entry('local', null, '', 'redisBackplane (wsrfc/redis): Redis is unreachable or the publish failed; the message reached this process\'s subscribers only (also reported on the server\'s \'error\' event, once per outage).'),
  WS_ERR_REDIS_CLIENT_MISSING: entry('local', null, '', 'redisBackplane (wsrfc/redis) was started without the optional peer dependency `redis` installed (npm install redis).'),
  WS_ERR_NATS_UNAVAILABLE: entry('local', null, '', 'natsBackplane (wsrfc/nats): NATS is unreachable, too many publishes await it, or it did not acknowledge a publish; the message reached this process\'s subscribers only (also reported on the server\'s \'error\' event, once per outage).'),
  WS_ERR_NATS_MESSAGE_TOO_BIG: entry('local', null, '', 'natsBackplane (wsrfc/nats): a published message with its 17 bytes of framing is over the NATS server\'s max_payload (1 MiB by default); it reached this process\'s subscribers only.'),
  WS_ERR_NATS_CLIENT_MISSING: entry('local', null, '', 'natsBackplane (wsrfc/nats) was started without the optional peer dependency `nats` installed (npm install nats).'),
  WS_ERR_INVALID_ROUTE: entry('local', null, '', 'route() was given a pattern that does not start with "/", a parameter without a name, a wildcard not at the end, or a parameter named differently from one already at the same place.'),
  WS_ERR_INVALID_TOPIC: entry('local', null, '', 'subscribe(), unsubscribe() or publish() was given a topic that is not a string of 1 to 256 UTF-8 bytes.'),
  WS_ERR_TOO_MANY_TOPICS: entry('local', null, '', 'subscribe() past the server\'s maxTopicsPerConnection.'),
  WS_ERR_NO_TOPICS: entry('local', null, '', 'subscribe() or unsubscribe() on a connection without a topic registry (a client connection).'),
  WS_ERR_PROTOCOL_NOT_OFFERED: entry('local', null, '4.2.2', 'selectProtocol chose a subprotocol the client did not offer.'),
} as const satisfies Record<string, ErrorCodeEntry>;

/** Every error code of the table (`WS_ERR_...`). */
export type WebSocketErrorCode = keyof typeof WEBSOCKET_ERRORS;

/** The codes whose errors fail the connection with a ProtocolError. */
export type ProtocolErrorCode = {
  [C in WebSocketErrorCode]: (typeof WEBSOCKET_ERRORS)[C]['kind'] extends 'protocol' | 'policy' ? C : never;
}[WebSocketErrorCode];

/** A ProtocolError for `code`, with the close code and RFC section of its table entry. */
export function protocolError(code: ProtocolErrorCode, message: string, section: string = WEBSOCKET_ERRORS[code].section): ProtocolError {
  return new ProtocolError(code, WEBSOCKET_ERRORS[code].closeCode, section, message);
}
