/**
 * validateUpgradeResponse (RFC 6455 §4.1, the client's checks of the server's
 * answer), fed heads parsed by the same incremental HttpHeadParser the client
 * uses, whole and one byte at a time. Plus generateClientKey (§4.1 item 7).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { computeAcceptKey, generateClientKey, isValidClientKey } from '../../src/handshake/accept-key.js';
import { HttpHeadParser, type HttpResponseHead } from '../../src/handshake/http-head-parser.js';
import { ClientHandshakeError, unexpectedStatus, validateUpgradeResponse, type UpgradeOffer } from '../../src/handshake/upgrade-response.js';

/** §1.3's example key and the accept value that belongs to it. */
const KEY = 'dGhlIHNhbXBsZSBub25jZQ==';
const ACCEPT = 's3pPLMBiTxaQ9kYGzzhZRbK+xOo=';

/** Parse `text` as a response head, whole and byte by byte; both must agree. */
function head(text: string): HttpResponseHead {
  const bytes = Buffer.from(text, 'latin1');
  const whole = new HttpHeadParser('response').feed(bytes);
  assert.ok(whole, 'incomplete head');
  const dribbled = new HttpHeadParser('response');
  let result;
  for (let i = 0; i < bytes.length && result === undefined; i++) result = dribbled.feed(bytes.subarray(i, i + 1));
  assert.ok(result);
  assert.deepEqual(result.head.headers.raw, whole.head.headers.raw);
  return whole.head;
}

function response(lines: string[], status = 'HTTP/1.1 101 Switching Protocols'): HttpResponseHead {
  return head(`${status}\r\n${lines.map((l) => `${l}\r\n`).join('')}\r\n`);
}

const GOOD = ['Upgrade: websocket', 'Connection: Upgrade', `Sec-WebSocket-Accept: ${ACCEPT}`];
const OFFER: UpgradeOffer = { key: KEY, protocols: [], extensions: undefined };

function rejects(h: HttpResponseHead, offer: UpgradeOffer, code: string, section = '4.1'): ClientHandshakeError {
  try {
    validateUpgradeResponse(h, offer);
  } catch (error) {
    assert.ok(error instanceof ClientHandshakeError, String(error));
    assert.equal(error.code, code, error.message);
    assert.equal(error.rfcSection, section);
    assert.equal(error.response, h);
    return error;
  }
  assert.fail(`expected ${code}`);
}

