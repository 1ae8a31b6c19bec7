/**
 * A backplane carries topics between processes: the cluster workers of one
 * machine (through the primary, over node:cluster's IPC channel) or many
 * machines (a broker: Redis pub/sub from the separate entry point
 * `wsrfc/redis`, NATS from `wsrfc/nats`). The server never talks to a broker itself: it mirrors its
 * local topic registry (src/server/topics.ts) onto whatever implements this
 * interface, so another engine can be added without touching the server.
 *
 * What the server does with it (`createServer({ backplane })`):
 *
 *   a topic gains its first local subscriber → backplane.subscribe(topic)
 *   a topic loses its last local subscriber  → backplane.unsubscribe(topic)
 *   server.publish(topic, message)           → local subscribers at once,
 *                                              and backplane.publish(topic, message)
 *   a message from another process           → deliver(topic, message): the
 *                                              local subscribers of that topic
 *
 * Delivery is at most once, in order per publishing process: a message
 * published while the broker is unreachable is not queued for later (the
 * publish reports the failure; local subscribers in the publishing process
 * still get it). A backplane must bound what it holds (no unbounded queue of
 * pending publishes), must not deliver a process's own publishes back to it
 * (the server already delivered them locally), and after a reconnection must
 * re-subscribe exactly the topics it was told to hold.
 */
import type { Message } from '../connection/websocket-connection.js';

/** How a message from another process reaches this one's local subscribers. */
export type BackplaneDelivery = (topic: string, message: Message) => void;

export interface Backplane {
  /**
   * Called once by the server before it listens: from now on, messages
   * published by other processes are handed to `deliver`. `onError` reports
   * what went wrong in the background (a lost broker connection...): the
   * server emits it on its 'error' event; it must not throw.
   */
  start(deliver: BackplaneDelivery, onError: (error: Error) => void): Promise<void>;
  /** This process has a subscriber of `topic` now (its first): receive the topic's messages. */
  subscribe(topic: string): void;
  /** This process's last subscriber of `topic` left: stop receiving them. */
  unsubscribe(topic: string): void;
  /**
   * Send `message` to the other processes' subscribers of `topic`. Resolves
   * once the broker took it; rejects (a BackplaneError) if it could not, at
   * once when the broker is known to be unreachable (never waits in an
   * unbounded queue).
   */
  publish(topic: string, message: Message): Promise<void>;
  /** Stop: unsubscribe everything, close connections the backplane opened (not ones it was given). */
  close(): Promise<void>;
}
