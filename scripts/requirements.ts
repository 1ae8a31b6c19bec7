/**
 * The RFC requirements catalogue, checked against the source and written out
 * as docs/rfc6455-requirements.md.
 *
 *   npm run requirements            check, and rewrite the document
 *   npm run requirements -- --check check only: exit 1 on any problem or a stale document
 *
 * Every entry of docs/requirements/rfc6455.ts, rfc7692.ts and rfc8441.ts is resolved:
 * each code snippet to the one line of its file that holds it, each test to
 * the one `test(`/`it(` call whose title contains the given text. A snippet
 * that moved is reported with the files and lines where it appears now, so a
 * refactoring is re-pointed in minutes. test/unit/requirements.test.ts runs
 * the same check.
 */
import { readFileSync, readdirSync, statSync, writeFileSync, existsSync } from 'node:fs';
import { join, relative, resolve, dirname } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { CodeRef, Requirement, TestRef } from '../docs/requirements/types.js';
import { RFC6455 } from '../docs/requirements/rfc6455.js';
import { RFC7692 } from '../docs/requirements/rfc7692.js';
import { RFC8441 } from '../docs/requirements/rfc8441.js';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const DOCUMENT = 'docs/rfc6455-requirements.md';
export const CATALOGUE: readonly Requirement[] = [...RFC6455, ...RFC7692, ...RFC8441];

const KEYWORDS = new Set(['MUST', 'MUST NOT', 'SHOULD', 'SHOULD NOT', 'REQUIRED', 'RECOMMENDED']);
const ROLES = new Set(['client', 'server', 'both']);

/** A reference resolved to a line (1-based). */
export interface Location {
  file: string;
  line: number;
}

export interface ResolvedRequirement {
  requirement: Requirement;
  code: Location[];
  tests: Location[];
}

export interface CheckResult {
  resolved: ResolvedRequirement[];
  /** One line per problem, naming the entry, the file and the snippet or title. Empty when all is well. */
  problems: string[];
}

/** Reads files relative to the root once per check. */
class SourceTree {
  private readonly cache = new Map<string, string | null>();
  private listing: string[] | null = null;

  constructor(private readonly root: string) {}

  read(file: string): string | null {
    let text = this.cache.get(file);
    if (text === undefined) {
      const path = join(this.root, file);
      text = existsSync(path) && statSync(path).isFile() ? readFileSync(path, 'utf8') : null;
      this.cache.set(file, text);
    }
    return text;
  }

  /** Every .ts file under src/ and test/, for "where did it go" hints. */
  files(): string[] {
    if (this.listing === null) {
      this.listing = [];
      for (const top of ['src', 'test']) this.walk(join(this.root, top), this.listing);
      this.listing.sort();
    }
    return this.listing;
  }

  private walk(dir: string, out: string[]): void {
    if (!existsSync(dir)) return;
    for (const name of readdirSync(dir)) {
      if (name === 'node_modules') continue;
      const path = join(dir, name);
      if (statSync(path).isDirectory()) this.walk(path, out);
      else if (name.endsWith('.ts')) out.push(relative(this.root, path).split('\\').join('/'));
    }
  }
}

/** 1-based line numbers of every occurrence of `needle` in `text`. */
function occurrences(text: string, needle: string): number[] {
  const lines: number[] = [];
  let from = 0;
  for (;;) {
    const at = text.indexOf(needle, from);
    if (at < 0) return lines;
    lines.push(lineOf(text, at));
    from = at + needle.length;
  }
}

function lineOf(text: string, index: number): number {
  let line = 1;
  for (let i = text.indexOf('\n'); i >= 0 && i < index; i = text.indexOf('\n', i + 1)) line++;
  return line;
}

/** `src/a.ts:12, src/b.ts:40` — where a snippet appears in the tree, for the failure message. */
function whereElse(tree: SourceTree, needle: string, exclude: string): string {
  const hits: string[] = [];
  for (const file of tree.files()) {
    if (file === exclude) continue;
    const text = tree.read(file);
    if (text === null) continue;
    for (const line of occurrences(text, needle)) hits.push(`${file}:${line}`);
  }
  if (hits.length > 0) return `it appears now in ${list(hits)}`;
  // Not verbatim anywhere: point at lines sharing its most distinctive part
  // (an error code, else its longest identifier), likely the rule's new home.
  const core = /'(?:WS|HS)_ERR_\w+'/.exec(needle)?.[0] ?? longestWord(needle);
  if (core === undefined) return 'it appears in no file under src/ or test/';
  const near: string[] = [];
  for (const file of tree.files()) {
    if (!file.startsWith('src/')) continue;
    const text = tree.read(file);
    if (text !== null) for (const line of occurrences(text, core)) near.push(`${file}:${line}`);
  }
  return `it appears in no file under src/ or test/; lines with ${JSON.stringify(core)}: ${near.length === 0 ? 'none' : list(near)}`;
}

