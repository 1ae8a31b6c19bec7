/**
 * One socket in its opening handshake, on the server: the I/O shell around a
 * ServerHandshake (src/handshake/server-handshake.ts). It reads the socket
 * into the machine, enforces the handshake timeout, awaits the server's
 * decision (memory budget, route, hooks) between the machine's two steps,
 * writes the bytes the machine returns, and hands the socket on: to a
 * WebSocket connection with the bytes that followed the request, or, for a
 * plain HTTP request, to node:http. Every decision is the machine's or the
 * server's; the state is the machine's.
 */
import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import { dropNodesEndListener } from '../connection/transport.js';
import { HandshakeError } from '../errors.js';
import { HandshakeErrorCode } from '../handshake/error-codes.js';
import type { HttpRequestHead } from '../handshake/http-head-parser.js';
import type {
  AcceptDecisions,
  HandshakeAccepted,
  HandshakeRejected,
  PlainHttpRequest,
  ServerHandshake,
  UpgradeRequested,
  NeedMore,
} from '../handshake/server-handshake.js';
import { REJECTION_LINGER_MS, type HandshakeRequest } from './options.js';

/** The route parameters of a request until its route is matched (none for exact routes). */
const NO_PARAMS: Readonly<Record<string, string>> = Object.freeze({});

/** The handshake's 'error' listener: one function for all sockets, not a closure each. */
function ignoreError(): void {}

/**
 * The machine's request becomes the hooks' request in place: the fields the
 * transport knows are added to it. A copy (`{ ...upgrade, remoteAddress, ... }`)
 * would be a second 15-field object per handshake, alive across the await on
 * the hooks with the first (~130 B of garbage that lives long enough to be promoted).
 */
function asHandshakeRequest(upgrade: UpgradeRequested['request'], socket: Socket, incoming: IncomingMessage | undefined): HandshakeRequest {
  const request = upgrade as HandshakeRequest;
  request.remoteAddress = socket.remoteAddress;
  request.remotePort = socket.remotePort;
  // Reading them made node:net cache the peer's address on the socket for its
  // whole life (`_peername`, an object of 56 B): the request keeps both values,
  // so the cache goes (56 B per idle connection, bench/idle-heap.ts). While the
  // socket is open, socket.remoteAddress reads them again from its handle.
  (socket as { _peername?: unknown })._peername = undefined;
  request.params = NO_PARAMS;
  if (incoming !== undefined) request.incoming = incoming;
  return request;
}

/** What the server provides to its handshaking sockets. */
export interface HandshakeHost<Decision extends AcceptDecisions> {
  /** The server is shutting down: accept no one. */
  isClosing(): boolean;
  /**
   * Decide on a valid request: the memory budget, the route, the hooks.
   * Throws `HandshakeError` to refuse; anything else is answered 500 and reported.
   */
  decide(request: HandshakeRequest): Promise<Decision>;
  /** The 101 is written: run the WebSocket protocol on `socket`, starting with `accepted.rest`. */
  open(socket: Socket, request: HandshakeRequest, accepted: HandshakeAccepted, decision: Decision): void;
  /** A plain HTTP request: node:http reads it again from `received` and owns the socket from now on. */
  handOff(socket: Socket, received: Buffer): void;
  /** `handshake` is over (upgraded, refused, handed off or gone). */
  forget(handshake: HandshakeSocket<Decision>): void;
  reportError(error: unknown): void;
}

export class HandshakeSocket<Decision extends AcceptDecisions> {
  #timer: NodeJS.Timeout | undefined;
  /** The node:http request this upgrade came with (handleUpgrade), for the hooks. */
  #incoming: IncomingMessage | undefined;

