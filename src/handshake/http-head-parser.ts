/**
 * Incremental parser of an HTTP/1.1 message head (RFC 9112): the start line
 * and the header fields up to the empty line. Sans-I/O: raw socket chunks go
 * in through `feed()`; "not complete yet" is a normal result (`undefined`);
 * the finished head comes out together with the bytes that followed it, which
 * after a WebSocket upgrade are already frames and must not be lost.
 *
 * One parser serves both ends of the handshake: `new HttpHeadParser('request')`
 * reads a client's upgrade request (server side), `new HttpHeadParser('response')`
 * reads the server's `HTTP/1.1 101 Switching Protocols` (client side).
 *
 * Cost. Every byte is looked at a bounded number of times whatever the chunking:
 * complete lines are parsed as soon as their LF arrives, directly from the chunk
 * when they fit in it, and only the unfinished line is copied into a small
 * buffer. Feeding one byte at a time is O(n) in total, not O(n²); nothing is
 * re-scanned.
 *
 * Strict but interoperable. Deliberate choices, each quoted at its check:
 * - a bare LF ends a line like CRLF does (RFC 9112 §2.2 "MAY");
 * - empty lines before a request line are skipped (§2.2 "SHOULD");
 * - a status line may omit the SP before an empty reason (`HTTP/1.1 101`);
 * - obs-fold, whitespace before a colon, bare CR and every other control byte
 *   are rejected with 400, never repaired.
 *
 * After a fatal error the parser is dead: further `feed()` calls throw the same
 * error and the input is discarded.
 */
import { HandshakeError, LocalError } from '../errors.js';
import { HandshakeErrorCode as Code } from './error-codes.js';
import { HttpHeaders } from './http-headers.js';
import { isFieldValueByte, isOws, isTchar } from './tokens.js';

export { HttpHeaders } from './http-headers.js';

const HTAB = 0x09;
const LF = 0x0a;
const CR = 0x0d;
const SP = 0x20;
const COLON = 0x3a;
/** First byte of a TLS record carrying a handshake message (RFC 8446 §5.1, ContentType 22). */
const TLS_HANDSHAKE_RECORD = 0x16;

/**
 * Size limits of a head. Each is checked before the bytes that would exceed it
 * are stored, so a peer can make the parser hold at most `maxLineBytes` of
 * unfinished input, and never more than `maxHeadBytes` in total.
 */
export interface HttpHeadLimits {
  /** Bytes of the whole head: start line, header lines and the final empty line, line ends included. */
  maxHeadBytes: number;
  /** Number of header field lines (a field repeated on two lines counts twice). */
  maxHeaderCount: number;
  /** Bytes of any single line, its CRLF (or bare LF) included. */
  maxLineBytes: number;
}

/**
 * Defaults, in line with what deployed HTTP servers accept, so that anything a
 * browser sends through a proxy passes, and a hostile peer costs little:
 * - `maxHeadBytes` 16 KiB: Node's own `http` default (`--max-http-header-size`).
 *   A browser's upgrade request is well under 2 KiB before cookies; 16 KiB
 *   leaves room for a few large cookies.
 * - `maxLineBytes` 8 KiB: Apache's `LimitRequestLine`/`LimitRequestFieldSize`
 *   (8190) and nginx's `large_client_header_buffers` (8k). A longer request
 *   line is answered 414, a longer header line 431.
 * - `maxHeaderCount` 100: Apache's `LimitRequestFields`. Browsers send ~15.
 */
export const DEFAULT_HTTP_HEAD_LIMITS: Readonly<HttpHeadLimits> = Object.freeze({
  maxHeadBytes: 16 * 1024,
  maxHeaderCount: 100,
  maxLineBytes: 8 * 1024,
});

/** A parsed request head: request line and header fields. */
export interface HttpRequestHead {
  kind: 'request';
  /** A token, case-sensitive (RFC 9110 §9.1): `GET`, not `get`. */
  method: string;
  /** The request-target exactly as sent: `/chat?room=1`, or absolute-form `http://host/chat`. */
  target: string;
  /** `major.minor`, e.g. `1.1`. The parser only lets major version 1 through. */
  httpVersion: string;
  headers: HttpHeaders;
}

/** A parsed response head: status line and header fields (the client reads the server's answer into one). */
export interface HttpResponseHead {
  kind: 'response';
  /** `major.minor`, e.g. `1.1`. */
  httpVersion: string;
  /** Three digits, 100–599. */
  status: number;
  /** The reason phrase as sent (Latin-1), possibly empty; RFC 9112 §4: clients SHOULD ignore it. */
  reason: string;
  headers: HttpHeaders;
}

