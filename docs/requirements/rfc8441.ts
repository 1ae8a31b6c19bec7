/**
 * RFC 8441 (Bootstrapping WebSockets with HTTP/2) requirements that bind a
 * server or a client, traced to code and tests (see types.ts). Sentences in quotes are
 * the RFC's; the others are close paraphrases. What RFC 8441 asks of the
 * HTTP/2 layer itself (the SETTINGS value, pseudo-header syntax) is
 * node:http2's; the entries here are what our check and our door do.
 */
import type { CodeRef, Requirement, TestRef } from './types.js';

const code = (file: string, contains: string, occurrence?: number): CodeRef => (occurrence === undefined ? { file, contains } : { file, contains, occurrence });
const test = (file: string, name: string): TestRef => ({ file, name });

const CHECK = 'src/handshake/extended-connect.ts';
const DOOR = 'src/server/http2-door.ts';
const TRANSPORT = 'src/connection/transport.ts';
const CLIENT_REQUEST = 'src/handshake/client-extended-connect.ts';
const CLIENT_SESSIONS = 'src/client/http2-sessions.ts';

const T_CHECK = 'test/unit/extended-connect.test.ts';
const E_SERVER = 'test/e2e/http2-server.test.ts';
const T_CLIENT_REQUEST = 'test/unit/client-extended-connect.test.ts';
const E_CLIENT = 'test/e2e/http2-client.test.ts';

/** The client's extended CONNECT, checked whole: the pseudo-headers, the version, no key. */
const CLIENT_HEADER_LIST = [
  test(T_CLIENT_REQUEST, 'the pseudo-headers of RFC 8441 §5, sec-websocket-version 13, no key, in order'),
  test(E_CLIENT, 'h2c: the extended CONNECT header list of RFC 8441 §5'),
];

