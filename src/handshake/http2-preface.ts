/**
 * Telling HTTP/2 with prior knowledge (h2c) from HTTP/1.1 on one cleartext
 * port, by the first bytes a client sends. Pure: bytes in, a verdict out.
 *
 * RFC 9113 §3.3: "A client that knows that a server supports HTTP/2 can
 * establish a TCP connection and send the connection preface (Section 3.4)
 * followed by HTTP/2 frames." §3.4: "the connection preface starts with the
 * string "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"." No HTTP/1.1 request starts
 * that way (`PRI` is no method of ours, and an HTTP/1.1 request line ends
 * with HTTP/1.x), so the first differing byte decides for HTTP/1.1 at
 * once, and 24 matching bytes decide for HTTP/2: a client never waits on
 * the sniffer beyond what it sends anyway.
 */

/** The client connection preface (RFC 9113 §3.4), 24 bytes. */
export const HTTP2_PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');

/** What the first bytes of a connection say: HTTP/2 (`h2`), HTTP/1.x (`h1`), or not yet (`need-more`). */
export type PrefaceVerdict = 'h2' | 'h1' | 'need-more';

/** Judge `received`, every byte read from the connection so far. */
export function sniffHttp2Preface(received: Uint8Array): PrefaceVerdict {
  const n = Math.min(received.length, HTTP2_PREFACE.length);
  for (let i = 0; i < n; i++) if (received[i] !== HTTP2_PREFACE[i]) return 'h1';
  return n === HTTP2_PREFACE.length ? 'h2' : 'need-more';
}
