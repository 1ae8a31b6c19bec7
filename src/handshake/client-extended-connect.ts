/**
 * The client's opening handshake over HTTP/2 (RFC 8441), sans I/O: the
 * header list of the extended CONNECT request out, the server's response
 * headers in, a verdict out. No session, no stream, no timer: the adapter
 * (src/client/http2-connect.ts) sends `buildExtendedConnectRequest()` on a
 * new stream and judges what comes back with `judgeExtendedConnectResponse()`.
 *
 *     :method = CONNECT                    (RFC 8441 §4, §5)
 *     :protocol = websocket
 *     :scheme = https                      (http for ws://)
 *     :path = /chat?room=1
 *     :authority = server.example.com
 *     sec-websocket-version = 13
 *     [origin = http://www.example.com]
 *     [sec-websocket-protocol = chat, superchat]
 *     [sec-websocket-extensions = permessage-deflate]
 *     [extra headers, lowercase]
 *
 * What differs from HTTP/1.1 (client-handshake.ts): no Sec-WebSocket-Key and
 * no Sec-WebSocket-Accept (RFC 8441 §5: "the :protocol pseudo-header field"
 * supersedes them), no Upgrade or Connection, and success is a 2xx rather
 * than a 101. What the server selected (subprotocol, extensions) is judged
 * by the same rules: client-negotiation.ts and RFC 7692's answer check.
 */
import { LocalError } from '../errors.js';
import { parseExtensionHeader } from '../extensions/extension-header.js';
import { PERMESSAGE_DEFLATE, type PerMessageDeflate } from '../extensions/permessage-deflate.js';
import { acceptDeflateResponse, deflateCodec, type PerMessageDeflateOptions } from '../extensions/permessage-deflate-negotiation.js';
import { checkExtensionOffer, checkExtraHeaders, checkProtocols } from '../client/upgrade-request-builder.js';
import { ClientHandshakeError } from './client-handshake-error.js';
import { isConnectionSpecificField } from './connection-specific-fields.js';
import { checkServerSelection } from './client-negotiation.js';
import { HandshakeErrorCode as Code } from './error-codes.js';
import type { HttpResponseHead } from './http-head-parser.js';
import { HttpHeaders } from './http-headers.js';
import { isFieldValue } from './tokens.js';
import { WEBSOCKET_VERSION } from './upgrade-request.js';
import { unexpectedStatus } from './upgrade-response.js';

/** Everything an extended CONNECT for a WebSocket carries (RFC 8441 §5). */
export interface ExtendedConnectRequestSpec {
  /** wss:// (`:scheme https`) or ws:// (`:scheme http`). */
  secure: boolean;
  /** §3 /resource name/: path and query, e.g. `/chat?room=1` (`:path`). */
  resource: string;
  /** host[:port] (`:authority`); a `Host` in `headers` replaces it. */
  authority: string;
  origin?: string;
  /** Checked with `checkProtocols()`. */
  protocols?: readonly string[];
  /** Raw Sec-WebSocket-Extensions offer, checked with `checkExtensionOffer()`. */
  extensions?: string;
  /** Extra headers, checked as for HTTP/1.1 (`checkExtraHeaders()`); those HTTP/2 forbids are left out. */
  headers?: Record<string, string>;
}

/** An HTTP/2 header list, names lowercase, pseudo-headers first. */
export type ExtendedConnectRequestFields = Record<string, string>;

/**
 * Connection-specific fields (connection-specific-fields.ts) an HTTP/1.1
 * request may carry and an HTTP/2 one may not. RFC 9113 §8.2.2: "An
 * endpoint MUST NOT generate an HTTP/2 message containing connection-specific
 * header fields"; an intermediary converting a message "MUST remove" them,
 * and so do we with these: an extra header that makes sense over HTTP/1.1
 * (`http2: 'auto'` may take either) is dropped here rather than failing the
 * connection. Connection, Upgrade and Transfer-Encoding may not be given at
 * all (the client owns them); nor HTTP2-Settings, which would ask an
 * HTTP/1.1 server to switch to h2c instead of WebSocket: a LocalError.
 */
const DROPPED_OVER_HTTP2 = new Set(['keep-alive', 'proxy-connection', 'te']);

