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

it('a failed handshake exits with status 1 and says why', async () => {
  const { code, stderr } = await cli([`${url.replace('ws:', 'wss:')}/x`, '-q'], '');
  assert.equal(code, 1);
  assert.match(stderr, /connection failed/);
  const usage = await cli([], '');
  assert.equal(usage.code, 2);
  assert.match(usage.stderr, /usage:/);
});
