/**
 * The server's opening handshake as a sans-I/O machine (src/handshake/
 * server-handshake.ts), and the negotiation it leaves to the adapter
 * (server-negotiation.ts). Every input is fed whole, one byte at a time and
 * in random chunks: the verdict, the response bytes and the bytes after the
 * head must not depend on how the input was cut.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { HandshakeError, LocalError } from '../../src/errors.js';
import { HandshakeErrorCode as Code } from '../../src/handshake/error-codes.js';
import { HttpHeaders } from '../../src/handshake/http-head-parser.js';
import { ServerHandshake, type ServerHandshakeOptions } from '../../src/handshake/server-handshake.js';
import { checkSelectedProtocol, negotiate, negotiateExtensions } from '../../src/handshake/server-negotiation.js';
import type { HandshakeRequest } from '../../src/server/options.js';
import { RFC_UPGRADE_REQUEST, hex } from '../helpers/protocol-harness.js';

const RFC_ACCEPT = 's3pPLMBiTxaQ9kYGzzhZRbK+xOo=';
/** A masked "Hello" (RFC 6455 §5.7), the first frame right behind the request. */
const MASKED_HELLO = hex('81 85 37 fa 21 3d 7f 9f 4d 51 58');
const bytes = (s: string): Buffer => Buffer.from(s, 'latin1');

/** `input` cut at the given sizes (the last piece takes what is left). */
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
 * Feed `pieces` until the machine decides; what it decided, in plain data,
 * with `trailing`: the bytes after the head (its `rest` plus the pieces not
 * fed, which an adapter hands to the next reader).
 */
function drive(pieces: readonly Buffer[], options?: ServerHandshakeOptions) {
  const machine = new ServerHandshake(options);
  for (let i = 0; i < pieces.length; i++) {
    const step = machine.receive(pieces[i]);
    const unread = Buffer.concat(pieces.slice(i + 1));
    switch (step.kind) {
      case 'need-more':
        continue;
      case 'request':
        return { machine, kind: step.kind, path: step.request.path, key: step.request.key, protocols: step.request.protocols, trailing: Buffer.concat([step.rest, unread]) };
      case 'plain-http':
        return { machine, kind: step.kind, method: step.head.method, received: step.received, trailing: unread };
      case 'reject':
        // What follows a refusal is never read: where the fault was seen depends on the cut.
        return { machine, kind: step.kind, code: step.error.code, status: step.error.status, response: step.response.toString('latin1') };
    }
  }
  return { machine, kind: 'need-more' as const };
}

/** The same input whole, byte by byte, and in random chunks gives the same verdict. */
function sameWhateverTheCut(input: Buffer, options?: ServerHandshakeOptions): ReturnType<typeof drive> {
  const { machine: _m, ...whole } = drive([input], options);
  const { machine: _b, ...byByte } = drive(cut(input, new Array<number>(input.length).fill(1)), options);
  assert.deepEqual(byByte, whole, 'byte by byte');
  fc.assert(
    fc.property(fc.array(fc.integer({ min: 1, max: 64 }), { maxLength: input.length }), (sizes) => {
      const { machine: _r, ...random } = drive(cut(input, sizes), options);
      assert.deepEqual(random, whole);
    }),
    { numRuns: 60 },
  );
  return drive([input], options);
}

