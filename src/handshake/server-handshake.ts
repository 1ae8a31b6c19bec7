/**
 * The server's side of the opening handshake over HTTP/1.1 (RFC 6455 §4.2),
 * as a sans-I/O machine: bytes in, a decision out, response bytes to write.
 * No socket, no timer, no hook: the adapter (src/server/handshake-socket.ts)
 * owns those.
 *
 *     const hs = new ServerHandshake();
 *     let step = hs.receive(bytes);        // need-more | reject | request (| plain-http)
 *     // ... on 'request': run the policy (origin, authorize, subprotocol,
 *     // extensions: server-negotiation.ts), awaiting the application's hooks, then
 *     const answer = hs.accept(negotiated); // accept: the 101, what was agreed, the bytes after the head
 *     // or hs.reject(new HandshakeError(...))  → reject: the error response
 *
 * The two pure steps, `receive()` and `accept()`/`reject()`, are separated so
 * that the hooks run between them, outside the machine.
 *
 *     reading ──receive()──▶ deciding ──accept()──▶ accepted
 *        │  │                   │ └─────reject()──▶ rejected
 *        │  └─receive()/reject()┴──────────────────▶ rejected
 *        ├──receive() (not an upgrade, hand-off on)─▶ handed-off
 *        └──eof() (also from deciding)───────────────▶ abandoned
 *
 * HTTP/1.1 framing only: parsing the head (http-head-parser.ts), validating
 * it as an upgrade (upgrade-request.ts, §4.2.1), and writing the 101 or the
 * error response (http-response.ts, §4.2.2). What is agreed is decided
 * elsewhere (server-negotiation.ts), so that another transport (RFC 8441,
 * WebSockets over HTTP/2) reuses the decisions with its own framing.
 */
import { HandshakeError, LocalError } from '../errors.js';
import { isWebSocketUpgrade } from '../http/request-head.js';
import { HandshakeErrorCode as Code } from './error-codes.js';
import { HttpHeadParser, type HttpHeadLimits, type HttpRequestHead } from './http-head-parser.js';
import { buildAcceptResponse, buildErrorResponse, rejectionFor } from './http-response.js';
import { parseUpgradeRequest, type UpgradeRequest } from './upgrade-request.js';

/** Where a ServerHandshake stands (see the diagram above). */
export type ServerHandshakeState = 'reading' | 'deciding' | 'accepted' | 'rejected' | 'handed-off' | 'abandoned';

/** Limits of a ServerHandshake, and whether a plain HTTP request may be handed off rather than refused. */
export interface ServerHandshakeOptions {
  /** Limits on the request head (431/414 beyond them). Default DEFAULT_HTTP_HEAD_LIMITS. */
  limits?: Partial<HttpHeadLimits>;
  /**
   * What a request without `Upgrade: websocket` gets: `'refuse'` (default),
   * a 426 from the upgrade validation; `'hand-off'`, a `plain-http` result with
   * every byte read so far, for an HTTP server to read the request again.
   */
  plainHttp?: 'refuse' | 'hand-off';
}

/** More bytes are needed to complete the request head. */
export interface NeedMore {
  kind: 'need-more';
}

/** A valid upgrade request: decide on it, then call `accept()` or `reject()`. */
export interface UpgradeRequested {
  kind: 'request';
  request: UpgradeRequest;
  /** Bytes after the head: already WebSocket frames (a view into the last chunk, not a copy). */
  rest: Buffer;
}

/** A plain HTTP request (only with `plainHttp: 'hand-off'`): hand the connection to an HTTP server. */
export interface PlainHttpRequest {
  kind: 'plain-http';
  head: HttpRequestHead;
  /** Every byte received, from the first: the HTTP server reads the request again. */
  received: Buffer;
}

/** The handshake is refused: write `response`, then close. */
export interface HandshakeRejected {
  kind: 'reject';
  /** The HTTP error response (status, reason, `Connection: close`). */
  response: Buffer;
  /** Why: its `status` is the response's. */
  error: HandshakeError;
  /**
   * Set when the refusal is our own fault, not the peer's: the response asked
   * for could not be built (a hook returned an invalid status or header), so
   * a plain 500 is sent instead. Report it.
   */
  fault?: LocalError;
}

/** The handshake is accepted: write `response` (the 101); the connection is open. */
export interface HandshakeAccepted {
  kind: 'accept';
  response: Buffer;
  request: UpgradeRequest;
  /** The subprotocol selected, `''` for none. */
  protocol: string;
  /** The Sec-WebSocket-Extensions answer, `''` for none. */
  extensions: string;
  /** Bytes after the request head: the first frames, for the frame parser. */
  rest: Buffer;
}

/** The client half-closed before its request was answered: it will never finish it. Close without an answer. */
export interface HandshakeAbandoned {
  kind: 'abandon';
}

/** The eof came after the handshake was answered: it belongs to whoever reads the connection now. */
export interface HandshakeOver {
  kind: 'over';
}

/** What the server agreed to (server-negotiation.ts), as the 101 writes it. */
export interface AcceptDecisions {
  /** §4.2.2 item 5.5: one of the offered subprotocols; `''` or absent for none. */
  protocol?: string;
  /** §4.2.2 item 5.6: the serialized Sec-WebSocket-Extensions answer; absent for none. */
  extensions?: string;
  /** Extra response headers (Set-Cookie...). */
  headers?: Record<string, string>;
}

/*
 * Shared empty values (never written to): a handshake allocates no array or
 * buffer for nothing. Every connection's handshake garbage is memory until
 * the next collection, and some of it lives long enough to be promoted.
 */