function list(locations: string[]): string {
  return `${locations.slice(0, 8).join(', ')}${locations.length > 8 ? `, … (${locations.length} in all)` : ''}`;
}

/** The longest identifier-like word of a snippet (8 characters at least), for a near-miss search. */
function longestWord(snippet: string): string | undefined {
  const words = snippet.match(/[A-Za-z_$][\w$]{7,}/g) ?? [];
  return words.sort((a, b) => b.length - a.length)[0];
}

function resolveCode(tree: SourceTree, ref: CodeRef, problem: (message: string) => void): Location | null {
  if (ref.contains.includes('\n')) {
    problem(`code snippet spans lines (one line only): ${JSON.stringify(ref.contains)}`);
    return null;
  }
  if (ref.contains.trim().length < 6) {
    problem(`code snippet ${JSON.stringify(ref.contains)} is too short to point at one rule`);
    return null;
  }
  const text = tree.read(ref.file);
  if (text === null) {
    problem(`file ${ref.file} does not exist; looking for ${JSON.stringify(ref.contains)}: ${whereElse(tree, ref.contains, ref.file)}`);
    return null;
  }
  const lines = occurrences(text, ref.contains);
  if (lines.length === 0) {
    problem(`${ref.file} no longer contains ${JSON.stringify(ref.contains)}; ${whereElse(tree, ref.contains, ref.file)}`);
    return null;
  }
  if (ref.occurrence !== undefined) {
    if (ref.occurrence < 1 || ref.occurrence > lines.length) {
      problem(`${ref.file} contains ${JSON.stringify(ref.contains)} ${lines.length} time(s) (lines ${lines.join(', ')}), not an occurrence #${ref.occurrence}`);
      return null;
    }
    return { file: ref.file, line: lines[ref.occurrence - 1] };
  }
  if (lines.length > 1) {
    problem(`${ref.file} contains ${JSON.stringify(ref.contains)} ${lines.length} times (lines ${lines.join(', ')}): make the snippet distinctive, or give its occurrence`);
    return null;
  }
  return { file: ref.file, line: lines[0] };
}

