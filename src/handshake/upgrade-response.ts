/**
 * Validation of the server's answer to a client's opening handshake, as the
 * client reads it (RFC 6455 §4.1, second half). Pure: a parsed response head
 * and what the client sent in; either what was negotiated, or a
 * `ClientHandshakeError` naming the rule the server broke.
 *
 * §4.1: "If the server's response does not conform to the requirements for
 * the server's handshake as defined in this section and in Section 4.2.2, the
 * client MUST _Fail the WebSocket Connection_." Before the connection is
 * established that means closing TCP: there is no one to send a close frame to.
 *
 * Checks run in the RFC's order: status, Upgrade, Connection,
 * Sec-WebSocket-Accept (the HTTP/1.1 framing of the answer, here), then
 * Sec-WebSocket-Extensions and Sec-WebSocket-Protocol (the negotiation,
 * client-negotiation.ts).
 * The status is judged first because a 3xx or 4xx carries none of the other
 * headers, and saying "wrong Sec-WebSocket-Accept" about a 404 would mislead.
 */
import { computeAcceptKey } from './accept-key.js';
import { ClientHandshakeError } from './client-handshake-error.js';
import { checkServerSelection, type AcceptedSelection, type NegotiationOffer } from './client-negotiation.js';
import { HandshakeErrorCode as Code } from './error-codes.js';
import type { HttpResponseHead } from './http-head-parser.js';
import { reasonPhrase } from './http-response.js';
import { equalsIgnoreAsciiCase, listHasToken } from './tokens.js';

export { ClientHandshakeError } from './client-handshake-error.js';
export { extensionNamesOf } from './client-negotiation.js';

/** What the client offered, to judge the answer against. */
export interface UpgradeOffer extends NegotiationOffer {
  /** The Sec-WebSocket-Key sent. */
  key: string;
}

/** What the server agreed to. */
export type AcceptedUpgrade = AcceptedSelection;

/**
 * Judge the server's response head against the client's offer (§4.1).
 * Throws `ClientHandshakeError`; returns what was negotiated.
 */
export function validateUpgradeResponse(head: HttpResponseHead, offer: UpgradeOffer): AcceptedUpgrade {
  const { headers } = head;

  // §4.1 item 1: "If the status code received from the server is not 101, the
  // client handles the response per HTTP [RFC2616] procedures" (authentication
  // on 401, redirects on 3xx, which "clients are not required to follow").
  // Here every other status fails the connection and says why.
  if (head.status !== 101) throw unexpectedStatus(head);

  // RFC 9110 §7.8: a protocol switch through Upgrade is an HTTP/1.1 feature;
  // an HTTP/1.0 server cannot have sent a genuine 101.
  if (head.httpVersion === '1.0') {
    throw new ClientHandshakeError(Code.RESPONSE_HTTP_VERSION, '4.1', 'the server answered 101 over HTTP/1.0, which cannot switch protocols', head);
  }

  // §4.1 item 2: "If the response lacks an |Upgrade| header field or the
  // |Upgrade| header field contains a value that is not an ASCII
  // case-insensitive match for the value "websocket", the client MUST _Fail
  // the WebSocket Connection_."
  const upgrade = headers.get('upgrade');
  if (upgrade === undefined || !equalsIgnoreAsciiCase(upgrade, 'websocket')) {
    throw new ClientHandshakeError(
      Code.RESPONSE_UPGRADE,
      '4.1',
      `${upgrade === undefined ? 'the 101 response has no Upgrade header' : `the 101 response has Upgrade: ${quote(upgrade)}`}; "Upgrade: websocket" is required (RFC 6455 §4.1)`,
      head,
    );
  }

  // §4.1 item 3: "If the response lacks a |Connection| header field or the
  // |Connection| header field doesn't contain a token that is an ASCII
  // case-insensitive match for the value "Upgrade", the client MUST _Fail the
  // WebSocket Connection_."
  const connection = headers.get('connection');
  if (connection === undefined || !listHasToken(connection, 'upgrade')) {
    throw new ClientHandshakeError(
      Code.RESPONSE_CONNECTION,
      '4.1',
      `${connection === undefined ? 'the 101 response has no Connection header' : `the 101 response has Connection: ${quote(connection)}`}; a Connection header with the "Upgrade" token is required (RFC 6455 §4.1)`,
      head,
    );
  }

  // §4.1 item 4: "If the response lacks a |Sec-WebSocket-Accept| header field
  // or the |Sec-WebSocket-Accept| contains a value other than the
  // base64-encoded SHA-1 of the concatenation of the |Sec-WebSocket-Key| (as a
  // string, not base64-decoded) with the string
  // "258EAFA5-E914-47DA-95CA-C5AB0DC85B11" but ignoring any leading and
  // trailing whitespace, the client MUST _Fail the WebSocket Connection_."
  // (The head parser already removed the surrounding whitespace; two header
  // lines join into a value that matches nothing.)
  const accept = headers.get('sec-websocket-accept');
  const expectedAccept = computeAcceptKey(offer.key);
  if (accept !== expectedAccept) {
    throw new ClientHandshakeError(
      Code.ACCEPT_MISMATCH,
      '4.1',
      `${accept === undefined ? 'the 101 response has no Sec-WebSocket-Accept header' : `Sec-WebSocket-Accept is ${quote(accept)}`}; expected ${quote(expectedAccept)}, base64(SHA-1(key + GUID)) of the key we sent (RFC 6455 §4.1, §4.2.2)`,
      head,
    );
  }

  // §4.1 items 5 and 6: what the server selected among our offers.
  return checkServerSelection({ extensions: headers.get('sec-websocket-extensions'), protocol: headers.get('sec-websocket-protocol') }, offer, head);
}

