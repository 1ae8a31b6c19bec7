/**
 * The client's opening handshake as a sans-I/O machine (src/handshake/
 * client-handshake.ts): the request it writes, and its verdict on every kind
 * of answer, fed whole, one byte at a time and in random chunks, with the
 * end of the stream (`eof()`) and the deadline (`timeout()`) as inputs.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { LocalError } from '../../src/errors.js';
import { ClientHandshake, MAX_REFUSAL_BODY, type ClientHandshakeOptions } from '../../src/handshake/client-handshake.js';
import { ClientHandshakeError } from '../../src/handshake/client-handshake-error.js';
import { HandshakeErrorCode as Code } from '../../src/handshake/error-codes.js';
import { HttpHeadParser } from '../../src/handshake/http-head-parser.js';
import { checkServerSelection } from '../../src/handshake/client-negotiation.js';
import { hex } from '../helpers/protocol-harness.js';

const RFC_KEY = 'dGhlIHNhbXBsZSBub25jZQ==';
const RFC_ACCEPT = 's3pPLMBiTxaQ9kYGzzhZRbK+xOo=';
/** An unmasked "Hello" from the server (RFC 6455 §5.7). */
const HELLO = hex('81 05 48 65 6c 6c 6f');
const bytes = (s: string): Buffer => Buffer.from(s, 'latin1');

const OPTIONS: ClientHandshakeOptions = { resource: '/chat', host: 'server.example.com', key: RFC_KEY, protocols: ['chat', 'superchat'], peer: 'ws://server.example.com/chat' };

const switching = (extra = ''): string =>
  `HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${RFC_ACCEPT}\r\n${extra}\r\n`;

function cut(input: Buffer, sizes: readonly number[]): Buffer[] {
  const pieces: Buffer[] = [];
  let at = 0;
  for (const size of sizes) {
    if (at >= input.length) break;
    pieces.push(input.subarray(at, at + size));
    at += size;
  }
  if (at < input.length) pieces.push(input.subarray(at));
  return pieces;
}

/**
 * Feed `pieces`, then, if still undecided, `end` ('eof', 'timeout', or
 * nothing); the verdict in plain data. `trailing` is what follows the 101:
 * the machine's `rest` plus the pieces not fed.
 */
function drive(pieces: readonly Buffer[], options: ClientHandshakeOptions = OPTIONS, end?: 'eof' | 'timeout') {
  const machine = new ClientHandshake(options);
  for (let i = 0; i < pieces.length; i++) {
    const step = machine.receive(pieces[i]);
    if (step.kind === 'need-more') continue;
    if (step.kind === 'accept') {
      step.extension?.release();
      return { machine, kind: step.kind, status: step.response.status, protocol: step.protocol, extensions: step.extensions, deflate: step.extension !== null, trailing: Buffer.concat([step.rest, ...pieces.slice(i + 1)]) };
    }
    return { machine, ...rejection(step.error) };
  }
  if (end === 'eof') return { machine, ...rejection(machine.eof().error) };
  if (end === 'timeout') return { machine, ...rejection(machine.timeout(150).error) };
  return { machine, kind: 'need-more' as const };
}

function rejection(error: Error) {
  assert.ok(error instanceof ClientHandshakeError || error instanceof LocalError, String(error));
  return {
    kind: 'reject' as const,
    code: (error as ClientHandshakeError).code,
    status: error instanceof ClientHandshakeError ? error.status : undefined,
    body: error instanceof ClientHandshakeError ? error.body : undefined,
    message: error.message,
  };
}

/** Whole, byte by byte, random chunks: one verdict. */
function sameWhateverTheCut(input: Buffer, options?: ClientHandshakeOptions, end?: 'eof' | 'timeout') {
  const { machine: _w, ...whole } = drive([input], options, end);
  const { machine: _b, ...byByte } = drive(cut(input, new Array<number>(input.length).fill(1)), options, end);
  assert.deepEqual(byByte, whole, 'byte by byte');
  fc.assert(
    fc.property(fc.array(fc.integer({ min: 1, max: 48 }), { maxLength: input.length }), (sizes) => {
      const { machine: _r, ...random } = drive(cut(input, sizes), options, end);
      assert.deepEqual(random, whole);
    }),
    { numRuns: 60 },
  );
  return whole;
}

