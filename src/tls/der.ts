/**
 * Just enough DER (ITU-T X.690) to write an X.509 certificate by hand: each
 * value is a tag, a length and its contents. Only what
 * self-signed-cert.ts needs, and only writing: nothing here parses.
 */

/** One DER value: `tag`, the length of the contents in its definite form (§8.1.3), the contents. */
export function der(tag: number, ...contents: Buffer[]): Buffer {
  const body = Buffer.concat(contents);
  const n = body.length;
  let length: Buffer;
  if (n < 0x80) length = Buffer.from([n]); // short form
  else if (n < 0x100) length = Buffer.from([0x81, n]); // long form, one length byte
  else if (n < 0x10000) length = Buffer.from([0x82, n >> 8, n & 0xff]);
  else throw new RangeError(`DER value of ${n} bytes: longer than a certificate needs`);
  return Buffer.concat([Buffer.from([tag]), length, body]);
}

export const sequence = (...items: Buffer[]): Buffer => der(0x30, ...items);
export const set = (...items: Buffer[]): Buffer => der(0x31, ...items);
export const utf8String = (s: string): Buffer => der(0x0c, Buffer.from(s, 'utf8'));
export const octetString = (b: Buffer): Buffer => der(0x04, b);
/** A BIT STRING of whole bytes: the first content byte says 0 unused bits. */
export const bitString = (b: Buffer): Buffer => der(0x03, Buffer.from([0]), b);
/** BOOLEAN: DER writes TRUE as 0xff (X.690 §11.1). */
export const boolean = (v: boolean): Buffer => der(0x01, Buffer.from([v ? 0xff : 0]));
/** Context-specific constructed tag [n], EXPLICIT: the inner value whole inside it. */
export const explicit = (n: number, inner: Buffer): Buffer => der(0xa0 | n, inner);

/**
 * A non-negative INTEGER in its one minimal encoding (X.690 §8.3.2: the first
 * nine bits are never all 0 or all 1). Leading zero bytes go, then a 0x00 goes
 * back in front if the top bit is set (two's complement). A random serial
 * starting with 0x00 0x12 is otherwise "illegal padding" to OpenSSL: one
 * certificate in 256 failed to parse before this.
 */
export function integer(bytes: Buffer): Buffer {
  let start = 0;
  while (start < bytes.length - 1 && bytes[start] === 0) start++;
  const minimal = bytes.subarray(start);
  return der(0x02, minimal[0] & 0x80 ? Buffer.concat([Buffer.from([0]), minimal]) : minimal);
}

/** An OBJECT IDENTIFIER from its dotted form: the first two arcs in one byte, the rest base 128 (X.690 §8.19). */
export function oid(dotted: string): Buffer {
  const parts = dotted.split('.').map(Number);
  const out = [parts[0] * 40 + parts[1]];
  for (const part of parts.slice(2)) {
    const base128 = [part & 0x7f];
    for (let v = part >>> 7; v > 0; v >>>= 7) base128.unshift((v & 0x7f) | 0x80);
    out.push(...base128);
  }
  return der(0x06, Buffer.from(out));
}

/** UTCTime YYMMDDHHMMSSZ (RFC 5280 §4.1.2.5.1: years up to 2049). */
export function utcTime(date: Date): Buffer {
  const iso = date.toISOString(); // 2025-01-02T03:04:05.678Z
  const s = iso.slice(2, 4) + iso.slice(5, 7) + iso.slice(8, 10) + iso.slice(11, 13) + iso.slice(14, 16) + iso.slice(17, 19) + 'Z';
  return der(0x17, Buffer.from(s, 'latin1'));
}
