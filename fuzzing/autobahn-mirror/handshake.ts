/**
 * The client side of the opening handshake (RFC 6455 §4.1), written by hand so
 * that the mirror sends what Autobahn's fuzzing client sends: note the
 * capitalised `Upgrade: WebSocket`, which a server must compare
 * case-insensitively (§4.2.1 item 3, "ASCII case-insensitive").
 */
import { createHash, randomBytes } from 'node:crypto';

const GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';

export interface Target {
  readonly host: string;
  readonly port: number;
  /** Path plus query, at least '/'. */
  readonly resource: string;
}

export function parseWsUrl(url: string): Target {
  const u = new URL(url);
  if (u.protocol !== 'ws:') throw new Error(`only ws:// URLs are supported, not ${u.protocol}`);
  const host = u.hostname.startsWith('[') ? u.hostname.slice(1, -1) : u.hostname;
  return { host, port: u.port === '' ? 80 : Number(u.port), resource: (u.pathname || '/') + u.search };
}

/** `extensions`: a Sec-WebSocket-Extensions value to offer (groups 12 and 13), sent after the version like Autobahn does. */
export function createRequest(target: Target, userAgent: string, extensions?: string): { request: Buffer; key: string } {
  const key = randomBytes(16).toString('base64');
  const hostHeader = target.host.includes(':') ? `[${target.host}]:${target.port}` : `${target.host}:${target.port}`;
  const lines = [
    `GET ${target.resource} HTTP/1.1`,
    `User-Agent: ${userAgent}`,
    `Host: ${hostHeader}`,
    'Upgrade: WebSocket',
    'Connection: Upgrade',
    'Pragma: no-cache',
    'Cache-Control: no-cache',
    `Sec-WebSocket-Key: ${key}`,
    'Sec-WebSocket-Version: 13',
    ...(extensions !== undefined ? [`Sec-WebSocket-Extensions: ${extensions}`] : []),
    '',
    '',
  ];
  return { request: Buffer.from(lines.join('\r\n'), 'latin1'), key };
}

export function expectedAccept(key: string): string {
  return createHash('sha1').update(key + GUID).digest('base64');
}

export type HandshakeOutcome =
  | { readonly kind: 'incomplete' }
  | { readonly kind: 'accepted'; readonly headLength: number; readonly head: string; readonly extensions?: string }
  | { readonly kind: 'rejected'; readonly reason: string; readonly head: string };

/** Largest response head we wait for before giving up. */
const MAX_HEAD = 16 * 1024;

/**
 * Look for a complete response head in `data` and check it (RFC 6455 §4.1,
 * "the client MUST validate the server's response"). Bytes after the head are
 * already frames; the caller keeps them. With `offeredExtensions` a
 * Sec-WebSocket-Extensions answer is handed back for the caller to check.
 */
export function checkResponse(data: Buffer, key: string, offeredExtensions = false): HandshakeOutcome {
  const end = data.indexOf('\r\n\r\n', 0, 'latin1');
  if (end < 0) {
    return data.length > MAX_HEAD
      ? { kind: 'rejected', reason: 'response head too long', head: '' }
      : { kind: 'incomplete' };
  }
  const head = data.subarray(0, end).toString('latin1');
  const [statusLine, ...headerLines] = head.split('\r\n');
  const status = /^HTTP\/1\.1 (\d{3})(?: |$)/.exec(statusLine ?? '');
  if (status === null || status[1] !== '101') {
    return { kind: 'rejected', reason: `status line ${JSON.stringify(statusLine)}`, head };
  }
  const headers = new Map<string, string>();
  for (const line of headerLines) {
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    const name = line.slice(0, colon).trim().toLowerCase();
    const value = line.slice(colon + 1).trim();
    headers.set(name, headers.has(name) ? `${headers.get(name)}, ${value}` : value);
  }
  if ((headers.get('upgrade') ?? '').toLowerCase() !== 'websocket') {
    return { kind: 'rejected', reason: 'Upgrade header is not "websocket"', head };
  }
  const connection = (headers.get('connection') ?? '').toLowerCase().split(',').map((t) => t.trim());
  if (!connection.includes('upgrade')) {
    return { kind: 'rejected', reason: 'Connection header lacks "upgrade"', head };
  }
  if (headers.get('sec-websocket-accept') !== expectedAccept(key)) {
    return { kind: 'rejected', reason: 'wrong Sec-WebSocket-Accept', head };
  }
  const extensions = headers.get('sec-websocket-extensions');
  if (extensions !== undefined && !offeredExtensions) {
    return { kind: 'rejected', reason: 'server chose an extension the client never offered', head };
  }
  if (headers.has('sec-websocket-protocol')) {
    return { kind: 'rejected', reason: 'server chose a subprotocol the client never offered', head };
  }
  // The caller checks an extension answer against its offers.
  return { kind: 'accepted', headLength: end + 4, head, ...(extensions !== undefined ? { extensions } : {}) };
}
