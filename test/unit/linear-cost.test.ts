/**
 * "No work on the event loop grows faster than linearly in what the peer
 * sent": every parser and check that reads the opening handshake, fed
 * hostile input shaped to hit the slow path of a naive parser: thousands of
 * distinct subprotocols (a duplicate check with `Array.includes` is O(n²),
 * ws's CVE-2021-32640), thousands of tiny header lines, a head fed one byte
 * at a time, long quoted strings, offer after declined offer.
 *
 * Two kinds of check:
 * - linear scaling: the same input shape at size n and 4n; linear work costs
 *   about 4 times as much, quadratic work about 16 times, and a ratio above
 *   MAX_RATIO fails (see assertLinear for the sizes chosen);
 * - absolute budgets at the largest inputs the default limits allow
 *   (DEFAULT_HTTP_HEAD_LIMITS: 16 KiB head, 8 KiB line, 100 lines) and the
 *   limits raised 10 times, plus a real server answering such a request.
 *
 * Against flakiness on a loaded machine: samples are short and alternate
 * between the sizes, the fastest of many is kept (noise only ever adds time),
 * a failed ratio is measured again before the test fails, and the bounds
 * leave wide margins (linear ≈ 4 against a limit of 10; budgets at least 10
 * times what the work takes on an idle machine).
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { connect } from 'node:net';
import { performance } from 'node:perf_hooks';
import { describe, it, type TestContext } from 'node:test';
import { HandshakeError } from '../../src/errors.js';
import { parseExtensionHeader } from '../../src/extensions/extension-header.js';
import { negotiateDeflate } from '../../src/extensions/permessage-deflate-negotiation.js';
import { computeAcceptKey } from '../../src/handshake/accept-key.js';
import { HandshakeErrorCode as Code } from '../../src/handshake/error-codes.js';
import {
  DEFAULT_HTTP_HEAD_LIMITS,
  HttpHeadParser,
  type HttpHeadLimits,
  type HttpRequestHead,
  type HttpResponseHead,
} from '../../src/handshake/http-head-parser.js';
import { HttpHeaders } from '../../src/handshake/http-headers.js';
import { listHasToken, splitList } from '../../src/handshake/tokens.js';
import { parseUpgradeRequest } from '../../src/handshake/upgrade-request.js';
import { ClientHandshakeError, validateUpgradeResponse } from '../../src/handshake/upgrade-response.js';
import { createServer } from '../../src/index.js';

// --- measuring ----------------------------------------------------------------

/** Cost at 4n over cost at n: linear ≈ 4, quadratic ≈ 16. Above this, fail. */
const MAX_RATIO = 10;
/** A sample repeats the work until it lasts about this long, so timer resolution stays small. */
const SAMPLE_MS = 1;
/** Pairs of samples (n, 4n) taken at most; the fastest of each size counts. */
const SAMPLE_PAIRS = 20;
/** Measurements of a ratio over the limit before the test fails. */
const ATTEMPTS = 3;
/** Stop sampling after this long (at least one pair is taken): a quadratic path is already obvious, and must not hold the suite for minutes. */
const SAMPLING_BUDGET_MS = 500;
/** Per-test timeout: far above what each takes, low enough that a hung path fails. */
const TIMEOUT = { timeout: 15_000 };

const KIB = 1024;
/** The default limits, and the same raised 10 times. */
const DEFAULT_LIMITS: HttpHeadLimits = { ...DEFAULT_HTTP_HEAD_LIMITS };
const LIMITS_10X: HttpHeadLimits = {
  maxHeadBytes: 10 * DEFAULT_LIMITS.maxHeadBytes,
  maxLineBytes: 10 * DEFAULT_LIMITS.maxLineBytes,
  maxHeaderCount: 10 * DEFAULT_LIMITS.maxHeaderCount,
};
/** Limits that never bind, for inputs whose size a test sets itself. */
const UNLIMITED: HttpHeadLimits = { maxHeadBytes: 2 ** 30, maxLineBytes: 2 ** 30, maxHeaderCount: 2 ** 30 };

