/**
 * `nats` is an optional peer dependency, loaded only by `wsrfc/nats`: in a
 * child process where resolving `nats` fails as if the package were absent,
 * importing `wsrfc` and `wsrfc/sans-io` works (so neither loads it), and
 * starting a natsBackplane fails with WS_ERR_NATS_CLIENT_MISSING naming the
 * npm install line.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

const HIDE_NATS_HOOK = `
export async function resolve(specifier, context, next) {
  if (specifier === 'nats' || specifier.startsWith('nats/')) {
    const error = new Error("Cannot find package '" + specifier + "' (hidden by the test)");
    error.code = 'ERR_MODULE_NOT_FOUND';
    throw error;
  }
  return next(specifier, context);
}`;

const src = (path: string) => new URL(`../../src/${path}`, import.meta.url).href;

test('wsrfc and wsrfc/sans-io load without the nats package; wsrfc/nats says how to install it', { timeout: 30_000 }, async () => {
  const folder = mkdtempSync(join(tmpdir(), 'wsrfc-no-nats-'));
  try {
    const script = join(folder, 'probe.mjs');
    writeFileSync(
      script,
      `import { register } from 'node:module';
register('data:text/javascript,' + encodeURIComponent(${JSON.stringify(HIDE_NATS_HOOK)}));
const report = {};
const core = await import(${JSON.stringify(src('index.ts'))});
const sansIo = await import(${JSON.stringify(src('sans-io.ts'))});
report.core = typeof core.createServer;
report.sansIo = Object.keys(sansIo).length > 0;
try { await import('nats'); report.hidden = false; } catch { report.hidden = true; }
const { natsBackplane } = await import(${JSON.stringify(src('nats/index.ts'))});
try {
  await natsBackplane({ servers: 'nats://127.0.0.1:1' }).start(() => {}, () => {});
  report.start = 'started';
} catch (error) {
  report.start = { code: error.code, message: error.message };
}
console.log(JSON.stringify(report));
`,
    );
    const { stdout } = await run(process.execPath, ['--import', 'tsx', script], { cwd: new URL('../../', import.meta.url).pathname, timeout: 25_000 });
    const report = JSON.parse(stdout.trim().split('\n').at(-1)!);
    assert.equal(report.hidden, true, 'the hook hides nats (else this test proves nothing)');
    assert.equal(report.core, 'function', 'wsrfc loads without nats');
    assert.equal(report.sansIo, true, 'wsrfc/sans-io loads without nats');
    assert.equal(report.start.code, 'WS_ERR_NATS_CLIENT_MISSING');
    assert.match(report.start.message, /npm install nats/);
  } finally {
    rmSync(folder, { recursive: true, force: true });
  }
});
