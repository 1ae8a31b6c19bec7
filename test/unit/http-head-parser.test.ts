/**
 * HTTP/1.1 message-head parser (RFC 9112). Every valid input is also fed one
 * byte at a time and split in two at every offset; every rejection is checked
 * for its status and stable code under the same chunkings.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { HandshakeError, LocalError } from '../../src/errors.js';
import { HandshakeErrorCode as Code } from '../../src/handshake/error-codes.js';
import {
  DEFAULT_HTTP_HEAD_LIMITS,
  HttpHeadParser,
  HttpHeaders,
  type HttpHeadKind,
  type HttpHeadLimits,
  type HttpHeadOf,
} from '../../src/handshake/http-head-parser.js';
import { RFC_UPGRADE_REQUEST as RFC_REQUEST } from '../helpers/protocol-harness.js';

// --- helpers ---------------------------------------------------------------

const bytes = (s: string): Buffer => Buffer.from(s, 'latin1');

/** A head as plain data, for deep comparison. */
function plain(head: HttpHeadOf<HttpHeadKind>): Record<string, unknown> {
  const { headers, ...rest } = head;
  return { ...rest, headers: headers.raw.map(([n, v]) => [n, v]) };
}

interface Parsed {
  head: Record<string, unknown>;
  rest: Buffer;
}

/**
 * Feed `chunks` in order. Returns the head and every byte after it (the
 * parser's `rest` plus the chunks that were never fed), or undefined.
 */
function feedChunks(kind: HttpHeadKind, chunks: Buffer[], limits?: Partial<HttpHeadLimits>): Parsed | undefined {
  const parser = new HttpHeadParser(kind, limits);
  for (let i = 0; i < chunks.length; i++) {
    const result = parser.feed(chunks[i]);
    if (result !== undefined) {
      return { head: plain(result.head), rest: Buffer.concat([result.rest, ...chunks.slice(i + 1)]) };
    }
  }
  return undefined;
}

/** Every chunking of `input` to try: whole, one byte at a time, and split in two at every offset. */
function* chunkings(input: Buffer): Generator<{ label: string; chunks: Buffer[] }> {
  yield { label: 'one chunk', chunks: [input] };
  const single: Buffer[] = [];
  for (let i = 0; i < input.length; i++) single.push(input.subarray(i, i + 1));
  yield { label: 'one byte at a time', chunks: single };
  for (let cut = 0; cut <= input.length; cut++) {
    yield { label: `split at ${cut}`, chunks: [input.subarray(0, cut), input.subarray(cut)] };
  }
}

/** Parse `input` every way; all must agree. Returns the one-chunk result. */
function parseAllWays(kind: HttpHeadKind, input: Buffer | string, limits?: Partial<HttpHeadLimits>): Parsed {
  const data = typeof input === 'string' ? bytes(input) : input;
  const expected = feedChunks(kind, [data], limits);
  assert.ok(expected, 'the head should be complete');
  for (const { label, chunks } of chunkings(data)) {
    const got = feedChunks(kind, chunks, limits);
    assert.deepEqual(got, expected, label);
  }
  return expected;
}

/** `input` must be rejected with `status` and `code`, however it is chunked. */
function rejectAllWays(
  kind: HttpHeadKind,
  input: Buffer | string,
  status: number,
  code: string,
  limits?: Partial<HttpHeadLimits>,
): void {
  const data = typeof input === 'string' ? bytes(input) : input;
  for (const { label, chunks } of chunkings(data)) {
    assert.throws(
      () => feedChunks(kind, chunks, limits),
      (error: unknown) => {
        assert.ok(error instanceof HandshakeError, `${label}: HandshakeError expected, got ${String(error)}`);
        assert.equal(error.status, status, `${label}: ${error.message}`);
        assert.equal(error.code, code, `${label}: ${error.message}`);
        return true;
      },
      label,
    );
  }
}

/** The response of RFC 6455 §1.2. */
const RFC_RESPONSE =
  'HTTP/1.1 101 Switching Protocols\r\n' +
  'Upgrade: websocket\r\n' +
  'Connection: Upgrade\r\n' +
  'Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n' +
  'Sec-WebSocket-Protocol: chat\r\n' +
  '\r\n';

/** A masked text frame "Hello" (RFC 6455 §5.7), as it could follow the request in the same packet. */
const MASKED_HELLO = Buffer.from('818537fa213d7f9f4d5158', 'hex');

// --- valid heads -------------------------------------------------------------

