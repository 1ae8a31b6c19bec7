/**
 * The WebSocket server: a node:net (or node:tls) listener that reads each
 * client's upgrade request itself, validates it (§4.2.1), runs the
 * application's hooks, answers 101 (§4.2.2) or an HTTP error, and hands the
 * socket to a WebSocketConnection.
 *
 * Requests reach the upgrade by one of two doors, both ending in `upgrade()`:
 * our own listener (or `handleSocket`), which reads the request head itself
 * and hands plain HTTP requests to the `http` option's node:http server; or a
 * node:http/https server's `upgrade` event (`attach`, `handleUpgrade`), where
 * node:http has already read the head.
 */
import { EventEmitter } from 'node:events';
import type { IncomingMessage, Server as HttpServer } from 'node:http';
import type { Server as HttpsServer } from 'node:https';
import { createServer as createNetServer, type AddressInfo, type Server as NetServer, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { createServer as createTlsServer } from 'node:tls';
import { HandshakeErrorCode } from '../handshake/error-codes.js';
import { HandshakeError, LocalError } from '../errors.js';
import { CloseCode } from '../framing/close-codes.js';
import { HttpHeadParser, type HttpRequestHead } from '../handshake/http-head-parser.js';
import { buildAcceptResponse, buildErrorResponse, rejectionFor } from '../handshake/http-response.js';
import { parseUpgradeRequest } from '../handshake/upgrade-request.js';
import { parseExtensionHeader } from '../extensions/extension-header.js';
import type { PerMessageDeflate } from '../extensions/permessage-deflate.js';
import { deflateCodec, negotiateDeflate } from '../extensions/permessage-deflate-negotiation.js';
import { ReadyState } from '../protocol/ready-state.js';
import { WebSocketConnection, type ConnectionHooks, type ConnectionOptions, type SendData } from '../connection/websocket-connection.js';
import { HttpHandOff } from '../http/http-hand-off.js';
import { isWebSocketUpgrade, requestHeadFromIncoming } from '../http/request-head.js';
import { broadcastFrame, encodeMessage, type BroadcastPolicy, type BroadcastResult } from './broadcast.js';
import { resolveServerOptions } from '../options/option-tables.js';
import { DEFAULT_SERVER_OPTIONS, type ConnectionHandler, type HandshakeRequest, type ServerOptions } from './options.js';
import { MemoryBudget } from './memory-budget.js';

export interface ServerEvents<Data> {
  /** A connection completed its handshake (after its handler was called). */
  connection: [connection: WebSocketConnection<Data>];
  /** A handler or hook threw. Without a listener, errors are printed to stderr. */
  error: [error: unknown, connection?: WebSocketConnection<Data>];
  /** The server stopped listening and every connection closed. */
  close: [];
}

/** How long a rejected client has to read our HTTP answer before its socket is dropped. */
const REJECTION_LINGER_MS = 2_000;
/** Seconds a client refused with 503 (memory budget exceeded) is asked to wait. */
const OVERLOAD_RETRY_AFTER_S = 5;

export class WebSocketServer<Data = undefined> extends EventEmitter<ServerEvents<Data>> {
  readonly options: Readonly<ServerOptions<Data>>;
  private readonly netServer: NetServer;
  private readonly defaultHandler: ConnectionHandler<Data> | undefined;
  private readonly routes = new Map<string, ConnectionHandler<Data>>();
  private readonly connectionOptions: ConnectionOptions;
  private readonly liveConnections = new Set<WebSocketConnection<Data>>();
  /** Error reports, bookkeeping and the memory budget, one object for all connections (no closure per connection). */
  private readonly connectionHooks: ConnectionHooks;
  /** Bytes all connections hold, against `memoryBudget`. */
  readonly memoryBudget: MemoryBudget;
  /** Sockets still in their opening handshake. */
  private readonly handshaking = new Set<Socket>();
  /** Removes a socket's handshake listeners, so the parser and timer they hold are freed once upgraded. */
  private readonly detachHandshake = new WeakMap<Socket, () => void>();
  private closing: Promise<void> | undefined;
  /** Where plain HTTP requests go (the `http` option). */
  private readonly httpHandOff: HttpHandOff | undefined;
  /** node:http/https servers whose `upgrade` event we serve. */
  private readonly attachedServers = new Set<HttpServer | HttpsServer>();
  private readonly broadcastPolicy: BroadcastPolicy;

  constructor(options: ServerOptions<Data> = {}, handler?: ConnectionHandler<Data>) {
    super();
    // Every option checked, and its default filled in, before anything listens (LocalError WS_ERR_INVALID_OPTION).
    const settings = resolveServerOptions(options);
    this.options = options;
    this.defaultHandler = handler;
    this.connectionOptions = {
      role: 'server',
      maxMessageSize: settings.maxMessageSize,
      maxFrameSize: settings.maxFrameSize,
      maxFragments: settings.maxFragments,
      closeTimeout: settings.closeTimeout,
      idleTimeout: settings.idleTimeout,
      pingInterval: settings.pingInterval,
      sendHighWaterMark: settings.sendHighWaterMark,
      sendStallTimeout: settings.sendStallTimeout,
      maxPendingPongs: settings.maxPendingPongs,
      turnBudget: settings.turnBudget,
      logger: settings.logger,
    };
    this.memoryBudget = new MemoryBudget(
      settings.memoryBudget,
      () => this.liveConnections as Set<WebSocketConnection<unknown>>,
      this.connectionOptions.sendStallTimeout,
    );
    this.connectionHooks = {
      reportError: (error, connection) => this.reportError(error, connection as WebSocketConnection<Data>),
      closed: (connection) => this.liveConnections.delete(connection as WebSocketConnection<Data>),
      budget: this.memoryBudget,
    };
    this.broadcastPolicy = { limit: settings.broadcastLimit, slowReceiver: settings.slowReceiver };
    if (options.http !== undefined) {
      this.httpHandOff = new HttpHandOff(options.http);
      // A later request on a kept-alive HTTP connection may be an upgrade: node:http raises it as 'upgrade'.
      this.attach(this.httpHandOff.server);
    }
    const onSocket = (socket: Socket): void => this.handleSocket(socket);
    this.netServer = options.tls
      ? createTlsServer(
          {
            // The TLS handshake counts against the same budget as the request head.
            handshakeTimeout: options.handshakeTimeout ?? DEFAULT_SERVER_OPTIONS.handshakeTimeout,
            ...options.tls,
            // Half-open only once TLS is up: with it during the TLS handshake, a client that
            // gives up (an untrusted certificate...) leaves a connection that never closes.
            allowHalfOpen: false,
          },
          (socket) => {
            socket.allowHalfOpen = true;
            onSocket(socket);
          },
        )
      : createNetServer({ allowHalfOpen: true, noDelay: true }, onSocket);
    // A failed or timed-out TLS handshake: node:tls reports it and leaves the socket to us.
    this.netServer.on('tlsClientError', (_error: Error, socket: Socket) => socket.destroy());
  }

  /** Serve `path` (exact match on the path, query excluded) with `handler`. */
  route(path: string, handler: ConnectionHandler<Data>): this {
    if (!path.startsWith('/')) throw new LocalError('WS_ERR_INVALID_ROUTE', `route paths start with '/': ${path}`);
    this.routes.set(path, handler);
    return this;
  }

  /** Open connections (handshake done, TCP not yet closed). */
  get connections(): ReadonlySet<WebSocketConnection<Data>> {
    return this.liveConnections;
  }

  /** Start listening; resolves with the bound address (useful with port 0). */
  listen(port: number = this.options.port ?? 0, host: string | undefined = this.options.host): Promise<AddressInfo> {
    return new Promise((resolve, reject) => {
      const onError = (error: Error): void => reject(error);
      this.netServer.once('error', onError);
      this.netServer.listen(port, host, () => {
        this.netServer.off('error', onError);
        resolve(this.netServer.address() as AddressInfo);
      });
    });
  }

  /**
   * Serve the WebSocket upgrades of an existing node:http or node:https
   * server (its `upgrade` event), which keeps serving everything else. Paths
   * without a handler get 404. Undone by close().
   */
  attach(server: HttpServer | HttpsServer): this {
    if (!this.attachedServers.has(server)) {
      this.attachedServers.add(server);
      server.on('upgrade', this.onHttpUpgrade);
    }
    return this;
  }

  /**
   * Run the upgrade for a request node:http has already read: the arguments
   * of a node:http/https server's `upgrade` event (`head`: bytes that came
   * after the request, already frames).
   */
  handleUpgrade(request: IncomingMessage, socket: Duplex, head: Buffer): void {
    // node:http hands over the net.Socket (tls.TLSSocket for https) it accepted.
    const tcp = socket as Socket;
    if (this.closing || tcp.destroyed) {
      tcp.destroy();
      return;
    }
    this.httpHandOff?.release(tcp); // an upgrade on a connection we had handed to node:http: ours again
    this.handshaking.add(tcp);
    tcp.on('error', () => {
      // A reset during the handshake: 'close' follows; nothing to report.
    });
    tcp.once('close', () => this.handshaking.delete(tcp));
    // node:http may have armed its keep-alive timeout on this connection; ours take over.
    tcp.setTimeout(0);
    tcp.setNoDelay(true);
    tcp.pause();
    void this.upgrade(tcp, requestHeadFromIncoming(request), head);
  }

  private onHttpUpgrade = (request: IncomingMessage, socket: Duplex, head: Buffer): void => {
    this.handleUpgrade(request, socket, head);
  };

  /**
   * Send `message` to every open connection (or each one `filter` accepts),
   * encoded once. A receiver with more than `broadcastLimit` bytes still
   * waiting to be written is slow: per `slowReceiver` it is closed with 1008
   * (default) or skips this message. See src/server/broadcast.ts.
   */
  broadcast(message: SendData, filter?: (connection: WebSocketConnection<Data>) => boolean): BroadcastResult {
    return broadcastFrame(this.liveConnections, encodeMessage(message), this.broadcastPolicy, filter);
  }

  address(): AddressInfo | null {
    return this.netServer.address() as AddressInfo | null;
  }

  /**
   * Stop accepting, close every connection with `code` (1001 by default) and
   * wait for them (each at most closeTimeout per step), then resolve.
   */
  close(code: number = CloseCode.GOING_AWAY, reason = 'server shutting down'): Promise<void> {
    if (this.closing) return this.closing;
    const stopped = new Promise<void>((resolve) => this.netServer.close(() => resolve()));
    for (const server of this.attachedServers) server.off('upgrade', this.onHttpUpgrade);
    this.attachedServers.clear();
    this.httpHandOff?.close();
    for (const socket of this.handshaking) socket.destroy();
    const closing = [...this.liveConnections].map((connection) => {
      if (connection.readyState === ReadyState.OPEN) connection.close(code, reason);
      return connection.closed;
    });
    this.closing = Promise.all([stopped, ...closing]).then(() => {
      this.emit('close');
    });
    return this.closing;
  }

  /**
   * Take over a socket: read its upgrade request, then run the WebSocket
   * protocol on it (or hand a plain HTTP request to the `http` option).
   * `head` holds bytes already read from it, say by a protocol sniffer in
   * front. For node:http's `upgrade` event, whose request is already read,
   * use handleUpgrade() (or attach()).
   */
  handleSocket(socket: Socket, head: Buffer = Buffer.alloc(0)): void {
    if (this.closing) {
      socket.destroy();
      return;
    }
    this.handshaking.add(socket);
    const parser = new HttpHeadParser('request', this.options.httpLimits);
    const handOff = this.httpHandOff;
    /** What was read so far, for a plain HTTP request handed to node:http (at most the head limits plus one chunk). */
    const received: Buffer[] = [];
    const deadline = setTimeout(() => {
      // Slow or silent clients must not hold a socket forever.
      this.reject(socket, new HandshakeError(HandshakeErrorCode.TIMEOUT, 408, 'the upgrade request did not arrive in time'));
    }, this.options.handshakeTimeout ?? DEFAULT_SERVER_OPTIONS.handshakeTimeout);
    deadline.unref();
    const cleanUp = (): void => {
      clearTimeout(deadline);
      socket.off('data', onData);
    };
    const onData = (chunk: Buffer): void => {
      let parsed;
      try {
        parsed = parser.feed(chunk);
      } catch (error) {
        cleanUp();
        if (error instanceof HandshakeError) this.reject(socket, error);
        else throw error;
        return;
      }
      if (handOff !== undefined) received.push(chunk);
      if (parsed === undefined) return;
      cleanUp();
      if (handOff !== undefined && !isWebSocketUpgrade(parsed.head)) {
        // Plain HTTP: node:http reads the request again from its first byte and owns the connection from now on.
        socket.off('end', onEnd);
        socket.off('close', onClose);
        socket.off('error', onError);
        this.handshaking.delete(socket);
        handOff.take(socket, received.length === 1 ? received[0] : Buffer.concat(received));
        return;
      }
      socket.pause();
      void this.upgrade(socket, parsed.head, parsed.rest);
    };
    const onEnd = (): void => {
      // The client half-closed before finishing its request: it will never finish it.
      cleanUp();
      if (this.handshaking.has(socket)) {
        this.handshaking.delete(socket);
        socket.destroy();
      }
    };
    const onClose = (): void => {
      cleanUp();
      this.handshaking.delete(socket);
    };
    const onError = (): void => {
      // A reset during the handshake: 'close' follows; nothing to report.
    };
    socket.on('data', onData);
    socket.once('end', onEnd);
    socket.once('close', onClose);
    socket.on('error', onError);
    this.detachHandshake.set(socket, () => {
      cleanUp();
      socket.off('end', onEnd);
      socket.off('close', onClose);
      socket.off('error', onError);
    });
    if (head.length > 0) onData(head);
  }

  private async upgrade(socket: Socket, head: HttpRequestHead, rest: Buffer): Promise<void> {
    let request: HandshakeRequest;
    let handler: ConnectionHandler<Data>;
    let data: Data | undefined;
    let protocol = '';
    let headers: Record<string, string> | undefined;
    let deflate: PerMessageDeflate | null = null;
    let deflateResponse: string | undefined;
    try {
      request = { ...parseUpgradeRequest(head), remoteAddress: socket.remoteAddress, remotePort: socket.remotePort };
      // Over the memory budget, no new connection is taken on (RFC 9110
      // §15.6.4: 503 "the server is currently unable to handle the request
      // due to a temporary overload"; Retry-After says when to come back).
      if (this.memoryBudget.isExceeded) {
        throw new HandshakeError(HandshakeErrorCode.OVERLOADED, 503, 'the server is over its memory budget: try again later', { 'Retry-After': String(OVERLOAD_RETRY_AFTER_S) });
      }
      handler = this.findHandler(request.path);
      const { checkOrigin, authorize, selectProtocol } = this.options;
      // §4.2.2 / §10.2: the server may refuse an Origin it does not trust, with 403.
      if (checkOrigin && !(await checkOrigin(request.origin, request))) {
        throw new HandshakeError(HandshakeErrorCode.ORIGIN, 403, `origin ${request.origin ?? '(none)'} is not allowed`);
      }
      if (authorize) {
        const verdict = await authorize(request);
        if (verdict && 'reject' in verdict) {
          const { status, reason, headers: rejectHeaders } = verdict.reject;
          throw new HandshakeError(HandshakeErrorCode.REJECTED, status, reason ?? 'upgrade rejected', rejectHeaders);
        }
        if (verdict) {
          data = verdict.data;
          headers = verdict.headers;
        }
      }
      if (selectProtocol && request.protocols.length > 0) {
        const chosen = selectProtocol(request.protocols, request);
        if (chosen !== undefined) {
          // §4.2.2 item 4, /subprotocol/: the server's choice must be one the client offered.
          if (!request.protocols.includes(chosen)) {
            throw new LocalError('WS_ERR_PROTOCOL_NOT_OFFERED', `selectProtocol chose ${JSON.stringify(chosen)}, which the client did not offer`);
          }
          protocol = chosen;
        }
      }
      // §9.1: extensions the server does not answer are declined.
      const deflateOptions = this.options.perMessageDeflate;
      if (deflateOptions && request.extensions !== undefined) {
        const accepted = negotiateDeflate(parseExtensionHeader(request.extensions), deflateOptions);
        if (accepted) {
          deflate = deflateCodec('server', accepted, deflateOptions);
          deflateResponse = accepted.response;
        }
      }
    } catch (error) {
      if (error instanceof HandshakeError) {
        this.reject(socket, error);
      } else {
        this.reportError(error);
        this.reject(socket, new HandshakeError(HandshakeErrorCode.INTERNAL, 500, 'internal server error'));
      }
      return;
    }
    if (socket.destroyed || this.closing) {
      socket.destroy();
      return;
    }
    const extensions = deflateResponse;
    socket.write(buildAcceptResponse(request.key, { protocol: protocol || undefined, extensions, headers }));
    this.handshaking.delete(socket);
    this.detachHandshake.get(socket)?.();
    this.detachHandshake.delete(socket);
    const connection = new WebSocketConnection<Data>(
      socket,
      {
        path: request.path,
        query: request.query,
        headers: request.headers,
        origin: request.origin,
        protocol,
        extensions: extensions ?? '',
        remoteAddress: request.remoteAddress,
        remotePort: request.remotePort,
      },
      data as Data,
      deflate === null ? this.connectionOptions : { ...this.connectionOptions, extension: deflate },
      this.connectionHooks,
    );
    this.liveConnections.add(connection);
    // The handler attaches its listeners before the first message is fed in.
    try {
      const result = handler(connection);
      if (isPromiseLike(result)) result.then(undefined, (error: unknown) => connection.handlerFailed(error));
    } catch (error) {
      connection.handlerFailed(error);
    }
    if (this.listenerCount('connection') > 0) this.emit('connection', connection);
    connection.start(rest);
  }

  private findHandler(path: string): ConnectionHandler<Data> {
    const routed = this.routes.get(path);
    if (routed) return routed;
    const { path: onlyPath } = this.options;
    if (this.defaultHandler && (onlyPath === undefined || onlyPath === path)) return this.defaultHandler;
    throw new HandshakeError(HandshakeErrorCode.NOT_FOUND, 404, `no WebSocket endpoint at ${path}`);
  }

  /** Answer with an HTTP error, then close once the client had time to read it. */
  private reject(socket: Socket, error: HandshakeError): void {
    this.handshaking.delete(socket);
    if (socket.destroyed) return;
    socket.end(error.status === 500 ? buildErrorResponse(500, 'internal server error') : rejectionFor(error));
    // Keep draining what the client still sends so our answer is not lost to a TCP reset.
    socket.on('data', () => {});
    socket.resume();
    setTimeout(() => socket.destroy(), REJECTION_LINGER_MS).unref();
  }

  private reportError(error: unknown, connection?: WebSocketConnection<Data>): void {
    if (this.listenerCount('error') > 0) this.emit('error', error, connection);
    else console.error('websocket handler error:', error);
  }
}

/** Create a WebSocket server. `handler` serves every path (or `options.path`) that has no route of its own. */
export function createServer<Data = undefined>(options: ServerOptions<Data> = {}, handler?: ConnectionHandler<Data>): WebSocketServer<Data> {
  return new WebSocketServer<Data>(options, handler);
}

function isPromiseLike(value: unknown): value is PromiseLike<unknown> {
  return typeof value === 'object' && value !== null && typeof (value as PromiseLike<unknown>).then === 'function';
}
