/**
 * Plain HTTP on the WebSocket port: a connection whose first request is not
 * a WebSocket upgrade is given, with the bytes we already read from it, to a
 * node:http server that is not listening itself. node:http then owns the
 * connection: it answers this request and any that follow on it (keep-alive),
 * and raises its `upgrade` event if a later request on it is an upgrade (the
 * WebSocket server listens to that event too, see `WebSocketServer.attach`).
 *
 * How: `socket.unshift(bytes)` puts the request back at the front of the
 * socket's readable buffer, and `server.emit('connection', socket)` is what a
 * listening node:http server does itself with each accepted connection. The
 * request's bytes are read again, in order, before anything newer.
 *
 * A node:http server that does not listen keeps no list of its connections,
 * so it cannot end idle keep-alive connections when it shuts down; this class
 * keeps that list for it, and `close()` ends them.
 *
 * Nor does it enforce its `headersTimeout` and `requestTimeout`: node:http
 * checks them from a timer it starts only when it listens. Without them a
 * client could keep a handed-off connection forever by dribbling a request
 * head one byte at a time (its `keepAliveTimeout` is an idle timer, reset by
 * every byte). This class applies both deadlines itself, per connection:
 * - the next request's head must be complete within keepAliveTimeout +
 *   headersTimeout of the previous response's end (node:http counts
 *   headersTimeout from the head's first byte, which we do not see: the
 *   keep-alive idle time before it is at most keepAliveTimeout);
 * - a request must be received whole within requestTimeout of its head
 *   (the first request's head was read within the WebSocket server's
 *   handshakeTimeout).
 * A connection past a deadline is answered 408 Request Timeout if no
 * response to it has started, then closed, as node:http does.
 */
import {
  createServer as createHttpServer,
  type IncomingMessage,
  type RequestListener,
  type Server as HttpServer,
  type ServerResponse,
} from 'node:http';
import type { Socket } from 'node:net';

/** How long a connection ended by close() or a deadline has to let its last response reach the client. */
const END_LINGER_MS = 2_000;

/** Sent when a request did not arrive in time (what node:http sends on its own deadlines). */
const REQUEST_TIMEOUT_RESPONSE = 'HTTP/1.1 408 Request Timeout\r\nConnection: close\r\nContent-Length: 0\r\n\r\n';

/** One handed-off connection. */
interface HandedConnection {
  /** Requests whose response has not finished yet. */
  inProgress: number;
  /** The deadline running: for the next head (idle), or for the request being received. */
  deadline: NodeJS.Timeout | null;
}

export class HttpHandOff {
  /** The node:http server the connections go to. */
  readonly server: HttpServer;
  /** Connections handed over and still open. */
  readonly #connections = new Map<Socket, HandedConnection>();
  #closing = false;

  /** `target`: a node:http server (not listening), or a request listener to run one for. */
  constructor(target: HttpServer | RequestListener) {
    this.server = typeof target === 'function' ? createHttpServer(target) : target;
    this.server.on('request', this.#onRequest);
  }

  /** Give node:http a connection, with `bytesRead`: everything already read from it. */
  take(socket: Socket, bytesRead: Buffer): void {
    if (this.#closing) {
      socket.destroy();
      return;
    }
    const connection: HandedConnection = { inProgress: 0, deadline: null };
    this.#connections.set(socket, connection);
    socket.once('close', () => this.#forget(socket));
    socket.unshift(bytesRead);
    this.server.emit('connection', socket);
  }

  /** The connection left node:http (a later request on it was an upgrade): no longer ours to close. */
  release(socket: Socket): void {
    this.#forget(socket);
  }

  /**
   * Stop keeping connections alive: idle ones are closed now, busy ones as
   * soon as their response is finished.
   */
  close(): void {
    this.#closing = true;
    this.server.off('request', this.#onRequest);
    for (const [socket, connection] of this.#connections) {
      if (connection.inProgress === 0) {
        this.#forget(socket);
        socket.destroy();
      }
    }
  }

  #forget(socket: Socket): void {
    const connection = this.#connections.get(socket);
    if (connection === undefined) return;
    if (connection.deadline !== null) clearTimeout(connection.deadline);
    this.#connections.delete(socket);
  }

  /** Run `expired` after `ms` (none if ms is 0 or not finite: that deadline is off). */
  #arm(connection: HandedConnection, ms: number, expired: () => void): void {
    if (connection.deadline !== null) clearTimeout(connection.deadline);
    connection.deadline = null;
    if (!(ms > 0 && Number.isFinite(ms))) return;
    connection.deadline = setTimeout(expired, ms);
    connection.deadline.unref();
  }

  /** A deadline passed: answer 408 if nothing was answered yet, then close. */
  #timedOut(socket: Socket, responseStarted: boolean): void {
    this.#forget(socket);
    if (socket.destroyed) return;
    if (responseStarted) {
      socket.destroy();
      return;
    }
    socket.end(REQUEST_TIMEOUT_RESPONSE);
    setTimeout(() => socket.destroy(), END_LINGER_MS).unref();
  }

  /** Count the requests in progress on our connections (to know which are idle) and time them. */
  #onRequest = (request: IncomingMessage, response: ServerResponse): void => {
    const socket = request.socket as Socket;
    const connection = this.#connections.get(socket);
    if (connection === undefined) return; // a connection the server accepted itself, not one of ours
    connection.inProgress += 1;
    // Its head is here; now the rest of it must come within requestTimeout.
    // (node:http parses pipelined requests in order: when this head was
    // parsed, the previous request had been received whole.)
    this.#arm(connection, this.server.requestTimeout, () => {
      // An earlier pipelined response still in progress counts as started: no 408 into its bytes.
      if (!request.complete) this.#timedOut(socket, response.headersSent || connection.inProgress > 1);
    });
    response.once('close', () => {
      if (this.#connections.get(socket) !== connection) return; // the connection closed or left already
      connection.inProgress -= 1;
      if (connection.inProgress > 0) return;
      if (this.#closing) {
        this.#forget(socket);
        socket.end();
        setTimeout(() => socket.destroy(), END_LINGER_MS).unref();
        return;
      }
      // Idle: the next request's head must be complete in time (see the top of this file).
      const server = this.server;
      const headersTimeout = server.headersTimeout > 0 ? server.keepAliveTimeout + server.headersTimeout : 0;
      this.#arm(connection, headersTimeout, () => this.#timedOut(socket, false));
    });
  };
}
