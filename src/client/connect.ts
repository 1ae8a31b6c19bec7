/**
 * `connect(url, options)`: the client's thin I/O shell around the sans-I/O
 * ClientHandshake (src/handshake/client-handshake.ts). It opens TCP (or TLS
 * for wss://), writes the machine's request (§4.1), feeds it what the server
 * answers, its end and the deadline, and on its verdict either fails (closes
 * TCP) or hands the socket to a ClientConnection, together with any frames
 * that arrived right behind the 101 in the same read.
 *
 * §4.1: "the client MUST wait for a response from the server before sending
 * any further data": nothing but the handshake is written until the 101 is
 * validated, which holds by construction, as the connection object does not
 * exist before.
 *
 * With `http2: true` or `'auto'` (wss), the WebSocket goes over HTTP/2
 * instead (RFC 8441): src/client/http2-connect.ts, on the origin's shared
 * session (src/client/http2-sessions.ts); `'auto'` comes back here when the
 * server takes no WebSocket over HTTP/2.
 */
import { connect as netConnect, isIP, type Socket } from 'node:net';
import { connect as tlsConnect, type ConnectionOptions as TlsConnectionOptions, type TLSSocket } from 'node:tls';
import { LocalError } from '../errors.js';
import { ClientHandshake, type ClientHandshakeAccepted } from '../handshake/client-handshake.js';
import { buildExtendedConnectRequest } from '../handshake/client-extended-connect.js';
import { HandshakeErrorCode as Code } from '../handshake/error-codes.js';
import type { ConnectionOptions } from '../connection/websocket-connection.js';
import { PERMESSAGE_DEFLATE } from '../extensions/permessage-deflate.js';
import { openClientConnection, type ClientConnection } from './client-connection.js';
import { Http2Handshake, type Http2Plan } from './http2-connect.js';
import { deflateOffer } from '../extensions/permessage-deflate-negotiation.js';
import { connectionOptionsOf, resolveClientOptions } from '../options/option-tables.js';
import type { ClientOptions } from './options.js';
import { checkExtensionOffer } from './upgrade-request-builder.js';
import { parseWebSocketUrl } from './url.js';

/**
 * Open a WebSocket connection to a ws:// or wss:// URL. Resolves once the
 * server's 101 (over HTTP/2, `http2` option: its 2xx to the extended
 * CONNECT) has been validated; rejects with `ClientHandshakeError` (the
 * server broke a rule of §4.1, refused, redirected, or was too slow), a
 * `LocalError` (invalid URL or options), or the socket's own error
 * (`ECONNREFUSED`, a TLS certificate error...).
 *
 * Messages the server sends right away are delivered to listeners attached
 * as soon as the promise resolves (in the same tick as the `await`), or
 * queued for `for await`.
 */
export function connect(url: string | URL, options: ClientOptions = {}): Promise<ClientConnection> {
  return new Promise((resolve, reject) => {
    let plan: Plan;
    try {
      plan = planConnection(url, options);
    } catch (error) {
      reject(error);
      return;
    }
    const { http2 } = plan;
    // ws:// with 'auto' stays on HTTP/1.1: without TLS there is no ALPN to
    // ask the server, and HTTP/2 bytes (prior knowledge) on a port that
    // speaks only HTTP/1.1 would fail the connection rather than fall back.
    if (http2 === undefined) new ClientHandshakeSocket(plan, resolve, reject);
    else new Http2Handshake(http2, resolve, reject, (socket, msLeft) => new ClientHandshakeSocket(plan, resolve, reject, socket, msLeft));
  });
}

/** Everything decided before any I/O: where to, the handshake (its request bytes, our offers), the settings. */
interface Plan {
  url: string;
  target: ReturnType<typeof parseWebSocketUrl>;
  handshake: ClientHandshake;
  origin: string | undefined;
  connectTimeout: number;
  connection: ConnectionOptions;
  options: ClientOptions;
  /** The attempt over HTTP/2 (RFC 8441), when `http2` asks for one; else `undefined`. */
  http2: Http2Plan | undefined;
}

