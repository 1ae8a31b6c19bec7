/**
 * Opening handshake, server side (RFC 6455 §4.2): accept key, validation of
 * the upgrade request, and the bytes of the 101 and of rejections.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { HandshakeError, LocalError } from '../../src/errors.js';
import { computeAcceptKey, isValidClientKey, WEBSOCKET_GUID } from '../../src/handshake/accept-key.js';
import { HandshakeErrorCode as Code } from '../../src/handshake/error-codes.js';
import { HttpHeadParser, type HttpRequestHead, type HttpResponseHead } from '../../src/handshake/http-head-parser.js';
import { buildAcceptResponse, buildErrorResponse, reasonPhrase, rejectionFor } from '../../src/handshake/http-response.js';
import { parseUpgradeRequest, type UpgradeRequest } from '../../src/handshake/upgrade-request.js';
import { listHasToken, splitList } from '../../src/handshake/tokens.js';
import { RFC_UPGRADE_REQUEST as RFC_REQUEST } from '../helpers/protocol-harness.js';

// --- helpers ---------------------------------------------------------------

const bytes = (s: string): Buffer => Buffer.from(s, 'latin1');
const RFC_KEY = 'dGhlIHNhbXBsZSBub25jZQ==';
const RFC_ACCEPT = 's3pPLMBiTxaQ9kYGzzhZRbK+xOo=';

type Field = readonly [string, string];
const BASE_FIELDS: Field[] = [
  ['Host', 'server.example.com'],
  ['Upgrade', 'websocket'],
  ['Connection', 'Upgrade'],
  ['Sec-WebSocket-Key', RFC_KEY],
  ['Sec-WebSocket-Version', '13'],
];

/**
 * An upgrade request: the base fields, minus `drop` (names, case-insensitive),
 * with `set` replacing same-named base fields in place, then `add` appended.
 */
function requestText({
  start = 'GET /chat HTTP/1.1',
  drop = [] as string[],
  set = [] as Field[],
  add = [] as Field[],
} = {}): string {
  const dropped = new Set(drop.map((n) => n.toLowerCase()));
  const replaced = new Map(set.map(([n, v]) => [n.toLowerCase(), v]));
  const fields = BASE_FIELDS.filter(([n]) => !dropped.has(n.toLowerCase())).map(
    ([n, v]): Field => [n, replaced.get(n.toLowerCase()) ?? v],
  );
  for (const [n, v] of set) if (!BASE_FIELDS.some(([b]) => b.toLowerCase() === n.toLowerCase())) fields.push([n, v]);
  fields.push(...add);
  return `${start}\r\n${fields.map(([n, v]) => `${n}: ${v}\r\n`).join('')}\r\n`;
}

function headOf(text: string | Buffer): HttpRequestHead {
  const result = new HttpHeadParser('request').feed(typeof text === 'string' ? bytes(text) : text);
  assert.ok(result, 'the head should be complete');
  return result.head;
}

function responseOf(data: Buffer): { head: HttpResponseHead; body: Buffer } {
  const result = new HttpHeadParser('response').feed(data);
  assert.ok(result, 'the response head should be complete');
  return { head: result.head, body: result.rest };
}

/** The upgrade request as plain data, for comparisons. */
function summary(u: UpgradeRequest): Record<string, unknown> {
  const { headers, ...rest } = u;
  return { ...rest, rawHeaders: headers.raw.map(([n, v]) => [n, v]) };
}

/** Parse `input` through the head parser, chunked every way, then validate; all must agree. */
function upgradeAllWays(input: Buffer | string): { request: UpgradeRequest; rest: Buffer } {
  const data = typeof input === 'string' ? bytes(input) : input;
  const run = (chunks: Buffer[]) => {
    const parser = new HttpHeadParser('request');
    for (let i = 0; i < chunks.length; i++) {
      const result = parser.feed(chunks[i]);
      if (result) {
        return { request: parseUpgradeRequest(result.head), rest: Buffer.concat([result.rest, ...chunks.slice(i + 1)]) };
      }
    }
    assert.fail('head incomplete');
  };
  const expected = run([data]);
  const ways: Buffer[][] = [[...data].map((b) => Buffer.from([b]))];
  for (let cut = 0; cut <= data.length; cut++) ways.push([data.subarray(0, cut), data.subarray(cut)]);
  for (const chunks of ways) {
    const got = run(chunks);
    assert.deepEqual(summary(got.request), summary(expected.request));
    assert.deepEqual(got.rest, expected.rest);
  }
  return expected;
}