const NOTHING_RECEIVED: Buffer[] = [];
const NO_BYTES = Buffer.alloc(0);

/** The server's opening handshake over HTTP/1.1 as a sans-I/O machine (see the diagram above). */
export class ServerHandshake {
  #state: ServerHandshakeState = 'reading';
  readonly #parser: HttpHeadParser<'request'>;
  readonly #handOff: boolean;
  /** Chunks received, kept only to hand a plain HTTP request on (bounded by the head limits plus one chunk). */
  #received: Buffer[] = NOTHING_RECEIVED;
  #request: UpgradeRequest | undefined;
  #rest: Buffer = NO_BYTES;

  constructor(options: ServerHandshakeOptions = {}) {
    this.#parser = new HttpHeadParser('request', options.limits);
    this.#handOff = options.plainHttp === 'hand-off';
  }

  get state(): ServerHandshakeState {
    return this.#state;
  }

  /** Feed bytes read from the client. */
  receive(chunk: Buffer): NeedMore | UpgradeRequested | PlainHttpRequest | HandshakeRejected {
    this.#expect('reading', 'receive()');
    let parsed;
    try {
      parsed = this.#parser.feed(chunk);
    } catch (error) {
      // A malformed or oversized head (400, 414, 431, 505).
      if (error instanceof HandshakeError) return this.reject(error);
      throw error;
    }
    if (this.#handOff) {
      if (this.#received === NOTHING_RECEIVED) this.#received = [];
      this.#received.push(chunk);
    }
    if (parsed === undefined) return { kind: 'need-more' };
    if (this.#handOff && !isWebSocketUpgrade(parsed.head)) {
      this.#state = 'handed-off';
      const received = this.#received.length === 1 ? this.#received[0] : Buffer.concat(this.#received);
      this.#received = NOTHING_RECEIVED;
      return { kind: 'plain-http', head: parsed.head, received };
    }
    this.#received = NOTHING_RECEIVED;
    return this.receiveHead(parsed.head, parsed.rest);
  }

  /**
   * Take a request head someone else has parsed (node:http's `upgrade`
   * event), with the bytes that followed it. Instead of `receive()`.
   */
  receiveHead(head: HttpRequestHead, rest: Buffer): UpgradeRequested | HandshakeRejected {
    this.#expect('reading', 'receiveHead()');
    let request;
    try {
      // §4.2.1: method, version, target, Host, Upgrade, Connection, version, key, no body, subprotocol syntax.
      request = parseUpgradeRequest(head);
    } catch (error) {
      if (error instanceof HandshakeError) return this.reject(error);
      throw error;
    }
    this.#state = 'deciding';
    this.#request = request;
    this.#rest = rest;
    return { kind: 'request', request, rest };
  }

  /**
   * Accept the request with what was negotiated: the 101 (§4.2.2 item 5).
   * If the 101 cannot be built from `decisions` (a header that is not a
   * token or holds CR/LF...), the handshake is rejected with a 500 instead,
   * the LocalError in `fault`.
   */
  accept(decisions: AcceptDecisions = {}): HandshakeAccepted | HandshakeRejected {
    this.#expect('deciding', 'accept()');
    const request = this.#request!;
    const protocol = decisions.protocol ?? '';
    let response;
    try {
      response = buildAcceptResponse(request.key, { protocol: protocol || undefined, extensions: decisions.extensions, headers: decisions.headers });
    } catch (error) {
      if (error instanceof LocalError) return this.#internalError(error);
      throw error;
    }
    this.#state = 'accepted';
    const rest = this.#rest;
    this.#request = undefined;
    this.#rest = NO_BYTES;
    return { kind: 'accept', response, request, protocol, extensions: decisions.extensions ?? '', rest };
  }

  /**
   * Refuse the handshake with `error`'s status, message and headers (§4.2.1:
   * "the server MUST stop processing the client's handshake and return an
   * HTTP response with an appropriate error code"). A 500 says nothing more
   * than "internal server error": its cause is the server's business.
   */
  reject(error: HandshakeError): HandshakeRejected {
    if (this.#state !== 'reading' && this.#state !== 'deciding') throw this.#wrongState('reject()', 'reading or deciding');
    let response;
    try {
      response = error.status === 500 ? buildErrorResponse(500, 'internal server error') : rejectionFor(error);
    } catch (fault) {
      if (fault instanceof LocalError) return this.#internalError(fault);
      throw fault;
    }
    this.#finish('rejected');
    return { kind: 'reject', response, error };
  }

  /** The client ended its side of the connection (TCP FIN). */
  eof(): HandshakeAbandoned | HandshakeOver {
    if (this.#state !== 'reading' && this.#state !== 'deciding') return { kind: 'over' };
    this.#finish('abandoned');
    return { kind: 'abandon' };
  }

  #internalError(fault: LocalError): HandshakeRejected {
    this.#finish('rejected');
    return {
      kind: 'reject',
      response: buildErrorResponse(500, 'internal server error'),
      error: new HandshakeError(Code.INTERNAL, 500, 'internal server error'),
      fault,
    };
  }

  #finish(state: 'rejected' | 'abandoned'): void {
    this.#state = state;
    this.#received = NOTHING_RECEIVED;
    this.#request = undefined;
    this.#rest = NO_BYTES;
  }

  #expect(state: ServerHandshakeState, call: string): void {
    if (this.#state !== state) throw this.#wrongState(call, state);
  }

  #wrongState(call: string, expected: string): LocalError {
    return new LocalError(Code.WRONG_STATE, `ServerHandshake.${call} called in state ${this.#state} (expects ${expected})`);
  }
}
