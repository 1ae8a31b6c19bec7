/**
 * The two ways a request reaches the upgrade code from plain HTTP:
 * - our own head parser read it off the socket, and the server must tell a
 *   WebSocket upgrade from a page request (`isWebSocketUpgrade`);
 * - node:http parsed it already and raised its `upgrade` event
 *   (`requestHeadFromIncoming` turns its `IncomingMessage` into the same
 *   `HttpRequestHead` our parser produces, so both paths meet at the same
 *   validation, hooks and 101).
 */
import type { IncomingMessage } from 'node:http';
import { HttpHeaders, type HttpRequestHead } from '../handshake/http-head-parser.js';
import { listHasToken } from '../handshake/tokens.js';

/**
 * Does the request ask for a WebSocket (§4.2.1 item 3: an `Upgrade` header
 * listing `websocket`, ASCII case-insensitive)? Anything else is a plain HTTP
 * request, for the `http` server when there is one; a request that does ask
 * for a WebSocket but gets the rest wrong still goes to the handshake, and is
 * answered there with the precise error (400, 405, 426...).
 */
export function isWebSocketUpgrade(head: HttpRequestHead): boolean {
  const upgrade = head.headers.get('upgrade');
  return upgrade !== undefined && listHasToken(upgrade, 'websocket');
}

/** The head of a request node:http has parsed, with its header lines as they were sent (`rawHeaders`). */
export function requestHeadFromIncoming(request: IncomingMessage): HttpRequestHead {
  const pairs: Array<readonly [string, string]> = [];
  const raw = request.rawHeaders;
  for (let i = 0; i + 1 < raw.length; i += 2) pairs.push([raw[i], raw[i + 1]]);
  return {
    kind: 'request',
    method: request.method ?? '',
    target: request.url ?? '',
    httpVersion: request.httpVersion,
    headers: new HttpHeaders(pairs),
  };
}