describe('HttpHeadParser: requests', () => {
  it('parses the RFC 6455 §1.2 request, whatever the chunking', () => {
    const { head, rest } = parseAllWays('request', RFC_REQUEST);
    assert.deepEqual(head, {
      kind: 'request',
      method: 'GET',
      target: '/chat',
      httpVersion: '1.1',
      headers: [
        ['Host', 'server.example.com'],
        ['Upgrade', 'websocket'],
        ['Connection', 'Upgrade'],
        ['Sec-WebSocket-Key', 'dGhlIHNhbXBsZSBub25jZQ=='],
        ['Origin', 'http://example.com'],
        ['Sec-WebSocket-Protocol', 'chat, superchat'],
        ['Sec-WebSocket-Version', '13'],
      ],
    });
    assert.equal(rest.length, 0);
  });

  it('hands on the frame bytes that follow the head in the same chunk, and across every split', () => {
    const input = Buffer.concat([bytes(RFC_REQUEST), MASKED_HELLO]);
    const { rest } = parseAllWays('request', input);
    assert.deepEqual(rest, MASKED_HELLO);
  });

  it('returns rest as a view of the last chunk (no copy), empty when nothing follows', () => {
    const input = Buffer.concat([bytes(RFC_REQUEST), MASKED_HELLO]);
    const result = new HttpHeadParser('request').feed(input);
    assert.ok(result);
    assert.equal(result.rest.buffer, input.buffer);
    assert.equal(result.rest.byteOffset, input.byteOffset + RFC_REQUEST.length);
    const empty = new HttpHeadParser('request').feed(bytes(RFC_REQUEST));
    assert.equal(empty?.rest.length, 0);
  });

  it('returns undefined for every prefix of the head', () => {
    const data = bytes(RFC_REQUEST);
    for (let n = 0; n < data.length; n++) {
      assert.equal(new HttpHeadParser('request').feed(data.subarray(0, n)), undefined, `prefix of ${n} bytes`);
    }
  });

  it('accepts an empty chunk at any time', () => {
    const parser = new HttpHeadParser('request');
    assert.equal(parser.feed(Buffer.alloc(0)), undefined);
    assert.equal(parser.feed(bytes('GET / HTTP/1.1\r\n')), undefined);
    assert.equal(parser.feed(Buffer.alloc(0)), undefined);
    assert.ok(parser.feed(bytes('\r\n')));
  });

  it('accepts a bare LF as line end (RFC 9112 §2.2), mixed with CRLF', () => {
    const { head } = parseAllWays('request', 'GET /a HTTP/1.1\nHost: h\r\nX-A: 1\n\n');
    assert.deepEqual(head.headers, [
      ['Host', 'h'],
      ['X-A', '1'],
    ]);
    const { rest } = parseAllWays('request', 'GET / HTTP/1.1\n\nrest');
    assert.equal(rest.toString(), 'rest');
  });

  it('skips empty lines before the request line (RFC 9112 §2.2)', () => {
    const { head } = parseAllWays('request', '\r\n\n\r\nGET /x HTTP/1.1\r\nHost: h\r\n\r\n');
    assert.equal(head.target, '/x');
  });

  it('trims OWS around values, keeps inner whitespace, allows an empty value', () => {
    const { head } = parseAllWays('request', 'GET / HTTP/1.1\r\nA:   x  y \t\r\nB:\r\nC:\t \r\nD:z\r\n\r\n');
    assert.deepEqual(head.headers, [
      ['A', 'x  y'],
      ['B', ''],
      ['C', ''],
      ['D', 'z'],
    ]);
  });

  it('keeps obs-text bytes of a value as Latin-1 characters', () => {
    const { head } = parseAllWays('request', Buffer.from('GET / HTTP/1.1\r\nX-Name: caf\xe9\xff\r\n\r\n', 'latin1'));
    assert.deepEqual(head.headers, [['X-Name', 'caf\u00e9\u00ff']]);
  });

  it('keeps the method case as sent (methods are case-sensitive) and the HTTP/1.0 version', () => {
    const { head } = parseAllWays('request', 'get / HTTP/1.0\r\n\r\n');
    assert.equal(head.method, 'get');
    assert.equal(head.httpVersion, '1.0');
  });

  it('accepts an absolute-form target and one with a query', () => {
    assert.equal(parseAllWays('request', 'GET http://h:8080/p?q=1 HTTP/1.1\r\n\r\n').head.target, 'http://h:8080/p?q=1');
  });
});