describe('ServerHandshake: a valid request', () => {
  it('gives the request, then the 101 with what was decided; the first frame stays behind the head', () => {
    const input = Buffer.concat([bytes(RFC_UPGRADE_REQUEST), MASKED_HELLO]);
    const result = sameWhateverTheCut(input);
    assert.equal(result.kind, 'request');
    assert.ok(result.kind === 'request');
    assert.equal(result.path, '/chat');
    assert.deepEqual(result.protocols, ['chat', 'superchat']);
    assert.deepEqual(result.trailing, MASKED_HELLO);
    assert.equal(result.machine.state, 'deciding');

    const answer = result.machine.accept({ protocol: 'chat', headers: { 'Set-Cookie': 'a=1' } });
    assert.equal(answer.kind, 'accept');
    assert.ok(answer.kind === 'accept');
    const text = answer.response.toString('latin1');
    assert.match(text, /^HTTP\/1\.1 101 Switching Protocols\r\n/);
    assert.match(text, new RegExp(`\r\nSec-WebSocket-Accept: ${RFC_ACCEPT.replace(/\+/g, '\\+')}\r\n`));
    assert.match(text, /\r\nSec-WebSocket-Protocol: chat\r\n/);
    assert.match(text, /\r\nSet-Cookie: a=1\r\n\r\n$/);
    assert.equal(answer.protocol, 'chat');
    assert.equal(answer.extensions, '');
    assert.equal(result.machine.state, 'accepted');
  });

  it('accept() with no decisions: a 101 without Sec-WebSocket-Protocol or -Extensions', () => {
    const { machine } = drive([bytes(RFC_UPGRADE_REQUEST)]);
    const answer = machine.accept();
    assert.ok(answer.kind === 'accept');
    assert.doesNotMatch(answer.response.toString('latin1'), /Sec-WebSocket-(Protocol|Extensions)/);
    assert.equal(answer.rest.length, 0);
  });

  it('a head node:http parsed already goes in through receiveHead(), with its trailing bytes', () => {
    const machine = new ServerHandshake();
    const headers = new HttpHeaders([
      ['Host', 'example.com'],
      ['Upgrade', 'websocket'],
      ['Connection', 'Upgrade'],
      ['Sec-WebSocket-Key', 'dGhlIHNhbXBsZSBub25jZQ=='],
      ['Sec-WebSocket-Version', '13'],
    ]);
    const step = machine.receiveHead({ kind: 'request', method: 'GET', target: '/x?y=1', httpVersion: '1.1', headers }, MASKED_HELLO);
    assert.ok(step.kind === 'request');
    assert.equal(step.request.query, 'y=1');
    const answer = machine.accept({ extensions: 'permessage-deflate' });
    assert.ok(answer.kind === 'accept');
    assert.deepEqual(answer.rest, MASKED_HELLO);
    assert.match(answer.response.toString('latin1'), /\r\nSec-WebSocket-Extensions: permessage-deflate\r\n/);
  });
});

