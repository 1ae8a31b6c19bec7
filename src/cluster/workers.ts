/**
 * Every core of one machine: node:cluster workers sharing one listening port,
 * their topics joined through the primary (the cluster backplane).
 *
 *   await runWorkers({ workers: 4, setup: async (backplane) => {
 *     const server = createServer({ backplane }, handler);
 *     await server.listen(8080);
 *     return server;
 *   } });
 *
 * The same call runs in the primary and in each worker (node:cluster forks
 * the same script): in the primary it forks the workers and relays topics; in
 * a worker it calls `setup` with the cluster backplane, the default here:
 * a server `setup` creates without a `backplane` gets it all the same
 * (worker-default.ts).
 *
 * Sharing the port: on Node 20 there is no `reusePort`, so workers that
 * listen on the same port (port 0 too: every worker gets the one port the
 * primary bound) share the primary's listening socket: on Linux the primary
 * accepts each connection and hands it to a worker round-robin
 * (cluster.SCHED_RR, the default there). From Node 22.12 / 23.1,
 * `net.Server.listen({ reusePort: true })` lets each worker bind its own
 * SO_REUSEPORT socket and the kernel spreads connections with no hop through
 * the primary (Linux 3.9+, some BSDs); that would be an option to add here,
 * not a change to the backplane, which carries topics either way.
 *
 * Faults:
 * - a worker dies unexpectedly → the others keep serving; its topics are
 *   dropped from the relay; the primary forks a new one after a backoff
 *   (doubling from `restartDelay` to `maxRestartDelay`, reset once a worker
 *   has lived `maxRestartDelay`) so a crash loop does not spin;
 * - SIGTERM or SIGINT to the primary (or stop()) → each worker stops
 *   accepting, closes every connection with 1012 (Service Restart, which
 *   reconnecting clients retry), waits for the closes up to `shutdownTimeout`,
 *   and exits; the primary exits 0 when all are gone;
 * - SIGHUP to the primary (or restart()) → a rolling restart: one worker at a
 *   time, the new one forked and listening before the old one is stopped as
 *   above, so a reconnecting client always has a live worker to land on.
 */
import cluster, { type Worker } from 'node:cluster';
import { availableParallelism } from 'node:os';
import { LocalError } from '../errors.js';
import { CloseCode } from '../framing/close-codes.js';
import type { Backplane } from '../server/backplane.js';
import type { WebSocketServer } from '../server/server.js';
import { clusterBackplane, type ClusterBackplaneOptions } from './cluster-backplane.js';
import { PrimaryRelay } from './primary-relay.js';
import { offerWorkerBackplane } from './worker-default.js';
import { resolveRunWorkersOptions } from '../options/option-tables.js';

export interface RunWorkersOptions {
  /** How many workers; default one per core (os.availableParallelism()). */
  workers?: number;
  /** In each worker: create the server with the given backplane, make it listen, return it. */
  setup: (backplane: Backplane) => WebSocketServer<any> | Promise<WebSocketServer<any>>;
  /** How long a stopping worker waits for its connections' closing handshakes before it exits anyway (ms). Default 10,000. */
  shutdownTimeout?: number;
  /** First delay before a dead worker is replaced (ms), doubled on each quick death. Default 100. */
  restartDelay?: number;
  /** Longest delay before a replacement (ms); a worker that lived this long resets the backoff. Default 10,000. */
  maxRestartDelay?: number;
  /** Handle SIGTERM/SIGINT (stop) and SIGHUP (rolling restart) in the primary. Default true. */
  handleSignals?: boolean;
  /** The worker side's bound on publishes waiting for the IPC channel. */
  backplane?: ClusterBackplaneOptions;
}

/** What runWorkers() returns in the primary. */
export interface WorkerPool {
  readonly role: 'primary';
  /** The live workers. */
  readonly workers: ReadonlySet<Worker>;
  /** Resolves once every worker is listening, with the port they share. */
  readonly ready: Promise<number>;
  /** Rolling restart: replace the workers one at a time, each new one listening before its old one stops. */
  restart(): Promise<void>;
  /** Stop every worker (1012 to their clients) and resolve when all have exited. */
  stop(): Promise<void>;
}

/** What runWorkers() returns in a worker. */
export interface WorkerProcess {
  readonly role: 'worker';
  readonly server: WebSocketServer<any>;
}

/** A message from the primary telling a worker to stop (a signal would also reach a worker started with its own handlers). */
const STOP = { wsrfc: 'stop' } as const;