describe('HttpHeadParser: responses', () => {
  it('parses the RFC 6455 §1.2 response, whatever the chunking, and hands on the first frame', () => {
    const frame = Buffer.from('810548656c6c6f', 'hex'); // unmasked "Hello" from the server
    const { head, rest } = parseAllWays('response', Buffer.concat([bytes(RFC_RESPONSE), frame]));
    assert.deepEqual(head, {
      kind: 'response',
      httpVersion: '1.1',
      status: 101,
      reason: 'Switching Protocols',
      headers: [
        ['Upgrade', 'websocket'],
        ['Connection', 'Upgrade'],
        ['Sec-WebSocket-Accept', 's3pPLMBiTxaQ9kYGzzhZRbK+xOo='],
        ['Sec-WebSocket-Protocol', 'chat'],
      ],
    });
    assert.deepEqual(rest, frame);
  });

  it('accepts an empty reason, with or without its space', () => {
    assert.equal(parseAllWays('response', 'HTTP/1.1 101 \r\n\r\n').head.reason, '');
    const { head } = parseAllWays('response', 'HTTP/1.1 101\r\n\r\n');
    assert.equal(head.status, 101);
    assert.equal(head.reason, '');
  });

  it('keeps a reason with spaces and obs-text', () => {
    assert.equal(parseAllWays('response', bytes('HTTP/1.1 404 Not \xc9 Found\r\n\r\n')).head.reason, 'Not \u00c9 Found');
  });

  it('does not skip an empty line before the status line', () => {
    rejectAllWays('response', '\r\nHTTP/1.1 101 OK\r\n\r\n', 400, Code.BAD_STATUS_LINE);
  });

  it('rejects malformed status lines with 400', () => {
    for (const line of [
      'HTTP/1.1 1O1 OK',
      'HTTP/1.1 99 OK',
      'HTTP/1.1 099 OK',
      'HTTP/1.1 600 OK',
      'HTTP/1.1 1010 OK',
      'HTTP/1.1 101x',
      'HTTP/1.1  101 OK',
      'HTTP/1.1',
      'http/1.1 101 OK',
      'HTTP/1.1 101 Bad\x01Reason',
      'ICY 200 OK',
    ]) {
      rejectAllWays('response', `${line}\r\n\r\n`, 400, Code.BAD_STATUS_LINE);
    }
  });

  it('rejects a major version other than 1 with 505', () => {
    rejectAllWays('response', 'HTTP/2.0 101 Switching Protocols\r\n\r\n', 505, Code.HTTP_VERSION_UNSUPPORTED);
  });

  it('fails at the first byte of a status line that cannot start with "HTTP/"', () => {
    const parser = new HttpHeadParser('response');
    assert.equal(parser.feed(bytes('HTT')), undefined);
    assert.throws(() => parser.feed(bytes('X')), { code: Code.BAD_STATUS_LINE });
  });
});

// --- HttpHeaders ---------------------------------------------------------------

