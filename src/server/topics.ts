/**
 * Topics: named groups of connections a message can be published to, as
 * uWebSockets.js's `subscribe`/`publish`. A connection joins with
 * `ws.subscribe(topic)` and leaves with `ws.unsubscribe(topic)` or by
 * closing; `server.publish(topic, message)` encodes the message once and
 * queues it on each subscriber, with the broadcast slow-receiver policy
 * (src/server/broadcast.ts). The cost of a publish is in the topic's
 * subscribers, never in the server's connections: the registry keeps a
 * `Map<topic, Set<connection>>`.
 *
 * The registry sits behind an interface, `TopicRegistry`, so that it can be
 * put on a broker shared by many processes (cluster IPC, Redis pub/sub). The
 * local registry, the default, tells a `TopicListener` when a topic gains its
 * first local subscriber and loses its last one (what a backplane subscribes
 * to and unsubscribes from upstream), and its `publish` is also how a
 * backplane delivers a message published elsewhere to the local subscribers.
 * A backplane registry wraps a local one:
 *
 *   subscribe/unsubscribe → local, and upstream on the topic's first/last
 *   publish               → local delivery, and upstream for the other processes
 *   a message from upstream → local.publish(topic, message)
 *
 * Topic names are strings of 1 to 256 UTF-8 bytes (MAX_TOPIC_BYTES), so a
 * name always fits a broker's channel name; anything else is a LocalError
 * WS_ERR_INVALID_TOPIC. A connection may be in at most
 * `maxTopicsPerConnection` topics (WS_ERR_TOO_MANY_TOPICS beyond).
 */
import { LocalError } from '../errors.js';
import type { SendData } from '../connection/websocket-connection.js';
import type { BroadcastResult } from './broadcast.js';

/** The longest topic name, in UTF-8 bytes. */
export const MAX_TOPIC_BYTES = 256;

/**
 * Where a server keeps who is subscribed to what. `Member` is the server's
 * connection type; the server calls `subscribe`/`unsubscribe` for
 * `ws.subscribe()`, `ws.unsubscribe()` and a connection's close, and
 * `publish` for `server.publish()`. Names reach it already validated.
 */
export interface TopicRegistry<Member> {
  /** Add `member` to `topic`; false if it was already there. */
  subscribe(topic: string, member: Member): boolean;
  /** Remove `member` from `topic`; false if it was not there. */
  unsubscribe(topic: string, member: Member): boolean;
  /** The local subscribers of `topic` (empty if none). Do not modify. */
  subscribers(topic: string): ReadonlySet<Member>;
  /** The topics with at least one local subscriber. */
  topics(): IterableIterator<string>;
  /**
   * Deliver `message` to the subscribers of `topic` (all but `except`),
   * encoded once, with the slow-receiver policy. A backplane also forwards
   * it to the other processes here.
   */
  publish(topic: string, message: SendData, except?: Member): BroadcastResult;
}

/** Told when a topic comes to exist locally and when it ends: what a backplane mirrors upstream. */
export interface TopicListener {
  /** `topic` gained its first local subscriber. */
  topicOpened?(topic: string): void;
  /** `topic` lost its last local subscriber. */
  topicClosed?(topic: string): void;
}

/** Queues `message`, encoded once, on each of `receivers` but `except`, with the slow-receiver policy (the server's broadcast). */
export type TopicDelivery<Member> = (receivers: Iterable<Member>, message: SendData, except: Member | undefined) => BroadcastResult;

const NOBODY: ReadonlySet<never> = new Set<never>();

/** The default registry: the subscribers of this process, in memory. */
export class LocalTopicRegistry<Member> implements TopicRegistry<Member> {
  readonly #members = new Map<string, Set<Member>>();
  readonly #deliver: TopicDelivery<Member>;
  readonly #listener: TopicListener;

  constructor(deliver: TopicDelivery<Member>, listener: TopicListener = {}) {
    this.#deliver = deliver;
    this.#listener = listener;
  }

