/**
 * The bytes of the server's answer to an opening handshake: the 101 that
 * switches to WebSocket (RFC 6455 §4.2.2 item 5), or an error response that
 * rejects it (§4.2.1: "the server MUST stop processing the client's handshake
 * and return an HTTP response with an appropriate error code").
 *
 * Every header the caller adds is checked: a name must be a token and a value
 * must hold no CR, LF or other control character, so no caller-supplied string
 * can end the head early and inject headers or a body (response splitting).
 */
import { HandshakeError, LocalError } from '../errors.js';
import { computeAcceptKey, isValidClientKey } from './accept-key.js';
import { HandshakeErrorCode as Code } from './error-codes.js';
import { checkRefusalStatus } from './server-negotiation.js';
import { isFieldValue, isToken, listHasToken } from './tokens.js';

/** Reason phrases (RFC 9110 §15) of the statuses a handshake may answer with. */
const REASON_PHRASES: Readonly<Record<number, string>> = {
  101: 'Switching Protocols',
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  408: 'Request Timeout',
  409: 'Conflict',
  410: 'Gone',
  413: 'Content Too Large',
  414: 'URI Too Long',
  426: 'Upgrade Required',
  429: 'Too Many Requests',
  431: 'Request Header Fields Too Large',
  500: 'Internal Server Error',
  501: 'Not Implemented',
  502: 'Bad Gateway',
  503: 'Service Unavailable',
  504: 'Gateway Timeout',
  505: 'HTTP Version Not Supported',
};

/** The standard reason phrase of `status`, or `''` (RFC 9112 §4: the reason-phrase may be empty). */
export function reasonPhrase(status: number): string {
  return REASON_PHRASES[status] ?? '';
}

/** What goes into a 101 besides Sec-WebSocket-Accept: the selected subprotocol, the extension answer, extra headers (§4.2.2 item 5). */
export interface AcceptResponseOptions {
  /** The subprotocol the server selected from the client's offers (§4.2.2 item 5.5). A token. */
  protocol?: string;
  /** The negotiated extensions, already serialized (§4.2.2 item 5.6). */
  extensions?: string;
  /** Extra headers, e.g. `Set-Cookie`. Must not repeat a header this builder writes. */
  headers?: Record<string, string>;
}

/** Headers the 101 writes itself; extra headers may not override them. */
const ACCEPT_OWNED = new Set([
  'upgrade',
  'connection',
  'sec-websocket-accept',
  'sec-websocket-protocol',
  'sec-websocket-extensions',
  'content-length',
  'transfer-encoding',
]);

/**
 * The 101 response completing the handshake, RFC 6455 §4.2.2 item 5:
 *
 *     HTTP/1.1 101 Switching Protocols
 *     Upgrade: websocket
 *     Connection: Upgrade
 *     Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=
 *     [Sec-WebSocket-Protocol: chat]
 *     [Sec-WebSocket-Extensions: ...]
 *     [extra headers]
 *
 * `key` is the client's Sec-WebSocket-Key. Throws `LocalError` on an invalid
 * key, a subprotocol that is not a token, or an unsafe or reserved header.
 */
export function buildAcceptResponse(key: string, options: AcceptResponseOptions = {}): Buffer {
  if (!isValidClientKey(key)) {
    throw new LocalError(Code.INVALID_RESPONSE, 'buildAcceptResponse: the key is not a valid Sec-WebSocket-Key');
  }
  const lines = [
    'HTTP/1.1 101 Switching Protocols',
    // §4.2.2 item 5.2: "An |Upgrade| header field with value "websocket""
    'Upgrade: websocket',
    // §4.2.2 item 5.3: "A |Connection| header field with value "Upgrade""
    'Connection: Upgrade',
    // §4.2.2 item 5.4
    `Sec-WebSocket-Accept: ${computeAcceptKey(key)}`,
  ];
  if (options.protocol !== undefined) {
    // §4.2.2 item 5.5: the value is one subprotocol (a token) the client offered.
    if (!isToken(options.protocol)) {
      throw new LocalError(Code.INVALID_RESPONSE, `buildAcceptResponse: subprotocol ${JSON.stringify(options.protocol)} is not a token`);
    }
    lines.push(`Sec-WebSocket-Protocol: ${options.protocol}`);
  }
  if (options.extensions !== undefined) {
    checkHeader('Sec-WebSocket-Extensions', options.extensions);
    lines.push(`Sec-WebSocket-Extensions: ${options.extensions}`);
  }
  appendExtraHeaders(lines, options.headers, ACCEPT_OWNED);
  return Buffer.from(`${lines.join('\r\n')}\r\n\r\n`, 'latin1');
}