/**
 * `text` must be rejected with `status`, `code` and exactly `headers`, and
 * `rejectionFor` must turn that into a well-formed HTTP response saying so.
 */
function rejects(text: string | HttpRequestHead, status: number, code: string, headers: Record<string, string> = {}): HandshakeError {
  const head = typeof text === 'string' ? headOf(text) : text;
  let caught: unknown;
  try {
    parseUpgradeRequest(head);
  } catch (error) {
    caught = error;
  }
  assert.ok(caught instanceof HandshakeError, `HandshakeError expected, got ${String(caught)}`);
  assert.equal(caught.status, status, caught.message);
  assert.equal(caught.code, code, caught.message);
  assert.deepEqual({ ...caught.headers }, headers);
  assert.ok(caught.message.length > 0);

  const response = responseOf(rejectionFor(caught));
  assert.equal(response.head.status, status);
  assert.equal(response.head.reason, reasonPhrase(status));
  assert.equal(response.body.toString('utf8'), `${caught.message}\n`);
  const h = response.head.headers;
  assert.equal(h.get('content-length'), String(response.body.length));
  assert.equal(h.get('content-type'), 'text/plain; charset=utf-8');
  assert.ok(listHasToken(h.get('connection') ?? '', 'close'));
  for (const [name, value] of Object.entries(headers)) {
    if (name.toLowerCase() === 'connection') assert.equal(h.get(name), `${value}, close`);
    else assert.equal(h.get(name), value, name);
  }
  return caught;
}

// --- accept key --------------------------------------------------------------

describe('computeAcceptKey (RFC 6455 §4.2.2)', () => {
  it('computes the RFC 6455 §1.3 example', () => {
    assert.equal(computeAcceptKey(RFC_KEY), RFC_ACCEPT);
  });

  it('computes the widely published x3JJHMbDL1EzLkh9GBhXDw== example', () => {
    assert.equal(computeAcceptKey('x3JJHMbDL1EzLkh9GBhXDw=='), 'HSmrc0sMlYUkAGmm5OPpG2HaGWk=');
  });

  it('is base64(SHA-1(key + GUID)) for random keys', () => {
    assert.equal(WEBSOCKET_GUID, '258EAFA5-E914-47DA-95CA-C5AB0DC85B11');
    for (let i = 0; i < 20; i++) {
      const key = randomBytes(16).toString('base64');
      const expected = createHash('sha1').update(`${key}${WEBSOCKET_GUID}`).digest('base64');
      assert.equal(computeAcceptKey(key), expected);
      assert.equal(computeAcceptKey(key).length, 28);
    }
  });
});

describe('isValidClientKey (RFC 6455 §4.1)', () => {
  it('accepts base64 of 16 bytes', () => {
    for (const key of [RFC_KEY, 'x3JJHMbDL1EzLkh9GBhXDw==', 'AAAAAAAAAAAAAAAAAAAAAA==', '++++//////9+/+/+/+/+/w==']) {
      assert.equal(isValidClientKey(key), true, key);
    }
  });

  it('accepts the base64 of any 16 random bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 16, maxLength: 16 }), (b) => isValidClientKey(Buffer.from(b).toString('base64'))),
    );
  });

  it('rejects the base64 of any other length', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 40 }).filter((b) => b.length !== 16), (b) => {
        assert.equal(isValidClientKey(Buffer.from(b).toString('base64')), false);
      }),
    );
  });

  it('rejects wrong lengths, padding, alphabet and whitespace', () => {
    for (const key of [
      '',
      'dGhlIHNhbXBsZSBub25jZQ=', // 23
      'dGhlIHNhbXBsZSBub25jZQ===', // 25
      'dGhlIHNhbXBsZSBub25jZQAA', // no padding
      'dGhlIHNhbXBsZSBub25jZQ=A', // half padding
      'dGhlIHNhbXBsZSBub25jZQA=',
      'dGhlIHNhbXBsZSBub25jZ===', // 3 pads
      'dGhlIHNhbXBs=SBub25jZQ==', // pad inside
      'dGhlIHNhbXBsZSBub25jZ-==', // base64url
      'dGhlIHNhbXBsZSBub25jZ_==',
      'dGhlIHNhbXBsZSBub25jZ Q=',
      ' dGhlIHNhbXBsZSBub25jZQ=',
      'dGhlIHNhbXBsZSBub25jZ\u00e9==',
      'dGhlIHNhbXBsZSBub25jZ\u0141==', // U+0141: its low byte 0x41 is "A"
      'dGhlIHNhbXBsZSBub25jZQ==dGhl',
      randomBytes(20).toString('base64'), // SHA-1 sized
    ]) {
      assert.equal(isValidClientKey(key), false, JSON.stringify(key));
    }
  });
});

