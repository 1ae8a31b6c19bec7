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
  readonly #packed: string;
  /** Number of field lines. */
  readonly #size: number;

  constructor(raw: Iterable<readonly [name: string, value: string]> = []) {
    const fields: string[] = [];
    for (const [name, value] of raw) {
      if (name.includes(SEPARATOR) || value.includes(SEPARATOR)) {
        throw new LocalError('WS_ERR_INVALID_ARGUMENT', 'a header field name or value cannot contain a line feed');
      }
      fields.push(name, value);
    }
    // (join() makes one flat string: concatenation would keep a tree of pieces.)
    this.#packed = fields.join(SEPARATOR);
    this.#size = fields.length / 2;
  }

  /** Calls `visit(nameStart, nameEnd, valueStart, valueEnd)` for each line, in order, with offsets into the packed string. */
  #forEachLine(visit: (nameStart: number, nameEnd: number, valueStart: number, valueEnd: number) => void): void {
    const packed = this.#packed;
    let start = 0;
    for (let line = 0; line < this.#size; line++) {
      const nameEnd = packed.indexOf(SEPARATOR, start);
      let valueEnd = packed.indexOf(SEPARATOR, nameEnd + 1);
      if (valueEnd < 0) valueEnd = packed.length;
      visit(start, nameEnd, nameEnd + 1, valueEnd);
      start = valueEnd + 1;
    }
  }

  /** The field lines as sent, in order, names in their original case. */
  get raw(): ReadonlyArray<readonly [name: string, value: string]> {
    const packed = this.#packed;
    const pairs: Array<readonly [string, string]> = [];
    this.#forEachLine((nameStart, nameEnd, valueStart, valueEnd) => {
      pairs.push(Object.freeze([packed.slice(nameStart, nameEnd), packed.slice(valueStart, valueEnd)] as const));
    });
    return Object.freeze(pairs);
  }

  /** The value of `name` (any case); several lines are joined with ", ". */
  get(name: string): string | undefined {
    const values = this.getAll(name);
    if (values.length === 0) return undefined;
    return values.length === 1 ? values[0] : values.join(', ');
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
    const values: string[] = [];
    this.#forEachLine((nameStart, nameEnd, valueStart, valueEnd) => {
      if (rangeEqualsIgnoreAsciiCase(packed, nameStart, nameEnd, lower)) values.push(packed.slice(valueStart, valueEnd));
    });
    return values;
  }

  /** How many lines carry `name`. */
  count(name: string): number {
    return this.getAll(name).length;
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
    this.#forEachLine((nameStart, nameEnd, valueStart, valueEnd) => {
      const key = packed.slice(nameStart, nameEnd).toLowerCase();
      const value = packed.slice(valueStart, valueEnd);
      out[key] = key in out ? `${out[key]}, ${value}` : value;
    });
    return out;
  }

  /** Number of field lines. */
  get size(): number {
    return this.#size;
  }

  /** Debug form for `console.log` / `util.inspect`: `HttpHeaders { 'Host: example.com', ... }`. */
  [Symbol.for('nodejs.util.inspect.custom')](): string {
    const lines = this.raw.map(([name, value]) => JSON.stringify(`${name}: ${value}`));
    return `HttpHeaders { ${lines.join(', ')} }`;
  }
}
