/**
 * The shape of one entry in the requirements catalogue (rfc6455.ts,
 * rfc7692.ts, rfc8441.ts): a normative sentence of an RFC, who it binds, and where this
 * library keeps it — the line of code that enforces it and the tests that
 * check it — or why it does not apply to a WebSocket library, or how we
 * deliberately deviate from it.
 *
 * `scripts/requirements.ts` resolves every reference to a file and line and
 * writes docs/rfc6455-requirements.md; `test/unit/requirements.test.ts` fails
 * when a reference no longer resolves or the document is stale.
 */

/** RFC 2119 keywords (RFC 6455 §2: imperative algorithm steps take the keyword that introduces them). */
export type Keyword = 'MUST' | 'MUST NOT' | 'SHOULD' | 'SHOULD NOT' | 'REQUIRED' | 'RECOMMENDED';

/** Whose behaviour the sentence constrains, as far as this library plays that part. */
export type Role = 'client' | 'server' | 'both';

/**
 * A line of code that enforces the rule: the first line of `file` that
 * contains `contains`, which must occur exactly once in the file — or, when
 * the same snippet guards two places, the `occurrence`-th one (1-based).
 * Prefer the condition or the error code (`'WS_ERR_…'`) over declarations:
 * those survive refactorings.
 */
export interface CodeRef {
  file: string;
  contains: string;
  occurrence?: number;
}

/** A test that checks the rule: a `test(`/`it(` call in `file` whose title (as written in the source) contains `name`. */
export interface TestRef {
  file: string;
  name: string;
}

export interface Requirement {
  /** Stable id: `<rfc>-<section>-<short-slug>`, e.g. `6455-5.1-client-masks`. */
  id: string;
  rfc: 6455 | 7692 | 8441;
  section: string;
  keyword: Keyword;
  /** The normative sentence, quoted ("…") or closely paraphrased. */
  text: string;
  roles: Role;
  /**
   * Absent: implemented (needs `code` and `tests`).
   * `not-applicable`: binds someone else (application, intermediary, registry) or a feature we do not offer; `why` says which.
   * `deviation`: we knowingly do otherwise; `why` says what and why (code and tests, when given, show the deviation).
   */
  status?: 'not-applicable' | 'deviation';
  why?: string;
  code?: CodeRef[];
  tests?: TestRef[];
}
