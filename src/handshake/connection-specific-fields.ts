/**
 * The header fields HTTP/2 forbids because they are about one HTTP/1.1
 * connection, not the message: one list for the server's check of an
 * extended CONNECT and its answers (extended-connect.ts) and for the
 * client's request (client-extended-connect.ts). node:http2 throws
 * ERR_HTTP2_INVALID_CONNECTION_HEADERS when asked to send one of them, so
 * whatever carries an application's headers onto a stream passes them
 * through this list first.
 *
 * RFC 9113 §8.2.2: "An endpoint MUST NOT generate an HTTP/2 message
 * containing connection-specific header fields. This includes the
 * Connection header field and those listed as having connection-specific
 * semantics in Section 7.6.1 of [HTTP] (that is, Proxy-Connection,
 * Keep-Alive, Transfer-Encoding, and Upgrade)." "The only exception to this
 * is the TE header field, which MAY be present in an HTTP/2 request; when it
 * is, it MUST NOT contain any value other than "trailers"." And
 * HTTP2-Settings, the field of the HTTP/1.1 upgrade to h2c (RFC 7540 §3.2.1:
 * "The HTTP2-Settings header field is a connection-specific header field
 * that includes parameters that govern the HTTP/2 connection"), which has
 * no meaning on an HTTP/2 stream.
 */
import { equalsIgnoreAsciiCase } from './tokens.js';

/** Lowercase names of the fields an HTTP/2 message may never carry (TE aside: see `isConnectionSpecificField()`). */
export const CONNECTION_SPECIFIC_FIELDS: ReadonlySet<string> = new Set([
  'connection',
  'proxy-connection',
  'keep-alive',
  'transfer-encoding',
  'upgrade',
  'http2-settings',
]);

/**
 * Whether the field `name: value` is connection-specific, so not allowed
 * in an HTTP/2 message: one of the list, or TE with a value other than
 * `trailers` (in a request; `trailers` itself means nothing in a response).
 */
export function isConnectionSpecificField(name: string, value: string): boolean {
  const lower = name.toLowerCase();
  return CONNECTION_SPECIFIC_FIELDS.has(lower) || (lower === 'te' && !equalsIgnoreAsciiCase(value.trim(), 'trailers'));
}