/** Milliseconds of one call of `run`. */
function timeOnce(run: () => void): number {
  const start = performance.now();
  run();
  return performance.now() - start;
}

/**
 * Fail unless `work` costs about 4 times as much on `makeInput(4n)` as on
 * `makeInput(n)` (below MAX_RATIO). Warms up, then alternates samples of the
 * two sizes and keeps the fastest of each (noise only ever adds time). Each
 * sample repeats the work until it lasts about SAMPLE_MS, at both sizes, so
 * that on a busy machine a sample of either size is as likely to be
 * preempted. A ratio over the limit is measured again, up to ATTEMPTS times
 * in all: quadratic work fails every time, a burst of load on the machine
 * does not last that long. Reports the timings as a test diagnostic.
 *
 * Where `work` builds an array, a Set or many objects per element of the
 * input, n and 4n are kept below V8's large-object threshold: a backing store
 * over 128 KiB (an array of more than 16k elements, a Set of more than 4k
 * entries) lives in the large-object space, where every element stored costs
 * several times more, so a size step across it looks quadratic (splitList
 * from 16 to 64 KiB: ×15-18) although each size on its own is linear. Limit
 * sizes above it are covered by the absolute budgets (`assertFast`).
 */
function assertLinear<T>(t: TestContext, what: string, makeInput: (size: number) => T, n: number, work: (input: T) => void): void {
  const inputs = [makeInput(n), makeInput(4 * n)];
  const reports: string[] = [];
  let ratio = Infinity;
  for (let attempt = 1; attempt <= ATTEMPTS && ratio >= MAX_RATIO; attempt++) {
    const [atN, at4n] = fastestOfEach(inputs, work);
    ratio = at4n / atN;
    const report = `${what}: n ${atN.toFixed(3)} ms, 4n ${at4n.toFixed(3)} ms, ratio ${ratio.toFixed(2)}`;
    t.diagnostic(report);
    reports.push(report);
  }
  assert.ok(ratio < MAX_RATIO, `not linear: ${reports.join('; ')}; linear ≈ 4, quadratic ≈ 16, limit ${MAX_RATIO}`);
}

/** The fastest time of one call of `work` on each of `inputs`, in ms, sampled in turns (see assertLinear). */
function fastestOfEach<T>(inputs: T[], work: (input: T) => void): number[] {
  const sizes = inputs.map((input) => {
    // Warm-up: at least 3 calls and about 10 ms, so the JIT has settled.
    const warmUpStart = performance.now();
    for (let i = 0; i < 3 || performance.now() - warmUpStart < 10; i++) work(input);
    const repeat = Math.max(1, Math.ceil(SAMPLE_MS / Math.max(timeOnce(() => work(input)), 1e-3)));
    return { input, repeat, fastest: Infinity };
  });
  const start = performance.now();
  for (let turn = 0; turn < SAMPLE_PAIRS && (turn === 0 || performance.now() - start < SAMPLING_BUDGET_MS); turn++) {
    for (const size of sizes) {
      const sample = timeOnce(() => {
        for (let r = 0; r < size.repeat; r++) work(size.input);
      });
      size.fastest = Math.min(size.fastest, sample / size.repeat);
    }
  }
  return sizes.map((size) => size.fastest);
}

/** Fail unless the fastest of a few runs of `work` (after a warm-up run) takes under `budgetMs`. */
function assertFast(t: TestContext, what: string, budgetMs: number, work: () => void): void {
  work();
  let fastest = Infinity;
  for (let i = 0; i < 5; i++) fastest = Math.min(fastest, timeOnce(work));
  const report = `${what}: ${fastest.toFixed(3)} ms (budget ${budgetMs} ms)`;
  t.diagnostic(report);
  assert.ok(fastest < budgetMs, `too slow: ${report}`);
}

// --- hostile inputs -------------------------------------------------------------

/** Every tchar (RFC 9110 §5.6.2), so that tokens are as short as they can be. */
const TCHARS = "!#$%&'*+-.^_`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/**
 * The i-th shortest token (bijective base 77): every 1-character token, then
 * every 2-character one, and so on. The most distinct tokens a number of bytes can hold.
 */