describe('HttpHeaders', () => {
  const { head } = (() => {
    const r = new HttpHeadParser('request').feed(
      bytes(
        'GET / HTTP/1.1\r\nHost: a\r\nX-Dup: 1\r\nUPGRADE: websocket\r\nx-dup: 2\r\nX-DUP: 3\r\n' +
          '__proto__: p\r\nconstructor: c\r\nhasOwnProperty: h\r\n\r\n',
      ),
    );
    assert.ok(r);
    return r;
  })();
  const h = head.headers;

  it('looks names up case-insensitively', () => {
    assert.equal(h.get('upgrade'), 'websocket');
    assert.equal(h.get('Upgrade'), 'websocket');
    assert.equal(h.get('UPGRADE'), 'websocket');
    assert.equal(h.has('uPgRaDe'), true);
    assert.equal(h.has('connection'), false);
    assert.equal(h.get('connection'), undefined);
  });

  it('joins repeated fields with ", " in order, and counts their lines', () => {
    assert.equal(h.get('x-dup'), '1, 2, 3');
    assert.deepEqual(h.getAll('X-Dup'), ['1', '2', '3']);
    assert.equal(h.count('x-dup'), 3);
    assert.equal(h.count('host'), 1);
    assert.equal(h.count('nope'), 0);
    assert.deepEqual(h.getAll('nope'), []);
  });

  it('keeps the raw pairs as sent, in order, frozen', () => {
    assert.deepEqual(
      h.raw.map(([n]) => n),
      ['Host', 'X-Dup', 'UPGRADE', 'x-dup', 'X-DUP', '__proto__', 'constructor', 'hasOwnProperty'],
    );
    assert.equal(h.size, 8);
    assert.ok(Object.isFrozen(h.raw));
    assert.ok(Object.isFrozen(h.raw[0]));
  });

  it('getAll returns a copy the caller may modify', () => {
    h.getAll('x-dup').push('4');
    assert.equal(h.count('x-dup'), 3);
  });

  it('treats prototype-like names as ordinary headers', () => {
    assert.equal(h.get('__proto__'), 'p');
    assert.equal(h.get('constructor'), 'c');
    assert.equal(h.get('toString'), undefined);
    assert.equal(h.has('valueOf'), false);
    const obj = h.toObject();
    assert.equal(Object.getPrototypeOf(obj), null);
    assert.equal(obj['__proto__'], 'p');
    assert.equal(obj['constructor'], 'c');
    assert.equal(obj['hasownproperty'], 'h');
    assert.equal(obj['tostring'], undefined);
  });

  it('toObject has lowercase keys and joined duplicates', () => {
    const obj = h.toObject();
    assert.deepEqual(Object.keys(obj), ['host', 'x-dup', 'upgrade', '__proto__', 'constructor', 'hasownproperty']);
    assert.equal(obj['x-dup'], '1, 2, 3');
    assert.equal(obj['upgrade'], 'websocket');
  });

  it('can be built directly from pairs', () => {
    const built = new HttpHeaders([
      ['A', '1'],
      ['a', '2'],
    ]);
    assert.equal(built.get('A'), '1, 2');
    assert.equal(new HttpHeaders().size, 0);
  });

  it('agrees with a list of pairs for any names and values, empty ones included (and built from a flat list too)', () => {
    const text = fc.string({ maxLength: 4 }).filter((s) => !s.includes('\n'));
    const name = fc.constantFrom('', 'a', 'A', 'b', 'host', 'Host');
    fc.assert(
      fc.property(fc.array(fc.tuple(name, text), { maxLength: 6 }), fc.constantFrom('', 'a', 'b', 'host', 'zz'), (pairs, lookup) => {
        const matching = pairs.filter(([n]) => n.toLowerCase() === lookup).map(([, v]) => v);
        for (const headers of [new HttpHeaders(pairs), HttpHeaders.fromFieldList(pairs.flat())]) {
          assert.deepEqual(headers.raw, pairs);
          assert.equal(headers.size, pairs.length);
          assert.deepEqual(headers.getAll(lookup), matching);
          assert.equal(headers.count(lookup), matching.length);
          assert.equal(headers.has(lookup), matching.length > 0);
          assert.equal(headers.get(lookup), matching.length === 0 ? undefined : matching.join(', '));
        }
      }),
    );
  });
});

// --- rejections -----------------------------------------------------------------