  subscribe(topic: string, member: Member): boolean {
    let members = this.#members.get(topic);
    if (members === undefined) {
      members = new Set();
      this.#members.set(topic, members);
      members.add(member);
      this.#listener.topicOpened?.(topic);
      return true;
    }
    if (members.has(member)) return false;
    members.add(member);
    return true;
  }

  unsubscribe(topic: string, member: Member): boolean {
    const members = this.#members.get(topic);
    if (members === undefined || !members.delete(member)) return false;
    if (members.size === 0) {
      this.#members.delete(topic);
      this.#listener.topicClosed?.(topic);
    }
    return true;
  }

  subscribers(topic: string): ReadonlySet<Member> {
    return this.#members.get(topic) ?? NOBODY;
  }

  topics(): IterableIterator<string> {
    return this.#members.keys();
  }

  publish(topic: string, message: SendData, except?: Member): BroadcastResult {
    const members = this.#members.get(topic);
    if (members === undefined) return { sent: 0, skipped: 0, closed: 0 };
    return this.#deliver(members, message, except);
  }
}

/**
 * Throw LocalError WS_ERR_INVALID_TOPIC unless `topic` is a well-formed
 * string of 1 to MAX_TOPIC_BYTES UTF-8 bytes. Well-formed: a lone surrogate
 * has no UTF-8 form (encoding writes U+FFFD for it), so `'\uD800'` and
 * `'\uFFFD'` would name one Redis channel or NATS subject while being two
 * topics here; such a name is refused rather than confused.
 */
export function checkTopicName(topic: unknown): asserts topic is string {
  if (typeof topic !== 'string' || topic.length === 0) {
    throw new LocalError('WS_ERR_INVALID_TOPIC', `a topic is a non-empty string, not ${typeof topic === 'string' ? "''" : typeof topic}`);
  }
  if (hasLoneSurrogate(topic)) {
    throw new LocalError('WS_ERR_INVALID_TOPIC', 'a topic name must be well-formed Unicode: a lone surrogate has no UTF-8 form (it would share its bytes with U+FFFD)');
  }
  // A UTF-16 code unit is at most 3 UTF-8 bytes: only long names need counting.
  if (topic.length * 3 > MAX_TOPIC_BYTES && Buffer.byteLength(topic, 'utf8') > MAX_TOPIC_BYTES) {
    throw new LocalError('WS_ERR_INVALID_TOPIC', `a topic name is at most ${MAX_TOPIC_BYTES} UTF-8 bytes, this one has ${Buffer.byteLength(topic, 'utf8')}`);
  }
}

/** A high surrogate not followed by a low one, or a low one alone (what String.prototype.isWellFormed, ES2024, checks). */
function hasLoneSurrogate(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const unit = text.charCodeAt(i);
    if (unit < 0xd800 || unit > 0xdfff) continue;
    const next = text.charCodeAt(i + 1); // NaN past the end
    if (unit > 0xdbff || !(next >= 0xdc00 && next <= 0xdfff)) return true;
    i++; // a pair: one character
  }
  return false;
}

/** A read-only view of a set: what `ws.topics` hands out, so the registry cannot be bypassed. */
export class ReadonlySetView<T> implements ReadonlySet<T> {
  readonly #set: ReadonlySet<T>;

  constructor(set: ReadonlySet<T>) {
    this.#set = set;
  }

  get size(): number {
    return this.#set.size;
  }

  has(value: T): boolean {
    return this.#set.has(value);
  }

  forEach(callback: (value: T, key: T, set: ReadonlySet<T>) => void, thisArg?: unknown): void {
    for (const value of this.#set) callback.call(thisArg, value, value, this);
  }

  entries(): IterableIterator<[T, T]> {
    return this.#set.entries();
  }

  keys(): IterableIterator<T> {
    return this.#set.keys();
  }

  values(): IterableIterator<T> {
    return this.#set.values();
  }

  [Symbol.iterator](): IterableIterator<T> {
    return this.#set.values();
  }
}
