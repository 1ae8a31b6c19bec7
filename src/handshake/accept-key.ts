/**
 * The nonce exchange of the opening handshake: the client's Sec-WebSocket-Key
 * and the server's Sec-WebSocket-Accept derived from it (RFC 6455 §1.3, §4).
 */
import { hash, randomBytes } from 'node:crypto';

/** RFC 6455 §1.3: the GUID appended to the key, "unlikely to be used by network endpoints that do not understand the WebSocket Protocol". */
export const WEBSOCKET_GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';

/**
 * RFC 6455 §4.2.2 item 5.4: "A |Sec-WebSocket-Accept| header field. The value
 * of this header field is constructed by concatenating /key/, defined above in
 * step 4 in Section 4.2.2, with the string "258EAFA5-E914-47DA-95CA-
 * C5AB0DC85B11", taking the SHA-1 hash of this concatenated value to obtain a
 * 20-byte value and base64-encoding (see Section 4 of [RFC4648]) this 20-byte
 * hash."
 *
 * The key is hashed as the Latin-1 bytes it arrived as (a valid key is ASCII).
 * Example from §1.3: `dGhlIHNhbXBsZSBub25jZQ==` → `s3pPLMBiTxaQ9kYGzzhZRbK+xOo=`.
 */
export function computeAcceptKey(key: string): string {
  // One-shot crypto.hash(): no Hash object per handshake, whose native digest
  // state would wait for a garbage collection to be freed. (The key is
  // base64, ASCII: its UTF-8 bytes are its Latin-1 bytes.)
  return hash('sha1', key + WEBSOCKET_GUID, 'base64');
}

/** The 64 characters of the base64 alphabet (RFC 4648 §4), as a lookup table. */
const BASE64 = new Uint8Array(128);
for (const c of 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/') BASE64[c.charCodeAt(0)] = 1;

/**
 * Is `key` a valid Sec-WebSocket-Key? RFC 6455 §4.1 item 7: "The value of this
 * header field MUST be a nonce consisting of a randomly selected 16-byte value
 * that has been base64-encoded (see Section 4 of [RFC4648])."
 *
 * 16 bytes encode to exactly 24 characters: 22 from the alphabet, then `==`.
 * The standard alphabet only (not base64url), padding required.
 *
 * Deliberately lenient on one point: the 4 unused low bits of the 22nd
 * character are not required to be zero (RFC 4648 §3.5 lets a decoder choose).
 * The server never decodes the key, only hashes its text, so a non-canonical
 * encoding harms nothing; `ws` makes the same choice.
 */
export function isValidClientKey(key: string): boolean {
  if (key.length !== 24 || key.charCodeAt(22) !== 0x3d /* = */ || key.charCodeAt(23) !== 0x3d) return false;
  for (let i = 0; i < 22; i++) {
    const c = key.charCodeAt(i);
    if (c >= 128 || BASE64[c] !== 1) return false;
  }
  return true;
}

/**
 * A fresh Sec-WebSocket-Key for a client's opening handshake. RFC 6455 §4.1
 * item 7: "The value of this header field MUST be a nonce consisting of a
 * randomly selected 16-byte value that has been base64-encoded ... The nonce
 * MUST be selected randomly for each connection." The bytes come from the
 * CSPRNG, so no peer can predict a key.
 *
 * `random` is injectable for tests only; it must return `size` fresh bytes.
 */
export function generateClientKey(random: (size: number) => Uint8Array = randomBytes): string {
  const nonce = random(16);
  if (nonce.length !== 16) throw new RangeError('a Sec-WebSocket-Key nonce is exactly 16 bytes');
  return Buffer.from(nonce.buffer, nonce.byteOffset, 16).toString('base64');
}