function nthToken(i: number): string {
  let token = '';
  for (let k = i + 1; k > 0; k = Math.floor(k / TCHARS.length)) {
    k--;
    token = TCHARS[k % TCHARS.length] + token;
  }
  return token;
}

const KEY = 'dGhlIHNhbXBsZSBub25jZQ==';
const REQUEST_START = [
  'GET /chat HTTP/1.1',
  'Host: server.example.com',
  'Upgrade: websocket',
  'Connection: Upgrade',
  `Sec-WebSocket-Key: ${KEY}`,
  'Sec-WebSocket-Version: 13',
];
const PROTOCOL_PREFIX = 'Sec-WebSocket-Protocol: ';

interface SubprotocolRequest {
  bytes: Buffer;
  /** Offers in the request, duplicates included. */
  offers: number;
  /** Sec-WebSocket-Protocol lines. */
  lines: number;
  last: string;
}

/** How many offers at the end of a list with `duplicateLate` repeat earlier ones. */
const DUPLICATES = 100;

/**
 * The largest upgrade request `limits` let through, filled with distinct
 * Sec-WebSocket-Protocol offers: lines of `Sec-WebSocket-Protocol: !,#,$,...`
 * as long as a line may be, as many as the head size and header count allow
 * (several lines are one list, RFC 9110 §5.3). With `duplicateLate`, the
 * last DUPLICATES offers repeat the first ones, so a duplicate check must get
 * through every distinct offer before it finds one.
 */
function subprotocolRequest(limits: HttpHeadLimits, duplicateLate = false): SubprotocolRequest {
  const lines = [...REQUEST_START];
  let headBytes = lines.reduce((sum, line) => sum + line.length + 2, 0) + 2; // + the final empty line
  const protocolLines: string[][] = [];
  let next = 0;
  while (lines.length - 1 + protocolLines.length < limits.maxHeaderCount) {
    const room = Math.min(limits.maxLineBytes, limits.maxHeadBytes - headBytes) - 2; // CRLF
    const tokens: string[] = [];
    let length = PROTOCOL_PREFIX.length;
    for (;;) {
      const token = nthToken(next);
      const added = (tokens.length === 0 ? 0 : 1) + token.length;
      if (length + added > room) break;
      tokens.push(token);
      length += added;
      next++;
    }
    if (tokens.length === 0) break;
    protocolLines.push(tokens);
    headBytes += length + 2;
  }
  if (duplicateLate) {
    // The last DUPLICATES offers repeat the first ones, which are shorter: the head still fits.
    const lastLine = protocolLines.at(-1)!;
    const count = Math.min(DUPLICATES, lastLine.length);
    lastLine.splice(lastLine.length - count, count, ...protocolLines[0].slice(0, count));
  }
  const text = `${[...lines, ...protocolLines.map((tokens) => PROTOCOL_PREFIX + tokens.join(','))].join('\r\n')}\r\n\r\n`;
  assert.ok(text.length <= limits.maxHeadBytes, 'the request must fit the limits');
  return {
    bytes: Buffer.from(text, 'latin1'),
    offers: protocolLines.reduce((sum, tokens) => sum + tokens.length, 0),
    lines: protocolLines.length,
    last: protocolLines.at(-1)!.at(-1)!,
  };
}

/** Limits of `headBytes` for the whole head, header count unbounded, lines capped at `lineBytes`. */
function headOf(headBytes: number, lineBytes: number): HttpHeadLimits {
  return { maxHeadBytes: headBytes, maxLineBytes: Math.min(headBytes, lineBytes), maxHeaderCount: 2 ** 30 };
}

function parseRequestHead(bytes: Buffer, limits: HttpHeadLimits): HttpRequestHead {
  const result = new HttpHeadParser('request', limits).feed(bytes);
  assert.ok(result, 'incomplete request head');
  return result.head;
}

function parseResponseHead(bytes: Buffer, limits: HttpHeadLimits): HttpResponseHead {
  const result = new HttpHeadParser('response', limits).feed(bytes);
  assert.ok(result, 'incomplete response head');
  return result.head;
}

