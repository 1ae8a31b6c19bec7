/**
 * The local topic registry (src/server/topics.ts) on its own: membership,
 * the backplane's events (first local subscriber, last one gone), a publish
 * that costs nothing for a topic without subscribers, the name rule, and the
 * read-only view handed out as `ws.topics`.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { checkTopicName, LocalTopicRegistry, MAX_TOPIC_BYTES, ReadonlySetView, type TopicDelivery } from '../../src/server/topics.js';

function registry() {
  const events: string[] = [];
  const deliveries: Array<{ receivers: string[]; message: unknown; except: string | undefined }> = [];
  const deliver: TopicDelivery<string> = (receivers, message, except) => {
    deliveries.push({ receivers: [...receivers], message, except });
    return { sent: [...receivers].filter((r) => r !== except).length, skipped: 0, closed: 0 };
  };
  const topics = new LocalTopicRegistry(deliver, { topicOpened: (t) => events.push(`+${t}`), topicClosed: (t) => events.push(`-${t}`) });
  return { topics, events, deliveries };
}

describe('LocalTopicRegistry', () => {
  it('subscribe/unsubscribe say whether anything changed; a topic opens with its first subscriber and closes with its last', () => {
    const { topics, events } = registry();
    assert.equal(topics.subscribe('t', 'a'), true);
    assert.equal(topics.subscribe('t', 'a'), false);
    assert.equal(topics.subscribe('t', 'b'), true);
    assert.deepEqual(events, ['+t']);
    assert.deepEqual([...topics.subscribers('t')], ['a', 'b']);
    assert.equal(topics.unsubscribe('t', 'a'), true);
    assert.equal(topics.unsubscribe('t', 'a'), false);
    assert.equal(topics.unsubscribe('other', 'a'), false);
    assert.deepEqual(events, ['+t']);
    assert.equal(topics.unsubscribe('t', 'b'), true);
    assert.deepEqual(events, ['+t', '-t']);
    assert.deepEqual([...topics.topics()], []);
    assert.equal(topics.subscribers('t').size, 0);
    topics.subscribe('t', 'c');
    assert.deepEqual(events, ['+t', '-t', '+t'], 'opened again');
  });

  it('publish hands the subscribers (and except) to the delivery; a topic without subscribers costs no delivery', () => {
    const { topics, deliveries } = registry();
    topics.subscribe('t', 'a');
    topics.subscribe('t', 'b');
    topics.subscribe('u', 'c');
    assert.deepEqual(topics.publish('t', 'hello', 'a'), { sent: 1, skipped: 0, closed: 0 });
    assert.deepEqual(topics.publish('none', 'lost'), { sent: 0, skipped: 0, closed: 0 });
    assert.deepEqual(deliveries, [{ receivers: ['a', 'b'], message: 'hello', except: 'a' }]);
  });
});

describe('topic names and the read-only view', () => {
  it(`names are well-formed strings of 1 to ${MAX_TOPIC_BYTES} UTF-8 bytes: at the limit passes, one byte over fails, a lone surrogate fails`, () => {
    checkTopicName('x');
    checkTopicName('x'.repeat(MAX_TOPIC_BYTES));
    checkTopicName('€'.repeat(MAX_TOPIC_BYTES / 4) + 'x'.repeat(MAX_TOPIC_BYTES / 4)); // 3 × 64 + 64 bytes
    checkTopicName('😀'.repeat(MAX_TOPIC_BYTES / 4)); // 4 bytes each, 2 UTF-16 units
    checkTopicName('\uFFFD'); // the replacement character itself is a character
    for (const bad of ['', 'x'.repeat(MAX_TOPIC_BYTES + 1), '😀'.repeat(MAX_TOPIC_BYTES / 4) + 'x', '\uD800', 'a\uDC00b', '😀'.slice(0, 1), undefined, 1, null, ['a']]) {
      assert.throws(() => checkTopicName(bad), { name: 'LocalError', code: 'WS_ERR_INVALID_TOPIC' }, String(bad).slice(0, 20));
    }
  });

  it('the view follows the set and has no way to change it', () => {
    const set = new Set(['a']);
    const view = new ReadonlySetView(set);
    set.add('b');
    assert.equal(view.size, 2);
    assert.ok(view.has('b'));
    assert.deepEqual([...view], ['a', 'b']);
    assert.deepEqual([...view.entries()], [['a', 'a'], ['b', 'b']]);
    const seen: string[] = [];
    view.forEach((value) => seen.push(value));
    assert.deepEqual(seen, ['a', 'b']);
    assert.equal('add' in view || 'delete' in view || 'clear' in view, false);
  });
});
