/**
 * What a server agrees to for a valid opening handshake, whatever carried
 * it: the origin check, the `authorize` hook, the subprotocol and the
 * extensions (RFC 6455 §4.2.2 item 4 and items 5.5–5.6, §9.1; RFC 7692).
 *
 * Nothing here knows HTTP/1.1: the input is the request's fields (origin,
 * offered subprotocols, the raw extension offer, the rest for the hooks), the
 * output is the decisions, or a `HandshakeError` whose status is the refusal.
 * The HTTP/1.1 machine (server-handshake.ts) turns the decisions into a 101;
 * an HTTP/2 adapter (RFC 8441, where the request is an extended CONNECT on a
 * stream and the answer a 200) can call the same function and frame them its
 * own way.
 *
 * The hooks are the application's and may be async: `negotiate()` awaits
 * them, in this order, so a request that fails several gets the first
 * refusal: origin (403), authorize (its own status), subprotocol, extensions.
 * The steps that need no hook are exported on their own and are pure.
 */
import { HandshakeError, LocalError } from '../errors.js';
import { parseExtensionHeader } from '../extensions/extension-header.js';
import type { PerMessageDeflate } from '../extensions/permessage-deflate.js';
import { deflateCodec, negotiateDeflate } from '../extensions/permessage-deflate-negotiation.js';
import type { PerMessageDeflateOptions } from '../extensions/permessage-deflate-negotiation.js';
import type { HandshakeRequest, UpgradeVerdict } from '../server/options.js';
import { HandshakeErrorCode as Code } from './error-codes.js';

/** The server options that decide a handshake: the hooks and the extension policy (the same fields as ServerOptions). */
export interface NegotiationPolicy<Data> {
  checkOrigin?: (origin: string | undefined, request: HandshakeRequest) => boolean | Promise<boolean>;
  selectProtocol?: (offered: string[], request: HandshakeRequest) => string | undefined;
  authorize?: (request: HandshakeRequest) => UpgradeVerdict<Data> | Promise<UpgradeVerdict<Data>>;
  perMessageDeflate?: boolean | PerMessageDeflateOptions;
}

/** What the server agreed to. */
export interface NegotiatedUpgrade<Data> {
  /** The subprotocol selected (§4.2.2 item 5.5), `''` for none. */
  protocol: string;
  /** The extensions accepted, as the Sec-WebSocket-Extensions answer (§4.2.2 item 5.6); `undefined` for none. */
  extensions: string | undefined;
  /** The codec of the accepted extension (permessage-deflate), `null` for none. */
  extension: PerMessageDeflate | null;
  /** Extra response headers from `authorize` (Set-Cookie...). */
  headers: Record<string, string> | undefined;
  /** What `authorize` attached to the connection; `undefined` if it attached nothing. */
  data: Data | undefined;
}

/**
 * Run the policy on a valid request. Throws `HandshakeError` for a refusal
 * (the peer's fault or the application's choice), `LocalError` when a hook
 * broke its contract, and whatever a hook threw.
 */
export async function negotiate<Data>(request: HandshakeRequest, policy: NegotiationPolicy<Data>): Promise<NegotiatedUpgrade<Data>> {
  const { checkOrigin, authorize, selectProtocol } = policy;
  // §4.2.2 item 4 / §10.2: the server may refuse an Origin it does not trust, with 403.
  if (checkOrigin && !(await checkOrigin(request.origin, request))) {
    throw new HandshakeError(Code.ORIGIN, 403, `origin ${request.origin ?? '(none)'} is not allowed`);
  }
  let data: Data | undefined;
  let headers: Record<string, string> | undefined;
  if (authorize) {
    const verdict = await authorize(request);
    if (verdict && 'reject' in verdict) {
      const { status, reason, headers: rejectHeaders } = verdict.reject;
      checkRefusalStatus(status);
      throw new HandshakeError(Code.REJECTED, status, reason ?? 'upgrade rejected', rejectHeaders);
    }
    if (verdict) {
      data = verdict.data;
      headers = verdict.headers;
    }
  }
  const protocol =
    selectProtocol && request.protocols.length > 0 ? checkSelectedProtocol(request.protocols, selectProtocol(request.protocols, request)) : '';
  const { extensions, extension } = negotiateExtensions(request.extensions, policy.perMessageDeflate);
  return { protocol, extensions, extension, headers, data };
}

/**
 * The subprotocol the application chose, checked against the offers: `''`
 * for none. §4.2.2 item 5.5: the server selects "one or none of the
 * acceptable protocols" the client listed.
 */
export function checkSelectedProtocol(offered: readonly string[], chosen: string | undefined): string {
  if (chosen === undefined) return '';
  if (!offered.includes(chosen)) {
    throw new LocalError('WS_ERR_PROTOCOL_NOT_OFFERED', `selectProtocol chose ${JSON.stringify(chosen)}, which the client did not offer`);
  }
  return chosen;
}

/**
 * The extensions accepted from the client's raw offer (`undefined` if it
 * made none). §9.1: an extension the server does not answer is declined; the
 * only one implemented is permessage-deflate, accepted per `deflate` (false
 * or absent: declined). A malformed offer is a `HandshakeError` (400).
 */
export function negotiateExtensions(
  offer: string | undefined,
  deflate: NegotiationPolicy<unknown>['perMessageDeflate'],
): { extensions: string | undefined; extension: PerMessageDeflate | null } {
  if (!deflate || offer === undefined) return { extensions: undefined, extension: null };
  const accepted = negotiateDeflate(parseExtensionHeader(offer), deflate);
  if (!accepted) return { extensions: undefined, extension: null };
  return { extensions: accepted.response, extension: deflateCodec('server', accepted, deflate) };
}

/**
 * A refusal's status must say "refused": 3xx, 4xx or 5xx. Over HTTP/1.1 a
 * 101 is the acceptance (RFC 6455 §4.2.2 item 5.1), and over HTTP/2 any 2xx
 * is: RFC 9113 §8.5, "Any 2xx series response to a CONNECT request" opens
 * the tunnel, so a "refusal" with 200 would be read by the client as an open
 * WebSocket. Throws `LocalError` (the server answers 500 and reports it).
 */
export function checkRefusalStatus(status: number): void {
  if (!Number.isInteger(status) || status < 300 || status > 599) {
    throw new LocalError(Code.INVALID_RESPONSE, `a handshake cannot be refused with status ${status}: a refusal is 3xx, 4xx or 5xx`);
  }
}
