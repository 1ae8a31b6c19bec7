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
import { isToken } from '../handshake/tokens.js';

export interface ExtensionOffer {
  /** Extension token, lowercased: `permessage-deflate`. */
  name: string;
  /** Parameters in order as sent; a parameter without a value maps to `true`. Names lowercased. */
  params: Array<[name: string, value: string | true]>;
}

const SP = 0x20;
const HTAB = 0x09;

/**
 * Parse a Sec-WebSocket-Extensions value into offers, in the client's order
 * of preference. Throws HandshakeError (400) on a syntax error: the header is
 * garbage, not merely an offer we decline.
 */
export function parseExtensionHeader(value: string): ExtensionOffer[] {
  const offers: ExtensionOffer[] = [];
  const parser = new Cursor(value);
  for (;;) {
    parser.skipWhitespace();
    if (parser.atEnd()) break;
    if (parser.peek() === ',') {
      // Empty list elements are allowed by the list rule (RFC 9110 §5.6.1).
      parser.next();
      continue;
    }
    const name = parser.token('extension name').toLowerCase();
    const params: ExtensionOffer['params'] = [];
    for (;;) {
      parser.skipWhitespace();
      if (parser.atEnd() || parser.peek() === ',') break;
      parser.expect(';');
      parser.skipWhitespace();
      const paramName = parser.token('extension parameter').toLowerCase();
      parser.skipWhitespace();
      let paramValue: string | true = true;
      if (parser.peek() === '=') {
        parser.next();
        parser.skipWhitespace();
        paramValue = parser.peek() === '"' ? parser.quotedToken() : parser.token('parameter value');
      }
      params.push([paramName, paramValue]);
    }
    offers.push({ name, params });
    parser.skipWhitespace();
    if (!parser.atEnd()) parser.expect(',');
  }
  return offers;
}

/** Serialize one extension with its parameters, as it appears in a response. */
export function formatExtension(name: string, params: ReadonlyArray<readonly [string, string | true]>): string {
  let text = name;
  for (const [param, value] of params) text += value === true ? `; ${param}` : `; ${param}=${value}`;
  return text;
}

class Cursor {
  private pos = 0;
  constructor(private readonly text: string) {}

  atEnd(): boolean {
    return this.pos >= this.text.length;
  }

  peek(): string {
    return this.text[this.pos];
  }

  next(): string {
    return this.text[this.pos++];
  }

  skipWhitespace(): void {
    while (this.pos < this.text.length) {
      const c = this.text.charCodeAt(this.pos);
      if (c !== SP && c !== HTAB) break;
      this.pos++;
    }
  }

  expect(char: string): void {
    if (this.text[this.pos] !== char) this.fail(`expected '${char}'`);
    this.pos++;
  }

  token(what: string): string {
    const start = this.pos;
    while (this.pos < this.text.length && isToken(this.text[this.pos])) this.pos++;
    if (this.pos === start) this.fail(`expected ${what}`);
    return this.text.slice(start, this.pos);
  }

  /** A quoted-string whose unescaped content must be a token (§9.1). */
  quotedToken(): string {
    this.expect('"');
    let value = '';
    for (;;) {
      if (this.atEnd()) this.fail('unterminated quoted string');
      const c = this.next();
      if (c === '"') break;
      value += c === '\\' ? (this.atEnd() ? this.fail('unterminated escape') : this.next()) : c;
    }
    if (!isToken(value)) this.fail('quoted parameter value is not a token');
    return value;
  }

  private fail(message: string): never {
    throw new HandshakeError(HandshakeErrorCode.EXTENSIONS, 400, `invalid Sec-WebSocket-Extensions header: ${message} at offset ${this.pos}`);
  }
}