// --- token lists -------------------------------------------------------------

describe('comma-separated lists (RFC 9110 §5.6.1)', () => {
  it('splits, trims OWS, drops empty elements', () => {
    assert.deepEqual(splitList(' a ,b,\t, ,c\t'), ['a', 'b', 'c']);
    assert.deepEqual(splitList(''), []);
    assert.deepEqual(splitList(',,'), []);
  });

  it('finds a token ignoring ASCII case only', () => {
    assert.equal(listHasToken('keep-alive, Upgrade', 'upgrade'), true);
    assert.equal(listHasToken('UPGRADE', 'upgrade'), true);
    assert.equal(listHasToken('upgrades', 'upgrade'), false);
    assert.equal(listHasToken('up grade', 'upgrade'), false);
    // U+212A KELVIN SIGN lowercases to "k" in Unicode; ASCII case-folding must not match it.
    assert.equal(listHasToken('websoc\u212Aet', 'websocket'), false);
    assert.equal(listHasToken('WEBSOCKET', 'websocket'), true);
  });
});

// --- valid requests -------------------------------------------------------------

describe('parseUpgradeRequest: valid requests', () => {
  it('accepts the RFC 6455 §1.2 request, whatever the chunking, and answers it with the §1.3 accept value', () => {
    const { request, rest } = upgradeAllWays(RFC_REQUEST);
    assert.deepEqual(
      { ...summary(request), rawHeaders: undefined },
      {
        method: 'GET',
        target: '/chat',
        path: '/chat',
        query: '',
        host: 'server.example.com',
        origin: 'http://example.com',
        key: RFC_KEY,
        version: 13,
        protocols: ['chat', 'superchat'],
        extensions: undefined,
        rawHeaders: undefined,
      },
    );
    assert.equal(request.headers.get('sec-websocket-key'), RFC_KEY);
    assert.equal(rest.length, 0);
    const response = responseOf(buildAcceptResponse(request.key, { protocol: request.protocols[0] }));
    assert.equal(response.head.headers.get('sec-websocket-accept'), RFC_ACCEPT);
  });

  it('keeps the first frames that arrive with the request, whatever the chunking', () => {
    const frames = Buffer.from('818537fa213d7f9f4d5158' + '8980' + 'aabbccdd', 'hex');
    const { request, rest } = upgradeAllWays(Buffer.concat([bytes(RFC_REQUEST), frames]));
    assert.equal(request.key, RFC_KEY);
    assert.deepEqual(rest, frames);
  });

  it('matches header names and the Upgrade/Connection tokens case-insensitively', () => {
    const text =
      'GET / HTTP/1.1\r\nhOST: h\r\nUPGRADE: WebSocket\r\nconnection: keep-alive, UPGRADE\r\n' +
      `SEC-WEBSOCKET-KEY: ${RFC_KEY}\r\nsec-websocket-version: 13\r\nORIGIN: https://o.example\r\n\r\n`;
    const { request } = upgradeAllWays(text);
    assert.equal(request.host, 'h');
    assert.equal(request.key, RFC_KEY);
    assert.equal(request.origin, 'https://o.example');
  });

  it('finds the tokens inside lists and across repeated lines', () => {
    const request = parseUpgradeRequest(
      headOf(
        requestText({
          drop: ['upgrade', 'connection'],
          add: [
            ['Upgrade', 'h2c, WEBSOCKET/13 ,  websocket'],
            ['Connection', 'keep-alive'],
            ['Connection', ' , Upgrade'],
          ],
        }),
      ),
    );
    assert.equal(request.version, 13);
  });

  it('splits the query off the path, without decoding either', () => {
    const request = parseUpgradeRequest(headOf(requestText({ start: 'GET /a%2Fb/c?x=1&y=%20?z HTTP/1.1' })));
    assert.equal(request.path, '/a%2Fb/c');
    assert.equal(request.query, 'x=1&y=%20?z');
    assert.equal(request.target, '/a%2Fb/c?x=1&y=%20?z');
    const empty = parseUpgradeRequest(headOf(requestText({ start: 'GET /p? HTTP/1.1' })));
    assert.equal(empty.path, '/p');
    assert.equal(empty.query, '');
  });

  it('accepts absolute-form targets, taking path and host from them (RFC 9112 §3.2.2)', () => {
    const cases: Array<[string, string, string, string]> = [
      ['http://example.com:8080/chat?room=1', 'example.com:8080', '/chat', 'room=1'],
      ['HTTPS://Example.com', 'Example.com', '/', ''],
      ['ws://h?q', 'h', '/', 'q'],
      ['wss://[::1]:443/x', '[::1]:443', '/x', ''],
    ];
    for (const [target, host, path, query] of cases) {
      const request = parseUpgradeRequest(headOf(requestText({ start: `GET ${target} HTTP/1.1` })));
      assert.deepEqual([request.host, request.path, request.query], [host, path, query], target);
    }
  });

  it('accepts later HTTP/1.x minor versions', () => {
    assert.equal(parseUpgradeRequest(headOf(requestText({ start: 'GET / HTTP/1.2' }))).version, 13);
  });

  it('collects subprotocol offers from every line, in order, ignoring empty elements', () => {
    const request = parseUpgradeRequest(
      headOf(requestText({ add: [['Sec-WebSocket-Protocol', 'v2.chat, ,mqtt'], ['sec-websocket-protocol', 'wamp.2.json,']] })),
    );
    assert.deepEqual(request.protocols, ['v2.chat', 'mqtt', 'wamp.2.json']);
    assert.deepEqual(parseUpgradeRequest(headOf(requestText())).protocols, []);
  });

  it('passes extension offers through raw, joined across lines', () => {
    const request = parseUpgradeRequest(
      headOf(
        requestText({
          add: [
            ['Sec-WebSocket-Extensions', 'permessage-deflate; client_max_window_bits'],
            ['Sec-WebSocket-Extensions', 'x-foo; a="b,c"'],
          ],
        }),
      ),
    );
    assert.equal(request.extensions, 'permessage-deflate; client_max_window_bits, x-foo; a="b,c"');
    assert.equal(parseUpgradeRequest(headOf(requestText())).extensions, undefined);
  });

  it('leaves Origin unchecked, undefined when absent', () => {
    assert.equal(parseUpgradeRequest(headOf(requestText())).origin, undefined);
    assert.equal(parseUpgradeRequest(headOf(requestText({ add: [['Origin', 'null']] }))).origin, 'null');
  });

  it('accepts Content-Length: 0', () => {
    assert.equal(parseUpgradeRequest(headOf(requestText({ add: [['Content-Length', '0']] }))).key, RFC_KEY);
  });
});

