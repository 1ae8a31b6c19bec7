/**
 * Our client through Autobahn's cases in fuzzingserver mode, played by
 * test/helpers/fuzzing-server.ts (the real fuzzingserver needs Docker; see
 * fuzzing/README.md): the mirror's case table for groups 1-7 and 10, and a
 * subset of group 9, each case on a fresh connection of an echoing client.
 * Every case must end OK, NON-STRICT or INFORMATIONAL, with a clean close
 * where one is required, as Autobahn's report would show them.
 * `AUTOBAHN_MIRROR_FULL=1` runs all of group 9 (messages up to 16 MiB, 1000
 * round trips in 9.7/9.8). Groups 12-13 need a deflating fuzzer; the client's
 * permessage-deflate is checked against ws instead (client-ws.test.ts).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ALL_CASES } from '../../fuzzing/autobahn-mirror/cases/index.js';
import { ConnectionClosedError, connect } from '../../src/index.js';
import { isClientFailure, runClientCase, type ClientCaseResult } from '../helpers/fuzzing-server.js';

const FULL = process.env.AUTOBAHN_MIRROR_FULL === '1';
const group = (id: string): string => id.split('.')[0];
/** Group 9 in CI: the sizes up to 1 MiB, one case of each kind of the 4 MiB ones, the round trips shortened. */
const GROUP_9_SUBSET = /^9\.(1\.[1-3]|2\.[1-3]|3\.[19]|4\.[19]|5\.6|6\.6|7\.\d|8\.\d)$/;

const CASES = ALL_CASES.filter((c) => ['1', '2', '3', '4', '5', '6', '7', '10'].includes(group(c.id)) || (group(c.id) === '9' && (FULL || GROUP_9_SUBSET.test(c.id))));

/** The client under test: our connect(), echoing every message, like the driver does. */
async function echoingClient(url: string): Promise<void> {
  const ws = await connect(url, { closeTimeout: 2000 });
  ws.on('error', () => {});
  ws.on('message', (m) => {
    try {
      ws.send(m);
    } catch (error) {
      if (!(error instanceof ConnectionClosedError)) throw error;
    }
  });
}

describe('our client through the Autobahn cases (fuzzingserver mode)', () => {
  const byGroup = new Map<string, typeof CASES>();
  for (const c of CASES) byGroup.set(group(c.id), [...(byGroup.get(group(c.id)) ?? []), c]);
  for (const [g, cases] of byGroup) {
    it(`group ${g}: ${cases.length} cases`, async () => {
      // Up to 16 cases side by side (most of them wait on a timer), group 9's big transfers one
      // at a time as Autobahn runs them: a case's 1 s timers must measure the client, not the
      // load of its neighbours.
      const results = await inPool(cases, g === '9' ? 1 : 16, (c) => runClientCase(c, echoingClient, { roundTrips: FULL ? undefined : 50 }));
      const failed = results.filter(isClientFailure);
      const show = (r: ClientCaseResult): string =>
        `${r.id} ${r.behavior}/${r.behaviorClose}: ${r.result} ${r.resultClose}; close code ${r.remoteCloseCode}; received [${r.received.join(', ')}]; ${r.notes.join('; ')}\n  ${r.trace.join('\n  ')}`;
      assert.equal(failed.length, 0, failed.map(show).join('\n'));
      const tally = new Map<string, number>();
      for (const r of results) tally.set(`${r.behavior}/${r.behaviorClose}`, (tally.get(`${r.behavior}/${r.behaviorClose}`) ?? 0) + 1);
      assert.ok(results.every((r) => r.behaviorClose === 'OK' || r.behaviorClose === 'INFORMATIONAL'), [...tally].join(', '));
    });
  }
});

/** Map `items` through `run`, at most `size` at a time, keeping their order. */
async function inPool<T, R>(items: readonly T[], size: number, run: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      results[i] = await run(items[i]);
    }
  };
  await Promise.all(Array.from({ length: Math.min(size, items.length) }, worker));
  return results;
}
