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
export class HttpHeaders {
  /** The field lines as sent, in order, names in their original case. */
  readonly raw: ReadonlyArray<readonly [name: string, value: string]>;
  /** Lowercase name → values in order. A Map: no prototype keys to collide with. */
  readonly #byName = new Map<string, string[]>();

  constructor(raw: Iterable<readonly [name: string, value: string]> = []) {
    const pairs: Array<readonly [string, string]> = [];
    for (const [name, value] of raw) {
      pairs.push(Object.freeze([name, value] as const));
      const key = name.toLowerCase();
      const values = this.#byName.get(key);
      if (values === undefined) this.#byName.set(key, [value]);
      else values.push(value);
    }
    this.raw = Object.freeze(pairs);
  }

  /** The value of `name` (any case); several lines are joined with ", ". */
  get(name: string): string | undefined {
    const values = this.#byName.get(name.toLowerCase());
    if (values === undefined) return undefined;
    return values.length === 1 ? values[0] : values.join(', ');
  }

  /** Every value of `name`, one per line, in order; `[]` if absent. */
  getAll(name: string): string[] {
    const values = this.#byName.get(name.toLowerCase());
    return values === undefined ? [] : values.slice();
  }

  /** How many lines carry `name`. */
  count(name: string): number {
    return this.#byName.get(name.toLowerCase())?.length ?? 0;
  }

  has(name: string): boolean {
    return this.#byName.has(name.toLowerCase());
  }

  /**
   * A plain record of lowercase name → value (repeated lines joined with ", ").
   * It has a null prototype, so a header named `__proto__` or `constructor`
   * is just a key, never a prototype change or an inherited method.
   */
  toObject(): Record<string, string> {
    const out = Object.create(null) as Record<string, string>;
    for (const [key, values] of this.#byName) {
      out[key] = values.length === 1 ? values[0] : values.join(', ');
    }
    return out;
  }

  /** Number of field lines. */
  get size(): number {
    return this.raw.length;
  }

  /** Debug form for `console.log` / `util.inspect`: `HttpHeaders { 'Host: example.com', ... }`. */
  [Symbol.for('nodejs.util.inspect.custom')](): string {
    const lines = this.raw.map(([name, value]) => JSON.stringify(`${name}: ${value}`));
    return `HttpHeaders { ${lines.join(', ')} }`;
  }
}
