/**
 * Validation of a client's opening handshake, as a server reads it
 * (RFC 6455 §4.2.1). Pure: a parsed request head in, either the facts a
 * server needs to answer (`UpgradeRequest`) or a `HandshakeError` whose status
 * and headers are the rejection to send.
 *
 * Checks run in this order, so a request breaking several rules gets the most
 * useful answer: method, HTTP version, request target, Host, Upgrade (a
 * request without it was not a WebSocket request at all: 426), Connection,
 * Sec-WebSocket-Version (before the key: a client of another protocol version
 * may not even send a key in our format, and needs to hear which version we
 * speak), Sec-WebSocket-Key, body, Sec-WebSocket-Protocol.
 *
 * Not checked here: Origin (passed through; a server hook decides, answering
 * 403), extension offers (passed through raw to the extension negotiation),
 * and the choice of subprotocol (a server hook).
 */
import { HandshakeError } from '../errors.js';
import { isValidClientKey } from './accept-key.js';
import { HandshakeErrorCode as Code } from './error-codes.js';
import type { HttpHeaders, HttpRequestHead } from './http-head-parser.js';
import { isToken, listHasToken, splitList } from './tokens.js';

/** The only protocol version this library speaks (RFC 6455 §4.1 item 9, §11.6). */
export const WEBSOCKET_VERSION = 13;

/** What a server needs to know about a valid upgrade request. */
export interface UpgradeRequest {
  method: string;
  /** The request-target as sent. */
  target: string;
  /** Path of the target, without query, still percent-encoded: `/chat`. `/` if an absolute-form target has none. */
  path: string;
  /** Query of the target without the `?`; `''` if none. */
  query: string;
  /** Host and optional port: the Host header, or the authority of an absolute-form target (RFC 9112 §3.2.2). */
  host: string;
  /** The Origin header (RFC 6455 §4.1 item 8, §10.2), for the server's origin policy; `undefined` if absent. */
  origin: string | undefined;
  /** Sec-WebSocket-Key, validated: 16 bytes, base64. */
  key: string;
  /** Always 13 once validated. */
  version: number;
  /** Sec-WebSocket-Protocol offers, in the client's order of preference, from all lines of the header. */
  protocols: string[];
  /** Raw Sec-WebSocket-Extensions value (all lines joined with ", "), `undefined` if absent. */
  extensions: string | undefined;
  headers: HttpHeaders;
}

/**
 * Headers of a 426 answer. RFC 9110 §15.5.22: "The server MUST send an Upgrade
 * header field in a 426 response to indicate the required protocol(s)", and
 * whoever sends Upgrade lists it in Connection (§7.8). RFC 6455 §4.4: the
 * server answers an unknown version with "a |Sec-WebSocket-Version| header
 * field indicating the version(s) the server is capable of understanding".
 */
const UPGRADE_REQUIRED_HEADERS: Readonly<Record<string, string>> = Object.freeze({
  Upgrade: 'websocket',
  Connection: 'Upgrade',
  'Sec-WebSocket-Version': String(WEBSOCKET_VERSION),
});

