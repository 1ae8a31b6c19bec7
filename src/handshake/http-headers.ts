/**
 * The header fields of one HTTP message: the ordered pairs as sent, and a
 * case-insensitive view over them.
 *
 * Field names are case-insensitive (RFC 9110 §5.1), so lookups lowercase the
 * name. A field sent on several lines is one comma-separated list (RFC 9110
 * §5.3: "A recipient MAY combine multiple field lines within a field section
 * that have the same field name into one field line ... by appending each
 * subsequent field line value to the initial field line value in order,
 * separated by a comma (",") and optional whitespace"): `get()` joins them
 * with ", ", while `count()` and `getAll()` let a check insist on exactly one
 * line (Host, Sec-WebSocket-Key).
 *
 * Values are Latin-1 decoded, one character per byte (obs-text survives
 * unchanged); the parser has already trimmed them and refused control bytes.
 */
import { LocalError } from '../errors.js';
import { rangeEqualsIgnoreAsciiCase } from './tokens.js';

/**
 * Joins the names and values in the packed form. No name or value can hold
 * it: a line feed ends a field line in HTTP/1.1 (the parser refuses control
 * bytes in values), and HTTP/2 forbids it in field values too (RFC 9113
 * §8.2.1).
 */
const SEPARATOR = '\n';
const NO_FIELDS = '';

/** Where the value of the line whose name ends at `nameEnd` ends: at the next separator, or the end of the string. */
function valueEndOf(packed: string, nameEnd: number): number {
  const end = packed.indexOf(SEPARATOR, nameEnd + 1);
  return end < 0 ? packed.length : end;
}

/** The header fields of one HTTP message, looked up case-insensitively (see above). */
export class HttpHeaders {
  /**
   * Names and values alternating, as sent, joined into ONE string:
   * `name0\nvalue0\nname1\nvalue1...`. Every open connection keeps its
   * request headers, so their form is its idle memory: one flat string costs
   * its bytes plus one string header, where an array of strings cost an
   * array, its elements and a string object per name and per value (~310 B
   * more for the six lines of a minimal upgrade request, measured with
   * bench/idle-heap.ts; more for a browser's). Lookups scan it in place, so
   * they allocate nothing but the values they return; header sets are small
   * (at most maxHeaderCount lines), and the handshake looks up a fixed set of
   * names (about a dozen), never one per line.
   */
  #packed: string;

  constructor(raw: Iterable<readonly [name: string, value: string]> = []) {
    const fields: string[] = [];
    for (const [name, value] of raw) {
      if (name.includes(SEPARATOR) || value.includes(SEPARATOR)) {
        throw new LocalError('WS_ERR_INVALID_ARGUMENT', 'a header field name or value cannot contain a line feed');
      }
      fields.push(name, value);
    }
    // (join() makes one flat string: concatenation would keep a tree of pieces.)
    // No field lines: ''. One line with an empty name and value: '\n'.
    this.#packed = fields.length === 0 ? NO_FIELDS : fields.join(SEPARATOR);
  }

  /**
   * @internal The head parser's fields: names and values alternating, already
   * checked (no line feed in any), taken as they are (no pair per line).
   */
  static fromFieldList(fields: readonly string[]): HttpHeaders {
    const headers = new HttpHeaders();
    if (fields.length > 0) headers.#packed = fields.join(SEPARATOR);
    return headers;
  }

  /*
   * The lookups below walk the lines with a plain loop (valueEndOf), not a
   * callback per line: the handshake makes about a dozen lookups per request,
   * and a closure and an array each came to ~2.6 KB of garbage per handshake
   * (a heap-allocation sample of 5,000 upgrades; garbage that lives across
   * the handshake's await is promoted, and grows the server's RSS). No private
   * method either: one would add a brand slot to every instance (8 B).
   */