describe('ServerHandshake: each way a request is refused', () => {
  const cases: Array<{ name: string; input: string; status: number; code: string; header?: RegExp; options?: ServerHandshakeOptions }> = [
    { name: 'a malformed request line', input: 'GET  /chat HTTP/1.1\r\n\r\n', status: 400, code: Code.BAD_REQUEST_LINE },
    { name: 'a head over maxHeadBytes', input: RFC_UPGRADE_REQUEST, status: 431, code: Code.HEAD_TOO_LARGE, options: { limits: { maxHeadBytes: 64 } } },
    { name: 'a request line over maxLineBytes', input: `GET /${'a'.repeat(100)} HTTP/1.1\r\n\r\n`, status: 414, code: Code.REQUEST_LINE_TOO_LONG, options: { limits: { maxLineBytes: 64 } } },
    { name: 'HTTP/2.0', input: 'GET / HTTP/2.0\r\n\r\n', status: 505, code: Code.HTTP_VERSION_UNSUPPORTED },
    { name: 'a POST', input: RFC_UPGRADE_REQUEST.replace('GET', 'POST'), status: 405, code: Code.METHOD, header: /\r\nAllow: GET\r\n/ },
    { name: 'no Sec-WebSocket-Key', input: RFC_UPGRADE_REQUEST.replace(/Sec-WebSocket-Key: .*\r\n/, ''), status: 400, code: Code.KEY },
    { name: 'version 8', input: RFC_UPGRADE_REQUEST.replace('Version: 13', 'Version: 8'), status: 426, code: Code.WS_VERSION, header: /\r\nSec-WebSocket-Version: 13\r\n/ },
    { name: 'a plain GET without the hand-off', input: 'GET / HTTP/1.1\r\nHost: a\r\n\r\n', status: 426, code: Code.NOT_UPGRADE, header: /\r\nUpgrade: websocket\r\n/ },
    { name: 'a TLS ClientHello on a plain port', input: '\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03', status: 400, code: Code.TLS_ON_PLAIN_PORT },
  ];
  for (const c of cases) {
    it(`${c.name}: ${c.status} ${c.code}, whatever the cut`, () => {
      const result = sameWhateverTheCut(bytes(c.input), c.options);
      assert.ok(result.kind === 'reject', `got ${result.kind}`);
      assert.equal(result.status, c.status);
      assert.equal(result.code, c.code);
      assert.match(result.response, new RegExp(`^HTTP/1\\.1 ${c.status} `));
      assert.match(result.response, /\r\nConnection: (.*, )?close\r\n/);
      if (c.header) assert.match(result.response, c.header);
      assert.equal(result.machine.state, 'rejected');
      // After a refusal the machine takes no more input.
      assert.throws(() => result.machine.receive(bytes('x')), (e: unknown) => e instanceof LocalError && e.code === Code.WRONG_STATE);
    });
  }

  it('the adapter refuses after deciding: the refusal carries its status, reason and headers', () => {
    const { machine } = drive([bytes(RFC_UPGRADE_REQUEST)]);
    const step = machine.reject(new HandshakeError(Code.REJECTED, 401, 'who are you?', { 'WWW-Authenticate': 'Bearer' }));
    assert.match(step.response.toString('latin1'), /^HTTP\/1\.1 401 Unauthorized\r\n[^]*WWW-Authenticate: Bearer\r\n\r\nwho are you\?\n$/);
    assert.equal(step.fault, undefined);
  });

  it('a 500 says only "internal server error", whatever the error says', () => {
    const { machine } = drive([bytes(RFC_UPGRADE_REQUEST)]);
    const step = machine.reject(new HandshakeError(Code.INTERNAL, 500, 'stack trace with secrets'));
    assert.doesNotMatch(step.response.toString('latin1'), /secrets/);
    assert.match(step.response.toString('latin1'), /internal server error\n$/);
  });

  it('the timeout is a rejection from the reading state: 408', () => {
    const machine = new ServerHandshake();
    assert.equal(machine.receive(bytes('GET /chat HT')).kind, 'need-more');
    const step = machine.reject(new HandshakeError(Code.TIMEOUT, 408, 'too slow'));
    assert.match(step.response.toString('latin1'), /^HTTP\/1\.1 408 Request Timeout\r\n/);
  });

  it('a response that cannot be built from a hook\'s decision is a 500 with the LocalError as the fault', () => {
    const badHeader = drive([bytes(RFC_UPGRADE_REQUEST)]).machine.accept({ headers: { 'X-Evil': 'a\r\nInjected: yes' } });
    assert.ok(badHeader.kind === 'reject');
    assert.equal(badHeader.error.status, 500);
    assert.ok(badHeader.fault instanceof LocalError);
    assert.doesNotMatch(badHeader.response.toString('latin1'), /Injected/);
    const badStatus = drive([bytes(RFC_UPGRADE_REQUEST)]).machine.reject(new HandshakeError(Code.REJECTED, 99, 'no'));
    assert.equal(badStatus.error.status, 500);
    assert.ok(badStatus.fault instanceof LocalError);
    assert.match(badStatus.response.toString('latin1'), /^HTTP\/1\.1 500 /);
  });
});

describe('ServerHandshake: plain HTTP handed on', () => {
  it('a request without Upgrade: websocket comes back with every byte received, whatever the cut', () => {
    const input = bytes('GET /index.html HTTP/1.1\r\nHost: a\r\n\r\nGET /next HTTP/1.1\r\n');
    const options: ServerHandshakeOptions = { plainHttp: 'hand-off' };
    const check = (pieces: Buffer[]): void => {
      const result = drive(pieces, options);
      assert.ok(result.kind === 'plain-http', `got ${result.kind}`);
      assert.equal(result.method, 'GET');
      // What was received plus what was not fed yet is the whole input, in order.
      assert.deepEqual(Buffer.concat([result.received, result.trailing]), input);
      assert.equal(result.machine.state, 'handed-off');
    };
    check([input]);
    check(cut(input, new Array<number>(input.length).fill(1)));
    fc.assert(fc.property(fc.array(fc.integer({ min: 1, max: 16 })), (sizes) => check(cut(input, sizes))), { numRuns: 60 });
  });

  it('an upgrade request is still a WebSocket handshake with the hand-off on', () => {
    assert.equal(drive([bytes(RFC_UPGRADE_REQUEST)], { plainHttp: 'hand-off' }).kind, 'request');
  });
});