// --- rejections ---------------------------------------------------------------------

const UPGRADE_REQUIRED = { Upgrade: 'websocket', Connection: 'Upgrade', 'Sec-WebSocket-Version': '13' };

describe('parseUpgradeRequest: rejections', () => {
  it('method not GET → 405 with Allow: GET', () => {
    rejects(requestText({ start: 'POST /chat HTTP/1.1' }), 405, Code.METHOD, { Allow: 'GET' });
    rejects(requestText({ start: 'get /chat HTTP/1.1' }), 405, Code.METHOD, { Allow: 'GET' }); // case-sensitive
    rejects(requestText({ start: 'CONNECT h:80 HTTP/1.1' }), 405, Code.METHOD, { Allow: 'GET' });
  });

  it('HTTP/1.0 → 400; a head claiming another major version → 505', () => {
    rejects(requestText({ start: 'GET /chat HTTP/1.0' }), 400, Code.HTTP_VERSION);
    const head = headOf(requestText());
    rejects({ ...head, httpVersion: '2.0' }, 505, Code.HTTP_VERSION_UNSUPPORTED);
    rejects({ ...head, httpVersion: '0.9' }, 505, Code.HTTP_VERSION_UNSUPPORTED);
    rejects({ ...head, httpVersion: '1' }, 400, Code.HTTP_VERSION);
    rejects({ ...head, httpVersion: 'x.y' }, 400, Code.HTTP_VERSION);
  });

  it('a target that is not origin-form or http(s)/ws(s) absolute-form → 400', () => {
    for (const target of ['*', 'example.com:443', 'chat', 'ftp://h/x', 'http:/x', 'http:///x', 'http://u:p@h/x', '/chat#frag']) {
      rejects(requestText({ start: `GET ${target} HTTP/1.1` }), 400, Code.TARGET);
    }
  });

  it('missing, repeated or invalid Host → 400 (RFC 9112 §3.2)', () => {
    rejects(requestText({ drop: ['host'] }), 400, Code.HOST);
    rejects(requestText({ add: [['Host', 'server.example.com']] }), 400, Code.HOST);
    rejects(requestText({ add: [['HOST', 'other.example.com']] }), 400, Code.HOST);
    rejects(requestText({ set: [['Host', '']] }), 400, Code.HOST);
    rejects(requestText({ set: [['Host', 'a b']] }), 400, Code.HOST);
    rejects(requestText({ set: [['Host', 'a, b']] }), 400, Code.HOST);
    rejects(requestText({ set: [['Host', 'user@h']] }), 400, Code.HOST);
  });

  it('no websocket in Upgrade → 426 with Upgrade, Connection and Sec-WebSocket-Version', () => {
    rejects(requestText({ drop: ['upgrade'] }), 426, Code.NOT_UPGRADE, UPGRADE_REQUIRED);
    rejects(requestText({ set: [['Upgrade', 'h2c']] }), 426, Code.NOT_UPGRADE, UPGRADE_REQUIRED);
    rejects(requestText({ set: [['Upgrade', 'websockets']] }), 426, Code.NOT_UPGRADE, UPGRADE_REQUIRED);
    rejects(requestText({ set: [['Upgrade', 'websocket/13']] }), 426, Code.NOT_UPGRADE, UPGRADE_REQUIRED);
    rejects(requestText({ set: [['Upgrade', '']] }), 426, Code.NOT_UPGRADE, UPGRADE_REQUIRED);
  });

  it('a plain HTTP GET is answered 426 (not a WebSocket request at all)', () => {
    rejects('GET /index.html HTTP/1.1\r\nHost: h\r\nAccept: text/html\r\n\r\n', 426, Code.NOT_UPGRADE, UPGRADE_REQUIRED);
  });

  it('Connection without the upgrade option → 400', () => {
    rejects(requestText({ drop: ['connection'] }), 400, Code.CONNECTION);
    rejects(requestText({ set: [['Connection', 'keep-alive']] }), 400, Code.CONNECTION);
    rejects(requestText({ set: [['Connection', 'keep-alive upgrade']] }), 400, Code.CONNECTION);
    rejects(requestText({ set: [['Connection', 'upgraded']] }), 400, Code.CONNECTION);
  });

  it('Sec-WebSocket-Version missing or not exactly 13 → 426 with Sec-WebSocket-Version: 13', () => {
    rejects(requestText({ drop: ['sec-websocket-version'] }), 426, Code.WS_VERSION, UPGRADE_REQUIRED);
    for (const version of ['8', '12', '14', '013', '13.0', 'thirteen', '13, 8', '']) {
      rejects(requestText({ set: [['Sec-WebSocket-Version', version]] }), 426, Code.WS_VERSION, UPGRADE_REQUIRED);
    }
    rejects(requestText({ add: [['Sec-WebSocket-Version', '13']] }), 426, Code.WS_VERSION, UPGRADE_REQUIRED);
  });

  it('Sec-WebSocket-Key missing, repeated or not 16 base64 bytes → 400', () => {
    rejects(requestText({ drop: ['sec-websocket-key'] }), 400, Code.KEY);
    rejects(requestText({ add: [['Sec-WebSocket-Key', 'x3JJHMbDL1EzLkh9GBhXDw==']] }), 400, Code.KEY);
    rejects(requestText({ add: [['sec-websocket-key', RFC_KEY]] }), 400, Code.KEY);
    for (const key of ['', 'dGhlIHNhbXBsZSBub25jZQ', 'AAAAAAAAAAAAAAAAAAAAAAAAAAA=', 'dGhlIHNhbXBsZSBub25jZ-==', 'not a key']) {
      rejects(requestText({ set: [['Sec-WebSocket-Key', key]] }), 400, Code.KEY);
    }
  });

  it('a request announcing a body → 400 (the bytes after the head are frames)', () => {
    rejects(requestText({ add: [['Content-Length', '5']] }), 400, Code.BODY);
    rejects(requestText({ add: [['Content-Length', '00']] }), 400, Code.BODY);
    rejects(requestText({ add: [['Content-Length', '0'], ['Content-Length', '0']] }), 400, Code.BODY);
    rejects(requestText({ add: [['Transfer-Encoding', 'chunked']] }), 400, Code.BODY);
    rejects(requestText({ add: [['transfer-encoding', 'identity']] }), 400, Code.BODY);
  });

  it('a subprotocol offer that is not a token, or offered twice → 400', () => {
    for (const offer of ['chat, two words', 'a/b', 'x;y', '"quoted"', 'chat, chat']) {
      rejects(requestText({ add: [['Sec-WebSocket-Protocol', offer]] }), 400, Code.SUBPROTOCOL);
    }
    rejects(
      requestText({ add: [['Sec-WebSocket-Protocol', 'chat'], ['Sec-WebSocket-Protocol', 'chat']] }),
      400,
      Code.SUBPROTOCOL,
    );
  });

  it('checks in the documented order: method, version, target, Host, Upgrade, Connection, version, key, body', () => {
    const everythingWrong = { drop: ['host', 'upgrade', 'connection', 'sec-websocket-version', 'sec-websocket-key'] };
    rejects(requestText({ ...everythingWrong, start: 'PUT * HTTP/1.0' }), 405, Code.METHOD, { Allow: 'GET' });
    rejects(requestText({ ...everythingWrong, start: 'GET * HTTP/1.0' }), 400, Code.HTTP_VERSION);
    rejects(requestText({ ...everythingWrong, start: 'GET * HTTP/1.1' }), 400, Code.TARGET);
    rejects(requestText(everythingWrong), 400, Code.HOST);
    rejects(requestText({ drop: ['upgrade', 'connection', 'sec-websocket-version', 'sec-websocket-key'] }), 426, Code.NOT_UPGRADE, UPGRADE_REQUIRED);
    rejects(requestText({ drop: ['connection', 'sec-websocket-version', 'sec-websocket-key'] }), 400, Code.CONNECTION);
    rejects(requestText({ drop: ['sec-websocket-version', 'sec-websocket-key'] }), 426, Code.WS_VERSION, UPGRADE_REQUIRED);
    rejects(requestText({ drop: ['sec-websocket-key'], add: [['Content-Length', '1']] }), 400, Code.KEY);
  });

  it('quotes peer values in messages, escaped and cut short', () => {
    const error = rejects(requestText({ set: [['Sec-WebSocket-Version', `"${'9'.repeat(200)}`]] }), 426, Code.WS_VERSION, UPGRADE_REQUIRED);
    assert.ok(error.message.includes('\\"999'), error.message);
    assert.ok(error.message.length < 160, error.message);
  });
});