describe('validateUpgradeResponse', () => {
  it('accepts the RFC\'s example answer (§1.3)', () => {
    const accepted = validateUpgradeResponse(response(GOOD), OFFER);
    assert.deepEqual(accepted, { protocol: '', extensions: '', extensionNames: [] });
  });

  it('names and token values are case-insensitive; Connection is a list; whitespace around values is ignored', () => {
    const h = head(`HTTP/1.1 101 \r\nUPGRADE: WebSocket\r\nconnection: keep-alive ,  UPGRADE\r\nsec-websocket-accept: \t${ACCEPT} \r\n\r\n`);
    validateUpgradeResponse(h, OFFER);
  });

  it('status other than 101 → UNEXPECTED_STATUS; 3xx → REDIRECT naming Location', () => {
    const e = rejects(response(['Content-Length: 0'], 'HTTP/1.1 400 Bad Request'), OFFER, 'HS_ERR_UNEXPECTED_STATUS');
    assert.match(e.message, /answered 400 Bad Request instead of 101/);
    assert.equal(e.status, 400);
    const r = rejects(response(['Location: /elsewhere'], 'HTTP/1.1 307 Temporary Redirect'), OFFER, 'HS_ERR_REDIRECT');
    assert.match(r.message, /"\/elsewhere"/);
    assert.match(r.message, /not followed/);
    // A 200 from a plain HTTP server (no upgrade support at all).
    rejects(response(['Content-Type: text/html'], 'HTTP/1.1 200 OK'), OFFER, 'HS_ERR_UNEXPECTED_STATUS');
  });

  it('unexpectedStatus quotes a body, flattened and cut', () => {
    const e = unexpectedStatus(response([], 'HTTP/1.1 403 Forbidden'), Buffer.from('  not\r\nallowed\x00here  '));
    assert.equal(e.body, 'not allowed here');
    assert.match(e.message, /403 Forbidden instead of 101 Switching Protocols \(RFC 6455 §4\.1\): not allowed here$/);
    assert.equal(unexpectedStatus(response([], 'HTTP/1.1 500 Oops'), Buffer.alloc(5000, 0x61)).body?.length, 201);
    // A missing reason phrase is filled in from the status.
    assert.match(unexpectedStatus(response([], 'HTTP/1.1 404')).message, /404 Not Found/);
  });

  it('101 over HTTP/1.0 → RESPONSE_HTTP_VERSION', () => {
    rejects(response(GOOD, 'HTTP/1.0 101 Switching Protocols'), OFFER, 'HS_ERR_RESPONSE_HTTP_VERSION');
  });

  it('Upgrade missing or not exactly "websocket" → RESPONSE_UPGRADE (§4.1 item 2)', () => {
    rejects(response(GOOD.slice(1)), OFFER, 'HS_ERR_RESPONSE_UPGRADE');
    for (const value of ['websocket2', 'h2c', 'websocket, h2c', '']) {
      rejects(response([`Upgrade: ${value}`, ...GOOD.slice(1)]), OFFER, 'HS_ERR_RESPONSE_UPGRADE');
    }
  });

  it('Connection missing or without the Upgrade token → RESPONSE_CONNECTION (§4.1 item 3)', () => {
    rejects(response([GOOD[0], GOOD[2]]), OFFER, 'HS_ERR_RESPONSE_CONNECTION');
    for (const value of ['close', 'keep-alive', 'upgrades', '']) {
      rejects(response([GOOD[0], `Connection: ${value}`, GOOD[2]]), OFFER, 'HS_ERR_RESPONSE_CONNECTION');
    }
  });

  it('Sec-WebSocket-Accept missing, wrong, for another key, or sent twice → ACCEPT_MISMATCH (§4.1 item 4)', () => {
    rejects(response(GOOD.slice(0, 2)), OFFER, 'HS_ERR_ACCEPT_MISMATCH');
    const wrong = rejects(response([...GOOD.slice(0, 2), 'Sec-WebSocket-Accept: AAAAAAAAAAAAAAAAAAAAAAAAAAA=']), OFFER, 'HS_ERR_ACCEPT_MISMATCH');
    assert.ok(wrong.message.includes(ACCEPT), 'the message names the expected value');
    rejects(response(GOOD), { ...OFFER, key: generateClientKey() }, 'HS_ERR_ACCEPT_MISMATCH');
    rejects(response([...GOOD, `Sec-WebSocket-Accept: ${ACCEPT}`]), OFFER, 'HS_ERR_ACCEPT_MISMATCH');
    // The accept value is case-sensitive base64.
    rejects(response([...GOOD.slice(0, 2), `Sec-WebSocket-Accept: ${ACCEPT.toLowerCase()}`]), OFFER, 'HS_ERR_ACCEPT_MISMATCH');
  });

  it('extensions: only offered ones may be accepted (§4.1 item 5, §9.1)', () => {
    rejects(response([...GOOD, 'Sec-WebSocket-Extensions: permessage-deflate']), OFFER, 'HS_ERR_EXTENSION_NOT_OFFERED');
    const offer = { ...OFFER, extensions: 'x-a; p=1, X-B' };
    rejects(response([...GOOD, 'Sec-WebSocket-Extensions: x-c']), offer, 'HS_ERR_EXTENSION_NOT_OFFERED');
    rejects(response([...GOOD, 'Sec-WebSocket-Extensions: x-a, x-c']), offer, 'HS_ERR_EXTENSION_NOT_OFFERED');
    const accepted = validateUpgradeResponse(response([...GOOD, 'Sec-WebSocket-Extensions: x-b; q="v"', 'Sec-WebSocket-Extensions: X-A']), offer);
    assert.deepEqual(accepted.extensionNames, ['x-b', 'x-a']);
    assert.equal(accepted.extensions, 'x-b; q="v", X-A');
    rejects(response([...GOOD, 'Sec-WebSocket-Extensions: x-a;;']), offer, 'HS_ERR_RESPONSE_EXTENSIONS', '9.1');
    rejects(response([...GOOD, 'Sec-WebSocket-Extensions: x-a; p="not a token"']), offer, 'HS_ERR_RESPONSE_EXTENSIONS', '9.1');
  });

  it('subprotocol: one of those offered, exactly one, compared exactly (§4.1 item 6, §4.2.2 item 5.5)', () => {
    const offer = { ...OFFER, protocols: ['chat', 'superchat'] };
    assert.equal(validateUpgradeResponse(response([...GOOD, 'Sec-WebSocket-Protocol: superchat']), offer).protocol, 'superchat');
    assert.equal(validateUpgradeResponse(response(GOOD), offer).protocol, ''); // declining all is the server's right
    rejects(response([...GOOD, 'Sec-WebSocket-Protocol: chat']), OFFER, 'HS_ERR_PROTOCOL_NOT_OFFERED');
    rejects(response([...GOOD, 'Sec-WebSocket-Protocol: Chat']), offer, 'HS_ERR_PROTOCOL_NOT_OFFERED');
    rejects(response([...GOOD, 'Sec-WebSocket-Protocol: other']), offer, 'HS_ERR_PROTOCOL_NOT_OFFERED');
    rejects(response([...GOOD, 'Sec-WebSocket-Protocol: chat, superchat']), offer, 'HS_ERR_PROTOCOL_NOT_OFFERED', '4.2.2');
    rejects(response([...GOOD, 'Sec-WebSocket-Protocol: chat', 'Sec-WebSocket-Protocol: chat']), offer, 'HS_ERR_PROTOCOL_NOT_OFFERED', '4.2.2');
    rejects(response([...GOOD, 'Sec-WebSocket-Protocol:']), offer, 'HS_ERR_PROTOCOL_NOT_OFFERED', '4.2.2');
  });

  it('checks run in the RFC\'s order: the first rule broken is the one reported', () => {
    rejects(response(['Sec-WebSocket-Protocol: x']), OFFER, 'HS_ERR_RESPONSE_UPGRADE');
    rejects(response([GOOD[0], 'Sec-WebSocket-Protocol: x']), OFFER, 'HS_ERR_RESPONSE_CONNECTION');
    rejects(response([...GOOD.slice(0, 2), 'Sec-WebSocket-Protocol: x', 'Sec-WebSocket-Extensions: y']), OFFER, 'HS_ERR_ACCEPT_MISMATCH');
    rejects(response([...GOOD, 'Sec-WebSocket-Protocol: x', 'Sec-WebSocket-Extensions: y']), OFFER, 'HS_ERR_EXTENSION_NOT_OFFERED');
  });
});

describe('generateClientKey (§4.1 item 7)', () => {
  it('is 16 random bytes, base64: a valid key, different every time', () => {
    const keys = new Set<string>();
    for (let i = 0; i < 1000; i++) {
      const key = generateClientKey();
      assert.ok(isValidClientKey(key), key);
      assert.equal(Buffer.from(key, 'base64').length, 16);
      keys.add(key);
    }
    assert.equal(keys.size, 1000);
  });

  it('uses the injected source, for deterministic tests', () => {
    const key = generateClientKey(() => Buffer.from('the sample nonce'));
    assert.equal(key, KEY); // §1.3
    assert.equal(computeAcceptKey(key), ACCEPT);
    assert.throws(() => generateClientKey(() => Buffer.alloc(15)), RangeError);
  });
});
