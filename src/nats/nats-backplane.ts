/**
 * A Backplane (src/server/backplane.ts) on NATS core publish/subscribe, for a
 * server spread over many machines:
 * `createServer({ backplane: natsBackplane({ servers: 'nats://127.0.0.1:4222' }) })`.
 * The client is the `nats` npm package (nats.js), an optional peer dependency
 * loaded only from here (the entry point `wsrfc/nats`): the core never
 * imports it. It shows the Backplane interface at work: nothing in the server
 * knows about NATS.
 *
 * One connection does everything (NATS has no subscribe mode that forbids
 * publishing). A topic `t` is the subject `prefix + topicToken(t)` (prefix
 * `wsrfc.` by default): the topic's bytes escaped into one literal token
 * (src/nats/topic-subject.ts), because `.`, `*`, `>` and whitespace mean
 * something in a NATS subject and a topic must never become a wildcard, a
 * level or a queue group. Each message is framed as
 * src/server/carried-message.ts says (flags, 16-byte origin, payload); the
 * connection we open also sets `noEcho`, so the server does not send our own
 * publishes back at all, and the origin still drops them on a connection you
 * gave (which NATS echoes to by default).
 *
 * A publish resolves once NATS has taken it: the publishes of one turn of the
 * event loop share one flush (a PING answered by a PONG after the server
 * processed them). Delivery is at most once, in order per publishing process
 * (one connection, NATS keeps a connection's order). Under faults:
 * - NATS unreachable: publish() rejects at once with LocalError
 *   WS_ERR_NATS_UNAVAILABLE. nats.js would otherwise write publishes into
 *   its outbound buffer while it reconnects (without a bound in v2, and
 *   dropped at its next dial attempt), so nothing is handed to it while the
 *   connection is down (its status events say so); a publish caught in the
 *   moment between the socket closing and that event rejects at nats.js's
 *   next dial attempt (its flush is refused). The server still delivers to
 *   its local subscribers; the first error of each outage goes to onError
 *   (the server's 'error' event), never thrown.
 * - NATS back: nats.js reconnects (every `reconnectDelay`, forever) and
 *   re-sends a SUB for each subscription it holds, which are exactly the
 *   topics this process still has local subscribers of (an unsubscribe while
 *   away removed its subscription; its UNSUB is simply never needed).
 * - NATS slow: at most `maxPendingPublishes` publishes wait for their flush;
 *   past that publish() rejects the same way.
 * - A message whose framing exceeds the server's `max_payload` (1 MiB by
 *   default): publish() rejects with WS_ERR_NATS_MESSAGE_TOO_BIG (local
 *   subscribers got it); keep maxMessageSize below max_payload - 17.
 * - NATS down when the server starts: see `startTimeout`.
 * Messages published elsewhere while this process was disconnected are lost
 * (NATS core keeps nothing; JetStream is not used). The origin check, the
 * one report per outage, the pending-publishes bound and the startTimeout
 * wait are the ones every broker backplane shares
 * (src/server/broker-backplane.ts).
 */
import type { ConnectionOptions, NatsConnection as NatsJsConnection, Status, Subscription } from 'nats';
import { LocalError } from '../errors.js';
import { integer, milliseconds, millisecondsOrForever, resolveOptions, string, type OptionRules } from '../options/option-rules.js';
import type { Backplane, BackplaneDelivery } from '../server/backplane.js';
import type { Message } from '../connection/websocket-connection.js';
import { BrokerLink } from '../server/broker-backplane.js';
import { CARRIED_HEADER_LENGTH, encodeCarriedMessage } from '../server/carried-message.js';
import { isLiteralSubjectPrefix, topicToken } from './topic-subject.js';

/** A connection of the nats.js client (`connect()` from the `nats` package). */
export type NatsConnection = NatsJsConnection;

/** Where the backplane finds NATS: server URLs (it opens and closes the connection), or a connection of yours. */
export type NatsBackplaneTarget =
  | { readonly servers: string | readonly string[] }
  /**
   * A nats.js connection (`connect()` from the `nats` package): used as it is, its options kept
   * (reconnection included), never closed by close(). It is taken to be connected when the
   * server starts; from then on its status events say whether it is.
   */
  | { readonly connection: NatsConnection };

