/**
 * The bytes of a client's opening handshake (RFC 6455 §4.1), and the checks
 * on what the application asked to put in it. Pure: the caller supplies the
 * key (fresh from `generateClientKey()` for every connection).
 *
 *     GET /chat HTTP/1.1
 *     Host: server.example.com
 *     Upgrade: websocket
 *     Connection: Upgrade
 *     Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==
 *     [Origin: http://example.com]
 *     [Sec-WebSocket-Protocol: chat, superchat]
 *     [Sec-WebSocket-Extensions: ...]
 *     Sec-WebSocket-Version: 13
 *     [extra headers]
 *
 * Every caller-supplied name and value is checked like the server's response
 * headers are: a name is a token, a value has no CR, LF or other control
 * byte, so nothing can end the head early and smuggle headers (request
 * splitting).
 */
import { LocalError } from '../errors.js';
import { isValidClientKey } from '../handshake/accept-key.js';
import { HandshakeErrorCode as Code } from '../handshake/error-codes.js';
import { isFieldValue, isToken } from '../handshake/tokens.js';
import { WEBSOCKET_VERSION } from '../handshake/upgrade-request.js';
import { extensionNamesOf } from '../handshake/upgrade-response.js';

/** Everything a client's upgrade request carries (§4.1). */
export interface UpgradeRequestSpec {
  /** §3 /resource name/: path and query, e.g. `/chat?room=1`. */
  resource: string;
  /** Host header value (host[:port]). */
  host: string;
  /** Sec-WebSocket-Key: 16 random bytes, base64. */
  key: string;
  origin?: string;
  /** Checked with `checkProtocols()`. */
  protocols?: readonly string[];
  /** Raw Sec-WebSocket-Extensions offer, checked with `checkExtensionOffer()`. */
  extensions?: string;
  /** Extra headers; `Host` replaces the default one. Checked with `checkExtraHeaders()`. */
  headers?: Record<string, string>;
}

/**
 * Headers the client writes itself: an extra header may not replace them
 * (Origin, subprotocols and extensions have their own options, so that the
 * response can be checked against what was really offered).
 */
const CLIENT_OWNED = new Set([
  'upgrade',
  'connection',
  'sec-websocket-key',
  'sec-websocket-version',
  'sec-websocket-protocol',
  'sec-websocket-extensions',
  'origin',
  'content-length',
  'transfer-encoding',
]);

/** The request head, ready to write. Throws LocalError on an invalid argument. */
export function buildUpgradeRequest(spec: UpgradeRequestSpec): Buffer {
  // §4.1 item 3: the request-target is the /resource name/ (origin-form).
  if (!spec.resource.startsWith('/') || !isVisibleAscii(spec.resource)) {
    throw new LocalError(Code.INVALID_URL, `the resource name must be an absolute path of visible ASCII, got ${JSON.stringify(spec.resource)}`);
  }
  if (!isValidClientKey(spec.key)) {
    throw new LocalError(Code.INVALID_CLIENT_OPTION, `Sec-WebSocket-Key must be 16 base64-encoded bytes, got ${JSON.stringify(spec.key)}`);
  }
  const extra = checkExtraHeaders(spec.headers ?? {});
  let host = spec.host;
  const lines: string[] = [];
  for (const [name, value] of extra) {
    if (name.toLowerCase() === 'host') host = value;
    else lines.push(`${name}: ${value}`);
  }
  if (!isFieldValue(host) || host === '') throw new LocalError(Code.INVALID_REQUEST_HEADER, `invalid Host ${JSON.stringify(host)}`);

  // §4.1 items 2-11, in the RFC's order.
  let head =
    `GET ${spec.resource} HTTP/1.1\r\n` + // item 2: "The method of the request MUST be GET, and the HTTP version MUST be at least 1.1."
    `Host: ${host}\r\n` + // item 4
    'Upgrade: websocket\r\n' + // item 5
    'Connection: Upgrade\r\n' + // item 6
    `Sec-WebSocket-Key: ${spec.key}\r\n`; // item 7
  if (spec.origin !== undefined) {
    // item 8: "The request MUST include a header field with the name |Origin|
    // if the request is coming from a browser client." Optional for us.
    if (!isFieldValue(spec.origin) || spec.origin === '') {
      throw new LocalError(Code.INVALID_CLIENT_OPTION, `origin must be a non-empty header value without control characters, got ${JSON.stringify(spec.origin)}`);
    }
    head += `Origin: ${spec.origin}\r\n`;
  }
  const protocols = checkProtocols(spec.protocols ?? []);
  if (protocols.length > 0) head += `Sec-WebSocket-Protocol: ${protocols.join(', ')}\r\n`; // item 10
  if (spec.extensions !== undefined) {
    checkExtensionOffer(spec.extensions);
    head += `Sec-WebSocket-Extensions: ${spec.extensions}\r\n`; // item 11
  }
  head += `Sec-WebSocket-Version: ${WEBSOCKET_VERSION}\r\n`; // item 9
  for (const line of lines) head += `${line}\r\n`; // item 12: "other header fields"
  return Buffer.from(`${head}\r\n`, 'latin1');
}

