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
import { equalsIgnoreAsciiCase } from './tokens.js';

/** The header fields of one HTTP message, looked up case-insensitively (see above). */
export class HttpHeaders {
  /**
   * Names and values alternating, as sent: [name0, value0, name1, value1, ...].
   * One flat array rather than a pair per line and a map of lists: every
   * open connection keeps its request headers, and header sets are small
   * (at most maxHeaderCount), so a linear, case-insensitive scan is cheap.
   */
  readonly #fields: string[];

  constructor(raw: Iterable<readonly [name: string, value: string]> = []) {
    const fields: string[] = [];
    for (const [name, value] of raw) fields.push(name, value);
    this.#fields = fields;
  }

  /** The field lines as sent, in order, names in their original case. */
  get raw(): ReadonlyArray<readonly [name: string, value: string]> {
    const fields = this.#fields;
    const pairs: Array<readonly [string, string]> = [];
    for (let i = 0; i < fields.length; i += 2) pairs.push(Object.freeze([fields[i], fields[i + 1]] as const));
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
    const fields = this.#fields;
    const values: string[] = [];
    for (let i = 0; i < fields.length; i += 2) if (equalsIgnoreAsciiCase(fields[i], lower)) values.push(fields[i + 1]);
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
    const fields = this.#fields;
    for (let i = 0; i < fields.length; i += 2) {
      const key = fields[i].toLowerCase();
      out[key] = key in out ? `${out[key]}, ${fields[i + 1]}` : fields[i + 1];
    }
    return out;
  }

  /** Number of field lines. */
  get size(): number {
    return this.#fields.length / 2;
  }

  /** Debug form for `console.log` / `util.inspect`: `HttpHeaders { 'Host: example.com', ... }`. */
  [Symbol.for('nodejs.util.inspect.custom')](): string {
    const lines = this.raw.map(([name, value]) => JSON.stringify(`${name}: ${value}`));
    return `HttpHeaders { ${lines.join(', ')} }`;
  }
}