// --- responses ---------------------------------------------------------------------

describe('buildAcceptResponse (RFC 6455 §4.2.2)', () => {
  it('writes the RFC 6455 §1.2 response byte for byte', () => {
    assert.equal(
      buildAcceptResponse(RFC_KEY, { protocol: 'chat' }).toString('latin1'),
      'HTTP/1.1 101 Switching Protocols\r\n' +
        'Upgrade: websocket\r\n' +
        'Connection: Upgrade\r\n' +
        `Sec-WebSocket-Accept: ${RFC_ACCEPT}\r\n` +
        'Sec-WebSocket-Protocol: chat\r\n' +
        '\r\n',
    );
  });

  it('writes only the required headers by default', () => {
    const { head, body } = responseOf(buildAcceptResponse(RFC_KEY));
    assert.equal(head.status, 101);
    assert.equal(head.reason, 'Switching Protocols');
    assert.deepEqual(head.headers.raw, [
      ['Upgrade', 'websocket'],
      ['Connection', 'Upgrade'],
      ['Sec-WebSocket-Accept', RFC_ACCEPT],
    ]);
    assert.equal(body.length, 0);
  });

  it('adds extensions and extra headers after the required ones', () => {
    const { head } = responseOf(
      buildAcceptResponse(RFC_KEY, {
        extensions: 'permessage-deflate; server_no_context_takeover',
        headers: { 'Set-Cookie': 'sid=1; HttpOnly', 'X-Server': 'wsrfc' },
      }),
    );
    assert.deepEqual(
      head.headers.raw.map(([n]) => n),
      ['Upgrade', 'Connection', 'Sec-WebSocket-Accept', 'Sec-WebSocket-Extensions', 'Set-Cookie', 'X-Server'],
    );
    assert.equal(head.headers.get('sec-websocket-extensions'), 'permessage-deflate; server_no_context_takeover');
    assert.equal(head.headers.get('set-cookie'), 'sid=1; HttpOnly');
  });

  const localError = (code: string) => (e: unknown) => {
    assert.ok(e instanceof LocalError, String(e));
    assert.equal(e.code, code);
    return true;
  };

  it('refuses CR/LF and other controls in extra headers (response splitting)', () => {
    const unsafe: Array<Record<string, string>> = [
      { 'X-A': 'a\r\nSet-Cookie: evil=1' },
      { 'X-A': 'a\nb' },
      { 'X-A': 'a\rb' },
      { 'X-A': 'a\x00b' },
      { 'X-A\r\nSet-Cookie: evil': '1' },
      { 'X A': '1' },
      { '': '1' },
      { 'X-A': ' padded' },
      { 'X-A': 'snow \u2603' },
      { 'X-A': 'L\u0141' }, // above U+00FF, though its low byte is "A"
      { 'X-A': 1 as unknown as string },
    ];
    for (const headers of unsafe) {
      assert.throws(() => buildAcceptResponse(RFC_KEY, { headers }), localError(Code.INVALID_RESPONSE_HEADER), JSON.stringify(headers));
    }
    assert.throws(() => buildAcceptResponse(RFC_KEY, { extensions: 'x\r\nEvil: 1' }), localError(Code.INVALID_RESPONSE_HEADER));
  });

  it('refuses extra headers that would override the handshake headers', () => {
    for (const name of ['Sec-WebSocket-Accept', 'upgrade', 'CONNECTION', 'Sec-WebSocket-Protocol', 'Content-Length']) {
      assert.throws(() => buildAcceptResponse(RFC_KEY, { headers: { [name]: 'x' } }), localError(Code.RESERVED_RESPONSE_HEADER), name);
    }
  });

  it('refuses a subprotocol that is not a token, and an invalid key', () => {
    for (const protocol of ['', 'a b', 'chat\r\nX: 1', 'a,b']) {
      assert.throws(() => buildAcceptResponse(RFC_KEY, { protocol }), localError(Code.INVALID_RESPONSE), protocol);
    }
    assert.throws(() => buildAcceptResponse('short'), localError(Code.INVALID_RESPONSE));
  });
});

