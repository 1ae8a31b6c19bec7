/**
 * The rule every test that needs a Debian package besides Node.js follows
 * (redis-server, nats-server, Chromium): without the binary the tests skip
 * with a loud notice naming the package to install, so that `npm test`
 * passes on a machine with only Node.js; under CI (.ci/run sets
 * WSRFC_REQUIRE_SYSTEM_PACKAGES=1 after installing the packages) a missing
 * binary fails them instead: there a skipped test would look like a passing
 * one. Also: a free port of 127.0.0.1 for a server such a test starts.
 */
import { existsSync } from 'node:fs';
import { once } from 'node:events';
import { createServer } from 'node:net';

/** Whether CI asked for every system package to be there (a missing one then fails, never skips). */
export const SYSTEM_PACKAGES_REQUIRED = process.env.WSRFC_REQUIRE_SYSTEM_PACKAGES === '1';

/** A binary from a Debian package that some tests need. */
export interface SystemPackage {
  /** What it is, in messages: `redis-server`, `Chromium`. */
  readonly name: string;
  /** Where it is looked for. */
  readonly path: string;
  /** The environment variable that points elsewhere: `REDIS_SERVER_PATH`. */
  readonly pathVariable: string;
  /** The command that installs it: `apt-get install -y redis-server`. */
  readonly install: string;
  /** Which tests need it, in messages: `Redis`, `NATS`, `browser`. */
  readonly tests: string;
}

/** The `skip` option of the tests that need `pkg`: a reason (printed loudly) when it is missing and nobody requires it, false otherwise. */
export function systemPackageSkipReason(pkg: SystemPackage): string | false {
  if (existsSync(pkg.path) || SYSTEM_PACKAGES_REQUIRED) return false;
  const reason = `${pkg.name} is not installed at ${pkg.path}: ${pkg.install} (or set ${pkg.pathVariable})`;
  const line = '!'.repeat(78);
  console.error(`\n${line}\n!! ${pkg.tests.toUpperCase()} TESTS SKIPPED: ${reason}\n!! (CI sets WSRFC_REQUIRE_SYSTEM_PACKAGES=1, which turns this into a failure)\n${line}\n`);
  return reason;
}

/** Why a test that did not skip cannot run: `pkg` is not there (what to do, said), or undefined when it is. */
export function missingSystemPackage(pkg: SystemPackage): string | undefined {
  if (existsSync(pkg.path)) return undefined;
  return `${pkg.name} is not installed at ${pkg.path}: the ${pkg.tests} tests need it. Install Debian's package (${pkg.install}; .ci/run does this in CI), or point ${pkg.pathVariable} at a ${pkg.name} binary.`;
}

/** Throw what missingSystemPackage() says, if `pkg` is not there. */
export function requireSystemPackage(pkg: SystemPackage): void {
  const missing = missingSystemPackage(pkg);
  if (missing !== undefined) throw new Error(missing);
}

/** A port of 127.0.0.1 that was free a moment ago (for a server that must know its port before it starts). */
export async function freePort(): Promise<number> {
  const probe = createServer();
  probe.listen(0, '127.0.0.1');
  await once(probe, 'listening');
  const { port } = probe.address() as { port: number };
  await new Promise((resolve) => probe.close(resolve));
  return port;
}