  /** The field lines as sent, in order, names in their original case. */
  get raw(): ReadonlyArray<readonly [name: string, value: string]> {
    const packed = this.#packed;
    const pairs: Array<readonly [string, string]> = [];
    for (let start = 0; start < packed.length; ) {
      const nameEnd = packed.indexOf(SEPARATOR, start);
      const valueEnd = valueEndOf(packed, nameEnd);
      pairs.push(Object.freeze([packed.slice(start, nameEnd), packed.slice(nameEnd + 1, valueEnd)] as const));
      start = valueEnd + 1;
    }
    return Object.freeze(pairs);
  }

  /** The value of `name` (any case); several lines are joined with ", ". */
  get(name: string): string | undefined {
    const lower = name.toLowerCase();
    const packed = this.#packed;
    let found: string | undefined;
    let more: string[] | undefined;
    for (let start = 0; start < packed.length; ) {
      const nameEnd = packed.indexOf(SEPARATOR, start);
      const valueEnd = valueEndOf(packed, nameEnd);
      if (rangeEqualsIgnoreAsciiCase(packed, start, nameEnd, lower)) {
        const value = packed.slice(nameEnd + 1, valueEnd);
        if (found === undefined) found = value;
        else (more ??= [found]).push(value);
      }
      start = valueEnd + 1;
    }
    return more === undefined ? found : more.join(', ');
  }

  /**
   * Every value of `name`, one per line, in order; `[]` if absent.
   *
   * Cost: one pass over the lines (so for `get`, `count` and `has`). The
   * handshake checks look up a fixed set of names (about a dozen), never one
   * per line, so reading a head costs linear time in its size.
   */
  getAll(name: string): string[] {
    const lower = name.toLowerCase();
    const packed = this.#packed;
    // Counted first, made at its size: an empty array pushed to grows to 17 slots (~150 B a lookup).
    const values = new Array<string>(this.count(lower));
    let found = 0;
    for (let start = 0; found < values.length; ) {
      const nameEnd = packed.indexOf(SEPARATOR, start);
      const valueEnd = valueEndOf(packed, nameEnd);
      if (rangeEqualsIgnoreAsciiCase(packed, start, nameEnd, lower)) values[found++] = packed.slice(nameEnd + 1, valueEnd);
      start = valueEnd + 1;
    }
    return values;
  }

  /** How many lines carry `name`. */
  count(name: string): number {
    const lower = name.toLowerCase();
    const packed = this.#packed;
    let count = 0;
    for (let start = 0; start < packed.length; ) {
      const nameEnd = packed.indexOf(SEPARATOR, start);
      if (rangeEqualsIgnoreAsciiCase(packed, start, nameEnd, lower)) count++;
      start = valueEndOf(packed, nameEnd) + 1;
    }
    return count;
  }

  has(name: string): boolean {
    return this.count(name) > 0;
  }

  /**
   * A plain record of lowercase name → value (repeated lines joined with ", ").
   * It has a null prototype, so a header named `__proto__` or `constructor`
   * is just a key, never a prototype change or an inherited method.
   */
  toObject(): Record<string, string> {
    const out = Object.create(null) as Record<string, string>;
    const packed = this.#packed;
    for (let start = 0; start < packed.length; ) {
      const nameEnd = packed.indexOf(SEPARATOR, start);
      const valueEnd = valueEndOf(packed, nameEnd);
      const key = packed.slice(start, nameEnd).toLowerCase();
      const value = packed.slice(nameEnd + 1, valueEnd);
      out[key] = key in out ? `${out[key]}, ${value}` : value;
      start = valueEnd + 1;
    }
    return out;
  }

  /** Number of field lines. */
  get size(): number {
    const packed = this.#packed;
    let size = 0;
    for (let start = 0; start < packed.length; size++) start = valueEndOf(packed, packed.indexOf(SEPARATOR, start)) + 1;
    return size;
  }

  /** Debug form for `console.log` / `util.inspect`: `HttpHeaders { 'Host: example.com', ... }`. */
  [Symbol.for('nodejs.util.inspect.custom')](): string {
    const lines = this.raw.map(([name, value]) => JSON.stringify(`${name}: ${value}`));
    return `HttpHeaders { ${lines.join(', ')} }`;
  }
}
