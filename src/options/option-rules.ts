/**
 * How an option is checked: a small vocabulary of rules (a whole number in a
 * range, a boolean, one of a few words, a function...), and the one function
 * that applies a table of them to what the application passed.
 *
 * Options are checked when the server is created, or before connect()
 * opens a socket, so that a typo fails at start-up, with the option's name
 * and what it accepts, rather than on the wire later. Every fault is a
 * LocalError with the code WS_ERR_INVALID_OPTION, on both sides.
 *
 * The tables themselves (which option takes which rule) are in
 * src/options/option-tables.ts, and for permessage-deflate in
 * src/extensions/permessage-deflate-negotiation.ts.
 */
import { EventEmitter } from 'node:events';
import { LocalError } from '../errors.js';

/** The code of every invalid option, server or client. */
export const INVALID_OPTION = 'WS_ERR_INVALID_OPTION';

/**
 * Largest delay node:timers honours: a longer one fires after 1 ms (with a
 * TimeoutOverflowWarning), so a timeout above it would do the opposite of
 * what was asked.
 */
export const MAX_TIMER_MS = 2 ** 31 - 1;

export type OptionRule =
  /** A whole number from `min` to `max`; Infinity too if `unlimited` ("no limit"). */
  | { readonly kind: 'integer'; readonly min: number; readonly max: number; readonly unlimited: boolean; readonly unit: string }
  /** A finite number (not necessarily whole) from `min` to `max`: a factor, a fraction. */
  | { readonly kind: 'number'; readonly min: number; readonly max: number }
  | { readonly kind: 'boolean' }
  /** One of a few strings (or booleans: `http2: true | false | 'auto'`). */
  | { readonly kind: 'choice'; readonly choices: ReadonlyArray<string | boolean> }
  /** A string; if `prefix` is not empty, one that starts with it. */
  | { readonly kind: 'string'; readonly prefix: string }
  /** A string, or an array of strings. */
  | { readonly kind: 'strings' }
  /** A function (a hook); null too if `orNull` (the frame logger: null turns it off). */
  | { readonly kind: 'function'; readonly orNull: boolean }
  /** An object handed on to Node or to a builder (TLS settings, headers). */
  | { readonly kind: 'object' }
  /** An object with these methods (an implementation of an interface, such as a Backplane). */
  | { readonly kind: 'methods'; readonly methods: readonly string[] }
  /** A node:http server (an EventEmitter), or a request listener to build one around. */
  | { readonly kind: 'http server' }
  /**
   * A group of options of its own, checked with `rules` (`perMessageDeflate`,
   * `httpLimits`); true or false too if `orBoolean` (true: all defaults).
   * Left out, it is false if it may be, else all its defaults.
   */
  | { readonly kind: 'section'; readonly rules: OptionRules<object>; readonly defaults: object; readonly orBoolean: boolean };

/** A rule for every option of `T`: an option added to an interface without a rule does not compile. */
export type OptionRules<T> = { readonly [K in keyof Required<T>]: OptionRule };

// ─── the rules, by what they accept ─────────────────────────────────────────

/** A whole number of `unit` from `min` to `max`. */
export function integer(min: number, max: number = Number.MAX_SAFE_INTEGER, unit = ''): OptionRule {
  return { kind: 'integer', min, max, unlimited: false, unit };
}

/** A size in bytes (or a count) from `min` up, or Infinity for no limit. */
export function limit(min: number, unit = 'bytes'): OptionRule {
  return { kind: 'integer', min, max: Number.MAX_SAFE_INTEGER, unlimited: true, unit };
}

/** A delay in milliseconds from `min` up to what a timer can wait. `min` 0 usually means "off". */
export function milliseconds(min: number): OptionRule {
  return { kind: 'integer', min, max: MAX_TIMER_MS, unlimited: false, unit: 'ms' };
}

/** A delay in milliseconds from `min` up to what a timer can wait, or Infinity: wait however long. */
export function millisecondsOrForever(min: number): OptionRule {
  return { kind: 'integer', min, max: MAX_TIMER_MS, unlimited: true, unit: 'ms' };
}

/** A finite number from `min` to `max`, fractions included (a backoff factor, a jitter fraction). */
export function number(min: number, max: number): OptionRule {
  return { kind: 'number', min, max };
}

export const boolean: OptionRule = { kind: 'boolean' };
export const string: OptionRule = { kind: 'string', prefix: '' };
export const strings: OptionRule = { kind: 'strings' };
export const hook: OptionRule = { kind: 'function', orNull: false };
export const object: OptionRule = { kind: 'object' };

/** An object with the methods `names`. */
export function methods(...names: string[]): OptionRule {
  return { kind: 'methods', methods: names };
}
export const httpServer: OptionRule = { kind: 'http server' };

export function choice(...choices: Array<string | boolean>): OptionRule {
  return { kind: 'choice', choices };
}

export function section<T extends object>(rules: OptionRules<T>, defaults: Required<T>, orBoolean: boolean): OptionRule {
  return { kind: 'section', rules: rules as OptionRules<object>, defaults, orBoolean };
}

// ─── checking ───────────────────────────────────────────────────────────────

