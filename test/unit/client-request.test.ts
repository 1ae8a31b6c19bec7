/**
 * The pure parts of the client: WebSocket URIs (RFC 6455 §3), the bytes of
 * the opening handshake (§4.1), and permessage-deflate negotiation from the
 * client's side (RFC 7692 §7.1).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { buildUpgradeRequest, checkExtensionOffer } from '../../src/client/upgrade-request-builder.js';
import { parseWebSocketUrl } from '../../src/client/url.js';
import { LocalError } from '../../src/errors.js';
import { parseExtensionHeader } from '../../src/extensions/extension-header.js';
import { acceptDeflateResponse, deflateCodec, deflateOffer, negotiateDeflate, type ClientDeflateOptions } from '../../src/extensions/permessage-deflate-negotiation.js';
import { HttpHeadParser } from '../../src/handshake/http-head-parser.js';
import { ClientHandshakeError } from '../../src/handshake/upgrade-response.js';
import { RFC_UPGRADE_REQUEST } from '../helpers/protocol-harness.js';

const KEY = 'dGhlIHNhbXBsZSBub25jZQ==';

describe('parseWebSocketUrl (§3)', () => {
  it('splits a URL into where to connect and what to ask for', () => {
    const table: Array<[string, Partial<ReturnType<typeof parseWebSocketUrl>>]> = [
      ['ws://example.com/chat', { secure: false, host: 'example.com', port: 80, hostHeader: 'example.com', resource: '/chat' }],
      ['wss://example.com', { secure: true, port: 443, hostHeader: 'example.com', resource: '/', path: '/', query: '' }],
      ['ws://example.com:80/', { port: 80, hostHeader: 'example.com' }], // §4.1 item 4: no port when it is the default
      ['wss://example.com:443/', { port: 443, hostHeader: 'example.com' }],
      ['ws://example.com:443/', { port: 443, hostHeader: 'example.com:443' }],
      ['WS://EXAMPLE.com:9001/A/b?x=1&y', { secure: false, host: 'example.com', port: 9001, hostHeader: 'example.com:9001', resource: '/A/b?x=1&y', path: '/A/b', query: 'x=1&y' }],
      ['ws://127.0.0.1:8080', { host: '127.0.0.1', hostHeader: '127.0.0.1:8080', resource: '/' }],
      ['ws://[::1]:8080/v6', { host: '::1', port: 8080, hostHeader: '[::1]:8080', resource: '/v6' }],
      ['wss://[2001:db8::1]/', { host: '2001:db8::1', port: 443, hostHeader: '[2001:db8::1]' }],
      ['ws://example.com/a b?q=ü', { resource: '/a%20b?q=%C3%BC' }], // percent-encoded: a request-target is ASCII
      ['ws://bücher.example/', { host: 'xn--bcher-kva.example', hostHeader: 'xn--bcher-kva.example' }],
      ['ws://example.com/?', { resource: '/', query: '' }],
    ];
    for (const [input, expected] of table) {
      const target = parseWebSocketUrl(input);
      for (const [name, value] of Object.entries(expected)) assert.equal(target[name as keyof typeof target], value, `${input}: ${name}`);
    }
    assert.equal(parseWebSocketUrl(new URL('ws://a.example/x')).resource, '/x');
  });

  it('refuses what is not a WebSocket URI', () => {
    for (const input of ['http://example.com/', 'https://example.com/', 'ftp://x/', 'example.com', '', 'ws://example.com/#frag', 'ws://example.com/#', 'ws://u:p@example.com/', 'ws://u@example.com/', 'ws://exa mple.com/']) {
      assert.throws(() => parseWebSocketUrl(input), (e: unknown) => e instanceof LocalError && e.code === 'HS_ERR_INVALID_URL', input);
    }
    assert.throws(() => parseWebSocketUrl('https://x/'), /use wss:\/\//);
  });
});

describe('buildUpgradeRequest (§4.1)', () => {
  it('writes the RFC\'s example request, byte for byte', () => {
    const request = buildUpgradeRequest({
      resource: '/chat',
      host: 'server.example.com',
      key: KEY,
      origin: 'http://example.com',
      protocols: ['chat', 'superchat'],
    });
    assert.equal(request.toString('latin1'), RFC_UPGRADE_REQUEST);
  });

  it('is a request our own server-side parser accepts', () => {
    const request = buildUpgradeRequest({ resource: '/a?b', host: 'h:1', key: KEY, extensions: 'x-y; z=1', headers: { 'X-Extra': 'v', Host: 'other:2' } });
    const parsed = new HttpHeadParser('request').feed(request);
    assert.ok(parsed);
    assert.equal(parsed.head.target, '/a?b');
    assert.equal(parsed.head.headers.get('host'), 'other:2');
    assert.equal(parsed.head.headers.count('host'), 1);
    assert.equal(parsed.head.headers.get('sec-websocket-extensions'), 'x-y; z=1');
    assert.equal(parsed.head.headers.get('x-extra'), 'v');
    assert.equal(parsed.rest.length, 0);
  });

  it('refuses arguments that would break the request', () => {
    const base = { resource: '/', host: 'h', key: KEY };
    const bad: Array<[object, string]> = [
      [{ resource: 'relative' }, 'HS_ERR_INVALID_URL'],
      [{ resource: '/a b' }, 'HS_ERR_INVALID_URL'],
      [{ key: 'short' }, 'HS_ERR_INVALID_CLIENT_OPTION'],
      [{ origin: '' }, 'HS_ERR_INVALID_CLIENT_OPTION'],
      [{ protocols: ['a', 'a'] }, 'HS_ERR_INVALID_CLIENT_OPTION'],
      [{ protocols: ['a,b'] }, 'HS_ERR_INVALID_CLIENT_OPTION'],
      [{ protocols: [''] }, 'HS_ERR_INVALID_CLIENT_OPTION'],
      [{ extensions: '' }, 'HS_ERR_INVALID_CLIENT_OPTION'],
      [{ extensions: 'a\r\nb' }, 'HS_ERR_INVALID_CLIENT_OPTION'],
      [{ headers: { 'X-A': 'one\ntwo' } }, 'HS_ERR_INVALID_REQUEST_HEADER'],
      [{ headers: { 'X-A': 'é€' } }, 'HS_ERR_INVALID_REQUEST_HEADER'],
      [{ headers: { 'X-A': 'a', 'x-a': 'b' } }, 'HS_ERR_INVALID_REQUEST_HEADER'],
      [{ headers: { 'Sec-WebSocket-Key': KEY } }, 'HS_ERR_RESERVED_REQUEST_HEADER'],
      [{ headers: { 'Transfer-Encoding': 'chunked' } }, 'HS_ERR_RESERVED_REQUEST_HEADER'],
    ];
    for (const [change, code] of bad) {
      assert.throws(() => buildUpgradeRequest({ ...base, ...change }), (e: unknown) => e instanceof LocalError && e.code === code, JSON.stringify(change));
    }
    assert.deepEqual(checkExtensionOffer('a; b=1, C'), ['a', 'c']);
  });
});

describe('permessage-deflate from the client side (RFC 7692)', () => {
  const head = new HttpHeadParser('response').feed(Buffer.from('HTTP/1.1 101 Switching Protocols\r\n\r\n'))!.head;
  const accept = (answer: string, options: ClientDeflateOptions = {}) => acceptDeflateResponse(parseExtensionHeader(answer), options, head);

  it('offers what was asked for, always with client_max_window_bits (§7.1.2.2)', () => {
    assert.equal(deflateOffer({}), 'permessage-deflate; client_max_window_bits');
    assert.equal(
      deflateOffer({ serverNoContextTakeover: true, clientNoContextTakeover: true, serverMaxWindowBits: 10, clientMaxWindowBits: 12 }),
      'permessage-deflate; server_no_context_takeover; client_no_context_takeover; server_max_window_bits=10; client_max_window_bits=12',
    );
    for (const bits of [7, 16, 9.5]) {
      assert.throws(
        () => deflateOffer({ serverMaxWindowBits: bits }),
        (e: unknown) => e instanceof LocalError && e.code === 'WS_ERR_INVALID_OPTION' && e.message.startsWith('perMessageDeflate.serverMaxWindowBits must be a whole number from 8 to 15'),
      );
    }
  });

  it('our own server\'s answers to our offers are all acceptable', () => {
    const cases: ClientDeflateOptions[] = [{}, { serverNoContextTakeover: true }, { clientNoContextTakeover: true }, { serverMaxWindowBits: 8, clientMaxWindowBits: 8 }, { serverMaxWindowBits: 12 }];
    for (const options of cases) {
      const agreement = negotiateDeflate(parseExtensionHeader(deflateOffer(options)));
      assert.ok(agreement, JSON.stringify(options));
      const ours = accept(agreement.response, options);
      assert.equal(ours.serverNoContextTakeover, agreement.serverNoContextTakeover);
      assert.equal(ours.serverMaxWindowBits, agreement.serverMaxWindowBits);
      assert.equal(ours.clientMaxWindowBits, agreement.clientMaxWindowBits);
      assert.equal(ours.clientNoContextTakeover, options.clientNoContextTakeover === true || agreement.clientNoContextTakeover);
    }
  });

  it('takes the server\'s limits on our window and context', () => {
    assert.deepEqual(accept('permessage-deflate; client_max_window_bits=10; client_no_context_takeover'), {
      serverNoContextTakeover: false,
      clientNoContextTakeover: true,
      serverMaxWindowBits: 15,
      clientMaxWindowBits: 10,
    });
    assert.equal(accept('permessage-deflate; client_max_window_bits=12', { clientMaxWindowBits: 9 }).clientMaxWindowBits, 9);
  });

  it('fails the connection on an answer it cannot honour (§7)', () => {
    const bad: Array<[string, ClientDeflateOptions]> = [
      ['permessage-deflate; x=1', {}],
      ['permessage-deflate; server_no_context_takeover; server_no_context_takeover', {}],
      ['permessage-deflate; server_no_context_takeover=1', {}],
      ['permessage-deflate; client_no_context_takeover=1', {}],
      ['permessage-deflate; server_max_window_bits', {}],
      ['permessage-deflate; server_max_window_bits=7', {}],
      ['permessage-deflate; server_max_window_bits=016', {}],
      ['permessage-deflate; server_max_window_bits=12', { serverMaxWindowBits: 10 }],
      ['permessage-deflate; client_max_window_bits', {}],
      ['permessage-deflate; client_max_window_bits=16', {}],
      ['permessage-deflate, permessage-deflate', {}],
    ];
    for (const [answer, options] of bad) {
      assert.throws(() => accept(answer, options), (e: unknown) => e instanceof ClientHandshakeError && e.code === 'HS_ERR_RESPONSE_EXTENSIONS', answer);
    }
  });

  it('the client codec is the server codec seen from the other end: local is the client\'s half of the agreement', () => {
    const agreement = accept('permessage-deflate; server_max_window_bits=10; client_max_window_bits=9; server_no_context_takeover');
    const client = deflateCodec('client', agreement, { threshold: 0 });
    const server = deflateCodec('server', agreement, { threshold: 0 });
    const text = Buffer.from('the quick brown fox jumps over the lazy dog '.repeat(50));
    for (let i = 0; i < 3; i++) {
      assert.deepEqual(server.decompress(client.compress(text), 1 << 20), text);
      assert.deepEqual(client.decompress(server.compress(text), 1 << 20), text);
    }
    assert.equal(client.config.localMaxWindowBits, 9, 'the client compresses with the client window');
    assert.equal(client.config.remoteMaxWindowBits, 10, 'and inflates what the server compressed with its own');
    assert.equal(client.config.remoteNoContextTakeover, true, 'the client keeps no window of the server\'s messages');
    assert.equal(client.config.localNoContextTakeover, false);
    assert.deepEqual(
      [server.config.localMaxWindowBits, server.config.remoteMaxWindowBits, server.config.localNoContextTakeover, server.config.remoteNoContextTakeover],
      [10, 9, true, false],
      'the server: the same agreement, the other way round',
    );
  });
});
