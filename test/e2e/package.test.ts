/**
 * The package as npm ships it: `npm pack` (which runs `prepare`, the build)
 * gives a tarball whose `exports` (`wsrfc` and `wsrfc/sans-io`) resolve, whose
 * API is the source's, whose declarations hold nothing `@internal` and
 * typecheck in a consumer that checks library files, and which runs an echo
 * round trip with nothing but the tarball installed.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, readdir, rm, writeFile, mkdir, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import * as source from '../../src/index.js';
import * as sourceSansIo from '../../src/sans-io.js';

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
  assert.deepEqual(Object.keys(manifest.exports).sort(), ['.', './sans-io']);
  for (const entry of Object.values(manifest.exports)) {
    for (const target of Object.values(entry)) {
      assert.ok(files.has(target.replace(/^\.\//, '')), `exports names ${target}, which the tarball lacks`);
    }
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
import * as sansIo from 'wsrfc/sans-io';
const server = wsrfc.createServer({ host: '127.0.0.1' }, (connection) => connection.on('message', (m) => connection.send(m)));
const { port } = await server.listen(0);
const client = await wsrfc.connect('ws://127.0.0.1:' + port + '/');
const replies = [];
const bothReplies = new Promise((resolve) => client.on('message', (m) => {
  replies.push(typeof m === 'string' ? 'text:' + m : 'binary:' + m.toString('hex'));
  if (replies.length === 2) resolve();
}));
client.send('hello');
client.send(Buffer.from([1, 2, 3]));
await bothReplies; // bounded by the run's timeout below
client.close();
await new Promise((resolve) => client.on('close', resolve));
await server.close();
console.log(JSON.stringify({ exports: Object.keys(wsrfc).sort(), sansIoExports: Object.keys(sansIo).sort(), replies }));
`,
  );
  const result = await run(process.execPath, ['echo.js'], { cwd: consumer, timeout: 30_000 });
  const { exports, sansIoExports, replies } = JSON.parse(result.stdout) as { exports: string[]; sansIoExports: string[]; replies: string[] };
  assert.deepEqual(exports, Object.keys(source).sort());
  assert.deepEqual(sansIoExports, Object.keys(sourceSansIo).sort());
  // ...and works: text comes back as text, binary as binary.
  assert.deepEqual(replies, ['text:hello', 'binary:010203']);

  // ...its declarations hold nothing internal (tsconfig.build.json strips
  // `@internal` members)...
  const installed = join(consumer, 'node_modules', 'wsrfc');
  const declarations = (await readdir(join(installed, 'dist'), { recursive: true })).filter((file) => file.endsWith('.d.ts'));
  assert.ok(declarations.includes('index.d.ts') && declarations.includes('sans-io.d.ts'), 'both entry points have declarations');
  for (const file of declarations) {
    const text = await readFile(join(installed, 'dist', file), 'utf8');
    assert.ok(!text.includes('@internal'), `dist/${file} declares an @internal member`);
  }

  // ...and they typecheck in a strict consumer that does not skip library
  // checks, naming types through both entry points.
  await symlink(join(REPO, 'node_modules', '@types'), join(consumer, 'node_modules', '@types'), 'dir');
  await writeFile(
    join(consumer, 'consumer.ts'),
    `import { createServer, type ClientConnection, type CloseInfo, type FrameLogger, type HttpHeaders, type PerMessageDeflateOptions, type WebSocketConnection } from 'wsrfc';
import { WebSocketProtocol, type ProtocolListener } from 'wsrfc/sans-io';
const logger: FrameLogger = (line) => console.log(line);
const deflate: PerMessageDeflateOptions = { threshold: 0 };
export const server = createServer({ logger, perMessageDeflate: deflate }, (ws) => {
  const headers: HttpHeaders = ws.headers;
  ws.closed.then((info: CloseInfo) => console.log(info.code, headers.get('host')));
});
const listener: ProtocolListener = { onText() {}, onBinary() {}, onPing() {}, onPong() {}, onCloseFrame() {}, onProtocolError() {}, onInternalError() {} };
export const core = new WebSocketProtocol(listener, { role: 'client' });
// What only the library calls is not in the declarations (each line must fail to compile).
export function internals(ws: WebSocketConnection, client: ClientConnection): void {
  // @ts-expect-error the core's listener callbacks are internal
  ws.onText('x');
  // @ts-expect-error started by the server or connect()
  client.start(Buffer.alloc(0));
  // @ts-expect-error broadcast's path
  ws.sendEncodedFrame(Buffer.alloc(0));
  // @ts-expect-error the parser's sink methods are internal
  core.frameEnd();
}
`,
  );
  await writeFile(
    join(consumer, 'tsconfig.json'),
    JSON.stringify({
      compilerOptions: { module: 'NodeNext', moduleResolution: 'NodeNext', target: 'ES2022', strict: true, skipLibCheck: false, noEmit: true, types: ['node'] },
      files: ['consumer.ts'],
    }),
  );
  const tsc = join(REPO, 'node_modules', 'typescript', 'bin', 'tsc');
  const checked = await run(process.execPath, [tsc, '-p', '.'], { cwd: consumer, timeout: 60_000 }).then(
    () => '',
    (error: { stdout?: string }) => error.stdout ?? String(error),
  );
  assert.equal(checked, '', 'the shipped declarations typecheck');
});
