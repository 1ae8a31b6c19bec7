/**
 * Stopping the echo server (src/cli/echo-server.ts) the way a process
 * manager or a container runtime does: one SIGTERM to the PID it started.
 * Every client must get 1001 (Going Away), the process must exit 0, and
 * nothing it started may be left running.
 *
 * Each server runs in its own process group (detached), so the `after` hook
 * can kill whatever is left of it, and so "nothing is left" is one question:
 * does the group still have a member?
 */
import assert from 'node:assert/strict';
import { setTimeout as delay } from 'node:timers/promises';
import { after, describe, it } from 'node:test';

import { connect, type ClientConnection, type CloseInfo } from '../../src/index.js';
import { OP } from '../helpers/frames.js';
import { RawClient, withTimeout } from '../helpers/raw-client.js';
import { killSpawnedGroups, spawnInGroup, waitForOutput, type SpawnedProcess } from '../helpers/spawned-process.js';

const SERVER_ARGS = ['--port', '0', '--host', '127.0.0.1'];
/** The production command the README documents: node with the tsx loader, no wrapper process. */
const DIRECT = [process.execPath, '--import', 'tsx', 'src/cli/echo-server.ts', ...SERVER_ARGS];
const NPM_START = ['npm', 'start', '--', ...SERVER_ARGS];
/** echo-server.ts: a repeat of the signal within this many ms counts as the same one. */
const REPEAT_WINDOW_MS = 1_000;

// Whatever a failed test left behind: the whole group, at once.
after(killSpawnedGroups);

/** The port from `echo server listening on ws://127.0.0.1:PORT`. */
async function listeningPort(server: SpawnedProcess): Promise<number> {
  const [, port] = await waitForOutput(server, /echo server listening on ws:\/\/127\.0\.0\.1:(\d+)/);
  return Number(port);
}

/** Three clients of our own, each open (connect() resolves after the 101) and each echoing. */
async function openClients(port: number): Promise<ClientConnection[]> {
  const clients = await Promise.all([1, 2, 3].map(() => connect(`ws://127.0.0.1:${port}`)));
  for (const [i, client] of clients.entries()) {
    const echoed = new Promise((resolve) => client.once('message', resolve));
    client.send(`client ${i}`);
    assert.equal(await withTimeout(echoed, 2_000, 'the echo'), `client ${i}`);
  }
  return clients;
}

async function assertClosedWith1001(clients: ClientConnection[]): Promise<void> {
  const closes: CloseInfo[] = await withTimeout(Promise.all(clients.map((c) => c.closed)), 3_000, 'every client closed');
  for (const info of closes) {
    assert.equal(info.code, 1001, `closed with ${info.code} ${info.reason}`);
    assert.equal(info.wasClean, true);
  }
}

/** No process of the server's group is left (npm, its shell, node, esbuild...). */
async function assertNothingLeft(server: SpawnedProcess): Promise<void> {
  const pgid = server.child.pid!;
  const deadline = Date.now() + 2_000;
  for (;;) {
    try {
      process.kill(-pgid, 0);
    } catch (error) {
      assert.equal((error as NodeJS.ErrnoException).code, 'ESRCH');
      return;
    }
    assert.ok(Date.now() < deadline, `processes of group ${pgid} still running`);
    await delay(20);
  }
}

describe('stopping the echo server with a signal', { skip: process.platform === 'win32' ? 'POSIX signals' : false }, () => {
  it('SIGTERM to the PID of the production command: every client gets 1001, exit 0', { timeout: 15_000 }, async () => {
    const server = spawnInGroup(DIRECT);
    const clients = await openClients(await listeningPort(server));

    process.kill(server.child.pid!, 'SIGTERM');
    await assertClosedWith1001(clients);
    assert.deepEqual(await withTimeout(server.exited, 3_000, 'the server exiting'), { code: 0, signal: null }, server.output());
    assert.match(server.output(), /SIGTERM: closing connections \(1001\)/);
    await assertNothingLeft(server);
  });

  it('SIGTERM to the PID of `npm start`: npm hands it to the server, both exit 0', { timeout: 15_000 }, async () => {
    const server = spawnInGroup(NPM_START);
    const clients = await openClients(await listeningPort(server));

    process.kill(server.child.pid!, 'SIGTERM'); // npm's PID, not the server's
    await assertClosedWith1001(clients);
    assert.deepEqual(await withTimeout(server.exited, 3_000, 'npm exiting'), { code: 0, signal: null }, server.output());
    assert.match(server.output(), /SIGTERM: closing connections \(1001\)/);
    await assertNothingLeft(server);
  });

  it('Ctrl-C under `npm start` (SIGINT to the group, then again from npm) still closes gracefully', { timeout: 15_000 }, async () => {
    const server = spawnInGroup(NPM_START);
    const clients = await openClients(await listeningPort(server));

    process.kill(-server.child.pid!, 'SIGINT'); // what the terminal does: every process of the foreground group
    await assertClosedWith1001(clients);
    assert.deepEqual(await withTimeout(server.exited, 3_000, 'npm exiting'), { code: 0, signal: null }, server.output());
    assert.doesNotMatch(server.output(), /again: exiting/);
    await assertNothingLeft(server);
  });

  it('a second SIGTERM exits at once, without waiting for a client that never answers the close', { timeout: 15_000 }, async () => {
    const server = spawnInGroup(DIRECT);
    const port = await listeningPort(server);
    const silent = await RawClient.connect(port); // never answers the server's close frame
    try {
      process.kill(server.child.pid!, 'SIGTERM');
      await waitForOutput(server, /SIGTERM: closing/);
      const close = await silent.nextFrame(2_000);
      assert.equal(close.opcode, OP.CLOSE);
      await delay(REPEAT_WINDOW_MS + 200);
      assert.equal(server.child.exitCode, null, 'still waiting for the silent client (closeTimeout is 5 s)');

      const secondAt = Date.now();
      process.kill(server.child.pid!, 'SIGTERM');
      assert.deepEqual(await withTimeout(server.exited, 2_000, 'the server exiting'), { code: 128 + 15, signal: null });
      assert.ok(Date.now() - secondAt < 1_000);
      assert.match(server.output(), /SIGTERM again: exiting without waiting/);
      await assertNothingLeft(server);
    } finally {
      silent.destroy();
    }
  });

  it('a SIGTERM that arrives before listen() has finished still ends in a clean exit 0', { timeout: 15_000 }, async () => {
    // Loaded after tsx: makes every listen() wait a second (as a slow host
    // name lookup would) and says when one starts.
    const slowListen = [
      "import net from 'node:net';",
      'const listen = net.Server.prototype.listen;',
      'net.Server.prototype.listen = function (...args) {',
      "  process.stderr.write('listen() started\\n');",
      '  setTimeout(() => listen.apply(this, args), 1000);',
      '  return this;',
      '};',
    ].join('\n');
    const [node, ...args] = DIRECT;
    const server = spawnInGroup([node, '--import', `data:text/javascript,${encodeURIComponent(slowListen)}`, ...args]);
    await waitForOutput(server, /listen\(\) started/);
    assert.doesNotMatch(server.output(), /listening on/);

    process.kill(server.child.pid!, 'SIGTERM');
    assert.deepEqual(await withTimeout(server.exited, 5_000, 'the server exiting'), { code: 0, signal: null }, server.output());
    assert.match(server.output(), /SIGTERM: closing connections[^]*every connection closed, exiting/);
    await assertNothingLeft(server);
  });
});
