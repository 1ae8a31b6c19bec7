/**
 * The client's side of the opening handshake over HTTP/1.1 (RFC 6455 §4.1),
 * as a sans-I/O machine: the request bytes out, the server's answer in, a
 * verdict out. No socket, no timer: the adapter (src/client/connect.ts)
 * writes `request`, feeds what it reads to `receive()`, reports the end of
 * the stream with `eof()` and its deadline with `timeout()`.
 *
 *     const hs = new ClientHandshake({ resource: '/chat', host: 'example.com', protocols: ['chat'] });
 *     socket.write(hs.request);
 *     const step = hs.receive(bytes); // need-more | reject (ClientHandshakeError) | accept
 *
 *     awaiting-response ──receive(101 valid)─────▶ accepted
 *          │ └─receive(other status)─▶ reading-refusal ──receive() (body read)/eof()/timeout()─▶ rejected
 *          └──receive(invalid)/eof()/timeout()────────────────────────────────────────────────▶ rejected
 *
 * A 101 is judged by upgrade-response.ts (the HTTP/1.1 answer) and
 * client-negotiation.ts (what the server selected), and an accepted
 * permessage-deflate by src/extensions/permessage-deflate-negotiation.ts (RFC 7692 §7).
 * Any other status fails the handshake, quoting the start of its body
 * (servers usually explain a 400 or 403 there): up to `Content-Length`, or to
 * the end of the stream without one, at most MAX_REFUSAL_BODY bytes.
 *
 * §4.1: "the client MUST wait for a response from the server before sending
 * any further data": the machine gives no bytes to send but `request`.
 */
import { HandshakeError, LocalError } from '../errors.js';
import { parseExtensionHeader } from '../extensions/extension-header.js';
import type { NeedMore } from './server-handshake.js';
import { PERMESSAGE_DEFLATE, type PerMessageDeflate } from '../extensions/permessage-deflate.js';
import { acceptDeflateResponse, deflateCodec, type PerMessageDeflateOptions } from '../extensions/permessage-deflate-negotiation.js';
import { buildUpgradeRequest, type UpgradeRequestSpec } from '../client/upgrade-request-builder.js';
import { generateClientKey } from './accept-key.js';
import { ClientHandshakeError } from './client-handshake-error.js';
import { HandshakeErrorCode as Code } from './error-codes.js';
import { HttpHeadParser, type HttpHeadLimits, type HttpResponseHead } from './http-head-parser.js';
import { unexpectedStatus, validateUpgradeResponse } from './upgrade-response.js';

/** At most this much of a refusal's body is read, to show in the error. */
export const MAX_REFUSAL_BODY = 4096;

/** Where a ClientHandshake stands (see the diagram above). */
export type ClientHandshakeState = 'awaiting-response' | 'reading-refusal' | 'accepted' | 'rejected';

/** What the client asks for (the request's fields, a fresh key unless one is injected), the deflate settings offered, and the limits on the answer. */
export interface ClientHandshakeOptions extends Omit<UpgradeRequestSpec, 'key'> {
  /** Sec-WebSocket-Key; default a fresh one from the CSPRNG (§4.1 item 7). Inject one only in tests. */
  key?: string;
  /** permessage-deflate was offered (its element is in `extensions`) with these settings: the codec if the server accepts. */
  deflate?: PerMessageDeflateOptions;
  /** Limits on the response head. Default DEFAULT_HTTP_HEAD_LIMITS. */
  limits?: Partial<HttpHeadLimits>;
  /** Who we are talking to, for error messages (the URL). Default: the Host. */
  peer?: string;
}

/** More bytes are needed. */

/** The handshake failed: close TCP (§4.1: _Fail the WebSocket Connection_ before it exists). */
export interface ClientHandshakeRejected {
  kind: 'reject';
  /** The server broke a rule, refused, redirected or went silent (ClientHandshakeError); or the agreed codec cannot be built from our settings (LocalError). */
  error: ClientHandshakeError | LocalError;
}

/** The server switched to WebSocket: the connection is open. */
export interface ClientHandshakeAccepted {
  kind: 'accept';
  /** The server's 101: status, reason, headers. */
  response: HttpResponseHead;
  /** The subprotocol selected, `''` for none. */
  protocol: string;
  /** The Sec-WebSocket-Extensions answer, `''` for none. */
  extensions: string;
  /** The permessage-deflate codec, `null` if not agreed. */
  extension: PerMessageDeflate | null;
  /** Bytes after the head: the server's first frames (a view into the last chunk). */
  rest: Buffer;
}

/** The client's opening handshake over HTTP/1.1 as a sans-I/O machine (see the diagram above). */
export class ClientHandshake {
  /** The opening handshake to send (§4.1), once, before anything else. */
  readonly request: Buffer;
  /** The Sec-WebSocket-Key in `request`. */
  readonly key: string;
  #state: ClientHandshakeState = 'awaiting-response';
  readonly #parser: HttpHeadParser<'response'>;
  readonly #protocols: readonly string[];
  readonly #extensions: string | undefined;
  readonly #deflate: PerMessageDeflateOptions | undefined;
  readonly #peer: string;
  /** A non-101 answer whose body is being read. */
  #refusal: { head: HttpResponseHead; body: Buffer[]; bytes: number; wanted: number } | undefined;

