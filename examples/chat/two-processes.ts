/**
 * The chat example on two processes sharing Redis, with one command:
 *
 *   redis-server --save '' --port 6379          (a throwaway Redis, no persistence)
 *   npm run example:chat-redis                  then open http://127.0.0.1:8081/ in one tab
 *                                               and http://127.0.0.1:8086/ in another
 *   npm run example:chat-redis -- --redis redis://127.0.0.1:6380 --ports 9001,9002
 *
 * It starts `examples/chat/server.ts --redis <url> --port <p>` once per port,
 * prefixes each one's output with its port, and on Ctrl-C (or SIGTERM) passes
 * the signal on and waits for both to close. If either exits, it stops the
 * other and exits with its code. A process that has not exited 5 s after the
 * signal is killed.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: {
    redis: { type: 'string', default: 'redis://127.0.0.1:6379' },
    ports: { type: 'string', default: '8081,8086' },
    host: { type: 'string', default: '127.0.0.1' },
  },
});
const SERVER = fileURLToPath(new URL('server.ts', import.meta.url));
const TSX = fileURLToPath(new URL('../../node_modules/tsx/dist/cli.mjs', import.meta.url));

const children: ChildProcess[] = values.ports.split(',').map((port, i) => {
  const child = spawn(process.execPath, [TSX, SERVER, '--redis', values.redis, '--port', port.trim(), '--host', values.host], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const label = `[chat ${i + 1}] `;
  const prefix = (chunk: Buffer) => chunk.toString().replace(/^(?=.)/gm, label);
  child.stdout!.on('data', (chunk: Buffer) => process.stdout.write(prefix(chunk)));
  child.stderr!.on('data', (chunk: Buffer) => process.stderr.write(prefix(chunk)));
  return child;
});
console.log(`chat on ${children.length} processes sharing ${values.redis} (start it with: redis-server --save '' --port 6379)`);

let stopping = false;
async function stopAll(signal: NodeJS.Signals, code: number): Promise<never> {
  stopping = true;
  await Promise.all(
    children.map(async (child) => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = once(child, 'exit');
      child.kill(signal);
      const timer = setTimeout(() => child.kill('SIGKILL'), 5_000); // closes take a moment, not this long
      await exited;
      clearTimeout(timer);
    }),
  );
  process.exit(code);
}

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    if (!stopping) void stopAll(signal, 0);
  });
}
for (const child of children) {
  child.once('exit', (code) => {
    if (!stopping) void stopAll('SIGTERM', code ?? 1);
  });
}