/** A valid upgrade request followed by `a:b` header lines (5 bytes each) up to `headBytes` in all. */
function tinyLinesRequest(headBytes: number): Buffer {
  const start = `${REQUEST_START.join('\r\n')}\r\n`;
  const count = Math.floor((headBytes - start.length - 2) / 5);
  return Buffer.from(`${start}${'a:b\r\n'.repeat(count)}\r\n`, 'latin1');
}

/** `bytes` cut into 1-byte chunks, as a peer dribbling its head would send it. */
function oneByteChunks(bytes: Buffer): Buffer[] {
  const chunks: Buffer[] = [];
  for (let i = 0; i < bytes.length; i++) chunks.push(bytes.subarray(i, i + 1));
  return chunks;
}

/** `unit` repeated as many whole times as fit in `size` characters. */
function fill(unit: string, size: number): string {
  return unit.repeat(Math.floor(size / unit.length));
}

/** `element` repeated as a list of about `size` characters, `first` before and `last` after. */
function list(element: string, size: number, { first = '', last = '' } = {}): string {
  const count = Math.max(1, Math.floor((size - first.length - last.length) / (element.length + 2)));
  return first + `${element}, `.repeat(count) + last;
}

/** Run `work`, which must throw a HandshakeError with `code`. */
function throwsHandshakeError(code: string, work: () => unknown): void {
  try {
    work();
  } catch (error) {
    if (error instanceof HandshakeError && error.code === code) return;
    throw error;
  }
  assert.fail(`expected ${code}`);
}

// --- the server's side: the upgrade request -----------------------------------------

describe('HttpHeadParser: cost linear in the head, whatever its shape and chunking', () => {
  const feedWhole = ({ bytes, limits }: { bytes: Buffer; limits: HttpHeadLimits }) => parseRequestHead(bytes, limits);
  const feedBytes = (chunks: Buffer[]): void => {
    const parser = new HttpHeadParser('request', UNLIMITED);
    let result;
    for (const chunk of chunks) result = parser.feed(chunk);
    assert.ok(result);
  };

  it('the largest heads default limits and limits ×10 allow, whole and one byte at a time', TIMEOUT, (t) => {
    for (const [name, limits, budgetMs] of [
      ['default limits', DEFAULT_LIMITS, 20],
      ['limits ×10', LIMITS_10X, 250],
    ] as const) {
      const { bytes } = subprotocolRequest(limits);
      assertFast(t, `${name}, ${bytes.length} bytes whole`, budgetMs, () => parseRequestHead(bytes, limits));
      const chunks = oneByteChunks(bytes);
      assertFast(t, `${name}, ${bytes.length} bytes one at a time`, budgetMs, () => feedBytes(chunks));
    }
  });

  it('a head of long header lines (every Sec-WebSocket-Protocol line as long as allowed)', TIMEOUT, (t) => {
    const make = (size: number) => {
      const limits = headOf(size, DEFAULT_LIMITS.maxLineBytes);
      return { bytes: subprotocolRequest(limits).bytes, limits };
    };
    assertLinear(t, 'head of 8 KiB lines, 16 KiB (default limit) to 64 KiB', make, 16 * KIB, feedWhole);
    assertLinear(t, 'head of 8 KiB lines, 160 KiB (limit ×10) to 640 KiB', make, 160 * KIB, feedWhole);
  });

  it('a head of thousands of tiny header lines (a:b)', TIMEOUT, (t) => {
    const make = (size: number) => ({ bytes: tinyLinesRequest(size), limits: UNLIMITED });
    assertLinear(t, 'tiny lines, 4 KiB to 16 KiB (3,200 lines)', make, 4 * KIB, feedWhole);
  });

  it('a head fed one byte at a time (nothing is re-scanned or re-copied)', TIMEOUT, (t) => {
    const longLines = (size: number) => oneByteChunks(subprotocolRequest(headOf(size, 8 * KIB)).bytes);
    assertLinear(t, 'one byte at a time, 8 KiB lines, 16 KiB to 64 KiB', longLines, 16 * KIB, feedBytes);
    // One line as long as the whole head: the unfinished line's buffer grows geometrically, never re-copied per byte.
    const oneLine = (size: number) => oneByteChunks(subprotocolRequest(headOf(size, size)).bytes);
    assertLinear(t, 'one byte at a time, one line, 10 KiB to 40 KiB', oneLine, 10 * KIB, feedBytes);
    const tiny = (size: number) => oneByteChunks(tinyLinesRequest(size));
    assertLinear(t, 'one byte at a time, tiny lines, 4 KiB to 16 KiB', tiny, 4 * KIB, feedBytes);
  });

  it('an unfinished start line dribbled one byte at a time (its prefix is vetted incrementally)', TIMEOUT, (t) => {
    // A method token that never ends: every byte arrives alone and is checked once.
    const method = (size: number) => oneByteChunks(Buffer.from(fill('GET', size), 'latin1'));
    assertLinear(t, 'unfinished method, 8 KiB (line limit) to 32 KiB', method, 8 * KIB, (chunks) => {
      const parser = new HttpHeadParser('request', UNLIMITED);
      for (const chunk of chunks) assert.equal(parser.feed(chunk), undefined);
    });
    // The same for a status line, on the client's side.
    const status = (size: number) => oneByteChunks(Buffer.from(`HTTP/1.1 101 ${fill('Switching', size)}`, 'latin1'));
    assertLinear(t, 'unfinished status line, 8 KiB to 32 KiB', status, 8 * KIB, (chunks) => {
      const parser = new HttpHeadParser('response', UNLIMITED);
      for (const chunk of chunks) assert.equal(parser.feed(chunk), undefined);
    });
  });
});

