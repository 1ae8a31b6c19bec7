/**
 * The package as npm ships it: `npm pack` (which runs `prepare`, the build)
 * gives a tarball whose `exports` resolve, whose API is the source's, and
 * which runs an echo round trip with nothing but the tarball installed.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import * as source from '../../src/index.js';

const run = promisify(execFile);
const REPO = fileURLToPath(new URL('../../', import.meta.url));

test('npm pack builds dist/ and ships a package that imports and echoes on its own', { timeout: 120_000 }, async (t) => {
  const work = await mkdtemp(join(tmpdir(), 'wsrfc-pack-'));
  t.after(() => rm(work, { recursive: true, force: true }));

  const { stdout } = await run('npm', ['pack', '--json', '--pack-destination', work], { cwd: REPO, maxBuffer: 16 * 1024 * 1024 });
  const [packed] = JSON.parse(stdout.slice(stdout.indexOf('['))) as { filename: string; files: { path: string }[] }[];
  const files = new Set(packed.files.map((file) => file.path));

  // Everything package.json points at is in the tarball.
  const manifest = JSON.parse(await readFile(join(REPO, 'package.json'), 'utf8')) as { exports: Record<string, Record<string, string>> };
  for (const target of Object.values(manifest.exports['.'])) {
    assert.ok(files.has(target.replace(/^\.\//, '')), `exports names ${target}, which the tarball lacks`);
  }
  assert.ok(files.has('LICENSE'), 'the licence file ships');
  assert.ok(!files.has('dist/client/cli.js'), 'the terminal client script is not part of the built API');

  // Installed alone (zero runtime dependencies), the built package has the source's API...
  const consumer = join(work, 'consumer');
  await mkdir(join(consumer, 'node_modules'), { recursive: true });
  await run('tar', ['-xzf', join(work, packed.filename), '-C', join(consumer, 'node_modules')]);
  await run('mv', [join(consumer, 'node_modules', 'package'), join(consumer, 'node_modules', 'wsrfc')]);
  await writeFile(join(consumer, 'package.json'), JSON.stringify({ type: 'module', private: true }));
  await writeFile(
    join(consumer, 'echo.js'),
    `import * as wsrfc from 'wsrfc';
const server = wsrfc.createServer({ host: '127.0.0.1' }, (connection) => connection.on('message', (m) => connection.send(m)));
const { port } = await server.listen(0);
const client = await wsrfc.connect('ws://127.0.0.1:' + port + '/');
const replies = [];
client.on('message', (m) => replies.push(typeof m === 'string' ? 'text:' + m : 'binary:' + m.toString('hex')));
client.send('hello');
client.send(Buffer.from([1, 2, 3]));
while (replies.length < 2) await new Promise((resolve) => setTimeout(resolve, 5));
client.close();
await new Promise((resolve) => client.on('close', resolve));
await server.close();
console.log(JSON.stringify({ exports: Object.keys(wsrfc).sort(), replies }));
`,
  );
  const result = await run(process.execPath, ['echo.js'], { cwd: consumer, timeout: 30_000 });
  const { exports, replies } = JSON.parse(result.stdout) as { exports: string[]; replies: string[] };
  assert.deepEqual(exports, Object.keys(source).sort());
  // ...and works: text comes back as text, binary as binary.
  assert.deepEqual(replies, ['text:hello', 'binary:010203']);
});
