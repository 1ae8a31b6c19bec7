/**
 * Debian's Chromium for the browser tests (test/browser/), driven by
 * playwright-core: where it is, whether a test runs, and the flags every
 * launch takes.
 *
 * Without Chromium at /usr/bin/chromium (or CHROMIUM_PATH) the browser tests
 * are skipped with a loud notice naming the package to install, so that
 * `npm test` passes on a machine with only Node.js. Under CI (.ci/run sets
 * WSRFC_REQUIRE_SYSTEM_PACKAGES=1 after installing the package) a missing
 * Chromium fails them instead: there a skipped browser test would look like a
 * passing one (the rule of test/helpers/system-package.ts, shared with the
 * Redis and NATS tests).
 */
import assert from 'node:assert/strict';
import { missingSystemPackage, systemPackageSkipReason, type SystemPackage } from './system-package.js';

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const PACKAGE: SystemPackage = { name: 'Chromium', path: CHROMIUM, pathVariable: 'CHROMIUM_PATH', install: 'apt-get install -y chromium', tests: 'browser' };

/** Skip (with the reason) when Chromium is missing and nobody requires it; otherwise run, and fail if it is missing. */
export const CHROMIUM_SKIP: string | false = systemPackageSkipReason(PACKAGE);

/** In a `before` hook of a test that did not skip: fail, saying what to do, if Chromium is not there. */
export function assertChromiumInstalled(): void {
  const missing = missingSystemPackage(PACKAGE);
  assert.ok(missing === undefined, missing);
}

/** Flags for every launch: headless as root in CI, nothing fetched behind the test's back. */
export const CHROMIUM_ARGS: readonly string[] = [
  '--no-sandbox', // CI runs as root, where Chromium's sandbox cannot start
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];
