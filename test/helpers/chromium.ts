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
 * passing one.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const INSTALL = 'apt-get install -y chromium';
const REQUIRED = process.env.WSRFC_REQUIRE_SYSTEM_PACKAGES === '1';
const MISSING = !existsSync(CHROMIUM);

/** Skip (with the reason) when Chromium is missing and nobody requires it; otherwise run, and fail if it is missing. */
export const CHROMIUM_SKIP: string | false = MISSING && !REQUIRED ? `Chromium is not installed at ${CHROMIUM}: ${INSTALL} (or set CHROMIUM_PATH)` : false;

if (CHROMIUM_SKIP) {
  const line = '!'.repeat(78);
  console.error(`\n${line}\n!! BROWSER TESTS SKIPPED: ${CHROMIUM_SKIP}\n!! (CI sets WSRFC_REQUIRE_SYSTEM_PACKAGES=1, which turns this into a failure)\n${line}\n`);
}

/** In a `before` hook of a test that did not skip: fail, saying what to do, if Chromium is not there. */
export function assertChromiumInstalled(): void {
  assert.ok(
    existsSync(CHROMIUM),
    `Chromium is not installed at ${CHROMIUM}: the browser tests need it. ` +
      `Install Debian's package (${INSTALL}; .ci/run does this in CI), or point CHROMIUM_PATH at a Chromium binary.`,
  );
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
