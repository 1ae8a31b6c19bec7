/**
 * A Backplane (src/server/backplane.ts) on Redis pub/sub, for a server spread
 * over many machines: `createServer({ backplane: redisBackplane({ url }) })`.
 * The Redis client is the `redis` npm package (node-redis), an optional peer
 * dependency loaded only from here (the entry point `wsrfc/redis`): the core
 * never imports it.
 *
 * Two connections: a subscriber (a connection in subscribe mode can issue no
 * PUBLISH) and a publisher. A topic `t` is the Redis channel `prefix + t`
 * (prefix `wsrfc:` by default), subscribed with SUBSCRIBE, never PSUBSCRIBE,
 * so `*`, `?` or `[` in a topic name is matched literally. Each message on a
 * channel is binary (RESP bulk strings are binary-safe), framed as
 * src/server/carried-message.ts says:
 *
 *   byte 0        flags: bit 0 set = binary message, clear = text; other bits 0
 *   bytes 1..16   the origin: a random id of the publishing backplane, so a
 *                 process drops its own publishes (its server delivered them
 *                 locally already)
 *   bytes 17..    the payload (UTF-8 for text)
 *
 * Delivery is at most once, in order per publishing process (one publisher
 * connection, Redis keeps a connection's order). Under faults:
 * - Redis unreachable: publish() rejects at once with LocalError
 *   WS_ERR_REDIS_UNAVAILABLE (nothing is queued for later; the publisher's
 *   offline queue is disabled); the server still delivers to its local
 *   subscribers; the first error of each outage goes to onError (the
 *   server's 'error' event), never thrown.
 * - Redis back: node-redis reconnects (capped exponential backoff, see
 *   `maxReconnectDelay`) and re-subscribes the subscriber connection to the
 *   channels it holds listeners for, which are exactly the topics this
 *   process still has local subscribers of.
 * - Redis slow: at most `maxPendingPublishes` publishes wait for its
 *   acknowledgement; past that publish() rejects the same way.
 * Messages published elsewhere while this process was disconnected are lost
 * (Redis pub/sub keeps nothing). The origin check, the one report per outage,
 * the pending-publishes bound and the startTimeout wait are the ones every
 * broker backplane shares (src/server/broker-backplane.ts).
 */
import type { RedisClientType } from 'redis';
import { LocalError } from '../errors.js';
import { integer, milliseconds, millisecondsOrForever, resolveOptions, string, type OptionRules } from '../options/option-rules.js';
import type { Backplane, BackplaneDelivery } from '../server/backplane.js';
import type { Message } from '../connection/websocket-connection.js';
import { BrokerLink } from '../server/broker-backplane.js';
import { encodeCarriedMessage } from '../server/carried-message.js';

/** A node-redis client (`createClient()` from the `redis` package), in any of its typings. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type RedisClient = RedisClientType<any, any, any, any, any>;

/** Where the backplane finds Redis: a URL (it opens and closes both connections), or a client of yours. */
export type RedisBackplaneTarget =
  | { readonly url: string }
  /** Used to publish (and connected if it is not); its `duplicate()` subscribes. Your client is not closed by close(). */
  | { readonly client: RedisClient };

export interface RedisBackplaneOptions {
  /** Prepended to each topic to name its Redis channel. Default `wsrfc:`. */
  readonly prefix?: string;
  /** The longest wait between two reconnection attempts, in ms (with a URL). Default 2000. */
  readonly maxReconnectDelay?: number;
  /**
   * The most publishes sent to Redis and not yet acknowledged; past it
   * publish() rejects (WS_ERR_REDIS_UNAVAILABLE) instead of queueing, so a
   * slow Redis cannot grow memory without bound. Default 10000.
   */
  readonly maxPendingPublishes?: number;
  /**
   * How long start() (so the server's listen()) waits for Redis, in ms. Past
   * it the server starts without Redis: it serves, its publishes reach its
   * own subscribers only (remote rejects, WS_ERR_REDIS_UNAVAILABLE, reported
   * once on 'error'), and the clients keep reconnecting in the background; the
   * topics subscribed meanwhile are sent once Redis answers. A Redis outage
   * then never keeps a restarted server from serving. Infinity: wait for
   * Redis, however long. Default 5000.
   */
  readonly startTimeout?: number;
}

/** The rule of each option (src/options/option-rules.ts): checked by redisBackplane() before anything connects. */
export const REDIS_BACKPLANE_OPTION_RULES: OptionRules<RedisBackplaneOptions> = {
  prefix: string,
  maxReconnectDelay: milliseconds(0),
  maxPendingPublishes: integer(1, Number.MAX_SAFE_INTEGER, 'publishes'),
  startTimeout: millisecondsOrForever(0),
};
export const DEFAULT_REDIS_BACKPLANE_OPTIONS: Required<RedisBackplaneOptions> = {
  prefix: 'wsrfc:',
  maxReconnectDelay: 2000,
  maxPendingPublishes: 10_000,
  startTimeout: 5000,
};

const INSTALL_LINE = 'npm install redis';

async function loadRedis(): Promise<typeof import('redis')> {
  try {
    return await import('redis');
  } catch (cause) {
    throw new LocalError('WS_ERR_REDIS_CLIENT_MISSING', `wsrfc/redis needs the Redis client package, an optional peer dependency: ${INSTALL_LINE}`, { cause });
  }
}

/**
 * A Redis pub/sub backplane: `createServer({ backplane: redisBackplane({ url: 'redis://127.0.0.1:6379' }) })`.
 * Nothing connects until the server starts it (listen() waits for the connection).
 */
