/**
 * node:http2, loaded the first time something speaks HTTP/2, and the
 * HTTP/2 error codes the library sends (RFC 9113 §7), as numbers.
 *
 * Why not a plain `import`: a server or client that never speaks HTTP/2
 * should not load it (nghttp2's binding and node's HTTP/2 layer, at start-up
 * and in memory). Nothing on the HTTP/1.1 path imports it; the HTTP/2 door,
 * the client's session pool and its connect require it here on first use.
 * (It was made lazy while chasing a slowdown of the 1 MiB echo benchmark,
 * S4, that appeared with the HTTP/2 door; an A/B with only an
 * `import 'node:http2'` added to the old server was slower, 620–820 against
 * 850–1,270 MB/s, but on a machine that swings that much, and making the
 * import lazy did not bring S4 back: see bench/RESULTS.md.)
 */
import { createRequire } from 'node:module';
import type * as Http2 from 'node:http2';

let loaded: typeof Http2 | undefined;

/** node:http2, required on first use. */
export function http2Module(): typeof Http2 {
  loaded ??= createRequire(import.meta.url)('node:http2') as typeof Http2;
  return loaded;
}

/** RFC 9113 §7 error codes for RST_STREAM and GOAWAY (the values node:http2 names NGHTTP2_*). */
export const Http2ErrorCode = {
  /** "The associated condition is not a result of an error." */
  NO_ERROR: 0x0,
  /** "The endpoint encountered an unexpected internal error." */
  INTERNAL_ERROR: 0x2,
  /** "The endpoint refused the stream prior to performing any application processing." */
  REFUSED_STREAM: 0x7,
  /** "Used by the endpoint to indicate that the stream is no longer needed." */
  CANCEL: 0x8,
} as const;
