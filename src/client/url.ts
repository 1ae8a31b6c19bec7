/**
 * WebSocket URIs (RFC 6455 §3) and what a client derives from one: where to
 * open TCP, whether to run TLS, the Host header and the request target.
 *
 *   ws-URI  = "ws:" "//" host [ ":" port ] path [ "?" query ]
 *   wss-URI = "wss:" "//" host [ ":" port ] path [ "?" query ]
 *
 * Parsing is the WHATWG URL parser built into Node (ws and wss are "special"
 * schemes there: host lowercased and IDNA-encoded, default ports known,
 * path percent-encoded), followed by the RFC's own rules.
 */
import { isIP } from 'node:net';
import { LocalError } from '../errors.js';
import { HandshakeErrorCode as Code } from '../handshake/error-codes.js';

export interface WebSocketTarget {
  /** wss: run TLS (§3: "the wss URI ... is said to be 'secure'"). */
  secure: boolean;
  /** Host to connect to: a name, an IPv4 literal, or an IPv6 literal without its brackets. */
  host: string;
  /** §3: "The port component is OPTIONAL; the default for "ws" is port 80, while the default for "wss" is port 443." */
  port: number;
  /** The Host header: host, IPv6 in brackets, `:port` only when not the default (§4.1 item 4). */
  hostHeader: string;
  /** The request-target, §3's /resource name/: path ("/" if empty) and "?query" if any. */
  resource: string;
  /** The path part of `resource`, still percent-encoded. */
  path: string;
  /** The query without its "?", `''` if none. */
  query: string;
  /** The URL as normalized by the parser. */
  href: string;
}

/** Parse and check a ws:// or wss:// URL. Throws LocalError (`HS_ERR_INVALID_URL`). */
export function parseWebSocketUrl(input: string | URL): WebSocketTarget {
  let url: URL;
  try {
    url = new URL(String(input));
  } catch {
    throw invalid(`${quote(String(input))} is not a URL`);
  }
  const secure = url.protocol === 'wss:';
  if (!secure && url.protocol !== 'ws:') {
    const hint = url.protocol === 'https:' ? ' (use wss://)' : url.protocol === 'http:' ? ' (use ws://)' : '';
    throw invalid(`${quote(url.href)}: the scheme must be ws: or wss: (RFC 6455 §3)${hint}`);
  }
  // §3: "Fragment identifiers are meaningless in the context of WebSocket URIs
  // and MUST NOT be used on these URIs." (`#` ends up in href even when the
  // fragment is empty, while url.hash stays ''.)
  if (url.href.includes('#')) {
    throw invalid(`${quote(url.href)} has a fragment, which WebSocket URIs must not have (RFC 6455 §3); escape "#" as %23`);
  }
  // Credentials in a URL would end up in logs and Referer-like places; pass
  // them as a header (`headers: { Authorization: ... }`) instead.
  if (url.username !== '' || url.password !== '') {
    throw invalid(`${quote(redact(url))} has user info; send credentials in a header (options.headers.Authorization) instead`);
  }
  if (url.hostname === '') throw invalid(`${quote(url.href)} has no host`);
  const host = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
  const port = url.port === '' ? (secure ? 443 : 80) : Number(url.port);
  const path = url.pathname === '' ? '/' : url.pathname;
  const query = url.search.length > 1 ? url.search.slice(1) : '';
  return {
    secure,
    host,
    port,
    // url.host omits the scheme's default port already and keeps IPv6 brackets.
    hostHeader: url.host,
    resource: query === '' ? path : `${path}?${query}`,
    path,
    query,
    href: url.href,
  };
}

/** Is `host` an IP literal (for which TLS sends no SNI, RFC 6066 §3)? */
export function isIpLiteral(host: string): boolean {
  return isIP(host) !== 0;
}

function invalid(message: string): LocalError {
  return new LocalError(Code.INVALID_URL, message);
}

function redact(url: URL): string {
  const copy = new URL(url.href);
  copy.username = copy.username === '' ? '' : '***';
  copy.password = copy.password === '' ? '' : '***';
  return copy.href;
}

function quote(value: string): string {
  return JSON.stringify(value.length > 200 ? `${value.slice(0, 200)}…` : value);
}