describe('ServerHandshake: the end of the stream and misuse', () => {
  it('eof mid-head or while deciding abandons the handshake (no answer); after the answer it is not ours', () => {
    const reading = new ServerHandshake();
    reading.receive(bytes(RFC_UPGRADE_REQUEST.slice(0, 30)));
    assert.deepEqual(reading.eof(), { kind: 'abandon' });
    assert.equal(reading.state, 'abandoned');
    assert.throws(() => reading.accept(), (e: unknown) => e instanceof LocalError && e.code === Code.WRONG_STATE);

    const deciding = drive([bytes(RFC_UPGRADE_REQUEST)]).machine;
    assert.deepEqual(deciding.eof(), { kind: 'abandon' });

    const accepted = drive([bytes(RFC_UPGRADE_REQUEST)]).machine;
    accepted.accept();
    assert.deepEqual(accepted.eof(), { kind: 'over' });
    assert.equal(accepted.state, 'accepted');
  });

  it('accept() before a request, receive() while deciding, accept() twice: LocalError HS_ERR_WRONG_STATE', () => {
    const wrongState = (e: unknown): boolean => e instanceof LocalError && e.code === Code.WRONG_STATE;
    assert.throws(() => new ServerHandshake().accept(), wrongState);
    const { machine } = drive([bytes(RFC_UPGRADE_REQUEST)]);
    assert.throws(() => machine.receive(bytes('more')), wrongState);
    machine.accept();
    assert.throws(() => machine.accept(), wrongState);
    assert.throws(() => machine.reject(new HandshakeError(Code.TIMEOUT, 408, 'late')), wrongState);
  });
});

describe('server negotiation: the decisions, apart from HTTP/1.1', () => {
  const request = (fields: Partial<HandshakeRequest> = {}): HandshakeRequest => ({
    method: 'GET',
    target: '/chat',
    path: '/chat',
    query: '',
    host: 'example.com',
    origin: 'https://good.example',
    key: 'dGhlIHNhbXBsZSBub25jZQ==',
    version: 13,
    protocols: ['chat', 'superchat'],
    extensions: undefined,
    headers: new HttpHeaders([]),
    remoteAddress: '127.0.0.1',
    remotePort: 1234,
    params: {},
    ...fields,
  });

  it('with no policy: no subprotocol, no extension, no data', async () => {
    assert.deepEqual(await negotiate(request({ extensions: 'permessage-deflate' }), {}), { protocol: '', extensions: undefined, extension: null, headers: undefined, data: undefined });
  });

  it('checkOrigin false → 403 HS_ERR_ORIGIN, before authorize runs', async () => {
    let authorized = false;
    await assert.rejects(
      negotiate(request(), { checkOrigin: async () => false, authorize: () => void (authorized = true) }),
      (e: unknown) => e instanceof HandshakeError && e.code === Code.ORIGIN && e.status === 403,
    );
    assert.equal(authorized, false);
  });

  it('authorize: a rejection keeps its status and headers; an acceptance its data and headers', async () => {
    await assert.rejects(
      negotiate(request(), { authorize: () => ({ reject: { status: 401, headers: { 'WWW-Authenticate': 'Bearer' } } }) }),
      (e: unknown) => e instanceof HandshakeError && e.code === Code.REJECTED && e.status === 401 && e.headers['WWW-Authenticate'] === 'Bearer',
    );
    const agreed = await negotiate<{ user: string }>(request(), { authorize: async () => ({ data: { user: 'ann' }, headers: { 'Set-Cookie': 's=1' } }) });
    assert.deepEqual(agreed.data, { user: 'ann' });
    assert.deepEqual(agreed.headers, { 'Set-Cookie': 's=1' });
  });

  it('selectProtocol: the choice must be one of the offers (§4.2.2 item 5.5)', async () => {
    assert.equal((await negotiate(request(), { selectProtocol: (offered) => offered[1] })).protocol, 'superchat');
    assert.equal(checkSelectedProtocol(['a'], undefined), '');
    assert.throws(() => checkSelectedProtocol(['a'], 'b'), LocalError);
    await assert.rejects(negotiate(request(), { selectProtocol: () => 'other' }), LocalError);
  });

  it('extensions: permessage-deflate accepted when enabled, with its answer and codec; a malformed offer is a 400', () => {
    const agreed = negotiateExtensions('permessage-deflate; server_max_window_bits=10', true);
    assert.equal(agreed.extensions, 'permessage-deflate; server_max_window_bits=10');
    assert.equal(agreed.extension?.name, 'permessage-deflate');
    agreed.extension?.release();
    assert.deepEqual(negotiateExtensions('x-other', true), { extensions: undefined, extension: null });
    assert.deepEqual(negotiateExtensions('permessage-deflate', false), { extensions: undefined, extension: null });
    assert.throws(() => negotiateExtensions('permessage-deflate;;', true), (e: unknown) => e instanceof HandshakeError && e.status === 400);
  });
});
