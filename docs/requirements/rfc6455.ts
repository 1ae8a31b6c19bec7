/**
 * RFC 6455 requirements that bind a WebSocket client or server, each traced to
 * the code that enforces it and the tests that check it (see types.ts).
 * Sections whose only normative content is a definition (§7.1.3–§7.1.6) or an
 * example (§5.7) have no keyword and are not listed; their behaviour is
 * covered by the entries that use them.
 */
import type { CodeRef, Requirement, TestRef } from './types.js';

const code = (file: string, contains: string, occurrence?: number): CodeRef => (occurrence === undefined ? { file, contains } : { file, contains, occurrence });
const test = (file: string, name: string): TestRef => ({ file, name });

// Where the rules live.
const PARSER = 'src/framing/frame-parser.ts';
const ENCODER = 'src/framing/frame-encoder.ts';
const CLOSE_PAYLOAD = 'src/framing/close-payload.ts';
const MASK_KEY = 'src/framing/mask-key.ts';
const WRITER = 'src/framing/frame-writer.ts';
const PROTOCOL = 'src/protocol/protocol.ts';
const CLOSE_STATE = 'src/protocol/close-state.ts';
const ERRORS = 'src/errors.ts';
const CONNECTION = 'src/connection/websocket-connection.ts';
const REQUEST = 'src/handshake/upgrade-request.ts';
const RESPONSE = 'src/handshake/upgrade-response.ts';
const SERVER_HS = 'src/handshake/server-handshake.ts';
const SERVER_NEG = 'src/handshake/server-negotiation.ts';
const CLIENT_HS = 'src/handshake/client-handshake.ts';
const CLIENT_NEG = 'src/handshake/client-negotiation.ts';
const HTTP_RESPONSE = 'src/handshake/http-response.ts';
const ACCEPT_KEY = 'src/handshake/accept-key.ts';
const EXT_HEADER = 'src/extensions/extension-header.ts';
const DEFLATE = 'src/extensions/permessage-deflate.ts';
const DEFLATE_NEG = 'src/extensions/permessage-deflate-negotiation.ts';
const SERVER = 'src/server/server.ts';
const HS_SOCKET = 'src/server/handshake-socket.ts';
const CONNECT = 'src/client/connect.ts';
const CLIENT_CONNECTION = 'src/client/client-connection.ts';
const BUILDER = 'src/client/upgrade-request-builder.ts';
const URL_FILE = 'src/client/url.ts';
const RECONNECT_POLICY = 'src/client/reconnect-policy.ts';
const RECONNECTING = 'src/client/reconnecting.ts';

// Where they are tested.
const T_PROTOCOL = 'test/unit/protocol.test.ts';
const T_PARSER = 'test/unit/frame-parser.test.ts';
const T_ENCODER = 'test/unit/frame-encoder.test.ts';
const T_CLOSE_PAYLOAD = 'test/unit/close-payload.test.ts';
const T_HANDSHAKE = 'test/unit/handshake.test.ts';
const T_RESPONSE = 'test/unit/upgrade-response.test.ts';
const T_CLIENT_REQUEST = 'test/unit/client-request.test.ts';
const T_EXT_HEADER = 'test/unit/extension-header.test.ts';
const T_PMD = 'test/unit/permessage-deflate.test.ts';
const T_FRAME_LOG = 'test/unit/frame-log.test.ts';
const T_HTTP_HEAD = 'test/unit/http-head-parser.test.ts';
const T_CLOSE_STATE = 'test/unit/close-state.test.ts';
const T_ERROR_CODES = 'test/unit/error-codes.test.ts';
const T_SERVER_HS = 'test/unit/server-handshake.test.ts';
const T_CLIENT_HS = 'test/unit/client-handshake.test.ts';
const T_FRAME_WRITER = 'test/unit/frame-writer.test.ts';
const T_DIFFERENTIAL = 'test/unit/frame-differential.test.ts';
const E_FRAMING = 'test/e2e/conformance-framing.test.ts';
const E_FRAGMENTS = 'test/e2e/conformance-fragmentation.test.ts';
const E_CLOSE = 'test/e2e/conformance-close.test.ts';
const E_HANDSHAKE = 'test/e2e/conformance-handshake.test.ts';
const E_LIMITS = 'test/e2e/conformance-limits.test.ts';
const E_OPCODES = 'test/e2e/conformance-opcodes.test.ts';
const E_PING = 'test/e2e/conformance-ping-pong.test.ts';
const E_RSV = 'test/e2e/conformance-reserved-bits.test.ts';
const E_UTF8 = 'test/e2e/conformance-utf8.test.ts';
const E_CLIENT_WIRE = 'test/e2e/client-wire.test.ts';
const E_CLIENT_HS = 'test/e2e/client-handshake.test.ts';
const E_CLIENT_OURS = 'test/e2e/client-ours.test.ts';
const E_DEFLATE = 'test/e2e/deflate.test.ts';
const E_ROBUST = 'test/e2e/robustness.test.ts';
const E_SERVER_API = 'test/e2e/server-api.test.ts';
const E_TLS = 'test/e2e/tls.test.ts';
const E_REQUIREMENTS = 'test/e2e/conformance-requirements.test.ts';
const E_INTERNAL = 'test/e2e/internal-errors.test.ts';
const T_RECONNECT_POLICY = 'test/unit/reconnect-policy.test.ts';
const E_RECONNECTING = 'test/e2e/client-reconnecting.test.ts';

// Snippets several entries share.
/** The core gives its frame writer a masking key source exactly when it is a client (§5.1). */
const WRITER_FOR_ROLE = code(PROTOCOL, "this.frameWriter = options.role === 'client' ? new FrameWriter(options.maskKeySource ?? randomMaskKey) : null;");
/** Every frame with a byte payload up to COPY_THRESHOLD (close, ping, pong, small binary) is masked as it is written, when there is a key. */
const CLIENT_MASKS = code(WRITER, 'if (maskKey !== null) applyMask(target, payloadStart, payloadStart + length, maskKey, 0);', 1);
const FRESH_KEY = code(WRITER, 'this.maskKeySource(this.maskKey);');
const CSPRNG = code(MASK_KEY, 'randomFillSync(pool);');
const ANSWER_CLOSE = code(PROTOCOL, 'if (this.close.phase === ClosePhase.CLOSED_BY_PEER) {');
/** After the closing handshake: a server closes TCP now, a client waits for the server's FIN (at most closeTimeout). */
const SERVER_CLOSES_TCP = code(CLOSE_STATE, "return role === 'server' ? TransportAction.CLOSE_NOW : TransportAction.AWAIT_PEER_CLOSE;");
const SHELL_CLOSES_TCP = code(CONNECTION, 'case TransportAction.CLOSE_NOW:');
const CLIENT_WAITS = code(CONNECTION, 'case TransportAction.AWAIT_PEER_CLOSE:');
const FAILED_CLOSES_TCP = code(CLOSE_STATE, 'case ClosePhase.FAILED:');
const FAIL_CONNECTION = code(PROTOCOL, 'this.close = failConnection(this.close, error, sent);');
const FAIL_SENDS_CLOSE = code(PROTOCOL, 'this.queueClose(error.closeCode, reason);');
const NO_DATA_AFTER_CLOSE = code(PROTOCOL, 'if (this.close.phase !== ClosePhase.ACTIVE) {');
const CANNOT_SEND_CODE = code(CLOSE_PAYLOAD, "throw new LocalError('WS_ERR_UNSENDABLE_CLOSE_CODE'");
/** A request head the parser refuses (400, 414, 431, 505), and an upgrade request §4.2.1 refuses: the error response. */
const SERVER_REJECTS_HEAD = code(SERVER_HS, 'if (error instanceof HandshakeError) return this.reject(error);', 1);
const SERVER_REJECTS_UPGRADE = code(SERVER_HS, 'if (error instanceof HandshakeError) return this.reject(error);', 2);
const SERVER_WRITES_REFUSAL = code(HS_SOCKET, 'socket.end(rejection.response);');
const PONG = code(PROTOCOL, 'if (this.close.received === null) this.encodeBytes(Opcode.PONG, payload, true);');
const EVERY_CODE_SENDABLE = test(T_CLOSE_PAYLOAD, 'every code 0..65535: builds exactly the codes that may be sent');
const TRANSPORT_PER_ROLE = test(T_CLOSE_STATE, 'what the transport does, per phase and role');

