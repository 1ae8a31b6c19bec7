/**
 * The WebSocket server: a node:net (or node:tls) listener that reads each
 * client's upgrade request itself, validates it (§4.2.1), runs the
 * application's hooks, answers 101 (§4.2.2) or an HTTP error, and hands the
 * socket to a WebSocketConnection.
 *
 * Requests reach the upgrade by one of two doors, both ending in a
 * HandshakeSocket (./handshake-socket.ts), the I/O shell of the sans-I/O
 * ServerHandshake (src/handshake/server-handshake.ts): our own listener (or
 * `handleSocket`), where the machine reads the request head itself and hands
 * plain HTTP requests to the `http` option's node:http server; or a
 * node:http/https server's `upgrade` event (`attach`, `handleUpgrade`), where
 * node:http has already read the head. The server's part is `decide()`
 * (memory budget, route, then the negotiation of src/handshake/
 * server-negotiation.ts) and `open()` (the connection and its handler).
 *
 * With the `http2` option, a third door (./http2-door.ts) takes the HTTP/2
 * connections of the same listener (ALPN `h2` over TLS, the HTTP/2 preface
 * in cleartext) and brings their extended CONNECT streams (RFC 8441) to the
 * same `decide()` and `open()`.
 */
import { EventEmitter } from 'node:events';
import type { IncomingMessage, Server as HttpServer } from 'node:http';
import type { Server as HttpsServer } from 'node:https';
import { createServer as createNetServer, type AddressInfo, type Server as NetServer, type Socket } from 'node:net';
import type { IncomingHttpHeaders, ServerHttp2Stream } from 'node:http2';
import { Http2ErrorCode } from '../connection/http2-module.js';
import type { Duplex } from 'node:stream';
import { createServer as createTlsServer } from 'node:tls';
import { HandshakeErrorCode } from '../handshake/error-codes.js';
import { HandshakeError, LocalError } from '../errors.js';
import { CloseCode } from '../framing/close-codes.js';
import { ServerHandshake, type HandshakeAccepted } from '../handshake/server-handshake.js';
import { negotiate, type NegotiatedUpgrade } from '../handshake/server-negotiation.js';
import { ReadyState } from '../protocol/ready-state.js';
import { WebSocketConnection, type ConnectionHooks, type ConnectionOptions, type SendData } from '../connection/websocket-connection.js';
import { HttpHandOff } from '../http/http-hand-off.js';
import { requestHeadFromIncoming } from '../http/request-head.js';
import { broadcastFrame, encodeMessage, isSendData, type BroadcastPolicy, type BroadcastResult } from './broadcast.js';
import { Router, RouteMatchError } from './router.js';
import { checkTopicName, LocalTopicRegistry, type TopicDelivery, type TopicRegistry } from './topics.js';
import { connectionOptionsOf, resolveServerOptions } from '../options/option-tables.js';
import { DEFAULT_HTTP2_OPTIONS, DEFAULT_SERVER_OPTIONS, type ConnectionHandler, type HandshakeRequest, type Http2Settings, type ServerOptions } from './options.js';
import { MemoryBudget } from './memory-budget.js';
import type { Backplane } from './backplane.js';
import { backplaneForServer } from '../cluster/worker-default.js';
import { HandshakeSocket, type HandshakeHost } from './handshake-socket.js';
import { Http2Door, type Http2Agreement } from './http2-door.js';
import { sniffHttp2Preface } from '../handshake/http2-preface.js';
import type { WebSocketTransport } from '../connection/transport.js';

export interface ServerEvents<Data> {
  /** A connection completed its handshake (after its handler was called). */
  connection: [connection: WebSocketConnection<Data>];
  /** A handler or hook threw. Without a listener, errors are printed to stderr. */
  error: [error: unknown, connection?: WebSocketConnection<Data>];
  /** The server stopped listening and every connection closed. */
  close: [];
}

