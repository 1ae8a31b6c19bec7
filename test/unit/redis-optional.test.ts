/**
 * `redis` is an optional peer dependency, loaded only by `wsrfc/redis`:
 * in a child process where resolving `redis` (or `@redis/*`) fails as if the
 * package were absent, importing `wsrfc` and `wsrfc/sans-io` works (so
 * neither loads it), and starting a redisBackplane fails with
 * WS_ERR_REDIS_CLIENT_MISSING naming the npm install line.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

const HIDE_REDIS_HOOK = `
export async function resolve(specifier, context, next) {
  if (specifier === 'redis' || specifier.startsWith('@redis/')) {
    const error = new Error("Cannot find package '" + specifier + "' (hidden by the test)");
    error.code = 'ERR_MODULE_NOT_FOUND';
    throw error;
  }
  return next(specifier, context);
}`;

const src = (path: string) => new URL(`../../src/${path}`, import.meta.url).href;

test('wsrfc and wsrfc/sans-io load without the redis package; wsrfc/redis says how to install it', { timeout: 30_000 }, async () => {
  const folder = mkdtempSync(join(tmpdir(), 'wsrfc-no-redis-'));
  try {
    const script = join(folder, 'probe.mjs');
    writeFileSync(
      script,
      `import { register } from 'node:module';
register('data:text/javascript,' + encodeURIComponent(${JSON.stringify(HIDE_REDIS_HOOK)}));
const report = {};
const core = await import(${JSON.stringify(src('index.ts'))});
const sansIo = await import(${JSON.stringify(src('sans-io.ts'))});
report.core = typeof core.createServer;
report.sansIo = Object.keys(sansIo).length > 0;
try { await import('redis'); report.hidden = false; } catch { report.hidden = true; }
const { redisBackplane } = await import(${JSON.stringify(src('redis/index.ts'))});
try {
  await redisBackplane({ url: 'redis://127.0.0.1:1' }).start(() => {}, () => {});
  report.start = 'started';
} catch (error) {
  report.start = { code: error.code, message: error.message };
}
console.log(JSON.stringify(report));
`,
    );
    const { stdout } = await run(process.execPath, ['--import', 'tsx', script], { cwd: new URL('../../', import.meta.url).pathname, timeout: 25_000 });
    const report = JSON.parse(stdout.trim().split('\n').at(-1)!);
    assert.equal(report.hidden, true, 'the hook hides redis (else this test proves nothing)');
    assert.equal(report.core, 'function', 'wsrfc loads without redis');
    assert.equal(report.sansIo, true, 'wsrfc/sans-io loads without redis');
    assert.equal(report.start.code, 'WS_ERR_REDIS_CLIENT_MISSING');
    assert.match(report.start.message, /npm install redis/);
  } finally {
    rmSync(folder, { recursive: true, force: true });
  }
});
