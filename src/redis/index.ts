/**
 * The entry point `wsrfc/redis`: a Backplane on Redis pub/sub for a server
 * spread over many machines. Needs the optional peer dependency `redis`
 * (`npm install redis`); `wsrfc` itself never loads it.
 */
export { redisBackplane, type RedisBackplaneOptions, type RedisBackplaneTarget, type RedisClient } from './redis-backplane.js';
export type { Backplane, BackplaneDelivery } from '../server/backplane.js';
export type { Message } from '../connection/websocket-connection.js';