/**
 * The error for a response that is not 101: a redirect (3xx, with its
 * Location) or any other status, with the start of the body if the caller
 * read one (servers usually explain a 400 or 403 there). `expected` names
 * the answer that would have succeeded, for the message (RFC 8441 §5: a 2xx
 * to an extended CONNECT over HTTP/2).
 */
export function unexpectedStatus(head: HttpResponseHead, body?: Buffer, expected = '101 Switching Protocols (RFC 6455 §4.1)'): ClientHandshakeError {
  const status = `${head.status}${head.reason ? ` ${head.reason}` : reasonPhrase(head.status) ? ` ${reasonPhrase(head.status)}` : ''}`;
  const text = body === undefined ? undefined : bodyText(body);
  if (head.status >= 300 && head.status < 400) {
    const location = head.headers.get('location');
    return new ClientHandshakeError(
      Code.REDIRECT,
      '4.1',
      `the server redirects (${status}) to ${location === undefined ? 'no Location' : quote(location)}; redirects are not followed (RFC 6455 §4.1: "clients are not required to follow them"): connect to that URL yourself if you trust it`,
      head,
      text,
    );
  }
  let message = `the server answered ${status} instead of ${expected}`;
  if (text) message += `: ${text}`;
  const version = head.headers.get('sec-websocket-version');
  if (head.status === 426 && version !== undefined) message += ` [the server speaks Sec-WebSocket-Version ${version}]`;
  const authenticate = head.headers.get('www-authenticate');
  if (head.status === 401 && authenticate !== undefined) message += ` [WWW-Authenticate: ${authenticate}]`;
  return new ClientHandshakeError(Code.UNEXPECTED_STATUS, '4.1', message, head, text);
}

/** A body for an error message: UTF-8, control characters as spaces, at most 200 characters. */
function bodyText(body: Buffer): string {
  let text = '';
  for (const c of body.toString('utf8', 0, Math.min(body.length, 800))) {
    const blank = c <= ' ' || c === '\x7f';
    if (!blank) text += c;
    else if (text.length > 0 && !text.endsWith(' ')) text += ' ';
  }
  text = text.trimEnd();
  return text.length > 200 ? `${text.slice(0, 200)}…` : text;
}

/** A peer-supplied value for an error message: quoted, escaped, cut at 64 characters. */
function quote(value: string): string {
  return JSON.stringify(value.length > 64 ? `${value.slice(0, 64)}…` : value);
}