describe('parseUpgradeRequest: the Sec-WebSocket-Protocol list costs linear time', () => {
  it('the largest list of distinct offers default limits allow, and limits raised 10×', TIMEOUT, (t) => {
    const largest = subprotocolRequest(DEFAULT_LIMITS);
    const head = parseRequestHead(largest.bytes, DEFAULT_LIMITS);
    const request = parseUpgradeRequest(head);
    assert.equal(request.protocols.length, largest.offers);
    assert.equal(request.protocols.at(-1), largest.last);
    t.diagnostic(`default limits: ${largest.offers} offers on ${largest.lines} lines, ${largest.bytes.length} bytes of head`);
    assert.ok(largest.offers > 5000, 'the list must be as long as the limits allow');
    // Checked with Array.includes (quadratic), this took 34-55 ms; now about 1.5.
    assertFast(t, 'parseUpgradeRequest, largest default-limit list', 15, () => parseUpgradeRequest(head));
    // Quadratic, this took 1.5 s; now about 20 ms.
    const largest10x = subprotocolRequest(LIMITS_10X);
    const head10x = parseRequestHead(largest10x.bytes, LIMITS_10X);
    t.diagnostic(`limits ×10: ${largest10x.offers} offers on ${largest10x.lines} lines, ${largest10x.bytes.length} bytes of head`);
    assertFast(t, 'parseUpgradeRequest, largest list with limits ×10', 500, () => parseUpgradeRequest(head10x));
  });

  it('n and 4n offers, on 8 KiB lines and on one line', TIMEOUT, (t) => {
    const onLines = (size: number) => parseRequestHead(subprotocolRequest(headOf(size, 8 * KIB)).bytes, UNLIMITED);
    assertLinear(t, 'offers on 8 KiB lines, 2 KiB to 8 KiB of head (650 to 2,600 offers)', onLines, 2 * KIB, parseUpgradeRequest);
    const oneLine = (size: number) => parseRequestHead(subprotocolRequest(headOf(size, size)).bytes, UNLIMITED);
    assertLinear(t, 'offers on one line, 2 KiB to 8 KiB', oneLine, 2 * KIB, parseUpgradeRequest);
  });

  it('duplicates late in the list: every distinct offer is checked before the first repeat', TIMEOUT, (t) => {
    const largest = subprotocolRequest(DEFAULT_LIMITS, true);
    const head = parseRequestHead(largest.bytes, DEFAULT_LIMITS);
    // The rejection is unchanged: same code, status and message.
    assert.throws(
      () => parseUpgradeRequest(head),
      (error: unknown) =>
        error instanceof HandshakeError &&
        error.code === Code.SUBPROTOCOL &&
        error.status === 400 &&
        error.message === 'Sec-WebSocket-Protocol offers "!" twice',
    );
    const rejected = (h: HttpRequestHead) => throwsHandshakeError(Code.SUBPROTOCOL, () => parseUpgradeRequest(h));
    assertFast(t, 'duplicates after the largest default-limit list', 15, () => rejected(head));
    const make = (size: number) => parseRequestHead(subprotocolRequest(headOf(size, 8 * KIB), true).bytes, UNLIMITED);
    assertLinear(t, 'duplicates late, 2 KiB to 8 KiB', make, 2 * KIB, rejected);
  });

  it('long Upgrade and Connection lists, the token last', TIMEOUT, (t) => {
    const make = (size: number) => {
      const text = [
        'GET / HTTP/1.1',
        'Host: a',
        `Upgrade: ${list('h2c', size, { last: 'websocket' })}`,
        `Connection: ${list('keep-alive', size, { last: 'Upgrade' })}`,
        `Sec-WebSocket-Key: ${KEY}`,
        'Sec-WebSocket-Version: 13',
      ].join('\r\n');
      return parseRequestHead(Buffer.from(`${text}\r\n\r\n`, 'latin1'), UNLIMITED);
    };
    assertLinear(t, 'Upgrade and Connection lists, 8 KiB (line limit) to 32 KiB each', make, 8 * KIB, parseUpgradeRequest);
    assertLinear(t, 'Upgrade and Connection lists, 20 KiB to 80 KiB (line limit ×10) each', make, 20 * KIB, parseUpgradeRequest);
  });
});

