/**
 * The HTTP/2 door to the server (RFC 8441): the I/O shell that takes HTTP/2
 * connections (a TLS socket that chose `h2` by ALPN, or a cleartext one
 * that opened with the HTTP/2 preface), runs them on node:http2, and turns
 * each extended CONNECT stream with `:protocol websocket` into a WebSocket
 * connection, through the same decision (memory budget, route, hooks) as an
 * HTTP/1.1 upgrade. Every rule of the request is the sans-I/O check's
 * (src/handshake/extended-connect.ts); every decision is the server's.
 *
 * node:http2 runs over any duplex it is given: `h2.emit('connection',
 * socket)` is what a listening node:http2 server does with each socket it
 * accepts, and a TLS socket works as well as a TCP one (it is how
 * createSecureServer() works inside). So one server of ours listens, and
 * this door owns an http2 server that does not.
 *
 * Per connection (session): SETTINGS_ENABLE_CONNECT_PROTOCOL is advertised
 * (RFC 8441 §3), so clients may open WebSockets as streams; a session with
 * no open stream is closed (GOAWAY) after `idleSessionTimeout`; a GOAWAY
 * from the peer closes its WebSockets with 1001 (going away). Per stream:
 * - CONNECT (with or without `:protocol`): the handshake, hooks included,
 *   within `handshakeTimeout` (else 408); refused with the check's or the
 *   server's status, the stream ended after the body, then reset with
 *   NO_ERROR so the client stops sending (RFC 9113 §8.1);
 * - anything else: node:http2's compatibility request and response, handed
 *   to the `http` option's node:http server as its `request` event; 404
 *   without one.
 * A refusal or a 404 the client does not read (a stream window of 0 holds
 * the body back, and node:http2 resets the stream only once the body is
 * out) is reset with CANCEL after REJECTION_LINGER_MS, as an HTTP/1.1
 * refusal's socket is destroyed: no stream is held open by a peer that
 * does not read.
 */
import type { Http2Server, IncomingHttpHeaders, ServerHttp2Session, ServerHttp2Stream } from 'node:http2';
import { http2Module, Http2ErrorCode } from '../connection/http2-module.js';
import type { Server as HttpServer } from 'node:http';
import type { Socket } from 'node:net';
import type { WebSocketConnection } from '../connection/websocket-connection.js';
import { HandshakeError, LocalError } from '../errors.js';
import { HandshakeErrorCode } from '../handshake/error-codes.js';
import {
  buildExtendedConnectRejection,
  buildExtendedConnectResponse,
  parseExtendedConnect,
  type Http2Rejection,
} from '../handshake/extended-connect.js';
import type { HttpHeadLimits } from '../handshake/http-head-parser.js';
import type { AcceptDecisions } from '../handshake/server-handshake.js';
import { CloseCode } from '../framing/close-codes.js';
import { ReadyState } from '../protocol/ready-state.js';
import { REJECTION_LINGER_MS, type HandshakeRequest, type Http2Settings } from './options.js';

/** The route parameters of a request until its route is matched (none for exact routes). */
const NO_PARAMS: Readonly<Record<string, string>> = Object.freeze({});

/** What was agreed, as the connection is told. */
export interface Http2Agreement {
  /** The subprotocol selected, `''` for none. */
  protocol: string;
  /** The Sec-WebSocket-Extensions answer, `''` for none. */
  extensions: string;
  /** Bytes already read behind the request: none over HTTP/2 (the stream still holds them). */
  rest: Buffer;
}

/** What the server provides to its HTTP/2 door. */
export interface Http2DoorHost<Decision extends AcceptDecisions> {
  /** The server is shutting down: accept no one. */
  isClosing(): boolean;
  /** ms a CONNECT stream may take from its HEADERS to our answer, the hooks included (option handshakeTimeout): then 408. */
  readonly handshakeTimeout: number;
  /** The server's decision on a valid request (throws HandshakeError to refuse; anything else is a 500, reported). */
  decide(request: HandshakeRequest): Promise<Decision>;
  /** The 200 is sent: run the WebSocket protocol on `stream`. */
  open(stream: ServerHttp2Stream, request: HandshakeRequest, agreed: Http2Agreement, decision: Decision): WebSocketConnection<unknown>;
  reportError(error: unknown): void;
}

