/**
 * The client's opening handshake over HTTP/2, sans I/O
 * (src/handshake/client-extended-connect.ts): the header list it builds
 * (RFC 8441 §4–§5, RFC 9113 §8.2.2, §8.3.1) and its judgement of the answer.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { LocalError } from '../../src/errors.js';
import { ClientHandshakeError } from '../../src/handshake/client-handshake-error.js';
import {
  buildExtendedConnectRequest,
  isExtendedConnectSuccess,
  judgeExtendedConnectResponse,
  refusalOf,
  responseHeadOf,
} from '../../src/handshake/client-extended-connect.js';

describe('buildExtendedConnectRequest()', () => {
  it('the pseudo-headers of RFC 8441 §5, sec-websocket-version 13, no key, in order', () => {
    const headers = buildExtendedConnectRequest({ secure: true, resource: '/chat?x=1', authority: 'example.com' });
    assert.deepEqual(Object.entries(headers), [
      [':method', 'CONNECT'],
      [':protocol', 'websocket'],
      [':scheme', 'https'],
      [':path', '/chat?x=1'],
      [':authority', 'example.com'],
      ['sec-websocket-version', '13'],
    ]);
    assert.equal(buildExtendedConnectRequest({ secure: false, resource: '/', authority: 'h:8080' })[':scheme'], 'http');
  });

  it('origin, subprotocols, extensions; extra headers lowercase; Host becomes :authority; connection-specific fields dropped', () => {
    const headers = buildExtendedConnectRequest({
      secure: false,
      resource: '/',
      authority: 'a.example',
      origin: 'https://app.example',
      protocols: ['v2', 'v1'],
      extensions: 'permessage-deflate; client_max_window_bits',
      headers: { Host: 'b.example', Authorization: 'Bearer x', 'Keep-Alive': '5', 'Proxy-Connection': 'keep-alive', TE: 'gzip' },
    });
    assert.equal(headers[':authority'], 'b.example');
    assert.equal(headers.origin, 'https://app.example');
    assert.equal(headers['sec-websocket-protocol'], 'v2, v1');
    assert.equal(headers['sec-websocket-extensions'], 'permessage-deflate; client_max_window_bits');
    assert.equal(headers.authorization, 'Bearer x');
    for (const name of ['host', 'keep-alive', 'proxy-connection', 'te', 'sec-websocket-key']) assert.equal(headers[name], undefined, name);
    assert.equal(buildExtendedConnectRequest({ secure: false, resource: '/', authority: 'a', headers: { TE: 'trailers' } }).te, 'trailers');
  });

  it('the same LocalErrors as the HTTP/1.1 builder', () => {
    const cases: Array<[Parameters<typeof buildExtendedConnectRequest>[0], string]> = [
      [{ secure: false, resource: 'relative', authority: 'a' }, 'HS_ERR_INVALID_URL'],
      [{ secure: false, resource: '/', authority: 'a', protocols: ['a', 'a'] }, 'HS_ERR_INVALID_CLIENT_OPTION'],
      [{ secure: false, resource: '/', authority: 'a', origin: '' }, 'HS_ERR_INVALID_CLIENT_OPTION'],
      [{ secure: false, resource: '/', authority: 'a', headers: { Upgrade: 'websocket' } }, 'HS_ERR_RESERVED_REQUEST_HEADER'],
      // RFC 9113 §8.2.2 (connection-specific), and over HTTP/1.1 it would ask for h2c instead of a WebSocket.
      [{ secure: false, resource: '/', authority: 'a', headers: { 'HTTP2-Settings': 'AAMAAABkAAQAAP__' } }, 'HS_ERR_RESERVED_REQUEST_HEADER'],
      [{ secure: false, resource: '/', authority: 'a', headers: { 'http2-settings': '' } }, 'HS_ERR_RESERVED_REQUEST_HEADER'],
      [{ secure: false, resource: '/', authority: 'a', headers: { 'X-A': 'a\r\nb' } }, 'HS_ERR_INVALID_REQUEST_HEADER'],
    ];
    for (const [spec, code] of cases) {
      assert.throws(() => buildExtendedConnectRequest(spec), (error: unknown) => error instanceof LocalError && error.code === code, code);
    }
  });
});

describe('the answer', () => {
  const offer = { protocols: ['chat'], extensions: 'permessage-deflate', deflate: {} };

  it('responseHeadOf(): status, headers without pseudo-headers, repeated fields kept', () => {
    const head = responseHeadOf({ ':status': 200, 'sec-websocket-protocol': 'chat', 'set-cookie': ['a=1', 'b=2'] });
    assert.deepEqual([head.status, head.httpVersion, head.reason], [200, '2.0', '']);
    assert.equal(head.headers.get(':status'), undefined);
    assert.deepEqual(head.headers.getAll('set-cookie'), ['a=1', 'b=2']);
  });

  it('2xx is success (RFC 9113 §8.5); 101 and 3xx are not', () => {
    assert.deepEqual([101, 199, 200, 204, 299, 300, 403].map(isExtendedConnectSuccess), [false, false, true, true, true, false, false]);
  });

  it('a 200 with what we offered: the subprotocol, the deflate codec', () => {
    const accepted = judgeExtendedConnectResponse(responseHeadOf({ ':status': 200, 'sec-websocket-protocol': 'chat', 'sec-websocket-extensions': 'permessage-deflate' }), offer);
    assert.equal(accepted.protocol, 'chat');
    assert.equal(accepted.extensions, 'permessage-deflate');
    assert.ok(accepted.extension !== null);
    const plain = judgeExtendedConnectResponse(responseHeadOf({ ':status': 200 }), offer);
    assert.deepEqual([plain.protocol, plain.extensions, plain.extension], ['', '', null]);
  });

  it('what we did not offer, or a non-2xx, is a ClientHandshakeError with its code', () => {
    const cases: Array<[Record<string, string | number>, string]> = [
      [{ ':status': 200, 'sec-websocket-protocol': 'other' }, 'HS_ERR_PROTOCOL_NOT_OFFERED'],
      [{ ':status': 200, 'sec-websocket-extensions': 'x-other' }, 'HS_ERR_EXTENSION_NOT_OFFERED'],
      [{ ':status': 200, 'sec-websocket-extensions': 'permessage-deflate; server_max_window_bits=99' }, 'HS_ERR_RESPONSE_EXTENSIONS'],
      [{ ':status': 404 }, 'HS_ERR_UNEXPECTED_STATUS'],
      [{ ':status': 302, location: '/elsewhere' }, 'HS_ERR_REDIRECT'],
    ];
    for (const [fields, code] of cases) {
      assert.throws(() => judgeExtendedConnectResponse(responseHeadOf(fields), offer), (error: unknown) => error instanceof ClientHandshakeError && error.code === code, code);
    }
    const refusal = refusalOf(responseHeadOf({ ':status': 403 }), Buffer.from('go away'));
    assert.equal(refusal.status, 403);
    assert.equal(refusal.body, 'go away');
    assert.match(refusal.message, /403 Forbidden instead of a 2xx to the extended CONNECT \(RFC 8441 §5\)/);
  });
});