/**
 * §4.1 item 10: subprotocols are "non-empty strings with characters in the
 * range U+0021 to U+007E not including separator characters as defined in
 * [RFC2616] and MUST all be unique strings" — tokens, each offered once.
 */
export function checkProtocols(protocols: readonly string[]): readonly string[] {
  const seen = new Set<string>();
  for (const protocol of protocols) {
    if (typeof protocol !== 'string' || !isToken(protocol)) {
      throw new LocalError(Code.INVALID_CLIENT_OPTION, `subprotocol ${JSON.stringify(protocol)} is not a token (RFC 6455 §4.1 item 10)`);
    }
    if (seen.has(protocol)) {
      throw new LocalError(Code.INVALID_CLIENT_OPTION, `subprotocol ${JSON.stringify(protocol)} is offered twice; offers must be unique (RFC 6455 §4.1 item 10)`);
    }
    seen.add(protocol);
  }
  return protocols;
}

/** §9.1: an offer must parse as an extension list, or the server could not answer it. Returns the offered names. */
export function checkExtensionOffer(offer: string): string[] {
  if (!isFieldValue(offer)) {
    throw new LocalError(Code.INVALID_CLIENT_OPTION, `the extension offer ${JSON.stringify(offer)} contains control characters or surrounding whitespace`);
  }
  const names = extensionNamesOf(offer, (detail) => new LocalError(Code.INVALID_CLIENT_OPTION, `the extension offer is malformed: ${detail}`));
  if (names.length === 0) throw new LocalError(Code.INVALID_CLIENT_OPTION, 'the extension offer is empty (leave `extensions` out to offer none)');
  return names;
}

/** Check extra request headers; returns them as name/value pairs. */
export function checkExtraHeaders(headers: Record<string, string>): Array<[string, string]> {
  const pairs: Array<[string, string]> = [];
  const seen = new Set<string>();
  for (const [name, value] of Object.entries(headers)) {
    if (!isToken(name)) throw new LocalError(Code.INVALID_REQUEST_HEADER, `header name ${JSON.stringify(name)} is not a token`);
    const lower = name.toLowerCase();
    if (CLIENT_OWNED.has(lower)) {
      const use = lower === 'origin' ? 'options.origin' : lower === 'sec-websocket-protocol' ? 'options.protocols' : lower === 'sec-websocket-extensions' ? 'options.extensions' : 'nothing: the client writes it';
      throw new LocalError(Code.RESERVED_REQUEST_HEADER, `header ${name} may not be set through options.headers (use ${use})`);
    }
    if (seen.has(lower)) throw new LocalError(Code.INVALID_REQUEST_HEADER, `header ${name} is given twice (names are case-insensitive)`);
    seen.add(lower);
    const text = String(value);
    if (!isFieldValue(text)) {
      throw new LocalError(Code.INVALID_REQUEST_HEADER, `the value of header ${name} contains CR, LF, another control character, a character above U+00FF, or surrounding whitespace`);
    }
    pairs.push([name, text]);
  }
  return pairs;
}

function isVisibleAscii(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c <= 0x20 || c >= 0x7f) return false;
  }
  return true;
}