/** How long HTTP/2 connections may take to close after their WebSockets could have (plain requests still running). */
const HTTP2_CLOSE_GRACE_MS = 1_000;

/** Seconds a client refused with 503 (memory budget exceeded) is asked to wait. */
const OVERLOAD_RETRY_AFTER_S = 5;

/**
 * What publish() did: `sent`/`skipped`/`closed` count this process's
 * subscribers (as broadcast()); with a backplane, `remote` settles once the
 * other processes' part was handed to it, and rejects if it could not be
 * (the local subscribers got the message regardless).
 */
export interface PublishResult extends BroadcastResult {
  remote?: Promise<void>;
}

/** What `publish()` may leave out. */
export interface PublishOptions<Data> {
  /** This connection does not get the message (the publisher itself, typically). */
  except?: WebSocketConnection<Data>;
}

/** What the server decided for one valid upgrade request: who serves it, and what was negotiated. */
interface UpgradeDecision<Data> extends NegotiatedUpgrade<Data> {
  handler: ConnectionHandler<Data>;
}

export class WebSocketServer<Data = undefined> extends EventEmitter<ServerEvents<Data>> {
  readonly options: Readonly<ServerOptions<Data>>;
  private readonly netServer: NetServer;
  private readonly defaultHandler: ConnectionHandler<Data> | undefined;
  private readonly router = new Router<ConnectionHandler<Data>>();
  private readonly connectionOptions: ConnectionOptions;
  private readonly liveConnections = new Set<WebSocketConnection<Data>>();
  /** Error reports, bookkeeping and the memory budget, one object for all connections (no closure per connection). */
  private readonly connectionHooks: ConnectionHooks;
  /** Bytes all connections hold, against `memoryBudget`. */
  readonly memoryBudget: MemoryBudget;
  /** Sockets still in their opening handshake. */
  private readonly handshaking = new Set<HandshakeSocket<UpgradeDecision<Data>>>();
  /** What the handshaking sockets ask of the server (one object for all of them). */
  private readonly handshakeHost: HandshakeHost<UpgradeDecision<Data>>;
  private closing: Promise<void> | undefined;
  /** Where plain HTTP requests go (the `http` option). */
  private readonly httpHandOff: HttpHandOff | undefined;
  /** node:http/https servers whose `upgrade` event we serve. */
  private readonly attachedServers = new Set<HttpServer | HttpsServer>();
  private readonly broadcastPolicy: BroadcastPolicy;
  /**
   * Who is subscribed to what (`ws.subscribe()`), behind the TopicRegistry
   * interface: the `topicRegistry` option's, by default this process's
   * subscribers in memory. `topics.subscribers(name)` lists a topic's.
   */
  readonly topics: TopicRegistry<WebSocketConnection<Data>>;
  /** The `backplane` option, started in the constructor (listen() waits for it). */
  private readonly backplane: Backplane | undefined;
  private readonly backplaneStarted: Promise<void> = Promise.resolve();
  /** The `http2` option's door: HTTP/2 connections and their WebSocket streams (RFC 8441). */
  private http2Door: Http2Door<UpgradeDecision<Data>> | undefined;
  /** Cleartext connections whose first bytes are being read, to tell h2c from HTTP/1.1. */
  private readonly sniffing = new Set<Socket>();

