/**
 * Every RFC 6455 / RFC 7692 requirement in docs/requirements/ is traced to a
 * line of code that still holds its rule and to tests that exist, and
 * docs/rfc6455-requirements.md is what the generator writes (so it cannot go
 * stale). On failure, run `npm run requirements` and read its messages: each
 * names the entry, the file, the snippet, and where the snippet appears now.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { describe, it } from 'node:test';
import type { Requirement } from '../../docs/requirements/types.js';
import { CATALOGUE, DOCUMENT, ROOT, checkRequirements, renderDocument } from '../../scripts/requirements.js';

describe('RFC requirements catalogue (docs/requirements/)', () => {
  const result = checkRequirements();

  it('every entry resolves: each snippet to one line of its file, each test to one test title', () => {
    assert.deepEqual(result.problems, [], `\n${result.problems.join('\n')}\n(run \`npm run requirements\`)`);
  });

  it('every implemented entry has code and tests; every other one says why', () => {
    for (const { requirement, code, tests } of result.resolved) {
      if (requirement.status === undefined) {
        assert.ok(code.length > 0 && tests.length > 0, `${requirement.id}: needs code and tests`);
      } else {
        assert.ok((requirement.why ?? '').trim().length > 20, `${requirement.id}: a ${requirement.status} needs a real why`);
      }
    }
  });

  it('covers both RFCs, and the sections the issue names', () => {
    const sections = (rfc: number): Set<string> => new Set(CATALOGUE.filter((r) => r.rfc === rfc).map((r) => r.section));
    const rfc6455 = sections(6455);
    for (const section of ['4.1', '4.2.1', '4.2.2', '5.1', '5.2', '5.3', '5.4', '5.5', '5.5.1', '5.5.2', '5.6', '6.1', '6.2', '7.1.1', '7.1.7', '7.2.1', '7.4.1', '8.1', '9.1', '10.3', '10.4']) {
      assert.ok(rfc6455.has(section), `RFC 6455 §${section} has no entry`);
    }
    const rfc7692 = sections(7692);
    for (const section of ['5', '6', '7', '7.1.1.1', '7.1.1.2', '7.1.2.1', '7.1.2.2', '7.2.1', '7.2.2']) {
      assert.ok(rfc7692.has(section), `RFC 7692 §${section} has no entry`);
    }
    assert.ok(CATALOGUE.filter((r) => r.rfc === 6455).length >= 100);
    assert.ok(CATALOGUE.filter((r) => r.rfc === 7692).length >= 25);
  });

  it(`${DOCUMENT} is what \`npm run requirements\` writes`, () => {
    const committed = readFileSync(join(ROOT, DOCUMENT), 'utf8');
    assert.ok(committed === renderDocument(result), `${DOCUMENT} is stale: run \`npm run requirements\` and commit it`);
  });
});

describe('the checker fails when a reference no longer holds', () => {
  // A small tree of its own, so the checker's failures are tested, not assumed.
  const root = mkdtempSync(join(tmpdir(), 'wsrfc-requirements-'));
  const write = (file: string, text: string): void => {
    mkdirSync(dirname(join(root, file)), { recursive: true });
    writeFileSync(join(root, file), text);
  };
  write('src/a.ts', "if (opcode >= 8 && !fin) throw new ProtocolError('WS_ERR_FRAGMENTED_CONTROL_FRAME');\nconst twice = 1;\nconst twice = 2;\n");
  write('src/b.ts', "// moved here\nthrow new ProtocolError('WS_ERR_RESERVED_OPCODE');\n");
  write('test/unit/a.test.ts', "it('a fragmented ping fails with 1002', () => {});\ntest(`reserved ${kind} opcode fails`, () => {});\nit('a ping', () => {});\nit('a ping too', () => {});\n");
  const entry = (id: string, extra: Partial<Requirement>): Requirement => ({
    id: `6455-5.4-${id}`, rfc: 6455, section: '5.4', keyword: 'MUST', roles: 'both', text: 'a rule', ...extra,
  });
  const check = (requirement: Requirement): string[] => checkRequirements([requirement], root).problems;

  it('resolves a snippet and a test title (also a template literal) to their lines', () => {
    const result = checkRequirements([entry('ok', {
      code: [{ file: 'src/a.ts', contains: 'opcode >= 8 && !fin' }, { file: 'src/a.ts', contains: 'const twice', occurrence: 2 }],
      tests: [{ file: 'test/unit/a.test.ts', name: 'fragmented ping' }, { file: 'test/unit/a.test.ts', name: 'reserved ${kind} opcode' }],
    })], root);
    assert.deepEqual(result.problems, []);
    assert.deepEqual(result.resolved[0].code, [{ file: 'src/a.ts', line: 1 }, { file: 'src/a.ts', line: 3 }]);
    assert.deepEqual(result.resolved[0].tests, [{ file: 'test/unit/a.test.ts', line: 1 }, { file: 'test/unit/a.test.ts', line: 2 }]);
  });

  it('a snippet that moved: names the entry, the file, the snippet and where it is now', () => {
    const [problem] = check(entry('moved', { code: [{ file: 'src/a.ts', contains: "'WS_ERR_RESERVED_OPCODE'" }], tests: [{ file: 'test/unit/a.test.ts', name: 'fragmented ping' }] }));
    assert.match(problem, /^\[6455-5\.4-moved\] .*src\/a\.ts no longer contains .*WS_ERR_RESERVED_OPCODE.*src\/b\.ts:2/);
  });

  it('a snippet that changed: points at the lines that share its error code', () => {
    const [problem] = check(entry('changed', { code: [{ file: 'src/a.ts', contains: "throw new LocalError('WS_ERR_RESERVED_OPCODE')" }], tests: [{ file: 'test/unit/a.test.ts', name: 'fragmented ping' }] }));
    assert.match(problem, /appears in no file .*lines with "'WS_ERR_RESERVED_OPCODE'": src\/b\.ts:2/);
  });

  it('a file that is gone, a snippet found twice, a test title that is missing or ambiguous', () => {
    const problems = check(entry('broken', {
      code: [{ file: 'src/gone.ts', contains: 'opcode >= 8 && !fin' }, { file: 'src/a.ts', contains: 'const twice' }],
      tests: [{ file: 'test/unit/a.test.ts', name: 'no such test' }, { file: 'test/unit/a.test.ts', name: 'a ping' }],
    }));
    assert.equal(problems.length, 4);
    assert.match(problems[0], /src\/gone\.ts does not exist.*src\/a\.ts:1/);
    assert.match(problems[1], /contains "const twice" 2 times \(lines 2, 3\)/);
    assert.match(problems[2], /no test\(\/it\( whose title contains "no such test"/);
    assert.match(problems[3], /has 2 tests whose title contains "a ping"/);
  });

  it('an entry without code or tests, or a not-applicable one without a why', () => {
    assert.equal(check(entry('bare', {})).length, 2);
    assert.match(check(entry('na', { status: 'not-applicable' }))[0], /needs a `why`/);
    assert.deepEqual(check(entry('na-ok', { status: 'not-applicable', why: 'binds intermediaries' })), []);
  });

  it('a deviation whose status was dropped (a why, no references) is named as such', () => {
    const problems = check(entry('lost', { why: 'connect() does not serialize handshakes per address' }));
    assert.equal(problems.length, 2);
    for (const problem of problems) assert.match(problem, /was its `status: 'deviation'` or 'not-applicable' dropped\?/);
    assert.doesNotMatch(check(entry('bare', {}))[0], /dropped/);
  });

  it('cleans up', () => {
    rmSync(root, { recursive: true, force: true });
  });
});