export interface NatsBackplaneOptions {
  /** Prepended to each topic's token to make its subject: literal (no `*`, `>`, whitespace or empty token). Default `wsrfc.`. */
  readonly prefix?: string;
  /** The wait between two connection attempts to a server, in ms (with `servers`; nats.js's reconnectTimeWait). Default 2000. */
  readonly reconnectDelay?: number;
  /**
   * The most publishes handed to NATS and not yet acknowledged (flushed);
   * past it publish() rejects (WS_ERR_NATS_UNAVAILABLE) instead of queueing,
   * so a slow NATS cannot grow memory without bound. Default 10000.
   */
  readonly maxPendingPublishes?: number;
  /**
   * How long start() (so the server's listen()) waits for NATS, in ms (with
   * `servers`). Past it the server starts without NATS: it serves, its
   * publishes reach its own subscribers only (remote rejects,
   * WS_ERR_NATS_UNAVAILABLE, reported once on 'error'), and the backplane
   * keeps trying every `reconnectDelay`; the topics subscribed meanwhile are
   * subscribed once NATS answers. Infinity: wait for NATS, however long.
   * Default 5000.
   */
  readonly startTimeout?: number;
}

/** The rule of each option (src/options/option-rules.ts): checked by natsBackplane() before anything connects. */
export const NATS_BACKPLANE_OPTION_RULES: OptionRules<NatsBackplaneOptions> = {
  prefix: string,
  reconnectDelay: milliseconds(0),
  maxPendingPublishes: integer(1, Number.MAX_SAFE_INTEGER, 'publishes'),
  startTimeout: millisecondsOrForever(0),
};
export const DEFAULT_NATS_BACKPLANE_OPTIONS: Required<NatsBackplaneOptions> = {
  prefix: 'wsrfc.',
  reconnectDelay: 2000,
  maxPendingPublishes: 10_000,
  startTimeout: 5000,
};

const INSTALL_LINE = 'npm install nats';
/** How long close() waits for NATS to acknowledge the last publishes of a connection it opened. */
const CLOSE_FLUSH_TIMEOUT_MS = 2000;

async function loadNats(): Promise<typeof import('nats')> {
  try {
    return await import('nats');
  } catch (cause) {
    throw new LocalError('WS_ERR_NATS_CLIENT_MISSING', `wsrfc/nats needs the NATS client package, an optional peer dependency: ${INSTALL_LINE}`, { cause });
  }
}

/**
 * A NATS backplane: `createServer({ backplane: natsBackplane({ servers: 'nats://127.0.0.1:4222' }) })`.
 * Nothing connects until the server starts it (listen() waits for the connection, up to startTimeout).
 */
export function natsBackplane(target: NatsBackplaneTarget, options: NatsBackplaneOptions = {}): Backplane {
  return new NatsBackplane(target, options);
}

/** The publishes of one turn of the event loop, acknowledged together by one flush. */
interface PublishBatch {
  readonly settles: Array<(error: Error | undefined) => void>;
}

class NatsBackplane implements Backplane {
  /** The origin, the outage reports, the pending-publishes bound: shared with every broker backplane. */
  private readonly link: BrokerLink;
  private readonly prefix: string;
  private readonly reconnectDelay: number;
  private readonly startTimeout: number;
  private connection: NatsConnection | undefined;
  /** Whether the connection is up, as its status events last said: publish() hands nothing to nats.js otherwise. */
  private connected = false;
  /** The topics the server holds, each with its subscription once there is a connection. */
  private readonly subscriptions = new Map<string, Subscription | undefined>();
  /** The batch that the next flush will acknowledge, if any publish is waiting for one. */
  private openBatch: PublishBatch | undefined;
  /** Batches whose flush is under way: settled by it, or refused by close(). */
  private readonly flushingBatches = new Set<PublishBatch>();
  private statusEvents: AsyncIterable<Status> | undefined;
  /** Wakes the first-connection loop from its wait between attempts (close()). */
  private wakeRetry: (() => void) | undefined;

  constructor(private readonly target: NatsBackplaneTarget, options: NatsBackplaneOptions) {
    // Every option checked, an unknown name refused (a typo), before anything connects.
    const settings = resolveOptions(NATS_BACKPLANE_OPTION_RULES, DEFAULT_NATS_BACKPLANE_OPTIONS, options, '', true);
    if (!isLiteralSubjectPrefix(settings.prefix)) {
      throw new LocalError('WS_ERR_INVALID_OPTION', `prefix must keep NATS subjects literal (no whitespace, '*', '>' or empty token), got ${JSON.stringify(settings.prefix)}`);
    }
    this.prefix = settings.prefix;
    this.reconnectDelay = settings.reconnectDelay;
    this.link = new BrokerLink({ backplane: 'natsBackplane', broker: 'NATS', unavailableCode: 'WS_ERR_NATS_UNAVAILABLE' }, settings.maxPendingPublishes);
    this.startTimeout = settings.startTimeout;
    const isServers = (value: unknown): boolean =>
      (typeof value === 'string' && value !== '') || (Array.isArray(value) && value.length > 0 && value.every((item) => typeof item === 'string' && item !== ''));
    const validTarget =
      typeof target === 'object' &&
      target !== null &&
      ('servers' in target ? isServers(target.servers) : 'connection' in target && typeof target.connection?.subscribe === 'function' && typeof target.connection.publish === 'function');
    if (!validTarget) throw new LocalError('WS_ERR_INVALID_OPTION', 'natsBackplane() takes { servers: string | string[] } or { connection } (a nats.js connection)');
  }