/** What the door keeps per HTTP/2 connection. */
interface SessionState {
  /** Ours (it came through take()), or an application's http2 server's (handleStream()): only ours get idle timeouts and our GOAWAY. */
  readonly owned: boolean;
  /** Streams open on it (WebSockets, requests, handshakes). */
  streams: number;
  /** The WebSockets it carries, for a GOAWAY. */
  readonly connections: Set<WebSocketConnection<unknown>>;
  /** Armed while no stream is open: the session is closed when it fires. */
  idleTimer: NodeJS.Timeout | undefined;
}

export class Http2Door<Decision extends AcceptDecisions> {
  /** The node:http2 server the connections run on (it never listens). */
  readonly server: Http2Server;
  readonly #host: Http2DoorHost<Decision>;
  readonly #settings: Http2Settings;
  readonly #limits: Partial<HttpHeadLimits> | undefined;
  readonly #sessions = new Map<ServerHttp2Session, SessionState>();
  /** A second node:http2 server, for its compatibility API only: plain requests are re-emitted on it as streams. */
  readonly #compat: Http2Server | undefined;
  #closing: Promise<void> | undefined;

  constructor(host: Http2DoorHost<Decision>, settings: Http2Settings, limits: Partial<HttpHeadLimits> | undefined, http: HttpServer | undefined) {
    this.#host = host;
    this.#settings = settings;
    this.#limits = limits;
    this.server = http2Module().createServer({
      settings: {
        // RFC 8441 §3: "Upon receipt of SETTINGS_ENABLE_CONNECT_PROTOCOL with
        // a value of 1, a client MAY use the Extended CONNECT as defined in
        // this document when creating new streams."
        enableConnectProtocol: true,
        maxConcurrentStreams: settings.maxConcurrentStreams,
        // How much a client may send on a stream before it must wait for our WINDOW_UPDATE (option streamWindowSize).
        initialWindowSize: settings.streamWindowSize,
      },
    });
    this.server.on('session', this.#onSession);
    this.server.on('stream', this.#onStream);
    // A session's error (a reset TCP connection, a protocol error of the peer): it is destroyed, its streams with it.
    this.server.on('sessionError', () => {});
    if (http !== undefined) {
      // node:http2 builds its compatibility request and response on a server's
      // 'stream' event once that server has a 'request' listener; the request
      // goes on to the node:http server's 'request' listeners.
      const compat = http2Module().createServer();
      compat.on('request', (request, response) => http.emit('request', request, response));
      this.#compat = compat;
    }
  }

  /** Run HTTP/2 on `socket` (its first bytes, if already read, put back with `unshift()`). */
  take(socket: Socket): void {
    if (this.#closing !== undefined || this.#host.isClosing()) {
      socket.destroy();
      return;
    }
    // node:http2 closes the socket itself when the session ends: no half-open TCP here.
    socket.allowHalfOpen = false;
    this.server.emit('connection', socket);
  }

  /**
   * Send every session a GOAWAY (no new streams; RFC 9113 §6.8) and resolve
   * once all are closed: their streams end on their own (the server closes
   * its WebSockets with 1001 first). A session still open after `graceMs`
   * (a plain request that never ends) is destroyed.
   */
  close(graceMs: number): Promise<void> {
    if (this.#closing !== undefined) return this.#closing;
    const owned = [...this.#sessions].filter(([, state]) => state.owned).map(([session]) => session);
    const closed = owned.map(
      (session) =>
        new Promise<void>((resolve) => {
          if (session.closed || session.destroyed) {
            resolve();
            return;
          }
          const grace = setTimeout(() => session.destroy(), graceMs);
          grace.unref();
          session.close(() => {
            clearTimeout(grace);
            resolve();
          });
        }),
    );
    this.#closing = Promise.all(closed).then(() => {});
    return this.#closing;
  }

  /**
   * Run the WebSocket handshake on an extended CONNECT stream that an
   * application's own node:http2 server received (WebSocketServer.handleStream).
   */
  handleStream(stream: ServerHttp2Stream, headers: IncomingHttpHeaders): void {
    const session = stream.session as ServerHttp2Session | undefined;
    if (session !== undefined && !this.#sessions.has(session)) this.#track(session, false);
    // Whatever its method: a GET is refused with 405, a CONNECT without :protocol with 501.
    this.#handshake(stream, headers, this.#count(stream)).catch((fault: unknown) => this.#fail(stream, fault));
  }

  #onSession = (session: ServerHttp2Session): void => {
    if (this.#closing !== undefined) {
      session.destroy();
      return;
    }
    // The connection's own window starts at 65,535 whatever SETTINGS say (RFC 9113 §6.9.2): widen it (option sessionWindowSize).
    session.setLocalWindowSize(this.#settings.sessionWindowSize);
    this.#armIdle(session, this.#track(session, true));
  };

  /** Keep the session's streams and WebSockets: its GOAWAY closes them. */
  #track(session: ServerHttp2Session, owned: boolean): SessionState {
    const state: SessionState = { owned, streams: 0, connections: new Set(), idleTimer: undefined };
    this.#sessions.set(session, state);
    if (owned) session.on('error', () => {}); // 'close' follows (an application's session is the application's to watch)
    session.on('goaway', () => {
      // The peer goes away: its WebSockets close as going away (RFC 6455 §7.4.1, 1001).
      for (const connection of state.connections) {
        if (connection.readyState === ReadyState.OPEN) connection.close(CloseCode.GOING_AWAY, 'the client sent GOAWAY');
      }
    });
    session.once('close', () => {
      clearTimeout(state.idleTimer);
      this.#sessions.delete(session);
    });
    return state;
  }

  #armIdle(session: ServerHttp2Session, state: SessionState): void {
    const ms = this.#settings.idleSessionTimeout;
    if (ms === 0 || !state.owned) return;
    clearTimeout(state.idleTimer);
    state.idleTimer = setTimeout(() => {
      if (state.streams === 0 && !session.closed) session.close();
    }, ms);
    state.idleTimer.unref();
  }

  #onStream = (stream: ServerHttp2Stream, headers: IncomingHttpHeaders, flags: number, rawHeaders: string[]): void => {
    const state = this.#count(stream);
    if (headers[':method'] === 'CONNECT') {
      this.#handshake(stream, headers, state).catch((fault: unknown) => this.#fail(stream, fault));
      return;
    }
    if (this.#compat !== undefined) {
      this.#compat.emit('stream', stream, headers, flags, rawHeaders);
      return;
    }
    stream.respond({ ':status': 404, 'content-type': 'text/plain; charset=utf-8' });
    stream.end('not found: this server only serves WebSockets\n');
    lingerThenCancel(stream);
  };

  /** One more stream open on its session (none while any is: no idle timeout); its session's state. */
  #count(stream: ServerHttp2Stream): SessionState | undefined {
    const session = stream.session as ServerHttp2Session | undefined;
    const state = session === undefined ? undefined : this.#sessions.get(session);
    if (session !== undefined && state !== undefined) {
      state.streams++;
      clearTimeout(state.idleTimer);
      stream.once('close', () => {
        state.streams--;
        if (state.streams === 0 && !session.closed && !session.destroyed) this.#armIdle(session, state);
      });
    }
    // A reset by the peer, a write after it: 'close' follows.
    stream.on('error', () => {});
    return state;
  }

  async #handshake(stream: ServerHttp2Stream, headers: IncomingHttpHeaders, state: SessionState | undefined): Promise<void> {
    const host = this.#host;
    const socket = stream.session?.socket;
    let request: HandshakeRequest;
    try {
      // RFC 8441 §4–§5 and RFC 6455 §4.2.1 as they apply over HTTP/2.
      request = { ...parseExtendedConnect(headers, this.#limits), remoteAddress: socket?.remoteAddress, remotePort: socket?.remotePort, params: NO_PARAMS };
    } catch (error) {
      if (!(error instanceof HandshakeError)) throw error;
      this.#refuse(stream, error);
      return;
    }
    let decision: Decision;
    // The hooks may take their time, not forever: the HTTP/1.1 handshake's
    // timeout holds here too (RFC 9110 §15.5.9: 408 "indicates that the
    // server did not receive a complete request message within the time
    // that it was prepared to wait"), so a hook that never settles does not
    // keep the stream, and with it the session, open.
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<typeof TIMED_OUT>((resolve) => {
      timer = setTimeout(resolve, host.handshakeTimeout, TIMED_OUT);
      timer.unref();
    });
    try {
      const deciding = host.decide(request);
      const decided = await Promise.race([deciding, timedOut]);
      if (decided === TIMED_OUT) {
        // A hook that fails later is still a bug to report (a refusal is not); its decision, if any, is dropped.
        deciding.catch((error: unknown) => {
          if (!(error instanceof HandshakeError)) host.reportError(error);
        });
        this.#refuse(stream, new HandshakeError(HandshakeErrorCode.TIMEOUT, 408, 'the server could not decide on the upgrade in time'));
        return;
      }
      decision = decided;
    } catch (error) {
      if (!(error instanceof HandshakeError)) host.reportError(error);
      this.#refuse(stream, error instanceof HandshakeError ? error : new HandshakeError(HandshakeErrorCode.INTERNAL, 500, 'internal server error'));
      return;
    } finally {
      clearTimeout(timer);
    }
    if (stream.closed || stream.destroyed) return; // reset by the peer while we decided
    if (host.isClosing()) {
      // RFC 9113 §8.7: REFUSED_STREAM "indicates that the stream is being closed prior to any processing having occurred".
      stream.close(Http2ErrorCode.REFUSED_STREAM);
      return;
    }
    let response;
    try {
      response = buildExtendedConnectResponse(decision);
    } catch (fault) {
      if (!(fault instanceof LocalError)) throw fault;
      host.reportError(fault);
      this.#refuse(stream, new HandshakeError(HandshakeErrorCode.INTERNAL, 500, 'internal server error'));
      return;
    }
    // RFC 8441 §5: "After successfully processing the opening handshake, the
    // peers should proceed with the WebSocket Protocol [RFC6455] using the
    // HTTP/2 stream from the CONNECT transaction as if it were the TCP
    // connection referred to in [RFC6455]."
    let connection: WebSocketConnection<unknown>;
    try {
      // node:http2 throws here on a header block it will not send (ERR_HTTP2_INVALID_CONNECTION_HEADERS...).
      stream.respond(response);
      connection = host.open(stream, request, { protocol: decision.protocol ?? '', extensions: decision.extensions ?? '', rest: EMPTY }, decision);
    } catch (fault) {
      this.#fail(stream, fault);
      return;
    }
    if (state !== undefined) {
      state.connections.add(connection);
      stream.once('close', () => state.connections.delete(connection));
    }
  }

  /**
   * Answer a refusal: its status and headers, the reason as the body with
   * END_STREAM. Then, RFC 9113 §8.1: "a server MAY request that the client
   * abort transmission of a request without error by sending a RST_STREAM
   * with an error code of NO_ERROR after sending a complete response (i.e.,
   * a frame with the END_STREAM flag set)" (node:http2 sends it once the
   * body is out).
   */
  #refuse(stream: ServerHttp2Stream, error: HandshakeError): void {
    if (stream.closed || stream.destroyed || stream.headersSent) return;
    let rejection: Http2Rejection;
    try {
      rejection = buildExtendedConnectRejection(error);
    } catch (fault) {
      if (!(fault instanceof LocalError)) throw fault;
      this.#host.reportError(fault);
      rejection = buildExtendedConnectRejection(new HandshakeError(HandshakeErrorCode.INTERNAL, 500, 'internal server error'));
    }
    try {
      stream.respond(rejection.headers);
    } catch (fault) {
      this.#fail(stream, fault);
      return;
    }
    stream.end(rejection.body);
    // Once the body is out (asked now, node:http2 would hold the reset back until then anyway, and a later CANCEL could not replace it).
    stream.once('finish', () => stream.close(Http2ErrorCode.NO_ERROR));
    stream.resume(); // what the client still sends is dropped
    lingerThenCancel(stream);
  }

  /**
   * Something of ours failed on `stream` (a header block node:http2 would
   * not send, a bug): reported as the server's 'error', and the stream (only)
   * reset. RFC 9113 §7: INTERNAL_ERROR "The endpoint encountered an
   * unexpected internal error."
   */
  #fail(stream: ServerHttp2Stream, fault: unknown): void {
    this.#host.reportError(fault);
    if (!stream.destroyed) stream.close(Http2ErrorCode.INTERNAL_ERROR);
  }
}

/** What a handshake's timer resolves with. */
const TIMED_OUT = Symbol('timed out');

/**
 * Reset `stream` with CANCEL if it is still open REJECTION_LINGER_MS from
 * now: our answer is sent, or would be if the client read it. node:http2
 * sends the RST_STREAM that `close()` asks for only after the body is out,
 * and a client whose stream window is 0 (SETTINGS_INITIAL_WINDOW_SIZE = 0,
 * RFC 9113 §6.9.2) never lets it out. RFC 9113 §7: CANCEL "Used by the
 * endpoint to indicate that the stream is no longer needed."
 */
function lingerThenCancel(stream: ServerHttp2Stream): void {
  const linger = setTimeout(() => {
    if (!stream.destroyed) stream.close(Http2ErrorCode.CANCEL);
  }, REJECTION_LINGER_MS);
  linger.unref();
  stream.once('close', () => clearTimeout(linger));
}

const EMPTY = Buffer.alloc(0);