/** Which head a parser reads: a server parses requests, a client responses. */
export type HttpHeadKind = 'request' | 'response';
/** The parsed head of a kind. */
export type HttpHeadOf<K extends HttpHeadKind> = K extends 'request' ? HttpRequestHead : HttpResponseHead;

/** A complete head, and the bytes that came after its empty line (a view into the last chunk, not a copy). */
export interface HttpHeadResult<K extends HttpHeadKind> {
  head: HttpHeadOf<K>;
  rest: Buffer;
}

type State = 'start-line' | 'fields' | 'done' | 'failed';

/** Incremental HTTP/1.1 head parser for a request or a response (RFC 9112), within HttpHeadLimits; returns the bytes after the head too. */
export class HttpHeadParser<K extends HttpHeadKind> {
  readonly kind: K;
  readonly limits: Readonly<HttpHeadLimits>;

  #state: State = 'start-line';
  #error: HandshakeError | undefined;
  /** Bytes of the head taken so far, partial line included. */
  #headBytes = 0;
  /** The unfinished line, copied from earlier chunks; `#lineLength` bytes of it are used. */
  #line: Buffer | undefined;
  #lineLength = 0;
  /** How many bytes of the unfinished start line were already checked by `#vetStartLinePrefix`. */
  #vetted = 0;
  /** Start-line results, filled once the start line is parsed. */
  #method = '';
  #target = '';
  #version = '';
  #status = 0;
  #reason = '';
  /** The field lines so far, names and values alternating (no array per line: ~300 B less garbage per handshake). */
  #fields: string[] = [];

  constructor(kind: K, limits?: Partial<HttpHeadLimits>) {
    if (kind !== 'request' && kind !== 'response') {
      throw new LocalError(Code.INVALID_LIMIT, `HttpHeadParser kind must be 'request' or 'response', got ${String(kind)}`);
    }
    this.kind = kind;
    if (limits === undefined) {
      // The defaults, shared: no merged copy per handshake (every server connection makes a parser).
      this.limits = DEFAULT_HTTP_HEAD_LIMITS;
      return;
    }
    const merged = { ...DEFAULT_HTTP_HEAD_LIMITS, ...limits };
    for (const name of ['maxHeadBytes', 'maxHeaderCount', 'maxLineBytes'] as const) {
      const value = merged[name];
      if (!Number.isSafeInteger(value) || value < 1) {
        throw new LocalError(Code.INVALID_LIMIT, `${name} must be a positive integer, got ${String(value)}`);
      }
    }
    this.limits = Object.freeze(merged);
  }