export const RFC6455: Requirement[] = [
  // ------------------------------------------------------------------ §1.3, §3
  {
    id: '6455-1.3-accept-proves-handshake',
    rfc: 6455, section: '1.3', keyword: 'MUST NOT', roles: 'client',
    text: 'Sec-WebSocket-Accept "must include a hash of the client\'s nonce ... along with a predefined GUID. Any other value must not be interpreted as an acceptance of the connection by the server." (lower-case in this non-normative overview; normative in §4.1, response check 4)',
    code: [code(RESPONSE, 'if (accept !== expectedAccept) {')],
    tests: [test(T_RESPONSE, 'Sec-WebSocket-Accept missing, wrong, for another key, or sent twice'), test(T_HANDSHAKE, 'computes the RFC 6455 §1.3 example')],
  },
  {
    id: '6455-3-no-fragment',
    rfc: 6455, section: '3', keyword: 'MUST NOT', roles: 'client',
    text: '"Fragment identifiers are meaningless in the context of WebSocket URIs and MUST NOT be used on these URIs." The character "#", when not a fragment, MUST be escaped as %23.',
    code: [code(URL_FILE, "if (url.href.includes('#')) {")],
    tests: [test(T_CLIENT_REQUEST, 'refuses what is not a WebSocket URI')],
  },

  // ----------------------------------------------------------------- §4.1 client
  {
    id: '6455-4.1-valid-uri',
    rfc: 6455, section: '4.1', keyword: 'MUST', roles: 'client',
    text: 'The components of the WebSocket URI "MUST be valid according to ... Section 3. If any of the components are invalid, the client MUST _Fail the WebSocket Connection_".',
    code: [code(URL_FILE, 'the scheme must be ws: or wss: (RFC 6455 §3)')],
    tests: [test(T_CLIENT_REQUEST, 'refuses what is not a WebSocket URI'), test(T_CLIENT_REQUEST, 'splits a URL into where to connect and what to ask for')],
  },
  {
    id: '6455-4.1-one-connecting',
    rfc: 6455, section: '4.1', keyword: 'MUST', roles: 'client',
    text: 'A client with a connection to the same host and port in progress "MUST wait until that connection has been established or for that connection to have failed. There MUST be no more than one connection in a CONNECTING state."',
    status: 'deviation',
    why: 'connect() opens each connection at once; it does not serialize handshakes per IP address. The rule protects servers from scripts in browsers; a Node application opening connections decides its own pacing.',
  },
  {
    id: '6455-4.1-limit-pending',
    rfc: 6455, section: '4.1', keyword: 'SHOULD', roles: 'client',
    text: 'When the client cannot determine the IP address, it "SHOULD limit the total number of simultaneous pending connections to a reasonably low number".',
    status: 'deviation',
    why: 'No limit on pending connect() calls: the application that calls connect() decides how many (see 6455-4.1-one-connecting).',
  },
  {
    id: '6455-4.1-proxy',
    rfc: 6455, section: '4.1', keyword: 'SHOULD', roles: 'client',
    text: 'A client configured to use a proxy "SHOULD connect to that proxy and ask it to open a TCP connection"; otherwise "a direct TCP connection SHOULD be opened"; proxy autoconfiguration URIs MUST be built from /host/, /port/, /resource name/ and /secure/.',
    status: 'not-applicable',
    why: 'The client has no proxy configuration: it always opens a direct TCP (or TLS) connection to the URL\'s host and port.',
  },
  {
    id: '6455-4.1-connect-failed',
    rfc: 6455, section: '4.1', keyword: 'MUST', roles: 'client',
    text: '"If the connection could not be opened ... then the client MUST _Fail the WebSocket Connection_ and abort the connection attempt."',
    code: [code(CONNECT, "this.#socket.on('error', this.#fail);"), code(CONNECT, 'this.#socket.destroy();')],
    tests: [test(E_CLIENT_HS, 'a refused TCP connection rejects with the socket error')],
  },
  {
    id: '6455-4.1-tls',
    rfc: 6455, section: '4.1', keyword: 'MUST', roles: 'client',
    text: '"If /secure/ is true, the client MUST perform a TLS handshake over the connection ... before sending the handshake data. If this fails ... the client MUST _Fail the WebSocket Connection_"; all further communication MUST run through the encrypted tunnel.',
    code: [code(CONNECT, '? tlsConnect({')],
    tests: [test(E_CLIENT_OURS, 'wss:// checks the certificate'), test(E_CLIENT_OURS, 'wss:// with the self-signed certificate as CA')],
  },
  {
    id: '6455-4.1-sni',
    rfc: 6455, section: '4.1', keyword: 'MUST', roles: 'client',
    text: '"Clients MUST use the Server Name Indication extension in the TLS handshake [RFC6066]."',
    code: [code(CONNECT, '...(isIP(host) === 0 ? { servername: host } : {}),')],
    tests: [test(E_REQUIREMENTS, 'sends the URL')],
  },
  {
    id: '6455-4.1-valid-http-request',
    rfc: 6455, section: '4.1', keyword: 'MUST', roles: 'client',
    text: 'Item 1: "The handshake MUST be a valid HTTP request".',
    code: [code(BUILDER, 'export function buildUpgradeRequest(spec: UpgradeRequestSpec): Buffer {')],
    tests: [test(T_CLIENT_REQUEST, 'is a request our own server-side parser accepts'), test(T_CLIENT_REQUEST, 'example request, byte for byte')],
  },
  {
    id: '6455-4.1-get-http11',
    rfc: 6455, section: '4.1', keyword: 'MUST', roles: 'client',
    text: 'Item 2: "The method of the request MUST be GET, and the HTTP version MUST be at least 1.1."',
    code: [code(BUILDER, '`GET ${spec.resource} HTTP/1.1\\r\\n`')],
    tests: [test(T_CLIENT_REQUEST, 'example request, byte for byte'), test(E_CLIENT_HS, 'sends a valid upgrade request with every required header')],
  },
  {
    id: '6455-4.1-request-uri',
    rfc: 6455, section: '4.1', keyword: 'MUST', roles: 'client',
    text: 'Item 3: the "Request-URI" part of the request MUST match the /resource name/ (or be an absolute http/https URI with the same resource name, host and port).',
    code: [code(URL_FILE, 'resource: query === \'\' ? path : `${path}?${query}`,')],
    tests: [test(T_CLIENT_REQUEST, 'splits a URL into where to connect and what to ask for')],
  },
  {
    id: '6455-4.1-host',
    rfc: 6455, section: '4.1', keyword: 'MUST', roles: 'client',
    text: 'Item 4: "The request MUST contain a |Host| header field whose value contains /host/ plus optionally ":" followed by /port/ (when not using the default port)."',
    code: [code(BUILDER, '`Host: ${host}\\r\\n` + // item 4'), code(URL_FILE, 'hostHeader: url.host,')],
    tests: [test(T_CLIENT_REQUEST, 'splits a URL into where to connect and what to ask for'), test(E_CLIENT_HS, 'sends a valid upgrade request with every required header')],
  },
  {
    id: '6455-4.1-upgrade',
    rfc: 6455, section: '4.1', keyword: 'MUST', roles: 'client',
    text: 'Item 5: "The request MUST contain an |Upgrade| header field whose value MUST include the "websocket" keyword."',
    code: [code(BUILDER, "'Upgrade: websocket\\r\\n' + // item 5")],
    tests: [test(E_CLIENT_HS, 'sends a valid upgrade request with every required header')],
  },
  {
    id: '6455-4.1-connection',
    rfc: 6455, section: '4.1', keyword: 'MUST', roles: 'client',
    text: 'Item 6: "The request MUST contain a |Connection| header field whose value MUST include the "Upgrade" token."',
    code: [code(BUILDER, "'Connection: Upgrade\\r\\n' + // item 6")],
    tests: [test(E_CLIENT_HS, 'sends a valid upgrade request with every required header')],
  },
  {
    id: '6455-4.1-key',
    rfc: 6455, section: '4.1', keyword: 'MUST', roles: 'client',
    text: 'Item 7: the request MUST include |Sec-WebSocket-Key|, "a nonce consisting of a randomly selected 16-byte value that has been base64-encoded ... The nonce MUST be selected randomly for each connection."',
    code: [code(ACCEPT_KEY, "if (nonce.length !== 16) throw new RangeError"), code(BUILDER, '`Sec-WebSocket-Key: ${spec.key}\\r\\n`; // item 7')],
    tests: [test(T_RESPONSE, 'is 16 random bytes, base64: a valid key, different every time'), test(E_CLIENT_HS, 'picks a fresh key for every connection')],
  },
  {
    id: '6455-4.1-origin',
    rfc: 6455, section: '4.1', keyword: 'MUST', roles: 'client',
    text: 'Item 8: "The request MUST include a header field with the name |Origin| ... if the request is coming from a browser client."',
    status: 'not-applicable',
    why: 'This client is not a browser. A non-browser client MAY send Origin: the `origin` option does (see test "subprotocol selection, Origin and extra headers reach the server").',
  },
  {
    id: '6455-4.1-version',
    rfc: 6455, section: '4.1', keyword: 'MUST', roles: 'client',
    text: 'Item 9: "The request MUST include a header field with the name |Sec-WebSocket-Version|. The value of this header field MUST be 13."',
    code: [code(BUILDER, '`Sec-WebSocket-Version: ${WEBSOCKET_VERSION}\\r\\n`; // item 9')],
    tests: [test(E_CLIENT_HS, 'sends a valid upgrade request with every required header')],
  },
  {
    id: '6455-4.1-subprotocol-tokens',
    rfc: 6455, section: '4.1', keyword: 'MUST', roles: 'client',
    text: 'Item 10: subprotocol elements "MUST be non-empty strings with characters in the range U+0021 to U+007E not including separator characters ... and MUST all be unique strings."',
    code: [code(BUILDER, 'is not a token (RFC 6455 §4.1 item 10)'), code(BUILDER, 'is offered twice; offers must be unique')],
    tests: [test(T_CLIENT_REQUEST, 'refuses arguments that would break the request'), test(E_CLIENT_HS, 'refuses header injection and invalid offers before connecting')],
  },
  {
    id: '6455-4.1-wait-for-response',
    rfc: 6455, section: '4.1', keyword: 'MUST', roles: 'client',
    text: '"Once the client\'s opening handshake has been sent, the client MUST wait for a response from the server before sending any further data."',
    code: [code(CONNECT, "else if (step.kind === 'accept') this.#open(step);"), code(CLIENT_HS, 'accepted = validateUpgradeResponse(head, {')],
    tests: [test(E_REQUIREMENTS, 'the client sends nothing until the server has answered'), test(T_CLIENT_HS, 'the only bytes the machine gives to send')],
  },
  {
    id: '6455-4.1-response-status',
    rfc: 6455, section: '4.1', keyword: 'MUST', roles: 'client',
    text: 'Response check 1 and "If the server\'s response does not conform to the requirements for the server\'s handshake ... the client MUST _Fail the WebSocket Connection_": only a 101 establishes the connection; a 3xx need not be followed.',
    code: [code(RESPONSE, 'if (head.status !== 101) throw unexpectedStatus(head);'), code(RESPONSE, 'if (head.status >= 300 && head.status < 400) {')],
    tests: [test(T_RESPONSE, 'status other than 101 → UNEXPECTED_STATUS'), test(E_CLIENT_HS, 'a redirect is not followed'), test(E_CLIENT_HS, 'another status → HS_ERR_UNEXPECTED_STATUS'), test(T_CLIENT_HS, '${c.name}: ${c.code}, whatever the cut')],
  },
  {
    id: '6455-4.1-response-http11',
    rfc: 6455, section: '4.1', keyword: 'MUST', roles: 'client',
    text: 'A response that does not conform to §4.2.2 (a 101 is an HTTP/1.1 protocol switch) fails the connection.',
    code: [code(RESPONSE, "if (head.httpVersion === '1.0') {")],
    tests: [test(T_RESPONSE, '101 over HTTP/1.0 → RESPONSE_HTTP_VERSION'), test(E_CLIENT_HS, 'a 101 over HTTP/1.0 → HS_ERR_RESPONSE_HTTP_VERSION'), test(T_CLIENT_HS, '${c.name}: ${c.code}, whatever the cut')],
  },
  {
    id: '6455-4.1-response-upgrade',
    rfc: 6455, section: '4.1', keyword: 'MUST', roles: 'client',
    text: 'Response check 2: if the response lacks |Upgrade| or its value is not an ASCII case-insensitive match for "websocket", "the client MUST _Fail the WebSocket Connection_".',
    code: [code(RESPONSE, "if (upgrade === undefined || !equalsIgnoreAsciiCase(upgrade, 'websocket')) {")],
    tests: [test(T_RESPONSE, 'Upgrade missing or not exactly "websocket"'), test(E_CLIENT_HS, 'missing or wrong Upgrade → HS_ERR_RESPONSE_UPGRADE'), test(T_CLIENT_HS, '${c.name}: ${c.code}, whatever the cut')],
  },
  {
    id: '6455-4.1-response-connection',
    rfc: 6455, section: '4.1', keyword: 'MUST', roles: 'client',
    text: 'Response check 3: if the response lacks |Connection| or it has no token matching "Upgrade" case-insensitively, "the client MUST _Fail the WebSocket Connection_".',
    code: [code(RESPONSE, "if (connection === undefined || !listHasToken(connection, 'upgrade')) {")],
    tests: [test(T_RESPONSE, 'Connection missing or without the Upgrade token'), test(E_CLIENT_HS, 'missing Connection, or one without the Upgrade token'), test(T_CLIENT_HS, '${c.name}: ${c.code}, whatever the cut')],
  },
  {
    id: '6455-4.1-response-accept',
    rfc: 6455, section: '4.1', keyword: 'MUST', roles: 'client',
    text: 'Response check 4: if |Sec-WebSocket-Accept| is missing or is not base64(SHA-1(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11")), "the client MUST _Fail the WebSocket Connection_".',
    code: [code(RESPONSE, 'if (accept !== expectedAccept) {')],
    tests: [test(T_RESPONSE, 'Sec-WebSocket-Accept missing, wrong, for another key, or sent twice'), test(E_CLIENT_HS, 'wrong Sec-WebSocket-Accept → HS_ERR_ACCEPT_MISMATCH'), test(T_CLIENT_HS, '${c.name}: ${c.code}, whatever the cut')],
  },
  {
    id: '6455-4.1-response-extensions',
    rfc: 6455, section: '4.1', keyword: 'MUST', roles: 'client',
    text: 'Response check 5: if |Sec-WebSocket-Extensions| indicates an extension not present in the client\'s handshake, "the client MUST _Fail the WebSocket Connection_".',
    code: [code(CLIENT_NEG, 'if (!offeredNames.has(name)) {')],
    tests: [test(T_RESPONSE, 'extensions: only offered ones may be accepted'), test(E_CLIENT_HS, 'an extension that was not offered → HS_ERR_EXTENSION_NOT_OFFERED'), test(T_CLIENT_HS, '${c.name}: ${c.code}, whatever the cut'), test(T_CLIENT_HS, 'judges the selection fields alone')],
  },
  {
    id: '6455-4.1-response-subprotocol',
    rfc: 6455, section: '4.1', keyword: 'MUST', roles: 'client',
    text: 'Response check 6: if |Sec-WebSocket-Protocol| indicates a subprotocol not present in the client\'s handshake, "the client MUST _Fail the WebSocket Connection_".',
    code: [code(CLIENT_NEG, 'if (!offer.protocols.includes(selected[0])) {')],
    tests: [test(T_RESPONSE, 'subprotocol: one of those offered, exactly one, compared exactly'), test(E_CLIENT_HS, 'a subprotocol that was not offered → HS_ERR_PROTOCOL_NOT_OFFERED'), test(T_CLIENT_HS, '${c.name}: ${c.code}, whatever the cut'), test(T_CLIENT_HS, 'judges the selection fields alone')],
  },

  // ------------------------------------------------------------- §4.2.1 server
  {
    id: '6455-4.2.1-reject-bad-handshake',
    rfc: 6455, section: '4.2.1', keyword: 'MUST', roles: 'server',
    text: 'If the client "did not send a handshake that matches the description below ... the server MUST stop processing the client\'s handshake and return an HTTP response with an appropriate error code (such as 400 Bad Request)."',
    code: [SERVER_REJECTS_UPGRADE, SERVER_WRITES_REFUSAL],
    tests: [test(E_ROBUST, 'a line of ASCII garbage instead of a request → 400 and closed'), test(T_HANDSHAKE, 'checks in the documented order'), test(T_SERVER_HS, '${c.status} ${c.code}, whatever the cut')],
  },
  {
    id: '6455-4.2.1-get',
    rfc: 6455, section: '4.2.1', keyword: 'MUST', roles: 'server',
    text: 'Item 1: "An HTTP/1.1 or higher GET request" — a request with another method is refused.',
    code: [code(REQUEST, "if (head.method !== 'GET') {")],
    tests: [test(T_HANDSHAKE, 'method not GET → 405 with Allow: GET'), test(E_HANDSHAKE, 'POST → 405 with "Allow: GET"'), test(T_SERVER_HS, '${c.status} ${c.code}, whatever the cut')],
  },
  {
    id: '6455-4.2.1-http11',
    rfc: 6455, section: '4.2.1', keyword: 'MUST', roles: 'server',
    text: 'Item 1: an HTTP/1.1 or higher request — HTTP/1.0 is refused.',
    code: [code(REQUEST, 'checkHttpVersion(head.httpVersion);')],
    tests: [test(T_HANDSHAKE, 'HTTP/1.0 → 400; a head claiming another major version → 505'), test(T_HANDSHAKE, 'accepts later HTTP/1.x minor versions'), test(T_SERVER_HS, '${c.status} ${c.code}, whatever the cut')],
  },
  {
    id: '6455-4.2.1-request-uri',
    rfc: 6455, section: '4.2.1', keyword: 'MUST', roles: 'server',
    text: 'Item 1: a "Request-URI" that is a /resource name/ (or an absolute HTTP/HTTPS URI containing it).',
    code: [code(REQUEST, 'const { path, query, authority } = splitTarget(head.target);')],
    tests: [test(T_HANDSHAKE, 'a target that is not origin-form or http(s)/ws(s) absolute-form → 400'), test(T_HANDSHAKE, 'accepts absolute-form targets')],
  },
  {
    id: '6455-4.2.1-host',
    rfc: 6455, section: '4.2.1', keyword: 'MUST', roles: 'server',
    text: 'Item 2: "A |Host| header field containing the server\'s authority."',
    code: [code(REQUEST, "if (hosts.length === 0) throw new HandshakeError(Code.HOST, 400, 'missing Host header');")],
    tests: [test(T_HANDSHAKE, 'missing, repeated or invalid Host → 400'), test(E_HANDSHAKE, 'no Host → 400')],
  },
  {
    id: '6455-4.2.1-upgrade',
    rfc: 6455, section: '4.2.1', keyword: 'MUST', roles: 'server',
    text: 'Item 3: "An |Upgrade| header field containing the value "websocket", treated as an ASCII case-insensitive value."',
    code: [code(REQUEST, "if (upgrade === undefined || !listHasToken(upgrade, 'websocket')) {")],
    tests: [test(T_HANDSHAKE, 'no websocket in Upgrade → 426'), test(E_HANDSHAKE, 'no Upgrade header → 426'), test(E_HANDSHAKE, 'header names and tokens are case-insensitive'), test(T_SERVER_HS, '${c.status} ${c.code}, whatever the cut')],
  },
  {
    id: '6455-4.2.1-connection',
    rfc: 6455, section: '4.2.1', keyword: 'MUST', roles: 'server',
    text: 'Item 4: "A |Connection| header field that includes the token "Upgrade", treated as an ASCII case-insensitive value."',
    code: [code(REQUEST, "if (connection === undefined || !listHasToken(connection, 'upgrade')) {")],
    tests: [test(T_HANDSHAKE, 'Connection without the upgrade option → 400'), test(E_HANDSHAKE, 'no "upgrade" token in Connection → 400'), test(E_HANDSHAKE, 'no Connection header → 400')],
  },
  {
    id: '6455-4.2.1-key',
    rfc: 6455, section: '4.2.1', keyword: 'MUST', roles: 'server',
    text: 'Item 5: "A |Sec-WebSocket-Key| header field with a base64-encoded ... value that, when decoded, is 16 bytes in length."',
    code: [code(REQUEST, 'if (!isValidClientKey(key)) {')],
    tests: [test(T_HANDSHAKE, 'Sec-WebSocket-Key missing, repeated or not 16 base64 bytes → 400'), test(E_HANDSHAKE, 'no Sec-WebSocket-Key → 400'), test(T_HANDSHAKE, 'rejects wrong lengths, padding, alphabet and whitespace'), test(T_SERVER_HS, '${c.status} ${c.code}, whatever the cut')],
  },
  {
    id: '6455-4.2.1-version',
    rfc: 6455, section: '4.2.1', keyword: 'MUST', roles: 'server',
    text: 'Item 6: "A |Sec-WebSocket-Version| header field, with a value of 13."',
    code: [code(REQUEST, 'if (versions.length !== 1 || versions[0] !== String(WEBSOCKET_VERSION)) {')],
    tests: [test(T_HANDSHAKE, 'Sec-WebSocket-Version missing or not exactly 13'), test(E_HANDSHAKE, 'Sec-WebSocket-Version 8 → 426'), test(T_SERVER_HS, '${c.status} ${c.code}, whatever the cut')],
  },
  {
    id: '6455-4.2.1-origin-absent',
    rfc: 6455, section: '4.2.1', keyword: 'SHOULD NOT', roles: 'server',
    text: 'Item 7: "A connection attempt lacking this header field SHOULD NOT be interpreted as coming from a browser client."',
    status: 'not-applicable',
    why: 'The server draws no conclusion from Origin: it hands it (undefined when absent) to the application\'s checkOrigin/authorize hooks, which decide (test "leaves Origin unchecked, undefined when absent").',
  },
  {
    id: '6455-4.2.1-abnf',
    rfc: 6455, section: '4.2.1', keyword: 'MUST', roles: 'server',
    text: '"including but not limited to any violations of the ABNF grammar specified for the components of the handshake, the server MUST stop processing the client\'s handshake and return an HTTP response with an appropriate error code" — subprotocol offers are 1#token (§4.3).',
    code: [code(REQUEST, 'if (!isToken(protocol)) {'), code(REQUEST, 'if (offered.has(protocol)) {')],
    tests: [test(T_HANDSHAKE, 'a subprotocol offer that is not a token, or offered twice → 400')],
  },

  // ------------------------------------------------------------- §4.2.2 server
  {
    id: '6455-4.2.2-tls',
    rfc: 6455, section: '4.2.2', keyword: 'MUST', roles: 'server',
    text: 'Item 1: on an HTTPS port, perform a TLS handshake; "all further communication for the connection (including the server\'s handshake) MUST run through the encrypted tunnel".',
    code: [code(SERVER, 'this.netServer = options.tls')],
    tests: [test(E_TLS, 'wss:// echo: text and binary'), test(E_TLS, 'a TCP client that never starts TLS is dropped after handshakeTimeout')],
  },
  {
    id: '6455-4.2.2-origin-refused',
    rfc: 6455, section: '4.2.2', keyword: 'MUST', roles: 'server',
    text: '/origin/: "If the server does not wish to accept this connection, it MUST return an appropriate HTTP error code (e.g., 403 Forbidden) and abort the WebSocket handshake".',
    code: [code(SERVER_NEG, 'throw new HandshakeError(Code.ORIGIN, 403')],
    tests: [test(E_HANDSHAKE, 'an Origin the hook rejects → 403'), test(E_SERVER_API, 'checkOrigin false → 403'), test(T_SERVER_HS, 'checkOrigin false → 403 HS_ERR_ORIGIN')],
  },
  {
    id: '6455-4.2.2-version-refused',
    rfc: 6455, section: '4.2.2', keyword: 'MUST', roles: 'server',
    text: '/version/: if the version is not understood, "the server MUST abort the WebSocket handshake ... and instead send an appropriate HTTP error code (such as 426 Upgrade Required) and a |Sec-WebSocket-Version| header field indicating the version(s) the server is capable of understanding."',
    code: [code(REQUEST, "'Sec-WebSocket-Version': String(WEBSOCKET_VERSION),")],
    tests: [test(E_HANDSHAKE, 'Sec-WebSocket-Version 8 → 426 with "Sec-WebSocket-Version: 13"'), test(T_HANDSHAKE, 'Sec-WebSocket-Version missing or not exactly 13 → 426 with Sec-WebSocket-Version: 13'), test(T_SERVER_HS, '${c.status} ${c.code}, whatever the cut')],
  },
  {
    id: '6455-4.2.2-resource-not-found',
    rfc: 6455, section: '4.2.2', keyword: 'MUST', roles: 'server',
    text: '/resource name/: "If the requested service is not available, the server MUST send an appropriate HTTP error code (such as 404 Not Found) and abort the WebSocket handshake."',
    code: [code(SERVER, 'throw new HandshakeError(HandshakeErrorCode.NOT_FOUND, 404')],
    tests: [test(E_HANDSHAKE, 'an unknown path → 404 and the socket is closed'), test(E_SERVER_API, 'unknown path is 404 when only routes exist')],
  },
  {
    id: '6455-4.2.2-subprotocol-from-offer',
    rfc: 6455, section: '4.2.2', keyword: 'MUST', roles: 'server',
    text: '/subprotocol/: "The value chosen MUST be derived from the client\'s handshake, specifically by selecting one of the values from the |Sec-WebSocket-Protocol| field".',
    code: [code(SERVER_NEG, 'if (!offered.includes(chosen)) {')],
    tests: [test(E_HANDSHAKE, 'an offered subprotocol chosen by selectProtocol is returned in Sec-WebSocket-Protocol'), test(T_SERVER_HS, 'selectProtocol: the choice must be one of the offers')],
  },
  {
    id: '6455-4.2.2-no-subprotocol-header',
    rfc: 6455, section: '4.2.2', keyword: 'MUST NOT', roles: 'server',
    text: '"if the server does not wish to agree to one of the suggested subprotocols, it MUST NOT send back a |Sec-WebSocket-Protocol| header field in its response".',
    code: [code(SERVER_HS, 'protocol: protocol || undefined')],
    tests: [test(E_HANDSHAKE, 'when selectProtocol picks none, the 101 carries no Sec-WebSocket-Protocol'), test(T_HANDSHAKE, 'writes only the required headers by default'), test(T_SERVER_HS, 'accept() with no decisions: a 101 without Sec-WebSocket-Protocol')],
  },
  {
    id: '6455-4.2.2-extensions-from-offer',
    rfc: 6455, section: '4.2.2', keyword: 'MUST NOT', roles: 'server',
    text: '/extensions/: the value "MUST be derived from the client\'s handshake ... Extensions not listed by the client MUST NOT be listed."',
    code: [code(SERVER_NEG, 'if (!deflate || offer === undefined) return { extensions: undefined, extension: null };'), code(DEFLATE_NEG, 'if (offer.name !== PERMESSAGE_DEFLATE) continue;')],
    tests: [test(E_DEFLATE, 'no Sec-WebSocket-Extensions header → no extension'), test(E_DEFLATE, 'a server without perMessageDeflate never answers the extension'), test(T_SERVER_HS, 'extensions: permessage-deflate accepted when enabled')],
  },
  {
    id: '6455-4.2.2-101',
    rfc: 6455, section: '4.2.2', keyword: 'MUST', roles: 'server',
    text: 'Item 5: accepting, the server "MUST reply with a valid HTTP response" with "A Status-Line with a 101 response code".',
    code: [code(HTTP_RESPONSE, "'HTTP/1.1 101 Switching Protocols',")],
    tests: [test(T_HANDSHAKE, 'writes the RFC 6455 §1.2 response byte for byte'), test(E_HANDSHAKE, 'the RFC §4.2.2 sample key gets 101')],
  },
  {
    id: '6455-4.2.2-upgrade',
    rfc: 6455, section: '4.2.2', keyword: 'MUST', roles: 'server',
    text: 'Item 5.2: "An |Upgrade| header field with value "websocket"".',
    code: [code(HTTP_RESPONSE, "'Upgrade: websocket',")],
    tests: [test(T_HANDSHAKE, 'writes the RFC 6455 §1.2 response byte for byte')],
  },
  {
    id: '6455-4.2.2-connection',
    rfc: 6455, section: '4.2.2', keyword: 'MUST', roles: 'server',
    text: 'Item 5.3: "A |Connection| header field with value "Upgrade"".',
    code: [code(HTTP_RESPONSE, "'Connection: Upgrade',")],
    tests: [test(T_HANDSHAKE, 'writes the RFC 6455 §1.2 response byte for byte')],
  },
  {
    id: '6455-4.2.2-accept',
    rfc: 6455, section: '4.2.2', keyword: 'MUST', roles: 'server',
    text: 'Item 5.4: "A |Sec-WebSocket-Accept| header field" whose value is base64(SHA-1(/key/ + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11")).',
    code: [code(ACCEPT_KEY, "return hash('sha1', key + WEBSOCKET_GUID, 'base64');"), code(HTTP_RESPONSE, '`Sec-WebSocket-Accept: ${computeAcceptKey(key)}`')],
    tests: [test(T_HANDSHAKE, 'computes the RFC 6455 §1.3 example'), test(T_HANDSHAKE, 'is base64(SHA-1(key + GUID)) for random keys'), test(E_HANDSHAKE, 'a random key gets the matching accept')],
  },

  // ------------------------------------------------------------------ §4.4
  {
    id: '6455-4.4-advertise-versions',
    rfc: 6455, section: '4.4', keyword: 'MUST', roles: 'server',
    text: '"If the server doesn\'t support the requested version, it MUST respond with a |Sec-WebSocket-Version| header field ... containing all versions it is willing to use."',
    code: [code(REQUEST, "'Sec-WebSocket-Version': String(WEBSOCKET_VERSION),")],
    tests: [test(E_HANDSHAKE, 'Sec-WebSocket-Version 8 → 426 with "Sec-WebSocket-Version: 13"'), test(T_SERVER_HS, '${c.status} ${c.code}, whatever the cut')],
  },

  // ------------------------------------------------------------------ §5.1
  {
    id: '6455-5.1-client-masks',
    rfc: 6455, section: '5.1', keyword: 'MUST', roles: 'client',
    text: '"a client MUST mask all frames that it sends to the server" (whether or not over TLS).',
    code: [WRITER_FOR_ROLE, CLIENT_MASKS, code(WRITER, 'copyWithMask(payload, 0, length, copy, 0, maskKey, 0);')],
    tests: [test(T_PROTOCOL, 'masks every frame with the key from the injected source'), test(E_CLIENT_WIRE, 'close, pong and empty frames are masked too'), test(T_FRAME_WRITER, 'a client masks a copy of the caller'), test(T_DIFFERENTIAL, 'byte payloads at every length boundary, unmasked (server) and masked (client)')],
  },
  {
    id: '6455-5.1-server-rejects-unmasked',
    rfc: 6455, section: '5.1', keyword: 'MUST', roles: 'server',
    text: '"The server MUST close the connection upon receiving a frame that is not masked." (It MAY send 1002.)',
    code: [code(PARSER, "? protocolError('WS_ERR_UNMASKED_FRAME'")],
    tests: [test(E_FRAMING, 'an unmasked text frame from the client fails the connection with 1002'), test(E_FRAMING, 'an unmasked ping from the client fails the connection with 1002'), test(T_DIFFERENTIAL, 'every single-frame rule, each alone, in every chunking of its header')],
  },
  {
    id: '6455-5.1-server-does-not-mask',
    rfc: 6455, section: '5.1', keyword: 'MUST NOT', roles: 'server',
    text: '"A server MUST NOT mask any frames that it sends to the client."',
    code: [WRITER_FOR_ROLE, code(WRITER, 'if (this.maskKeySource === null || this.maskKey === null) return null;')],
    tests: [test(E_FRAMING, 'is echoed as 0x81 0x05 "Hello"'), test(E_FRAMING, 'ping "Hello" is answered by the unmasked pong'), test(T_FRAME_WRITER, 'a client draws a fresh masking key for every frame; a server draws none'), test(T_DIFFERENTIAL, 'byte payloads at every length boundary, unmasked (server) and masked (client)')],
  },
  {
    id: '6455-5.1-client-rejects-masked',
    rfc: 6455, section: '5.1', keyword: 'MUST', roles: 'client',
    text: '"A client MUST close a connection if it detects a masked frame." (It MAY use 1002.)',
    code: [code(PARSER, ": protocolError('WS_ERR_MASKED_FRAME'")],
    tests: [test(E_CLIENT_WIRE, 'a masked frame from the server → 1002'), test(T_PROTOCOL, 'a masked frame from the server → 1002 (§5.1)'), test(T_DIFFERENTIAL, 'every single-frame rule, each alone, in every chunking of its header')],
  },

  // ------------------------------------------------------------------ §5.2
  {
    id: '6455-5.2-rsv-zero-received',
    rfc: 6455, section: '5.2', keyword: 'MUST', roles: 'both',
    text: 'RSV1–3 "MUST be 0 unless an extension is negotiated that defines meanings for non-zero values. If a nonzero value is received and none of the negotiated extensions defines the meaning of such a nonzero value, the receiving endpoint MUST _Fail the WebSocket Connection_."',
    code: [code(PARSER, 'if (rsv !== 0 && ((rsv & ~this.allowedRsv) !== 0 || isControlOpcode(opcode))) {')],
    tests: [test(E_RSV, '${bitName} on a ${kind} frame fails the connection with 1002'), test(E_CLIENT_WIRE, 'RSV bits without an extension → 1002')],
  },
  {
    id: '6455-5.2-rsv-zero-sent',
    rfc: 6455, section: '5.2', keyword: 'MUST', roles: 'both',
    text: 'RSV1–3 "MUST be 0 unless an extension is negotiated" — we set a reserved bit only for the negotiated extension\'s compressed messages.',
    code: [code(PROTOCOL, 'this.encodeBytes(opcode, output, true, true, extension.rsvBits);')],
    tests: [test(E_DEFLATE, 'RSV1 is set on what we send at and above the threshold'), test(T_ENCODER, 'encodes FIN, each RSV bit and every opcode in byte 0')],
  },
  {
    id: '6455-5.2-unknown-opcode',
    rfc: 6455, section: '5.2', keyword: 'MUST', roles: 'both',
    text: '"If an unknown opcode is received, the receiving endpoint MUST _Fail the WebSocket Connection_."',
    code: [code(PARSER, "throw protocolError('WS_ERR_RESERVED_OPCODE'")],
    tests: [test(E_OPCODES, 'reserved ${kind} opcode 0x${opcode.toString(16)} without payload fails with 1002'), test(E_CLIENT_WIRE, 'a reserved opcode → 1002'), test(T_DIFFERENTIAL, 'every single-frame rule, each alone, in every chunking of its header')],
  },
  {
    id: '6455-5.2-length-msb-received',
    rfc: 6455, section: '5.2', keyword: 'MUST', roles: 'both',
    text: 'With a 127 length, "the following 8 bytes interpreted as a 64-bit unsigned integer (the most significant bit MUST be 0) are the payload length" — a set bit fails the connection.',
    code: [code(PARSER, 'if (high >= 0x80000000) {')],
    tests: [test(E_FRAMING, 'the most significant bit set fails the connection with 1002')],
  },
  {
    id: '6455-5.2-length-msb-sent',
    rfc: 6455, section: '5.2', keyword: 'MUST', roles: 'both',
    text: 'The 64-bit length we write has its most significant bit 0.',
    code: [code(ENCODER, 'const high = Math.floor(length / 0x100000000);')],
    tests: [test(T_ENCODER, 'writes each length form at its boundaries'), test(T_ENCODER, '64KiB binary message in a single unmasked frame')],
  },
  {
    id: '6455-5.2-minimal-length',
    rfc: 6455, section: '5.2', keyword: 'MUST', roles: 'both',
    text: '"in all cases, the minimal number of bytes MUST be used to encode the length".',
    code: [code(ENCODER, 'const base = length < 126 ? 2 : length < 65536 ? 4 : 10;')],
    tests: [test(T_ENCODER, '${length} bytes: ${size} unmasked, ${size + 4} masked'), test(E_FRAMING, '256-byte binary message uses the 16-bit length form'), test(T_DIFFERENTIAL, 'byte payloads at every length boundary, unmasked (server) and masked (client)')],
    why: 'Binds the sender; a receiver that is sent a longer form accepts it (test "accepts a non-minimal length form"), as Autobahn expects.',
  },
  {
    id: '6455-5.2-extension-data-spec',
    rfc: 6455, section: '5.2', keyword: 'MUST', roles: 'both',
    text: '"Any extension MUST specify the length of the "Extension data" ... and how the extension use MUST be negotiated during the opening handshake."',
    status: 'not-applicable',
    why: 'Binds the documents that define extensions (RFC 7692 does: permessage-deflate has no Extension data).',
  },

  // ------------------------------------------------------------------ §5.3
  {
    id: '6455-5.3-mask-bit',
    rfc: 6455, section: '5.3', keyword: 'MUST', roles: 'client',
    text: '"A masked frame MUST have the field frame-masked set to 1".',
    code: [code(ENCODER, 'const maskBit = maskKey === null ? 0 : 0x80;')],
    tests: [test(T_ENCODER, 'sets the MASK bit and appends the key after every length form'), test(E_CLIENT_WIRE, 'own example bytes')],
  },
  {
    id: '6455-5.3-fresh-key',
    rfc: 6455, section: '5.3', keyword: 'MUST', roles: 'client',
    text: '"When preparing a masked frame, the client MUST pick a fresh masking key from the set of allowed 32-bit values."',
    code: [FRESH_KEY],
    tests: [test(T_PROTOCOL, 'takes a fresh key for each frame, in order, whatever the frame and size'), test(E_CLIENT_WIRE, 'by default every frame gets a fresh key from the CSPRNG'), test(T_FRAME_WRITER, 'a client draws a fresh masking key for every frame; a server draws none')],
  },
  {
    id: '6455-5.3-strong-entropy',
    rfc: 6455, section: '5.3', keyword: 'MUST', roles: 'client',
    text: '"the masking key MUST be derived from a strong source of entropy".',
    code: [CSPRNG],
    tests: [test(E_CLIENT_WIRE, 'by default every frame gets a fresh key from the CSPRNG')],
  },
  {
    id: '6455-5.3-unpredictable',
    rfc: 6455, section: '5.3', keyword: 'MUST NOT', roles: 'client',
    text: '"the masking key for a given frame MUST NOT make it simple for a server/proxy to predict the masking key for a subsequent frame."',
    code: [CSPRNG, FRESH_KEY],
    tests: [test(E_CLIENT_WIRE, 'by default every frame gets a fresh key from the CSPRNG')],
  },

  // ------------------------------------------------------------------ §5.4
  {
    id: '6455-5.4-control-not-fragmented',
    rfc: 6455, section: '5.4', keyword: 'MUST NOT', roles: 'both',
    text: '"Control frames themselves MUST NOT be fragmented." A fragmented control frame received fails the connection.',
    code: [code(PARSER, "throw protocolError('WS_ERR_FRAGMENTED_CONTROL_FRAME'")],
    tests: [test(E_FRAGMENTS, 'a fragmented ping (FIN=0 on PING)'), test(E_FRAGMENTS, 'a fragmented close (FIN=0 on CLOSE)'), test(T_DIFFERENTIAL, 'every single-frame rule, each alone, in every chunking of its header')],
  },
  {
    id: '6455-5.4-fragments-in-order',
    rfc: 6455, section: '5.4', keyword: 'MUST', roles: 'both',
    text: '"Message fragments MUST be delivered to the recipient in the order sent by the sender."',
    code: [code(PROTOCOL, 'else this.encodeBytes(send.opcode, send.payload, send.fin, send.owned);')],
    tests: [test(T_PROTOCOL, 'sendFragment: TEXT/BINARY first, CONTINUATION after, FIN only on the last'), test(T_PROTOCOL, 'in-memory pair: fragments sent by a client are reassembled by a server')],
    why: 'Frames are queued and written in the order they are sent, including frames held behind a compression.',
  },
  {
    id: '6455-5.4-no-interleaving',
    rfc: 6455, section: '5.4', keyword: 'MUST NOT', roles: 'both',
    text: '"The fragments of one message MUST NOT be interleaved between the fragments of another message unless an extension has been negotiated that can interpret the interleaving." A new data frame inside a fragmented message fails the connection.',
    code: [code(PROTOCOL, "throw protocolError('WS_ERR_EXPECTED_CONTINUATION'")],
    tests: [test(E_FRAGMENTS, 'a new TEXT frame while a fragmented text message is open'), test(T_PROTOCOL, 'a new TEXT or BINARY frame inside a fragmented message → 1002')],
  },
  {
    id: '6455-5.4-control-between-fragments',
    rfc: 6455, section: '5.4', keyword: 'MUST', roles: 'both',
    text: '"An endpoint MUST be capable of handling control frames in the middle of a fragmented message."',
    code: [code(PROTOCOL, 'Control frames may arrive between the fragments of a message (§5.4)')],
    tests: [test(E_FRAGMENTS, 'a ping between fragments is answered BEFORE the message completes'), test(T_PROTOCOL, 'pings and pongs between every fragment')],
  },
  {
    id: '6455-5.4-receive-fragmented',
    rfc: 6455, section: '5.4', keyword: 'MUST', roles: 'both',
    text: '"Clients and servers MUST support receiving both fragmented and unfragmented messages."',
    code: [code(PROTOCOL, 'if (!this.frameFin) return;')],
    tests: [test(E_FRAGMENTS, 'text in ${n} fragments is echoed as one message'), test(E_CLIENT_WIRE, 'fragments, with control frames between them, are reassembled')],
  },
  {
    id: '6455-5.4-continuation-needs-message',
    rfc: 6455, section: '5.4', keyword: 'MUST', roles: 'both',
    text: '"the type for all fragments in a message MUST be either text, binary, or one of the reserved opcodes" — a continuation frame with no message started fails the connection.',
    code: [code(PROTOCOL, "throw protocolError('WS_ERR_UNEXPECTED_CONTINUATION'")],
    tests: [test(E_FRAGMENTS, 'a continuation (FIN=1) with no message started'), test(T_PROTOCOL, 'a continuation frame with no message started → 1002')],
  },
  {
    id: '6455-5.4-intermediaries',
    rfc: 6455, section: '5.4', keyword: 'MUST NOT', roles: 'both',
    text: 'An intermediary MUST NOT change the fragmentation of a control frame, of a message with unknown reserved bits, or of any message when it does not understand the negotiated extensions or did not see the handshake.',
    status: 'not-applicable',
    why: 'Binds intermediaries; this library is an endpoint.',
  },

  // ------------------------------------------------------------------ §5.5
  {
    id: '6455-5.5-control-125-received',
    rfc: 6455, section: '5.5', keyword: 'MUST', roles: 'both',
    text: '"All control frames MUST have a payload length of 125 bytes or less" — a longer one received fails the connection (judged from the 7-bit length field).',
    code: [code(PARSER, "throw protocolError('WS_ERR_CONTROL_FRAME_TOO_LONG'")],
    tests: [test(E_PING, 'a ping with a 126-byte payload fails the connection with 1002'), test(E_CLOSE, 'a 126-byte close payload (code + 124-byte reason) fails with 1002'), test(T_DIFFERENTIAL, 'every single-frame rule, each alone, in every chunking of its header')],
  },
  {
    id: '6455-5.5-control-125-sent',
    rfc: 6455, section: '5.5', keyword: 'MUST', roles: 'both',
    text: '"All control frames MUST have a payload length of 125 bytes or less" — we refuse to send a longer ping, pong or close.',
    code: [code(PROTOCOL, "throw new LocalError('WS_ERR_CONTROL_PAYLOAD_TOO_LONG'"), code(CLOSE_PAYLOAD, "throw new LocalError('WS_ERR_CLOSE_REASON_TOO_LONG'")],
    tests: [test(T_PROTOCOL, 'a ping or pong payload over 125 bytes → LocalError'), test(T_CLOSE_PAYLOAD, 'a reason of 123 bytes is accepted; 124 bytes → LocalError')],
  },
  {
    id: '6455-5.5-control-not-fragmented-sent',
    rfc: 6455, section: '5.5', keyword: 'MUST NOT', roles: 'both',
    text: 'Control frames "MUST NOT be fragmented" — every ping, pong and close we send has FIN set.',
    code: [code(PROTOCOL, 'this.encodeBytes(Opcode.CLOSE, buildClosePayload(code, reason), true);'), code(PROTOCOL, 'this.encodeBytes(Opcode.PING, payload, true);')],
    tests: [test(T_PROTOCOL, 'sendPing / sendPong: exact bytes'), test(T_PROTOCOL, 'sendClose with no code sends an empty close frame')],
  },

  // ------------------------------------------------------------------ §5.5.1
  {
    id: '6455-5.5.1-body-starts-with-code',
    rfc: 6455, section: '5.5.1', keyword: 'MUST', roles: 'both',
    text: '"If there is a body, the first two bytes of the body MUST be a 2-byte unsigned integer (in network byte order) representing a status code" — a 1-byte body received fails with 1002; a reason cannot be sent without a code.',
    code: [code(CLOSE_PAYLOAD, "throw protocolError('WS_ERR_CLOSE_PAYLOAD_ONE_BYTE'"), code(CLOSE_PAYLOAD, "throw new LocalError('WS_ERR_CLOSE_REASON_WITHOUT_CODE'")],
    tests: [test(E_CLOSE, 'a 1-byte close payload fails with 1002'), test(T_CLOSE_PAYLOAD, 'a reason without a code → LocalError'), test(T_CLOSE_PAYLOAD, 'reads the code in network byte order')],
  },
  {
    id: '6455-5.5.1-reason-not-shown',
    rfc: 6455, section: '5.5.1', keyword: 'MUST NOT', roles: 'client',
    text: '"As the data is not guaranteed to be human readable, clients MUST NOT show it to end users."',
    status: 'not-applicable',
    why: 'Binds the user interface: the library hands the reason to the application and shows nothing to anyone.',
  },
  {
    id: '6455-5.5.1-client-close-masked',
    rfc: 6455, section: '5.5.1', keyword: 'MUST', roles: 'client',
    text: '"Close frames sent from client to server must be masked as per Section 5.3." (lower-case must; §5.1 makes it a MUST for every frame)',
    code: [WRITER_FOR_ROLE, CLIENT_MASKS],
    tests: [test(E_CLIENT_WIRE, 'close, pong and empty frames are masked too'), test(T_PROTOCOL, 'close frame is masked')],
  },
  {
    id: '6455-5.5.1-no-data-after-close',
    rfc: 6455, section: '5.5.1', keyword: 'MUST NOT', roles: 'both',
    text: '"The application MUST NOT send any more data frames after sending a Close frame." — send() after close() throws instead of sending.',
    code: [NO_DATA_AFTER_CLOSE],
    tests: [test(T_PROTOCOL, 'every send after our close throws ConnectionClosedError')],
  },
  {
    id: '6455-5.5.1-answer-close',
    rfc: 6455, section: '5.5.1', keyword: 'MUST', roles: 'both',
    text: '"If an endpoint receives a Close frame and did not previously send a Close frame, the endpoint MUST send a Close frame in response."',
    code: [ANSWER_CLOSE],
    tests: [test(E_CLOSE, 'close code ${code} is echoed'), test(T_PROTOCOL, 'peer closes with a code: we echo the code'), test(E_CLIENT_WIRE, 'the client answers with its code and waits for the server to close TCP'), test(T_CLOSE_STATE, 'the peer closes first: our echo goes out at once (§5.5.1)')],
  },
  {
    id: '6455-5.5.1-answer-soon',
    rfc: 6455, section: '5.5.1', keyword: 'SHOULD', roles: 'both',
    text: 'It "SHOULD do so as soon as practical" (it MAY first finish sending the current message).',
    code: [code(PROTOCOL, "this.closeAfterHeldSends(code === CloseCode.NO_STATUS_RECEIVED ? undefined : code, '');")],
    tests: [test(E_CLOSE, 'a message and a close in one write: the message is echoed, then the close')],
  },
  {
    id: '6455-5.5.1-close-tcp',
    rfc: 6455, section: '5.5.1', keyword: 'MUST', roles: 'server',
    text: '"After both sending and receiving a Close message, an endpoint ... MUST close the underlying TCP connection. The server MUST close the underlying TCP connection immediately".',
    code: [SERVER_CLOSES_TCP, SHELL_CLOSES_TCP],
    tests: [test(E_CLOSE, 'a close with no payload is answered with a close (empty or 1000), then TCP is closed by the server'), test(T_PROTOCOL, 'peer closes with a code: we echo the code, closeReceived, shouldCloseTransport (server)'), TRANSPORT_PER_ROLE],
  },
  {
    id: '6455-5.5.1-client-waits',
    rfc: 6455, section: '5.5.1', keyword: 'SHOULD', roles: 'client',
    text: '"the client SHOULD wait for the server to close the connection but MAY close the connection at any time after sending and receiving a Close message, e.g., if it has not received a TCP Close from the server in a reasonable time period."',
    code: [SERVER_CLOSES_TCP, CLIENT_WAITS],
    tests: [test(E_CLIENT_WIRE, 'waits for the server to close TCP (§7.1.1)'), test(E_CLIENT_WIRE, 'a server that never closes TCP is dropped after closeTimeout'), TRANSPORT_PER_ROLE],
  },

  // ------------------------------------------------------------ §5.5.2, §5.5.3
  {
    id: '6455-5.5.2-answer-ping',
    rfc: 6455, section: '5.5.2', keyword: 'MUST', roles: 'both',
    text: '"Upon receipt of a Ping frame, an endpoint MUST send a Pong frame in response, unless it already received a Close frame."',
    code: [PONG],
    tests: [test(E_PING, 'a ping with no payload gets a pong with no payload'), test(E_CLOSE, 'while waiting for the client'), test(E_CLIENT_WIRE, 'pings are answered with the same payload')],
  },
  {
    id: '6455-5.5.2-answer-soon',
    rfc: 6455, section: '5.5.2', keyword: 'SHOULD', roles: 'both',
    text: '"It SHOULD respond with Pong frame as soon as is practical." — pongs are queued as the ping is read, ahead of the rest of a fragmented message.',
    code: [PONG],
    tests: [test(E_FRAGMENTS, 'a ping between fragments is answered BEFORE the message completes'), test(E_PING, '10 pings in one TCP write get 10 pongs, in order')],
  },
  {
    id: '6455-5.5.3-pong-echoes-ping',
    rfc: 6455, section: '5.5.3', keyword: 'MUST', roles: 'both',
    text: '"A Pong frame sent in response to a Ping frame must have identical "Application data" as found in the message body of the Ping frame being replied to." (lower-case must)',
    code: [PONG],
    tests: [test(E_PING, 'a ping with a binary payload (not UTF-8) gets a pong with identical bytes'), test(E_PING, 'a ping with a 125-byte payload (the maximum) gets a pong with identical bytes')],
  },

  // ------------------------------------------------------------------ §5.6
  {
    id: '6455-5.6-text-is-utf8',
    rfc: 6455, section: '5.6', keyword: 'MUST', roles: 'both',
    text: 'Text: "a particular text frame might include a partial UTF-8 sequence; however, the whole message MUST contain valid UTF-8."',
    code: [code(PROTOCOL, 'if (messageOpcode === Opcode.TEXT && this.utf8Validator !== null && !this.utf8Validator.isComplete()) throw invalidUtf8();', 1), code(PROTOCOL, 'if (this.utf8Validator !== null && !this.utf8Validator.isComplete()) throw invalidUtf8();', 1)],
    tests: [test(T_PROTOCOL, 'a text message truncated inside a code point → 1007 at its end'), test(E_UTF8, 'a truncated sequence is not an error while the message is still open')],
  },
  {
    id: '6455-5.6-text-sent-is-utf8',
    rfc: 6455, section: '5.6', keyword: 'MUST', roles: 'both',
    text: 'The whole text message "MUST contain valid UTF-8" — text we send is encoded from a JavaScript string, lone surrogates as U+FFFD.',
    code: [code(WRITER, "target.write(text, offset + room, 'utf8')"), code(WRITER, "this.writeFrame(opcode, Buffer.from(text, 'utf8'), fin, 0, true);")],
    tests: [test(T_PROTOCOL, 'text around the copy threshold (16 KiB) and lone surrogates'), test(T_DIFFERENTIAL, 'text at every length boundary, ASCII and not')],
  },

  // ------------------------------------------------------------------ §5.8
  {
    id: '6455-5.8-negotiate-extensions',
    rfc: 6455, section: '5.8', keyword: 'MUST', roles: 'both',
    text: '"The endpoints of a connection MUST negotiate the use of any extensions during the opening handshake." — reserved bits are allowed only for an extension agreed in the handshake.',
    code: [code(PROTOCOL, 'allowedRsv: this.extension !== null ? this.extension.rsvBits : 0')],
    tests: [test(E_DEFLATE, 'RSV1 without negotiation → 1002 (offer declined)'), test(E_DEFLATE, 'RSV1 on a server without perMessageDeflate → 1002')],
  },

  // ------------------------------------------------------------------ §6.1
  {
    id: '6455-6.1-open-state',
    rfc: 6455, section: '6.1', keyword: 'MUST', roles: 'both',
    text: 'Step 1: "The endpoint MUST ensure the WebSocket connection is in the OPEN state".',
    code: [NO_DATA_AFTER_CLOSE],
    tests: [test(T_PROTOCOL, 'sending after a protocol error throws ConnectionClosedError'), test(T_PROTOCOL, 'receiveEof, terminate and transportClosed close the connection: CLOSED, input ignored, sending throws')],
  },
  {
    id: '6455-6.1-frame',
    rfc: 6455, section: '6.1', keyword: 'MUST', roles: 'both',
    text: 'Step 2: "An endpoint MUST encapsulate the /data/ in a WebSocket frame as defined in Section 5.2."',
    code: [code(ENCODER, 'target[offset] = (fin ? 0x80 : 0) | (rsv << 4) | opcode;')],
    tests: [test(T_ENCODER, 'encodes FIN, each RSV bit and every opcode in byte 0'), test(T_ENCODER, 'a single-frame unmasked text message')],
  },
  {
    id: '6455-6.1-opcode',
    rfc: 6455, section: '6.1', keyword: 'MUST', roles: 'both',
    text: 'Step 3: "The opcode (frame-opcode) of the first frame containing the data MUST be set to the appropriate value ... for data that is to be interpreted by the recipient as text or binary data."',
    code: [code(PROTOCOL, 'this.encodeText(Opcode.TEXT, text, true);'), code(PROTOCOL, 'this.encodeBytes(Opcode.BINARY, data, true);')],
    tests: [test(T_PROTOCOL, 'sendFragment: TEXT/BINARY first'), test(E_CLIENT_OURS, 'typed arrays and ArrayBuffers go as binary')],
  },
  {
    id: '6455-6.1-fin',
    rfc: 6455, section: '6.1', keyword: 'MUST', roles: 'both',
    text: 'Step 4: "The FIN bit (frame-fin) of the last frame containing the data MUST be set to 1".',
    code: [code(ENCODER, 'target[offset] = (fin ? 0x80 : 0) | (rsv << 4) | opcode;')],
    tests: [test(T_PROTOCOL, 'sendFragment: TEXT/BINARY first, CONTINUATION after, FIN only on the last')],
  },
  {
    id: '6455-6.1-client-masks',
    rfc: 6455, section: '6.1', keyword: 'MUST', roles: 'client',
    text: 'Step 5: "If the data is being sent by the client, the frame(s) MUST be masked as defined in Section 5.3."',
    code: [WRITER_FOR_ROLE, CLIENT_MASKS],
    tests: [test(E_CLIENT_WIRE, '16-bit and 64-bit lengths, binary payloads masked'), test(T_DIFFERENTIAL, 'byte payloads at every length boundary, unmasked (server) and masked (client)')],
  },
  {
    id: '6455-6.1-transmit',
    rfc: 6455, section: '6.1', keyword: 'MUST', roles: 'both',
    text: 'Step 7: "The frame(s) that have been formed MUST be transmitted over the underlying network connection."',
    code: [code(CONNECTION, 'const chunks = this.core.takeOutput();')],
    tests: [test(E_FRAMING, '100 frames in one TCP write are echoed in order'), test(E_CLIENT_OURS, 'binary messages of every length encoding round-trip byte for byte')],
  },

  // ------------------------------------------------------------------ §6.2
  {
    id: '6455-6.2-parse-frames',
    rfc: 6455, section: '6.2', keyword: 'MUST', roles: 'both',
    text: '"Incoming data MUST be parsed as WebSocket frames as defined in Section 5.2."',
    code: [code(PARSER, 'this.decodeHeader(scratch, 0);')],
    tests: [test(T_PARSER, 'decodes many frames back to back, every length form, in every chunking'), test(E_FRAMING, 'a 7-bit-length text frame dribbled 1 byte per TCP write is echoed')],
  },
  {
    id: '6455-6.2-control-frames',
    rfc: 6455, section: '6.2', keyword: 'MUST', roles: 'both',
    text: '"If a control frame (Section 5.5) is received, the frame MUST be handled as defined by Section 5.5."',
    code: [code(PROTOCOL, 'this.controlFrameEnd(opcode);')],
    tests: [test(T_PROTOCOL, 'pings and pongs between every fragment'), test(E_PING, 'pings interleaved with messages are answered in stream order')],
  },
  {
    id: '6455-6.2-note-type',
    rfc: 6455, section: '6.2', keyword: 'MUST', roles: 'both',
    text: '"Upon receiving a data frame (Section 5.6), the endpoint MUST note the /type/ of the data as defined by the opcode" — the type of a fragmented message is that of its first frame.',
    code: [code(PROTOCOL, 'this.messageOpcode = opcode;')],
    tests: [test(E_FRAGMENTS, 'binary in ${n} fragments is echoed as one message'), test(T_PROTOCOL, 'text and binary in 2..12 frames')],
  },
  {
    id: '6455-6.2-new-message',
    rfc: 6455, section: '6.2', keyword: 'MUST', roles: 'both',
    text: 'After the last fragment, "Subsequent data frames MUST be interpreted as belonging to a new WebSocket message."',
    code: [code(PROTOCOL, 'const messageOpcode = this.messageOpcode;')],
    tests: [test(E_FRAGMENTS, 'two fragmented messages back to back are echoed separately, in order'), test(E_FRAGMENTS, 'a continuation right after a complete message')],
  },
  {
    id: '6455-6.2-server-unmasks',
    rfc: 6455, section: '6.2', keyword: 'MUST', roles: 'server',
    text: '"A server MUST remove masking for data frames received from a client as described in Section 5.3."',
    code: [code(PARSER, 'this.maskPhase = applyMask(chunk, pos, end, MASK_KEY, this.maskPhase);')],
    tests: [test(T_PARSER, 'unmasks across chunk boundaries at every mask phase'), test(E_FRAMING, 'single-frame masked text "Hello"')],
  },

  // ------------------------------------------------------------------ §7.1.1
  {
    id: '6455-7.1.1-clean-close',
    rfc: 6455, section: '7.1.1', keyword: 'SHOULD', roles: 'both',
    text: '"An endpoint SHOULD use a method that cleanly closes the TCP connection, as well as the TLS session, if applicable, discarding any trailing bytes that may have been received."',
    code: [code(CONNECTION, 'this.socket.end();')],
    tests: [test(E_TLS, 'closing handshake over TLS'), test(E_CLIENT_OURS, 'client-initiated close codes and reasons arrive at the server; TCP closes cleanly')],
    why: 'socket.end() sends FIN (and close_notify over TLS) after pending writes; reading continues, discarding input, until the peer closes.',
  },
  {
    id: '6455-7.1.1-server-closes-first',
    rfc: 6455, section: '7.1.1', keyword: 'SHOULD', roles: 'server',
    text: '"The underlying TCP connection, in most normal cases, SHOULD be closed first by the server" and "when a server is instructed to _Close the WebSocket Connection_ it SHOULD initiate a TCP Close immediately".',
    code: [SERVER_CLOSES_TCP, SHELL_CLOSES_TCP],
    tests: [test(E_CLOSE, 'then TCP is closed by the server'), test(E_CLOSE, 'the server sends its close frame first, then closes TCP promptly once the client answers'), TRANSPORT_PER_ROLE],
  },
  {
    id: '6455-7.1.1-client-waits',
    rfc: 6455, section: '7.1.1', keyword: 'SHOULD', roles: 'client',
    text: '"when a client is instructed to do the same, it SHOULD wait for a TCP Close from the server."',
    code: [SERVER_CLOSES_TCP, CLIENT_WAITS],
    tests: [test(E_CLIENT_WIRE, 'waits for the server to close TCP (§7.1.1)'), test(E_CLIENT_WIRE, 'then it waits for the server'), TRANSPORT_PER_ROLE],
  },

  // ------------------------------------------------------------------ §7.1.2
  {
    id: '6455-7.1.2-send-close',
    rfc: 6455, section: '7.1.2', keyword: 'MUST', roles: 'both',
    text: 'To start the closing handshake "an endpoint MUST send a Close control frame ... whose status code is set to /code/ and whose close reason is set to /reason/."',
    code: [code(PROTOCOL, 'this.close = sendCloseFrame(this.close, { code: code ?? CloseCode.NO_STATUS_RECEIVED, reason });'), code(PROTOCOL, 'this.encodeBytes(Opcode.CLOSE, buildClosePayload(code, reason), true);')],
    tests: [test(T_PROTOCOL, 'sendClose with no code sends an empty close frame; with a code and reason sends both'), test(E_CLOSE, 'a server-initiated close(4321, reason) sends that close frame'), test(T_CLOSE_STATE, 'we close first: CLOSED_BY_US (await the close frame)')],
  },
  {
    id: '6455-7.1.2-close-after-handshake',
    rfc: 6455, section: '7.1.2', keyword: 'SHOULD', roles: 'both',
    text: '"Once an endpoint has both sent and received a Close control frame, that endpoint SHOULD _Close the WebSocket Connection_" (the server at once, the client once the server has closed or after closeTimeout).',
    code: [SERVER_CLOSES_TCP, SHELL_CLOSES_TCP, CLIENT_WAITS],
    tests: [test(T_PROTOCOL, 'we close first: data is still delivered until the peer'), test(E_CLIENT_WIRE, 'a server that never closes TCP is dropped after closeTimeout'), TRANSPORT_PER_ROLE],
  },

  // ------------------------------------------------------------------ §7.1.7
  {
    id: '6455-7.1.7-fail-closes',
    rfc: 6455, section: '7.1.7', keyword: 'MUST', roles: 'both',
    text: 'To _Fail the WebSocket Connection_, "the client MUST _Close the WebSocket Connection_" and "the server MUST _Close the WebSocket Connection_".',
    code: [FAIL_CONNECTION, FAILED_CLOSES_TCP, SHELL_CLOSES_TCP],
    tests: [test(E_CLOSE, 'after a protocol error the server closes TCP by itself within closeTimeout'), test(E_CLOSE, 'the server sends its close frame first, then closes TCP promptly once the client answers'), test(T_CLOSE_STATE, 'failing: from ACTIVE, CLOSED_BY_US and CLOSED_BY_PEER → FAILED'), TRANSPORT_PER_ROLE],
  },
  {
    id: '6455-7.1.7-server-logs',
    rfc: 6455, section: '7.1.7', keyword: 'SHOULD', roles: 'server',
    text: 'Failing the connection, the server "SHOULD log the problem".',
    code: [code(CONNECTION, "if (this.listenerCount('error') > 0) this.safeEmit('error', error);"), code(PROTOCOL, 'if (this.log !== null) this.log(`! ${error.code}')],
    tests: [test(E_REQUIREMENTS, 'event carries the rule broken, its close code and section'), test(T_FRAME_LOG, 'a protocol with a logger reports messages, control frames and failures')],
    why: 'The failure (a ProtocolError with its code, close code and RFC section) is emitted on the connection\'s "error" event, and written to the frame log when one is on (WSRFC_DEBUG=1 or options.logger); the library does not write to a log of its own.',
  },
  {
    id: '6455-7.1.7-send-close',
    rfc: 6455, section: '7.1.7', keyword: 'SHOULD', roles: 'both',
    text: '"If _The WebSocket Connection is Established_ prior to the point where the endpoint is required to _Fail the WebSocket Connection_, the endpoint SHOULD send a Close frame with an appropriate status code".',
    code: [FAIL_SENDS_CLOSE],
    tests: [test(T_PROTOCOL, 'the close frame (code and reason) is the last output, and further input is ignored'), test(E_RSV, 'a valid message BEFORE the bad frame is echoed first, then 1002'), test(T_CLOSE_STATE, 'the peer breaks a rule: FAILED, our close carries the code')],
  },
  {
    id: '6455-7.1.7-stop-processing',
    rfc: 6455, section: '7.1.7', keyword: 'MUST NOT', roles: 'both',
    text: '"An endpoint MUST NOT continue to attempt to process data (including a responding Close frame) from the remote endpoint after being instructed to _Fail the WebSocket Connection_."',
    code: [code(PROTOCOL, 'if (this.parser.halted) {')],
    tests: [test(E_RSV, 'a ping AFTER the bad frame (same write) is not answered'), test(E_CLOSE, 'after its close, the server discards further frames'), test(T_PARSER, 'discards every later byte')],
  },
  {
    id: '6455-7.1.7-client-does-not-close',
    rfc: 6455, section: '7.1.7', keyword: 'SHOULD NOT', roles: 'client',
    text: '"Except as indicated above or as specified by the application layer ..., clients SHOULD NOT close the connection." (also §7.2.1, §7.3)',
    status: 'not-applicable',
    why: 'The client closes only when it fails the connection or when the application asks (close(), or the idleTimeout/pingInterval/closeTimeout options it set); when to close otherwise is the application\'s choice.',
  },

  // ------------------------------------------------------------------ §7.2
  {
    id: '6455-7.2.1-transport-lost',
    rfc: 6455, section: '7.2.1', keyword: 'MUST', roles: 'client',
    text: '"If at any point the underlying transport layer connection is unexpectedly lost, the client MUST _Fail the WebSocket Connection_." — reported as 1006, not clean.',
    code: [code(CONNECTION, 'this.core.transportClosed();'), code(CLOSE_STATE, 'code: received !== null ? received.code : CloseCode.ABNORMAL_CLOSURE,')],
    tests: [test(E_CLIENT_WIRE, 'the server drops TCP without a close frame → 1006'), test(E_CLIENT_HS, 'the server closes before its answer is complete → HS_ERR_NO_RESPONSE'), test(T_CLOSE_STATE, 'TCP ends without a close frame: TERMINATED, started by the peer, 1006, not clean')],
  },
  {
    id: '6455-7.2.1-handshake-failure',
    rfc: 6455, section: '7.2.1', keyword: 'MUST', roles: 'client',
    text: '"Certain algorithms, in particular during the opening handshake, require the client to _Fail the WebSocket Connection_. To do so, the client MUST _Fail the WebSocket Connection_ as defined in Section 7.1.7." — before the connection is established there is no close frame to send: TCP is dropped and connect() rejects.',
    code: [code(CONNECT, '#fail = (error: unknown): void => {'), code(CONNECT, 'this.#socket.destroy();')],
    tests: [test(E_CLIENT_HS, 'wrong Sec-WebSocket-Accept → HS_ERR_ACCEPT_MISMATCH'), test(E_CLIENT_HS, 'no answer in time → HS_ERR_CONNECT_TIMEOUT, and the socket is dropped')],
  },
  {
    id: '6455-7.2.2-abort',
    rfc: 6455, section: '7.2.2', keyword: 'MUST', roles: 'server',
    text: 'To _Abort the WebSocket Connection_ during the opening handshake, "the server MUST simply _Close the WebSocket Connection_".',
    code: [SERVER_WRITES_REFUSAL, code(HS_SOCKET, 'setTimeout(() => socket.destroy(), REJECTION_LINGER_MS).unref();')],
    tests: [test(E_ROBUST, 'binary garbage instead of a request → 400 and closed'), test(E_HANDSHAKE, 'an unknown path → 404 and the socket is closed')],
  },
  {
    id: '6455-7.2.3-backoff',
    rfc: 6455, section: '7.2.3', keyword: 'SHOULD', roles: 'client',
    text: '"clients SHOULD use some form of backoff when trying to reconnect after abnormal closures"; the first reconnect "SHOULD be delayed by a random amount of time", later ones "SHOULD be delayed by increasingly longer amounts of time".',
    // connect() makes one attempt; reconnecting() (src/client/reconnecting.ts) is the client that reconnects, after
    // 1006 and the other codes time can cure, and only after a delay drawn at random (jitter, 0.5 by default)
    // from an exponentially growing, capped nominal delay: the first reconnect waits a random part of initialDelay.
    code: [
      code(RECONNECT_POLICY, 'const nominal = Math.min(policy.maxDelay, policy.initialDelay * policy.factor ** Math.max(0, failures - 1));'),
      code(RECONNECT_POLICY, 'return Math.round(nominal * (1 - policy.jitter * random()));'),
      code(RECONNECTING, 'const delay = Math.max(backoffDelay(this.#attemptsInRow, this.#policy), retryAfter);'),
    ],
    tests: [
      test(T_RECONNECT_POLICY, 'backoff: min(maxDelay, initialDelay'),
      test(E_RECONNECTING, 'a server that accepts and drops at once (1012) is not hammered: the delay grows'),
    ],
  },
  {
    id: '6455-7.3-client-arbitrary-close',
    rfc: 6455, section: '7.3', keyword: 'SHOULD NOT', roles: 'client',
    text: '"Clients SHOULD NOT close the WebSocket connection arbitrarily."',
    status: 'not-applicable',
    why: 'Binds the application that calls close(); see 6455-7.1.7-client-does-not-close.',
  },

  // ------------------------------------------------------------------ §7.4
  {
    id: '6455-7.4.1-no-1005',
    rfc: 6455, section: '7.4.1', keyword: 'MUST NOT', roles: 'both',
    text: '"1005 is a reserved value and MUST NOT be set as a status code in a Close control frame by an endpoint." — a close without a code is answered with an empty close.',
    code: [CANNOT_SEND_CODE, code(PROTOCOL, "this.closeAfterHeldSends(code === CloseCode.NO_STATUS_RECEIVED ? undefined : code, '');")],
    tests: [EVERY_CODE_SENDABLE, test(T_PROTOCOL, 'peer close with no payload: we answer with an empty close (1005 is never sent)'), test(E_CLIENT_WIRE, 'an empty close frame from the server is reported as 1005')],
  },
  {
    id: '6455-7.4.1-no-1006',
    rfc: 6455, section: '7.4.1', keyword: 'MUST NOT', roles: 'both',
    text: '"1006 is a reserved value and MUST NOT be set as a status code in a Close control frame by an endpoint."',
    code: [CANNOT_SEND_CODE],
    tests: [EVERY_CODE_SENDABLE, test(T_PROTOCOL, 'sendClose rejects codes that may not be sent')],
  },
  {
    id: '6455-7.4.1-no-1015',
    rfc: 6455, section: '7.4.1', keyword: 'MUST NOT', roles: 'both',
    text: '"1015 is a reserved value and MUST NOT be set as a status code in a Close control frame by an endpoint."',
    code: [CANNOT_SEND_CODE],
    tests: [EVERY_CODE_SENDABLE],
  },
  {
    id: '6455-7.4.1-1010-reason',
    rfc: 6455, section: '7.4.1', keyword: 'SHOULD', roles: 'client',
    text: '1010: "The list of extensions that are needed SHOULD appear in the /reason/ part of the Close frame."',
    status: 'not-applicable',
    why: 'The client never requires an extension, so it never closes with 1010 (an unacceptable answer fails the handshake instead).',
  },

  // ------------------------------------------------------------------ §8.1
  {
    id: '6455-8.1-invalid-utf8-fails',
    rfc: 6455, section: '8.1', keyword: 'MUST', roles: 'both',
    text: '"When an endpoint is to interpret a byte stream as UTF-8 but finds that the byte stream is not, in fact, a valid UTF-8 stream, that endpoint MUST _Fail the WebSocket Connection_." — text messages fail with 1007 at the first invalid byte.',
    code: [code(PROTOCOL, "return protocolError('WS_ERR_INVALID_UTF8'"), code(PROTOCOL, 'if (this.messageOpcode === Opcode.TEXT && !this.messageCompressed && !this.utf8.write(data, start, end)) throw invalidUtf8();')],
    tests: [test(E_UTF8, '${name}: in one final frame'), test(E_UTF8, 'an invalid byte in the second of three fragments: 1007 before the third is sent'), test(E_CLIENT_WIRE, 'invalid UTF-8 fails at the first bad byte')],
  },
  {
    id: '6455-8.1-close-reason-utf8',
    rfc: 6455, section: '8.1', keyword: 'MUST', roles: 'both',
    text: 'The same rule for the close reason, which §5.5.1 defines as UTF-8.',
    code: [code(CLOSE_PAYLOAD, "throw protocolError('WS_ERR_INVALID_CLOSE_REASON'")],
    tests: [test(E_CLOSE, 'a close reason that is not valid UTF-8 fails with 1007'), test(T_CLOSE_PAYLOAD, 'a reason that is not UTF-8 → 1007')],
  },
  {
    id: '6455-8.1-compressed-text-utf8',
    rfc: 6455, section: '8.1', keyword: 'MUST', roles: 'both',
    text: 'The same rule for text that arrives compressed (checked once inflated).',
    code: [code(PROTOCOL, 'if (!isValidUtf8(inflated)) throw invalidUtf8();')],
    tests: [test(E_DEFLATE, 'compressed text that inflates to invalid UTF-8 → 1007'), test('test/unit/protocol-deflate.test.ts', 'compressed text that inflates to invalid UTF-8 fails with 1007')],
  },
  {
    id: '6455-8.1-handshake-utf8',
    rfc: 6455, section: '8.1', keyword: 'MUST', roles: 'both',
    text: '"This rule applies both during the opening handshake and during subsequent data exchange."',
    status: 'not-applicable',
    why: 'No field of the opening handshake is interpreted as UTF-8: HTTP heads are read as Latin-1 and every WebSocket field is checked against its ASCII grammar (tokens, base64, digits).',
  },

  // ------------------------------------------------------------------ §9, §9.1
  {
    id: '6455-9-no-unrequested-extension',
    rfc: 6455, section: '9', keyword: 'MUST NOT', roles: 'server',
    text: '"A server MUST NOT respond with any extension not requested by the client."',
    code: [code(SERVER_NEG, 'const accepted = negotiateDeflate(parseExtensionHeader(offer), deflate);'), code(DEFLATE_NEG, 'if (offer.name !== PERMESSAGE_DEFLATE) continue;')],
    tests: [test(E_DEFLATE, 'no Sec-WebSocket-Extensions header → no extension'), test(T_PMD, 'negotiation table (RFC 7692 §7.1)'), test(T_SERVER_HS, 'extensions: permessage-deflate accepted when enabled')],
  },
  {
    id: '6455-9-parameters-per-spec',
    rfc: 6455, section: '9', keyword: 'MUST', roles: 'both',
    text: '"If extension parameters are included in negotiations between the client and the server, those parameters MUST be chosen in accordance with the specification of the extension to which the parameters apply." (RFC 7692 §7 for permessage-deflate)',
    code: [code(DEFLATE_NEG, 'const accepted = acceptOffer(offer, settings);'), code(CLIENT_HS, 'const agreement = acceptDeflateResponse(parseExtensionHeader(accepted.extensions), this.#deflate, head);')],
    tests: [test(T_PMD, 'negotiation table (RFC 7692 §7.1)')],
  },
  {
    id: '6455-9.1-malformed-fails',
    rfc: 6455, section: '9.1', keyword: 'MUST', roles: 'both',
    text: '"If a value is received by either the client or the server during negotiation that does not conform to the ABNF below, the recipient of such malformed data MUST immediately _Fail the WebSocket Connection_."',
    code: [code(EXT_HEADER, 'export function parseExtensionHeader('), code(CLIENT_NEG, "`the server's Sec-WebSocket-Extensions is malformed: ${detail}`")],
    tests: [test(E_DEFLATE, 'malformed header ${JSON.stringify(header)} → 400'), test(T_EXT_HEADER, 'syntax errors are HandshakeError 400'), test(E_CLIENT_HS, 'a malformed answer fails')],
  },
  {
    id: '6455-9.1-quoted-token',
    rfc: 6455, section: '9.1', keyword: 'MUST', roles: 'both',
    text: '"When using the quoted-string syntax variant, the value after quoted-string unescaping MUST conform to the \'token\' ABNF."',
    code: [code(EXT_HEADER, 'quotedToken(): string {')],
    tests: [test(T_EXT_HEADER, 'parses offers with parameters, values, quoted values and whitespace'), test(T_EXT_HEADER, 'syntax errors are HandshakeError 400')],
  },
  {
    id: '6455-9.1-registered-token',
    rfc: 6455, section: '9.1', keyword: 'MUST', roles: 'both',
    text: '"Any extension-token used MUST be a registered token (see Section 11.4). The parameters supplied with any given extension MUST be defined for that extension."',
    status: 'not-applicable',
    why: 'The only extension implemented is permessage-deflate, registered by RFC 7692; its parameters are checked by RFC 7692 §7 (see 7692-7-*). Offers the application writes itself (`extensions` option) are its own to get right.',
  },
  {
    id: '6455-9.1-client-uses-only-accepted',
    rfc: 6455, section: '9.1', keyword: 'MUST NOT', roles: 'client',
    text: '"the client is only offering to use any advertised extensions and MUST NOT use them unless the server indicates that it wishes to use the extension."',
    code: [code(CLIENT_HS, 'if (this.#deflate !== undefined && accepted.extensionNames.includes(PERMESSAGE_DEFLATE)) {'), code(CLIENT_CONNECTION, 'const options = agreed.extension === null ? plan.connection : { ...plan.connection, extension: agreed.extension };')],
    tests: [test(E_REQUIREMENTS, 'an offered extension the server did not accept is not used'), test(E_CLIENT_OURS, 'permessage-deflate: offered, negotiated, compressed both ways'), test(T_CLIENT_HS, 'permessage-deflate accepted: the codec is built for the agreed parameters')],
  },

  // ------------------------------------------------------------------ §10
  {
    id: '6455-10.2-verify-origin',
    rfc: 6455, section: '10.2', keyword: 'SHOULD', roles: 'server',
    text: '"Servers that are not intended to process input from any web page but only for certain sites SHOULD verify the |Origin| field is an origin they expect. If the origin indicated is unacceptable to the server, then it SHOULD respond to the WebSocket handshake with a reply containing HTTP 403 Forbidden status code."',
    code: [code(SERVER_NEG, 'if (checkOrigin && !(await checkOrigin(request.origin, request))) {')],
    tests: [test(E_HANDSHAKE, 'an Origin the hook rejects → 403'), test(E_HANDSHAKE, 'an Origin the hook allows is accepted'), test(T_SERVER_HS, 'checkOrigin false → 403 HS_ERR_ORIGIN')],
    why: 'Which origins to expect is the application\'s to say, through the checkOrigin option; the server answers 403 for any it refuses.',
  },
  {
    id: '6455-10.3-new-key-per-frame',
    rfc: 6455, section: '10.3', keyword: 'MUST', roles: 'client',
    text: '"Clients MUST choose a new masking key for each frame, using an algorithm that cannot be predicted by end applications that provide data."',
    code: [FRESH_KEY, CSPRNG],
    tests: [test(T_PROTOCOL, 'takes a fresh key for each frame'), test(E_CLIENT_WIRE, 'by default every frame gets a fresh key from the CSPRNG'), test(T_FRAME_WRITER, 'a client draws a fresh masking key for every frame; a server draws none')],
  },
  {
    id: '6455-10.3-payload-frozen',
    rfc: 6455, section: '10.3', keyword: 'MUST NOT', roles: 'client',
    text: '"once the transmission of a frame from a client has begun, the payload (application-supplied data) of that frame must not be capable of being modified by the application." (lower-case must) — a client masks into its own copy when it queues the frame.',
    code: [code(WRITER, 'copyWithMask(payload, 0, length, copy, 0, maskKey, 0);'), code(WRITER, 'target.set(data, payloadStart);')],
    tests: [test(E_REQUIREMENTS, 'cannot be changed by the application'), test(T_PROTOCOL, 'never modifies the caller'), test(T_FRAME_WRITER, 'a client masks a copy of the caller')],
  },
  {
    id: '6455-10.4-protect-limits',
    rfc: 6455, section: '10.4', keyword: 'MUST', roles: 'both',
    text: 'Implementations with limits on frame size or total message size "MUST protect themselves against exceeding those limits" — checked against the declared length, before the payload is buffered.',
    code: [code(PROTOCOL, 'if (this.messageSize + length > messageLimit) {'), code(PARSER, "throw protocolError('WS_ERR_FRAME_TOO_BIG'")],
    tests: [test(E_LIMITS, 'a header declaring 1001 bytes fails with 1009 before any payload is sent'), test(E_ROBUST, 'a frame header claiming 2^62 bytes'), test(E_CLIENT_WIRE, 'maxMessageSize: at the limit passes, one over → 1009')],
  },
  {
    id: '6455-10.4-impose-limits',
    rfc: 6455, section: '10.4', keyword: 'SHOULD', roles: 'both',
    text: '"Such an implementation SHOULD impose a limit on frame sizes and the total message size after reassembly from multiple frames." — maxFrameSize, maxMessageSize and maxFragments (a long stream of small frames).',
    code: [code(PROTOCOL, "throw protocolError('WS_ERR_TOO_MANY_FRAGMENTS'"), code(PARSER, 'if (length > this.maxFrameSize && (')],
    tests: [test(E_LIMITS, 'a single frame of 101 bytes fails with 1009'), test(E_LIMITS, '5 fragments (one over maxFragments) fail with 1009'), test(T_PROTOCOL, 'maxFragments: a message in exactly that many frames passes')],
  },
  {
    id: '6455-10.4-inflated-size',
    rfc: 6455, section: '10.4', keyword: 'MUST', roles: 'both',
    text: 'The message size limit also holds after decompression: a compressed message that would inflate past it fails with 1009 without being inflated whole.',
    code: [code(DEFLATE, "return new ProtocolError('WS_ERR_MESSAGE_TOO_BIG'")],
    tests: [test(E_DEFLATE, '64 KiB of deflate data that inflates to 64 MiB → 1009 at once, memory flat'), test(T_PMD, 'a decompression bomb stops at the limit with 1009')],
  },
  {
    id: '6455-10.4-handshake-limits',
    rfc: 6455, section: '10.4', keyword: 'MUST', roles: 'both',
    text: 'The same protection for the opening handshake: the request or response head is bounded in bytes, line length and header count.',
    code: [code('src/handshake/http-head-parser.ts', 'throw new HandshakeError(Code.HEAD_TOO_LARGE, 431')],
    tests: [test(E_HANDSHAKE, '64 KiB of headers → 431'), test(T_HTTP_HEAD, 'maxHeadBytes: a head of exactly the limit passes, one byte more → 431'), test(T_HTTP_HEAD, 'maxHeaderCount: exactly N fields pass'), test(E_CLIENT_HS, 'a response head over the limit fails without buffering it all'), test(T_SERVER_HS, '${c.status} ${c.code}, whatever the cut')],
  },
  {
    id: '6455-10.6-tls',
    rfc: 6455, section: '10.6', keyword: 'MUST', roles: 'both',
    text: '"WebSocket implementations MUST support TLS and SHOULD employ it when communicating with their peers."',
    code: [code(SERVER, 'this.netServer = options.tls'), code(CONNECT, '? tlsConnect({')],
    tests: [test(E_TLS, 'wss:// echo: text and binary'), test(E_CLIENT_OURS, 'wss:// with the self-signed certificate as CA')],
    why: 'Supported on both sides (the `tls` server option, wss:// URLs); whether to employ it is the deployment\'s choice.',
  },
  {
    id: '6455-10.7-validate-input',
    rfc: 6455, section: '10.7', keyword: 'MUST', roles: 'both',
    text: '"Incoming data MUST always be validated by both clients and servers." — anything that is not a valid frame fails the connection; compressed data that does not inflate fails with 1007.',
    code: [code(PROTOCOL, 'const consumed = this.parser.push(chunk);'), code(DEFLATE, "return new ProtocolError('WS_ERR_INVALID_COMPRESSED_DATA'")],
    tests: [test(T_PROTOCOL, 'random bytes after valid traffic never throw out of receiveData'), test(E_ROBUST, 'of seeded random garbage'), test(E_DEFLATE, 'corrupt deflate data (${what}) → 1007'), test(T_DIFFERENTIAL, 'fuzzed streams, random chunking: same frames, same partial frame, same close code')],
  },
  {
    id: '6455-10.7-close-on-invalid',
    rfc: 6455, section: '10.7', keyword: 'SHOULD', roles: 'both',
    text: '"If the invalid data was received after a successful WebSocket handshake, the endpoint SHOULD send a Close frame with an appropriate status code (Section 7.4) before proceeding to _Close the WebSocket Connection_."',
    code: [FAIL_SENDS_CLOSE],
    tests: [test(E_ROBUST, 'of seeded random garbage'), test(T_PROTOCOL, 'per-frame rules reach the listener as ProtocolErrors with their close codes'), test(T_ERROR_CODES, 'protocolError() takes the close code and section from the table')],
  },
  {
    id: '6455-10.7-internal-error-1011',
    rfc: 6455, section: '10.7', keyword: 'SHOULD', roles: 'both',
    text: 'The same "SHOULD send a Close frame with an appropriate status code (Section 7.4)" when what fails on the input is our own side (a bug, an extension that cannot handle the data, an event listener that throws): 1011, "an unexpected condition that prevented it from fulfilling the request" (§7.4.1). The connection fails; the error is reported on the \'error\' event and never reaches the socket\'s handlers.',
    code: [code(PROTOCOL, 'return error instanceof ProtocolError || error instanceof InternalError ? error : new InternalError(error);'), code(ERRORS, 'readonly closeCode: number = CloseCode.INTERNAL_ERROR;'), code(CONNECTION, 'const error = thrown instanceof InternalError ? thrown : new InternalError(thrown);')],
    tests: [test(E_INTERNAL, 'decoding a message: the connection fails with 1011'), test(E_INTERNAL, 'encoding a message sent by the application: send() does not throw, the connection fails with 1011'), test(E_INTERNAL, 'a message listener throws and so does the server'), test(T_CLOSE_STATE, 'a listener that throws while input is processed: FAILED with an InternalError (1011)'), test(T_CLOSE_STATE, 'an extension that throws, receiving or sending: FAILED with an InternalError (1011)')],
  },
  {
    id: '6455-10.7-http-status',
    rfc: 6455, section: '10.7', keyword: 'SHOULD', roles: 'server',
    text: '"If the invalid data is sent during the WebSocket handshake, the server SHOULD return an appropriate HTTP [RFC2616] status code."',
    code: [SERVER_REJECTS_HEAD, SERVER_REJECTS_UPGRADE, SERVER_WRITES_REFUSAL],
    tests: [test(E_ROBUST, 'a WebSocket frame instead of a request → 400 and closed'), test(T_HANDSHAKE, 'rejectionFor answers parser errors too'), test(T_SERVER_HS, '${c.status} ${c.code}, whatever the cut')],
  },

  // ------------------------------------------------------------------ §11.3
  {
    id: '6455-11.3.1-one-key',
    rfc: 6455, section: '11.3.1', keyword: 'MUST NOT', roles: 'both',
    text: '"The |Sec-WebSocket-Key| header field MUST NOT appear more than once in an HTTP request." — refused by the server.',
    code: [code(REQUEST, "if (keys.length > 1) throw new HandshakeError(Code.KEY, 400, 'more than one Sec-WebSocket-Key header');")],
    tests: [test(T_HANDSHAKE, 'Sec-WebSocket-Key missing, repeated or not 16 base64 bytes → 400')],
  },
  {
    id: '6455-11.3.2-one-extensions-response',
    rfc: 6455, section: '11.3.2', keyword: 'MUST NOT', roles: 'server',
    text: '"the |Sec-WebSocket-Extensions| header field MUST NOT appear more than once in an HTTP response."',
    code: [code(HTTP_RESPONSE, 'lines.push(`Sec-WebSocket-Extensions: ${options.extensions}`);')],
    tests: [test(T_HANDSHAKE, 'adds extensions and extra headers after the required ones'), test(T_HANDSHAKE, 'refuses extra headers that would override the handshake headers')],
  },
  {
    id: '6455-11.3.3-one-accept',
    rfc: 6455, section: '11.3.3', keyword: 'MUST NOT', roles: 'both',
    text: '"The |Sec-WebSocket-Accept| header MUST NOT appear more than once in an HTTP response." — the server writes it once; the client refuses two.',
    code: [code(RESPONSE, 'if (accept !== expectedAccept) {')],
    tests: [test(E_CLIENT_HS, 'missing Sec-WebSocket-Accept, or two of them → HS_ERR_ACCEPT_MISMATCH'), test(T_HANDSHAKE, 'refuses extra headers that would override the handshake headers')],
  },
  {
    id: '6455-11.3.4-one-protocol-response',
    rfc: 6455, section: '11.3.4', keyword: 'MUST NOT', roles: 'both',
    text: '"the |Sec-WebSocket-Protocol| header field MUST NOT appear more than once in an HTTP response." — the server writes at most one; the client refuses more than one subprotocol.',
    code: [code(CLIENT_NEG, 'if (selected.length !== 1) {'), code(SERVER_HS, 'protocol: protocol || undefined')],
    tests: [test(E_CLIENT_HS, 'more than one subprotocol selected → HS_ERR_PROTOCOL_NOT_OFFERED')],
  },
  {
    id: '6455-11.3.5-one-version-request',
    rfc: 6455, section: '11.3.5', keyword: 'MUST NOT', roles: 'both',
    text: '"the |Sec-WebSocket-Version| header field MUST NOT appear more than once in an HTTP request." — the client writes it once; the server refuses a repeated one.',
    code: [code(REQUEST, 'if (versions.length !== 1 || versions[0] !== String(WEBSOCKET_VERSION)) {')],
    tests: [test(T_HANDSHAKE, 'Sec-WebSocket-Version missing or not exactly 13')],
  },

  // ------------------------------------------------------------------ §11.1
  {
    id: '6455-11.1.1-host-to-ascii',
    rfc: 6455, section: '11.1.1', keyword: 'MUST', roles: 'client',
    text: '"Characters in the host component that are excluded by the syntax defined above MUST be converted from Unicode to ASCII as specified in [RFC3987]" (punycode; the same for wss, §11.1.2).',
    code: [code(URL_FILE, 'url = new URL(String(input));'), code(URL_FILE, 'hostHeader: url.host,')],
    tests: [test(T_CLIENT_REQUEST, 'splits a URL into where to connect and what to ask for')],
    why: 'The WHATWG URL parser applies IDNA: ws://bücher.example/ asks for xn--bcher-kva.example.',
  },
  {
    id: '6455-11.1.1-percent-encode',
    rfc: 6455, section: '11.1.1', keyword: 'MUST', roles: 'client',
    text: '"Characters in other components that are excluded by the syntax defined above MUST be converted from Unicode to ASCII by first encoding the characters as UTF-8 and then replacing the corresponding bytes using their percent-encoded form".',
    code: [code(URL_FILE, 'url = new URL(String(input));'), code(URL_FILE, "resource: query === '' ? path : `${path}?${query}`,")],
    tests: [test(T_CLIENT_REQUEST, 'splits a URL into where to connect and what to ask for')],
  },
];