  constructor(options: ServerOptions<Data> = {}, handler?: ConnectionHandler<Data>) {
    super();
    // Every option checked, and its default filled in, before anything listens (LocalError WS_ERR_INVALID_OPTION).
    const settings = resolveServerOptions(options);
    this.options = options;
    this.defaultHandler = handler;
    this.connectionOptions = connectionOptionsOf('server', settings);
    this.memoryBudget = new MemoryBudget(
      settings.memoryBudget,
      () => this.liveConnections as Set<WebSocketConnection<unknown>>,
      this.connectionOptions.sendStallTimeout,
    );
    this.broadcastPolicy = { limit: settings.broadcastLimit, slowReceiver: settings.slowReceiver };
    const policy = this.broadcastPolicy;
    const deliver: TopicDelivery<WebSocketConnection<Data>> = (receivers, message, except) =>
      broadcastFrame(receivers, encodeMessage(message), policy, except === undefined ? undefined : (connection) => connection !== except);
    if (options.backplane !== undefined && settings.topicRegistry !== undefined) {
      throw new LocalError('WS_ERR_INVALID_OPTION', 'backplane and topicRegistry exclude each other: a backplane mirrors the local registry');
    }
    // Under runWorkers(), a server without a backplane gets its worker's (src/cluster/worker-default.ts).
    const backplane = backplaneForServer(options.backplane, settings.topicRegistry === undefined);
    if (backplane !== undefined) {
      // The local registry tells the backplane which topics this process holds (src/server/backplane.ts).
      this.topics = new LocalTopicRegistry(deliver, { topicOpened: (topic) => backplane.subscribe(topic), topicClosed: (topic) => backplane.unsubscribe(topic) });
      this.backplane = backplane;
      const local = this.topics;
      this.backplaneStarted = backplane.start(
        (topic, message) => void local.publish(topic, message),
        (error) => this.reportError(error),
      );
      this.backplaneStarted.catch((error: unknown) => this.reportError(error));
    } else {
      this.topics = settings.topicRegistry ? settings.topicRegistry(deliver) : new LocalTopicRegistry(deliver);
    }
    this.connectionHooks = {
      reportError: (error, connection) => this.reportError(error, connection as WebSocketConnection<Data>),
      closed: (connection) => this.liveConnections.delete(connection as WebSocketConnection<Data>),
      budget: this.memoryBudget,
      topics: { registry: this.topics as TopicRegistry<WebSocketConnection<unknown>>, maxPerConnection: settings.maxTopicsPerConnection },
    };
    this.handshakeHost = {
      isClosing: () => this.closing !== undefined,
      decide: (request) => this.decide(request),
      open: (socket, request, accepted, decision) => void this.open(socket, request, accepted, decision, '1.1'),
      handOff: (socket, received) => this.httpHandOff!.take(socket, received),
      forget: (handshake) => this.handshaking.delete(handshake),
      reportError: (error) => this.reportError(error),
    };
    if (options.http !== undefined) {
      this.httpHandOff = new HttpHandOff(options.http);
      // A later request on a kept-alive HTTP connection may be an upgrade: node:http raises it as 'upgrade'.
      this.attach(this.httpHandOff.server);
    }
    if (settings.http2 !== false) this.http2Door = this.createHttp2Door(settings.http2);
    const door = this.http2Door;
    const onSocket = (socket: Socket): void => this.readHttp1(socket);
    this.netServer = options.tls
      ? createTlsServer(
          {
            // The TLS handshake counts against the same budget as the request head.
            handshakeTimeout: options.handshakeTimeout ?? DEFAULT_SERVER_OPTIONS.handshakeTimeout,
            // RFC 7301 (ALPN): HTTP/2 if the client speaks it (RFC 9113 §3.2: "h2"), else HTTP/1.1, on one port.
            ...(door === undefined ? {} : { ALPNProtocols: ['h2', 'http/1.1'] }),
            ...options.tls,
            // Half-open only once TLS is up: with it during the TLS handshake, a client that
            // gives up (an untrusted certificate...) leaves a connection that never closes.
            allowHalfOpen: false,
          },
          (socket) => {
            if (door !== undefined && socket.alpnProtocol === 'h2') {
              door.take(socket);
              return;
            }
            socket.allowHalfOpen = true;
            onSocket(socket);
          },
        )
      : createNetServer({ allowHalfOpen: true, noDelay: true }, door === undefined ? onSocket : (socket) => this.sniffCleartext(socket, door));
    // A failed or timed-out TLS handshake: node:tls reports it and leaves the socket to us.
    this.netServer.on('tlsClientError', (_error: Error, socket: Socket) => socket.destroy());
  }

