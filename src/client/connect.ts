/**
 * `connect(url, options)`: the client's thin I/O shell. It opens TCP (or
 * TLS for wss://), writes the opening handshake (§4.1), reads the server's
 * answer with the same incremental HTTP parser the server uses for requests,
 * validates it (src/handshake/upgrade-response.ts), and hands the socket to a
 * ClientConnection, together with any frames that arrived right behind the
 * 101 in the same read.
 *
 * §4.1: "the client MUST wait for a response from the server before sending
 * any further data": nothing but the handshake is written until the 101 is
 * validated, which holds by construction, as the connection object does not
 * exist before.
 */
import { connect as netConnect, type Socket } from 'node:net';
import { connect as tlsConnect, type ConnectionOptions as TlsConnectionOptions } from 'node:tls';
import { HandshakeError, LocalError } from '../errors.js';
import { generateClientKey } from '../handshake/accept-key.js';
import { HandshakeErrorCode as Code } from '../handshake/error-codes.js';
import { HttpHeadParser, type HttpResponseHead } from '../handshake/http-head-parser.js';
import { ClientHandshakeError, unexpectedStatus, validateUpgradeResponse } from '../handshake/upgrade-response.js';
import type { ConnectionOptions } from '../connection/websocket-connection.js';
import { parseExtensionHeader } from '../extensions/extension-header.js';
import { PERMESSAGE_DEFLATE } from '../extensions/permessage-deflate.js';
import { ClientConnection } from './client-connection.js';
import { acceptDeflateResponse, deflateCodec, deflateOffer, type DeflateSettings } from '../extensions/permessage-deflate-negotiation.js';
import { resolveClientOptions } from '../options/option-tables.js';
import type { ClientOptions } from './options.js';
import { buildUpgradeRequest, checkExtensionOffer } from './upgrade-request-builder.js';
import { parseWebSocketUrl } from './url.js';

/** At most this much of a refusal's body is read, to show in the error. */
const MAX_REFUSAL_BODY = 4096;

/**
 * Open a WebSocket connection to a ws:// or wss:// URL. Resolves once the
 * server's 101 has been validated; rejects with `ClientHandshakeError` (the
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
    openAndHandshake(plan, resolve, reject);
  });
}

/** Everything decided before any I/O: where to, the request bytes, the settings. */
interface Plan {
  url: string;
  target: ReturnType<typeof parseWebSocketUrl>;
  key: string;
  request: Buffer;
  protocols: readonly string[];
  /** The whole Sec-WebSocket-Extensions offer sent, if any. */
  extensions: string | undefined;
  /** permessage-deflate was offered with these settings. */
  deflate: DeflateSettings | undefined;
  origin: string | undefined;
  connectTimeout: number;
  connection: ConnectionOptions;
  options: ClientOptions;
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
  const key = generateClientKey();
  const request = buildUpgradeRequest({
    resource: target.resource,
    host: target.hostHeader,
    key,
    origin: options.origin,
    protocols,
    extensions,
    headers: options.headers,
  });
  return {
    url: target.href,
    target,
    key,
    request,
    protocols,
    extensions,
    deflate,
    origin: options.origin,
    connectTimeout: settings.connectTimeout,
    connection: {
      role: 'client',
      maskKeySource: settings.maskKeySource,
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
    },
    options,
  };
}

