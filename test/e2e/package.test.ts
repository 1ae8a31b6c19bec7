/**
 * The package as npm ships it: `npm pack` (which runs `prepare`, the build)
 * gives a tarball that `npm install` puts into a CommonJS project and into an
 * ES module project. In each, both entry points (`wsrfc` and `wsrfc/sans-io`)
 * load, `require()` in the one and `import` in the other (Node ≥ 20.19 and
 * ≥ 22.12 require() an ES module without a flag; package.json's `exports`
 * has a `default` condition for it, and `engines` names those versions), and
 * each runs an echo round trip: a server and a client over a real socket, and
 * two sans-I/O cores handing each other bytes. The `wsrfc` bin (the terminal
 * client) runs from the installed package. The API is the source's; the
 * declarations hold nothing `@internal` and typecheck in a consumer that
 * checks library files. `npm publish --dry-run` warns of nothing (but the
 * login it would need).
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

/**
 * The round trips, written once for both module systems: `load` is the
 * first lines of the script, which bind `wsrfc` and `sansIo`.
 */
function echoScript(load: string): string {
  return `${load}
async function main() {
  // Over a real socket: a server that echoes, our client.
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
  await bothReplies; // bounded by the run's timeout
  client.close();
  const closed = await client.closed;
  await server.close();

  // In memory: two sans-I/O cores, a client and a server, wired by hand.
  const quiet = { onBinary() {}, onPing() {}, onPong() {}, onCloseFrame() {}, onProtocolError(e) { throw e; }, onInternalError(e) { throw e; } };
  let serverCore;
  const sansIoReplies = [];
  const clientCore = new sansIo.WebSocketProtocol({ ...quiet, onText: (text) => sansIoReplies.push(text) }, { role: 'client' });
  serverCore = new sansIo.WebSocketProtocol({ ...quiet, onText: (text) => serverCore.sendText(text) }, { role: 'server' });
  clientCore.sendText('hi, core');
  const masked = Buffer.concat(clientCore.takeOutput());
  serverCore.receiveData(masked);
  clientCore.receiveData(Buffer.concat(serverCore.takeOutput()));
  const parsed = [];
  const parser = new sansIo.FrameParser(
    { frameStart: (fin, rsv, opcode) => parsed.push(sansIo.opcodeName(opcode)), payloadDestination: () => null, framePayload() {}, frameEnd() {} },
    { role: 'server', maxFrameSize: 1024, allowedRsv: 0 },
  );
  parser.push(masked);

  console.log(JSON.stringify({
    exports: Object.keys(wsrfc).sort(),
    sansIoExports: Object.keys(sansIo).sort(),
    redisExports: Object.keys(redis).sort(),
    natsExports: Object.keys(nats).sort(),
    replies,
    closeCode: closed.code,
    sansIoReplies,
    parsed,
  }));
}
main().catch((error) => { console.error(error); process.exit(1); });
`;
}

interface EchoReport {
  exports: string[];
  sansIoExports: string[];
  redisExports: string[];
  natsExports: string[];
  replies: string[];
  closeCode: number;
  sansIoReplies: string[];
  parsed: string[];
}

