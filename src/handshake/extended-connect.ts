/**
 * The server's check of a WebSocket opening handshake carried by HTTP/2
 * (RFC 8441): an extended CONNECT request on a stream, instead of the
 * HTTP/1.1 GET with `Upgrade: websocket` (upgrade-request.ts). Pure, like
 * that one: the request's header object in (node:http2's, pseudo-header
 * fields included), either the same `UpgradeRequest` the HTTP/1.1 check
 * produces (so the same negotiation, routes and hooks run on it) or a
 * `HandshakeError` whose status is the refusal. And the answer's header
 * block: `:status 200` and what was agreed, where HTTP/1.1 writes a 101.
 *
 *     HTTP/1.1 (RFC 6455 §4)                HTTP/2 (RFC 8441 §5)
 *     GET /chat HTTP/1.1                    :method = CONNECT
 *     Host: example.com                     :protocol = websocket
 *     Upgrade: websocket                    :scheme = https
 *     Connection: Upgrade                   :path = /chat
 *     Sec-WebSocket-Key: dGhl...            :authority = example.com
 *     Sec-WebSocket-Version: 13             sec-websocket-version = 13
 *     → 101, Sec-WebSocket-Accept           → :status = 200
 *
 * What node:http2 (nghttp2) already refuses before we see a stream, as a
 * malformed request (RFC 9113 §8.1.1: a stream error of type
 * PROTOCOL_ERROR, i.e. RST_STREAM, no status): `:protocol` without
 * `SETTINGS_ENABLE_CONNECT_PROTOCOL` or on another method than CONNECT,
 * an extended CONNECT without `:scheme`, `:path` or `:authority`, repeated
 * or unknown pseudo-header fields, field names with uppercase letters or
 * other bytes RFC 9113 §8.2.1 forbids, and the connection-specific fields.
 * They are checked here all the same (400): the check must hold on its
 * own, for whoever drives it from another HTTP/2 stack.
 *
 * Checks run in this order, so a request breaking several rules gets the
 * most useful answer: method, `:protocol`, `:scheme`, `:path`,
 * `:authority`, field names (pseudo-header fields, characters), the HTTP
 * head limits, Host, connection-specific fields, Sec-WebSocket-Version,
 * body, Sec-WebSocket-Protocol.
 */
import { HandshakeError, LocalError } from '../errors.js';
import { HandshakeErrorCode as Code } from './error-codes.js';
import { DEFAULT_HTTP_HEAD_LIMITS, type HttpHeadLimits } from './http-head-parser.js';
import { isConnectionSpecificField } from './connection-specific-fields.js';
import { HttpHeaders } from './http-headers.js';
import type { AcceptDecisions } from './server-handshake.js';
import { checkRefusalStatus } from './server-negotiation.js';
import { equalsIgnoreAsciiCase, isFieldValue, isToken } from './tokens.js';
import { isPlausibleHost, parseProtocolOffers, WEBSOCKET_VERSION, type UpgradeRequest } from './upgrade-request.js';

/**
 * An HTTP/2 request's header fields as node:http2 gives them: lowercase
 * names, pseudo-header fields (`:method`...) included, a field sent on
 * several lines as an array (or already joined).
 */
export type Http2RequestHeaders = Readonly<Record<string, string | string[] | undefined>>;

/** An HTTP/2 response's header block: `:status` and lowercase field names. */
export type Http2ResponseHeaders = Record<string, string | number>;

/** A refusal over HTTP/2: the header block, then `body` ending the stream. */
export interface Http2Rejection {
  headers: Http2ResponseHeaders;
  body: string;
}

/**
 * RFC 9113 §6.5.2, SETTINGS_MAX_HEADER_LIST_SIZE: "The value is based on
 * the uncompressed size of field lines, including the length of the name
 * and value in octets plus an overhead of 32 octets for each field line."
 * The same measure is used against `maxHeadBytes` here.
 */
const FIELD_LINE_OVERHEAD = 32;

/**
 * Validate an HTTP/2 request as a WebSocket opening handshake (RFC 8441
 * §4–§5, and RFC 6455 §4.2.1 where it still applies). Throws
 * `HandshakeError`. `limits` are the HTTP/1.1 head limits, applied to what
 * they mean over HTTP/2 (the header list, each field line, the path).
 *
 * The result has `method` `CONNECT`, `target` the `:path`, `host` the
 * `:authority`, `key` `''` (no key over HTTP/2), and `headers` the regular
 * fields (pseudo-header fields excluded: they are in the other members).
 */
