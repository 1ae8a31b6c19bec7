/**
 * HTTP lexical rules shared by the head parser, the upgrade checks and the
 * response builder: tokens, field-value characters, comma-separated lists.
 *
 * Table lookups instead of regular expressions: constant time per byte, no
 * backtracking, nothing for a hostile header to exploit (ReDoS).
 */

const HTAB = 0x09;
const SP = 0x20;

/**
 * RFC 9110 §5.6.2:
 *   token  = 1*tchar
 *   tchar  = "!" / "#" / "$" / "%" / "&" / "'" / "*" / "+" / "-" / "." /
 *            "^" / "_" / "`" / "|" / "~" / DIGIT / ALPHA
 * i.e. any visible ASCII character except the delimiters `"(),/:;<=>?@[\]{}`.
 */
const TCHAR = new Uint8Array(256);
for (const c of "!#$%&'*+-.^_`|~") TCHAR[c.charCodeAt(0)] = 1;
for (let c = 0x30; c <= 0x39; c++) TCHAR[c] = 1; // 0-9
for (let c = 0x41; c <= 0x5a; c++) TCHAR[c] = 1; // A-Z
for (let c = 0x61; c <= 0x7a; c++) TCHAR[c] = 1; // a-z

/**
 * RFC 9110 §5.5: bytes allowed inside a field value.
 *   field-vchar = VCHAR / obs-text      (0x21-0x7E, 0x80-0xFF)
 *   plus SP and HTAB between them.
 * Everything else is a control character (0x00-0x08, 0x0A-0x1F, 0x7F): CR, LF
 * and NUL included. "Field values containing CR, LF, or NUL characters are
 * invalid and dangerous" (§5.5).
 */
const FIELD_VALUE = new Uint8Array(256);
FIELD_VALUE[HTAB] = 1;
for (let c = 0x20; c <= 0x7e; c++) FIELD_VALUE[c] = 1;
for (let c = 0x80; c <= 0xff; c++) FIELD_VALUE[c] = 1;

/** Is `byte` a tchar (RFC 9110 §5.6.2)? */
export function isTchar(byte: number): boolean {
  return TCHAR[byte] === 1;
}

/** May `byte` appear in a field value (VCHAR, obs-text, SP, HTAB; RFC 9110 §5.5)? */
export function isFieldValueByte(byte: number): boolean {
  return FIELD_VALUE[byte] === 1;
}

/** Is `byte` optional whitespace, SP or HTAB (RFC 9110 §5.6.3)? */
export function isOws(byte: number): boolean {
  return byte === SP || byte === HTAB;
}

/** Is `s` a non-empty token (RFC 9110 §5.6.2)? */
export function isToken(s: string): boolean {
  if (s.length === 0) return false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c > 0xff || TCHAR[c] !== 1) return false;
  }
  return true;
}

/**
 * Is `s` a field value this library will write: no control characters (so no
 * CR/LF, hence no response splitting), no characters above U+00FF (a field is
 * written as Latin-1), no leading or trailing whitespace (RFC 9110 §5.5).
 */
export function isFieldValue(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c > 0xff || FIELD_VALUE[c] !== 1) return false;
  }
  return s.length === 0 || (!isOws(s.charCodeAt(0)) && !isOws(s.charCodeAt(s.length - 1)));
}

/**
 * Split a comma-separated list value into its elements, trimmed of OWS.
 *
 * RFC 9110 §5.6.1.2: "a recipient MUST accept lists that satisfy the following
 * syntax: #element => [ element ] *( OWS "," OWS [ element ] )" and "Empty
 * elements do not contribute to the count of elements present", so empty
 * elements are dropped. Several header lines of one name are one list joined
 * with ", " (§5.3), which `HttpHeaders.get()` already does.
 *
 * Quoted strings are not understood: the lists split here (Upgrade,
 * Connection, Sec-WebSocket-Protocol) are lists of tokens. Extension offers,
 * whose parameters may be quoted, have their own parser.
 */
export function splitList(value: string): string[] {
  const out: string[] = [];
  for (let at = 0; (at = nextListElement(value, at)) !== -1; ) out.push(value.slice(elementStart, elementEnd));
  return out;
}

/**
 * Is `s` equal to `lower` ignoring ASCII case only (RFC 9110 §5.6.2: tokens
 * are compared case-insensitively "unless specified otherwise")? `lower` must
 * be lowercase ASCII. Unlike `toLowerCase()`, no non-ASCII character can fold
 * onto an ASCII one.
 */
export function equalsIgnoreAsciiCase(s: string, lower: string): boolean {
  return rangeEqualsIgnoreAsciiCase(s, 0, s.length, lower);
}

/**
 * Does the list `value` contain `token`, ignoring ASCII case? `token` must be
 * lowercase. The elements are compared where they lie in `value`, and the
 * scan stops at the first match: one pass, nothing allocated, however long
 * the list a peer sent.
 */
export function listHasToken(value: string, token: string): boolean {
  for (let at = 0; (at = nextListElement(value, at)) !== -1; ) {
    if (rangeEqualsIgnoreAsciiCase(value, elementStart, elementEnd, token)) return true;
  }
  return false;
}

/** Bounds `[elementStart, elementEnd)` of the element nextListElement() found last. */
let elementStart = 0;
let elementEnd = 0;

/**
 * The next non-empty element of the list `value` (see `splitList`) from index
 * `from`: sets `elementStart`/`elementEnd` to its bounds, OWS trimmed, and
 * returns where the search goes on (past its comma), or -1 when none is left.
 * Every character is looked at a bounded number of times: once by the comma
 * scan, at most once more by the trimming. Bounds in two module variables
 * rather than a callback or a pair: nothing is allocated per element (a
 * closure per call was ~200 B of garbage per handshake, for Upgrade and
 * Connection; an allocation sample of 5,000 upgrades).
 */
function nextListElement(value: string, from: number): number {
  let start = from;
  for (let i = from; i <= value.length; i++) {
    if (i === value.length || value.charCodeAt(i) === 0x2c /* , */) {
      let end = i;
      while (start < end && isOws(value.charCodeAt(start))) start++;
      while (end > start && isOws(value.charCodeAt(end - 1))) end--;
      if (end > start) {
        elementStart = start;
        elementEnd = end;
        return i + 1;
      }
      start = i + 1;
    }
  }
  return -1;
}

/** `equalsIgnoreAsciiCase` for the part `[start, end)` of `s`. */
export function rangeEqualsIgnoreAsciiCase(s: string, start: number, end: number, lower: string): boolean {
  if (end - start !== lower.length) return false;
  for (let i = start; i < end; i++) {
    let c = s.charCodeAt(i);
    if (c >= 0x41 && c <= 0x5a) c |= 0x20;
    if (c !== lower.charCodeAt(i - start)) return false;
  }
  return true;
}
