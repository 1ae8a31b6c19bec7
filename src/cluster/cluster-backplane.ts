/**
 * The worker side of the cluster backplane: a Backplane (src/server/backplane.ts)
 * over this worker's IPC channel to the primary (`process.send`), which
 * relays each publish to the other workers holding the topic
 * (primary-relay.ts). The default under runWorkers() (workers.ts); nothing
 * to install.
 *
 * Delivery is at most once, in order per publishing worker (one IPC channel
 * each way is a stream: the primary forwards in the order it reads). Memory
 * is bounded: `process.send()` returning false means the channel is backed
 * up; the publishes not yet written are counted, and beyond `maxPending` a
 * publish is refused at once (LocalError WS_ERR_BACKPLANE_BUSY) instead of
 * queued. If the primary is gone (the channel disconnected) publishes
 * reject with WS_ERR_BACKPLANE_CLOSED.
 *
 * (What is counted is every publish whose send callback has not fired yet,
 * which is what `process.send()` returning false announces: the channel's
 * buffer is holding them. A subscription made just before another worker
 * publishes may miss that publish while it travels to the primary: at most
 * once.)
 */
import cluster from 'node:cluster';
import { LocalError } from '../errors.js';
import type { Backplane, BackplaneDelivery } from '../server/backplane.js';
import type { Message } from '../connection/websocket-connection.js';
import { resolveClusterBackplaneOptions } from '../options/option-tables.js';
import { isClusterMessage, toMessage, type WorkerToPrimary } from './ipc-messages.js';

export interface ClusterBackplaneOptions {
  /** Publishes handed to the IPC channel and not yet written, beyond which publish() rejects at once. Default 1024. */
  maxPending?: number;
}

/**
 * A Backplane over the cluster worker's IPC channel. Throws LocalError
 * WS_ERR_INVALID_OPTION for a bad option (src/options/option-tables.ts), or
 * outside a cluster worker.
 */
export function clusterBackplane(options: ClusterBackplaneOptions = {}): Backplane {
  const { maxPending } = resolveClusterBackplaneOptions(options);
  if (!cluster.isWorker || typeof process.send !== 'function') {
    throw new LocalError('WS_ERR_INVALID_OPTION', 'clusterBackplane() works only in a node:cluster worker (see runWorkers())');
  }
  return new ClusterBackplane(process as IpcChannel, maxPending);
}

/** The part of a worker's `process` the backplane uses (a stand-in in unit tests). */
export interface IpcChannel {
  readonly connected: boolean;
  send(message: unknown, handle: undefined, options: object, callback: (error: Error | null) => void): boolean;
  on(event: 'message', listener: (value: unknown) => void): unknown;
  off(event: 'message', listener: (value: unknown) => void): unknown;
}

/** @internal Exported for the unit tests; applications call clusterBackplane(). */
export class ClusterBackplane implements Backplane {
  private pending = 0;
  private closed = false;
  private readonly topics = new Set<string>();
  private listener: ((value: unknown) => void) | undefined;

  constructor(
    private readonly channel: IpcChannel,
    private readonly maxPending: number,
  ) {}

  start(deliver: BackplaneDelivery, onError: (error: Error) => void): Promise<void> {
    this.listener = (value: unknown) => {
      if (!isClusterMessage(value) || value.wsrfc !== 'deliver') return;
      try {
        deliver(value.topic, toMessage(value.message));
      } catch (error) {
        onError(error instanceof Error ? error : new Error(String(error)));
      }
    };
    this.channel.on('message', this.listener);
    return Promise.resolve();
  }

  subscribe(topic: string): void {
    this.topics.add(topic);
    this.post({ wsrfc: 'subscribe', topic });
  }

  unsubscribe(topic: string): void {
    this.topics.delete(topic);
    this.post({ wsrfc: 'unsubscribe', topic });
  }

  publish(topic: string, message: Message): Promise<void> {
    if (this.closed || !this.channel.connected) {
      return Promise.reject(new LocalError('WS_ERR_BACKPLANE_CLOSED', 'publish(): the cluster backplane is closed or the primary is gone; delivered locally only'));
    }
    if (this.pending >= this.maxPending) {
      return Promise.reject(new LocalError('WS_ERR_BACKPLANE_BUSY', `publish(): ${this.pending} publishes already wait for the IPC channel (maxPending ${this.maxPending}); delivered locally only`));
    }
    this.pending += 1;
    return new Promise((resolve, reject) => {
      const sent = (error: Error | null): void => {
        this.pending -= 1;
        if (error) reject(new LocalError('WS_ERR_BACKPLANE_CLOSED', `publish(): the IPC channel refused the message (${error.message}); delivered locally only`));
        else resolve();
      };
      try {
        // The message is written (or buffered by the channel) at once; the callback fires when it is.
        this.channel.send({ wsrfc: 'publish', topic, message } satisfies WorkerToPrimary, undefined, {}, sent);
      } catch (error) {
        sent(error instanceof Error ? error : new Error(String(error)));
      }
    });
  }

  close(): Promise<void> {
    if (this.closed) return Promise.resolve();
    for (const topic of this.topics) this.post({ wsrfc: 'unsubscribe', topic });
    this.topics.clear();
    this.closed = true;
    if (this.listener) this.channel.off('message', this.listener);
    return Promise.resolve();
  }

  /** Subscribe/unsubscribe: small control messages, never refused (the primary needs them to route). */
  private post(message: WorkerToPrimary): void {
    if (this.closed || !this.channel.connected) return;
    try {
      this.channel.send(message, undefined, {}, () => {});
    } catch {
      // the channel closed under us: the primary drops this worker's topics when it goes
    }
  }
}
