/**
 * The application test/e2e/cluster.test.ts runs: runWorkers() with a
 * handler that first sends `pid:<worker pid>` (so a test knows which worker
 * serves it), subscribes the connection to the topics in its query
 * (`?t=news`), and publishes what it is sent: a text `pub:<topic>:<text>` as
 * text, a binary message (first byte = topic length, then the topic, then
 * the payload) as binary. The primary prints `ready <port>` once every
 * worker listens, and `restarted` after a rolling restart (SIGHUP).
 *
 * With DEFAULT_BACKPLANE=1 the server is created without naming the
 * backplane (the worker's is its default).
 *
 * With CRASH=1 in the environment every worker throws in setup (a crash
 * loop); the primary prints `forked` for each worker it starts and `exited` for each that exits.
 *
 *   node --import tsx test/helpers/cluster-app.ts WORKERS
 */
import cluster from 'node:cluster';
import { createServer } from '../../src/index.js';
import { runWorkers } from '../../src/cluster/workers.js';

const workers = Number(process.argv[2] ?? 2);
if (cluster.isPrimary) {
  cluster.on('fork', () => console.log('forked'));
  cluster.on('exit', () => console.log('exited'));
}
const pool = await runWorkers({
  workers,
  shutdownTimeout: 2_000,
  restartDelay: 50,
  handleSignals: true,
  setup: async (backplane) => {
    if (process.env.CRASH === '1') throw new Error('crash on purpose');
    // DEFAULT_BACKPLANE=1: leave the backplane out; the worker's is the default (src/cluster/worker-default.ts).
    const server = createServer(process.env.DEFAULT_BACKPLANE === '1' ? { host: '127.0.0.1' } : { backplane, host: '127.0.0.1' }, (ws) => {
      ws.send(`pid:${process.pid}`);
      for (const topic of new URLSearchParams(ws.query).getAll('t')) ws.subscribe(topic);
      ws.on('message', (message) => {
        if (typeof message === 'string') {
          const [, topic, text] = /^pub:([^:]+):(.*)$/s.exec(message) ?? [];
          if (topic !== undefined) server.publish(topic, text!).remote?.catch(() => {});
        } else {
          const topic = message.subarray(1, 1 + message[0]!).toString();
          server.publish(topic, message.subarray(1 + message[0]!)).remote?.catch(() => {});
        }
      });
    });
    server.on('error', (error) => console.error('worker error:', error));
    await server.listen(0, '127.0.0.1');
    return server;
  },
});
if (pool.role === 'primary') {
  const port = await pool.ready;
  console.log(`ready ${port}`);
  process.on('SIGHUP', () => void pool.restart().then(() => console.log('restarted')));
}