describe('ClientHandshake: the request', () => {
  it('is the §4.1 opening handshake with our key and offers, the only bytes the machine gives to send', () => {
    const machine = new ClientHandshake({ ...OPTIONS, origin: 'http://example.com', extensions: 'x-test' });
    const parsed = new HttpHeadParser('request').feed(machine.request);
    assert.ok(parsed);
    assert.equal(parsed.rest.length, 0);
    assert.equal(parsed.head.method, 'GET');
    assert.equal(parsed.head.target, '/chat');
    assert.equal(parsed.head.headers.get('sec-websocket-key'), RFC_KEY);
    assert.equal(parsed.head.headers.get('sec-websocket-protocol'), 'chat, superchat');
    assert.equal(parsed.head.headers.get('sec-websocket-extensions'), 'x-test');
    assert.equal(parsed.head.headers.get('origin'), 'http://example.com');
    assert.equal(machine.state, 'awaiting-response');
  });

  it('a fresh key by default; a header that would split the request is a LocalError before any I/O', () => {
    const { key: _k, ...noKey } = OPTIONS;
    assert.notEqual(new ClientHandshake(noKey).key, new ClientHandshake(noKey).key);
    assert.throws(() => new ClientHandshake({ ...OPTIONS, headers: { 'X-A': 'b\r\nEvil: 1' } }), LocalError);
  });
});

describe('ClientHandshake: accepted', () => {
  it('a valid 101: the subprotocol, and the frames behind it kept, whatever the cut', () => {
    const result = sameWhateverTheCut(Buffer.concat([bytes(switching('Sec-WebSocket-Protocol: superchat\r\n')), HELLO]));
    assert.equal(result.kind, 'accept');
    assert.ok(result.kind === 'accept');
    assert.equal(result.protocol, 'superchat');
    assert.equal(result.extensions, '');
    assert.equal(result.deflate, false);
    assert.deepEqual(result.trailing, HELLO);
  });

  it('permessage-deflate accepted: the codec is built for the agreed parameters', () => {
    const options = { ...OPTIONS, extensions: 'permessage-deflate; client_max_window_bits', deflate: {} };
    const result = sameWhateverTheCut(bytes(switching('Sec-WebSocket-Extensions: permessage-deflate; server_max_window_bits=12\r\n')), options);
    assert.ok(result.kind === 'accept');
    assert.equal(result.deflate, true);
    assert.equal(result.extensions, 'permessage-deflate; server_max_window_bits=12');
    assert.equal(result.trailing.length, 0);
  });

  it('after the verdict the machine takes no more bytes', () => {
    const { machine } = drive([bytes(switching())]);
    assert.equal(machine.state, 'accepted');
    assert.throws(() => machine.receive(HELLO), (e: unknown) => e instanceof LocalError && e.code === Code.WRONG_STATE);
    assert.throws(() => machine.eof(), (e: unknown) => e instanceof LocalError && e.code === Code.WRONG_STATE);
  });
});

