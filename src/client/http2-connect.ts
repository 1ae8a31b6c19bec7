/**
 * One WebSocket over HTTP/2 (RFC 8441): the client's thin I/O shell around
 * the sans-I/O src/handshake/client-extended-connect.ts. It takes the
 * origin's session from the pool (src/client/http2-sessions.ts), sends the
 * extended CONNECT on a new stream, judges the response headers, and on a
 * 2xx hands the stream to a ClientConnection: the same connection and core
 * as over TCP, with the stream as its transport (src/connection/transport.ts).
 *
 * RFC 8441 §5: "After successfully processing the opening handshake, the
 * peers should proceed with The WebSocket Protocol [RFC6455] using the
 * HTTP/2 stream from the CONNECT transaction as if it were the TCP
 * connection referred to in [RFC6455]." So the client still masks every
 * frame (§5.1 of RFC 6455), and closing maps as that section says: "Orderly
 * TCP-level closures are represented as END_STREAM flags ... RST exceptions
 * are represented with the RST_STREAM frame ... with the CANCEL error
 * code": the connection's `end()` is END_STREAM, its `destroy()` (failing,
 * a close timeout, terminate()) is RST_STREAM, and a stream the server
 * resets ends the WebSocket as an abnormal closure (1006). The TCP
 * connection, which other WebSockets share, is never closed for one of them.
 *
 * `connectTimeout` covers the whole: the session (TCP, TLS, SETTINGS) and
 * the CONNECT's response.
 */
import type { ClientHttp2Stream, IncomingHttpHeaders } from 'node:http2';
import { Http2ErrorCode } from '../connection/http2-module.js';
import type { TLSSocket } from 'node:tls';
import { LocalError } from '../errors.js';
import { ClientHandshakeError } from '../handshake/client-handshake-error.js';
import { MAX_REFUSAL_BODY } from '../handshake/client-handshake.js';
import {
  isExtendedConnectSuccess,
  judgeExtendedConnectResponse,
  refusalOf,
  responseHeadOf,
  type ExtendedConnectRequestFields,
  type ExtendedConnectResponseFields,
} from '../handshake/client-extended-connect.js';
import { HandshakeErrorCode as Code } from '../handshake/error-codes.js';
import type { HttpResponseHead } from '../handshake/http-head-parser.js';
import type { PerMessageDeflateOptions } from '../extensions/permessage-deflate-negotiation.js';
import type { ConnectionOptions } from '../connection/websocket-connection.js';
import { openClientConnection, type ClientConnection } from './client-connection.js';
import { sessionPool, type PooledSession } from './http2-sessions.js';
import type { ClientTlsOptions } from './options.js';
import type { WebSocketTarget } from './url.js';

const EMPTY = Buffer.alloc(0);

/** What the HTTP/2 attempt needs of connect()'s plan. */
export interface Http2Plan {
  url: string;
  target: WebSocketTarget;
  /** `true`: HTTP/2 or fail; `'auto'`: HTTP/2 if the server takes WebSockets there, else `fallback`. */
  mode: true | 'auto';
  request: ExtendedConnectRequestFields;
  protocols: readonly string[];
  extensions: string | undefined;
  deflate: PerMessageDeflateOptions | undefined;
  origin: string | undefined;
  tls: ClientTlsOptions | undefined;
  connectTimeout: number;
  connection: ConnectionOptions;
}

/**
 * Go on over HTTP/1.1 (`'auto'` only): on the TLS socket ALPN chose
 * http/1.1 for, if this attempt got it, else on a fresh connection; within
 * the ms left of connectTimeout.
 */
export type Http1Fallback = (socket: TLSSocket | undefined, msLeft: number) => void;

/** One attempt: settles connect()'s promise once, or hands over to `fallback`. */
export class Http2Handshake {
  readonly #started = Date.now();
  readonly #timer: NodeJS.Timeout;
  #settled = false;
  #retried = false;
  /** Stop listening to the session the CONNECT went on (its GOAWAY). */
  #forgetSession: (() => void) | undefined;
  #stream: ClientHttp2Stream | undefined;
  #release: (() => void) | undefined;
  #refusal: { head: HttpResponseHead; body: Buffer[]; bytes: number } | undefined;