export function redisBackplane(target: RedisBackplaneTarget, options: RedisBackplaneOptions = {}): Backplane {
  return new RedisBackplane(target, options);
}

class RedisBackplane implements Backplane {
  /** The origin, the outage reports, the pending-publishes bound: shared with every broker backplane. */
  private readonly link: BrokerLink;
  private readonly prefix: string;
  private readonly maxReconnectDelay: number;
  private readonly startTimeout: number;
  private publisher: RedisClient | undefined;
  private subscriber: RedisClient | undefined;
  /** The topics the server holds: what the subscriber connection is (re)subscribed to. */
  private readonly topics = new Set<string>();

  constructor(private readonly target: RedisBackplaneTarget, options: RedisBackplaneOptions) {
    // Every option checked, an unknown name refused (a typo), before anything connects.
    const settings = resolveOptions(REDIS_BACKPLANE_OPTION_RULES, DEFAULT_REDIS_BACKPLANE_OPTIONS, options, '', true);
    this.prefix = settings.prefix;
    this.maxReconnectDelay = settings.maxReconnectDelay;
    this.link = new BrokerLink({ backplane: 'redisBackplane', broker: 'Redis', unavailableCode: 'WS_ERR_REDIS_UNAVAILABLE' }, settings.maxPendingPublishes);
    this.startTimeout = settings.startTimeout;
    const validTarget =
      typeof target === 'object' && target !== null && ('url' in target ? typeof target.url === 'string' : 'client' in target && typeof target.client?.duplicate === 'function');
    if (!validTarget) throw new LocalError('WS_ERR_INVALID_OPTION', 'redisBackplane() takes { url: string } or { client } (a node-redis client)');
  }

  async start(deliver: BackplaneDelivery, onError: (error: Error) => void): Promise<void> {
    this.link.started(deliver, onError);
    const reconnectStrategy = (retries: number): number => Math.min(50 * 2 ** Math.min(retries, 10), this.maxReconnectDelay) + Math.floor(Math.random() * 50);
    if ('url' in this.target) {
      const { createClient } = await loadRedis();
      // The publisher fails fast while Redis is away: no offline queue of publishes.
      this.publisher = createClient({ url: this.target.url, disableOfflineQueue: true, socket: { reconnectStrategy } }) as RedisClient;
      // The subscriber keeps its offline queue: a (un)subscribe while Redis is away is sent on reconnection (bounded by the topic count).
      this.subscriber = createClient({ url: this.target.url, socket: { reconnectStrategy } }) as RedisClient;
    } else {
      // Your client's options (address, TLS, credentials, reconnection) are kept; publish() checks isReady itself.
      this.publisher = this.target.client;
      this.subscriber = this.publisher.duplicate() as RedisClient;
    }
    for (const client of [this.publisher, this.subscriber]) {
      client.on('error', (error: Error) => this.link.reportOutage(error));
      // One report per outage: the outage is over once both connections are ready.
      client.on('ready', () => {
        if (this.publisher?.isReady === true && this.subscriber?.isReady === true) this.link.outageOver();
      });
    }
    const publisher = this.publisher;
    const connected = Promise.all([publisher.isOpen ? undefined : publisher.connect(), this.subscriber.connect()]);
    // Topics the server opened before start() (none in practice) are subscribed now, or queued until Redis answers.
    for (const topic of this.topics) this.subscribeChannel(topic);
    // node-redis retries a refused first connection by itself (reconnectStrategy): connect() stays
    // pending while Redis is down, and only rejects on what retrying cannot fix.
    await this.link.awaitFirstConnection(connected, this.startTimeout);
  }

  subscribe(topic: string): void {
    if (this.link.closed || this.topics.has(topic)) return;
    this.topics.add(topic);
    if (this.subscriber !== undefined) this.subscribeChannel(topic);
  }

  unsubscribe(topic: string): void {
    if (!this.topics.delete(topic) || this.subscriber === undefined || this.link.closed) return;
    this.subscriber.unsubscribe(this.prefix + topic).catch((error: unknown) => this.link.reportBackground(error));
  }

  publish(topic: string, message: Message): Promise<void> {
    const publisher = this.publisher;
    const up = publisher !== undefined && publisher.isReady;
    const refusal = this.link.refusal(topic, up);
    if (refusal !== undefined || !up) return Promise.reject(refusal);
    this.link.publishHandedOver();
    return publisher.publish(this.prefix + topic, encodeCarriedMessage(this.link.origin, message)).then(
      () => {
        this.link.publishSettled();
      },
      (cause: unknown) => {
        this.link.publishSettled();
        throw this.link.unavailable(`the publish on "${topic}" did not reach Redis; it reached this process's subscribers only`, cause);
      },
    );
  }

  async close(): Promise<void> {
    if (this.link.closed) return;
    this.link.closed = true;
    this.topics.clear();
    const subscriber = this.subscriber;
    // The subscriber is always ours (a duplicate); the publisher only when we made it from a URL.
    if (subscriber !== undefined && subscriber.isOpen) subscriber.destroy();
    if ('url' in this.target && this.publisher?.isOpen === true) {
      if (this.publisher.isReady) await this.publisher.close().catch(() => this.publisher?.destroy());
      else this.publisher.destroy();
    }
  }

  private subscribeChannel(topic: string): void {
    const channel = this.prefix + topic;
    this.subscriber!.subscribe(channel, (frame: Buffer) => this.receive(topic, frame), true).catch((error: unknown) => this.link.reportBackground(error));
  }

  private receive(topic: string, frame: Buffer): void {
    if (this.link.closed || !this.topics.has(topic)) return;
    this.link.receive(topic, frame, `channel "${this.prefix + topic}"`);
  }
}
