/**
 * The sans-I/O check of a WebSocket handshake over HTTP/2 (RFC 8441 §4–§5),
 * rule by rule: each header block differs from a valid one in one field,
 * and gets the status (and error code) the rule says.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { HandshakeError, LocalError } from '../../src/errors.js';
import { HandshakeErrorCode as Code } from '../../src/handshake/error-codes.js';
import {
  buildExtendedConnectRejection,
  buildExtendedConnectResponse,
  parseExtendedConnect,
  type Http2RequestHeaders,
} from '../../src/handshake/extended-connect.js';

/** RFC 8441 §5.1's example request, with our version header. */
const VALID: Http2RequestHeaders = {
  ':method': 'CONNECT',
  ':protocol': 'websocket',
  ':scheme': 'https',
  ':path': '/chat?room=1',
  ':authority': 'server.example.com',
  'sec-websocket-protocol': 'chat, superchat',
  'sec-websocket-extensions': 'permessage-deflate',
  'sec-websocket-version': '13',
  origin: 'http://www.example.com',
};

/** VALID with `changes` (undefined removes a field). */
function variant(changes: Record<string, string | string[] | undefined>): Http2RequestHeaders {
  const headers: Record<string, string | string[] | undefined> = { ...VALID, ...changes };
  for (const name of Object.keys(changes)) if (changes[name] === undefined) delete headers[name];
  return headers;
}

function refused(headers: Http2RequestHeaders, status: number, code: string, limits = {}): HandshakeError {
  let caught: unknown;
  try {
    parseExtendedConnect(headers, limits);
  } catch (error) {
    caught = error;
  }
  assert.ok(caught instanceof HandshakeError, `expected a HandshakeError for ${JSON.stringify(headers)}`);
  assert.equal(caught.status, status, caught.message);
  assert.equal(caught.code, code, caught.message);
  return caught;
}

describe('parseExtendedConnect: a valid extended CONNECT', () => {
  it('gives the same UpgradeRequest shape as HTTP/1.1: path, query, host, origin, offers; no key', () => {
    const request = parseExtendedConnect(VALID);
    assert.equal(request.method, 'CONNECT');
    assert.equal(request.target, '/chat?room=1');
    assert.equal(request.path, '/chat');
    assert.equal(request.query, 'room=1');
    assert.equal(request.host, 'server.example.com');
    assert.equal(request.origin, 'http://www.example.com');
    assert.deepEqual(request.protocols, ['chat', 'superchat']);
    assert.equal(request.extensions, 'permessage-deflate');
    assert.equal(request.key, '');
    assert.equal(request.version, 13);
    assert.equal(request.headers.get('sec-websocket-version'), '13');
    assert.equal(request.headers.get(':path'), undefined, 'pseudo-header fields are not in headers');
  });

  it('`:protocol` and `:scheme` are compared ignoring ASCII case; http is ws://', () => {
    assert.equal(parseExtendedConnect(variant({ ':protocol': 'WebSocket', ':scheme': 'HTTP' })).path, '/chat');
  });

  it('a Sec-WebSocket-Key sent anyway is not processed (RFC 8441 §5): neither required nor refused', () => {
    assert.equal(parseExtendedConnect(variant({ 'sec-websocket-key': 'not even base64' })).key, '');
  });

  it('a header on several lines (an array) is one list, as HTTP/1.1 joins them', () => {
    assert.deepEqual(parseExtendedConnect(variant({ 'sec-websocket-protocol': ['a', 'b'] })).protocols, ['a', 'b']);
  });

  it('a Host equal to :authority is fine; TE: trailers is allowed (RFC 9113 §8.2.2)', () => {
    assert.equal(parseExtendedConnect(variant({ host: 'Server.Example.com', te: 'trailers' })).host, 'server.example.com');
  });
});

