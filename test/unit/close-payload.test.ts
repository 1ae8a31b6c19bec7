/**
 * Close frame payloads (RFC 6455 §5.5.1, §7.4): empty, or a 2-byte status
 * code and a UTF-8 reason. Status codes are checked exhaustively (all 65536)
 * against the list written out again here from §7.4.1 and the IANA registry.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { LocalError, ProtocolError } from '../../src/errors.js';
import { MAX_CLOSE_REASON_BYTES, buildClosePayload, parseClosePayload } from '../../src/framing/close-payload.js';
import { closeBody, hex } from '../helpers/protocol-harness.js';

/**
 * Codes that may appear in a close frame: 1000–1003 and 1007–1011 (RFC 6455
 * §7.4.1), 1012–1014 (IANA registry: service restart, try again later, bad
 * gateway; accepted deliberately, as Autobahn 7.9.x does), 3000–4999
 * (libraries/frameworks and private use, §7.4.2).
 */
function mayBeSent(code: number): boolean {
  return [1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014].includes(code) || (code >= 3000 && code <= 4999);
}

function assertProtocolError(fn: () => unknown, code: string, closeCode: number, message?: string): void {
  assert.throws(
    fn,
    (error: unknown) => {
      assert.ok(error instanceof ProtocolError, `${message ?? ''}: expected ProtocolError, got ${String(error)}`);
      assert.equal(error.code, code, message);
      assert.equal(error.closeCode, closeCode, message);
      return true;
    },
    message,
  );
}

/** What `fn` threw (undefined if nothing), without a stack trace: cheap enough for exhaustive loops. */
function thrown(fn: () => unknown): unknown {
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = 0;
  try {
    fn();
  } catch (error) {
    return error;
  } finally {
    Error.stackTraceLimit = limit;
  }
  return undefined;
}

function assertLocalError(fn: () => unknown, code: string, message?: string): void {
  assert.throws(
    fn,
    (error: unknown) => {
      assert.ok(error instanceof LocalError, `${message ?? ''}: expected LocalError, got ${String(error)}`);
      assert.ok(!(error instanceof ProtocolError));
      assert.equal(error.code, code, message);
      return true;
    },
    message,
  );
}

describe('parseClosePayload', () => {
  it('an empty payload means "no status received": 1005, empty reason', () => {
    assert.deepEqual(parseClosePayload(Buffer.alloc(0)), { code: 1005, reason: '' });
  });

  it('a 1-byte payload → 1002 (§5.5.1: the body starts with a 2-byte code)', () => {
    for (const byte of [0x00, 0x03, 0xe8]) {
      assertProtocolError(() => parseClosePayload(Buffer.of(byte)), 'WS_ERR_CLOSE_PAYLOAD_ONE_BYTE', 1002);
    }
  });

  it('reads the code in network byte order, with and without a reason', () => {
    assert.deepEqual(parseClosePayload(hex('03 e8')), { code: 1000, reason: '' });
    assert.deepEqual(parseClosePayload(hex('0f a1 62 79 65')), { code: 4001, reason: 'bye' });
  });

  it('every code 0..65535: accepted exactly when it may be sent (§7.4.1, IANA)', () => {
    let accepted = 0;
    for (let code = 0; code <= 0xffff; code++) {
      const payload = closeBody(code, 'r');
      if (mayBeSent(code)) {
        assert.deepEqual(parseClosePayload(payload), { code, reason: 'r' }, `code ${code}`);
        accepted++;
      } else {
        const error = thrown(() => parseClosePayload(payload));
        assert.ok(error instanceof ProtocolError && error.code === 'WS_ERR_INVALID_CLOSE_CODE' && error.closeCode === 1002, `code ${code}: ${String(error)}`);
      }
    }
    assert.equal(accepted, 12 + 2000);
  });

  for (const code of [0, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999, 5000, 65535]) {
    it(`invalid code ${code} → 1002`, () => {
      assertProtocolError(() => parseClosePayload(closeBody(code)), 'WS_ERR_INVALID_CLOSE_CODE', 1002);
    });
  }

  it('1012, 1013, 1014 are accepted (deliberate: registered with IANA after RFC 6455)', () => {
    for (const code of [1012, 1013, 1014]) assert.equal(parseClosePayload(closeBody(code)).code, code);
  });

  it('a reason that is not UTF-8 → 1007 (§8.1)', () => {
    const bad = [
      hex('ff'),
      hex('c0 80'), // overlong NUL
      hex('ed a0 80'), // a surrogate
      hex('f4 90 80 80'), // above U+10FFFF
      hex('e2 82'), // truncated €
      hex('ce ba e1 bd b9 cf 83 ce bc ce b5 ed a0 80 65 64 69 74 65 64'), // Autobahn 7.5.1
    ];
    for (const reason of bad) {
      assertProtocolError(() => parseClosePayload(closeBody(1000, reason)), 'WS_ERR_INVALID_CLOSE_REASON', 1007, reason.toString('hex'));
    }
  });

  it('a reason of 123 bytes (the most a control frame holds) is returned whole, multi-byte characters included', () => {
    const ascii = 'a'.repeat(123);
    assert.deepEqual(parseClosePayload(closeBody(1001, ascii)), { code: 1001, reason: ascii });
    const mixed = `${'€'.repeat(40)}abc`; // 120 + 3 bytes
    assert.equal(Buffer.byteLength(mixed), 123);
    assert.deepEqual(parseClosePayload(closeBody(4999, mixed)), { code: 4999, reason: mixed });
    assert.deepEqual(parseClosePayload(closeBody(3000, '𝄞 κόσμε')), { code: 3000, reason: '𝄞 κόσμε' });
  });

  it('reads a payload that is a view into a larger buffer', () => {
    const backing = Buffer.concat([Buffer.from('junk'), closeBody(1000, 'fine'), Buffer.from('more')]);
    assert.deepEqual(parseClosePayload(backing.subarray(4, 10)), { code: 1000, reason: 'fine' });
  });
});

