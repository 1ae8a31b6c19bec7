/**
 * Stable codes of every error the opening handshake raises, in one table.
 *
 * Each remote fault is a `HandshakeError` (src/errors.ts) carrying one of these
 * codes and the HTTP status written back to the peer; the status and the rule
 * that was broken are listed next to each code. Local faults (this program
 * misused the API) are `LocalError`s with the codes at the end.
 *
 * Codes are part of the public API: never rename one, only add.
 */
export const HandshakeErrorCode = {
  // --- HTTP message head (RFC 9112), raised by HttpHeadParser -------------

  /** 431. The head exceeds `maxHeadBytes` (RFC 6585 §5). */
  HEAD_TOO_LARGE: 'HS_ERR_HEAD_TOO_LARGE',
  /** 414. The request line exceeds `maxLineBytes` (RFC 9112 §3, RFC 9110 §15.5.15). */
  REQUEST_LINE_TOO_LONG: 'HS_ERR_REQUEST_LINE_TOO_LONG',
  /** 431. A header line (or a response's status line) exceeds `maxLineBytes` (RFC 6585 §5). */
  LINE_TOO_LONG: 'HS_ERR_LINE_TOO_LONG',
  /** 431. More header lines than `maxHeaderCount` (RFC 6585 §5). */
  TOO_MANY_HEADERS: 'HS_ERR_TOO_MANY_HEADERS',
  /** 400. The request line is not `method SP request-target SP HTTP-version` (RFC 9112 §3). */
  BAD_REQUEST_LINE: 'HS_ERR_BAD_REQUEST_LINE',
  /** 400. The status line is not `HTTP-version SP 3DIGIT [SP reason]` (RFC 9112 §4). */
  BAD_STATUS_LINE: 'HS_ERR_BAD_STATUS_LINE',
  /** 400. The first bytes are a TLS ClientHello: a TLS client reached a plain-text port. */
  TLS_ON_PLAIN_PORT: 'HS_ERR_TLS_ON_PLAIN_PORT',
  /** 505. The HTTP major version is not 1 (RFC 9110 §15.6.6). */
  HTTP_VERSION_UNSUPPORTED: 'HS_ERR_HTTP_VERSION_UNSUPPORTED',
  /** 400. A header line is malformed: bad name, space before the colon, control byte (RFC 9112 §5). */
  BAD_HEADER: 'HS_ERR_BAD_HEADER',
  /** 400. A line starts with whitespace: obsolete line folding (RFC 9112 §5.2, §2.2). */
  OBS_FOLD: 'HS_ERR_OBS_FOLD',

  // --- WebSocket upgrade request (RFC 6455 §4.2.1), raised by parseUpgradeRequest

  /** 405 with `Allow: GET`. The method is not GET (§4.1 item 2). */
  METHOD: 'HS_ERR_METHOD',
  /** 400. The HTTP version is below 1.1 (§4.1 item 2); 505 if the major version is not 1. */
  HTTP_VERSION: 'HS_ERR_HTTP_VERSION',
  /** 400. The request target is not origin-form or absolute-form, or has a fragment (§3, RFC 9112 §3.2). */
  TARGET: 'HS_ERR_TARGET',
  /** 400. Host is missing, repeated or empty (§4.1 item 4, RFC 9112 §3.2). */
  HOST: 'HS_ERR_HOST',
  /** 426 with `Upgrade`, `Connection`, `Sec-WebSocket-Version`. Not a WebSocket upgrade (§4.2.1 item 3). */
  NOT_UPGRADE: 'HS_ERR_NOT_UPGRADE',
  /** 400. Connection does not list the `upgrade` option (§4.2.1 item 4). */
  CONNECTION: 'HS_ERR_CONNECTION',
  /** 400. Sec-WebSocket-Key is missing, repeated, or not 16 base64-encoded bytes (§4.2.1 item 5). */
  KEY: 'HS_ERR_KEY',
  /** 426 with `Sec-WebSocket-Version: 13` (400 with it over HTTP/2, which has no Upgrade). Version missing or not 13 (§4.2.1 item 6, §4.4). */
  WS_VERSION: 'HS_ERR_WS_VERSION',
  /** 400. Sec-WebSocket-Protocol is not a list of unique tokens (§4.1, §11.3.4). */
  SUBPROTOCOL: 'HS_ERR_SUBPROTOCOL',
  /** 400. The request announces a body; the bytes after the head are frames (RFC 9112 §6.3). */
  BODY: 'HS_ERR_BODY',
  /** 400. Sec-WebSocket-Extensions is not a valid extension list (§9.1), raised by the extension-header parser. */
  EXTENSIONS: 'HS_ERR_EXTENSIONS',

  // --- WebSocket over an HTTP/2 stream (RFC 8441 §4–§5), raised by parseExtendedConnect

  /** 501. A CONNECT without `:protocol` asks for a tunnel (RFC 9113 §8.5), or `:protocol` is not `websocket`: not served (RFC 9110 §15.6.2). */
  NOT_WEBSOCKET_CONNECT: 'HS_ERR_NOT_WEBSOCKET_CONNECT',
  /** 400. `:scheme`, `:path` or `:authority` is missing, repeated or invalid, or Host disagrees with `:authority` (RFC 8441 §4–§5, RFC 9113 §8.3.1). */
  PSEUDO_HEADER: 'HS_ERR_PSEUDO_HEADER',
  /** 400. A connection-specific header (Connection, Upgrade, Keep-Alive, Transfer-Encoding...) over HTTP/2 (RFC 8441 §5, RFC 9113 §8.2.2). */
  CONNECTION_SPECIFIC_HEADER: 'HS_ERR_CONNECTION_SPECIFIC_HEADER',

  // --- The server's own decisions about a valid request (src/handshake/server-negotiation.ts, src/server/server.ts)

  /** 408. The request head did not arrive within `handshakeTimeout` (a slow or stalled peer). */
  TIMEOUT: 'HS_ERR_TIMEOUT',
  /** 404. No handler for the request path (`route()`, `path`): the server does not serve that resource (§4.2.1 item 2). */
  NOT_FOUND: 'HS_ERR_NOT_FOUND',
  /** 400. A path segment the router reads has malformed or non-UTF-8 percent-escapes (RFC 3986 §2.1): the path cannot be matched. */
  PATH_ENCODING: 'HS_ERR_PATH_ENCODING',
  /** 403. The `checkOrigin` hook refused the Origin header (§4.2.2 item 4, §10.2). */
  ORIGIN: 'HS_ERR_ORIGIN',
  /** The status the `authorize` hook chose (401, 403, ...): the server may refuse any handshake (§4.2.2). */
  REJECTED: 'HS_ERR_REJECTED',
  /** 500. A hook threw or rejected: the peer gets a plain 500, the error goes to the server's 'error' event. */
  INTERNAL: 'HS_ERR_INTERNAL',
  /** 503 with `Retry-After`. The server's connections hold more than `memoryBudget`: no new connection until it falls back (RFC 9110 §15.6.4). */
  OVERLOADED: 'HS_ERR_OVERLOADED',

  // --- The server's answer, as a client reads it (RFC 6455 §4.1), raised as
  // ClientHandshakeError by validateUpgradeResponse and connect(). No HTTP
  // status is sent back: the client fails the connection (closes TCP). The
  // head parser's codes above (BAD_STATUS_LINE, HEAD_TOO_LARGE...) also
  // reach a client this way when the response head is malformed.

  /** The server answered 3xx: the redirect (named in the error) is not followed (§4.1 item 1: "clients are not required to follow them"). */
  REDIRECT: 'HS_ERR_REDIRECT',
  /** The server answered another status than 101 (§4.1 item 1, §4.2.2: only 101 completes the handshake). */
  UNEXPECTED_STATUS: 'HS_ERR_UNEXPECTED_STATUS',
  /** A 101 over HTTP/1.0, which has no protocol switch (§4.1: the response is an HTTP/1.1 upgrade, RFC 9110 §7.8). */
  RESPONSE_HTTP_VERSION: 'HS_ERR_RESPONSE_HTTP_VERSION',
  /** The 101 lacks `Upgrade: websocket` (§4.1, response check 2). */
  RESPONSE_UPGRADE: 'HS_ERR_RESPONSE_UPGRADE',
  /** The 101's Connection header lacks the `Upgrade` token (§4.1, response check 3). */
  RESPONSE_CONNECTION: 'HS_ERR_RESPONSE_CONNECTION',
  /** Sec-WebSocket-Accept is missing or is not base64(SHA-1(key + GUID)) (§4.1, response check 4; §4.2.2 item 5.4). */
  ACCEPT_MISMATCH: 'HS_ERR_ACCEPT_MISMATCH',
  /** Sec-WebSocket-Extensions is not a valid extension list (§9.1). */
  RESPONSE_EXTENSIONS: 'HS_ERR_RESPONSE_EXTENSIONS',
  /** The server accepted an extension the client did not offer (§4.1, response check 5; §9.1). */
  EXTENSION_NOT_OFFERED: 'HS_ERR_EXTENSION_NOT_OFFERED',
  /** The server selected a subprotocol the client did not offer, or more than one (§4.1, response check 6; §4.2.2 item 5.5). */
  PROTOCOL_NOT_OFFERED: 'HS_ERR_PROTOCOL_NOT_OFFERED',
  /** TCP (and TLS) connect plus the whole response head did not complete within `connectTimeout`. */
  CONNECT_TIMEOUT: 'HS_ERR_CONNECT_TIMEOUT',
  /** The server closed the connection before its response head was complete. */
  NO_RESPONSE: 'HS_ERR_NO_RESPONSE',

  // --- The same answer over HTTP/2 (RFC 8441), raised as ClientHandshakeError
  // by connect() with `http2: true` (with 'auto' the first two fall back to
  // HTTP/1.1 instead).

  /** wss:// with `http2: true`: TLS did not select `h2` by ALPN (RFC 9113 §3.2, RFC 7301): the server does not speak HTTP/2 there. */
  H2_NOT_NEGOTIATED: 'HS_ERR_H2_NOT_NEGOTIATED',
  /** The server's HTTP/2 SETTINGS do not enable extended CONNECT (RFC 8441 §3: SETTINGS_ENABLE_CONNECT_PROTOCOL = 1), so no WebSocket can be opened on that connection. */
  H2_NO_EXTENDED_CONNECT: 'HS_ERR_H2_NO_EXTENDED_CONNECT',
  /** The server reset the extended CONNECT stream (RST_STREAM), or its connection went away (GOAWAY, error), before a response (RFC 9113 §6.4, §6.8). */
  H2_STREAM_RESET: 'HS_ERR_H2_STREAM_RESET',

  // --- Local faults (LocalError) -----------------------------------------

  /** A parser option is invalid: a limit that is not a positive integer, or an unknown kind. */
  INVALID_LIMIT: 'HS_ERR_INVALID_LIMIT',
  /** `feed()` was called after the head was complete (the rest belongs to the frame parser). */
  PARSER_FINISHED: 'HS_ERR_PARSER_FINISHED',
  /** A handshake machine (ServerHandshake, ClientHandshake) was given an input its state does not take: bytes after it decided, accept() before a request... */
  WRONG_STATE: 'HS_ERR_WRONG_STATE',
  /** A response header name is not a token, or its value holds CR, LF or another control byte. */
  INVALID_RESPONSE_HEADER: 'HS_ERR_INVALID_RESPONSE_HEADER',
  /** An extra response header would override one the builder owns (Sec-WebSocket-Accept, Content-Length...). */
  RESERVED_RESPONSE_HEADER: 'HS_ERR_RESERVED_RESPONSE_HEADER',
  /** A response argument is invalid: status out of range, bad key, subprotocol not a token. */
  INVALID_RESPONSE: 'HS_ERR_INVALID_RESPONSE',
  /** connect() was given a URL that is not ws:// or wss://, has a fragment (§3) or user info. */
  INVALID_URL: 'HS_ERR_INVALID_URL',
  /** An extra request header name is not a token, or its value holds CR, LF or another control byte. */
  INVALID_REQUEST_HEADER: 'HS_ERR_INVALID_REQUEST_HEADER',
  /** An extra request header would override one the client writes itself (Upgrade, Sec-WebSocket-Key...). */
  RESERVED_REQUEST_HEADER: 'HS_ERR_RESERVED_REQUEST_HEADER',
  /** A client option is invalid: subprotocols not unique tokens, a malformed extension offer, a bad timeout. */
  INVALID_CLIENT_OPTION: 'HS_ERR_INVALID_CLIENT_OPTION',
} as const;

export type HandshakeErrorCode = (typeof HandshakeErrorCode)[keyof typeof HandshakeErrorCode];