  /**
   * Serve the paths `pattern` matches (query excluded) with `handler`:
   * `/chat` exactly, `/rooms/:id` with `ws.params.id`, `/files/*` with the
   * rest of the path in `ws.params['*']`. The most specific route wins,
   * segment by segment from the left: a literal beats a parameter beats a
   * wildcard (src/server/router.ts says it all). A path no route matches
   * goes to the default handler (if any, and `options.path` allows it), else
   * 404. Routing the same pattern again replaces its handler. Throws
   * LocalError WS_ERR_INVALID_ROUTE for a malformed pattern.
   */
  route(pattern: string, handler: ConnectionHandler<Data>): this {
    this.router.add(pattern, handler);
    return this;
  }

  /** Open connections (handshake done, TCP not yet closed). */
  get connections(): ReadonlySet<WebSocketConnection<Data>> {
    return this.liveConnections;
  }

  /** Start listening (once the backplane, if any, has started); resolves with the bound address (useful with port 0). */
  async listen(port: number = this.options.port ?? 0, host: string | undefined = this.options.host): Promise<AddressInfo> {
    await this.backplaneStarted;
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
    // node:http may have armed its keep-alive timeout on this connection; ours take over.
    tcp.setTimeout(0);
    tcp.setNoDelay(true);
    tcp.pause();
    this.startHandshake(tcp).takeHead(requestHeadFromIncoming(request), head, this.options.handshakeTimeout ?? DEFAULT_SERVER_OPTIONS.handshakeTimeout, request);
  }

  private onHttpUpgrade = (request: IncomingMessage, socket: Duplex, head: Buffer): void => {
    this.handleUpgrade(request, socket, head);
  };

  /**
   * Run the WebSocket handshake (RFC 8441) on a stream of a node:http2
   * server of your own: call it from that server's `stream` event for an
   * extended CONNECT (`headers[':method'] === 'CONNECT'`). Your server must
   * advertise it (`settings: { enableConnectProtocol: true }`) and must not
   * use the compatibility API for these streams (node:http2 answers a
   * CONNECT itself there). Refusals are answered on the stream; the
   * WebSockets on a session that sends GOAWAY are closed with 1001;
   * close() closes them, not your sessions. Works with or without the
   * `http2` option.
   */
  handleStream(stream: ServerHttp2Stream, headers: IncomingHttpHeaders): void {
    if (this.closing) {
      stream.close(Http2ErrorCode.REFUSED_STREAM);
      return;
    }
    this.http2Door ??= this.createHttp2Door(DEFAULT_HTTP2_OPTIONS);
    this.http2Door.handleStream(stream, headers);
  }

  private createHttp2Door(settings: Http2Settings): Http2Door<UpgradeDecision<Data>> {
    return new Http2Door<UpgradeDecision<Data>>(
      {
        isClosing: () => this.closing !== undefined,
        handshakeTimeout: this.options.handshakeTimeout ?? DEFAULT_SERVER_OPTIONS.handshakeTimeout,
        decide: (request) => this.decide(request),
        open: (stream, request, agreed, decision) => this.open(stream, request, agreed, decision, '2'),
        reportError: (error) => this.reportError(error),
      },
      settings,
      this.options.httpLimits,
      this.httpHandOff?.server,
    );
  }

