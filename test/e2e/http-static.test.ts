/**
 * The static file handler (src/http/static-files.ts), served on the WebSocket
 * port through the `http` option: content types, HEAD, conditional GET,
 * directories, 404/405, and every way out of the folder we could think of.
 *
 * Requests are written on raw sockets: an HTTP client library would
 * normalise `..` and `%2e%2e` away before they reach the server.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, writeFileSync, symlinkSync, rmSync, utimesSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { createServer as createHttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createServer, serveStatic, type WebSocketServer } from '../../src/index.js';
import { contentTypeFor } from '../../src/http/content-types.js';
import { resolveRequestPath } from '../../src/http/static-files.js';

const SECRET = 'TOP-SECRET-OUTSIDE-THE-FOLDER';
const INDEX = '<!doctype html><title>t</title><p>héllo</p>\n';

let dir: string;
let root: string;
let server: WebSocketServer;
let port: number;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'wsrfc-static-'));
  root = join(dir, 'public');
  mkdirSync(join(root, 'sub'), { recursive: true });
  mkdirSync(join(root, 'empty'));
  mkdirSync(join(root, 'with space'));
  writeFileSync(join(dir, 'secret.txt'), SECRET);
  writeFileSync(join(root, 'index.html'), INDEX);
  writeFileSync(join(root, 'style.css'), 'body { color: red }\n');
  writeFileSync(join(root, 'app.js'), 'console.log(1);\n');
  writeFileSync(join(root, 'data.json'), '{"a":1}\n');
  writeFileSync(join(root, 'logo.svg'), '<svg xmlns="http://www.w3.org/2000/svg"/>\n');
  writeFileSync(join(root, 'photo.PNG'), Buffer.from([0x89, 0x50, 0x4e, 0x47]));
  writeFileSync(join(root, 'blob.bin'), Buffer.from([0, 1, 2, 3]));
  writeFileSync(join(root, 'Makefile'), 'all:\n');
  writeFileSync(join(root, '.env'), SECRET);
  writeFileSync(join(root, 'sub', 'index.html'), '<p>sub</p>\n');
  writeFileSync(join(root, 'with space', 'ü.txt'), 'unicode name\n');
  symlinkSync(join(dir, 'secret.txt'), join(root, 'link-out.txt'));
  symlinkSync(dir, join(root, 'dir-out'));
  symlinkSync(join(root, 'style.css'), join(root, 'link-in.css'));
  const old = new Date('2024-01-02T03:04:05Z');
  utimesSync(join(root, 'style.css'), old, old);

  server = createServer({ host: '127.0.0.1', http: serveStatic(root) }, (ws) => ws.on('message', (m) => ws.send(m)));
  server.on('error', () => {});
  ({ port } = await server.listen(0));
});

after(async () => {
  await server.close();
  rmSync(dir, { recursive: true, force: true });
});

interface RawResponse {
  status: number;
  headers: Record<string, string>;
  body: Buffer;
  raw: string;
}

/** One request, exactly as written, on its own connection (`Connection: close`); the whole answer. */
async function request(target: string, { method = 'GET', headers = {} as Record<string, string>, to = port } = {}): Promise<RawResponse> {
  const socket = connect(to, '127.0.0.1');
  const chunks: Buffer[] = [];
  socket.on('data', (chunk: Buffer) => chunks.push(chunk));
  let head = `${method} ${target} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n`;
  for (const [name, value] of Object.entries(headers)) head += `${name}: ${value}\r\n`;
  socket.write(`${head}\r\n`, 'latin1');
  await new Promise<void>((resolve, reject) => {
    socket.once('close', () => resolve());
    socket.once('error', reject);
    setTimeout(() => reject(new Error(`no complete answer to ${method} ${target}`)), 3000).unref();
  });
  const all = Buffer.concat(chunks);
  const end = all.indexOf('\r\n\r\n');
  assert.ok(end > 0, `no HTTP answer to ${method} ${target}: ${JSON.stringify(all.toString('latin1'))}`);
  const lines = all.subarray(0, end).toString('latin1').split('\r\n');
  const parsed: Record<string, string> = {};
  for (const line of lines.slice(1)) {
    const colon = line.indexOf(':');
    parsed[line.slice(0, colon).toLowerCase()] = line.slice(colon + 1).trim();
  }
  return { status: Number(lines[0].split(' ')[1]), headers: parsed, body: all.subarray(end + 4), raw: all.toString('latin1') };
}