describe('buildErrorResponse / rejectionFor', () => {
  it('writes status line, plain-text headers and the reason as body', () => {
    const data = buildErrorResponse(403, 'origin not allowed');
    assert.equal(
      data.toString('latin1'),
      'HTTP/1.1 403 Forbidden\r\n' +
        'Content-Type: text/plain; charset=utf-8\r\n' +
        'Content-Length: 19\r\n' +
        'Connection: close\r\n' +
        '\r\n' +
        'origin not allowed\n',
    );
  });

  it('counts Content-Length in UTF-8 bytes, and keeps CR/LF of the reason inside the body', () => {
    const reason = 'caf\u00e9 \u2603\r\nX-Injected: 1\r\n\r\nboo';
    const { head, body } = responseOf(buildErrorResponse(400, reason));
    assert.equal(body.toString('utf8'), `${reason}\n`);
    assert.equal(head.headers.get('content-length'), String(Buffer.byteLength(`${reason}\n`)));
    assert.equal(head.headers.has('x-injected'), false);
  });

  it('uses the standard reason phrase of every status a handshake produces, and an empty one otherwise', () => {
    const phrases: Record<number, string> = {
      400: 'Bad Request',
      403: 'Forbidden',
      404: 'Not Found',
      405: 'Method Not Allowed',
      414: 'URI Too Long',
      426: 'Upgrade Required',
      431: 'Request Header Fields Too Large',
      500: 'Internal Server Error',
      503: 'Service Unavailable',
      505: 'HTTP Version Not Supported',
    };
    for (const [status, phrase] of Object.entries(phrases)) {
      assert.equal(responseOf(buildErrorResponse(Number(status), 'x')).head.reason, phrase);
    }
    const odd = buildErrorResponse(499, 'x');
    assert.ok(odd.toString('latin1').startsWith('HTTP/1.1 499 \r\n'));
    assert.equal(responseOf(odd).head.status, 499);
  });

  it('appends close to a caller Connection value, once', () => {
    assert.equal(responseOf(buildErrorResponse(426, 'x', { Connection: 'Upgrade' })).head.headers.get('connection'), 'Upgrade, close');
    assert.equal(responseOf(buildErrorResponse(400, 'x', { connection: 'Close' })).head.headers.getAll('connection').length, 1);
    assert.equal(responseOf(buildErrorResponse(400, 'x', { connection: 'Close' })).head.headers.get('connection'), 'Close');
  });

  it('refuses bad statuses, unsafe headers and builder-owned headers', () => {
    for (const status of [99, 600, 200.5, NaN]) {
      assert.throws(() => buildErrorResponse(status, 'x'), (e: unknown) => e instanceof LocalError && e.code === Code.INVALID_RESPONSE);
    }
    assert.throws(() => buildErrorResponse(400, 'x', { 'X-A': 'a\r\nb' }), { code: Code.INVALID_RESPONSE_HEADER });
    assert.throws(() => buildErrorResponse(400, 'x', { Connection: 'close\r\nX: 1' }), { code: Code.INVALID_RESPONSE_HEADER });
    for (const name of ['Content-Length', 'content-type', 'Transfer-Encoding']) {
      assert.throws(() => buildErrorResponse(400, 'x', { [name]: '1' }), { code: Code.RESERVED_RESPONSE_HEADER }, name);
    }
  });

  it('rejectionFor answers parser errors too (431, 414, 505, 400)', () => {
    const cases: Array<[string, number]> = [
      [`GET / HTTP/1.1\r\nX: ${'a'.repeat(9000)}\r\n\r\n`, 431],
      [`GET /${'a'.repeat(9000)} HTTP/1.1\r\n\r\n`, 414],
      ['GET / HTTP/2.0\r\n\r\n', 505],
      ['GET / HTTP/1.1\r\nX : y\r\n\r\n', 400],
    ];
    for (const [text, status] of cases) {
      let error: unknown;
      try {
        new HttpHeadParser('request').feed(bytes(text));
      } catch (e) {
        error = e;
      }
      assert.ok(error instanceof HandshakeError);
      const { head, body } = responseOf(rejectionFor(error));
      assert.equal(head.status, status);
      assert.equal(body.toString(), `${error.message}\n`);
    }
  });
});

