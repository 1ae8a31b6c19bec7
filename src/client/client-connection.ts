/**
 * The client end of a WebSocket connection: the same WebSocketConnection the
 * server hands its handlers (send, ping, close, `for await`, events,
 * bufferedAmount/drain), in role 'client' — every frame masked (§5.1, §5.3),
 * masked frames from the server failed with 1002, and TCP left for the server
 * to close first after the closing handshake (§7.1.1) — plus what the
 * opening handshake told the client.
 */
import type { WebSocketTransport } from '../connection/transport.js';
import { WebSocketConnection, type ConnectionHooks, type ConnectionOptions, type ConnectionRequest } from '../connection/websocket-connection.js';
import type { HttpResponseHead } from '../handshake/http-head-parser.js';
import type { PerMessageDeflate } from '../extensions/permessage-deflate.js';
import type { WebSocketTarget } from './url.js';

/** What the client learned from the server's answer: its 101, or over HTTP/2 its 2xx (RFC 8441). */
export interface ClientHandshakeResult {
  /** The URL connected to, normalized. */
  url: string;
  /** The server's 101 response (over HTTP/2: its 2xx, `httpVersion` '2.0', no reason, no pseudo-headers): status, reason and headers. */
  response: HttpResponseHead;
}

export class ClientConnection extends WebSocketConnection<undefined> {
  /** The URL connected to, normalized. */
  readonly url: string;
  /** The server's 101 response (over HTTP/2: its 2xx); its headers are also `headers`. */
  readonly response: HttpResponseHead;

  /**
   * @internal
   * Used by `connect()` (openClientConnection() below). `request` describes
   * the handshake from this end: the path and query requested, the response
   * headers, the Origin sent, the subprotocol and extensions the server accepted.
   */
  static create(socket: WebSocketTransport, request: ConnectionRequest, options: ConnectionOptions, handshake: ClientHandshakeResult): ClientConnection {
    return new ClientConnection(socket, request, options, handshake);
  }

  /**
   * Private (not stripped from the declarations): they keep
   * `private constructor()`, so `new ClientConnection()` does not compile in
   * an application (a stripped constructor would leave the implicit one
   * inherited from EventEmitter, which takes no arguments).
   */
  private constructor(socket: WebSocketTransport, request: ConnectionRequest, options: ConnectionOptions, handshake: ClientHandshakeResult) {
    super(socket, request, undefined, { ...options, role: 'client' }, CLIENT_HOOKS);
    this.url = handshake.url;
    this.response = handshake.response;
  }
}

/** What the client asked for, as far as the connection needs it (both connect() plans have it). */
export interface ClientConnectionPlan {
  url: string;
  target: WebSocketTarget;
  origin: string | undefined;
  connection: ConnectionOptions;
}

/** What the server agreed to, over HTTP/1.1 (its 101) or HTTP/2 (its 2xx). */
export interface ClientAgreement {
  response: HttpResponseHead;
  protocol: string;
  extensions: string;
  extension: PerMessageDeflate | null;
}

/**
 * @internal
 * The connection over `transport` once the handshake `agreed`: its request
 * describes the handshake from this end; `peer` is the TCP socket the
 * transport runs on (the socket itself, or an HTTP/2 session's), for the
 * remote address. Shared by the HTTP/1.1 and HTTP/2 paths of connect().
 */
export function openClientConnection(
  transport: WebSocketTransport,
  peer: { remoteAddress?: string; remotePort?: number } | undefined,
  plan: ClientConnectionPlan,
  agreed: ClientAgreement,
  httpVersion?: '2',
): ClientConnection {
  const request: ConnectionRequest = {
    path: plan.target.path,
    query: plan.target.query,
    headers: agreed.response.headers,
    origin: plan.origin,
    protocol: agreed.protocol,
    extensions: agreed.extensions,
    remoteAddress: peer?.remoteAddress,
    remotePort: peer?.remotePort,
  };
  if (httpVersion !== undefined) request.httpVersion = httpVersion;
  const options = agreed.extension === null ? plan.connection : { ...plan.connection, extension: agreed.extension };
  return ClientConnection.create(transport, request, options, { url: plan.url, response: agreed.response });
}

/**
 * An event listener of the application threw (or a for-await body failed),
 * or something of ours failed while handling input (an InternalError): the
 * connection closes with 1011, and the error goes to the connection's
 * 'error' listeners, or to stderr when there are none (a client has no
 * server to report to).
 */
function reportListenerError(error: unknown, connection: WebSocketConnection<unknown>): void {
  if (connection.listenerCount('error') > 0) {
    try {
      connection.emit('error', error instanceof Error ? error : new Error(String(error)));
      return;
    } catch (thrown) {
      error = thrown;
    }
  }
  console.error('websocket client: an event listener threw:', error);
}

/** A client has no server: errors go to the connection's listeners; nothing to track on close. */
const CLIENT_HOOKS: ConnectionHooks = {
  reportError: reportListenerError,
  closed: () => {},
};