/** What `rule` accepts, in words, for the error message. */
export function describeRule(rule: OptionRule): string {
  switch (rule.kind) {
    case 'integer': {
      const unit = rule.unit === '' ? '' : ` (${rule.unit})`;
      const range = rule.max === Number.MAX_SAFE_INTEGER ? `≥ ${rule.min}` : `from ${rule.min} to ${rule.max}`;
      return `a whole number ${range}${unit}${rule.unlimited ? ', or Infinity for no limit' : ''}`;
    }
    case 'number':
      return `a number from ${rule.min} to ${rule.max}`;
    case 'boolean':
      return 'true or false';
    case 'choice':
      return rule.choices.map((word) => (typeof word === 'string' ? `'${word}'` : String(word))).join(' or ');
    case 'string':
      return rule.prefix === '' ? 'a string' : `a string starting with '${rule.prefix}'`;
    case 'strings':
      return 'a string or an array of strings';
    case 'function':
      return rule.orNull ? 'a function, or null' : 'a function';
    case 'object':
      return 'an object';
    case 'methods':
      return `an object with the methods ${rule.methods.join(', ')}`;
    case 'http server':
      return 'a node:http server or a request listener';
    case 'section':
      return rule.orBoolean ? 'true, false, or an object of its options' : 'an object of its options';
  }
}

/** Whether `value` (not undefined) satisfies `rule`; a section's own options are checked by resolveOptions. */
function accepts(rule: OptionRule, value: unknown): boolean {
  switch (rule.kind) {
    case 'integer':
      if (value === Infinity) return rule.unlimited;
      return typeof value === 'number' && Number.isSafeInteger(value) && value >= rule.min && value <= rule.max;
    case 'number':
      return typeof value === 'number' && Number.isFinite(value) && value >= rule.min && value <= rule.max;
    case 'boolean':
      return typeof value === 'boolean';
    case 'choice':
      return (typeof value === 'string' || typeof value === 'boolean') && rule.choices.includes(value);
    case 'string':
      return typeof value === 'string' && value.startsWith(rule.prefix);
    case 'strings':
      return typeof value === 'string' || (Array.isArray(value) && value.every((item) => typeof item === 'string'));
    case 'function':
      return typeof value === 'function' || (rule.orNull && value === null);
    case 'object':
      return typeof value === 'object' && value !== null;
    case 'methods':
      return typeof value === 'object' && value !== null && rule.methods.every((name) => typeof (value as Record<string, unknown>)[name] === 'function');
    case 'http server':
      return value instanceof EventEmitter || typeof value === 'function';
    case 'section':
      return (typeof value === 'object' && value !== null && !Array.isArray(value)) || (rule.orBoolean && typeof value === 'boolean');
  }
}

/**
 * Check every option of `options` that `rules` names, and fill in the
 * defaults: an option left out, or given as undefined, takes its default
 * (or stays undefined if it has none). A section (`perMessageDeflate`,
 * `httpLimits`) is checked option by option and resolved the same way;
 * `true` stands for all its defaults, `false` stays false, and left out it
 * is false if it may be, else all its defaults. `prefix` names the
 * section in messages (`perMessageDeflate.level`).
 *
 * A section is `closed`: it is small and all ours, so a name it does not
 * have is a typo (`treshold`) and is refused. Top-level options the rules do
 * not name are passed through untouched.
 *
 * Throws LocalError WS_ERR_INVALID_OPTION naming the first option that
 * breaks its rule, what it accepts and what it got.
 */
export function resolveOptions<T extends object, D extends object>(rules: OptionRules<T>, defaults: D, options: T, prefix = '', closed = false): T & D {
  const section = prefix === '' ? 'options' : prefix.slice(0, -1);
  if (typeof options !== 'object' || options === null) {
    throw new LocalError(INVALID_OPTION, `${section} must be an object, got ${show(options)}`);
  }
  if (closed) {
    for (const name of Object.keys(options)) {
      if (!Object.hasOwn(rules, name)) throw new LocalError(INVALID_OPTION, `${section} has no option ${JSON.stringify(name)}; its options are ${Object.keys(rules).join(', ')}`);
    }
  }
  const resolved: Record<string, unknown> = { ...(options as Record<string, unknown>) };
  for (const name of Object.keys(rules) as Array<keyof T & string>) {
    const rule = rules[name];
    const value: unknown = (options as Record<string, unknown>)[name];
    if (value === undefined) {
      if (rule.kind === 'section') resolved[name] = rule.orBoolean ? false : { ...rule.defaults };
      else resolved[name] = (defaults as Record<string, unknown>)[name];
      continue;
    }
    if (!accepts(rule, value)) {
      throw new LocalError(INVALID_OPTION, `${prefix}${name} must be ${describeRule(rule)}, got ${show(value)}`);
    }
    if (rule.kind === 'section' && value !== false) {
      resolved[name] = resolveOptions(rule.rules, rule.defaults, value === true ? {} : (value as object), `${prefix}${name}.`, true);
    }
  }
  return resolved as T & D;
}

/** A value as it would be written in code: strings quoted, NaN as NaN. */
function show(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'function') return 'a function';
  if (Array.isArray(value)) return `[${value.map(show).join(', ')}]`;
  if (typeof value === 'object' && value !== null) return 'an object';
  return String(value);
}