  /** Throws LocalError if the request cannot be built (a header or subprotocol that is not allowed). */
  constructor(options: ClientHandshakeOptions) {
    this.key = options.key ?? generateClientKey();
    this.request = buildUpgradeRequest({ ...options, key: this.key });
    this.#parser = new HttpHeadParser('response', options.limits);
    this.#protocols = options.protocols ?? [];
    this.#extensions = options.extensions;
    this.#deflate = options.deflate;
    this.#peer = options.peer ?? options.host;
  }

  get state(): ClientHandshakeState {
    return this.#state;
  }

  /** Feed bytes read from the server. */
  receive(chunk: Buffer): NeedMore | ClientHandshakeRejected | ClientHandshakeAccepted {
    if (this.#state === 'reading-refusal') return this.#readRefusalBody(chunk);
    if (this.#state !== 'awaiting-response') {
      throw new LocalError(Code.WRONG_STATE, `ClientHandshake.receive() called in state ${this.#state}`);
    }
    let parsed;
    try {
      parsed = this.#parser.feed(chunk);
    } catch (error) {
      // A malformed head: keep the parser's code, drop its HTTP status (we answer nothing).
      if (error instanceof HandshakeError) {
        return this.#reject(new ClientHandshakeError(error.code, '4.1', `the server's response is not valid HTTP: ${error.message}`));
      }
      throw error;
    }
    if (parsed === undefined) return { kind: 'need-more' };
    const { head, rest } = parsed;
    if (head.status !== 101) return this.#startRefusal(head, rest);
    return this.#judge(head, rest);
  }

  /** The server closed the connection (or it was lost). */
  eof(): ClientHandshakeRejected {
    if (this.#state === 'reading-refusal') return this.#refused();
    this.#expectUndecided('eof()');
    return this.#reject(new ClientHandshakeError(Code.NO_RESPONSE, '4.1', `${this.#peer} closed the connection before a complete handshake response`));
  }

  /** The adapter's deadline for the whole answer passed after `ms` milliseconds. */
  timeout(ms: number): ClientHandshakeRejected {
    if (this.#state === 'reading-refusal') return this.#refused();
    this.#expectUndecided('timeout()');
    return this.#reject(new ClientHandshakeError(Code.CONNECT_TIMEOUT, '4.1', `no complete handshake response from ${this.#peer} within ${ms} ms`));
  }

  /** A 101: judge it against our offers (§4.1), then build the agreed codec. */
  #judge(head: HttpResponseHead, rest: Buffer): ClientHandshakeRejected | ClientHandshakeAccepted {
    let extension: PerMessageDeflate | null = null;
    let accepted;
    try {
      accepted = validateUpgradeResponse(head, { key: this.key, protocols: this.#protocols, extensions: this.#extensions });
      if (this.#deflate !== undefined && accepted.extensionNames.includes(PERMESSAGE_DEFLATE)) {
        const agreement = acceptDeflateResponse(parseExtensionHeader(accepted.extensions), this.#deflate, head);
        extension = deflateCodec('client', agreement, this.#deflate);
      }
    } catch (error) {
      if (error instanceof ClientHandshakeError || error instanceof LocalError) return this.#reject(error);
      throw error;
    }
    this.#state = 'accepted';
    return { kind: 'accept', response: head, protocol: accepted.protocol, extensions: accepted.extensions, extension, rest };
  }

  /** A non-101 answer: read (a bounded part of) its body, to quote it in the error. */
  #startRefusal(head: HttpResponseHead, rest: Buffer): NeedMore | ClientHandshakeRejected {
    const length = head.headers.get('content-length');
    const declared = length === undefined ? undefined : parseDecimal(length);
    // 3xx and 1xx need no body to explain themselves; a chunked body is not decoded here.
    const readBody = head.status >= 200 && !(head.status >= 300 && head.status < 400) && !head.headers.has('transfer-encoding');
    const wanted = !readBody ? 0 : Math.min(declared ?? MAX_REFUSAL_BODY, MAX_REFUSAL_BODY);
    this.#state = 'reading-refusal';
    this.#refusal = { head, body: [], bytes: 0, wanted };
    return this.#readRefusalBody(rest);
  }

  #readRefusalBody(chunk: Buffer): NeedMore | ClientHandshakeRejected {
    const r = this.#refusal!;
    if (r.bytes < r.wanted && chunk.length > 0) {
      const piece = chunk.subarray(0, r.wanted - r.bytes);
      r.body.push(Buffer.from(piece));
      r.bytes += piece.length;
    }
    return r.bytes >= r.wanted ? this.#refused() : { kind: 'need-more' };
  }

  /** The refusal, with as much of its body as arrived. */
  #refused(): ClientHandshakeRejected {
    const { head, body } = this.#refusal!;
    this.#refusal = undefined;
    return this.#reject(unexpectedStatus(head, Buffer.concat(body)));
  }

  #reject(error: ClientHandshakeError | LocalError): ClientHandshakeRejected {
    this.#state = 'rejected';
    return { kind: 'reject', error };
  }

  #expectUndecided(call: string): void {
    if (this.#state !== 'awaiting-response') throw new LocalError(Code.WRONG_STATE, `ClientHandshake.${call} called in state ${this.#state}`);
  }
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