describe('parseExtendedConnect: each rule, the status it answers', () => {
  it('another method: 405 with allow: CONNECT', () => {
    const error = refused(variant({ ':method': 'GET' }), 405, Code.METHOD);
    assert.equal(error.headers.allow, 'CONNECT');
    refused(variant({ ':method': 'connect' }), 405, Code.METHOD); // methods are case-sensitive
  });

  it('CONNECT without :protocol (a tunnel), or another protocol: 501', () => {
    refused(variant({ ':protocol': undefined }), 501, Code.NOT_WEBSOCKET_CONNECT);
    refused(variant({ ':protocol': 'webtransport' }), 501, Code.NOT_WEBSOCKET_CONNECT);
  });

  it(':scheme missing, empty or not http(s): 400', () => {
    refused(variant({ ':scheme': undefined }), 400, Code.PSEUDO_HEADER);
    refused(variant({ ':scheme': '' }), 400, Code.PSEUDO_HEADER);
    refused(variant({ ':scheme': 'wss' }), 400, Code.PSEUDO_HEADER);
  });

  it(':path missing, empty, not absolute, with a fragment or a space: 400; longer than maxLineBytes: 414', () => {
    refused(variant({ ':path': undefined }), 400, Code.PSEUDO_HEADER);
    refused(variant({ ':path': '' }), 400, Code.PSEUDO_HEADER);
    refused(variant({ ':path': '*' }), 400, Code.PSEUDO_HEADER);
    refused(variant({ ':path': 'chat' }), 400, Code.PSEUDO_HEADER);
    refused(variant({ ':path': '/chat#top' }), 400, Code.PSEUDO_HEADER);
    refused(variant({ ':path': '/a b' }), 400, Code.PSEUDO_HEADER);
    refused(variant({ ':path': '/x\r\n' }), 400, Code.PSEUDO_HEADER);
    refused(variant({ ':path': `/${'a'.repeat(100)}` }), 414, Code.REQUEST_LINE_TOO_LONG, { maxLineBytes: 64 });
  });

  it(':authority missing or implausible, a Host that differs from it or is repeated: 400', () => {
    refused(variant({ ':authority': undefined }), 400, Code.PSEUDO_HEADER);
    refused(variant({ ':authority': 'a b' }), 400, Code.PSEUDO_HEADER);
    refused(variant({ ':authority': 'user@host' }), 400, Code.PSEUDO_HEADER);
    refused(variant({ host: 'elsewhere.example' }), 400, Code.PSEUDO_HEADER);
    refused(variant({ host: ['server.example.com', 'server.example.com'] }), 400, Code.PSEUDO_HEADER);
  });

  it('a pseudo-header field repeated: 400 (RFC 9113 §8.3)', () => {
    refused(variant({ ':path': ['/a', '/b'] }), 400, Code.PSEUDO_HEADER);
    refused(variant({ ':method': ['CONNECT', 'CONNECT'] }), 400, Code.PSEUDO_HEADER);
  });

  it('an undefined pseudo-header field, or a response one (:status): 400 (RFC 9113 §8.3); the five of a request pass', () => {
    for (const name of [':status', ':foo', ':', ':Path', '::path']) refused(variant({ [name]: 'x' }), 400, Code.PSEUDO_HEADER);
    assert.equal(parseExtendedConnect(VALID).method, 'CONNECT');
  });

  it('a field name with an uppercase letter, a space, a control, a colon or a byte above 0x7e: 400 (RFC 9113 §8.2.1)', () => {
    for (const name of ['Origin', 'x-Custom', 'x custom', 'x\tcustom', 'x:custom', 'x\u007fcustom', 'x-caf\u00e9', '']) {
      refused(variant({ [name]: 'x' }), 400, Code.BAD_HEADER);
    }
    // The lowercase visible ASCII names RFC 9113 allows, tokens or not, pass.
    assert.equal(parseExtendedConnect(variant({ 'x-a_b.c~d!': 'x' })).headers.get('x-a_b.c~d!'), 'x');
  });

  it('connection-specific fields (Connection, Upgrade, Keep-Alive, Proxy-Connection, Transfer-Encoding, TE other than trailers): 400', () => {
    for (const [name, value] of [
      ['connection', 'Upgrade'],
      ['upgrade', 'websocket'],
      ['keep-alive', '5'],
      ['proxy-connection', 'keep-alive'],
      ['transfer-encoding', 'chunked'],
      ['te', 'gzip'],
    ]) {
      refused(variant({ [name]: value }), 400, Code.CONNECTION_SPECIFIC_HEADER);
    }
  });

  it('sec-websocket-version missing, repeated or not 13: 400 with sec-websocket-version: 13 (no 426 without Upgrade)', () => {
    for (const version of [undefined, '8', '13, 8', ['13', '13']]) {
      const error = refused(variant({ 'sec-websocket-version': version }), 400, Code.WS_VERSION);
      assert.equal(error.headers['sec-websocket-version'], '13');
    }
  });

  it('a content-length (a body where WebSocket frames go): 400', () => {
    refused(variant({ 'content-length': '0' }), 400, Code.BODY);
    refused(variant({ 'content-length': '12' }), 400, Code.BODY);
  });

  it('subprotocol offers that are not unique tokens: 400, as over HTTP/1.1', () => {
    refused(variant({ 'sec-websocket-protocol': 'a b' }), 400, Code.SUBPROTOCOL);
    refused(variant({ 'sec-websocket-protocol': 'chat, chat' }), 400, Code.SUBPROTOCOL);
  });

  it('the HTTP head limits: field count, line length, list size (431); at the limit passes', () => {
    const fields = Object.keys(VALID).filter((name) => !name.startsWith(':')).length;
    assert.doesNotThrow(() => parseExtendedConnect(VALID, { maxHeaderCount: fields }));
    refused(VALID, 431, Code.TOO_MANY_HEADERS, { maxHeaderCount: fields - 1 });
    refused(variant({ cookie: 'c'.repeat(200) }), 431, Code.LINE_TOO_LONG, { maxLineBytes: 100 });
    let size = 0;
    for (const [name, value] of Object.entries(VALID)) size += name.length + String(value).length + 32;
    assert.doesNotThrow(() => parseExtendedConnect(VALID, { maxHeadBytes: size }));
    refused(VALID, 431, Code.HEAD_TOO_LARGE, { maxHeadBytes: size - 1 });
  });

  it('several faults: the first in the documented order wins (method, :protocol, :scheme, :path, :authority...)', () => {
    refused(variant({ ':protocol': undefined, ':scheme': undefined }), 501, Code.NOT_WEBSOCKET_CONNECT);
    refused(variant({ ':scheme': undefined, ':path': undefined }), 400, Code.PSEUDO_HEADER);
    const error = refused(variant({ ':authority': undefined, 'sec-websocket-version': undefined }), 400, Code.PSEUDO_HEADER);
    assert.match(error.message, /:authority/);
  });
});

