/**
 * Parser for Sec-WebSocket-Extensions (RFC 6455 §9.1), hand-written and
 * regex-free:
 *
 *   extension-list  = 1#extension
 *   extension       = extension-token *( ";" extension-param )
 *   extension-param = token [ "=" (token | quoted-string) ]
 *
 * "When using the quoted-string syntax variant, the value after quoted-string
 * unescaping MUST conform to the 'token' ABNF." Several header lines arrive
 * joined with ", " (the HTTP list rule), so one parse covers them all.
 */
import { HandshakeErrorCode } from '../handshake/error-codes.js';
import { HandshakeError } from '../errors.js';
import { isTchar } from '../handshake/tokens.js';

/** One extension in a Sec-WebSocket-Extensions header: its name and parameters, in order (§9.1). */
export interface ExtensionOffer {
  /** Extension token, lowercased: `permessage-deflate`. */
  name: string;
  /** Parameters in order as sent; a parameter without a value maps to `true`. Names lowercased. */
  params: Array<[name: string, value: string | true]>;
}

const HTAB = 0x09;
const SP = 0x20;
const DQUOTE = 0x22;
const COMMA = 0x2c;
const SEMICOLON = 0x3b;
const EQUALS = 0x3d;
const BACKSLASH = 0x5c;

/**
 * Parse a Sec-WebSocket-Extensions value into offers, in the client's order
 * of preference. Throws HandshakeError (400) on a syntax error: the header is
 * garbage, not merely an offer we decline.
 *
 * Cost: one pass over `value`, each character looked at once; names, values
 * and quoted strings are sliced out of it, never built a character at a time.
 */
export function parseExtensionHeader(value: string): ExtensionOffer[] {
  const offers: ExtensionOffer[] = [];
  const cursor = new Cursor(value);
  for (;;) {
    cursor.skipWhitespace();
    if (cursor.atEnd()) break;
    if (cursor.peek() === COMMA) {
      // Empty list elements are allowed by the list rule (RFC 9110 §5.6.1).
      cursor.skip();
      continue;
    }
    const name = cursor.token('extension name').toLowerCase();
    const params: ExtensionOffer['params'] = [];
    for (;;) {
      cursor.skipWhitespace();
      if (cursor.atEnd() || cursor.peek() === COMMA) break;
      cursor.expect(SEMICOLON);
      cursor.skipWhitespace();
      const paramName = cursor.token('extension parameter').toLowerCase();
      cursor.skipWhitespace();
      let paramValue: string | true = true;
      if (cursor.peek() === EQUALS) {
        cursor.skip();
        cursor.skipWhitespace();
        paramValue = cursor.peek() === DQUOTE ? cursor.quotedToken() : cursor.token('parameter value');
      }
      params.push([paramName, paramValue]);
    }
    offers.push({ name, params });
    cursor.skipWhitespace();
    if (!cursor.atEnd()) cursor.expect(COMMA);
  }
  return offers;
}

/** Serialize one extension with its parameters, as it appears in a response. */
export function formatExtension(name: string, params: ReadonlyArray<readonly [string, string | true]>): string {
  let text = name;
  for (const [param, value] of params) text += value === true ? `; ${param}` : `; ${param}=${value}`;
  return text;
}

/** A position in the header value, read by character code (the value is Latin-1: one byte a character). */
class Cursor {
  private pos = 0;
  constructor(private readonly text: string) {}

  atEnd(): boolean {
    return this.pos >= this.text.length;
  }

  /** The code of the character at the cursor; NaN at the end (equal to nothing). */
  peek(): number {
    return this.text.charCodeAt(this.pos);
  }

  skip(): void {
    this.pos++;
  }

  skipWhitespace(): void {
    while (this.pos < this.text.length) {
      const c = this.text.charCodeAt(this.pos);
      if (c !== SP && c !== HTAB) break;
      this.pos++;
    }
  }

  expect(char: number): void {
    if (this.text.charCodeAt(this.pos) !== char) this.fail(`expected '${String.fromCharCode(char)}'`);
    this.pos++;
  }

  /** RFC 9110 §5.6.2: token = 1*tchar. */
  token(what: string): string {
    const start = this.pos;
    while (this.pos < this.text.length && isTchar(this.text.charCodeAt(this.pos))) this.pos++;
    if (this.pos === start) this.fail(`expected ${what}`);
    return this.text.slice(start, this.pos);
  }

  /**
   * A quoted-string whose unescaped content must be a token (§9.1: "the value
   * after quoted-string unescaping MUST conform to the 'token' ABNF").
   * RFC 9110 §5.6.4: a backslash escapes the character after it. The value is
   * sliced out between escapes and joined once.
   */
  quotedToken(): string {
    this.expect(DQUOTE);
    const pieces: string[] = [];
    let pieceStart = this.pos;
    let allTchar = true;
    for (;;) {
      if (this.atEnd()) this.fail('unterminated quoted string');
      let c = this.text.charCodeAt(this.pos++);
      if (c === DQUOTE) break;
      if (c === BACKSLASH) {
        if (this.atEnd()) this.fail('unterminated escape');
        // The backslash is dropped; the escaped character starts the next piece.
        pieces.push(this.text.slice(pieceStart, this.pos - 1));
        pieceStart = this.pos;
        c = this.text.charCodeAt(this.pos++);
      }
      if (!isTchar(c)) allTchar = false;
    }
    pieces.push(this.text.slice(pieceStart, this.pos - 1));
    const value = pieces.length === 1 ? pieces[0] : pieces.join('');
    if (!allTchar || value.length === 0) this.fail('quoted parameter value is not a token');
    return value;
  }

  private fail(message: string): never {
    throw new HandshakeError(HandshakeErrorCode.EXTENSIONS, 400, `invalid Sec-WebSocket-Extensions header: ${message} at offset ${this.pos}`);
  }
}