describe('HttpHeadParser: malformed request lines', () => {
  const cases: Array<[string, string]> = [
    ['double space', 'GET  / HTTP/1.1'],
    ['tab as separator', 'GET\t/ HTTP/1.1'],
    ['HTTP/0.9 style (no version)', 'GET /'],
    ['trailing space', 'GET / HTTP/1.1 '],
    ['leading space', ' GET / HTTP/1.1'],
    ['lowercase protocol name', 'GET / http/1.1'],
    ['two-digit minor', 'GET / HTTP/1.10'],
    ['missing minor', 'GET / HTTP/1'],
    ['method with a delimiter', 'GE(T / HTTP/1.1'],
    ['space in target', 'GET /a b HTTP/1.1'],
    ['non-ASCII target', 'GET /caf\xe9 HTTP/1.1'],
    ['control byte in target', 'GET /a\x01 HTTP/1.1'],
    ['DEL in target', 'GET /a\x7f HTTP/1.1'],
    ['bare CR in the line', 'GET /\r HTTP/1.1'],
    ['NUL', 'GET\x00/ HTTP/1.1'],
    ['CR before the method', '\rGET / HTTP/1.1'],
    ['empty method (line is only the rest)', '/ HTTP/1.1'],
  ];
  for (const [name, line] of cases) {
    it(`${name} → 400`, () => rejectAllWays('request', `${line}\r\nHost: h\r\n\r\n`, 400, Code.BAD_REQUEST_LINE));
  }

  it('another HTTP major version → 505, including the HTTP/2 preface and HTTP/0.9', () => {
    rejectAllWays('request', 'GET / HTTP/2.0\r\n\r\n', 505, Code.HTTP_VERSION_UNSUPPORTED);
    rejectAllWays('request', 'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 505, Code.HTTP_VERSION_UNSUPPORTED);
    rejectAllWays('request', 'GET / HTTP/0.9\r\n\r\n', 505, Code.HTTP_VERSION_UNSUPPORTED);
  });
});

describe('HttpHeadParser: malformed header lines', () => {
  const head = (lines: string) => `GET / HTTP/1.1\r\n${lines}\r\n`;

  it('obs-fold (a line starting with SP or HTAB) → 400', () => {
    rejectAllWays('request', head('Host: h\r\nX-A: a\r\n b\r\n'), 400, Code.OBS_FOLD);
    rejectAllWays('request', head('Host: h\r\nX-A: a\r\n\tb\r\n'), 400, Code.OBS_FOLD);
    rejectAllWays('response', 'HTTP/1.1 101 OK\r\nX-A: a\r\n b\r\n\r\n', 400, Code.OBS_FOLD);
  });

  it('whitespace between the start line and the first header → 400', () => {
    rejectAllWays('request', head(' Host: h\r\n'), 400, Code.OBS_FOLD);
  });

  it('whitespace between name and colon → 400 (RFC 9112 §5.1)', () => {
    rejectAllWays('request', head('Host : h\r\n'), 400, Code.BAD_HEADER);
    rejectAllWays('request', head('Host\t: h\r\n'), 400, Code.BAD_HEADER);
  });

  const bad: Array<[string, string]> = [
    ['no colon', 'Host h\r\n'],
    ['empty name', ': h\r\n'],
    ['delimiter in name', 'Ho(st: h\r\n'],
    ['non-ASCII name', 'H\xf6st: h\r\n'],
    ['NUL in value', 'X: a\x00b\r\n'],
    ['bare CR in value', 'X: a\rb\r\n'],
    ['CR CR LF', 'X: a\r\r\n'],
    ['DEL in value', 'X: a\x7f\r\n'],
    ['escape byte in value', 'X: \x1b[31m\r\n'],
    ['vertical tab in value', 'X: a\x0bb\r\n'],
  ];
  for (const [name, lines] of bad) {
    it(`${name} → 400`, () => rejectAllWays('request', head(`Host: h\r\n${lines}`), 400, Code.BAD_HEADER));
  }
});

describe('HttpHeadParser: garbage input is a 400, never a crash', () => {
  it('a TLS ClientHello fails at its first byte', () => {
    // Start of a real ClientHello: record type 22, version 3.1, length, handshake type 1.
    const hello = Buffer.from(
      '16030100f8010000f40303' + 'ab'.repeat(32) + '20' + 'cd'.repeat(32) + '0a0d0a0d0a' + '00',
      'hex',
    );
    rejectAllWays('request', hello, 400, Code.TLS_ON_PLAIN_PORT);
    assert.throws(() => new HttpHeadParser('request').feed(hello.subarray(0, 1)), { code: Code.TLS_ON_PLAIN_PORT });
  });

  it('still fails at the first byte after skipped empty lines', () => {
    const parser = new HttpHeadParser('request');
    for (const b of bytes('\r\n\n')) assert.equal(parser.feed(Buffer.from([b])), undefined);
    assert.throws(() => parser.feed(Buffer.from([0x16])), { code: Code.TLS_ON_PLAIN_PORT });
  });

  it('binary bytes fail at the first byte that cannot start a request', () => {
    const parser = new HttpHeadParser('request');
    assert.equal(parser.feed(bytes('GE')), undefined);
    assert.throws(() => parser.feed(Buffer.from([0xff, 0x00])), { status: 400, code: Code.BAD_REQUEST_LINE });
  });

  it('a random byte string yields undefined, a head, or a HandshakeError, never anything else', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), fc.array(fc.nat(300), { maxLength: 6 }), (data, cuts) => {
        const input = Buffer.from(data);
        const offsets = [...new Set(cuts.map((c) => c % (input.length + 1)))].sort((a, b) => a - b);
        const chunks: Buffer[] = [];
        let last = 0;
        for (const o of offsets) {
          chunks.push(input.subarray(last, o));
          last = o;
        }
        chunks.push(input.subarray(last));
        for (const kind of ['request', 'response'] as const) {
          try {
            feedChunks(kind, chunks);
          } catch (error) {
            if (!(error instanceof HandshakeError)) throw error;
            assert.ok([400, 414, 431, 505].includes(error.status), `status ${error.status}`);
          }
        }
      }),
      { numRuns: 500 },
    );
  });

  it('random bytes after a valid request line fail with 400 or complete, like any other chunking', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 1, maxLength: 64 }), (data) => {
        const input = Buffer.concat([bytes('GET / HTTP/1.1\r\n'), Buffer.from(data), bytes('\r\n\r\n')]);
        let oneShot: unknown;
        try {
          oneShot = feedChunks('request', [input]);
        } catch (error) {
          oneShot = (error as HandshakeError).code;
        }
        let dribbled: unknown;
        try {
          dribbled = feedChunks('request', [...input].map((b) => Buffer.from([b])));
        } catch (error) {
          dribbled = (error as HandshakeError).code;
        }
        assert.deepEqual(dribbled, oneShot);
      }),
      { numRuns: 300 },
    );
  });
});

