/**
 * The echo server (text back as text, binary as binary), the target for the
 * Autobahn|Testsuite fuzzingclient (see fuzzing/).
 *
 *   npm start -- --port 9001 --host 127.0.0.1 [--deflate]
 *   node --import tsx src/cli/echo-server.ts --port 9001   (under a process manager or in a container)
 *
 * `--port 0` takes a free port; the line `echo server listening on
 * ws://HOST:PORT` always shows the one bound.
 *
 * Stopping: SIGTERM or SIGINT stops accepting, closes every client with 1001
 * (Going Away), waits for them (at most closeTimeout per step of each closing
 * handshake) and exits 0. A second signal, a second or more after the first,
 * exits at once with 128 + its number.
 * The signal must reach this process: the direct node command above has this
 * process's PID; `npm start` runs it with `exec`, so npm's shell gives way to
 * it and the SIGTERM or SIGINT npm passes on to its child lands here.
 *
 * Every core: `npm start -- --workers N` (`--workers` alone: one per core)
 * runs N node:cluster workers sharing the port through runWorkers()
 * (src/cluster/workers.ts); this process is then their primary, still the
 * PID npm started. SIGTERM or SIGINT to it closes every client with 1012
 * (Service Restart) and exits 0 once every worker is gone; SIGHUP replaces
 * the workers one at a time (a rolling restart).
 */
import { constants } from 'node:os';
import { parseArgs } from 'node:util';
import { createServer, type Backplane } from '../index.js';
import { runWorkers } from '../cluster/workers.js';

/**
 * A repeat of the stop signal this soon after the first is the same request
 * delivered twice, not a second one: Ctrl-C under `npm start` reaches this
 * process from the terminal (which signals the whole process group) and again
 * from npm (which passes it on to its child), a few milliseconds apart.
 */
const REPEAT_WINDOW_MS = 1_000;

const USAGE = `usage: npm start -- [--port 9001] [--host 127.0.0.1] [--deflate] [--workers [N]]
       node --import tsx src/cli/echo-server.ts [the same options]`;

// `--workers` with no number (last, or followed by another option) means one per core.
const argv = process.argv.slice(2);
const workersAt = argv.indexOf('--workers');
if (workersAt !== -1 && (workersAt === argv.length - 1 || argv[workersAt + 1]!.startsWith('--'))) argv.splice(workersAt + 1, 0, 'auto');

const { values } = parseArgs({
  args: argv,
  options: {
    workers: { type: 'string' },
    port: { type: 'string', default: '9001' },
    host: { type: 'string', default: '127.0.0.1' },
    deflate: { type: 'boolean', default: false },
    help: { type: 'boolean', default: false },
  },
});

if (values.help) {
  console.log(USAGE);
  process.exit(0);
}

const port = Number(values.port);
if (!/^\d+$/.test(values.port) || port > 65_535) {
  console.error(`--port must be 0 (any free port) to 65535, not ${JSON.stringify(values.port)}\n${USAGE}`);
  process.exit(2);
}

if (values.workers !== undefined && values.workers !== 'auto' && !/^[1-9]\d*$/.test(values.workers)) {
  console.error(`--workers must be a positive integer (or nothing: one per core), not ${JSON.stringify(values.workers)}\n${USAGE}`);
  process.exit(2);
}

function echoServer(backplane?: Backplane) {
  return createServer({ perMessageDeflate: values.deflate, ...(backplane ? { backplane } : {}) }, (connection) => {
    connection.on('message', (message) => {
      connection.send(message);
    });
  });
}

if (values.workers !== undefined) {
  const pool = await runWorkers({
    ...(values.workers === 'auto' ? {} : { workers: Number(values.workers) }),
    setup: async (backplane) => {
      const server = echoServer(backplane);
      await server.listen(port, values.host);
      return server;
    },
  });
  if (pool.role === 'primary') {
    const boundPort = await pool.ready;
    const shownHost = values.host.includes(':') ? `[${values.host}]` : values.host;
    console.log(`echo server listening on ws://${shownHost}:${boundPort}${values.deflate ? ' (permessage-deflate on)' : ''} (${pool.workers.size} workers)`);
    process.on('SIGTERM', () => console.log('SIGTERM: closing connections (1012)...'));
  }
} else {
  await serveOneProcess();
}

async function serveOneProcess(): Promise<void> {
  const server = echoServer();

  // The handlers are installed before listen() starts, so a signal that
  // arrives while it runs stops the server too (once it is listening) instead
  // of killing the process the default way.
  let listening: Promise<unknown> = Promise.resolve();
  let stopRequestedAt: number | null = null;
  function onStopSignal(signal: 'SIGINT' | 'SIGTERM'): void {
    if (stopRequestedAt !== null) {
      if (Date.now() - stopRequestedAt < REPEAT_WINDOW_MS) return;
      console.error(`${signal} again: exiting without waiting for clients`);
      process.exit(128 + constants.signals[signal]);
    }
    stopRequestedAt = Date.now();
    console.log(`${signal}: closing connections (1001)...`);
    // A failed listen() is reported where it is awaited, below.
    void listening
      .then(() => server.close())
      .then(
        () => process.stdout.write('every connection closed, exiting\n', () => process.exit(0)),
        () => undefined,
      );
  }
  process.on('SIGINT', onStopSignal);
  process.on('SIGTERM', onStopSignal);

  const listened = server.listen(port, values.host);
  listening = listened;
  const address = await listened;
  const shownHost = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  console.log(`echo server listening on ws://${shownHost}:${address.port}${values.deflate ? ' (permessage-deflate on)' : ''}`);
}