describe('the answers as HTTP/2 header blocks', () => {
  it('accept: :status 200, the subprotocol and extensions, extra headers lowercased, connection-specific ones left out', () => {
    const headers = buildExtendedConnectResponse({
      protocol: 'chat',
      extensions: 'permessage-deflate',
      headers: { 'Set-Cookie': 'a=1', Connection: 'keep-alive', 'X-Trace': 't' },
    });
    assert.deepEqual({ ...headers }, {
      ':status': 200,
      'sec-websocket-protocol': 'chat',
      'sec-websocket-extensions': 'permessage-deflate',
      'set-cookie': 'a=1',
      'x-trace': 't',
    });
    assert.equal(headers['sec-websocket-accept'], undefined, 'no Sec-WebSocket-Accept over HTTP/2 (RFC 8441 §5)');
    assert.deepEqual({ ...buildExtendedConnectResponse({ protocol: '', extensions: '' }) }, { ':status': 200 });
  });

  it('accept: a header that is unsafe or would override ours is a LocalError (the server answers 500)', () => {
    assert.throws(() => buildExtendedConnectResponse({ headers: { 'X-Bad': 'a\r\nb' } }), LocalError);
    assert.throws(() => buildExtendedConnectResponse({ headers: { 'bad name': 'a' } }), LocalError);
    assert.throws(() => buildExtendedConnectResponse({ headers: { 'Sec-WebSocket-Protocol': 'x' } }), LocalError);
    assert.throws(() => buildExtendedConnectResponse({ protocol: 'not a token' }), LocalError);
  });

  it('reject: the status, the error headers lowercased, a text body; a 500 says nothing more', () => {
    const rejection = buildExtendedConnectRejection(new HandshakeError(Code.REJECTED, 401, 'who are you?', { 'WWW-Authenticate': 'Bearer', Upgrade: 'websocket' }));
    assert.deepEqual({ ...rejection.headers }, { ':status': 401, 'content-type': 'text/plain; charset=utf-8', 'www-authenticate': 'Bearer' });
    assert.equal(rejection.body, 'who are you?\n');
    assert.equal(buildExtendedConnectRejection(new HandshakeError(Code.INTERNAL, 500, 'db down at 10.0.0.7')).body, 'internal server error\n');
    assert.throws(() => buildExtendedConnectRejection(new HandshakeError(Code.REJECTED, 101, 'no')), LocalError);
    // RFC 9113 §8.5: "Any 2xx series response to a CONNECT request" opens the tunnel: a 2xx cannot refuse.
    for (const status of [200, 204, 299, 600]) assert.throws(() => buildExtendedConnectRejection(new HandshakeError(Code.REJECTED, status, 'no')), LocalError, String(status));
    assert.equal(buildExtendedConnectRejection(new HandshakeError(Code.REJECTED, 300, 'go')).headers[':status'], 300);
    assert.equal(buildExtendedConnectRejection(new HandshakeError(Code.REJECTED, 599, 'no')).headers[':status'], 599);
  });
});
