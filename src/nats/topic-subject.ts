/**
 * A topic name as one literal NATS subject token.
 *
 * NATS gives meaning to characters a topic name may contain: `.` separates
 * the tokens of a subject, a `*` token matches any one token, a `>` token
 * matches the rest, and whitespace ends the subject on the wire (the
 * protocol line is `SUB <subject> [queue group] <sid>`, so a subscription to
 * `a b` is a subscription to `a` in the queue group `b`). A topic copied into
 * a subject as it is would subscribe to a pattern (`*` would receive every
 * topic), split one topic into levels (`a.b`), or join a queue group.
 *
 * So each topic becomes exactly one token that can be nothing but literal:
 * its UTF-8 bytes, each byte outside `[A-Za-z0-9_-]` written `%XX` (two
 * upper-case hex digits), `%` included. The mapping is one-to-one (a `%`
 * in the result always starts an escape), common names stay readable in
 * the server's monitoring (`room-1` is `room-1`, `a.b` is `a%2Eb`), and a
 * topic of 256 bytes (MAX_TOPIC_BYTES) is a token of at most 768 characters,
 * well inside NATS's 4 KiB protocol line.
 */

/** For each byte, whether it stands for itself in a subject token: A-Z, a-z, 0-9, `_`, `-`. */
const LITERAL_BYTE: readonly boolean[] = Array.from({ length: 256 }, (_, byte) => {
  const char = String.fromCharCode(byte);
  return (char >= 'A' && char <= 'Z') || (char >= 'a' && char <= 'z') || (char >= '0' && char <= '9') || char === '_' || char === '-';
});
const HEX = '0123456789ABCDEF';

/** The one literal subject token naming `topic` (see the module header). */
export function topicToken(topic: string): string {
  // Most topic names are plain words: no bytes to look at, no escape.
  let plain = true;
  for (let i = 0; i < topic.length && plain; i++) {
    const code = topic.charCodeAt(i);
    plain = code < 128 && LITERAL_BYTE[code]!;
  }
  if (plain) return topic;
  let token = '';
  for (const byte of Buffer.from(topic, 'utf8')) {
    token += LITERAL_BYTE[byte] ? String.fromCharCode(byte) : `%${HEX[byte >> 4]}${HEX[byte & 0x0f]}`;
  }
  return token;
}

/**
 * Whether `prefix` keeps every subject literal: no whitespace, no `*` or
 * `>`, no empty token (a leading `.` or `..`). It may end with `.` (its own
 * level, as the default `wsrfc.`) or not (`ws` + `room` is the token `wsroom`).
 */
export function isLiteralSubjectPrefix(prefix: string): boolean {
  if (prefix.startsWith('.') || prefix.includes('..')) return false;
  for (const char of prefix) {
    if (char === '*' || char === '>' || char.trim() === '') return false;
  }
  return true;
}
