/**
 * fuzzing/autobahn-client-driver.ts against a stand-in for Autobahn's
 * `wstest -m fuzzingserver` (which needs Docker, unavailable in CI): the same
 * control endpoints (getCaseCount, getCaseInfo, runCase, getCaseStatus,
 * updateReports), three small cases judged here, and the driver run as a
 * child process exactly as the README tells people to run it.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { after, before, it } from 'node:test';
import { createServer, type WebSocketServer } from '../../src/index.js';
import { seededBytes } from '../helpers/frames.js';

const CASES = ['1.1.1', '3.1', '12.1.1'];
let server: WebSocketServer<undefined>;
let url = '';
const verdicts = new Map<number, string>();
let reported = false;
/** A case whose echo is judged wrong on purpose, to see the driver report a failure. */
let sabotage = -1;

before(async () => {
  server = createServer({ host: '127.0.0.1', perMessageDeflate: true }, (ws) => {
    const params = new URLSearchParams(ws.query);
    const index = Number(params.get('case'));
    switch (ws.path) {
      case '/getCaseCount':
        ws.send(String(CASES.length));
        ws.close();
        return;
      case '/getCaseInfo':
        ws.send(JSON.stringify({ id: CASES[index - 1], description: `case ${index}` }));
        ws.close();
        return;
      case '/getCaseStatus':
        ws.send(JSON.stringify({ behavior: verdicts.get(index) ?? 'MISSING' }));
        ws.close();
        return;
      case '/updateReports':
        reported = params.get('agent') === 'wsrfc-test';
        ws.close();
        return;
      case '/runCase': {
        // The fuzzer speaks first; the client echoes; the fuzzer closes.
        const deflateExpected = CASES[index - 1].startsWith('12.');
        const sent: Array<string | Buffer> = ['Hello, world!', seededBytes(index === 2 ? 1 << 20 : 100, index)];
        if (deflateExpected) sent.push('compress me '.repeat(1000));
        const got: Array<string | Buffer> = [];
        ws.on('message', (m) => {
          got.push(m);
          if (got.length < sent.length) return;
          const echoed = got.every((m, i) => (typeof m === 'string' ? m === sent[i] : Buffer.isBuffer(sent[i]) && m.equals(sent[i] as Buffer)));
          const deflateOk = (ws.extensions !== '') === deflateExpected;
          verdicts.set(index, echoed && deflateOk && index !== sabotage ? 'OK' : 'FAILED');
          ws.close(1000);
        });
        for (const m of sent) ws.send(m);
        return;
      }
      default:
        ws.close(1008, 'unknown endpoint');
    }
  });
  const { port } = await server.listen(0);
  url = `ws://127.0.0.1:${port}`;
});
after(() => server.close());

function runDriver(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'fuzzing/autobahn-client-driver.ts', '--url', url, '--agent', 'wsrfc-test', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

it('runs every case with an echoing client, reads each status, then asks for the report', async () => {
  const { code, stdout, stderr } = await runDriver([]);
  assert.equal(code, 0, `${stdout}\n${stderr}`);
  assert.match(stdout, /^3 cases on ws:\/\/127\.0\.0\.1:\d+, agent "wsrfc-test"/);
  for (const id of CASES) assert.match(stdout, new RegExp(`pass  ${id.replace(/\./g, '\\.')} +OK`));
  assert.match(stdout, /3 cases in [\d.]+ s: 3 OK/);
  assert.deepEqual([...verdicts.values()], ['OK', 'OK', 'OK']);
  assert.equal(reported, true);
});

it('--cases selects, and a failed case makes the exit status 1', async () => {
  verdicts.clear();
  sabotage = 1;
  const { code, stdout } = await runDriver(['--cases', '1.*,12.*']);
  sabotage = -1;
  assert.equal(code, 1);
  assert.match(stdout, /FAIL  1\.1\.1 +FAILED/);
  assert.match(stdout, /pass  12\.1\.1 +OK/);
  assert.doesNotMatch(stdout, / 3\.1 /);
  assert.match(stdout, /failed: 1\.1\.1/);
});
