/**
 * The command-line client (src/client/cli.ts) as a child process: lines on
 * stdin go out as text messages, messages come out on stdout, status on
 * stderr, and the exit status says how the connection ended.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { after, before, it } from 'node:test';
import { createServer, type WebSocketServer } from '../../src/index.js';

let server: WebSocketServer<undefined>;
let url = '';

before(async () => {
  server = createServer({ host: '127.0.0.1' }, (ws) => {
    if (ws.path === '/publish') {
      // A feed: publishes a few messages, binary included, then closes.
      ws.send('tick 1');
      ws.send(Buffer.from([0xde, 0xad, 0xbe, 0xef]));
      ws.send('tick 2');
      setTimeout(() => ws.close(1001, 'feed over'), 50);
      return;
    }
    if (ws.path.startsWith('/slow-echo')) {
      // Echoes each message after a delay, and stops sending once it has the
      // client's Close (as §5.5.1 allows: a reply not yet sent is dropped).
      const delay = Number(new URLSearchParams(ws.query).get('delay') ?? 200);
      ws.on('message', (m) => setTimeout(() => { if (ws.readyState === 1) ws.send(m); }, delay));
      return;
    }
    ws.on('message', (m) => ws.send(typeof m === 'string' ? m.toUpperCase() : m));
  });
  const { port } = await server.listen(0);
  url = `ws://127.0.0.1:${port}`;
});
after(() => server.close());

function cli(args: string[], input: string | null): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/client/cli.ts', ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    if (input !== null) child.stdin.end(input);
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

it('sends stdin lines, prints the replies, closes with 1000 at end of input', async () => {
  const { code, stdout, stderr } = await cli([`${url}/echo`], 'hello\nworld ✓\n');
  assert.equal(code, 0, stderr);
  assert.equal(stdout, 'HELLO\nWORLD ✓\n');
  assert.match(stderr, /connected to ws:\/\/127\.0\.0\.1:\d+\/echo/);
  assert.match(stderr, /closed: 1000/);
});

it('--keep-open listens until the server closes, printing binary as hex', async () => {
  const { code, stdout, stderr } = await cli([`${url}/publish`, '--keep-open'], '');
  assert.equal(code, 0, stderr);
  assert.equal(stdout, 'tick 1\n<binary 4 bytes: deadbeef>\ntick 2\n');
  assert.match(stderr, /closed: 1001.*"feed over"/);
});

it('--http2: the same exchange on an extended CONNECT stream (RFC 8441); --http2 against an HTTP/1.1-only port fails', async () => {
  const h2 = createServer({ host: '127.0.0.1', http2: true }, (ws) => ws.on('message', (m) => ws.send(`${ws.request.httpVersion}: ${String(m)}`)));
  const { port } = await h2.listen(0);
  try {
    const { code, stdout, stderr } = await cli([`ws://127.0.0.1:${port}/`, '--http2'], 'hi\n');
    assert.equal(code, 0, stderr);
    assert.equal(stdout, '2: hi\n');
    assert.match(stderr, /connected to ws:\/\/127\.0\.0\.1:\d+\/ over HTTP\/2/);
    const refused = await cli([`${url}/echo`, '--http2', '-q'], '');
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /HS_ERR_H2_NOT_NEGOTIATED/);
  } finally {
    await h2.close();
  }
});

it('a failed handshake exits with status 1 and says why', async () => {
  const { code, stderr } = await cli([`${url.replace('ws:', 'wss:')}/x`, '-q'], '');
  assert.equal(code, 1);
  assert.match(stderr, /connection failed/);
  const usage = await cli([], '');
  assert.equal(usage.code, 2);
  assert.match(usage.stderr, /usage:/);
  assert.equal(usage.stdout, '');
});

it('--help prints the usage on stdout (it pipes into a pager), nothing on stderr, and exits 0', async () => {
  const { code, stdout, stderr } = await cli(['--help'], '');
  assert.equal(code, 0);
  assert.match(stdout, /^usage: wsrfc URL/);
  assert.match(stdout, /--wait MS/);
  assert.equal(stderr, '');
});

it('piped input: waits for the replies of a server that stops sending on Close (--wait, default 500 ms of quiet)', async () => {
  const { code, stdout, stderr } = await cli([`${url}/slow-echo?delay=200`], 'a\nb\n');
  assert.equal(code, 0, stderr);
  assert.equal(stdout, 'a\nb\n');
  assert.match(stderr, /quiet for 500 ms: closing \(1000\)/);
  // --wait 0 closes at end of input: the same server then sends nothing back.
  const atOnce = await cli([`${url}/slow-echo?delay=200`, '--wait', '0'], 'a\nb\n');
  assert.equal(atOnce.code, 0, atOnce.stderr);
  assert.equal(atOnce.stdout, '');
});

it('piped input: --replies N closes as soon as N messages have arrived', async () => {
  const started = Date.now();
  const { code, stdout, stderr } = await cli([`${url}/slow-echo?delay=800`, '--replies', '2', '--wait', '20000'], 'one\ntwo\n');
  assert.equal(code, 0, stderr);
  assert.equal(stdout, 'one\ntwo\n');
  assert.match(stderr, /2 messages received: closing \(1000\)/);
  assert.ok(Date.now() - started < 8_000, 'did not wait for --wait');
  const usage = await cli([`${url}/slow-echo`, '--wait', 'soon'], '');
  assert.equal(usage.code, 2);
  assert.match(usage.stderr, /--wait takes a number of milliseconds/);
});