/** The request's header list, ready for `session.request()`. Throws LocalError on an invalid argument, like `buildUpgradeRequest()`. */
export function buildExtendedConnectRequest(spec: ExtendedConnectRequestSpec): ExtendedConnectRequestFields {
  // RFC 8441 §4: ":scheme and :path pseudo-header fields of the target URI ... MUST also be included"; the path is origin-form.
  if (!spec.resource.startsWith('/') || !isVisibleAscii(spec.resource)) {
    throw new LocalError(Code.INVALID_URL, `the resource name must be an absolute path of visible ASCII, got ${JSON.stringify(spec.resource)}`);
  }
  const extra: Array<[string, string]> = [];
  let authority = spec.authority;
  for (const [name, value] of checkExtraHeaders(spec.headers ?? {})) {
    const lower = name.toLowerCase();
    // RFC 9113 §8.3.1: "Clients that generate HTTP/2 requests directly MUST use the :authority pseudo-header field to convey authority information".
    if (lower === 'host') authority = value;
    else if (!isConnectionSpecificField(lower, value)) extra.push([lower, value]);
    else if (!DROPPED_OVER_HTTP2.has(lower)) throw new LocalError(Code.RESERVED_REQUEST_HEADER, `header ${name} is connection-specific: HTTP/2 forbids it (RFC 9113 §8.2.2)`);
  }
  if (!isFieldValue(authority) || authority === '') throw new LocalError(Code.INVALID_REQUEST_HEADER, `invalid :authority ${JSON.stringify(authority)}`);

  // RFC 8441 §5: "The :protocol pseudo-header field MUST be included in the
  // CONNECT request, and it MUST have a value of "websocket""; "The scheme
  // of the target URI ... MUST be "https" for "wss"-schemed WebSockets and
  // "http" for "ws"-schemed WebSockets".
  const headers: ExtendedConnectRequestFields = {
    ':method': 'CONNECT',
    ':protocol': 'websocket',
    ':scheme': spec.secure ? 'https' : 'http',
    ':path': spec.resource,
    ':authority': authority,
    // RFC 8441 §5: "The Sec-WebSocket-Version, Origin, Sec-WebSocket-Protocol,
    // and Sec-WebSocket-Extensions header fields are used in the CONNECT
    // request as defined in [RFC6455]": the same values as over HTTP/1.1.
    'sec-websocket-version': String(WEBSOCKET_VERSION),
  };
  if (spec.origin !== undefined) {
    if (!isFieldValue(spec.origin) || spec.origin === '') {
      throw new LocalError(Code.INVALID_CLIENT_OPTION, `origin must be a non-empty header value without control characters, got ${JSON.stringify(spec.origin)}`);
    }
    headers.origin = spec.origin;
  }
  const protocols = checkProtocols(spec.protocols ?? []);
  if (protocols.length > 0) headers['sec-websocket-protocol'] = protocols.join(', ');
  if (spec.extensions !== undefined) {
    checkExtensionOffer(spec.extensions);
    headers['sec-websocket-extensions'] = spec.extensions;
  }
  for (const [name, value] of extra) headers[name] = value;
  return headers;
}

/** Response headers as node:http2 hands them over: pseudo-headers included, repeated fields as arrays. */
export type ExtendedConnectResponseFields = Record<string, string | string[] | number | undefined>;

/**
 * The server's HTTP/2 response as the same head an HTTP/1.1 client gets
 * (status, headers), so that the application and the checks read either
 * alike. `httpVersion` is `2.0`, `reason` empty (HTTP/2 has none); the
 * pseudo-headers are left out of `headers`.
 */
export function responseHeadOf(fields: ExtendedConnectResponseFields): HttpResponseHead {
  const pairs: Array<[string, string]> = [];
  for (const [name, value] of Object.entries(fields)) {
    if (name.startsWith(':') || value === undefined) continue;
    for (const one of Array.isArray(value) ? value : [value]) pairs.push([name, String(one)]);
  }
  return { kind: 'response', httpVersion: '2.0', status: Number(fields[':status']), reason: '', headers: new HttpHeaders(pairs) };
}

/** What the client offered, to judge the answer against. */
export interface ExtendedConnectOffer {
  protocols: readonly string[];
  /** The raw Sec-WebSocket-Extensions offer, `undefined` if none. */
  extensions: string | undefined;
  /** permessage-deflate was offered with these settings: the codec if the server accepts. */
  deflate: PerMessageDeflateOptions | undefined;
}

/** The server accepted the WebSocket: what it agreed to. */
export interface ExtendedConnectAccepted {
  response: HttpResponseHead;
  /** The subprotocol selected, `''` for none. */
  protocol: string;
  /** The Sec-WebSocket-Extensions answer, `''` for none. */
  extensions: string;
  /** The permessage-deflate codec, `null` if not agreed. */
  extension: PerMessageDeflate | null;
}

/** Is this status the server's yes? RFC 9113 §8.5 (CONNECT): "a 2xx series status code" means the tunnel is up; RFC 8441 §5 keeps that meaning. */
export function isExtendedConnectSuccess(status: number): boolean {
  return status >= 200 && status < 300;
}

/**
 * Judge a 2xx answer against our offer: the subprotocol and extensions the
 * server selected (RFC 6455 §4.1 items 5 and 6, as RFC 8441 §5 keeps them),
 * then the permessage-deflate parameters (RFC 7692 §7.1). Throws
 * ClientHandshakeError (the server broke a rule) or LocalError (the agreed
 * codec cannot be built from our settings).
 */
export function judgeExtendedConnectResponse(head: HttpResponseHead, offer: ExtendedConnectOffer): ExtendedConnectAccepted {
  if (!isExtendedConnectSuccess(head.status)) throw refusalOf(head);
  const accepted = checkServerSelection({ extensions: head.headers.get('sec-websocket-extensions'), protocol: head.headers.get('sec-websocket-protocol') }, offer, head);
  let extension: PerMessageDeflate | null = null;
  if (offer.deflate !== undefined && accepted.extensionNames.includes(PERMESSAGE_DEFLATE)) {
    const agreement = acceptDeflateResponse(parseExtensionHeader(accepted.extensions), offer.deflate, head);
    extension = deflateCodec('client', agreement, offer.deflate);
  }
  return { response: head, protocol: accepted.protocol, extensions: accepted.extensions, extension };
}

/** The error for an answer that is not a 2xx (a redirect, a refusal), with the start of its body if one was read. */
export function refusalOf(head: HttpResponseHead, body?: Buffer): ClientHandshakeError {
  return unexpectedStatus(head, body, 'a 2xx to the extended CONNECT (RFC 8441 §5)');
}

function isVisibleAscii(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c <= 0x20 || c >= 0x7f) return false;
  }
  return true;
}