  constructor(
    private readonly plan: Http2Plan,
    private readonly resolve: (connection: ClientConnection) => void,
    private readonly reject: (error: unknown) => void,
    private readonly fallback: Http1Fallback,
  ) {
    this.#timer = setTimeout(this.#onTimeout, plan.connectTimeout);
    this.#openSession();
  }

  /** Take the origin's session (opening it if there is none), then send the CONNECT on it. */
  #openSession(): void {
    const { plan } = this;
    const { secure, host, port } = plan.target;
    sessionPool.open({ secure, host, port, tls: plan.tls }, plan.connectTimeout, plan.mode).then((opened) => {
      if (this.#settled) return;
      if (opened.kind === 'h2') {
        this.#request(opened.pooled);
        return;
      }
      if (plan.mode === true) {
        this.#fail(opened.error);
        return;
      }
      // 'auto': the server takes no WebSocket over HTTP/2; HTTP/1.1 it is.
      this.#stop();
      this.#settled = true;
      this.fallback(opened.take(), Math.max(1, plan.connectTimeout - (Date.now() - this.#started)));
    }, this.#fail);
  }

  /** Open the stream: the extended CONNECT (RFC 8441 §4, §5). */
  #request(pooled: PooledSession): void {
    this.#release = pooled.acquire();
    let stream: ClientHttp2Stream;
    try {
      stream = pooled.session.request(this.plan.request, { endStream: false });
    } catch (error) {
      const { session } = pooled;
      if (!session.closed && !session.destroyed) {
        // Not the session: node:http2 refused what we asked (a header block it will not send...): ours to fix, not to retry.
        this.#fail(error);
        return;
      }
      // The session went away between the pool's answer and now (GOAWAY, closed).
      if (this.#retry()) return;
      this.#fail(new ClientHandshakeError(Code.H2_STREAM_RESET, 'RFC 9113 §6.8', `the HTTP/2 session to ${this.plan.url} could not open a stream: ${(error as Error).message}`));
      return;
    }
    this.#stream = stream;
    // RFC 9113 §6.8: a GOAWAY names the last stream the server "might have
    // taken some action on"; a CONNECT above it was not processed and may go
    // on another connection (node:http2 leaves such a stream hanging).
    const session = pooled.session;
    const onGoaway = (_code: number, lastStreamID: number): void => {
      if (stream.id !== undefined && stream.id > lastStreamID && !this.#retry()) {
        this.#fail(new ClientHandshakeError(Code.H2_STREAM_RESET, 'RFC 9113 §6.8', `the server sent GOAWAY before processing the extended CONNECT to ${this.plan.url}`));
      }
    };
    session.on('goaway', onGoaway);
    this.#forgetSession = () => session.off('goaway', onGoaway);
    stream.on('response', (headers: IncomingHttpHeaders) => this.#onResponse(pooled, headers as ExtendedConnectResponseFields));
    stream.on('error', this.#onStreamGone);
    stream.on('close', this.#onStreamGone);
  }

  #onResponse(pooled: PooledSession, headers: ExtendedConnectResponseFields): void {
    if (this.#settled) return;
    const head = responseHeadOf(headers);
    if (!isExtendedConnectSuccess(head.status)) {
      // Read the start of the body: servers explain a 403 there.
      this.#refusal = { head, body: [], bytes: 0 };
      this.#stream!.on('data', this.#onRefusalData);
      this.#stream!.on('end', this.#refused);
      return;
    }
    let accepted;
    try {
      accepted = judgeExtendedConnectResponse(head, { protocols: this.plan.protocols, extensions: this.plan.extensions, deflate: this.plan.deflate });
    } catch (error) {
      if (error instanceof ClientHandshakeError || error instanceof LocalError) {
        this.#fail(error);
        return;
      }
      throw error;
    }
    this.#open(pooled, accepted);
  }

  #onRefusalData = (chunk: Buffer): void => {
    const r = this.#refusal!;
    if (r.bytes < MAX_REFUSAL_BODY) {
      const piece = chunk.subarray(0, MAX_REFUSAL_BODY - r.bytes);
      r.body.push(Buffer.from(piece));
      r.bytes += piece.length;
    }
    if (r.bytes >= MAX_REFUSAL_BODY) this.#refused();
  };

  #refused = (): void => {
    const r = this.#refusal;
    if (r === undefined) return;
    this.#refusal = undefined;
    this.#fail(refusalOf(r.head, Buffer.concat(r.body)));
  };

  /** The stream closed or failed before the WebSocket was open. */
  #onStreamGone = (): void => {
    if (this.#settled) return;
    if (this.#refusal !== undefined) {
      this.#refused();
      return;
    }
    const stream = this.#stream!;
    const code = stream.rstCode;
    if (code === Http2ErrorCode.REFUSED_STREAM && this.#retry()) return;
    const why = code === undefined ? 'closed' : `reset (RST_STREAM ${rstCodeName(code)})`;
    this.#fail(new ClientHandshakeError(Code.H2_STREAM_RESET, 'RFC 9113 §6.4', `the server ${why} the extended CONNECT stream to ${this.plan.url} before a response`));
  };

  /**
   * Once per connect(): a CONNECT the server did not process (RST_STREAM
   * REFUSED_STREAM, which node:http2 also reports for streams above a
   * GOAWAY's last stream ID), or a session that was closing, is tried again
   * on the origin's session, a new one if that one is going away. RFC 9113
   * §8.7: such a request "has not been processed" and "can be retried".
   */
  #retry(): boolean {
    if (this.#retried || this.#settled) return false;
    this.#retried = true;
    const stream = this.#stream;
    if (stream !== undefined) {
      stream.removeAllListeners('response');
      stream.off('error', this.#onStreamGone);
      stream.off('close', this.#onStreamGone);
      stream.on('error', () => {});
      if (!stream.closed) stream.close(Http2ErrorCode.CANCEL);
      this.#stream = undefined;
    }
    this.#forgetSession?.();
    this.#release?.();
    this.#release = undefined;
    this.#openSession();
    return true;
  }

  #onTimeout = (): void => {
    this.#fail(new ClientHandshakeError(Code.CONNECT_TIMEOUT, 'RFC 8441 §5', `no response to the extended CONNECT from ${this.plan.url} within ${this.plan.connectTimeout} ms (HTTP/2)`));
  };

  #stop(): void {
    clearTimeout(this.#timer);
    this.#forgetSession?.();
    const stream = this.#stream;
    if (stream !== undefined) {
      stream.removeAllListeners('response');
      stream.off('error', this.#onStreamGone);
      stream.off('close', this.#onStreamGone);
      stream.off('data', this.#onRefusalData);
      stream.off('end', this.#refused);
    }
  }

  #fail = (error: unknown): void => {
    if (this.#settled) return;
    this.#settled = true;
    this.#stop();
    const stream = this.#stream;
    if (stream !== undefined) {
      // Failing before the WebSocket exists: reset the stream (CANCEL), never the shared connection.
      stream.on('error', () => {});
      if (!stream.closed) stream.close(Http2ErrorCode.CANCEL);
    }
    this.#release?.();
    this.reject(error);
  };

  #open(pooled: PooledSession, accepted: ReturnType<typeof judgeExtendedConnectResponse>): void {
    this.#settled = true;
    this.#stop();
    const { plan } = this;
    const stream = this.#stream!;
    const release = this.#release!;
    // Frames read from now on belong to the connection, which starts reading
    // once the application had a chance to attach its listeners.
    stream.pause();
    const connection = openClientConnection(stream, pooled.session.socket, plan, accepted, '2');
    const untrack = pooled.track(connection);
    stream.once('close', () => {
      untrack();
      release();
    });
    this.resolve(connection);
    // As for HTTP/1.1: listeners attached right after `await connect()` see the first messages.
    setImmediate(() => connection.start(EMPTY));
  }
}

/** RFC 9113 §7: the error codes of RST_STREAM and GOAWAY, by value. */
const HTTP2_ERROR_CODES = [
  'NO_ERROR', 'PROTOCOL_ERROR', 'INTERNAL_ERROR', 'FLOW_CONTROL_ERROR', 'SETTINGS_TIMEOUT', 'STREAM_CLOSED', 'FRAME_SIZE_ERROR',
  'REFUSED_STREAM', 'CANCEL', 'COMPRESSION_ERROR', 'CONNECT_ERROR', 'ENHANCE_YOUR_CALM', 'INADEQUATE_SECURITY', 'HTTP_1_1_REQUIRED',
];

/** An HTTP/2 error code by name, for messages. */
function rstCodeName(code: number): string {
  return `${HTTP2_ERROR_CODES[code] ?? 'unknown'} (${code})`;
}