export function parseExtendedConnect(fields: Http2RequestHeaders, limits: Partial<HttpHeadLimits> = {}): UpgradeRequest {
  const { maxHeadBytes, maxHeaderCount, maxLineBytes } = { ...DEFAULT_HTTP_HEAD_LIMITS, ...limits };

  // RFC 8441 §4: "A new pseudo-header field :protocol MAY be included on
  // request HEADERS indicating the desired protocol to be spoken on the
  // tunnel created by CONNECT." Methods are case-sensitive (RFC 9110 §9.1).
  // Another method is not a WebSocket handshake at all: 405, with the
  // Allow header RFC 9110 §15.5.6 requires.
  const method = single(fields, ':method');
  if (method !== 'CONNECT') {
    throw new HandshakeError(Code.METHOD, 405, `method ${quote(method ?? '(none)')} not allowed: a WebSocket over HTTP/2 is an extended CONNECT (RFC 8441)`, {
      allow: 'CONNECT',
    });
  }

  // RFC 8441 §5: "The :protocol pseudo-header field MUST be included in the
  // CONNECT request, and it MUST have a value of "websocket" to initiate a
  // WebSocket connection on an HTTP/2 stream." The value is an upgrade
  // token, compared as RFC 6455 §4.2.1 item 3 compares Upgrade: "treated as
  // an ASCII case-insensitive value". A CONNECT without it asks for a TCP
  // tunnel (RFC 9113 §8.5), which this server does not provide; nor does it
  // speak another protocol. RFC 9110 §15.6.2: 501 "indicates that the
  // server does not support the functionality required to fulfill the
  // request".
  const protocol = single(fields, ':protocol');
  if (protocol === undefined) {
    throw new HandshakeError(Code.NOT_WEBSOCKET_CONNECT, 501, 'CONNECT without :protocol asks for a tunnel, which this server does not provide');
  }
  if (!equalsIgnoreAsciiCase(protocol, 'websocket')) {
    throw new HandshakeError(Code.NOT_WEBSOCKET_CONNECT, 501, `:protocol ${quote(protocol)} is not served here: only websocket`);
  }

  // RFC 8441 §4: "On requests that contain the :protocol pseudo-header
  // field, the :scheme and :path pseudo-header fields of the target URI
  // (see Section 5) MUST also be included." §5: "The scheme of the target
  // URI ... MUST be "https" for "wss"-schemed WebSockets and "http" for
  // "ws"-schemed WebSockets." Schemes are case-insensitive (RFC 3986
  // §3.1). Not compared with the connection's TLS: a proxy that ends TLS
  // may forward an https request over cleartext h2c (RFC 9113 §8.3.1: the
  // scheme "is not restricted to "http" and "https" schemed URIs").
  const scheme = pseudo(fields, ':scheme');
  if (!equalsIgnoreAsciiCase(scheme, 'https') && !equalsIgnoreAsciiCase(scheme, 'http')) {
    throw new HandshakeError(Code.PSEUDO_HEADER, 400, `:scheme ${quote(scheme)} is neither https (wss) nor http (ws)`);
  }

  // RFC 9113 §8.3.1, :path: "This pseudo-header field MUST NOT be empty for
  // "http" or "https" URIs; "http" or "https" URIs that do not contain a
  // path component MUST include a value of '/'." So an origin-form target,
  // as HTTP/1.1's; RFC 6455 §3: a WebSocket URI has no fragment.
  const target = pseudo(fields, ':path');
  if (target.length + 5 > maxLineBytes) {
    // The HTTP/1.1 request line's limit (414), the same path over either.
    throw new HandshakeError(Code.REQUEST_LINE_TOO_LONG, 414, `:path of ${target.length} bytes is over maxLineBytes (${maxLineBytes})`);
  }
  if (target.charCodeAt(0) !== 0x2f /* / */ || target.includes('#') || !isFieldValue(target) || target.includes(' ')) {
    throw new HandshakeError(Code.PSEUDO_HEADER, 400, `:path ${quote(target)} is not an absolute path with an optional query`);
  }
  const q = target.indexOf('?');
  const path = q === -1 ? target : target.slice(0, q);
  const query = q === -1 ? '' : target.slice(q + 1);

  // RFC 8441 §5: "The Host information is conveyed as part of the
  // :authority pseudo-header field, which is required on every HTTP/2
  // transaction." RFC 9113 §8.3.1: "A server SHOULD treat a request as
  // malformed if it contains a Host header field that identifies an entity
  // that differs from the entity in the :authority pseudo-header field."
  const authority = pseudo(fields, ':authority');
  if (!isPlausibleHost(authority)) throw new HandshakeError(Code.PSEUDO_HEADER, 400, `invalid :authority ${quote(authority)}`);

  // The regular fields, as the HTTP/1.1 head's, in the order node:http2 has them.
  const lines: Array<[string, string]> = [];
  let listBytes = 0;
  for (const name of Object.keys(fields)) {
    const value = fields[name];
    if (value === undefined) continue;
    checkFieldName(name);
    for (const one of Array.isArray(value) ? value : [value]) {
      // The head limits (431, RFC 6585 §5): the field lines, each line, the whole list.
      listBytes += name.length + one.length + FIELD_LINE_OVERHEAD;
      if (name.length + one.length + 4 > maxLineBytes) {
        throw new HandshakeError(Code.LINE_TOO_LONG, 431, `header ${quote(name)} is over maxLineBytes (${maxLineBytes})`);
      }
      if (name.charCodeAt(0) === 0x3a /* : */) continue;
      lines.push([name, one]);
    }
  }
  if (lines.length > maxHeaderCount) throw new HandshakeError(Code.TOO_MANY_HEADERS, 431, `more than ${maxHeaderCount} header fields`);
  if (listBytes > maxHeadBytes) throw new HandshakeError(Code.HEAD_TOO_LARGE, 431, `the header list is over maxHeadBytes (${maxHeadBytes})`);
  const headers = new HttpHeaders(lines);

  const hosts = headers.getAll('host');
  if (hosts.length > 1 || (hosts.length === 1 && !equalsIgnoreAsciiCase(hosts[0], authority.toLowerCase()))) {
    throw new HandshakeError(Code.PSEUDO_HEADER, 400, `Host ${quote(hosts.join(', '))} differs from :authority ${quote(authority)}`);
  }

  // RFC 8441 §5: "[RFC6455] requires the use of Connection and Upgrade
  // header fields that are not part of HTTP/2. They MUST NOT be included in
  // the CONNECT request defined here." RFC 9113 §8.2.2: "Any message
  // containing connection-specific header fields MUST be treated as
  // malformed", and TE "MAY be present in an HTTP/2 request; when it is, it
  // MUST NOT contain any value other than "trailers"".
  for (const [name, value] of lines) {
    if (isConnectionSpecificField(name, value)) {
      throw new HandshakeError(Code.CONNECTION_SPECIFIC_HEADER, 400, `connection-specific header ${quote(name)} is not allowed over HTTP/2`);
    }
  }

  // RFC 8441 §5: "The Origin [RFC6454], Sec-WebSocket-Version,
  // Sec-WebSocket-Protocol, and Sec-WebSocket-Extensions header fields are
  // used in the CONNECT request and response header fields as defined in
  // [RFC6455]." §4.2.1 item 6: "A |Sec-WebSocket-Version| header field,
  // with a value of 13"; §4.2.2 item 4: otherwise "an appropriate HTTP
  // error code (such as 426 Upgrade Required) and a |Sec-WebSocket-Version|
  // header field indicating the version(s) the server is capable of
  // understanding". Not 426 here: RFC 9110 §15.5.22 says "The server MUST
  // send an Upgrade header field in a 426 response", a field HTTP/2 forbids
  // (§8.2.2 above). So 400, with the version we speak.
  const versions = headers.getAll('sec-websocket-version');
  if (versions.length !== 1 || versions[0] !== String(WEBSOCKET_VERSION)) {
    throw new HandshakeError(
      Code.WS_VERSION,
      400,
      versions.length === 0
        ? 'missing sec-websocket-version: version 13 expected'
        : `unsupported sec-websocket-version ${quote(versions.join(', '))}: version 13 expected`,
      { 'sec-websocket-version': String(WEBSOCKET_VERSION) },
    );
  }

  // RFC 8441 §5: "Implementations using this extended CONNECT to bootstrap
  // WebSockets do not do the processing of the Sec-WebSocket-Key and
  // Sec-WebSocket-Accept header fields of [RFC6455] as that functionality
  // has been superseded by the :protocol pseudo-header field." So a key a
  // client sends anyway is neither required, nor checked, nor refused: it
  // is not processed (and no Sec-WebSocket-Accept is answered).

  // The stream's DATA frames are WebSocket frames, so the request has no
  // body; a content-length would also make the HTTP/2 layer count those
  // frames against it (RFC 9113 §8.1.1).
  const contentLength = headers.get('content-length');
  if (contentLength !== undefined) {
    throw new HandshakeError(Code.BODY, 400, `a WebSocket handshake has no body, but content-length is ${quote(contentLength)}`);
  }

  return {
    method,
    target,
    path,
    query,
    host: authority,
    origin: headers.get('origin'),
    key: '',
    version: WEBSOCKET_VERSION,
    // §4.1 item 10 and §11.3.4, as over HTTP/1.1 (400 for a malformed list).
    protocols: parseProtocolOffers(headers.get('sec-websocket-protocol')),
    extensions: headers.get('sec-websocket-extensions'),
    headers,
  };
}