describe('handshake pipeline', () => {
  it('request dribbled byte by byte → validated → 101 with the right accept; frames after the head kept', () => {
    const key = randomBytes(16).toString('base64');
    const frame = Buffer.from('8a80' + '01020304', 'hex'); // masked empty pong
    const wire = Buffer.concat([bytes(requestText({ set: [['Sec-WebSocket-Key', key]] })), frame]);
    const parser = new HttpHeadParser('request');
    let result;
    let fed = 0;
    while (result === undefined && fed < wire.length) result = parser.feed(wire.subarray(fed, ++fed));
    assert.ok(result);
    const request = parseUpgradeRequest(result.head);
    const { head } = responseOf(buildAcceptResponse(request.key));
    assert.equal(head.headers.get('sec-websocket-accept'), createHash('sha1').update(key + WEBSOCKET_GUID).digest('base64'));
    // Dribbled, the head completes on its last byte: rest is empty and every
    // frame byte is still unread, for the frame parser.
    assert.equal(result.rest.length, 0);
    assert.deepEqual(wire.subarray(fed), frame);
  });
});

describe('HandshakeErrorCode: one table for every handshake error code', () => {
  it('codes are unique, and src/ raises no HS_ERR_ code that is not in the table', async () => {
    const { readdir, readFile } = await import('node:fs/promises');
    const values = Object.values(Code) as string[];
    assert.equal(new Set(values).size, values.length, 'a code appears twice');
    const root = new URL('../../src/', import.meta.url);
    const files = (await readdir(root, { recursive: true })).filter((f) => f.endsWith('.ts') && !f.endsWith('error-codes.ts'));
    assert.ok(files.length > 20, `only ${files.length} source files found`);
    const stray: string[] = [];
    for (const file of files) {
      const text = await readFile(new URL(file, root), 'utf8');
      for (const match of text.matchAll(/'(HS_ERR_[A-Z_]+)'/g)) stray.push(`${file}: ${match[1]}`);
    }
    assert.deepEqual(stray, [], 'codes written as string literals instead of HandshakeErrorCode.X');
  });
});
