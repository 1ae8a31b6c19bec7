/**
 * The entry point `wsrfc/nats`: a Backplane on NATS publish/subscribe for a
 * server spread over many machines. Needs the optional peer dependency
 * `nats` (`npm install nats`); `wsrfc` itself never loads it.
 */
export { natsBackplane, type NatsBackplaneOptions, type NatsBackplaneTarget, type NatsConnection } from './nats-backplane.js';
export type { Backplane, BackplaneDelivery } from '../server/backplane.js';
export type { Message } from '../connection/websocket-connection.js';
