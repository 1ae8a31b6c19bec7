/**
 * The payload of a close frame (RFC 6455 §5.5.1): empty, or a 2-byte status
 * code in network byte order followed by a UTF-8 reason.
 */
import { CloseCode, isValidWireCloseCode } from './close-codes.js';
import { LocalError } from '../errors.js';
import { protocolError } from '../protocol/error-codes.js';
import { isValidUtf8 } from '../utf8/utf8-validator.js';

/** A close frame's payload, decoded: the status code (1005 when the payload was empty) and the UTF-8 reason (§5.5.1). */
export interface ClosePayload {
  /** The status code, or 1005 (NO_STATUS_RECEIVED) when the payload was empty. */
  code: number;
  reason: string;
}

/** Control frame payloads are at most 125 bytes (§5.5), so a reason is at most 123. */
export const MAX_CLOSE_REASON_BYTES = 123;

/** Parse and check a received close payload. Throws ProtocolError (1002 or 1007). */
export function parseClosePayload(payload: Uint8Array): ClosePayload {
  if (payload.length === 0) return { code: CloseCode.NO_STATUS_RECEIVED, reason: '' };
  // §5.5.1: "If there is a body, the first two bytes of the body MUST be a
  // 2-byte unsigned integer ... representing a status code."
  if (payload.length === 1) {
    throw protocolError('WS_ERR_CLOSE_PAYLOAD_ONE_BYTE', 'close frame payload of 1 byte');
  }
  const code = (payload[0] << 8) | payload[1];
  // §7.4: only codes defined for use on the wire may be received.
  if (!isValidWireCloseCode(code)) {
    throw protocolError('WS_ERR_INVALID_CLOSE_CODE', `invalid close code ${code}`);
  }
  // §5.5.1: the reason is UTF-8; §8.1: invalid UTF-8 fails the connection with 1007.
  if (!isValidUtf8(payload, 2, payload.length)) {
    throw protocolError('WS_ERR_INVALID_CLOSE_REASON', 'close reason is not valid UTF-8');
  }
  const reason = payload.length > 2 ? Buffer.from(payload.buffer, payload.byteOffset + 2, payload.length - 2).toString('utf8') : '';
  return { code, reason };
}

/**
 * Build the payload of a close frame we send. `code` undefined sends an empty
 * payload (allowed by §5.5.1; used to answer a close that carried no code).
 * Throws LocalError for a code that must not be sent or a reason over 123 bytes.
 */
export function buildClosePayload(code: number | undefined, reason = ''): Buffer {
  if (code === undefined) {
    if (reason !== '') throw new LocalError('WS_ERR_CLOSE_REASON_WITHOUT_CODE', 'a close reason needs a close code');
    return Buffer.alloc(0);
  }
  if (!Number.isInteger(code) || !isValidWireCloseCode(code)) {
    throw new LocalError('WS_ERR_UNSENDABLE_CLOSE_CODE', `close code ${code} may not be sent (RFC 6455 §7.4)`);
  }
  const reasonBytes = Buffer.byteLength(reason);
  if (reasonBytes > MAX_CLOSE_REASON_BYTES) {
    throw new LocalError('WS_ERR_CLOSE_REASON_TOO_LONG', `close reason is ${reasonBytes} bytes; at most 123 fit a control frame`);
  }
  const payload = Buffer.allocUnsafe(2 + reasonBytes);
  payload.writeUInt16BE(code, 0);
  payload.write(reason, 2, 'utf8');
  return payload;
}
