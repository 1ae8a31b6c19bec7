/**
 * One server process of the NATS tests (forked by test/e2e/nats.test.ts with
 * tsx): createServer with natsBackplane({ servers: argv[2] }); each
 * connection subscribes to the topics of its query (`?t=a&t=b`). Over IPC it
 * reports its port, and publishes on request: { topic, data, binary } →
 * { remote: 'ok' | error code }.
 */
import { createServer } from '../../src/index.js';
import { natsBackplane } from '../../src/nats/index.js';

const server = createServer({ host: '127.0.0.1', backplane: natsBackplane({ servers: process.argv[2]! }, { reconnectDelay: 100 }) }, (ws) => {
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