function planConnection(url: string | URL, options: ClientOptions): Plan {
  // Every option checked, and its default filled in, before any socket opens (LocalError WS_ERR_INVALID_OPTION).
  const settings = resolveClientOptions(options);
  const target = parseWebSocketUrl(url);
  const protocols = options.protocols === undefined ? [] : typeof options.protocols === 'string' ? [options.protocols] : [...options.protocols];
  // The core implements one extension: permessage-deflate comes through its
  // own option so that the codec matches what was offered.
  if (options.extensions !== undefined && checkExtensionOffer(options.extensions).includes(PERMESSAGE_DEFLATE)) {
    throw new LocalError(Code.INVALID_CLIENT_OPTION, 'offer permessage-deflate with the perMessageDeflate option, not in extensions');
  }
  const deflate = settings.perMessageDeflate === false ? undefined : settings.perMessageDeflate;
  const offers = [deflate === undefined ? undefined : deflateOffer(deflate), options.extensions].filter((offer) => offer !== undefined);
  const extensions = offers.length === 0 ? undefined : offers.join(', ');
  const handshake = new ClientHandshake({
    resource: target.resource,
    host: target.hostHeader,
    origin: options.origin,
    protocols,
    extensions,
    headers: options.headers,
    deflate,
    limits: options.httpLimits,
    peer: target.href,
  });
  const connection: ConnectionOptions = { ...connectionOptionsOf('client', settings), maskKeySource: settings.maskKeySource };
  const mode = settings.http2;
  const http2: Http2Plan | undefined =
    mode === true || (mode === 'auto' && target.secure)
      ? {
          url: target.href,
          target,
          mode,
          // Built now, so that a header HTTP/2 cannot carry fails connect() before any I/O.
          request: buildExtendedConnectRequest({
            secure: target.secure,
            resource: target.resource,
            authority: target.hostHeader,
            origin: options.origin,
            protocols,
            extensions,
            headers: options.headers,
          }),
          protocols,
          extensions,
          deflate,
          origin: options.origin,
          tls: options.tls,
          connectTimeout: settings.connectTimeout,
          connection,
        }
      : undefined;
  return {
    url: target.href,
    target,
    handshake,
    origin: options.origin,
    connectTimeout: settings.connectTimeout,
    connection,
    options,
    http2,
  };
}

function openSocket(plan: Plan): Socket {
  const { host, port, secure } = plan.target;
  // allowHalfOpen: the connection decides when to close our side (§7.1.1:
  // the client waits for the server's FIN, then answers it).
  const socket = secure
    ? tlsConnect({
        // §4.1: "Clients MUST use the Server Name Indication extension in the
        // TLS handshake". tls.connect() sends SNI only when given `servername`
        // (it does not default it to `host`); RFC 6066 §3 forbids an IP
        // literal there. The certificate is checked against the URL's host.
        ALPNProtocols: ['http/1.1'],
        ...(isIP(host) === 0 ? { servername: host } : {}),
        ...plan.options.tls,
        host,
        port,
        // Honoured by tls.connect (it builds its TLSSocket with it), though
        // missing from @types/node's ConnectionOptions.
        allowHalfOpen: true,
      } as TlsConnectionOptions)
    : netConnect({ host, port, allowHalfOpen: true });
  socket.setNoDelay(true);
  return socket;
}

/**
 * One connection attempt: the socket, its deadline, and the machine they
 * feed. Settles `connect()`'s promise once, on the machine's verdict or a
 * socket error; its listeners go with it, so nothing arrives after.
 */
class ClientHandshakeSocket {
  readonly #socket: Socket;
  readonly #timer: NodeJS.Timeout;

  /**
   * `socket`: a TLS connection already open on which ALPN chose http/1.1
   * (`http2: 'auto'`), else a new one is opened; `msLeft`: what remains of
   * connectTimeout after an attempt over HTTP/2.
   */
  constructor(
    private readonly plan: Plan,
    private readonly resolve: (connection: ClientConnection) => void,
    private readonly reject: (error: unknown) => void,
    socket?: TLSSocket,
    msLeft = plan.connectTimeout,
  ) {
    this.#socket = socket ?? openSocket(plan);
    this.#timer = setTimeout(this.#onTimeout, msLeft);
    this.#socket.on('data', this.#onData);
    this.#socket.on('end', this.#onEnd);
    this.#socket.on('close', this.#onEnd);
    this.#socket.on('error', this.#fail);
    this.#socket.write(plan.handshake.request);
  }

  #onData = (chunk: Buffer): void => {
    const step = this.plan.handshake.receive(chunk);
    if (step.kind === 'reject') this.#fail(step.error);
    else if (step.kind === 'accept') this.#open(step);
  };

  #onEnd = (): void => this.#fail(this.plan.handshake.eof().error);

  #onTimeout = (): void => this.#fail(this.plan.handshake.timeout(this.plan.connectTimeout).error);

  #stop(): void {
    clearTimeout(this.#timer);
    this.#socket.off('data', this.#onData);
    this.#socket.off('end', this.#onEnd);
    this.#socket.off('close', this.#onEnd);
    this.#socket.off('error', this.#fail);
  }

  #fail = (error: unknown): void => {
    this.#stop();
    // §4.1 "_Fail the WebSocket Connection_" before it was established: there
    // is nobody to send a close frame to; just drop TCP.
    this.#socket.on('error', () => {});
    this.#socket.destroy();
    this.reject(error);
  };

  #open(accepted: ClientHandshakeAccepted): void {
    this.#stop();
    const { plan } = this;
    const socket = this.#socket;
    // Frames read from now on belong to the connection, which starts reading
    // once the application had a chance to attach its listeners.
    socket.pause();
    const connection = openClientConnection(socket, socket, plan, accepted);
    this.resolve(connection);
    // `await connect()` resumes in a microtask; setImmediate runs after it, so
    // listeners attached right after the await see the first messages.
    setImmediate(() => connection.start(accepted.rest));
  }
}
