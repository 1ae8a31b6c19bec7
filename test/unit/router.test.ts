/**
 * The router (src/server/router.ts): patterns with `:name` parameters and a
 * trailing `*`, the most specific route winning segment by segment,
 * percent-decoding per segment, malformed patterns refused, and a cost
 * linear in the path's length.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { performance } from 'node:perf_hooks';
import { Router, RouteMatchError } from '../../src/server/router.js';
import { LocalError } from '../../src/errors.js';

function router(...patterns: string[]): Router<string> {
  const r = new Router<string>();
  for (const pattern of patterns) r.add(pattern, pattern);
  return r;
}

function match(r: Router<string>, path: string): [string, Record<string, string>] | null {
  const found = r.match(path);
  return found === null ? null : [found.value, { ...found.params }];
}

describe('Router: what matches', () => {
  it('exact paths, the root included; the query is not part of the path', () => {
    const r = router('/', '/chat', '/a/b');
    assert.deepEqual(match(r, '/'), ['/', {}]);
    assert.deepEqual(match(r, '/chat'), ['/chat', {}]);
    assert.deepEqual(match(r, '/a/b'), ['/a/b', {}]);
    assert.equal(match(r, '/a'), null);
    assert.equal(match(r, '/chat/'), null, 'no trailing-slash folding');
    assert.equal(match(r, '/a/b/c'), null);
  });

  it('parameters take one non-empty segment each, by name', () => {
    const r = router('/rooms/:id', '/rooms/:id/users/:user');
    assert.deepEqual(match(r, '/rooms/42'), ['/rooms/:id', { id: '42' }]);
    assert.deepEqual(match(r, '/rooms/42/users/ada'), ['/rooms/:id/users/:user', { id: '42', user: 'ada' }]);
    assert.equal(match(r, '/rooms/'), null, 'an empty segment is no parameter');
    assert.equal(match(r, '/rooms'), null);
    assert.equal(match(r, '/rooms/42/'), null);
    assert.equal(match(r, '/rooms/42/users'), null);
  });

  it("a trailing wildcard takes the rest of the path, maybe empty, as params['*']", () => {
    const r = router('/files/*');
    assert.deepEqual(match(r, '/files/a/b.txt'), ['/files/*', { '*': 'a/b.txt' }]);
    assert.deepEqual(match(r, '/files/'), ['/files/*', { '*': '' }]);
    assert.deepEqual(match(r, '/files//x/'), ['/files/*', { '*': '/x/' }]);
    assert.equal(match(r, '/files'), null, '/files/* is under /files/, not /files itself');
    assert.deepEqual(match(router('/*'), '/anything/at/all'), ['/*', { '*': 'anything/at/all' }]);
  });

  it('parameters and a wildcard together', () => {
    const r = router('/users/:name/files/*');
    assert.deepEqual(match(r, '/users/ada/files/notes/2024.md'), ['/users/:name/files/*', { name: 'ada', '*': 'notes/2024.md' }]);
  });
});

describe('Router: the most specific route wins, segment by segment from the left', () => {
  const r = router('/rooms/lobby', '/rooms/:id', '/rooms/*', '/rooms/:id/log', '/a/*', '/a/b/*', '/a/:x/c', '/*');

  it('a literal beats a parameter beats a wildcard', () => {
    assert.deepEqual(match(r, '/rooms/lobby'), ['/rooms/lobby', {}]);
    assert.deepEqual(match(r, '/rooms/7'), ['/rooms/:id', { id: '7' }]);
    assert.deepEqual(match(r, '/rooms/7/x'), ['/rooms/*', { '*': '7/x' }]);
    assert.deepEqual(match(r, '/rooms/'), ['/rooms/*', { '*': '' }], 'empty: no parameter, the wildcard');
  });

  it('a route that goes on beats a wildcard that stopped earlier; when the specific branch fails, the next one is tried', () => {
    assert.deepEqual(match(r, '/rooms/lobby/log'), ['/rooms/:id/log', { id: 'lobby' }], 'the literal branch has no /log: the parameter one does');
    assert.deepEqual(match(r, '/a/b/c'), ['/a/b/*', { '*': 'c' }], 'the literal b (second segment) beats the parameter :x');
    assert.deepEqual(match(r, '/a/z/c'), ['/a/:x/c', { x: 'z' }]);
    assert.deepEqual(match(r, '/a/z/d'), ['/a/*', { '*': 'z/d' }]);
    assert.deepEqual(match(r, '/elsewhere'), ['/*', { '*': 'elsewhere' }]);
  });

  it('adding a pattern again replaces its value', () => {
    const again = new Router<number>();
    again.add('/x/:id', 1);
    again.add('/x/:id', 2);
    assert.equal(again.match('/x/1')?.value, 2);
  });
});

describe('Router: percent-decoding, per segment', () => {
  it('values and literals are compared decoded; %2F stays inside its segment', () => {
    const r = router('/rooms/:id', '/café');
    assert.deepEqual(match(r, '/rooms/a%20b'), ['/rooms/:id', { id: 'a b' }]);
    assert.deepEqual(match(r, '/rooms/a%2Fb'), ['/rooms/:id', { id: 'a/b' }]);
    assert.deepEqual(match(r, '/caf%C3%A9'), ['/café', {}]);
    assert.deepEqual(match(router('/files/*'), '/files/a%2Fb/c%20d'), ['/files/*', { '*': 'a/b/c d' }]);
  });

  it('a malformed or non-UTF-8 escape in a segment the router reads is a RouteMatchError (the server answers 400)', () => {
    const r = router('/rooms/:id', '/files/*');
    for (const path of ['/rooms/%zz', '/rooms/%E', '/rooms/%FF', '/files/ok/%C3%28']) {
      assert.throws(() => r.match(path), RouteMatchError, path);
    }
    assert.equal(r.match('/nothing/%zz'), null, 'a segment no route reads is not decoded');
  });

  it('a parameter named like an Object.prototype key is an own key, nothing more', () => {
    const r = router('/p/:__proto__/:constructor');
    const found = r.match('/p/a/b')!;
    assert.equal(Object.getPrototypeOf(found.params), Object.prototype);
    assert.deepEqual(Object.entries(found.params), [['__proto__', 'a'], ['constructor', 'b']]);
    assert.ok(Object.isFrozen(found.params));
  });
});

describe('Router: malformed patterns are a LocalError WS_ERR_INVALID_ROUTE', () => {
  for (const pattern of ['rooms', '', '/files/*/more', '/a*', '/:', '/:bad-name', '/x/:id/*x']) {
    it(JSON.stringify(pattern), () => {
      assert.throws(() => router(pattern), (error: unknown) => error instanceof LocalError && error.code === 'WS_ERR_INVALID_ROUTE');
    });
  }
  it('two parameter names for one segment', () => {
    const r = router('/rooms/:id');
    assert.throws(() => r.add('/rooms/:name/x', 'x'), { code: 'WS_ERR_INVALID_ROUTE', message: /already the parameter :id/ });
    r.add('/rooms/:id/x', 'fine');
  });
});

describe('Router: linear cost', () => {
  it('a long path against many routes: time grows with the path, no backtracking blow-up', () => {
    // Routes that make a backtracking matcher try every branch at every level.
    const r = new Router<number>();
    for (let depth = 1; depth <= 20; depth++) {
      r.add('/' + Array.from({ length: depth }, () => ':p').join('/') + '/end', depth);
      r.add('/' + Array.from({ length: depth }, () => 'a').join('/') + '/x', depth);
    }
    r.add('/a/*', -1);
    const time = (segments: number): number => {
      const path = '/' + Array.from({ length: segments }, () => 'a').join('/') + '/zzz';
      const start = performance.now();
      for (let i = 0; i < 200; i++) assert.equal(r.match(path)?.value, -1);
      return performance.now() - start;
    };
    time(1000); // warm up
    const short = time(1000);
    const long = time(8000);
    // Eight times the path: well under 8 × 8 the time (quadratic would be 64×).
    assert.ok(long < short * 24 + 20, `1000 segments: ${short.toFixed(1)} ms, 8000: ${long.toFixed(1)} ms`);
  });
});