export async function runWorkers(options: RunWorkersOptions): Promise<WorkerPool | WorkerProcess> {
  // Every option checked before anything forks (src/options/option-tables.ts); setup is the one required.
  const settings = resolveRunWorkersOptions(options);
  if (typeof settings.setup !== 'function') throw new LocalError('WS_ERR_INVALID_OPTION', 'setup must be a function, got undefined');
  return cluster.isPrimary ? runPrimary(settings) : runWorker(settings);
}

async function runWorker(options: RunWorkersOptions): Promise<WorkerProcess> {
  const shutdownTimeout = options.shutdownTimeout ?? 10_000;
  const backplane = clusterBackplane(options.backplane);
  // The default for a server setup creates without naming it (worker-default.ts).
  offerWorkerBackplane(backplane);
  const server = await options.setup(backplane);
  let stopping = false;
  const stop = (): void => {
    if (stopping) return;
    stopping = true;
    // Exit anyway at the deadline: a client that never answers the close must not hold a restart.
    setTimeout(() => process.exit(0), shutdownTimeout).unref();
    server.close(CloseCode.SERVICE_RESTART, 'service restart').then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.on('message', (value: unknown) => {
    if (typeof value === 'object' && value !== null && (value as { wsrfc?: unknown }).wsrfc === STOP.wsrfc) stop();
  });
  // A signal sent to the worker itself (a process group kill, `kill PID`) stops it the same way.
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  // The primary is gone: nobody relays topics or hands over connections; stop.
  process.on('disconnect', stop);
  return { role: 'worker', server };
}

function runPrimary(options: RunWorkersOptions): WorkerPool {
  const count = options.workers ?? availableParallelism();
  const restartDelay = options.restartDelay ?? 100;
  const maxRestartDelay = options.maxRestartDelay ?? 10_000;
  // Binary messages cross the IPC channel as bytes (ipc-messages.ts).
  cluster.setupPrimary({ serialization: 'advanced' });
  const relay = new PrimaryRelay();
  const workers = new Set<Worker>();
  /** Workers being stopped on purpose: their exit is not a crash. */
  const retiring = new Set<Worker>();
  let stopping: Promise<void> | undefined;
  let delay = restartDelay;
  let port: number | undefined;
  let resolveReady!: (port: number) => void;
  const ready = new Promise<number>((resolve) => (resolveReady = resolve));
  const listeningWorkers = new Set<Worker>();

  function fork(): Worker {
    const worker = cluster.fork();
    const bornAt = Date.now();
    workers.add(worker);
    relay.add(worker);
    worker.once('listening', (address) => {
      port = address.port;
      listeningWorkers.add(worker);
      if (listeningWorkers.size >= count) resolveReady(port);
    });
    worker.once('exit', () => {
      workers.delete(worker);
      listeningWorkers.delete(worker);
      if (retiring.delete(worker) || stopping) return;
      // Died unexpectedly: replace it, after a delay that grows while workers die young.
      const lived = Date.now() - bornAt;
      if (lived >= maxRestartDelay) delay = restartDelay;
      const wait = delay;
      delay = Math.min(delay * 2, maxRestartDelay);
      setTimeout(() => {
        if (!stopping) fork();
      }, wait);
    });
    return worker;
  }

  function retire(worker: Worker): Promise<void> {
    retiring.add(worker);
    const exited = new Promise<void>((resolve) => {
      if (worker.isDead()) resolve();
      else worker.once('exit', () => resolve());
    });
    try {
      worker.send(STOP);
    } catch {
      worker.process.kill('SIGTERM');
    }
    return exited;
  }

  function listening(worker: Worker): Promise<void> {
    return new Promise((resolve, reject) => {
      worker.once('listening', () => resolve());
      worker.once('exit', () => reject(new Error('a new worker exited before it listened')));
    });
  }

  let restarting: Promise<void> | undefined;
  async function rollingRestart(): Promise<void> {
    for (const old of [...workers]) {
      if (stopping) return;
      const fresh = fork();
      await listening(fresh);
      await retire(old);
    }
  }

  const pool: WorkerPool = {
    role: 'primary',
    workers,
    ready,
    restart() {
      restarting ??= rollingRestart().finally(() => (restarting = undefined));
      return restarting;
    },
    stop() {
      stopping ??= Promise.all([...workers].map(retire)).then(() => undefined);
      return stopping;
    },
  };

  if (options.handleSignals ?? true) {
    const stopAndExit = (): void => void pool.stop().then(() => process.exit(0));
    process.on('SIGTERM', stopAndExit);
    process.on('SIGINT', stopAndExit);
    process.on('SIGHUP', () => void pool.restart().catch((error: unknown) => console.error('rolling restart failed:', error)));
  }
  for (let i = 0; i < count; i += 1) fork();
  return pool;
}