test('npm pack ships a package that CommonJS require()s and ES modules import, with a runnable bin', { timeout: 120_000 }, async (t) => {
  const work = await mkdtemp(join(tmpdir(), 'wsrfc-pack-'));
  t.after(() => rm(work, { recursive: true, force: true }));

  const { stdout } = await run('npm', ['pack', '--json', '--pack-destination', work], { cwd: REPO, maxBuffer: 16 * 1024 * 1024 });
  const [packed] = JSON.parse(stdout.slice(stdout.indexOf('['))) as { filename: string; files: { path: string }[] }[];
  const files = new Set(packed.files.map((file) => file.path));

  // Everything package.json points at is in the tarball, and nothing a user
  // does not need: the build, its source (for the source maps), the licence.
  const manifest = JSON.parse(await readFile(join(REPO, 'package.json'), 'utf8')) as {
    exports: Record<string, string | Record<string, string>>;
    bin: Record<string, string>;
    engines: { node: string };
    typesVersions: Record<string, Record<string, string[]>>;
  };
  assert.deepEqual(Object.keys(manifest.exports).sort(), ['.', './nats', './package.json', './redis', './sans-io']);
  // TypeScript's node10 resolution (a CommonJS project's "module": "commonjs")
  // ignores `exports`: typesVersions gives it the same declarations for each subpath.
  const subpathTypes = Object.entries(manifest.exports).flatMap(([subpath, entry]) =>
    typeof entry === 'string' || subpath === '.' ? [] : [[subpath.slice(2), [entry.types]] as const],
  );
  assert.deepEqual(manifest.typesVersions, { '*': Object.fromEntries(subpathTypes) }, 'typesVersions maps every subpath to its exports types');
  for (const [subpath, entry] of Object.entries(manifest.exports)) {
    const targets = typeof entry === 'string' ? [entry] : Object.values(entry);
    for (const target of targets) assert.ok(files.has(target.replace(/^\.\//, '')), `exports names ${target}, which the tarball lacks`);
    // `default`, not `import`: require() must find the entry point too.
    if (typeof entry !== 'string') assert.deepEqual(Object.keys(entry), ['types', 'default'], `${subpath}: types first, then default`);
  }
  assert.equal(manifest.bin.wsrfc, 'dist/client/cli.js');
  assert.equal(manifest.engines.node, '^20.19.0 || >=22.12.0', 'engines names the versions that require() an ES module');
  assert.ok(files.has('dist/client/cli.js'), 'the terminal client is built');
  assert.ok(files.has('LICENSE') && files.has('README.md') && files.has('package.json'));
  const outside = [...files].filter((file) => !/^(dist|src)\//.test(file) && !['LICENSE', 'README.md', 'package.json'].includes(file));
  assert.deepEqual(outside, [], 'only dist/, src/, the README and the licence ship');
  assert.ok(![...files].some((file) => file.startsWith('src/cli/')), 'the repository-only echo server script does not ship');
  const tarball = join(work, packed.filename);

  // `npm publish --dry-run` is clean: npm corrects nothing in package.json
  // (it drops a bin whose path it finds invalid, with a warning) and warns of
  // nothing but not being logged in. No scripts: `npm pack` just built dist/.
  const publish = await run('npm', ['publish', '--dry-run', '--ignore-scripts', '--offline'], { cwd: REPO, maxBuffer: 16 * 1024 * 1024 });
  const warnings = publish.stderr.split('\n').filter((line) => /^npm (warn|error)/i.test(line) && !/requires you to be logged in/.test(line));
  assert.deepEqual(warnings, [], 'npm publish --dry-run warns of nothing but the login');

  // Two consumers, each installing the tarball the ordinary way (which also
  // links the bin): one CommonJS, one ES module.
  const install = async (name: string, type: 'commonjs' | 'module') => {
    const dir = join(work, name);
    await mkdir(dir);
    await writeFile(join(dir, 'package.json'), JSON.stringify({ name, type, private: true }));
    await run('npm', ['install', '--no-audit', '--no-fund', '--offline', '--no-package-lock', tarball], { cwd: dir, timeout: 60_000 });
    return dir;
  };
  const [cjs, esm] = await Promise.all([install('cjs-consumer', 'commonjs'), install('esm-consumer', 'module')]);
  await writeFile(join(cjs, 'echo.js'), echoScript(`const wsrfc = require('wsrfc');\nconst sansIo = require('wsrfc/sans-io');\nconst redis = require('wsrfc/redis');\nconst nats = require('wsrfc/nats');`));
  await writeFile(join(esm, 'echo.js'), echoScript(`import * as wsrfc from 'wsrfc';\nimport * as sansIo from 'wsrfc/sans-io';\nimport * as redis from 'wsrfc/redis';\nimport * as nats from 'wsrfc/nats';`));

  // Meanwhile (it takes a while), the declarations are checked.
  const typecheck = (async () => {
    // The declarations hold nothing internal (tsconfig.build.json strips
    // `@internal` members)...
    const installed = join(esm, 'node_modules', 'wsrfc');
    const declarations = (await readdir(join(installed, 'dist'), { recursive: true })).filter((file) => file.endsWith('.d.ts'));
    assert.ok(declarations.includes('index.d.ts') && declarations.includes('sans-io.d.ts') && declarations.includes('redis/index.d.ts') && declarations.includes('nats/index.d.ts'), 'every entry point has declarations');
    for (const file of declarations) {
      const text = await readFile(join(installed, 'dist', file), 'utf8');
      assert.ok(!text.includes('@internal'), `dist/${file} declares an @internal member`);
    }

    // ...and they typecheck in a strict consumer that does not skip library
    // checks, naming types through both entry points.
    await symlink(join(REPO, 'node_modules', '@types'), join(esm, 'node_modules', '@types'), 'dir');
    await writeFile(
      join(esm, 'consumer.ts'),
      `import { createServer, ClientConnection, MessageStream, type CloseInfo, type FrameLogger, type HttpHeaders, type PerMessageDeflateOptions, WebSocketConnection } from 'wsrfc';
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
  // Classes the library makes keep a private constructor in the declarations
  // (a stripped @internal one would leave an implicit public no-argument one).
  export function construct(): unknown[] {
    return [
      // @ts-expect-error connect() makes client connections
      new ClientConnection(),
      // @ts-expect-error the connection makes message streams
      new MessageStream(),
      // @ts-expect-error the server makes server-side connections
      new WebSocketConnection(),
    ];
  }
  // Nor by subclassing: the inherited constructor is protected too.
  export class Mine extends WebSocketConnection {}
  // @ts-expect-error a subclass without its own constructor cannot be made either
  export const mine = new Mine();
  `,
    );
    await writeFile(
      join(esm, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: { module: 'NodeNext', moduleResolution: 'NodeNext', target: 'ES2022', strict: true, skipLibCheck: false, noEmit: true, types: ['node'] },
        files: ['consumer.ts'],
      }),
    );
    const tsc = join(REPO, 'node_modules', 'typescript', 'bin', 'tsc');
    const check = (dir: string): Promise<string> =>
      run(process.execPath, [tsc, '-p', '.'], { cwd: dir, timeout: 60_000 }).then(
        () => '',
        (error: { stdout?: string }) => `${dir}: ${error.stdout ?? String(error)}`,
      );

    // A CommonJS project in TypeScript with "module": "commonjs" resolves
    // like node10, without `exports`: every entry point still has its types
    // (library checks skipped: wsrfc/redis and wsrfc/nats name their optional
    // peer dependencies' types, not installed here).
    await symlink(join(REPO, 'node_modules', '@types'), join(cjs, 'node_modules', '@types'), 'dir');
    await writeFile(
      join(cjs, 'consumer.ts'),
      `import { createServer } from 'wsrfc';
  import { WebSocketProtocol } from 'wsrfc/sans-io';
  import { redisBackplane } from 'wsrfc/redis';
  import { natsBackplane } from 'wsrfc/nats';
  export const entryPoints = [createServer, WebSocketProtocol, redisBackplane, natsBackplane];
  `,
    );
    await writeFile(
      join(cjs, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: { module: 'CommonJS', target: 'ES2022', strict: true, skipLibCheck: true, noEmit: true, types: ['node'] },
        files: ['consumer.ts'],
      }),
    );
    return `${await check(esm)}${await check(cjs)}`;
  })();

  for (const [kind, dir] of [['require()', cjs], ['import', esm]] as const) {
    const result = await run(process.execPath, ['echo.js'], { cwd: dir, timeout: 30_000 });
    const report = JSON.parse(result.stdout) as EchoReport;
    // The built package has the source's API, through both entry points...
    assert.deepEqual(report.exports, Object.keys(source).sort(), `${kind}: wsrfc exports`);
    assert.deepEqual(report.sansIoExports, Object.keys(sourceSansIo).sort(), `${kind}: wsrfc/sans-io exports`);
    // wsrfc/redis loads without the optional peer dependency installed (it is imported only when a backplane starts).
    assert.deepEqual(report.redisExports, ['redisBackplane'], `${kind}: wsrfc/redis exports`);
    // wsrfc/nats likewise, without `nats`.
    assert.deepEqual(report.natsExports, ['natsBackplane'], `${kind}: wsrfc/nats exports`);
    // ...and works: text comes back as text, binary as binary, the close is clean...
    assert.deepEqual(report.replies, ['text:hello', 'binary:010203'], `${kind}: echo over a socket`);
    assert.equal(report.closeCode, 1000);
    // ...and the sans-I/O core and frame codec run on their own.
    assert.deepEqual(report.sansIoReplies, ['hi, core'], `${kind}: echo between two cores`);
    assert.deepEqual(report.parsed, ['TEXT'], `${kind}: the frame parser reads the client's frame`);
    assert.doesNotMatch(result.stderr, /Error/, `${kind}: nothing on stderr but warnings`);
  }

  // The bin: `wsrfc --help` prints its usage, and `wsrfc URL` with piped
  // input talks to a server (our own, built from source here).
  const bin = join(cjs, 'node_modules', '.bin', 'wsrfc');
  const help = await run(bin, ['--help'], { cwd: cjs, timeout: 15_000 });
  assert.match(help.stdout, /^usage: wsrfc URL/);
  const server = source.createServer({ host: '127.0.0.1' }, (connection) => connection.on('message', (m) => connection.send(m)));
  const { port } = await server.listen(0);
  t.after(() => server.close());
  const talked = await new Promise<{ code: number | null; stdout: string }>((resolve, reject) => {
    const child = execFile(bin, ['-q', `ws://127.0.0.1:${port}/`], { cwd: esm, timeout: 15_000 }, (error, out) =>
      error && typeof error.code !== 'number' ? reject(error) : resolve({ code: error ? Number(error.code) : 0, stdout: out }),
    );
    child.stdin?.end('ping from the bin\n');
  });
  assert.deepEqual(talked, { code: 0, stdout: 'ping from the bin\n' });

  assert.equal(await typecheck, '', 'the shipped declarations typecheck');
});
