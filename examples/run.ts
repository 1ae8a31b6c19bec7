/**
 * What every example server does when started from the command line: take
 * `--port` and `--host`, listen, print where to go, and close gracefully on
 * Ctrl-C. Each example calls it on its last line; when the example is
 * imported instead (the tests do, and listen on port 0 themselves), it does
 * nothing.
 */
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import type { AddressInfo } from 'node:net';

interface Listenable {
  listen(port?: number, host?: string): Promise<AddressInfo>;
  close(): Promise<void>;
}

export interface RunOptions {
  /** Default port; the examples use one each (8080–8085) so they can run side by side. */
  port: number;
  /** What to tell the user, given the server's `http://host:port` (no trailing slash). */
  hint: (origin: string) => string;
  /** Options of this example beyond `--port` and `--host` (the chat's `--redis`), handed to `create`. */
  options?: NonNullable<ParseArgsConfig['options']>;
}

/** The command-line values: `--port`, `--host`, and the example's own options. */
export type CommandLineValues = Record<string, string | boolean | Array<string | boolean> | undefined>;

export async function runFromCommandLine(moduleUrl: string, create: (values: CommandLineValues) => Listenable | Promise<Listenable>, options: RunOptions): Promise<void> {
  const script = process.argv[1];
  if (script === undefined || pathToFileURL(resolve(script)).href !== moduleUrl) return; // imported, not run

  const { values } = parseArgs({
    options: {
      port: { type: 'string', default: String(options.port) },
      host: { type: 'string', default: '127.0.0.1' },
      ...options.options,
    },
  });
  // Ctrl-C reaches every process of the group (npm, tsx, this one), so the
  // signal may arrive more than once: close on the first, ignore the rest.
  // Before the server listens (the chat on Redis waits for Redis), exit at once.
  let server: Listenable | undefined;
  let closing = false;
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.on(signal, () => {
      if (closing) return;
      closing = true;
      if (server === undefined) {
        console.log(`${signal}: not listening yet, exiting`);
        process.exit(0);
      }
      console.log(`${signal}: closing (1001 to every client)`);
      void server.close().then(() => process.exit(0));
    });
  }

  const created = await create(values);
  const address = await created.listen(Number(values.port), values.host);
  server = created;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  console.log(options.hint(`http://${host}:${address.port}`));
}
