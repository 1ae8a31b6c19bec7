/**
 * What every broker backplane (src/redis/redis-backplane.ts,
 * src/nats/nats-backplane.ts) does the same way, whatever its client, kept
 * here once so the two read alike:
 * - the origin: a random id carried by every publish (src/server/carried-message.ts),
 *   so a process drops its own publishes when the broker sends them back;
 * - receiving: a carried message decoded, one not in wsrfc's format reported
 *   and dropped, our own dropped, the rest delivered to the server;
 * - one report per outage: the first error of an outage goes to onError (the
 *   server's 'error' event), the next ones are quiet until the broker is back;
 * - the publishes awaiting the broker, bounded by `maxPendingPublishes`:
 *   past it publish() rejects instead of queueing;
 * - `startTimeout`: start() waits for the first connection that long, then
 *   lets the server serve without the broker (reported once) while the
 *   connection goes on in the background.
 * How to connect, subscribe and publish stays in each backplane: that is
 * what is specific to its client. Nothing here touches a socket.
 */
import { LocalError } from '../errors.js';
import type { BackplaneDelivery } from './backplane.js';
import { decodeCarriedMessage, newOrigin } from './carried-message.js';

/** How a broker backplane names itself in its errors. */
export interface BrokerNames {
  /** The factory, which starts every message: `redisBackplane`. */
  readonly backplane: string;
  /** The broker: `Redis`. */
  readonly broker: string;
  /** The error code of a publish that did not reach the broker: `WS_ERR_REDIS_UNAVAILABLE`. */
  readonly unavailableCode: string;
}

/** The state and rules a broker backplane shares with the others (see the header). */
export class BrokerLink {
  /** A random id of this instance, carried by every publish so its own come back ignored. */
  readonly origin = newOrigin();
  /** Set by close(): nothing is reported or delivered any more. */
  closed = false;
  /** Publishes handed to the broker and not yet acknowledged (or refused). */
  private pendingPublishes = 0;
  private deliver: BackplaneDelivery = () => {};
  private onError: (error: Error) => void = () => {};
  /** True between the first error of an outage and the next connection: one report per outage. */
  private outageReported = false;

  constructor(
    readonly names: BrokerNames,
    private readonly maxPendingPublishes: number,
  ) {}

  /** Keep the server's callbacks (Backplane.start()). */
  started(deliver: BackplaneDelivery, onError: (error: Error) => void): void {
    this.deliver = deliver;
    this.onError = onError;
  }

  /**
   * Wait for `firstConnection` up to `startTimeout` ms (Infinity: however
   * long). Past it, report the outage once and return: the connection goes on,
   * its failure reported in the background.
   */
  async awaitFirstConnection(firstConnection: Promise<unknown>, startTimeout: number): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const gaveUp = new Promise<'gave up'>((resolve) => {
      if (startTimeout !== Infinity) timer = setTimeout(resolve, startTimeout, 'gave up');
    });
    try {
      if ((await Promise.race([firstConnection, gaveUp])) === 'gave up') {
        firstConnection.catch((error: unknown) => this.reportBackground(error));
        this.reportOutage(new Error(`${this.names.broker} did not answer within startTimeout (${startTimeout} ms); serving without it meanwhile`));
      }
    } finally {
      clearTimeout(timer);
    }
  }

  /** An error of type unavailableCode, its message starting with the backplane's name. */
  unavailable(text: string, cause?: unknown): LocalError {
    return new LocalError(this.names.unavailableCode, `${this.names.backplane}: ${text}`, cause === undefined ? undefined : { cause });
  }

  /**
   * Why a publish on `topic` cannot be handed to the broker now, or undefined
   * if it can: closed, not connected, or maxPendingPublishes already waiting.
   */
  refusal(topic: string, connected: boolean): LocalError | undefined {
    const { broker } = this.names;
    if (this.closed || !connected) return this.unavailable(`${broker} is not connected; the message on "${topic}" reached this process's subscribers only`);
    if (this.pendingPublishes >= this.maxPendingPublishes) {
      return this.unavailable(`${this.pendingPublishes} publishes await ${broker} (maxPendingPublishes); the message on "${topic}" reached this process's subscribers only`);
    }
    return undefined;
  }

  /** A publish was handed to the broker: it counts towards maxPendingPublishes until publishSettled(). */
  publishHandedOver(): void {
    this.pendingPublishes++;
  }

  /** The broker acknowledged or refused a publish. */
  publishSettled(): void {
    this.pendingPublishes--;
  }

  /** A message from the broker on `topic` (`where` names its channel or subject in a report): delivered unless it is ours or not a carried message. */
  receive(topic: string, frame: Buffer, where: string): void {
    const decoded = decodeCarriedMessage(frame);
    if (decoded === null) {
      this.reportBackground(this.unavailable(`a message on ${where} is not in wsrfc's format; dropped`));
      return;
    }
    if (decoded.origin.equals(this.origin)) return; // our own publish: the server delivered it locally already
    this.deliver(topic, decoded.message);
  }

  /** The broker is away: the first report of this outage goes to onError, the next ones not. */
  reportOutage(error: Error): void {
    if (this.closed || this.outageReported) return;
    this.outageReported = true;
    const { broker } = this.names;
    this.onError(this.unavailable(`lost ${broker} (${error.message}); reconnecting, publishes reach local subscribers only until then`, error));
  }

  /** The broker is back: the next outage is reported again. */
  outageOver(): void {
    this.outageReported = false;
  }

  /** An error that no caller waits for: to onError, unless closed. */
  reportBackground(error: unknown): void {
    if (this.closed) return;
    this.onError(error instanceof Error ? error : new Error(String(error)));
  }
}
