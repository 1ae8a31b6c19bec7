/**
 * `redis` and `nats` are optional peer dependencies, each loaded only by its
 * entry point (`wsrfc/redis`, `wsrfc/nats`): for each, in a child process
 * where resolving the package (or its sub-packages) fails as if it were
 * absent, importing `wsrfc` and `wsrfc/sans-io` works (so neither loads it),
 * and starting its backplane fails with its WS_ERR_*_CLIENT_MISSING naming
 * the npm install line.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

const src = (path: string) => new URL(`../../src/${path}`, import.meta.url).href;

const PEERS = [
  // `@redis/*`: node-redis's own packages, which `redis` re-exports.
  { name: 'redis', hides: "specifier === 'redis' || specifier.startsWith('@redis/')", factory: 'redisBackplane', target: "{ url: 'redis://127.0.0.1:1' }", code: 'WS_ERR_REDIS_CLIENT_MISSING' },
  { name: 'nats', hides: "specifier === 'nats' || specifier.startsWith('nats/')", factory: 'natsBackplane', target: "{ servers: 'nats://127.0.0.1:1' }", code: 'WS_ERR_NATS_CLIENT_MISSING' },
] as const;

for (const peer of PEERS) {
  test(`wsrfc and wsrfc/sans-io load without the ${peer.name} package; wsrfc/${peer.name} says how to install it`, { timeout: 30_000 }, async () => {
    const hideHook = `
export async function resolve(specifier, context, next) {
  if (${peer.hides}) {
    const error = new Error("Cannot find package '" + specifier + "' (hidden by the test)");
    error.code = 'ERR_MODULE_NOT_FOUND';
    throw error;
  }
  return next(specifier, context);
}`;
    const folder = mkdtempSync(join(tmpdir(), `wsrfc-no-${peer.name}-`));
    try {
      const script = join(folder, 'probe.mjs');
      writeFileSync(
        script,
        `import { register } from 'node:module';
register('data:text/javascript,' + encodeURIComponent(${JSON.stringify(hideHook)}));
const report = {};
const core = await import(${JSON.stringify(src('index.ts'))});
const sansIo = await import(${JSON.stringify(src('sans-io.ts'))});
report.core = typeof core.createServer;
report.sansIo = Object.keys(sansIo).length > 0;
try { await import(${JSON.stringify(peer.name)}); report.hidden = false; } catch { report.hidden = true; }
const { ${peer.factory} } = await import(${JSON.stringify(src(`${peer.name}/index.ts`))});
try {
  await ${peer.factory}(${peer.target}).start(() => {}, () => {});
  report.start = 'started';
} catch (error) {
  report.start = { code: error.code, message: error.message };
}
console.log(JSON.stringify(report));
`,
      );
      const { stdout } = await run(process.execPath, ['--import', 'tsx', script], { cwd: new URL('../../', import.meta.url).pathname, timeout: 25_000 });
      const report = JSON.parse(stdout.trim().split('\n').at(-1)!);
      assert.equal(report.hidden, true, `the hook hides ${peer.name} (else this test proves nothing)`);
      assert.equal(report.core, 'function', `wsrfc loads without ${peer.name}`);
      assert.equal(report.sansIo, true, `wsrfc/sans-io loads without ${peer.name}`);
      assert.equal(report.start.code, peer.code);
      assert.match(report.start.message, new RegExp(`npm install ${peer.name}`));
    } finally {
      rmSync(folder, { recursive: true, force: true });
    }
  });
}