/** Fields the accepting answer writes itself; extra headers may not set them. */
const ACCEPT_OWNED = new Set(['sec-websocket-protocol', 'sec-websocket-extensions', 'sec-websocket-accept', 'content-length', 'content-type']);

/**
 * The header block accepting the handshake: RFC 8441 §5.1's example answers
 * `:status 200` (RFC 9113 §8.5: "Any 2xx series response to a CONNECT
 * request" opens the tunnel; the 101 of HTTP/1.1 does not exist in HTTP/2,
 * RFC 9113 §8.6), with Sec-WebSocket-Protocol and Sec-WebSocket-Extensions
 * "as defined in [RFC6455]" (RFC 8441 §5; §4.2.2 items 5.5–5.6), and the
 * extra headers (authorize's): names lowercased (RFC 9113 §8.2.1: "field
 * names MUST be converted to lowercase"), connection-specific ones left out
 * (§8.2.2, connection-specific-fields.ts: the same hook serves HTTP/1.1,
 * where they mean something).
 *
 * Throws `LocalError` (the server answers 500 and reports it) for a
 * subprotocol that is not a token, a field that is not a token or whose
 * value holds CR, LF or another control character, or one that would
 * override what this answer writes.
 */
export function buildExtendedConnectResponse(decisions: AcceptDecisions = {}): Http2ResponseHeaders {
  const headers: Http2ResponseHeaders = Object.create(null) as Http2ResponseHeaders;
  headers[':status'] = 200;
  if (decisions.protocol) {
    if (!isToken(decisions.protocol)) {
      throw new LocalError(Code.INVALID_RESPONSE, `subprotocol ${JSON.stringify(decisions.protocol)} is not a token`);
    }
    headers['sec-websocket-protocol'] = decisions.protocol;
  }
  if (decisions.extensions !== undefined && decisions.extensions !== '') {
    checkField('sec-websocket-extensions', decisions.extensions);
    headers['sec-websocket-extensions'] = decisions.extensions;
  }
  copyExtraHeaders(headers, decisions.headers, ACCEPT_OWNED);
  return headers;
}