  async start(deliver: BackplaneDelivery, onError: (error: Error) => void): Promise<void> {
    this.link.started(deliver, onError);
    if ('connection' in this.target) {
      this.attach(this.target.connection);
      return;
    }
    const nats = await loadNats();
    await this.link.awaitFirstConnection(this.connectUntilUp(nats, this.target.servers), this.startTimeout);
  }

  subscribe(topic: string): void {
    if (this.link.closed || this.subscriptions.has(topic)) return;
    this.subscriptions.set(topic, this.connection === undefined ? undefined : this.subscribeSubject(this.connection, topic));
  }

  unsubscribe(topic: string): void {
    if (!this.subscriptions.has(topic)) return;
    const subscription = this.subscriptions.get(topic);
    this.subscriptions.delete(topic);
    // While NATS is away this only drops nats.js's record: the SUB is then never re-sent.
    if (subscription !== undefined && !this.connection!.isClosed()) subscription.unsubscribe();
  }

  publish(topic: string, message: Message): Promise<void> {
    const connection = this.connection;
    const up = connection !== undefined && this.connected && !connection.isClosed();
    const refusal = this.link.refusal(topic, up);
    if (refusal !== undefined || !up) return Promise.reject(refusal);
    const frame = encodeCarriedMessage(this.link.origin, message);
    try {
      connection.publish(this.prefix + topicToken(topic), frame);
    } catch (cause) {
      if ((cause as { code?: string }).code === 'MAX_PAYLOAD_EXCEEDED') {
        const limit = connection.info?.max_payload;
        return Promise.reject(new LocalError('WS_ERR_NATS_MESSAGE_TOO_BIG', `natsBackplane: the message on "${topic}" (${frame.length - CARRIED_HEADER_LENGTH} bytes + ${CARRIED_HEADER_LENGTH} of framing) is over the NATS server's max_payload (${limit ?? '?'} bytes); it reached this process's subscribers only`, { cause }));
      }
      return Promise.reject(this.link.unavailable(`the publish on "${topic}" did not reach NATS; it reached this process's subscribers only`, cause));
    }
    this.link.publishHandedOver();
    return new Promise<void>((resolve, reject) => {
      this.batchForFlush(connection).settles.push((error) => {
        this.link.publishSettled();
        if (error === undefined) resolve();
        else reject(this.link.unavailable(`NATS did not acknowledge the publish on "${topic}"; it reached this process's subscribers only`, error));
      });
    });
  }

  async close(): Promise<void> {
    if (this.link.closed) return;
    this.link.closed = true;
    this.wakeRetry?.();
    (this.statusEvents as Partial<{ stop(): void }> | undefined)?.stop?.();
    const connection = this.connection;
    if (connection !== undefined && !connection.isClosed()) {
      for (const subscription of this.subscriptions.values()) subscription?.unsubscribe();
      if (this.connected && this.flushingBatches.size + (this.openBatch === undefined ? 0 : 1) > 0) {
        // The last publishes get their acknowledgement, if NATS answers soon.
        await Promise.race([connection.flush().catch(() => {}), new Promise((resolve) => setTimeout(resolve, CLOSE_FLUSH_TIMEOUT_MS).unref())]);
      }
    }
    this.subscriptions.clear();
    // Whatever is still unacknowledged is refused: no promise of publish() stays pending.
    this.refuseUnacknowledged(new Error('the backplane closed before NATS acknowledged the publish'));
    if ('servers' in this.target && connection !== undefined && !connection.isClosed()) await connection.close();
  }