describe('HttpHeaders and the list helpers: one pass each', () => {
  it('get, getAll, count and toObject over many lines', TIMEOUT, (t) => {
    const make = (lines: number) => {
      const pairs: Array<[string, string]> = [];
      for (let i = 0; i < lines; i++) pairs.push(i % 2 === 0 ? ['Sec-WebSocket-Protocol', nthToken(i)] : [`X-${nthToken(i)}`, 'v']);
      return new HttpHeaders(pairs);
    };
    const lookUp = (headers: HttpHeaders): void => {
      headers.get('sec-websocket-protocol');
      headers.getAll('sec-websocket-key');
      headers.count('host');
      headers.toObject();
    };
    assertLinear(t, 'header lookups, 250 to 1,000 lines (count limit ×10)', make, 250, lookUp);
  });

  it('splitList and listHasToken', TIMEOUT, (t) => {
    const tokens = (size: number) => list('a', size);
    const at10x = tokens(LIMITS_10X.maxHeadBytes);
    assertFast(t, 'splitList, 160 KiB', 250, () => splitList(at10x));
    assertLinear(t, 'splitList, 4 KiB to 16 KiB', tokens, 4 * KIB, splitList);
    // Elements that are only whitespace, trimmed from both ends.
    const blank = (size: number) => fill(' \t ,', size);
    assertLinear(t, 'splitList of blank elements, 40 KiB to 160 KiB', blank, 40 * KIB, (value) => assert.equal(splitList(value).length, 0));
    // The token absent: the whole list is read.
    const absent = (value: string) => assert.equal(listHasToken(value, 'upgrade'), false);
    assertLinear(t, 'listHasToken, token absent, 16 KiB to 64 KiB', tokens, 16 * KIB, absent);
    assertLinear(t, 'listHasToken, token absent, 40 KiB to 160 KiB', tokens, 40 * KIB, absent);
  });
});