/** Fields a refusal writes itself. */
const REJECTION_OWNED = new Set(['content-type', 'content-length']);

/**
 * The refusal of a handshake over HTTP/2: `error`'s status and headers
 * (lowercased, connection-specific ones left out), a plain-text body with
 * its message (a 500 says only "internal server error"). The stream ends
 * with the body (END_STREAM). Throws `LocalError` if `error` carries an
 * invalid status or header (the server then answers a plain 500).
 */
export function buildExtendedConnectRejection(error: HandshakeError): Http2Rejection {
  const { status } = error;
  // RFC 9113 §8.5: "Any 2xx series response to a CONNECT request" opens the tunnel, so a 2xx cannot refuse.
  checkRefusalStatus(status);
  const headers: Http2ResponseHeaders = Object.create(null) as Http2ResponseHeaders;
  headers[':status'] = status;
  headers['content-type'] = 'text/plain; charset=utf-8';
  copyExtraHeaders(headers, error.headers, REJECTION_OWNED);
  return { headers, body: `${status === 500 ? 'internal server error' : error.message}\n` };
}

function copyExtraHeaders(into: Http2ResponseHeaders, extra: Readonly<Record<string, string>> | undefined, owned: ReadonlySet<string>): void {
  if (extra === undefined) return;
  for (const name of Object.keys(extra)) {
    const value = extra[name];
    checkField(name, value);
    const lower = name.toLowerCase();
    // RFC 9113 §8.2.2: "An endpoint MUST NOT generate an HTTP/2 message containing connection-specific header fields" (TE included: a response has no use for it).
    if (lower === 'te' || isConnectionSpecificField(lower, value)) continue;
    if (owned.has(lower)) throw new LocalError(Code.RESERVED_RESPONSE_HEADER, `header ${name} is written by the response builder and cannot be set`);
    into[lower] = value;
  }
}