  /** Connect to `servers`, trying again every reconnectDelay while none answers; resolves once connected (or closed). */
  private async connectUntilUp(nats: typeof import('nats'), servers: string | readonly string[]): Promise<void> {
    const options: ConnectionOptions = {
      servers: typeof servers === 'string' ? servers : [...servers],
      name: 'wsrfc backplane',
      // Once connected: reconnect forever, every reconnectDelay.
      maxReconnectAttempts: -1,
      reconnectTimeWait: this.reconnectDelay,
      // Our own publishes are not sent back to us (the origin check stays, for a connection you give).
      noEcho: true,
    };
    while (!this.link.closed) {
      try {
        const connection = await nats.connect(options);
        if (this.link.closed) {
          await connection.close();
          return;
        }
        this.attach(connection);
        return;
      } catch (error) {
        // Refused, timed out, or refused our credentials: reported (once), tried again.
        this.link.reportOutage(error instanceof Error ? error : new Error(String(error)));
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, Math.max(this.reconnectDelay, 10));
          this.wakeRetry = () => {
            clearTimeout(timer);
            resolve();
          };
        });
        this.wakeRetry = undefined;
      }
    }
  }

  /** Start using `connection`: subscribe the held topics, follow its status. */
  private attach(connection: NatsConnection): void {
    if (this.link.closed) return;
    this.connection = connection;
    this.connected = !connection.isClosed();
    if (this.connected) this.link.outageOver();
    for (const topic of this.subscriptions.keys()) this.subscriptions.set(topic, this.subscribeSubject(connection, topic));
    const statusEvents = connection.status();
    this.statusEvents = statusEvents;
    void this.followStatus(statusEvents);
    connection.closed().then(
      (error) => this.connectionClosed(error),
      (error: unknown) => this.connectionClosed(error instanceof Error ? error : undefined),
    );
  }

  private async followStatus(statusEvents: AsyncIterable<Status>): Promise<void> {
    for await (const status of statusEvents) {
      if (this.link.closed) break;
      switch (status.type as string) {
        case 'disconnect':
          this.connected = false;
          this.link.reportOutage(new Error(`disconnected from ${String(status.data)}`));
          break;
        case 'reconnect':
          this.connected = true;
          this.link.outageOver();
          break;
        case 'error':
          // An -ERR from the server (a permissions violation on a subject...).
          this.link.reportBackground(this.link.unavailable(`the NATS server reported ${String(status.data)}${status.permissionContext ? ` (${status.permissionContext.operation} ${status.permissionContext.subject})` : ''}`));
          break;
      }
    }
  }

  private connectionClosed(error: Error | void): void {
    this.connected = false;
    if (this.link.closed) return;
    // Closed for good (by you, for a connection you gave, or after an authentication failure): no more reconnection.
    this.link.reportOutage(error ?? new Error('the NATS connection was closed'));
    this.refuseUnacknowledged(error ?? new Error('the NATS connection was closed'));
  }

  /** Settle every publish still waiting for its flush as refused (the connection is gone for good). */
  private refuseUnacknowledged(error: Error): void {
    const batches = [...this.flushingBatches];
    if (this.openBatch !== undefined) batches.push(this.openBatch);
    this.flushingBatches.clear();
    this.openBatch = undefined;
    for (const batch of batches) for (const settle of batch.settles) settle(error);
  }

  /** The batch a publish of this turn joins; its flush is sent at the end of the turn, after every publish in it. */
  private batchForFlush(connection: NatsConnection): PublishBatch {
    if (this.openBatch !== undefined) return this.openBatch;
    const batch: PublishBatch = { settles: [] };
    this.openBatch = batch;
    queueMicrotask(() => {
      if (this.openBatch !== batch) return; // refused by close() already
      this.openBatch = undefined;
      this.flushingBatches.add(batch);
      const settle = (error: Error | undefined) => {
        if (!this.flushingBatches.delete(batch)) return;
        for (const one of batch.settles) one(error);
      };
      (connection.isClosed() ? Promise.reject(new Error('the NATS connection was closed')) : connection.flush()).then(
        () => settle(undefined),
        (error: unknown) => settle(error instanceof Error ? error : new Error(String(error))),
      );
    });
    return batch;
  }

  private subscribeSubject(connection: NatsConnection, topic: string): Subscription | undefined {
    try {
      return connection.subscribe(this.prefix + topicToken(topic), {
        callback: (error, message) => {
          if (error !== null) this.link.reportBackground(error);
          else this.receive(topic, message.data);
        },
      });
    } catch (error) {
      this.link.reportBackground(error);
      return undefined;
    }
  }

  private receive(topic: string, data: Uint8Array): void {
    if (this.link.closed || !this.subscriptions.has(topic)) return;
    this.link.receive(topic, Buffer.from(data.buffer, data.byteOffset, data.byteLength), `subject "${this.prefix + topicToken(topic)}"`);
  }
}