  /**
   * Feed the next chunk of bytes from the peer.
   *
   * Returns `undefined` while the head is incomplete. Once its empty line is
   * seen, returns the head and `rest`, the bytes of this chunk after the head
   * (possibly empty); the parser is then finished, and later bytes belong to
   * whoever reads the connection next.
   *
   * Throws `HandshakeError` if the head is malformed or too large (its
   * `status` is the HTTP answer: 400, 414, 431, 505), and keeps throwing it.
   * Throws `LocalError` if called again after a head was returned.
   */
  feed(chunk: Buffer): HttpHeadResult<K> | undefined {
    if (this.#state === 'failed') throw this.#error!;
    if (this.#state === 'done') {
      throw new LocalError(Code.PARSER_FINISHED, 'HttpHeadParser.feed() called after the head was complete');
    }
    try {
      return this.#consume(chunk);
    } catch (error) {
      if (error instanceof HandshakeError) {
        this.#state = 'failed';
        this.#error = error;
        this.#line = undefined;
        this.#fields = [];
      }
      throw error;
    }
  }

  #consume(chunk: Buffer): HttpHeadResult<K> | undefined {
    const { maxHeadBytes, maxLineBytes, maxHeaderCount } = this.limits;
    let pos = 0;
    while (pos < chunk.length) {
      // At the start of a header line, refuse the line one past the count
      // limit before buffering any of it (a line starting with CR or LF is the
      // final empty line, which is not a field).
      if (this.#state === 'fields' && this.#lineLength === 0 && this.#fields.length / 2 >= maxHeaderCount) {
        const first = chunk[pos];
        if (first !== CR && first !== LF) {
          throw new HandshakeError(Code.TOO_MANY_HEADERS, 431, `more than ${maxHeaderCount} header fields`);
        }
      }

      const lf = chunk.indexOf(LF, pos);
      const segmentEnd = lf === -1 ? chunk.length : lf + 1;
      const segmentLength = segmentEnd - pos;

      // Limits, checked against what the bytes would add, before storing them.
      if (this.#lineLength + segmentLength > maxLineBytes) throw this.#lineTooLong();
      if (this.#headBytes + segmentLength > maxHeadBytes) {
        throw new HandshakeError(Code.HEAD_TOO_LARGE, 431, `the message head exceeds ${maxHeadBytes} bytes`);
      }
      this.#headBytes += segmentLength;

      if (lf === -1) {
        // Unfinished line: keep it for the next chunk. Catch non-HTTP input
        // (TLS, binary) now rather than after a line's worth of garbage.
        this.#append(chunk, pos, segmentEnd);
        if (this.#state === 'start-line') this.#vetStartLinePrefix();
        return undefined;
      }

      // A complete line: parse it in place if it lies wholly in this chunk.
      let line: Buffer;
      let start: number;
      let end: number;
      if (this.#lineLength === 0) {
        line = chunk;
        start = pos;
        end = lf;
      } else {
        this.#append(chunk, pos, lf);
        line = this.#line!;
        start = 0;
        end = this.#lineLength;
        this.#lineLength = 0;
        this.#vetted = 0;
      }
      pos = segmentEnd;
      // RFC 9112 §2.2: "Although the line terminator for the start-line and
      // fields is the sequence CRLF, a recipient MAY recognize a single LF as a
      // line terminator and ignore any preceding CR." We do: CRLF or bare LF.
      if (end > start && line[end - 1] === CR) end--;

      if (this.#onLine(line, start, end)) {
        return { head: this.#finish(), rest: chunk.subarray(pos) };
      }
    }
    return undefined;
  }

  /** Handle one complete line (terminator removed). Returns true at the empty line ending the head. */
  #onLine(buf: Buffer, start: number, end: number): boolean {
    if (this.#state === 'start-line') {
      if (start === end) {
        if (this.kind === 'request') {
          // RFC 9112 §2.2: "a server that is expecting to receive and parse a
          // request-line SHOULD ignore at least one empty line (CRLF) received
          // prior to the request-line." Any number, bounded by maxHeadBytes.
          return false;
        }
        throw this.#badStartLine('the status line is empty');
      }
      if (this.kind === 'request') this.#parseRequestLine(buf, start, end);
      else this.#parseStatusLine(buf, start, end);
      this.#state = 'fields';
      return false;
    }
    if (start === end) return true; // RFC 9112 §2.1: the empty line ends the field section.
    this.#parseField(buf, start, end);
    return false;
  }

  /** RFC 9112 §3: request-line = method SP request-target SP HTTP-version */
  #parseRequestLine(buf: Buffer, start: number, end: number): void {
    if (buf[start] === TLS_HANDSHAKE_RECORD) throw tlsOnPlainPort();
    // RFC 9110 §9.1: method = token
    let i = start;
    while (i < end && isTchar(buf[i])) i++;
    if (i === start || i === end || buf[i] !== SP) {
      throw this.#badStartLine('the method must be a token followed by a single space');
    }
    this.#method = buf.toString('latin1', start, i);
    // RFC 9112 §3.2: request-target, which never contains whitespace or
    // control bytes; §3: "recipients MUST NOT attempt to autocorrect" one that
    // does. URIs are ASCII (RFC 3986 §2), so visible ASCII only.
    const targetStart = ++i;
    while (i < end && buf[i] > SP && buf[i] < 0x7f) i++;
    if (i === targetStart || i === end || buf[i] !== SP) {
      throw this.#badStartLine('the request-target must be visible ASCII followed by a single space');
    }
    this.#target = buf.toString('latin1', targetStart, i);
    this.#version = this.#parseVersion(buf, i + 1, end);
  }

  /** RFC 9112 §4: status-line = HTTP-version SP status-code SP [ reason-phrase ] */
  #parseStatusLine(buf: Buffer, start: number, end: number): void {
    this.#version = this.#parseVersion(buf, start, Math.min(start + 8, end));
    let i = start + 8;
    if (end - i < 4 || buf[i] !== SP) throw this.#badStartLine('expected a space and a 3-digit status code');
    // status-code = 3DIGIT; RFC 9110 §15: values outside 100..599 are invalid.
    let status = 0;
    for (let k = i + 1; k <= i + 3; k++) {
      const d = buf[k] - 0x30;
      if (d < 0 || d > 9) throw this.#badStartLine('the status code must be 3 digits');
      status = status * 10 + d;
    }
    if (status < 100 || status > 599) throw this.#badStartLine(`status code ${status} is outside 100-599`);
    i += 4;
    // Interoperability: accept `HTTP/1.1 101` without the SP before an empty
    // reason, which some servers send.
    if (i < end) {
      if (buf[i] !== SP) throw this.#badStartLine('expected a space after the status code');
      // reason-phrase = 1*( HTAB / SP / VCHAR / obs-text )
      for (let k = i + 1; k < end; k++) {
        if (!isFieldValueByte(buf[k])) throw this.#badStartLine('control character in the reason phrase');
      }
      this.#reason = buf.toString('latin1', i + 1, end);
    }
    this.#status = status;
  }