test('index.html for / with text/html; charset=utf-8, length, nosniff, Last-Modified', async () => {
  const res = await request('/');
  assert.equal(res.status, 200);
  assert.equal(res.headers['content-type'], 'text/html; charset=utf-8');
  assert.equal(Number(res.headers['content-length']), Buffer.byteLength(INDEX));
  assert.equal(res.headers['x-content-type-options'], 'nosniff');
  assert.ok(res.headers['last-modified']);
  assert.equal(res.body.toString('utf8'), INDEX);
  assert.equal((await request('/index.html')).body.toString('utf8'), INDEX);
  assert.equal((await request('/?cache=bust#frag')).status, 200, 'query and fragment are not part of the file name');
});

test('content types by extension (case-insensitive), octet-stream when unknown', async () => {
  const expected: Record<string, string> = {
    '/style.css': 'text/css; charset=utf-8',
    '/app.js': 'text/javascript; charset=utf-8',
    '/data.json': 'application/json; charset=utf-8',
    '/logo.svg': 'image/svg+xml; charset=utf-8',
    '/photo.PNG': 'image/png',
    '/blob.bin': 'application/octet-stream',
    '/Makefile': 'application/octet-stream',
  };
  for (const [path, type] of Object.entries(expected)) {
    const res = await request(path);
    assert.equal(res.status, 200, path);
    assert.equal(res.headers['content-type'], type, path);
  }
  assert.equal(contentTypeFor('x/y/Z.HTML'), 'text/html; charset=utf-8');
  assert.equal(contentTypeFor('font.woff2'), 'font/woff2');
  assert.equal(contentTypeFor('constructor'), 'application/octet-stream', 'no prototype keys in the table');
});

test('percent-encoded names (spaces, UTF-8) are decoded', async () => {
  const res = await request('/with%20space/%C3%BC.txt');
  assert.equal(res.status, 200);
  assert.equal(res.body.toString(), 'unicode name\n');
});

test('HEAD: the same headers, no body', async () => {
  const res = await request('/style.css', { method: 'HEAD' });
  assert.equal(res.status, 200);
  assert.equal(res.headers['content-length'], '20');
  assert.equal(res.body.length, 0);
});

test('If-Modified-Since: 304 when the file is not newer, 200 when it is', async () => {
  const notModified = await request('/style.css', { headers: { 'If-Modified-Since': 'Tue, 02 Jan 2024 03:04:05 GMT' } });
  assert.equal(notModified.status, 304);
  assert.equal(notModified.body.length, 0);
  const modified = await request('/style.css', { headers: { 'If-Modified-Since': 'Mon, 01 Jan 2024 00:00:00 GMT' } });
  assert.equal(modified.status, 200);
  const garbage = await request('/style.css', { headers: { 'If-Modified-Since': 'yesterday-ish' } });
  assert.equal(garbage.status, 200);
});

test('directories: redirect to the slash form, then its index.html; no listing', async () => {
  const redirect = await request('/sub?x=1');
  assert.equal(redirect.status, 301);
  assert.equal(redirect.headers.location, '/sub/?x=1');
  const sub = await request('/sub/');
  assert.equal(sub.status, 200);
  assert.equal(sub.body.toString(), '<p>sub</p>\n');
  assert.equal((await request('/empty/')).status, 404, 'a folder without index.html is not listed');
});