  constructor(
    readonly socket: Socket,
    private readonly machine: ServerHandshake,
    private readonly host: HandshakeHost<Decision>,
  ) {
    dropNodesEndListener(socket); // (no two-listener array per handshake: 64 B of garbage)
    socket.on('end', this.#onEnd);
    socket.on('close', this.#onClose);
    // A reset during the handshake: 'close' follows; nothing to report.
    socket.on('error', ignoreError);
  }

  /**
   * Read the request off the socket; `head` holds bytes already read from
   * it. A handshake not answered after `timeout` ms (a slow or silent
   * client, or hooks that take too long) gets 408.
   */
  read(head: Buffer, timeout: number): void {
    this.#armTimer(timeout);
    this.socket.on('data', this.#onData);
    if (head.length > 0) this.#onData(head);
  }

  /**
   * Take a request node:http has already read (`rest`: the bytes after it;
   * `incoming`: node:http's request, passed on to the hooks); 408 if it is
   * not answered within `timeout` ms (the hooks' time).
   */
  takeHead(head: HttpRequestHead, rest: Buffer, timeout: number, incoming?: IncomingMessage): void {
    this.#incoming = incoming;
    this.#armTimer(timeout);
    this.#step(this.machine.receiveHead(head, rest));
  }

  #onData = (chunk: Buffer): void => {
    this.#step(this.machine.receive(chunk));
  };

  /**
   * The timer runs until the answer, through the server's decision: a hook
   * that never settles gets the same 408 as a request that never arrives
   * (RFC 9110 §15.5.9: 408 "indicates that the server did not receive a
   * complete request message within the time that it was prepared to
   * wait"), and the socket is not held forever.
   */
  #armTimer(timeout: number): void {
    this.#timer = setTimeout(this.#onTimeout, timeout);
    this.#timer.unref();
  }

  #onTimeout = (): void => {
    const deciding = this.machine.state === 'deciding';
    this.#step(
      this.machine.reject(
        new HandshakeError(HandshakeErrorCode.TIMEOUT, 408, deciding ? 'the server could not decide on the upgrade in time' : 'the upgrade request did not arrive in time'),
      ),
    );
  };

  #onEnd = (): void => {
    // The client half-closed before its request was answered.
    if (this.machine.eof().kind === 'abandon') {
      this.#stopReading();
      this.host.forget(this);
      this.socket.destroy();
    }
  };

  #onClose = (): void => {
    this.#stopReading();
    this.host.forget(this);
  };

  #step(step: NeedMore | UpgradeRequested | PlainHttpRequest | HandshakeRejected): void {
    switch (step.kind) {
      case 'need-more':
        return;
      case 'reject':
        this.#stopReading();
        this.#refuse(step);
        return;
      case 'plain-http':
        this.#stopReading();
        this.#detach();
        this.host.forget(this);
        this.host.handOff(this.socket, step.received);
        return;
      case 'request':
        // Not #stopReading(): the timer runs on through the decision.
        this.socket.off('data', this.#onData);
        // Frames read from now on belong to the connection.
        this.socket.pause();
        void this.#decide(step.request);
        return;
    }
  }

  async #decide(upgrade: UpgradeRequested['request']): Promise<void> {
    const { socket, machine, host } = this;
    const request = asHandshakeRequest(upgrade, socket, this.#incoming);
    let decision: Decision;
    try {
      decision = await host.decide(request);
    } catch (error) {
      clearTimeout(this.#timer);
      if (!(error instanceof HandshakeError)) host.reportError(error);
      if (machine.state === 'deciding') {
        this.#refuse(machine.reject(error instanceof HandshakeError ? error : new HandshakeError(HandshakeErrorCode.INTERNAL, 500, 'internal server error')));
      }
      return;
    }
    clearTimeout(this.#timer);
    // Answered 408 while the hooks ran: the refusal has the socket.
    if (machine.state === 'rejected') return;
    if (socket.destroyed || host.isClosing() || machine.state !== 'deciding') {
      socket.destroy();
      return;
    }
    const answer = machine.accept(decision);
    if (answer.kind === 'reject') {
      this.#refuse(answer);
      return;
    }
    socket.write(answer.response);
    this.#detach();
    host.forget(this);
    host.open(socket, request, answer, decision);
  }

  /** Answer with an HTTP error, then close once the client had time to read it. */
  #refuse(rejection: HandshakeRejected): void {
    if (rejection.fault !== undefined) this.host.reportError(rejection.fault);
    this.host.forget(this);
    const { socket } = this;
    if (socket.destroyed) return;
    socket.end(rejection.response);
    // Keep draining what the client still sends so our answer is not lost to a TCP reset.
    socket.on('data', () => {});
    socket.resume();
    setTimeout(() => socket.destroy(), REJECTION_LINGER_MS).unref();
  }

  #stopReading(): void {
    clearTimeout(this.#timer);
    this.socket.off('data', this.#onData);
  }

  /** The socket is someone else's now: our listeners go, so the machine and timer they hold are freed. */
  #detach(): void {
    this.#stopReading();
    this.socket.off('end', this.#onEnd);
    this.socket.off('close', this.#onClose);
    this.socket.off('error', ignoreError);
  }
}