describe('Sec-WebSocket-Extensions: parseExtensionHeader and negotiateDeflate', () => {
  const shapes: Array<[string, (size: number) => string]> = [
    ['many offers', (size) => list('x-e; p=1', size)],
    ['many parameters', (size) => `e${fill('; p', size)}`],
    ['many quoted parameters', (size) => `e${fill('; p="v"', size)}`],
    ['one long quoted string', (size) => `e; p="${fill('v', size)}"`],
    ['a quoted string of escapes', (size) => `e; p="${fill('\\v', size)}"`],
  ];

  it('offers, parameters and quoted strings', TIMEOUT, (t) => {
    assert.deepEqual(parseExtensionHeader('e; p="\\v\\v"'), [{ name: 'e', params: [['p', 'vv']] }]);
    for (const [shape, make] of shapes) {
      const atDefault = make(DEFAULT_LIMITS.maxHeadBytes);
      const at10x = make(LIMITS_10X.maxHeadBytes);
      assertFast(t, `${shape}, 16 KiB`, 20, () => parseExtensionHeader(atDefault));
      assertFast(t, `${shape}, 160 KiB`, 250, () => parseExtensionHeader(at10x));
      assertLinear(t, `${shape}, 4 KiB to 16 KiB`, make, 4 * KIB, parseExtensionHeader);
    }
    // No array grows with these two: sizes up to the limits ×10 and beyond.
    assertLinear(t, 'one long quoted string, 160 KiB to 640 KiB', shapes[3][1], 160 * KIB, parseExtensionHeader);
    // Rejected input costs no more: an unterminated quoted string is read to its end once.
    const unterminated = (size: number) => `e; p="${fill('v', size)}`;
    assertLinear(t, 'unterminated quoted string, 160 KiB to 640 KiB', unterminated, 160 * KIB, (value) =>
      throwsHandshakeError(Code.EXTENSIONS, () => parseExtensionHeader(value)),
    );
  });

  it('negotiateDeflate through many declined offers to the last, acceptable one', TIMEOUT, (t) => {
    const declined = [
      // All four parameters, then an unknown one: RFC 7692 §7.1 "MUST decline".
      'permessage-deflate; server_no_context_takeover; client_no_context_takeover; server_max_window_bits=10; client_max_window_bits; x',
      // A parameter twice.
      'permessage-deflate; server_max_window_bits=10; server_max_window_bits=10',
      // An invalid value.
      'permessage-deflate; client_max_window_bits=16',
      // Another extension.
      'x-other; a=1',
    ].join(', ');
    const make = (size: number) => list(declined, size, { last: 'permessage-deflate; server_max_window_bits=12' });
    const negotiate = (header: string): void => {
      assert.equal(negotiateDeflate(parseExtensionHeader(header))?.response, 'permessage-deflate; server_max_window_bits=12');
    };
    const atDefault = make(DEFAULT_LIMITS.maxHeadBytes);
    const at10x = make(LIMITS_10X.maxHeadBytes);
    assertFast(t, 'parse and negotiate a 16 KiB offer list', 20, () => negotiate(atDefault));
    assertFast(t, 'parse and negotiate a 160 KiB offer list', 250, () => negotiate(at10x));
    assertLinear(t, 'declined offers, 16 KiB to 64 KiB', make, 16 * KIB, negotiate);
  });
});

// --- the client's side: the server's 101 -------------------------------------------

