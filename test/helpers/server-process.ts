/**
 * A throwaway server binary (redis-server, nats-server) as a child process of
 * a test: spawnServer() starts it and says when it printed its ready line;
 * killServer() ends it abruptly (SIGKILL: an outage, for the reconnection
 * tests) and waits for it to exit. ServerProcess is the run / stop / restart
 * life of one such server on fixed ports (RedisServer, NatsServer).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';

/** Run `binary args`; `ready` resolves once its stdout or stderr contains `readyLine`, rejects if it exits first or takes over 10 s. */
export function spawnServer(binary: string, args: readonly string[], readyLine: string): { child: ChildProcess; ready: Promise<void> } {
  const name = binary.split('/').at(-1);
  const child = spawn(binary, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const ready = new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${name} did not start within 10 s:\n${output}`)), 10_000);
    // Read for as long as it runs: a pipe nobody drains would block it.
    const read = (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes(readyLine)) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout!.on('data', read);
    child.stderr!.on('data', read);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${name} exited (${code}) before it was ready:\n${output}`));
    });
  });
  return { child, ready };
}

/** SIGKILL `child` (if it still runs) and wait for it to exit. */
export async function killServer(child: ChildProcess | undefined): Promise<void> {
  if (child === undefined || child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  child.kill('SIGKILL');
  await exited;
}

/** One throwaway server on ports chosen once: run() starts it, stop() kills it (an outage), restart() brings it back on the same ports. */
export abstract class ServerProcess {
  private child: ChildProcess | undefined;

  /** The binary, its arguments and the line it prints once it accepts connections. */
  protected abstract command(): { binary: string; args: string[]; readyLine: string };

  /** Start the server and wait until it accepts connections. */
  async run(): Promise<void> {
    const { binary, args, readyLine } = this.command();
    const { child, ready } = spawnServer(binary, args, readyLine);
    this.child = child;
    await ready;
  }

  /** Stop the server (SIGKILL: an abrupt outage) and wait for it to exit. */
  async stop(): Promise<void> {
    const child = this.child;
    this.child = undefined;
    await killServer(child);
  }

  async restart(): Promise<void> {
    await this.stop();
    await this.run();
  }
}