// --- limits ------------------------------------------------------------------------

describe('HttpHeadParser: limits', () => {
  it('has the documented defaults', () => {
    assert.deepEqual({ ...DEFAULT_HTTP_HEAD_LIMITS }, { maxHeadBytes: 16384, maxHeaderCount: 100, maxLineBytes: 8192 });
    assert.ok(Object.isFrozen(DEFAULT_HTTP_HEAD_LIMITS));
    assert.deepEqual({ ...new HttpHeadParser('request', { maxHeaderCount: 5 }).limits }, {
      maxHeadBytes: 16384,
      maxHeaderCount: 5,
      maxLineBytes: 8192,
    });
  });

  it('rejects limits that are not positive integers', () => {
    for (const bad of [0, -1, 1.5, NaN, Infinity]) {
      assert.throws(() => new HttpHeadParser('request', { maxLineBytes: bad }), (e: unknown) => {
        assert.ok(e instanceof LocalError);
        assert.equal(e.code, Code.INVALID_LIMIT);
        return true;
      });
    }
  });

  /** A request line of exactly `n` bytes, CRLF included. */
  const requestLine = (n: number) => `GET /${'a'.repeat(n - 'GET / HTTP/1.1\r\n'.length)} HTTP/1.1\r\n`;
  /** A header line of exactly `n` bytes, CRLF included. */
  const headerLine = (n: number) => `X: ${'v'.repeat(n - 'X: \r\n'.length)}\r\n`;

  it('maxLineBytes (default): a request line at 8192 bytes passes, 8193 → 414', () => {
    assert.equal(requestLine(8192).length, 8192);
    const ok = feedChunks('request', [bytes(requestLine(8192) + '\r\n')]);
    assert.equal((ok?.head.target as string).length, 8192 - 15);
    rejectAllWays('request', requestLine(8193) + '\r\n', 414, Code.REQUEST_LINE_TOO_LONG, { maxLineBytes: 8192 });
  });

  it('maxLineBytes (default): a header line at 8192 bytes passes, 8193 → 431', () => {
    assert.ok(feedChunks('request', [bytes(`GET / HTTP/1.1\r\n${headerLine(8192)}\r\n`)]));
    assert.throws(() => feedChunks('request', [bytes(`GET / HTTP/1.1\r\n${headerLine(8193)}\r\n`)]), {
      status: 431,
      code: Code.LINE_TOO_LONG,
    });
  });

  it('maxLineBytes counts a bare LF as one byte', () => {
    const limits = { maxLineBytes: 40 };
    const line = requestLine(41).replace('\r\n', '\n'); // 40 bytes
    assert.ok(parseAllWays('request', `${line}\n`, limits));
    rejectAllWays('request', `${requestLine(42).replace('\r\n', '\n')}\n`, 414, Code.REQUEST_LINE_TOO_LONG, limits);
  });

  it('maxLineBytes (custom): at the limit passes, one over fails, for every line kind and chunking', () => {
    const limits = { maxLineBytes: 48 };
    parseAllWays('request', `${requestLine(48)}${headerLine(48)}\r\n`, limits);
    rejectAllWays('request', `${requestLine(49)}\r\n`, 414, Code.REQUEST_LINE_TOO_LONG, limits);
    rejectAllWays('request', `GET / HTTP/1.1\r\n${headerLine(49)}\r\n`, 431, Code.LINE_TOO_LONG, limits);
    const status = (n: number) => `HTTP/1.1 101 ${'r'.repeat(n - 'HTTP/1.1 101 \r\n'.length)}\r\n`;
    parseAllWays('response', `${status(48)}\r\n`, limits);
    rejectAllWays('response', `${status(49)}\r\n`, 431, Code.LINE_TOO_LONG, limits);
  });

  it('maxLineBytes is enforced before buffering: the byte past the limit throws, with no LF in sight', () => {
    const limit = 64;
    const parser = new HttpHeadParser('request', { maxLineBytes: limit });
    const line = bytes(`GET /${'a'.repeat(200)}`);
    for (let i = 0; i < limit; i++) assert.equal(parser.feed(line.subarray(i, i + 1)), undefined, `byte ${i}`);
    assert.throws(() => parser.feed(line.subarray(limit, limit + 1)), { status: 414 });
    // One big chunk: refused whole, before anything is copied.
    assert.throws(() => new HttpHeadParser('request', { maxLineBytes: limit }).feed(line), { status: 414 });
  });

  it('maxHeadBytes: a head of exactly the limit passes, one byte more → 431', () => {
    const start = 'GET / HTTP/1.1\r\n';
    const fields = 'Host: h\r\nX-Pad: ';
    const tail = '\r\n\r\n';
    const build = (total: number) => start + fields + 'p'.repeat(total - start.length - fields.length - tail.length) + tail;
    const limits = { maxHeadBytes: 200 };
    assert.equal(build(200).length, 200);
    parseAllWays('request', `${build(200)}frame`, limits);
    rejectAllWays('request', build(201), 431, Code.HEAD_TOO_LARGE, limits);
  });

  it('maxHeadBytes (default): 16384 passes, 16385 → 431', () => {
    const head = (total: number) => {
      const lines = ['GET / HTTP/1.1\r\n'];
      let size = lines[0].length + 2; // + final CRLF
      while (total - size > 8000) {
        lines.push(headerLine(8000));
        size += 8000;
      }
      lines.push(headerLine(total - size));
      return `${lines.join('')}\r\n`;
    };
    assert.equal(head(16384).length, 16384);
    assert.ok(feedChunks('request', [bytes(head(16384))]));
    assert.throws(() => feedChunks('request', [bytes(head(16385))]), { status: 431, code: Code.HEAD_TOO_LARGE });
  });

  it('maxHeadBytes counts skipped leading empty lines', () => {
    const limits = { maxHeadBytes: 20 };
    assert.ok(feedChunks('request', [bytes('GET / HTTP/1.1\r\n\r\n')], limits)); // 18 bytes
    assert.ok(feedChunks('request', [bytes('\r\nGET / HTTP/1.1\r\n\r\n')], limits)); // 20
    assert.throws(() => feedChunks('request', [bytes('\r\n\nGET / HTTP/1.1\r\n\r\n')], limits), { status: 431 });
  });

  it('maxHeaderCount: exactly N fields pass, N + 1 → 431', () => {
    const head = (n: number) => `GET / HTTP/1.1\r\n${'X: 1\r\n'.repeat(n)}\r\n`;
    const limits = { maxHeaderCount: 5 };
    const { head: parsed } = parseAllWays('request', head(5), limits);
    assert.equal((parsed.headers as unknown[]).length, 5);
    rejectAllWays('request', head(6), 431, Code.TOO_MANY_HEADERS, limits);
  });

  it('maxHeaderCount (default): 100 fields pass, 101 → 431', () => {
    const head = (n: number) => bytes(`GET / HTTP/1.1\r\n${'X: 1\r\n'.repeat(n)}\r\n`);
    assert.ok(feedChunks('request', [head(100)]));
    assert.throws(() => feedChunks('request', [head(101)]), { status: 431, code: Code.TOO_MANY_HEADERS });
  });

  it('maxHeaderCount refuses the extra field at its first byte', () => {
    const parser = new HttpHeadParser('request', { maxHeaderCount: 1 });
    assert.equal(parser.feed(bytes('GET / HTTP/1.1\r\nA: 1\r\n')), undefined);
    assert.throws(() => parser.feed(bytes('B')), { code: Code.TOO_MANY_HEADERS });
  });

  it('a head dribbled one byte at a time is parsed in linear time', () => {
    // A 1 MiB line fed byte by byte: linear work is ~1M small steps; re-scanning
    // or re-copying the buffered line on each byte would be ~5·10^11 steps.
    const size = 1 << 20;
    const parser = new HttpHeadParser('request', { maxHeadBytes: size + 64, maxLineBytes: size });
    const line = bytes(requestLine(size));
    const started = performance.now();
    for (let i = 0; i < line.length; i++) parser.feed(line.subarray(i, i + 1));
    const result = parser.feed(bytes('\r\n'));
    const elapsed = performance.now() - started;
    assert.equal((result?.head.target.length ?? 0) + 'GET  HTTP/1.1\r\n'.length, size);
    assert.ok(elapsed < 10_000, `took ${elapsed} ms`);
  });
});