  /**
   * Send `message` to every open connection, to each one `filter` accepts,
   * or to each of `receivers` (any iterable of this server's connections:
   * an array, a Set the application keeps; one listed twice gets it twice;
   * those not open are passed over), encoded once. A receiver with more than
   * `broadcastLimit` bytes still waiting to be written is slow: per
   * `slowReceiver` it is closed with 1008 (default) or skips this message.
   * With permessage-deflate the frame goes uncompressed (RFC 7692 §6
   * allows it). See src/server/broadcast.ts.
   */
  broadcast(message: SendData, filter?: (connection: WebSocketConnection<Data>) => boolean): BroadcastResult;
  broadcast(message: SendData, receivers: Iterable<WebSocketConnection<Data>>): BroadcastResult;
  broadcast(message: SendData, filterOrReceivers?: ((connection: WebSocketConnection<Data>) => boolean) | Iterable<WebSocketConnection<Data>>): BroadcastResult {
    if (filterOrReceivers === undefined || typeof filterOrReceivers === 'function') {
      return broadcastFrame(this.liveConnections, encodeMessage(message), this.broadcastPolicy, filterOrReceivers);
    }
    if (typeof filterOrReceivers !== 'object' || filterOrReceivers === null || typeof (filterOrReceivers as Partial<Iterable<unknown>>)[Symbol.iterator] !== 'function') {
      throw new LocalError('WS_ERR_INVALID_ARGUMENT', 'broadcast() takes a filter function or an iterable of connections');
    }
    return broadcastFrame(filterOrReceivers, encodeMessage(message), this.broadcastPolicy);
  }

  /**
   * Send `message` to every subscriber of `topic` (`ws.subscribe(topic)`)
   * but `options.except`, encoded once, with the same slow-receiver policy
   * and result as broadcast(). Costs in the topic's subscribers, not in the
   * server's connections. Throws LocalError WS_ERR_INVALID_TOPIC for a name
   * that is not 1 to 256 UTF-8 bytes, WS_ERR_INVALID_ARGUMENT for a message
   * that is neither a string nor bytes.
   */
  publish(topic: string, message: SendData, options: PublishOptions<Data> = {}): PublishResult {
    checkTopicName(topic);
    if (!isSendData(message)) throw new LocalError('WS_ERR_INVALID_ARGUMENT', 'publish() takes a string, a Buffer, a typed array or an ArrayBuffer');
    const backplane = this.backplane;
    if (backplane === undefined) return this.topics.publish(topic, message, options.except);
    // What crosses to other processes is a text (string) or binary (Buffer) message, bounded like any message.
    const carried = typeof message === 'string' ? message : Buffer.isBuffer(message) ? message : toBuffer(message);
    const size = typeof carried === 'string' ? Buffer.byteLength(carried, 'utf8') : carried.length;
    if (size > this.connectionOptions.maxMessageSize) {
      throw new LocalError('WS_ERR_PUBLISH_TOO_BIG', `publish(): a message of ${size} bytes is over maxMessageSize (${this.connectionOptions.maxMessageSize}); not sent anywhere`);
    }
    const result = this.topics.publish(topic, carried, options.except);
    const remote = backplane.publish(topic, carried);
    remote.catch(() => {}); // (handled: whoever awaits result.remote sees the rejection; nobody else must crash on it)
    return { ...result, remote };
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
    for (const handshake of this.handshaking) handshake.socket.destroy();
    for (const socket of this.sniffing) socket.destroy();
    const closing = [...this.liveConnections].map((connection) => {
      if (connection.readyState === ReadyState.OPEN) connection.close(code, reason);
      return connection.closed;
    });
    // After the close frames are queued: GOAWAY on every HTTP/2 connection, closed once its streams are.
    // Their WebSockets take at most closeTimeout per step of the closing handshake; then what is left is dropped.
    const sessionsClosed = this.http2Door?.close(2 * this.connectionOptions.closeTimeout + HTTP2_CLOSE_GRACE_MS);
    this.closing = Promise.all([stopped, sessionsClosed, ...closing])
      .then(() => this.backplane?.close())
      .then(() => {
        this.emit('close');
      });
    return this.closing;
  }

