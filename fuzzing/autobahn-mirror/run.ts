/**
 * CLI for the Autobahn fuzzingclient mirror.
 *
 *   npx tsx fuzzing/autobahn-mirror/run.ts --url ws://127.0.0.1:9001 [--cases 1.*,6.4.*]
 *       [--exclude 9.*] [--json out.json] [--fail-by-drop] [--round-trips N] [--messages N] [--verbose] [--trace]
 *
 * --round-trips shortens 9.7.x/9.8.x and --messages the 1000 messages of each
 * 12.x/13.x case (both default to Autobahn's counts).
 *
 * Prints one line per case and a summary ending in "N passed, N failed".
 * --verbose prints the details and wire trace of every case that did not end
 * OK/OK; --trace prints them for every case.
 * Exit status 1 when any case failed (FAILED/UNIMPLEMENTED, or a close verdict
 * of FAILED/UNCLEAN), 2 on bad arguments or when the server cannot be reached.
 */
import { writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { parseArgs } from 'node:util';
import { parseWsUrl } from './handshake.js';
import { formatDetails, formatResultLine, formatSummary } from './report.js';
import { runCases } from './runner.js';
import { splitList } from './select.js';

const USAGE = 'usage: run.ts --url ws://127.0.0.1:9001 [--cases 1.*,6.4.*] [--exclude 9.*] [--json out.json] [--fail-by-drop] [--round-trips N] [--messages N] [--verbose] [--trace]';

async function main(): Promise<number> {
  let args;
  try {
    args = parseArgs({
      options: {
        url: { type: 'string', default: 'ws://127.0.0.1:9001' },
        cases: { type: 'string', default: '*' },
        exclude: { type: 'string', default: '' },
        json: { type: 'string' },
        'fail-by-drop': { type: 'boolean', default: false },
        'round-trips': { type: 'string' },
        messages: { type: 'string' },
        verbose: { type: 'boolean', short: 'v', default: false },
        trace: { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
      strict: true,
    }).values;
  } catch (err) {
    console.error(`${(err as Error).message}\n${USAGE}`);
    return 2;
  }
  if (args.help) {
    console.log(USAGE);
    return 0;
  }
  const roundTrips = args['round-trips'] === undefined ? undefined : Number(args['round-trips']);
  if (roundTrips !== undefined && !(Number.isInteger(roundTrips) && roundTrips > 0)) {
    console.error(`--round-trips must be a positive integer\n${USAGE}`);
    return 2;
  }
  const messages = args.messages === undefined ? undefined : Number(args.messages);
  if (messages !== undefined && !(Number.isInteger(messages) && messages > 0)) {
    console.error(`--messages must be a positive integer\n${USAGE}`);
    return 2;
  }
  const filter = { cases: splitList(args.cases), exclude: splitList(args.exclude) };
  const unreachable = await probe(args.url);
  if (unreachable !== null) {
    console.error(`cannot connect to ${args.url}: ${unreachable}`);
    return 2;
  }
  console.log(`Autobahn fuzzingclient mirror -> ${args.url} (cases ${args.cases}${args.exclude ? `, excluding ${args.exclude}` : ''}, failByDrop=${args['fail-by-drop']})`);

  const summary = await runCases(args.url, filter, {
    client: { failByDrop: args['fail-by-drop'] },
    ...(roundTrips !== undefined ? { roundTrips } : {}),
    ...(messages !== undefined ? { deflateMessages: messages } : {}),
    traceAll: args.trace,
    onResult(r) {
      console.log(formatResultLine(r));
      const clean = r.behavior === 'OK' && r.behaviorClose === 'OK';
      if (args.trace || (args.verbose && !clean)) for (const line of formatDetails(r)) console.log(line);
    },
  });
  for (const line of formatSummary(summary)) console.log(line);
  if (args.json !== undefined) {
    writeFileSync(args.json, `${JSON.stringify({ url: args.url, filter, ...summary }, null, 2)}\n`);
    console.log(`wrote ${args.json}`);
  }
  return summary.failed > 0 ? 1 : 0;
}

/** A plain TCP connect first, so that a server that is not running is one error, not 517 failed cases. */
function probe(url: string): Promise<string | null> {
  return new Promise((resolve) => {
    let target;
    try {
      target = parseWsUrl(url);
    } catch (err) {
      resolve((err as Error).message);
      return;
    }
    const socket = connect({ host: target.host, port: target.port });
    socket.setTimeout(5000, () => {
      socket.destroy();
      resolve('timed out');
    });
    socket.once('connect', () => {
      socket.destroy();
      resolve(null);
    });
    socket.once('error', (err) => resolve(err.message));
  });
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    console.error(err);
    process.exitCode = 2;
  },
);