function openSocket(plan: Plan): Socket {
  const { host, port, secure } = plan.target;
  // allowHalfOpen: the connection decides when to close our side (§7.1.1:
  // the client waits for the server's FIN, then answers it).
  const socket = secure
    ? tlsConnect({
        // SNI and the certificate check use the URL's host unless `servername`
        // says otherwise; Node sends no SNI for an IP literal (RFC 6066 §3).
        ALPNProtocols: ['http/1.1'],
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

function openAndHandshake(plan: Plan, resolve: (connection: ClientConnection) => void, reject: (error: unknown) => void): void {
  const socket = openSocket(plan);
  const parser = new HttpHeadParser('response', plan.options.httpLimits);
  let settled = false;
  /** A refusal whose body is being read, to quote it in the error. */
  let refusal: { head: HttpResponseHead; body: Buffer[]; bytes: number; wanted: number } | undefined;

  const timer = setTimeout(() => {
    if (refusal !== undefined) fail(unexpectedStatus(refusal.head, Buffer.concat(refusal.body)));
    else fail(new ClientHandshakeError(Code.CONNECT_TIMEOUT, '4.1', `no complete handshake response from ${plan.url} within ${plan.connectTimeout} ms`));
  }, plan.connectTimeout);

  const cleanUp = (): void => {
    settled = true;
    clearTimeout(timer);
    socket.off('data', onData);
    socket.off('end', onEnd);
    socket.off('close', onEnd);
    socket.off('error', onError);
  };

  const fail = (error: unknown): void => {
    if (settled) return;
    cleanUp();
    // §4.1 "_Fail the WebSocket Connection_" before it was established: there
    // is nobody to send a close frame to; just drop TCP.
    socket.on('error', () => {});
    socket.destroy();
    reject(error);
  };

  const onError = (error: Error): void => fail(error);

  const onEnd = (): void => {
    if (refusal !== undefined) fail(unexpectedStatus(refusal.head, Buffer.concat(refusal.body)));
    else fail(new ClientHandshakeError(Code.NO_RESPONSE, '4.1', `${plan.url} closed the connection before a complete handshake response`));
  };

  const onData = (chunk: Buffer): void => {
    if (refusal !== undefined) {
      collectRefusalBody(chunk);
      return;
    }
    let parsed;
    try {
      parsed = parser.feed(chunk);
    } catch (error) {
      // A malformed head: keep the parser's code, drop its HTTP status (we answer nothing).
      if (error instanceof HandshakeError) fail(new ClientHandshakeError(error.code, '4.1', `the server's response is not valid HTTP: ${error.message}`));
      else fail(error);
      return;
    }
    if (parsed === undefined) return;
    const { head, rest } = parsed;
    if (head.status !== 101) {
      startRefusal(head, rest);
      return;
    }
    let accepted;
    let connectionOptions = plan.connection;
    try {
      accepted = validateUpgradeResponse(head, { key: plan.key, protocols: plan.protocols, extensions: plan.extensions });
      if (plan.deflate !== undefined && accepted.extensionNames.includes(PERMESSAGE_DEFLATE)) {
        const agreement = acceptDeflateResponse(parseExtensionHeader(accepted.extensions), plan.deflate, head);
        connectionOptions = { ...connectionOptions, extension: deflateCodec('client', agreement, plan.deflate) };
      }
    } catch (error) {
      fail(error);
      return;
    }
    cleanUp();
    // Frames read from now on belong to the connection, which starts reading
    // once the application had a chance to attach its listeners.
    socket.pause();
    const connection = new ClientConnection(
      socket,
      {
        path: plan.target.path,
        query: plan.target.query,
        headers: head.headers,
        origin: plan.origin,
        protocol: accepted.protocol,
        extensions: accepted.extensions,
        remoteAddress: socket.remoteAddress,
        remotePort: socket.remotePort,
      },
      connectionOptions,
      { url: plan.url, response: head },
    );
    resolve(connection);
    // `await connect()` resumes in a microtask; setImmediate runs after it, so
    // listeners attached right after the await see the first messages.
    setImmediate(() => connection.start(rest));
  };

  /** Read (a bounded part of) the body of a non-101 answer, then fail with it. */
  const startRefusal = (head: HttpResponseHead, rest: Buffer): void => {
    const length = head.headers.get('content-length');
    const declared = length === undefined ? undefined : parseDecimal(length);
    // 3xx and 1xx need no body to explain themselves; a chunked body is not decoded here.
    const readBody = head.status >= 200 && !(head.status >= 300 && head.status < 400) && !head.headers.has('transfer-encoding');
    const wanted = !readBody ? 0 : Math.min(declared ?? MAX_REFUSAL_BODY, MAX_REFUSAL_BODY);
    refusal = { head, body: [], bytes: 0, wanted };
    collectRefusalBody(rest);
  };

  const collectRefusalBody = (chunk: Buffer): void => {
    const r = refusal!;
    if (r.bytes < r.wanted && chunk.length > 0) {
      const piece = chunk.subarray(0, r.wanted - r.bytes);
      r.body.push(Buffer.from(piece));
      r.bytes += piece.length;
    }
    if (r.bytes >= r.wanted) fail(unexpectedStatus(r.head, Buffer.concat(r.body)));
  };

  socket.on('data', onData);
  socket.on('end', onEnd);
  socket.on('close', onEnd);
  socket.on('error', onError);
  socket.write(plan.request);
}

/** A Content-Length value (RFC 9110 §8.6: 1*DIGIT), or undefined if it is not one. */
function parseDecimal(text: string): number | undefined {
  if (text.length === 0 || text.length > 15) return undefined;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x30 || c > 0x39) return undefined;
  }
  return Number(text);
}