// --- lifecycle -----------------------------------------------------------------

describe('HttpHeadParser: lifecycle', () => {
  it('is dead after an error: further input throws the same error', () => {
    const parser = new HttpHeadParser('request');
    let first: unknown;
    try {
      parser.feed(bytes('GET / HTTP/1.1\r\nBad Name: x\r\n'));
    } catch (error) {
      first = error;
    }
    assert.ok(first instanceof HandshakeError);
    assert.throws(() => parser.feed(bytes('\r\n')), (e: unknown) => e === first);
  });

  it('refuses input after the head was returned (LocalError)', () => {
    const parser = new HttpHeadParser('request');
    assert.ok(parser.feed(bytes('GET / HTTP/1.1\r\n\r\n')));
    assert.throws(() => parser.feed(bytes('x')), (e: unknown) => e instanceof LocalError && e.code === Code.PARSER_FINISHED);
  });

  it('rejects an unknown kind', () => {
    assert.throws(() => new HttpHeadParser('trailer' as 'request'), LocalError);
  });
});

// --- property: random valid heads, random chunking ---------------------------------

const TCHARS = "!#$%&'*+-.^_`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz".split('');
const VCHARS = Array.from({ length: 0x7e - 0x21 + 1 }, (_, i) => String.fromCharCode(0x21 + i));
const VALUE_CHARS = [...VCHARS, ' ', '\t', '\u00e9', '\u00ff'];
const token = (max: number) => fc.string({ unit: fc.constantFrom(...TCHARS), minLength: 1, maxLength: max });
/** A field value: no leading or trailing whitespace (the parser trims it). */
const fieldValue = fc
  .string({ unit: fc.constantFrom(...VALUE_CHARS), maxLength: 30 })
  .map((s) => s.replace(/^[ \t]+|[ \t]+$/g, ''));