export const RFC8441: Requirement[] = [
  // ------------------------------------------------------------------ §3
  {
    id: '8441-3-advertise',
    rfc: 8441, section: '3', keyword: 'MUST NOT', roles: 'server',
    text: 'A client may use the extended CONNECT only after "receipt of SETTINGS_ENABLE_CONNECT_PROTOCOL with a value of 1"; and "A sender MUST NOT send a SETTINGS_ENABLE_CONNECT_PROTOCOL parameter with the value of 0 after previously sending a value of 1." — the server sends 1 in its first SETTINGS and never changes it.',
    code: [code(DOOR, 'enableConnectProtocol: true,')],
    tests: [test(E_SERVER, 'text, binary, fragmented, ping/pong; the server sends unmasked frames')],
  },
  // ------------------------------------------------------------------ §4
  {
    id: '8441-4-scheme-and-path',
    rfc: 8441, section: '4', keyword: 'MUST', roles: 'server',
    text: '"On requests that contain the :protocol pseudo-header field, the :scheme and :path pseudo-header fields of the target URI (see Section 5) MUST also be included." — a request without them is refused (nghttp2 resets it as malformed before we see it; our check answers 400).',
    code: [code(CHECK, "const scheme = pseudo(fields, ':scheme');"), code(CHECK, "const target = pseudo(fields, ':path');")],
    tests: [test(T_CHECK, ':scheme missing, empty or not http(s): 400'), test(T_CHECK, ':path missing, empty, not absolute'), test(E_SERVER, 'without ${missing}: RST_STREAM PROTOCOL_ERROR')],
  },
  {
    id: '8441-4-no-tunnel',
    rfc: 8441, section: '4', keyword: 'MUST NOT', roles: 'server',
    text: '"the server MUST NOT create a tunnel to the host indicated by the :authority as it would with a CONNECT method request that was not modified by this extension." — :authority is the request\'s host (the Host of HTTP/1.1), and a CONNECT without :protocol is refused, never tunnelled.',
    code: [code(CHECK, "throw new HandshakeError(Code.NOT_WEBSOCKET_CONNECT, 501, 'CONNECT without :protocol"), code(CHECK, 'host: authority,')],
    tests: [test(E_SERVER, 'CONNECT without :protocol (a tunnel request): 501'), test(T_CHECK, 'CONNECT without :protocol (a tunnel), or another protocol: 501')],
  },
  // ------------------------------------------------------------------ §5
  {
    id: '8441-5-protocol-websocket',
    rfc: 8441, section: '5', keyword: 'MUST', roles: 'server',
    text: '"The :protocol pseudo-header field MUST be included in the CONNECT request, and it MUST have a value of "websocket" to initiate a WebSocket connection on an HTTP/2 stream." — compared ignoring ASCII case, as RFC 6455 compares Upgrade.',
    code: [code(CHECK, "if (!equalsIgnoreAsciiCase(protocol, 'websocket')) {")],
    tests: [test(E_SERVER, ':protocol other than websocket: 501'), test(T_CHECK, '`:protocol` and `:scheme` are compared ignoring ASCII case')],
  },
  {
    id: '8441-5-scheme',
    rfc: 8441, section: '5', keyword: 'MUST', roles: 'server',
    text: '"The scheme of the target URI ... MUST be "https" for "wss"-schemed WebSockets and "http" for "ws"-schemed WebSockets." — any other :scheme is refused with 400 (not compared with the connection\'s TLS: a TLS-terminating proxy may forward https over h2c).',
    code: [code(CHECK, "if (!equalsIgnoreAsciiCase(scheme, 'https') && !equalsIgnoreAsciiCase(scheme, 'http')) {")],
    tests: [test(E_SERVER, ':scheme that is not http(s), a :path with a fragment'), test(T_CHECK, ':scheme missing, empty or not http(s): 400')],
  },
  {
    id: '8441-5-no-connection-upgrade',
    rfc: 8441, section: '5', keyword: 'MUST NOT', roles: 'server',
    text: '"[RFC6455] requires the use of Connection and Upgrade header fields that are not part of HTTP/2. They MUST NOT be included in the CONNECT request defined here." — a request with them is malformed (RFC 9113 §8.2.2); and the answer never carries them, even when authorize() adds them.',
    code: [code(CHECK, "throw new HandshakeError(Code.CONNECTION_SPECIFIC_HEADER, 400,"), code(CHECK, "if (lower === 'te' || isConnectionSpecificField(lower, value)) continue;")],
    tests: [test(T_CHECK, 'connection-specific fields (Connection, Upgrade'), test(E_SERVER, 'Connection or Upgrade in the request'), test(T_CHECK, 'accept: :status 200, the subprotocol and extensions')],
  },
  {
    id: '8441-5-version-13',
    rfc: 8441, section: '5', keyword: 'MUST', roles: 'server',
    text: '"The Origin [RFC6454], Sec-WebSocket-Version, Sec-WebSocket-Protocol, and Sec-WebSocket-Extensions header fields are used in the CONNECT request and response header fields as defined in [RFC6455]." — RFC 6455 §4.2.2 item 4 (MUST) for the version: refused with sec-websocket-version: 13, as 400 since a 426 needs Upgrade.',
    code: [code(CHECK, 'if (versions.length !== 1 || versions[0] !== String(WEBSOCKET_VERSION)) {')],
    tests: [test(E_SERVER, 'sec-websocket-version missing or 8: 400 with sec-websocket-version: 13'), test(T_CHECK, 'sec-websocket-version missing, repeated or not 13')],
  },
  {
    id: '8441-5-closing',
    rfc: 8441, section: '5', keyword: 'MUST', roles: 'server',
    text: 'The stream is the TCP connection of RFC 6455 (whose §7.1.1 the server MUST follow to close it): "Orderly TCP-level closures are represented as END_STREAM flags ... RST exceptions are represented with the RST_STREAM frame ... with the CANCEL error code".',
    code: [code(TRANSPORT, 'if (!transport.closed) transport.close(Http2ErrorCode.CANCEL);')],
    tests: [
      test(E_SERVER, 'the server closes: its close frame, the client answers, END_STREAM ends the stream'),
      test(E_SERVER, 'after closeTimeout the stream (only) is reset with RST_STREAM CANCEL'),
      test(E_SERVER, 'a stream reset by the client: the server side closes with 1006'),
    ],
  },
  // ------------------------------------------------------- the client's side
  {
    id: '8441-3-client-waits-for-setting',
    rfc: 8441, section: '3', keyword: 'MUST', roles: 'client',
    text: '"Upon receipt of SETTINGS_ENABLE_CONNECT_PROTOCOL with a value of 1, a client MAY use the Extended CONNECT"; before it, not: the extension changes the semantics of CONNECT, and RFC 7540 §5.5 says such extensions "MUST be negotiated before being used". — the client sends no extended CONNECT before the server\'s SETTINGS say 1; without it, http2: true fails and \'auto\' falls back to HTTP/1.1.',
    code: [code(CLIENT_SESSIONS, 'if (settings.enableConnectProtocol === true) {')],
    tests: [
      test(E_CLIENT, 'h2c without SETTINGS_ENABLE_CONNECT_PROTOCOL: http2: true rejects with HS_ERR_H2_NO_EXTENDED_CONNECT, no stream opened'),
      test(E_CLIENT, "TLS h2 without extended CONNECT, HTTP/1.1 beside it (allowHTTP1): 'auto' falls back"),
    ],
  },
  {
    id: '8441-4-client-scheme-and-path',
    rfc: 8441, section: '4', keyword: 'MUST', roles: 'client',
    text: '"On requests that contain the :protocol pseudo-header field, the :scheme and :path pseudo-header fields of the target URI (see Section 5) MUST also be included."',
    code: [code(CLIENT_REQUEST, "':scheme': spec.secure ? 'https' : 'http',"), code(CLIENT_REQUEST, "':path': spec.resource,")],
    tests: CLIENT_HEADER_LIST,
  },
  {
    id: '8441-5-client-protocol-websocket',
    rfc: 8441, section: '5', keyword: 'MUST', roles: 'client',
    text: '"The :protocol pseudo-header field MUST be included in the CONNECT request, and it MUST have a value of "websocket" to initiate a WebSocket connection on an HTTP/2 stream."',
    code: [code(CLIENT_REQUEST, "':protocol': 'websocket',")],
    tests: CLIENT_HEADER_LIST,
  },
  {
    id: '8441-5-client-scheme',
    rfc: 8441, section: '5', keyword: 'MUST', roles: 'client',
    text: '"The scheme of the target URI ... MUST be "https" for "wss"-schemed WebSockets and "http" for "ws"-schemed WebSockets."',
    code: [code(CLIENT_REQUEST, "':scheme': spec.secure ? 'https' : 'http',")],
    tests: [...CLIENT_HEADER_LIST, test(E_CLIENT, "TLS h2 with extended CONNECT: 'auto' uses it (:scheme https)")],
  },
  {
    id: '8441-5-client-no-connection-upgrade',
    rfc: 8441, section: '5', keyword: 'MUST NOT', roles: 'client',
    text: '"[RFC6455] requires the use of Connection and Upgrade header fields that are not part of HTTP/2. They MUST NOT be included in the CONNECT request defined here." — the client never writes them; an application header that is connection-specific (RFC 9113 §8.2.2) is dropped (Keep-Alive, Proxy-Connection, TE) or refused before any I/O (Connection, Upgrade, Transfer-Encoding...).',
    code: [code(CLIENT_REQUEST, 'else if (!isConnectionSpecificField(lower, value)) extra.push([lower, value]);'), code(CLIENT_REQUEST, 'throw new LocalError(Code.RESERVED_REQUEST_HEADER')],
    tests: [
      test(T_CLIENT_REQUEST, 'connection-specific fields dropped'),
      test(E_CLIENT, 'a header HTTP/2 cannot carry is refused before any I/O, as over HTTP/1.1'),
    ],
  },
  {
    id: '8441-5-client-version-13',
    rfc: 8441, section: '5', keyword: 'MUST', roles: 'client',
    text: '"The Origin [RFC6454], Sec-WebSocket-Version, Sec-WebSocket-Protocol, and Sec-WebSocket-Extensions header fields are used in the CONNECT request and response header fields as defined in [RFC6455]." — RFC 6455 §4.1 item 9 (MUST): sec-websocket-version: 13; Sec-WebSocket-Key is not sent (RFC 8441 §5: "not used").',
    code: [code(CLIENT_REQUEST, "'sec-websocket-version': String(WEBSOCKET_VERSION),")],
    tests: CLIENT_HEADER_LIST,
  },
  {
    id: '8441-5-client-closing',
    rfc: 8441, section: '5', keyword: 'MUST', roles: 'client',
    text: 'The stream is the TCP connection of RFC 6455: "Orderly TCP-level closures are represented as END_STREAM flags ... RST exceptions are represented with the RST_STREAM frame ... with the CANCEL error code". — the client answers the server\'s END_STREAM with its own and resets the stream with CANCEL when it fails the connection.',
    code: [code(TRANSPORT, 'if (!transport.closed) transport.close(Http2ErrorCode.CANCEL);')],
    tests: [
      test(E_CLIENT, 'the server closes first: its close frame is echoed, then its END_STREAM answered with ours'),
      test(E_CLIENT, 'failing the connection (a masked frame from the server: 1002) resets the stream after our close frame'),
    ],
  },
];
