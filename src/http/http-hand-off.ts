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
 */
import {
  createServer as createHttpServer,
  type IncomingMessage,
  type RequestListener,
  type Server as HttpServer,
  type ServerResponse,
} from 'node:http';
import type { Socket } from 'node:net';

/** How long a connection ended by close() has to let its last response reach the client. */
const END_LINGER_MS = 2_000;

export class HttpHandOff {
  /** The node:http server the connections go to. */
  readonly server: HttpServer;
  /** Connections handed over and still open → requests in progress on each. */
  readonly #sockets = new Map<Socket, number>();
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
    this.#sockets.set(socket, 0);
    socket.once('close', () => this.#sockets.delete(socket));
    socket.unshift(bytesRead);
    this.server.emit('connection', socket);
  }

  /** The connection left node:http (a later request on it was an upgrade): no longer ours to close. */
  release(socket: Socket): void {
    this.#sockets.delete(socket);
  }

  /**
   * Stop keeping connections alive: idle ones are closed now, busy ones as
   * soon as their response is finished.
   */
  close(): void {
    this.#closing = true;
    this.server.off('request', this.#onRequest);
    for (const [socket, inProgress] of this.#sockets) {
      if (inProgress === 0) socket.destroy();
    }
  }

  /** Count the requests in progress on our connections, to know which are idle. */
  #onRequest = (request: IncomingMessage, response: ServerResponse): void => {
    const socket = request.socket as Socket;
    const inProgress = this.#sockets.get(socket);
    if (inProgress === undefined) return; // a connection the server accepted itself, not one of ours
    this.#sockets.set(socket, inProgress + 1);
    response.once('close', () => {
      const before = this.#sockets.get(socket);
      if (before === undefined) return; // the connection closed already
      const left = before - 1;
      this.#sockets.set(socket, left);
      if (this.#closing && left === 0) {
        socket.end();
        setTimeout(() => socket.destroy(), END_LINGER_MS).unref();
      }
    });
  };
}