describe('buildClosePayload', () => {
  it('no code → an empty payload', () => {
    assert.equal(buildClosePayload(undefined).length, 0);
  });

  it('a reason without a code → LocalError', () => {
    assertLocalError(() => buildClosePayload(undefined, 'why'), 'WS_ERR_CLOSE_REASON_WITHOUT_CODE');
  });

  it('writes the code big-endian, then the reason as UTF-8', () => {
    assert.deepEqual(buildClosePayload(1000), hex('03 e8'));
    assert.deepEqual(buildClosePayload(1001, 'bye'), hex('03 e9 62 79 65'));
    assert.deepEqual(buildClosePayload(4000, '€'), hex('0f a0 e2 82 ac'));
  });

  it('every code 0..65535: builds exactly the codes that may be sent, LocalError for the rest', () => {
    for (let code = 0; code <= 0xffff; code++) {
      if (mayBeSent(code)) {
        assert.deepEqual(buildClosePayload(code), closeBody(code), `code ${code}`);
      } else {
        const error = thrown(() => buildClosePayload(code));
        assert.ok(error instanceof LocalError && error.code === 'WS_ERR_UNSENDABLE_CLOSE_CODE', `code ${code}: ${String(error)}`);
      }
    }
  });

  it('rejects codes that are not integers in range', () => {
    for (const code of [1000.5, Number.NaN, -1000, 65536 + 1000, Infinity]) {
      assertLocalError(() => buildClosePayload(code), 'WS_ERR_UNSENDABLE_CLOSE_CODE', String(code));
    }
  });

  it('a reason of 123 bytes is accepted; 124 bytes → LocalError (counted in UTF-8 bytes, not characters)', () => {
    assert.equal(MAX_CLOSE_REASON_BYTES, 123);
    assert.equal(buildClosePayload(1000, 'a'.repeat(123)).length, 125);
    assertLocalError(() => buildClosePayload(1000, 'a'.repeat(124)), 'WS_ERR_CLOSE_REASON_TOO_LONG');
    const euros123 = `${'€'.repeat(41)}`; // 123 bytes, 41 characters
    assert.equal(buildClosePayload(1000, euros123).length, 125);
    const euros124 = `${'€'.repeat(41)}x`; // 124 bytes, 42 characters
    assertLocalError(() => buildClosePayload(1000, euros124), 'WS_ERR_CLOSE_REASON_TOO_LONG');
  });

  it('round-trips through parseClosePayload', () => {
    for (const [code, reason] of [[1000, ''], [1011, 'internal'], [4999, 'ünïcødé 𝄞'], [3000, 'x'.repeat(123)]] as const) {
      assert.deepEqual(parseClosePayload(buildClosePayload(code, reason)), { code, reason });
    }
  });
});
