/**
 * Case selection with Autobahn's pattern rules (fuzzing.py,
 * resolveCasePatternList): '*' matches anything, '.' is literal, a pattern
 * with a '*' matches from the start of the id (so '9.*' takes 9.1.1 …), a
 * pattern without one names a single case. Excludes are applied after
 * includes, and the result is in numeric id order.
 */
import type { CaseDef } from './case-types.js';

export interface CaseFilter {
  /** Default ['*']. */
  readonly cases?: readonly string[];
  readonly exclude?: readonly string[];
}

/** A filter given as 'a,b' or ['a', 'b'] (cases only) or as {cases, exclude}. */
export type FilterInput = string | readonly string[] | CaseFilter | undefined;

export function normalizeFilter(input: FilterInput): CaseFilter {
  if (input === undefined) return { cases: ['*'] };
  if (typeof input === 'string') return { cases: splitList(input) };
  if (isStringArray(input)) return { cases: input };
  return input as CaseFilter;
}

function isStringArray(x: unknown): x is readonly string[] {
  return Array.isArray(x);
}

export function splitList(list: string): string[] {
  return list
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
}

function matcher(pattern: string): (id: string) => boolean {
  if (!pattern.includes('*')) return (id) => id === pattern;
  const source = pattern.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*');
  const re = new RegExp(`^${source}`);
  return (id) => re.test(id);
}

export function compareIds(a: string, b: string): number {
  const pa = a.split('.').map(Number);
  const pb = b.split('.').map(Number);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pa[i] ?? -1) - (pb[i] ?? -1);
    if (d !== 0) return d;
  }
  return 0;
}

export function selectCases(all: readonly CaseDef[], input: FilterInput): CaseDef[] {
  const filter = normalizeFilter(input);
  const include = (filter.cases ?? ['*']).map(matcher);
  const exclude = (filter.exclude ?? []).map(matcher);
  return all
    .filter((c) => include.some((m) => m(c.id)) && !exclude.some((m) => m(c.id)))
    .sort((a, b) => compareIds(a.id, b.id));
}
