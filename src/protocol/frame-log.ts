/**
 * Readable one-line descriptions of frames for debug logs:
 *
 *   < TEXT 'hello' [5 bytes]
 *   > BINARY 0a 1b 2c ... [1048576 bytes]
 *   < CLOSE 1000 (OK) 'bye'
 *
 * Only called when a logger is set, so formatting costs nothing otherwise.
 * Set WSRFC_DEBUG=1 in the environment to log every frame of every
 * connection to stderr, or pass `logger` in the server or protocol options.
 */
import { describeCloseCode } from '../framing/close-codes.js';
import { Opcode, opcodeName } from '../framing/opcodes.js';

/** Receives one readable line per message or control frame, both ways (`TEXT 'hello' [5 bytes]`). */
export type FrameLogger = (line: string) => void;

const PREVIEW_BYTES = 24;

/** Describe a frame (or a whole message) going `direction`: '<' received, '>' sent. */
export function describeFrame(direction: '<' | '>', opcode: number, payload: Uint8Array | string, fin = true): string {
  const size = typeof payload === 'string' ? Buffer.byteLength(payload) : payload.length;
  const name = opcodeName(opcode) + (fin ? '' : ' (fin=0)');
  let body: string;
  if (opcode === Opcode.CLOSE && typeof payload !== 'string') {
    const reason = quote(Buffer.from(payload.subarray(2)).toString('utf8'));
    body = payload.length >= 2 ? describeCloseCode((payload[0] << 8) | payload[1]) + (reason ? ` ${reason}` : '') : '(no code)';
  } else if (typeof payload === 'string' || opcode === Opcode.TEXT) {
    const text = typeof payload === 'string' ? payload : Buffer.from(payload).toString('utf8');
    body = quote(text);
  } else {
    const bytes = Buffer.from(payload.subarray(0, PREVIEW_BYTES));
    body = bytes.toString('hex').replace(/(..)(?!$)/g, '$1 ') + (payload.length > PREVIEW_BYTES ? ' ...' : '');
  }
  return `${direction} ${name}${body ? ` ${body}` : ''} [${size} bytes]`;
}

/** Describe a whole unmasked frame, header included (a broadcast's frame, encoded once for every receiver). */
export function describeEncodedFrame(direction: '<' | '>', frame: Uint8Array): string {
  const length7 = frame[1] & 0x7f;
  const payloadStart = length7 < 126 ? 2 : length7 === 126 ? 4 : 10;
  return `${describeFrame(direction, frame[0] & 0x0f, frame.subarray(payloadStart), (frame[0] & 0x80) !== 0)} (pre-encoded)`;
}

function quote(text: string): string {
  if (text === '') return '';
  const shown = text.length > 60 ? `${text.slice(0, 60)}...` : text;
  return JSON.stringify(shown).replace(/^"|"$/g, "'");
}

/** The logger WSRFC_DEBUG asks for, or null. */
export const environmentLogger: FrameLogger | null =
  process.env.WSRFC_DEBUG && process.env.WSRFC_DEBUG !== '0' ? (line) => process.stderr.write(`[wsrfc] ${line}\n`) : null;
