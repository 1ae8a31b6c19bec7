/**
 * The reconnecting client's policy (src/client/reconnect-policy.ts), as pure
 * functions: which failures and close codes are retried, Retry-After in
 * both its forms, and the backoff's bounds with the jitter at its extremes.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { LocalError } from '../../src/errors.js';
import { ClientHandshakeError } from '../../src/handshake/client-handshake-error.js';
import { HandshakeErrorCode } from '../../src/handshake/error-codes.js';
import { HttpHeaders } from '../../src/handshake/http-headers.js';
import type { HttpResponseHead } from '../../src/handshake/http-head-parser.js';
import type { CloseInfo } from '../../src/protocol/close-state.js';
import {
  DEFAULT_RECONNECT_OPTIONS,
  backoffDelay,
  endingCode,
  parseRetryAfter,
  reconnectsAfterClose,
  retryAfterFailure,
} from '../../src/client/reconnect-policy.js';

const NOW = Date.parse('2026-01-01T00:00:00Z');

function refusal(status: number, headers: Record<string, string> = {}): ClientHandshakeError {
  const response = { status, reason: '', version: 'HTTP/1.1', headers: new HttpHeaders(Object.entries(headers)) } as unknown as HttpResponseHead;
  return new ClientHandshakeError(HandshakeErrorCode.UNEXPECTED_STATUS, '4.1', `status ${status}`, response);
}

function systemError(code: string, syscall: string): Error {
  return Object.assign(new Error(`${syscall} ${code}`), { code, syscall, errno: -1 });
}

function closed(received: number | null, sent: number | null = null): CloseInfo {
  return {
    code: received ?? 1006,
    reason: '',
    wasClean: received !== null && sent !== null,
    initiator: 'peer',
    received: received === null ? null : { code: received, reason: '' },
    sent: sent === null ? null : { code: sent, reason: '' },
    error: null,
  } as unknown as CloseInfo;
}

test('connect failures: network errors and timeouts are retried; refusals, redirects, TLS and local errors are not', () => {
  for (const [code, syscall] of [['ECONNREFUSED', 'connect'], ['ECONNRESET', 'read'], ['ETIMEDOUT', 'connect'], ['ENOTFOUND', 'getaddrinfo'], ['EHOSTUNREACH', 'connect']]) {
    assert.deepEqual(retryAfterFailure(systemError(code, syscall), NOW), { retry: true, retryAfter: 0 }, code);
  }
  for (const code of [HandshakeErrorCode.CONNECT_TIMEOUT, HandshakeErrorCode.NO_RESPONSE]) {
    assert.deepEqual(retryAfterFailure(new ClientHandshakeError(code, '4.1', code), NOW), { retry: true, retryAfter: 0 }, code);
  }
  for (const status of [500, 502, 503, 504, 429]) assert.equal(retryAfterFailure(refusal(status), NOW).retry, true, String(status));
  for (const status of [400, 401, 403, 404, 426, 301, 302, 200]) assert.equal(retryAfterFailure(refusal(status), NOW).retry, false, String(status));
  assert.equal(retryAfterFailure(new ClientHandshakeError(HandshakeErrorCode.ACCEPT_MISMATCH, '4.1', 'bad accept'), NOW).retry, false);
  // A TLS certificate error has a code but no syscall.
  assert.equal(retryAfterFailure(Object.assign(new Error('self-signed certificate'), { code: 'DEPTH_ZERO_SELF_SIGNED_CERT' }), NOW).retry, false);
  assert.equal(retryAfterFailure(new LocalError('WS_ERR_INVALID_OPTION', 'bad'), NOW).retry, false);
});

test('Retry-After: delay-seconds and HTTP-date (RFC 9110 §10.2.3), honoured on 503 and 429', () => {
  assert.equal(parseRetryAfter('120', NOW), 120_000);
  assert.equal(parseRetryAfter(' 0 ', NOW), 0);
  assert.equal(parseRetryAfter('Thu, 01 Jan 2026 00:00:30 GMT', NOW), 30_000);
  assert.equal(parseRetryAfter('Wed, 31 Dec 2025 23:00:00 GMT', NOW), 0, 'a date in the past: at once');
  assert.equal(parseRetryAfter('soon', NOW), undefined);
  assert.equal(parseRetryAfter('-5', NOW), undefined);
  assert.equal(parseRetryAfter(undefined, NOW), undefined);
  assert.deepEqual(retryAfterFailure(refusal(503, { 'Retry-After': '2' }), NOW), { retry: true, retryAfter: 2_000 });
  assert.deepEqual(retryAfterFailure(refusal(429, { 'retry-after': 'Thu, 01 Jan 2026 00:00:05 GMT' }), NOW), { retry: true, retryAfter: 5_000 });
});

test('close codes: 1001, 1006, 1011, 1012, 1013, 1014 reconnect; 1000, 1005, 1008, 1002, 1003, 1007, 1009, 1010, 3xxx, 4xxx stop', () => {
  for (const code of [1001, 1006, 1011, 1012, 1013, 1014]) assert.equal(reconnectsAfterClose(closed(code)), true, String(code));
  for (const code of [1000, 1005, 1008, 1002, 1003, 1007, 1009, 1010, 3000, 4000, 4999]) assert.equal(reconnectsAfterClose(closed(code)), false, String(code));
  // No close frame at all: TCP dropped (1006), reconnect.
  assert.equal(endingCode(closed(null)), 1006);
  assert.equal(reconnectsAfterClose(closed(null)), true);
  // No answer to our close frame: our code decides (the application's 1000 stops; our keepalive's 1011 does not).
  assert.equal(endingCode(closed(null, 1000)), 1000);
  assert.equal(reconnectsAfterClose(closed(null, 1000)), false);
  assert.equal(reconnectsAfterClose(closed(null, 1011)), true);
});

test('backoff: min(maxDelay, initialDelay × factor^(n−1)), less up to jitter × d', () => {
  const policy = { ...DEFAULT_RECONNECT_OPTIONS, initialDelay: 100, factor: 3, maxDelay: 2_000, jitter: 0.25 };
  const expected = [100, 100, 300, 900, 2_000, 2_000];
  for (let n = 0; n < expected.length; n++) {
    assert.equal(backoffDelay(n, policy, () => 0), expected[n], `n = ${n}, no jitter drawn`);
    assert.equal(backoffDelay(n, policy, () => 0.999999), Math.round(expected[n] * (1 - 0.25 * 0.999999)), `n = ${n}, the most jitter`);
  }
  // Many draws stay within bounds, and spread.
  const draws = Array.from({ length: 1000 }, () => backoffDelay(3, policy));
  assert.ok(draws.every((d) => d >= 675 && d <= 900));
  assert.ok(new Set(draws).size > 50);
  // No jitter: exact; a fractional factor; a huge n does not overflow past the cap.
  assert.equal(backoffDelay(4, { ...policy, jitter: 0, factor: 1.5 }), 338);
  assert.equal(backoffDelay(10_000, policy, () => 0), 2_000);
});