test('404 for missing files, 405 with Allow for other methods', async () => {
  const missing = await request('/nope.html');
  assert.equal(missing.status, 404);
  assert.equal(missing.headers['content-type'], 'text/plain; charset=utf-8');
  assert.equal((await request('/style.css/')).status, 200, 'a file with a trailing slash is still that file');
  assert.equal((await request('/style.css/more')).status, 404, 'a file is not a folder (ENOTDIR)');
  const post = await request('/', { method: 'POST', headers: { 'Content-Length': '0' } });
  assert.equal(post.status, 405);
  assert.equal(post.headers.allow, 'GET, HEAD');
});

test('traversal: .., %2e%2e, encoded separators, NUL, absolute paths, dotfiles and symlinks never leave the folder', async () => {
  const attempts: Array<[target: string, status: number]> = [
    ['/../secret.txt', 403],
    ['/sub/../../secret.txt', 403],
    ['/%2e%2e/secret.txt', 403],
    ['/%2E%2E/secret.txt', 403],
    ['/.%2e/secret.txt', 403],
    ['/sub/%2e%2e/%2e%2e/secret.txt', 403],
    ['/..%2fsecret.txt', 403],
    ['/..%2Fsecret.txt', 403],
    ['/..%5csecret.txt', 403],
    ['/..\\secret.txt', 403], // a backslash separates paths on Windows: refused everywhere
    ['/%2fetc%2fpasswd', 403],
    ['/%00', 403],
    ['/index.html%00.css', 403],
    ['//etc/passwd', 404],
    ['///' + dir.slice(1) + '/secret.txt', 404], // the absolute path of the secret, inside the folder: not there
    ['/etc/passwd', 404],
    ['/%252e%252e/secret.txt', 404], // double-encoded: a file literally named "%2e%2e"; none
    ['/%zz', 400],
    ['/%C3', 400], // not UTF-8
    [`http://127.0.0.1/../secret.txt`, 404], // absolute-form: the URL parser removes dot-segments
    ['C:\\secret.txt', 400],
    ['/.env', 404],
    ['/link-out.txt', 404], // a symlink to a file outside
    ['/dir-out/secret.txt', 404], // through a symlinked folder outside
  ];
  for (const [target, status] of attempts) {
    const res = await request(target);
    assert.equal(res.status, status, `${target} → ${res.status}`);
    assert.ok(!res.raw.includes(SECRET), `${target} leaked the secret`);
  }
  assert.equal((await request('/link-in.css')).status, 200, 'a symlink that stays inside is served');
});

test('resolveRequestPath (pure)', () => {
  assert.deepEqual(resolveRequestPath('/a/b%20c/'), { segments: ['a', 'b c'], directory: true });
  assert.deepEqual(resolveRequestPath('/a//b?x=/..#y'), { segments: ['a', 'b'], directory: false });
  assert.deepEqual(resolveRequestPath('/'), { segments: [], directory: true });
  assert.deepEqual(resolveRequestPath('/a/%2e%2e'), { status: 403 });
  assert.deepEqual(resolveRequestPath('/a/%2fb'), { status: 403 });
  assert.deepEqual(resolveRequestPath('/.git/config'), { status: 404 });
  assert.deepEqual(resolveRequestPath('*'), { status: 400 });
});

test('the root may be a file: URL, and the handler works in a plain node:http server too', async () => {
  const plain = createHttpServer(serveStatic(pathToFileURL(`${root}/`)));
  await new Promise<void>((resolve) => plain.listen(0, '127.0.0.1', resolve));
  try {
    const res = await request('/style.css', { to: (plain.address() as AddressInfo).port });
    assert.equal(res.status, 200);
    assert.equal(res.headers['content-type'], 'text/css; charset=utf-8');
  } finally {
    await new Promise((resolve) => plain.close(resolve));
  }
});

test('a missing root folder answers 404, not 500', async () => {
  const plain = createHttpServer(serveStatic(join(dir, 'no-such-folder')));
  await new Promise<void>((resolve) => plain.listen(0, '127.0.0.1', resolve));
  try {
    assert.equal((await request('/', { to: (plain.address() as AddressInfo).port })).status, 404);
  } finally {
    await new Promise((resolve) => plain.close(resolve));
  }
});