/** Headers an error response writes itself (Connection is merged instead, see below). */
const ERROR_OWNED = new Set(['content-type', 'content-length', 'transfer-encoding']);

/**
 * An error response rejecting the handshake: the status line with its
 * standard reason phrase, `Content-Type: text/plain; charset=utf-8`,
 * `Content-Length`, `Connection: close`, the extra `headers`, and
 * `reason + "\n"` as the body (UTF-8).
 *
 * The server closes the connection after it, so `close` is always in
 * Connection; a caller's Connection value (the `Upgrade` of a 426) is kept
 * and `close` appended to it: `Connection: Upgrade, close`.
 *
 * Throws `LocalError` if `status` is not 100–599, or a header is unsafe or
 * reserved.
 */
export function buildErrorResponse(status: number, reason: string, headers: Record<string, string> = {}): Buffer {
  if (!Number.isInteger(status) || status < 100 || status > 599) {
    throw new LocalError(Code.INVALID_RESPONSE, `buildErrorResponse: status ${status} is not an HTTP status code`);
  }
  const body = Buffer.from(`${reason}\n`, 'utf8');
  const phrase = reasonPhrase(status);
  const lines = [`HTTP/1.1 ${status}${phrase === '' ? ' ' : ` ${phrase}`}`];

  let connection = 'close';
  const extra: Record<string, string> = Object.create(null) as Record<string, string>;
  for (const name of Object.keys(headers)) {
    const value = headers[name];
    checkHeader(name, value);
    if (name.toLowerCase() === 'connection') {
      connection = listHasToken(value, 'close') ? value : `${value}, close`;
    } else {
      extra[name] = value;
    }
  }
  lines.push('Content-Type: text/plain; charset=utf-8', `Content-Length: ${body.length}`, `Connection: ${connection}`);
  appendExtraHeaders(lines, extra, ERROR_OWNED);
  return Buffer.concat([Buffer.from(`${lines.join('\r\n')}\r\n\r\n`, 'latin1'), body]);
}

/** The error response for a failed handshake: its status, message as reason, and headers. */
export function rejectionFor(error: HandshakeError): Buffer {
  // A 101 would be the acceptance (RFC 6455 §4.2.2 item 5.1), a 2xx not a refusal either: 3xx–5xx only.
  checkRefusalStatus(error.status);
  return buildErrorResponse(error.status, error.message, { ...error.headers });
}

function appendExtraHeaders(lines: string[], headers: Record<string, string> | undefined, owned: ReadonlySet<string>): void {
  if (headers === undefined) return;
  for (const name of Object.keys(headers)) {
    const value = headers[name];
    checkHeader(name, value);
    if (owned.has(name.toLowerCase())) {
      throw new LocalError(Code.RESERVED_RESPONSE_HEADER, `header ${name} is written by the response builder and cannot be set`);
    }
    lines.push(`${name}: ${value}`);
  }
}

/** A header this library writes: name a token (RFC 9110 §5.1), value free of CR, LF and other controls (§5.5). */
function checkHeader(name: string, value: unknown): asserts value is string {
  if (!isToken(name)) {
    throw new LocalError(Code.INVALID_RESPONSE_HEADER, `response header name ${JSON.stringify(name)} is not a token`);
  }
  if (typeof value !== 'string' || !isFieldValue(value)) {
    throw new LocalError(
      Code.INVALID_RESPONSE_HEADER,
      `value of response header ${name} has a control character (CR, LF...), surrounding whitespace, or a character above U+00FF`,
    );
  }
}