  /**
   * RFC 9112 §2.3: HTTP-version = HTTP-name "/" DIGIT "." DIGIT, where
   * HTTP-name = %s"HTTP" is case-sensitive. Parses exactly [start, end).
   */
  #parseVersion(buf: Buffer, start: number, end: number): string {
    if (
      end - start !== 8 ||
      buf[start] !== 0x48 /* H */ ||
      buf[start + 1] !== 0x54 /* T */ ||
      buf[start + 2] !== 0x54 /* T */ ||
      buf[start + 3] !== 0x50 /* P */ ||
      buf[start + 4] !== 0x2f /* / */ ||
      !isDigit(buf[start + 5]) ||
      buf[start + 6] !== 0x2e /* . */ ||
      !isDigit(buf[start + 7])
    ) {
      throw this.#badStartLine('the HTTP version must be HTTP/<digit>.<digit>');
    }
    const version = buf.toString('latin1', start + 5, end);
    // RFC 9110 §15.6.6: 505 "the server does not support, or refuses to
    // support, the major version of HTTP that was used in the request".
    // This is an HTTP/1 parser (HTTP/2's preface reads `PRI * HTTP/2.0`).
    if (buf[start + 5] !== 0x31 /* 1 */) {
      throw new HandshakeError(Code.HTTP_VERSION_UNSUPPORTED, 505, `HTTP/${version} is not supported (only HTTP/1.x)`);
    }
    return version;
  }

  /** RFC 9112 §5: field-line = field-name ":" OWS field-value OWS */
  #parseField(buf: Buffer, start: number, end: number): void {
    const first = buf[start];
    if (first === SP || first === HTAB) {
      // RFC 9112 §5.2: "A server that receives an obs-fold in a request
      // message ... MUST either reject the message by sending a 400 (Bad
      // Request) ... or replace each received obs-fold with one or more SP".
      // We reject. The same check covers §2.2: whitespace between the start
      // line and the first field line.
      throw new HandshakeError(
        Code.OBS_FOLD,
        400,
        'a header line starts with whitespace (obsolete line folding is not accepted)',
      );
    }
    // RFC 9110 §5.1: field-name = token
    let i = start;
    while (i < end && isTchar(buf[i])) i++;
    if (i === end || buf[i] !== COLON) {
      if (i < end && isOws(buf[i])) {
        // RFC 9112 §5.1: "No whitespace is allowed between the field name and
        // colon. ... A server MUST reject, with a response status code of 400
        // (Bad Request), any received request message that contains whitespace
        // between a header field name and colon."
        throw badHeader('whitespace between a header name and its colon');
      }
      throw badHeader(i === end ? 'a header line has no colon' : 'invalid character in a header name');
    }
    if (i === start) throw badHeader('a header line has an empty name');
    const name = buf.toString('latin1', start, i);
    // OWS around the value is not part of it (RFC 9112 §5.1).
    let valueStart = i + 1;
    let valueEnd = end;
    while (valueStart < valueEnd && isOws(buf[valueStart])) valueStart++;
    while (valueEnd > valueStart && isOws(buf[valueEnd - 1])) valueEnd--;
    // RFC 9110 §5.5: field-value = *field-content, VCHAR / obs-text with SP
    // and HTAB between. Any other control byte (NUL, bare CR, DEL...) is
    // rejected: "Field values containing CR, LF, or NUL characters are invalid
    // and dangerous".
    for (let k = valueStart; k < valueEnd; k++) {
      if (!isFieldValueByte(buf[k])) throw badHeader(`control character in the value of header ${name}`);
    }
    this.#fields.push(name, buf.toString('latin1', valueStart, valueEnd));
  }

  /**
   * Check the start of a start line that has not ended yet, so non-HTTP input
   * fails at its first bytes instead of after `maxLineBytes` of it: a request
   * must open with a token (or an empty line), a response with `HTTP/`.
   */
  #vetStartLinePrefix(): void {
    if (this.#vetted === VETTED_ALL) return;
    const line = this.#line!;
    const length = this.#lineLength;
    let i = this.#vetted;
    if (this.kind === 'request') {
      if (i === 0 && line[0] === TLS_HANDSHAKE_RECORD) throw tlsOnPlainPort();
      for (; i < length; i++) {
        const b = line[i];
        if (b === SP) {
          if (i === 0) throw this.#badStartLine('the method must be a token followed by a single space');
          // The method is complete; the rest is checked when the line ends.
          this.#vetted = VETTED_ALL;
          return;
        }
        // A leading CR may begin an empty line (skipped, see #onLine).
        if (!isTchar(b) && !(b === CR && i === 0)) {
          throw this.#badStartLine('the method must be a token followed by a single space');
        }
      }
      this.#vetted = i;
    } else {
      for (; i < length && i < HTTP_SLASH.length; i++) {
        if (line[i] !== HTTP_SLASH[i]) throw this.#badStartLine('a status line must start with "HTTP/"');
      }
      this.#vetted = i === HTTP_SLASH.length ? VETTED_ALL : i;
    }
  }

  /** Copy `src[from, to)` to the end of the unfinished line; the caller checked the limit. */
  #append(src: Buffer, from: number, to: number): void {
    const needed = this.#lineLength + to - from;
    if (this.#line === undefined || this.#line.length < needed) {
      // Grow geometrically (amortized O(1) per byte), never past the limit.
      const capacity = Math.min(Math.max(needed, 2 * (this.#line?.length ?? 0), 256), this.limits.maxLineBytes);
      const grown = Buffer.allocUnsafe(capacity);
      if (this.#line !== undefined) this.#line.copy(grown, 0, 0, this.#lineLength);
      this.#line = grown;
    }
    src.copy(this.#line, this.#lineLength, from, to);
    this.#lineLength = needed;
  }

  #finish(): HttpHeadOf<K> {
    this.#state = 'done';
    const headers = HttpHeaders.fromFieldList(this.#fields);
    this.#fields = [];
    this.#line = undefined;
    const head: HttpRequestHead | HttpResponseHead =
      this.kind === 'request'
        ? { kind: 'request', method: this.#method, target: this.#target, httpVersion: this.#version, headers }
        : { kind: 'response', httpVersion: this.#version, status: this.#status, reason: this.#reason, headers };
    return head as HttpHeadOf<K>;
  }

  #lineTooLong(): HandshakeError {
    const limit = this.limits.maxLineBytes;
    if (this.#state === 'start-line' && this.kind === 'request') {
      // RFC 9112 §3: "A server that receives a request-target longer than any
      // URI it wishes to parse MUST respond with a 414 (URI Too Long)".
      return new HandshakeError(Code.REQUEST_LINE_TOO_LONG, 414, `the request line exceeds ${limit} bytes`);
    }
    const which = this.#state === 'fields' ? 'a header line' : 'the status line';
    return new HandshakeError(Code.LINE_TOO_LONG, 431, `${which} exceeds ${limit} bytes`);
  }

  #badStartLine(detail: string): HandshakeError {
    return this.kind === 'request'
      ? new HandshakeError(Code.BAD_REQUEST_LINE, 400, `malformed request line: ${detail}`)
      : new HandshakeError(Code.BAD_STATUS_LINE, 400, `malformed status line: ${detail}`);
  }
}

const HTTP_SLASH = Buffer.from('HTTP/', 'latin1');
/** `#vetted` value once the start line's prefix has been fully checked. */
const VETTED_ALL = -1;

function isDigit(b: number): boolean {
  return b >= 0x30 && b <= 0x39;
}

function badHeader(detail: string): HandshakeError {
  return new HandshakeError(Code.BAD_HEADER, 400, `malformed header line: ${detail}`);
}

function tlsOnPlainPort(): HandshakeError {
  return new HandshakeError(
    Code.TLS_ON_PLAIN_PORT,
    400,
    'this looks like a TLS handshake sent to a plain-text port (wss:// to a ws:// server?)',
  );
}