/** Validate `head` as a WebSocket opening handshake (RFC 6455 §4.2.1). Throws `HandshakeError`. */
export function parseUpgradeRequest(head: HttpRequestHead): UpgradeRequest {
  const { headers } = head;

  // §4.2.1 item 1 / §4.1 item 2: "The method of the request MUST be GET".
  // Methods are case-sensitive (RFC 9110 §9.1). RFC 9110 §15.5.6: a 405
  // "MUST generate an Allow header field".
  if (head.method !== 'GET') {
    throw new HandshakeError(Code.METHOD, 405, `method ${quote(head.method)} not allowed: a WebSocket handshake is a GET`, {
      Allow: 'GET',
    });
  }

  // §4.1 item 2: "the HTTP version MUST be at least 1.1". HTTP/1.0 and
  // below: 400 with a reason. Another major version: 505 (RFC 9110 §15.6.6),
  // which the head parser already answers for heads read off the wire.
  checkHttpVersion(head.httpVersion);

  // §4.1 item 3: the Request-URI is an absolute path or an absolute URI.
  const { path, query, authority } = splitTarget(head.target);

  // §4.2.1 item 2: "A |Host| header field containing the server's authority."
  // RFC 9112 §3.2: "A server MUST respond with a 400 (Bad Request) status code
  // to any HTTP/1.1 request message that lacks a Host header field and to any
  // request message that contains more than one Host header field line or a
  // Host header field with an invalid field value."
  const hosts = headers.getAll('host');
  if (hosts.length === 0) throw new HandshakeError(Code.HOST, 400, 'missing Host header');
  if (hosts.length > 1) throw new HandshakeError(Code.HOST, 400, 'more than one Host header');
  if (!isPlausibleHost(hosts[0])) throw new HandshakeError(Code.HOST, 400, `invalid Host header ${quote(hosts[0])}`);
  // RFC 9112 §3.2.2: with an absolute-form target, the server "MUST ignore the
  // received Host header field (if any) and instead use the host information
  // of the request-target".
  const host = authority ?? hosts[0];

  // §4.2.1 item 3: "An |Upgrade| header field containing the value
  // "websocket", treated as an ASCII case-insensitive value." Without it the
  // request was plain HTTP, not a WebSocket handshake: 426 Upgrade Required.
  const upgrade = headers.get('upgrade');
  if (upgrade === undefined || !listHasToken(upgrade, 'websocket')) {
    throw new HandshakeError(
      Code.NOT_UPGRADE,
      426,
      upgrade === undefined
        ? 'this endpoint only speaks WebSocket: Upgrade: websocket expected'
        : `Upgrade header ${quote(upgrade)} does not offer websocket`,
      { ...UPGRADE_REQUIRED_HEADERS },
    );
  }

  // §4.2.1 item 4: "A |Connection| header field that includes the token
  // "Upgrade", treated as an ASCII case-insensitive value." It is a list
  // (RFC 9110 §7.6.1): `keep-alive, Upgrade` is fine.
  const connection = headers.get('connection');
  if (connection === undefined || !listHasToken(connection, 'upgrade')) {
    throw new HandshakeError(
      Code.CONNECTION,
      400,
      connection === undefined
        ? 'missing Connection header: Connection: Upgrade expected'
        : `Connection header ${quote(connection)} does not include "Upgrade"`,
    );
  }

  // §4.2.1 item 6: "A |Sec-WebSocket-Version| header field, with a value of
  // 13." §4.2.2 item 4: otherwise "the server MUST abort the WebSocket
  // handshake ... and instead send an appropriate HTTP error code (such as 426
  // Upgrade Required) and a |Sec-WebSocket-Version| header field indicating
  // the version(s) the server is capable of understanding."
  const versions = headers.getAll('sec-websocket-version');
  if (versions.length !== 1 || versions[0] !== String(WEBSOCKET_VERSION)) {
    throw new HandshakeError(
      Code.WS_VERSION,
      426,
      versions.length === 0
        ? 'missing Sec-WebSocket-Version header: version 13 expected'
        : `unsupported Sec-WebSocket-Version ${quote(versions.join(', '))}: version 13 expected`,
      { ...UPGRADE_REQUIRED_HEADERS },
    );
  }

  // §4.2.1 item 5: "A |Sec-WebSocket-Key| header field with a base64-encoded
  // (see Section 4 of [RFC4648]) value that, when decoded, is 16 bytes in
  // length." Exactly one: two keys would make the accept value ambiguous.
  const keys = headers.getAll('sec-websocket-key');
  if (keys.length === 0) throw new HandshakeError(Code.KEY, 400, 'missing Sec-WebSocket-Key header');
  if (keys.length > 1) throw new HandshakeError(Code.KEY, 400, 'more than one Sec-WebSocket-Key header');
  const key = keys[0];
  if (!isValidClientKey(key)) {
    throw new HandshakeError(Code.KEY, 400, `Sec-WebSocket-Key ${quote(key)} is not 16 base64-encoded bytes`);
  }

  // The bytes after the head are WebSocket frames, so the request cannot have
  // a body. RFC 9112 §6.3: a request's body length comes from Transfer-Encoding
  // or Content-Length; any of them other than `Content-Length: 0` announces
  // bytes we would misread as frames (request smuggling).
  if (headers.has('transfer-encoding')) {
    throw new HandshakeError(Code.BODY, 400, 'a WebSocket handshake has no body, but Transfer-Encoding is present');
  }
  const contentLength = headers.get('content-length');
  if (contentLength !== undefined && contentLength !== '0') {
    throw new HandshakeError(Code.BODY, 400, `a WebSocket handshake has no body, but Content-Length is ${quote(contentLength)}`);
  }

  const protocols = parseProtocolOffers(headers.get('sec-websocket-protocol'));

  return {
    method: head.method,
    target: head.target,
    path,
    query,
    host,
    origin: headers.get('origin'),
    key,
    version: WEBSOCKET_VERSION,
    protocols,
    extensions: headers.get('sec-websocket-extensions'),
    headers,
  };
}

/**
 * The subprotocols a Sec-WebSocket-Protocol value offers, in the client's
 * order of preference; `[]` for none. Shared by the HTTP/1.1 check above and
 * the HTTP/2 one (extended-connect.ts: RFC 8441 §5 uses the header "as
 * defined in [RFC6455]"). Throws `HandshakeError` 400.
 *
 * §4.1 item 10: Sec-WebSocket-Protocol is "one or more comma-separated
 * subprotocol[s] ... ordered by preference. The elements that comprise this
 * value MUST be non-empty strings with characters in the range U+0021 to
 * U+007E not including separator characters ... and MUST all be unique
 * strings." §11.3.4: 1#token. Several lines form one list (RFC 9110 §5.3).
 */
