import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatExtension, parseExtensionHeader } from '../../src/extensions/extension-header.js';
import { HandshakeError } from '../../src/errors.js';

test('parses offers with parameters, values, quoted values and whitespace', () => {
  assert.deepEqual(parseExtensionHeader('permessage-deflate'), [{ name: 'permessage-deflate', params: [] }]);
  assert.deepEqual(parseExtensionHeader('permessage-deflate; client_max_window_bits'), [
    { name: 'permessage-deflate', params: [['client_max_window_bits', true]] },
  ]);
  assert.deepEqual(parseExtensionHeader('Permessage-Deflate ;Server_Max_Window_Bits = 10 ; client_no_context_takeover'), [
    { name: 'permessage-deflate', params: [['server_max_window_bits', '10'], ['client_no_context_takeover', true]] },
  ]);
  assert.deepEqual(parseExtensionHeader('permessage-deflate; server_max_window_bits="10"'), [
    { name: 'permessage-deflate', params: [['server_max_window_bits', '10']] },
  ]);
  assert.deepEqual(parseExtensionHeader('x-a, permessage-deflate; a=1,\tx-b;c'), [
    { name: 'x-a', params: [] },
    { name: 'permessage-deflate', params: [['a', '1']] },
    { name: 'x-b', params: [['c', true]] },
  ]);
  // Empty list elements (several header lines joined) are fine.
  assert.deepEqual(parseExtensionHeader(' , permessage-deflate ,, '), [{ name: 'permessage-deflate', params: [] }]);
  assert.deepEqual(parseExtensionHeader(''), []);
  // Escapes inside a quoted value are unescaped before the token check.
  assert.deepEqual(parseExtensionHeader('e; p="a\\b"'), [{ name: 'e', params: [['p', 'ab']] }]);
});

test('syntax errors are HandshakeError 400', () => {
  const bad = [
    'permessage-deflate;',
    'permessage-deflate; =10',
    'permessage-deflate; a=',
    'permessage-deflate; a="10',
    'permessage-deflate; a="1 0"', // quoted value must be a token (§9.1)
    'permessage-deflate; a=""',
    'permessage deflate',
    'permessage-deflate; a=1 b',
    ';a',
    'pmd; a="x\\',
    'p@md',
  ];
  for (const value of bad) {
    assert.throws(() => parseExtensionHeader(value), (error: unknown) => error instanceof HandshakeError && error.status === 400 && error.code === 'HS_ERR_EXTENSIONS', value);
  }
});

test('formats a response element', () => {
  assert.equal(formatExtension('permessage-deflate', []), 'permessage-deflate');
  assert.equal(
    formatExtension('permessage-deflate', [['server_no_context_takeover', true], ['client_max_window_bits', '10']]),
    'permessage-deflate; server_no_context_takeover; client_max_window_bits=10',
  );
});