describe('ClientHandshake: each way the handshake fails', () => {
  const cases: Array<{ name: string; input: string; code: string; options?: ClientHandshakeOptions; end?: 'eof' }> = [
    { name: 'a wrong Sec-WebSocket-Accept', input: switching().replace(RFC_ACCEPT, 'x3JJHMbDL1EzLkh9GBhXDw=='), code: Code.ACCEPT_MISMATCH },
    { name: 'no Upgrade header', input: switching().replace('Upgrade: websocket\r\n', ''), code: Code.RESPONSE_UPGRADE },
    { name: 'no Connection: Upgrade', input: switching().replace('Connection: Upgrade', 'Connection: close'), code: Code.RESPONSE_CONNECTION },
    { name: 'a 101 over HTTP/1.0', input: switching().replace('HTTP/1.1', 'HTTP/1.0'), code: Code.RESPONSE_HTTP_VERSION },
    { name: 'a subprotocol not offered', input: switching('Sec-WebSocket-Protocol: other\r\n'), code: Code.PROTOCOL_NOT_OFFERED },
    { name: 'an extension not offered', input: switching('Sec-WebSocket-Extensions: x-mine\r\n'), code: Code.EXTENSION_NOT_OFFERED },
    {
      name: 'a permessage-deflate answer with an unknown parameter',
      input: switching('Sec-WebSocket-Extensions: permessage-deflate; x=1\r\n'),
      code: Code.RESPONSE_EXTENSIONS,
      options: { ...OPTIONS, extensions: 'permessage-deflate', deflate: {} },
    },
    { name: 'a malformed status line', input: 'HTTP/1.1 1O1 Switching\r\n\r\n', code: Code.BAD_STATUS_LINE },
    { name: 'a head over maxHeadBytes', input: switching('X-Padding: ' + 'p'.repeat(200) + '\r\n'), code: Code.HEAD_TOO_LARGE, options: { ...OPTIONS, limits: { maxHeadBytes: 128 } } },
    { name: 'a redirect (no body awaited)', input: 'HTTP/1.1 302 Found\r\nLocation: ws://elsewhere/\r\nContent-Length: 50\r\n\r\n', code: Code.REDIRECT },
    { name: 'the server closing mid-head', input: 'HTTP/1.1 101 Switching Protocols\r\nUpgr', code: Code.NO_RESPONSE, end: 'eof' },
    { name: 'the server closing before a byte', input: '', code: Code.NO_RESPONSE, end: 'eof' },
  ];
  for (const c of cases) {
    it(`${c.name}: ${c.code}, whatever the cut`, () => {
      const result = sameWhateverTheCut(bytes(c.input), c.options, c.end);
      assert.ok(result.kind === 'reject', `got ${result.kind}`);
      assert.equal(result.code, c.code, result.message);
      assert.throws(() => drive([bytes(c.input)], c.options, c.end).machine.receive(bytes('x')), LocalError);
    });
  }

  it('a refusal with a Content-Length body: the error quotes the body, bytes after it are not read', () => {
    const body = 'origin https://evil.example is not allowed';
    const result = sameWhateverTheCut(bytes(`HTTP/1.1 403 Forbidden\r\nContent-Length: ${body.length}\r\n\r\n${body}GARBAGE`));
    assert.ok(result.kind === 'reject');
    assert.equal(result.code, Code.UNEXPECTED_STATUS);
    assert.equal(result.status, 403);
    assert.equal(result.body, body);
    assert.match(result.message, /403 Forbidden/);
  });

  it('a refusal whose body is cut short: need-more until eof, then the part that came', () => {
    const input = bytes('HTTP/1.1 400 Bad Request\r\nContent-Length: 100\r\n\r\nbad req');
    assert.equal(drive([input]).kind, 'need-more');
    const result = sameWhateverTheCut(input, OPTIONS, 'eof');
    assert.ok(result.kind === 'reject');
    assert.equal(result.code, Code.UNEXPECTED_STATUS);
    assert.equal(result.body, 'bad req');
  });

  it('a refusal without Content-Length: the body is read to the end of the stream', () => {
    const result = sameWhateverTheCut(bytes('HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\n\r\ntry again'), OPTIONS, 'eof');
    assert.ok(result.kind === 'reject');
    assert.equal(result.status, 503);
    assert.equal(result.body, 'try again');
  });

  it(`a refusal body is read up to MAX_REFUSAL_BODY (${MAX_REFUSAL_BODY}) bytes, declared length or not`, () => {
    for (const declared of ['', `Content-Length: ${MAX_REFUSAL_BODY * 4}\r\n`]) {
      const machine = new ClientHandshake(OPTIONS);
      assert.equal(machine.receive(bytes(`HTTP/1.1 500 Internal Server Error\r\n${declared}\r\n`)).kind, 'need-more');
      assert.equal(machine.receive(Buffer.alloc(MAX_REFUSAL_BODY - 1, 0x61)).kind, 'need-more', 'one byte short of the limit');
      const step = machine.receive(Buffer.alloc(10, 0x61));
      assert.equal(step.kind, 'reject', 'at the limit');
    }
  });

  it('the deadline: CONNECT_TIMEOUT naming the peer and the time; during a refusal, the refusal with its body so far', () => {
    const silent = drive([], OPTIONS, 'timeout');
    assert.ok(silent.kind === 'reject');
    assert.equal(silent.code, Code.CONNECT_TIMEOUT);
    assert.match(silent.message, /ws:\/\/server\.example\.com\/chat within 150 ms/);
    const slowBody = sameWhateverTheCut(bytes('HTTP/1.1 403 Forbidden\r\nContent-Length: 20\r\n\r\nnope'), OPTIONS, 'timeout');
    assert.ok(slowBody.kind === 'reject');
    assert.equal(slowBody.code, Code.UNEXPECTED_STATUS);
    assert.equal(slowBody.body, 'nope');
  });
});

describe('client negotiation: what the server selected, apart from HTTP/1.1', () => {
  it('judges the selection fields alone (as an HTTP/2 answer would carry them)', () => {
    assert.deepEqual(checkServerSelection({ protocol: 'chat', extensions: undefined }, { protocols: ['chat'], extensions: undefined }), {
      protocol: 'chat',
      extensions: '',
      extensionNames: [],
    });
    assert.throws(
      () => checkServerSelection({ protocol: 'a, b', extensions: undefined }, { protocols: ['a', 'b'], extensions: undefined }),
      (e: unknown) => e instanceof ClientHandshakeError && e.code === Code.PROTOCOL_NOT_OFFERED && e.response === undefined,
    );
  });
});
