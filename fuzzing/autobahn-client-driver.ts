/**
 * Driver for the Autobahn|Testsuite `fuzzingserver` mode, which tests
 * WebSocket *clients*: wstest plays a hostile server, and this script plays
 * the client under test, built on our `connect()`.
 *
 * The fuzzing server's protocol (autobahntestsuite/fuzzing.py):
 *   /getCaseCount                      one text message: the number of cases N
 *   /getCaseInfo?case=i                one text message: {"id": "6.4.3", "description": ...}
 *   /runCase?case=i&agent=A            the case itself: echo every message back
 *   /getCaseStatus?case=i&agent=A      one text message: {"behavior": "OK"}
 *   /updateReports?agent=A             writes the HTML/JSON report, then closes
 * Cases are numbered 1..N in the suite's order.
 *
 *   npx tsx fuzzing/autobahn-client-driver.ts                          # every case, ws://127.0.0.1:9001
 *   npx tsx fuzzing/autobahn-client-driver.ts --cases '1.*,6.4.*' --url ws://127.0.0.1:9001 --agent wsrfc
 *
 * permessage-deflate is offered for groups 12 and 13 only: offering it
 * elsewhere would let the fuzzer accept it and give RSV1 a meaning in
 * group 3, which tests that RSV bits without an extension fail the
 * connection. Exit status 1 when a case ends other than OK, NON-STRICT or
 * INFORMATIONAL (or could not run).
 */
import { parseArgs } from 'node:util';
import { ConnectionClosedError, connect, type ClientConnection } from '../src/index.js';

const { values } = parseArgs({
  options: {
    url: { type: 'string', default: 'ws://127.0.0.1:9001' },
    agent: { type: 'string', default: 'wsrfc' },
    cases: { type: 'string', default: '*' },
    exclude: { type: 'string', default: '' },
    'case-timeout': { type: 'string', default: '300' },
    help: { type: 'boolean', short: 'h', default: false },
  },
});

if (values.help) {
  console.log(`usage: npx tsx fuzzing/autobahn-client-driver.ts [--url ws://127.0.0.1:9001] [--agent wsrfc]
       [--cases '1.*,6.4.*'] [--exclude '9.*'] [--case-timeout 300]

Runs every case of a running "wstest -m fuzzingserver" against our client (see fuzzing/README.md).
--cases / --exclude take Autobahn patterns: '*' is a wildcard matching from the start of the id
('9.*' is group 9), a pattern without '*' names one case.`);
  process.exit(0);
}

const base = values.url.replace(/\/+$/, '');
const agent = encodeURIComponent(values.agent);
const caseTimeoutMs = Number(values['case-timeout']) * 1000;
const include = patterns(values.cases);
const exclude = patterns(values.exclude);

/** Verdicts that do not count against the client. */
const PASSING = new Set(['OK', 'NON-STRICT', 'INFORMATIONAL']);

const count = Number(await fetchText(`${base}/getCaseCount`));
if (!Number.isInteger(count) || count <= 0) throw new Error(`getCaseCount answered ${count}`);
console.log(`${count} cases on ${base}, agent "${values.agent}"`);

const started = Date.now();
const tally = new Map<string, number>();
const failures: string[] = [];
let ran = 0;
for (let index = 1; index <= count; index++) {
  const info = JSON.parse(await fetchText(`${base}/getCaseInfo?case=${index}`)) as { id: string; description?: string };
  if (!include.some((m) => m(info.id)) || exclude.some((m) => m(info.id))) continue;
  const caseStarted = Date.now();
  const note = await runCase(index, info.id);
  const status = JSON.parse(await fetchText(`${base}/getCaseStatus?case=${index}&agent=${agent}`)) as { behavior: string };
  const behavior = status.behavior;
  tally.set(behavior, (tally.get(behavior) ?? 0) + 1);
  const pass = PASSING.has(behavior);
  if (!pass) failures.push(info.id);
  ran++;
  console.log(`${pass ? 'pass' : 'FAIL'}  ${info.id.padEnd(8)} ${behavior.padEnd(14)} ${String(Date.now() - caseStarted).padStart(6)} ms${note ? `  ${note}` : ''}`);
}

await fetchText(`${base}/updateReports?agent=${agent}`, true);
const seconds = ((Date.now() - started) / 1000).toFixed(1);
console.log(`\n${ran} cases in ${seconds} s: ${[...tally].map(([b, n]) => `${n} ${b}`).join(', ')}`);
console.log('report: fuzzing/reports/clients/index.html');
if (failures.length > 0) {
  console.log(`failed: ${failures.join(' ')}`);
  process.exitCode = 1;
}

/**
 * Run case `index`: echo every message back with its type, as Autobahn's
 * reference clients do, until the fuzzer closes. Returns a note for the log
 * (a failed handshake, a connection error), '' if nothing to say.
 */
async function runCase(index: number, id: string): Promise<string> {
  let ws: ClientConnection;
  try {
    ws = await connect(`${base}/runCase?case=${index}&agent=${agent}`, {
      // Groups 12-13 negotiate compression; everywhere else RSV bits must stay meaningless.
      perMessageDeflate: id.startsWith('12.') || id.startsWith('13.'),
      // Group 9 sends messages of up to 16 MiB (the default limit), in up to 65,536 fragments.
      maxMessageSize: 64 * 1024 * 1024,
    });
  } catch (error) {
    return `connect failed: ${(error as Error).message}`;
  }
  let note = '';
  ws.on('error', (error) => (note = `${(error as { code?: string }).code ?? 'error'}: ${error.message}`));
  ws.on('message', (message) => {
    try {
      ws.send(message);
    } catch (error) {
      // The fuzzer may close while messages are still arriving: nothing to echo into.
      if (!(error instanceof ConnectionClosedError)) throw error;
    }
  });
  const timer = setTimeout(() => {
    note = `no close after ${caseTimeoutMs / 1000} s: dropped`;
    ws.terminate();
  }, caseTimeoutMs);
  const { code, wasClean } = await ws.closed;
  clearTimeout(timer);
  return note || (wasClean ? '' : `closed ${code}, not clean`);
}

/** Connect, read the one text message the control endpoint sends, wait for its close. */
async function fetchText(url: string, noMessage = false): Promise<string> {
  const ws = await connect(url);
  let text = '';
  for await (const message of ws) {
    text = typeof message === 'string' ? message : message.toString('utf8');
    break;
  }
  if (text === '' && !noMessage) throw new Error(`${url} sent no message`);
  if (ws.readyState === 1) ws.close();
  await ws.closed;
  return text;
}

/** Autobahn's case patterns (fuzzing.py): '*' matches anything from the start of the id; no '*' names one case. */
function patterns(list: string): Array<(id: string) => boolean> {
  return list
    .split(',')
    .map((p) => p.trim())
    .filter((p) => p.length > 0)
    .map((pattern) => {
      if (!pattern.includes('*')) return (id: string) => id === pattern;
      const parts = pattern.split('*');
      return (id: string) => {
        // Glob match anchored at the start: the parts appear in order.
        if (!id.startsWith(parts[0])) return false;
        let at = parts[0].length;
        for (const part of parts.slice(1)) {
          const found = id.indexOf(part, at);
          if (found < 0) return false;
          at = found + part.length;
        }
        return true;
      };
    });
}
