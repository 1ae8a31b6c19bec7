/**
 * How a published message travels through a broker (Redis pub/sub, NATS):
 * the bytes a broker backplane puts on a channel or subject, the same for
 * every engine so the framing is written once.
 *
 *   byte 0        flags: bit 0 set = binary message, clear = text; other bits 0
 *   bytes 1..16   the origin: a random id of the publishing backplane, so a
 *                 process drops its own publishes (its server delivered them
 *                 locally already)
 *   bytes 17..    the payload (UTF-8 for text)
 *
 * A broker delivers bytes; these 17 bytes say whether they were a text or a
 * binary message and who sent them. Nothing here touches a socket.
 */
import { randomBytes } from 'node:crypto';
import type { Message } from '../connection/websocket-connection.js';

/** Byte 0 of a carried message: bit 0 set for a binary message. */
const BINARY_FLAG = 0x01;
/** Length of the origin id that follows the flags byte. */
export const ORIGIN_LENGTH = 16;
/** The bytes a carried message adds to its payload (flags and origin). */
export const CARRIED_HEADER_LENGTH = 1 + ORIGIN_LENGTH;

/** A fresh random origin id for one backplane instance. */
export function newOrigin(): Buffer {
  return randomBytes(ORIGIN_LENGTH);
}

/** Encode one message for the broker: flags, origin, payload. */
export function encodeCarriedMessage(origin: Buffer, message: Message): Buffer {
  const payload = typeof message === 'string' ? Buffer.from(message, 'utf8') : message;
  const frame = Buffer.allocUnsafe(CARRIED_HEADER_LENGTH + payload.length);
  frame[0] = typeof message === 'string' ? 0 : BINARY_FLAG;
  origin.copy(frame, 1);
  payload.copy(frame, CARRIED_HEADER_LENGTH);
  return frame;
}

/** Decode a broker message: null if it is not one of ours (too short, unknown flags). */
export function decodeCarriedMessage(frame: Buffer): { origin: Buffer; message: Message } | null {
  if (frame.length < CARRIED_HEADER_LENGTH) return null;
  const flags = frame[0]!;
  if ((flags & ~BINARY_FLAG) !== 0) return null;
  const origin = frame.subarray(1, CARRIED_HEADER_LENGTH);
  const payload = frame.subarray(CARRIED_HEADER_LENGTH);
  return { origin, message: flags & BINARY_FLAG ? Buffer.from(payload) : payload.toString('utf8') };
}