  /**
   * Take over a socket: read its upgrade request, then run the WebSocket
   * protocol on it (or hand a plain HTTP request to the `http` option).
   * `head` holds bytes already read from it, say by a protocol sniffer in
   * front. For node:http's `upgrade` event, whose request is already read,
   * use handleUpgrade() (or attach()). With the `http2` option, a TLS socket
   * that chose `h2` by ALPN, or one that opens with the h2c preface, runs
   * HTTP/2 (docs/http2.md).
   */
  handleSocket(socket: Socket, head: Buffer = Buffer.alloc(0)): void {
    // (A door made for handleStream() alone does not turn HTTP/2 on for sockets.)
    const door = this.options.http2 ? this.http2Door : undefined;
    if (door === undefined || this.closing) {
      this.readHttp1(socket, head);
      return;
    }
    // With `http2`: a TLS socket that chose h2 by ALPN is HTTP/2; any other may open with the h2c preface.
    if ((socket as Socket & { alpnProtocol?: string | false }).alpnProtocol === 'h2') {
      socket.pause(); // (a flowing socket would emit what is unshifted, to no one)
      if (head.length > 0) socket.unshift(head);
      door.take(socket);
      return;
    }
    this.sniffCleartext(socket, door, head);
  }

  /** Read an HTTP/1.1 upgrade request off `socket` (`head`: bytes already read), within `timeout` ms. */
  private readHttp1(socket: Socket, head: Buffer = Buffer.alloc(0), timeout = this.options.handshakeTimeout ?? DEFAULT_SERVER_OPTIONS.handshakeTimeout): void {
    if (this.closing) {
      socket.destroy();
      return;
    }
    this.startHandshake(socket).read(head, timeout);
  }

  /**
   * A cleartext connection with `http2` on: HTTP/2 with prior knowledge if
   * it opens with the connection preface (RFC 9113 §3.3), else HTTP/1.1,
   * its first bytes handed on. The preface must come within the handshake
   * timeout, which the HTTP/1.1 path then continues (not restarts): a
   * silent client is answered 408 at the same time as without `http2`.
   */
  private sniffCleartext(socket: Socket, door: Http2Door<UpgradeDecision<Data>>, head: Buffer = Buffer.alloc(0)): void {
    if (this.closing) {
      socket.destroy();
      return;
    }
    const timeout = this.options.handshakeTimeout ?? DEFAULT_SERVER_OPTIONS.handshakeTimeout;
    const started = Date.now();
    const chunks: Buffer[] = [];
    const early = sniffHttp2Preface(head);
    if (early === 'h1') {
      this.readHttp1(socket, head);
      return;
    }
    if (early === 'h2') {
      socket.pause(); // (a flowing socket would emit what is unshifted, to no one)
      socket.unshift(head);
      door.take(socket);
      return;
    }
    if (head.length > 0) chunks.push(head);
    this.sniffing.add(socket);
    const finish = (): Buffer => {
      clearTimeout(timer);
      socket.off('data', onData);
      socket.off('end', onEnd);
      socket.off('close', onClose);
      socket.off('error', onError);
      this.sniffing.delete(socket);
      return chunks.length === 1 ? chunks[0] : Buffer.concat(chunks);
    };
    const toHttp1 = (): void => {
      const received = finish();
      this.readHttp1(socket, received, Math.max(0, timeout - (Date.now() - started)));
    };
    const onData = (chunk: Buffer): void => {
      chunks.push(chunk);
      const verdict = sniffHttp2Preface(chunks.length === 1 ? chunk : Buffer.concat(chunks));
      if (verdict === 'need-more') return;
      if (verdict === 'h1') {
        toHttp1();
        return;
      }
      socket.pause();
      socket.unshift(finish()); // node:http2 reads what is buffered first
      door.take(socket);
    };
    // The client half-closed before it said anything we could answer (as HandshakeSocket does with it).
    const onEnd = (): void => {
      finish();
      socket.destroy();
    };
    const onClose = (): void => void finish();
    const onError = (): void => {};
    const timer = setTimeout(toHttp1, timeout);
    timer.unref();
    socket.on('data', onData);
    socket.on('end', onEnd);
    socket.on('close', onClose);
    socket.on('error', onError);
  }