/** A field this library writes: name a token (RFC 9110 §5.1), value free of CR, LF and other controls (§5.5). */
function checkField(name: string, value: unknown): asserts value is string {
  if (!isToken(name)) throw new LocalError(Code.INVALID_RESPONSE_HEADER, `response header name ${JSON.stringify(name)} is not a token`);
  if (typeof value !== 'string' || !isFieldValue(value)) {
    throw new LocalError(
      Code.INVALID_RESPONSE_HEADER,
      `value of response header ${name} has a control character (CR, LF...), surrounding whitespace, or a character above U+00FF`,
    );
  }
}

/**
 * The pseudo-header fields a request may carry: RFC 9113 §8.3.1's four, and
 * RFC 8441 §4's `:protocol` ("A new pseudo-header field :protocol MAY be
 * included on request HEADERS").
 */
const REQUEST_PSEUDO_HEADERS = new Set([':method', ':scheme', ':authority', ':path', ':protocol']);

/**
 * A request's field name, as RFC 9113 has it (400 otherwise).
 * §8.3: "Endpoints MUST treat a request or response that contains undefined
 * or invalid pseudo-header fields as malformed"; "pseudo-header fields
 * defined for responses MUST NOT appear in requests" (`:status`).
 * §8.2.1: "A field name MUST NOT contain characters in the ranges
 * 0x00-0x20, 0x41-0x5a, or 0x7f-0xff (all ranges inclusive). This
 * specifically excludes all non-visible ASCII characters, ASCII SP (0x20),
 * and uppercase characters ('A' to 'Z', ASCII 0x41 to 0x5a)." "With the
 * exception of pseudo-header fields (Section 8.3), which have a name that
 * starts with a single colon, field names MUST NOT include a colon".
 * And: "When a request message violates one of these requirements, an
 * implementation SHOULD generate a 400 (Bad Request) status code".
 */
function checkFieldName(name: string): void {
  if (name.charCodeAt(0) === 0x3a /* : */ && !REQUEST_PSEUDO_HEADERS.has(name)) {
    throw new HandshakeError(Code.PSEUDO_HEADER, 400, `pseudo-header field ${quote(name)} is not defined for requests`);
  }
  if (name.length === 0) throw new HandshakeError(Code.BAD_HEADER, 400, 'a field with an empty name');
  for (let i = name.charCodeAt(0) === 0x3a ? 1 : 0; i < name.length; i++) {
    const c = name.charCodeAt(i);
    if (c <= 0x20 || (c >= 0x41 && c <= 0x5a) || c >= 0x7f || c === 0x3a) {
      const what = c >= 0x41 && c <= 0x5a ? 'an uppercase letter' : 'a character field names may not hold';
      throw new HandshakeError(Code.BAD_HEADER, 400, `field name ${quote(name)} has ${what} (RFC 9113 §8.2.1)`);
    }
  }
}

/** A pseudo-header field that must be present once and not empty (RFC 8441 §4, RFC 9113 §8.3.1). */
function pseudo(fields: Http2RequestHeaders, name: string): string {
  const value = single(fields, name);
  if (value === undefined || value === '') throw new HandshakeError(Code.PSEUDO_HEADER, 400, `missing ${name}`);
  return value;
}

/**
 * A pseudo-header field's value, `undefined` if absent. RFC 9113 §8.3:
 * "The same pseudo-header field name MUST NOT appear more than once in a
 * field block."
 */
function single(fields: Http2RequestHeaders, name: string): string | undefined {
  const value = fields[name];
  if (Array.isArray(value)) {
    if (value.length === 1) return value[0];
    throw new HandshakeError(Code.PSEUDO_HEADER, 400, `${name} appears more than once`);
  }
  return value;
}

/** A peer-supplied value for an error message: quoted, escaped, cut at 64 characters. */
function quote(value: string): string {
  return JSON.stringify(value.length > 64 ? `${value.slice(0, 64)}…` : value);
}