/** A `test(` or `it(` call and the quote its title opens with. */
const TEST_CALL = /(?:^|[^\w.$])(?:test|it)(?:\.only|\.skip|\.todo)?\s*\(\s*(['"`])/;

/** The text of a string literal starting at `text[start]`, up to its closing `quote` (or the end of `text`); `closed` says whether it closed. */
function literalText(text: string, start: number, quote: string): { title: string; closed: boolean } {
  for (let i = start; i < text.length; i++) {
    if (text[i] === '\\') i++;
    else if (text[i] === quote) return { title: text.slice(start, i), closed: true };
  }
  return { title: text.slice(start), closed: false };
}

/** Every `test(`/`it(` call: the line it starts on and its title as written in the source (a title wrapped onto the next line included). */
function testTitles(text: string): Array<{ line: number; title: string }> {
  const lines = text.split('\n');
  const calls: Array<{ line: number; title: string }> = [];
  for (let i = 0; i < lines.length; i++) {
    const match = TEST_CALL.exec(lines[i]);
    if (match === null) continue;
    const quote = match[1];
    let { title, closed } = literalText(lines[i], match.index + match[0].length, quote);
    if (!closed && i + 1 < lines.length) title += ` ${literalText(lines[i + 1].trimStart(), 0, quote).title}`;
    calls.push({ line: i + 1, title });
  }
  return calls;
}

function resolveTest(tree: SourceTree, ref: TestRef, problem: (message: string) => void): Location | null {
  if (!/^test\/.+\.test\.ts$/.test(ref.file)) {
    problem(`${ref.file} is not a test file (test/**/*.test.ts)`);
    return null;
  }
  const text = tree.read(ref.file);
  const elsewhere = (): string => {
    const hits: string[] = [];
    for (const file of tree.files()) {
      if (file === ref.file || !file.endsWith('.test.ts')) continue;
      const other = tree.read(file);
      if (other === null) continue;
      for (const call of testTitles(other)) if (call.title.includes(ref.name)) hits.push(`${file}:${call.line}`);
    }
    return hits.length === 0 ? 'no test title in test/ contains it' : `a test title contains it in ${hits.slice(0, 8).join(', ')}`;
  };
  if (text === null) {
    problem(`test file ${ref.file} does not exist; looking for the test ${JSON.stringify(ref.name)}: ${elsewhere()}`);
    return null;
  }
  const matches = testTitles(text).filter((call) => call.title.includes(ref.name));
  if (matches.length === 0) {
    problem(`${ref.file} has no test(/it( whose title contains ${JSON.stringify(ref.name)}; ${elsewhere()}`);
    return null;
  }
  if (matches.length > 1) {
    problem(`${ref.file} has ${matches.length} tests whose title contains ${JSON.stringify(ref.name)} (lines ${matches.map((m) => m.line).join(', ')}): quote more of the title`);
    return null;
  }
  return { file: ref.file, line: matches[0].line };
}

/** Check every entry; resolve what can be resolved. Reads the files under `root`. */
export function checkRequirements(catalogue: readonly Requirement[] = CATALOGUE, root: string = ROOT): CheckResult {
  const tree = new SourceTree(root);
  const problems: string[] = [];
  const resolved: ResolvedRequirement[] = [];
  const ids = new Set<string>();
  for (const requirement of catalogue) {
    const problem = (message: string): void => {
      problems.push(`[${requirement.id}] (RFC ${requirement.rfc} §${requirement.section} ${requirement.keyword}) ${message}`);
    };
    if (ids.has(requirement.id)) problem('duplicate id');
    ids.add(requirement.id);
    if (!requirement.id.startsWith(`${requirement.rfc}-${requirement.section}-`)) problem(`id should start with "${requirement.rfc}-${requirement.section}-"`);
    if (!KEYWORDS.has(requirement.keyword)) problem(`unknown keyword ${JSON.stringify(requirement.keyword)}`);
    if (!ROLES.has(requirement.roles)) problem(`unknown roles ${JSON.stringify(requirement.roles)}`);
    if (requirement.text.trim() === '') problem('no requirement text');
    const code = requirement.code ?? [];
    const tests = requirement.tests ?? [];
    if (requirement.status === undefined) {
      // A `why` with neither code nor tests is a deviation or a rule that does not apply whose `status` went missing.
      const lostStatus = requirement.why !== undefined && code.length === 0 && tests.length === 0 ? " (it has a `why` and no references: was its `status: 'deviation'` or 'not-applicable' dropped?)" : '';
      if (code.length === 0) problem(`no code location (add \`code\`, or mark it not-applicable/deviation with a \`why\`)${lostStatus}`);
      if (tests.length === 0) problem(`no test (add \`tests\`, or mark it not-applicable/deviation with a \`why\`)${lostStatus}`);
      if (requirement.why !== undefined && requirement.why.trim() === '') problem('empty `why`');
    } else if (requirement.status !== 'not-applicable' && requirement.status !== 'deviation') {
      problem(`unknown status ${JSON.stringify(requirement.status)}`);
    } else if (requirement.why === undefined || requirement.why.trim() === '') {
      problem(`status ${requirement.status} needs a \`why\``);
    }
    const entry: ResolvedRequirement = { requirement, code: [], tests: [] };
    for (const ref of code) {
      const location = resolveCode(tree, ref, problem);
      if (location !== null) entry.code.push(location);
    }
    for (const ref of tests) {
      const location = resolveTest(tree, ref, problem);
      if (location !== null) entry.tests.push(location);
    }
    resolved.push(entry);
  }
  return { resolved, problems };
}

// ------------------------------------------------------------- the document

function compareSections(a: string, b: string): number {
  const pa = a.split('.').map(Number);
  const pb = b.split('.').map(Number);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pa[i] ?? -1) - (pb[i] ?? -1);
    if (d !== 0) return d;
  }
  return 0;
}

function cell(text: string): string {
  return text.replace(/\\/g, '\\\\').replace(/\|/g, '\\|').replace(/\n/g, ' ');
}

function link(location: Location): string {
  return `[${location.file.replace(/^(src|test)\//, '')}:${location.line}](../${location.file}#L${location.line})`;
}

const TITLES: Record<number, string> = {
  6455: 'RFC 6455, The WebSocket Protocol',
  7692: 'RFC 7692, Compression Extensions for WebSocket (permessage-deflate)',
  8441: 'RFC 8441, Bootstrapping WebSockets with HTTP/2',
};

/** The markdown the generator writes. Pure: the same check result gives the same bytes. */
export function renderDocument(result: CheckResult): string {
  const out: string[] = [];
  out.push('# RFC 6455, RFC 7692 and RFC 8441 requirements, traced to code and tests');
  out.push('');
  out.push('<!-- Generated by `npm run requirements` from docs/requirements/*.ts. Do not edit by hand:');
  out.push('     test/unit/requirements.test.ts fails when this file is not what the generator writes. -->');
  out.push('');
  out.push('Every MUST, MUST NOT, SHOULD and SHOULD NOT of these RFCs that binds a WebSocket client or');
  out.push('server, with the line of code that enforces it and the tests that check it. Requirements on');
  out.push('someone else (the application, an intermediary, IANA) or on a feature this library does not');
  out.push('offer are listed as *not applicable*, with the reason; rules we knowingly bend are listed as');
  out.push('*deviation*, with what we do instead. The catalogue is `docs/requirements/rfc6455.ts`,');
  out.push('`docs/requirements/rfc7692.ts` and `docs/requirements/rfc8441.ts`; a code location is the line holding a snippet of the rule');
  out.push('(its condition or its error code), so a location that stops holding the rule fails the test.');
  out.push('After a refactoring, `npm run requirements -- --check` names each entry whose snippet or test');
  out.push('moved, and where the snippet appears now; re-point it in the catalogue and run `npm run requirements`.');
  out.push('');
  const all = result.resolved;
  const count = (pred: (r: ResolvedRequirement) => boolean): number => all.filter(pred).length;
  out.push('| RFC | requirements | implemented | not applicable | deviations |');
  out.push('| --- | ---: | ---: | ---: | ---: |');
  for (const rfc of [6455, 7692, 8441] as const) {
    const of = (r: ResolvedRequirement): boolean => r.requirement.rfc === rfc;
    out.push(`| ${rfc} | ${count(of)} | ${count((r) => of(r) && r.requirement.status === undefined)} | ${count((r) => of(r) && r.requirement.status === 'not-applicable')} | ${count((r) => of(r) && r.requirement.status === 'deviation')} |`);
  }
  out.push('');
  const deviations = all.filter((r) => r.requirement.status === 'deviation');
  if (deviations.length > 0) {
    out.push('Deviations from the RFCs:');
    out.push('');
    for (const r of deviations) out.push(`- **${r.requirement.id}** (RFC ${r.requirement.rfc} §${r.requirement.section}): ${r.requirement.why}`);
    out.push('');
  }
  for (const rfc of [6455, 7692, 8441] as const) {
    out.push(`## ${TITLES[rfc]}`);
    out.push('');
    const entries = all.filter((r) => r.requirement.rfc === rfc);
    const sections = [...new Set(entries.map((r) => r.requirement.section))].sort(compareSections);
    for (const section of sections) {
      out.push(`### §${section}`);
      out.push('');
      out.push('| id | keyword | applies to | requirement | code | tests |');
      out.push('| --- | --- | --- | --- | --- | --- |');
      for (const r of entries.filter((e) => e.requirement.section === section)) {
        const q = r.requirement;
        let code = r.code.map(link).join('<br>');
        if (q.status !== undefined) code = `*${q.status === 'deviation' ? 'deviation' : 'not applicable'}*: ${cell(q.why ?? '')}${code ? `<br>${code}` : ''}`;
        else if (q.why !== undefined) code = `${code}<br>${cell(q.why)}`;
        out.push(`| \`${q.id}\` | ${q.keyword} | ${q.roles} | ${cell(q.text)} | ${code} | ${r.tests.map(link).join('<br>')} |`);
      }
      out.push('');
    }
  }
  return out.join('\n');
}

// --------------------------------------------------------------------- CLI

function main(): void {
  const checkOnly = process.argv.includes('--check');
  const result = checkRequirements();
  for (const problem of result.problems) console.error(`✗ ${problem}`);
  const document = renderDocument(result);
  const path = join(ROOT, DOCUMENT);
  const current = existsSync(path) ? readFileSync(path, 'utf8') : null;
  const implemented = result.resolved.filter((r) => r.requirement.status === undefined).length;
  const summary = `${result.resolved.length} requirements (${implemented} implemented), ${result.problems.length} problem(s)`;
  if (checkOnly) {
    if (current !== document) console.error(`✗ ${DOCUMENT} is stale: run \`npm run requirements\``);
    console.log(summary);
    process.exitCode = result.problems.length > 0 || current !== document ? 1 : 0;
    return;
  }
  if (current !== document) writeFileSync(path, document);
  console.log(`${summary}; ${current === document ? `${DOCUMENT} unchanged` : `wrote ${DOCUMENT}`}`);
  process.exitCode = result.problems.length > 0 ? 1 : 0;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) main();