const ows = fc.constantFrom('', ' ', '\t', '  ', ' \t ');
const eol = fc.constantFrom('\r\n', '\n');

const field = fc.record({ name: token(20), value: fieldValue, before: ows, after: ows, eol });

const requestModel = fc.record({
  kind: fc.constant('request' as const),
  method: token(10),
  target: fc.tuple(fc.constant('/'), fc.string({ unit: fc.constantFrom(...VCHARS), maxLength: 40 })).map(([a, b]) => a + b),
  version: fc.constantFrom('1.0', '1.1', '1.9'),
  status: fc.constant(0),
  reason: fc.constant(''),
  startEol: eol,
  fields: fc.array(field, { maxLength: 12 }),
  endEol: eol,
  rest: fc.uint8Array({ maxLength: 20 }),
});

const responseModel = fc.record({
  kind: fc.constant('response' as const),
  method: fc.constant(''),
  target: fc.constant(''),
  version: fc.constantFrom('1.0', '1.1'),
  status: fc.integer({ min: 100, max: 599 }),
  reason: fieldValue,
  startEol: eol,
  fields: fc.array(field, { maxLength: 12 }),
  endEol: eol,
  rest: fc.uint8Array({ maxLength: 20 }),
});

describe('HttpHeadParser: property', () => {
  it('random valid heads, chunked at random, parse to their model and identically to one-shot', () => {
    fc.assert(
      fc.property(fc.oneof(requestModel, responseModel), fc.array(fc.nat(), { maxLength: 8 }), (m, cuts) => {
        const start =
          m.kind === 'request' ? `${m.method} ${m.target} HTTP/${m.version}` : `HTTP/${m.version} ${m.status} ${m.reason}`;
        const text =
          start +
          m.startEol +
          m.fields.map((f) => `${f.name}:${f.before}${f.value}${f.after}${f.eol}`).join('') +
          m.endEol;
        const input = Buffer.concat([bytes(text), Buffer.from(m.rest)]);
        const offsets = [...new Set(cuts.map((c) => c % (input.length + 1)))].sort((a, b) => a - b);
        const chunks: Buffer[] = [];
        let last = 0;
        for (const o of offsets) {
          chunks.push(input.subarray(last, o));
          last = o;
        }
        chunks.push(input.subarray(last));

        const oneShot = feedChunks(m.kind, [input]);
        const chunked = feedChunks(m.kind, chunks);
        assert.deepEqual(chunked, oneShot);
        assert.ok(oneShot);
        const expectedHeaders = m.fields.map((f) => [f.name, f.value]);
        assert.deepEqual(
          oneShot.head,
          m.kind === 'request'
            ? { kind: 'request', method: m.method, target: m.target, httpVersion: m.version, headers: expectedHeaders }
            : { kind: 'response', httpVersion: m.version, status: m.status, reason: m.reason, headers: expectedHeaders },
        );
        assert.deepEqual(oneShot.rest, Buffer.from(m.rest));
      }),
      { numRuns: 1000 },
    );
  });
});