  private startHandshake(socket: Socket): HandshakeSocket<UpgradeDecision<Data>> {
    const machine = new ServerHandshake({ limits: this.options.httpLimits, plainHttp: this.httpHandOff === undefined ? 'refuse' : 'hand-off' });
    const handshake = new HandshakeSocket(socket, machine, this.handshakeHost);
    this.handshaking.add(handshake);
    return handshake;
  }

  /**
   * The server's decision on a valid upgrade request, awaited between the
   * handshake machine's two steps: the memory budget, the route, then the
   * negotiation (origin, authorize, subprotocol, extensions).
   */
  private async decide(request: HandshakeRequest): Promise<UpgradeDecision<Data>> {
    // Over the memory budget, no new connection is taken on (RFC 9110
    // §15.6.4: 503 "the server is currently unable to handle the request
    // due to a temporary overload"; Retry-After says when to come back).
    if (this.memoryBudget.isExceeded) {
      throw new HandshakeError(HandshakeErrorCode.OVERLOADED, 503, 'the server is over its memory budget: try again later', { 'Retry-After': String(OVERLOAD_RETRY_AFTER_S) });
    }
    const handler = this.findHandler(request);
    return { ...(await negotiate<Data>(request, this.options)), handler };
  }

  /**
   * The 101 is written (HTTP/1.1), or the 200 sent on the stream (HTTP/2):
   * the transport becomes a WebSocket connection, and its handler runs.
   */
  private open(
    transport: Socket | ServerHttp2Stream,
    request: HandshakeRequest,
    accepted: HandshakeAccepted | Http2Agreement,
    decision: UpgradeDecision<Data>,
    httpVersion: '1.1' | '2',
  ): WebSocketConnection<Data> {
    const connection = WebSocketConnection.forServer<Data>(
      transport as WebSocketTransport,
      {
        path: request.path,
        query: request.query,
        headers: request.headers,
        origin: request.origin,
        protocol: accepted.protocol,
        extensions: accepted.extensions,
        remoteAddress: request.remoteAddress,
        remotePort: request.remotePort,
        params: request.params,
        httpVersion,
      },
      decision.data as Data,
      this.connectionOptions,
      this.connectionHooks,
      decision.extension,
    );
    this.liveConnections.add(connection);
    // The handler attaches its listeners before the first message is fed in.
    try {
      const result = decision.handler(connection);
      if (isPromiseLike(result)) result.then(undefined, (error: unknown) => connection.handlerFailed(error));
    } catch (error) {
      connection.handlerFailed(error);
    }
    if (this.listenerCount('connection') > 0) this.emit('connection', connection);
    connection.start(accepted.rest);
    return connection;
  }

  /** The handler for the request's path; the route's parameters go on the request, for the hooks and the connection. */
  private findHandler(request: HandshakeRequest): ConnectionHandler<Data> {
    const { path } = request;
    let routed;
    try {
      routed = this.router.match(path);
    } catch (error) {
      if (!(error instanceof RouteMatchError)) throw error;
      throw new HandshakeError(HandshakeErrorCode.PATH_ENCODING, 400, `cannot route ${path}: ${error.message}`);
    }
    if (routed !== null) {
      request.params = routed.params;
      return routed.value;
    }
    const { path: onlyPath } = this.options;
    if (this.defaultHandler && (onlyPath === undefined || onlyPath === path)) return this.defaultHandler;
    throw new HandshakeError(HandshakeErrorCode.NOT_FOUND, 404, `no WebSocket endpoint at ${path}`);
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

/** Bytes of a typed array or an ArrayBuffer as a Buffer, without a copy. */
function toBuffer(data: Exclude<SendData, string>): Buffer {
  if (data instanceof ArrayBuffer) return Buffer.from(data);
  return Buffer.from(data.buffer, data.byteOffset, data.byteLength);
}

function isPromiseLike(value: unknown): value is PromiseLike<unknown> {
  return typeof value === 'object' && value !== null && typeof (value as PromiseLike<unknown>).then === 'function';
}
