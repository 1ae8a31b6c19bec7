/**
 * One server process of the broker backplane tests (forked by
 * test/helpers/backplane-node.ts with tsx for test/e2e/redis.test.ts and
 * test/e2e/nats.test.ts): createServer with the backplane of argv[2]
 * (`redis`: redisBackplane({ url: argv[3] }), `nats`: natsBackplane({
 * servers: argv[3] })); each connection subscribes to the topics of its
 * query (`?t=a&t=b`). Over IPC it reports its port, and publishes on
 * request: { topic, data, binary } → { remote: 'ok' | error code }.
 */
import { createServer } from '../../src/index.js';
import { natsBackplane } from '../../src/nats/index.js';
import { redisBackplane } from '../../src/redis/index.js';

const [broker, url] = [process.argv[2], process.argv[3]!];
const backplane =
  broker === 'redis' ? redisBackplane({ url }, { maxReconnectDelay: 200 }) : broker === 'nats' ? natsBackplane({ servers: url }, { reconnectDelay: 100 }) : undefined;
if (backplane === undefined) throw new Error(`backplane-node-process: unknown broker ${String(broker)} (redis or nats)`);

const server = createServer({ host: '127.0.0.1', backplane }, (ws) => {
  for (const topic of new URLSearchParams(ws.query).getAll('t')) ws.subscribe(topic);
});
server.on('error', () => {});
const { port } = await server.listen(0);
process.send!({ port });
process.on('message', (request: { topic: string; data: string; binary: boolean; id: number }) => {
  const message = request.binary ? Buffer.from(request.data, 'base64') : request.data;
  server.publish(request.topic, message).remote!.then(
    () => process.send!({ id: request.id, remote: 'ok' }),
    (error: { code?: string }) => process.send!({ id: request.id, remote: error.code ?? 'error' }),
  );
});
process.on('disconnect', () => void server.close().then(() => process.exit(0)));