export function parseProtocolOffers(protocolHeader: string | undefined): string[] {
  const protocols: string[] = [];
  if (protocolHeader === undefined) return protocols;
  // "MUST all be unique": checked against a Set, not with protocols.includes(),
  // which would cost O(n²) in the number of offers (ws's CVE-2021-32640).
  // Compared exactly: subprotocol names are case-sensitive (§11.3.4).
  const offered = new Set<string>();
  for (const protocol of splitList(protocolHeader)) {
    if (!isToken(protocol)) {
      throw new HandshakeError(Code.SUBPROTOCOL, 400, `Sec-WebSocket-Protocol offer ${quote(protocol)} is not a token`);
    }
    if (offered.has(protocol)) {
      throw new HandshakeError(Code.SUBPROTOCOL, 400, `Sec-WebSocket-Protocol offers ${quote(protocol)} twice`);
    }
    offered.add(protocol);
    protocols.push(protocol);
  }
  return protocols;
}

function checkHttpVersion(version: string): void {
  const dot = version.indexOf('.');
  const major = dot === -1 ? NaN : Number(version.slice(0, dot));
  const minor = dot === -1 ? NaN : Number(version.slice(dot + 1));
  if (!Number.isInteger(major) || !Number.isInteger(minor) || dot === 0 || dot === version.length - 1) {
    throw new HandshakeError(Code.HTTP_VERSION, 400, `malformed HTTP version ${quote(version)}`);
  }
  if (major !== 1) {
    throw new HandshakeError(Code.HTTP_VERSION_UNSUPPORTED, 505, `HTTP/${version} is not supported (only HTTP/1.x)`);
  }
  if (minor < 1) {
    throw new HandshakeError(Code.HTTP_VERSION, 400, `a WebSocket handshake needs HTTP/1.1 or later, got HTTP/${version}`);
  }
}

/**
 * Split a request-target into path, query and (absolute-form only) authority.
 *
 * RFC 9112 §3.2: origin-form = absolute-path [ "?" query ], and
 * absolute-form = absolute-URI, here with a scheme of http, https, ws or wss
 * (case-insensitive, RFC 3986 §3.1). asterisk-form (`*`) and authority-form
 * (`host:port`) belong to OPTIONS and CONNECT, never to a GET.
 * RFC 6455 §3: "Fragment identifiers are meaningless in the context of
 * WebSocket URIs and MUST NOT be used on these URIs", and `#` is not allowed
 * in a request-target anyway.
 *
 * The path is not percent-decoded nor normalized: routing on it is the
 * server's business, and decoding here would hide `%2F` from it.
 */
function splitTarget(target: string): { path: string; query: string; authority: string | undefined } {
  if (target.includes('#')) {
    throw new HandshakeError(Code.TARGET, 400, `request target ${quote(target)} has a fragment`);
  }
  let rest = target;
  let authority: string | undefined;
  if (target.charCodeAt(0) !== 0x2f /* / */) {
    const schemeEnd = target.indexOf('://');
    const scheme = schemeEnd === -1 ? '' : target.slice(0, schemeEnd).toLowerCase();
    if (scheme !== 'http' && scheme !== 'https' && scheme !== 'ws' && scheme !== 'wss') {
      throw new HandshakeError(
        Code.TARGET,
        400,
        `request target ${quote(target)} is neither an absolute path nor an http(s)/ws(s) URI`,
      );
    }
    const authorityStart = schemeEnd + 3;
    let authorityEnd = authorityStart;
    while (authorityEnd < target.length && target[authorityEnd] !== '/' && target[authorityEnd] !== '?') authorityEnd++;
    authority = target.slice(authorityStart, authorityEnd);
    // RFC 9110 §4.2.4: "A recipient SHOULD parse for userinfo and treat its
    // presence as an error".
    if (authority.length === 0 || authority.includes('@')) {
      throw new HandshakeError(Code.TARGET, 400, `request target ${quote(target)} has an empty or user-info authority`);
    }
    rest = target.slice(authorityEnd);
  }
  const q = rest.indexOf('?');
  const path = q === -1 ? rest : rest.slice(0, q);
  return { path: path === '' ? '/' : path, query: q === -1 ? '' : rest.slice(q + 1), authority };
}

/**
 * A cheap sanity check of a Host value (RFC 9110 §7.2: uri-host [ ":" port ]):
 * not empty, and none of the characters that cannot occur in one (whitespace,
 * `/ ? # @`, and `,` which would mean several values joined).
 */
export function isPlausibleHost(host: string): boolean {
  if (host.length === 0) return false;
  for (let i = 0; i < host.length; i++) {
    const c = host[i];
    if (c === ' ' || c === '\t' || c === '/' || c === '?' || c === '#' || c === '@' || c === ',') return false;
  }
  return true;
}

/** A peer-supplied value for an error message: quoted, escaped, cut at 64 characters. */
function quote(value: string): string {
  return JSON.stringify(value.length > 64 ? `${value.slice(0, 64)}…` : value);
}
