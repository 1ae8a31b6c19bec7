/** Plain-text rendering of results: one line per case, then the counts. */
import type { CaseResult } from './case-types.js';
import { GROUP_TITLES } from './cases/index.js';
import { isFailure } from './judge.js';
import type { RunSummary } from './runner.js';

export function formatResultLine(r: CaseResult): string {
  const mark = isFailure(r) ? 'FAIL' : r.behavior === 'OK' && r.behaviorClose === 'OK' ? 'pass' : 'note';
  const code = r.remoteCloseCode === null ? '-' : String(r.remoteCloseCode);
  const close = `close ${r.behaviorClose} (${code})`;
  const why = r.behavior === 'OK' && r.behaviorClose === 'OK' ? '' : `  ${r.behavior === 'OK' ? r.resultClose : r.result}`;
  return `${mark}  ${r.id.padEnd(8)} ${r.behavior.padEnd(13)} ${close.padEnd(28)} ${String(r.durationMs).padStart(6)} ms${why}`;
}

export function formatDetails(r: CaseResult): string[] {
  const lines = [
    `      ${r.description}`,
    `      result: ${r.result}`,
    `      close:  ${r.resultClose}`,
    `      expected: ${JSON.stringify(r.expected)}`,
    `      received: ${JSON.stringify(r.received)}`,
    `      closedByMe=${r.closedByMe} failedByMe=${r.failedByMe} droppedByMe=${r.droppedByMe} wasClean=${r.wasClean} localCloseCode=${r.localCloseCode} remoteCloseCode=${r.remoteCloseCode}`,
  ];
  if (r.wasNotCleanReason !== null) lines.push(`      wasNotCleanReason: ${r.wasNotCleanReason}`);
  for (const note of r.notes) lines.push(`      note: ${note}`);
  for (const t of r.trace ?? []) lines.push(`        | ${t}`);
  return lines;
}

function counts(record: Readonly<Record<string, number | undefined>>): string {
  return Object.entries(record)
    .map(([k, v]) => `${k} ${v}`)
    .join(', ');
}

export function formatSummary(summary: RunSummary): string[] {
  const byGroup = new Map<string, { n: number; failed: number }>();
  for (const r of summary.results) {
    const g = r.id.split('.')[0];
    const entry = byGroup.get(g) ?? { n: 0, failed: 0 };
    entry.n++;
    if (isFailure(r)) entry.failed++;
    byGroup.set(g, entry);
  }
  const lines = ['', 'Cases per group:'];
  for (const [g, e] of byGroup) lines.push(`  ${g.padStart(2)} ${(GROUP_TITLES[g] ?? '').padEnd(20)} ${String(e.n).padStart(4)} cases, ${e.failed} failed`);
  lines.push(`Behavior: ${counts(summary.behaviorCounts)}`);
  lines.push(`Close:    ${counts(summary.closeCounts)}`);
  lines.push(`Time:     ${(summary.durationMs / 1000).toFixed(1)} s`);
  lines.push(`${summary.passed} passed, ${summary.failed} failed`);
  return lines;
}