describe('validateUpgradeResponse: the client checks a large 101 in linear time', () => {
  const ACCEPT = computeAcceptKey(KEY);
  const response = (lines: string[]): Buffer =>
    Buffer.from(`${['HTTP/1.1 101 Switching Protocols', 'Upgrade: websocket', `Sec-WebSocket-Accept: ${ACCEPT}`, ...lines].join('\r\n')}\r\n\r\n`, 'latin1');

  it('a long Connection list and an extension answer naming every one of many offered extensions', TIMEOUT, (t) => {
    // Half the bytes each; the offer (ours) names the same extensions, so the whole answer is checked.
    const make = (size: number) => {
      const names: string[] = [];
      for (let length = 0, i = 0; length < size / 2; i++) {
        names.push(`x-${nthToken(i)}`);
        length += names.at(-1)!.length + 2;
      }
      const bytes = response([`Connection: ${list('keep-alive', size / 2, { last: 'Upgrade' })}`, `Sec-WebSocket-Extensions: ${names.join(', ')}`]);
      return { bytes, offer: { key: KEY, protocols: [], extensions: names.join(', ') } };
    };
    const check = ({ bytes, offer }: ReturnType<typeof make>): void => {
      const accepted = validateUpgradeResponse(parseResponseHead(bytes, UNLIMITED), offer);
      assert.ok(accepted.extensionNames.length > 0);
    };
    const atDefault = make(DEFAULT_LIMITS.maxHeadBytes - 200);
    const at10x = make(LIMITS_10X.maxHeadBytes - 200);
    assertFast(t, 'a 16 KiB 101, parsed and checked', 20, () => check(atDefault));
    assertFast(t, 'a 160 KiB 101, parsed and checked', 250, () => check(at10x));
    assertLinear(t, 'large 101, 4 KiB to 16 KiB', make, 4 * KIB, check);
  });

  it('a 101 selecting thousands of subprotocols is refused in linear time', TIMEOUT, (t) => {
    const make = (size: number) => {
      const tokens: string[] = [];
      for (let length = 0, i = 0; length < size; i++) {
        tokens.push(nthToken(i));
        length += tokens.at(-1)!.length + 1;
      }
      return { bytes: response(['Connection: Upgrade', `Sec-WebSocket-Protocol: ${tokens.join(',')}`]), offer: { key: KEY, protocols: tokens, extensions: undefined } };
    };
    const check = ({ bytes, offer }: ReturnType<typeof make>): void => {
      assert.throws(() => validateUpgradeResponse(parseResponseHead(bytes, UNLIMITED), offer), ClientHandshakeError);
    };
    const at10x = make(LIMITS_10X.maxHeadBytes - 200);
    assertFast(t, 'a 160 KiB selection, parsed and refused', 250, () => check(at10x));
    assertLinear(t, 'many selected subprotocols, 4 KiB to 16 KiB', make, 4 * KIB, check);
  });
});

// --- end to end -----------------------------------------------------------------------

describe('a real server answers the largest subprotocol list promptly', () => {
  /** Send `request` over TCP and resolve with the response head and how long it took, in ms. */
  async function roundTrip(port: number, request: Buffer): Promise<{ head: string; ms: number }> {
    const socket = connect(port, '127.0.0.1');
    await once(socket, 'connect');
    const start = performance.now();
    socket.write(request);
    let received = Buffer.alloc(0);
    for await (const chunk of socket) {
      received = Buffer.concat([received, chunk as Buffer]);
      const end = received.indexOf('\r\n\r\n');
      if (end !== -1) {
        const ms = performance.now() - start;
        socket.destroy();
        return { head: received.subarray(0, end).toString('latin1'), ms };
      }
    }
    throw new Error(`connection closed before a response head: ${JSON.stringify(received.toString('latin1'))}`);
  }

  for (const [name, limits, budgetMs] of [
    ['default limits', DEFAULT_LIMITS, 500],
    ['limits raised 10×', LIMITS_10X, 500],
  ] as const) {
    it(`${name}: 101 within ${budgetMs} ms, choosing the last offer`, TIMEOUT, async (t) => {
      const server = createServer(
        { host: '127.0.0.1', port: 0, httpLimits: limits, closeTimeout: 500, selectProtocol: (offered) => offered.at(-1) },
        () => {},
      );
      try {
        const { port } = await server.listen(0, '127.0.0.1');
        const request = subprotocolRequest(limits);
        // Twice: the first connection also pays for compiling the code it runs.
        await roundTrip(port, request.bytes);
        const { head, ms } = await roundTrip(port, request.bytes);
        t.diagnostic(`${request.offers} offers, ${request.bytes.length} bytes: 101 after ${ms.toFixed(1)} ms`);
        assert.match(head, /^HTTP\/1\.1 101 /);
        assert.ok(head.includes(`\r\nSec-WebSocket-Protocol: ${request.last}`), head.slice(0, 300));
        assert.ok(ms < budgetMs, `the 101 took ${ms.toFixed(1)} ms`);
      } finally {
        await server.close();
      }
    });
  }
});
