/**
 * A topic name as one literal NATS subject token (src/nats/topic-subject.ts):
 * never a wildcard (`*`, `>`), never a second level (`.`), never split by
 * whitespace (a queue group on the SUB line); one-to-one (two topics never
 * share a subject); plain names unchanged.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { isLiteralSubjectPrefix, topicToken } from '../../src/nats/topic-subject.js';

/** The inverse of topicToken, for the test: `%XX` back to its byte. */
function tokenTopic(token: string): string {
  const bytes: number[] = [];
  for (let i = 0; i < token.length; i++) {
    if (token[i] === '%') {
      bytes.push(Number.parseInt(token.slice(i + 1, i + 3), 16));
      i += 2;
    } else bytes.push(token.charCodeAt(i));
  }
  return Buffer.from(bytes).toString('utf8');
}

describe('topicToken', () => {
  it('keeps plain names, escapes what NATS gives a meaning to', () => {
    assert.equal(topicToken('room-1_A'), 'room-1_A');
    assert.equal(topicToken('a.b'), 'a%2Eb');
    assert.equal(topicToken('*'), '%2A');
    assert.equal(topicToken('>'), '%3E');
    assert.equal(topicToken('a b'), 'a%20b');
    assert.equal(topicToken('tab\there\r\n'), 'tab%09here%0D%0A');
    assert.equal(topicToken('%2E'), '%252E', 'a % is escaped too, so an escape in the name is not read as one');
    assert.equal(topicToken('é'), '%C3%A9', 'UTF-8 bytes');
    assert.equal(topicToken('x'.repeat(256)), 'x'.repeat(256));
    assert.equal(topicToken('.'.repeat(256)).length, 768, 'at most three characters per byte');
  });

  it('is one literal token for any name, and one-to-one', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme', minLength: 1, maxLength: 80 }), (topic) => {
        const token = topicToken(topic);
        assert.match(token, /^[A-Za-z0-9_%-]+$/);
        assert.equal(tokenTopic(token), topic);
      }),
      { numRuns: 500 },
    );
  });
});

describe('isLiteralSubjectPrefix', () => {
  it('accepts literal tokens, with or without a final dot; refuses wildcards, whitespace and empty tokens', () => {
    for (const prefix of ['', 'wsrfc.', 'app.ws.', 'ws', 'a-b_c.']) assert.equal(isLiteralSubjectPrefix(prefix), true, prefix);
    for (const prefix of ['*.', 'a.>', 'a*b.', 'a b.', 'a\tb.', '.a.', 'a..b.']) assert.equal(isLiteralSubjectPrefix(prefix), false, prefix);
  });
});
