/**
 * End to end in a real browser: Debian's Chromium (installed by .ci/run with
 * apt, never downloaded), driven headless by playwright-core. It opens the
 * echo example's page and sends a non-ASCII text message and 1 MiB of random
 * bytes, then the chat example's page in two tabs and talks across them;
 * every check reads the page's DOM. Then the same page in two tabs on two
 * chat processes sharing a real redis-server (`npm run example:chat-redis`). Screenshots go to test/artifacts/
 * (ignored by git).
 *
 * Without Chromium these tests are skipped, or fail under CI: the rule is in
 * test/helpers/chromium.ts.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { createEchoServer } from '../../examples/echo/server.js';
import { createChatServer } from '../../examples/chat/server.js';
import { createFrameInspector } from '../../examples/frame-inspector/server.js';
import { RedisServer, redisSkipReason } from '../helpers/redis-server.js';
import { startChatOnRedis, waitForRoomSubscribers } from '../helpers/chat-on-redis.js';
import { assertChromiumInstalled, CHROMIUM, CHROMIUM_ARGS, CHROMIUM_SKIP as SKIP } from '../helpers/chromium.js';

const ARTIFACTS = fileURLToPath(new URL('../artifacts/', import.meta.url));
const STEP_TIMEOUT = 10_000;

const NON_ASCII = 'héllo, wörld: ça va? 你好 👋 Ελληνικά — ✓';

const OPTIONS = { skip: SKIP, timeout: 60_000 };

let context: BrowserContext;
let profile: string;
let echoOrigin: string;
let chatOrigin: string;
const servers: Array<{ close(): Promise<void> }> = [];
const pageErrors: string[] = [];

before(async () => {
  if (SKIP) return;
  assertChromiumInstalled();
  const echo = createEchoServer();
  const chat = createChatServer();
  servers.push(echo, chat);
  echoOrigin = `http://127.0.0.1:${(await echo.listen(0, '127.0.0.1')).port}`;
  chatOrigin = `http://127.0.0.1:${(await chat.listen(0, '127.0.0.1')).port}`;

  profile = mkdtempSync(join(tmpdir(), 'wsrfc-chromium-'));
  context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    timeout: 30_000,
    args: [...CHROMIUM_ARGS],
  });
  context.setDefaultTimeout(STEP_TIMEOUT);
  context.on('page', (page) => page.on('pageerror', (error) => pageErrors.push(`${page.url()}: ${error.message}`)));
  mkdirSync(ARTIFACTS, { recursive: true });
});

after(async () => {
  await context?.close();
  await Promise.all(servers.map((server) => server.close()));
  if (profile) rmSync(profile, { recursive: true, force: true });
});

/** Wait until an element matching `selector` contains `text`. */
async function seen(page: Page, selector: string, text: string): Promise<void> {
  await page.locator(selector, { hasText: text }).first().waitFor();
}

test('echo page: connects, and a non-ASCII text message and a 1 MiB binary message come back into the DOM', OPTIONS, async () => {
  const page = await context.newPage();
  await page.goto(`${echoOrigin}/`);
  await seen(page, '#status', 'connected to ws://127.0.0.1:');

  await page.fill('#text', NON_ASCII);
  await page.click('#send-text button');
  await seen(page, '#log li.sent', `sent text: ${NON_ASCII}`);
  await seen(page, '#log li.received', `received text: ${NON_ASCII}`);

  await page.click('#send-binary');
  await seen(page, '#log li.sent', 'sent binary: 1048576 bytes');
  await seen(page, '#log li.received', 'received binary: 1048576 bytes, identical to what was sent');

  const entries = await page.locator('#log li').allTextContents();
  assert.deepEqual(entries, [
    `sent text: ${NON_ASCII}`,
    `received text: ${NON_ASCII}`,
    'sent binary: 1048576 bytes',
    'received binary: 1048576 bytes, identical to what was sent',
  ]);
  await page.screenshot({ path: join(ARTIFACTS, 'browser-echo.png'), fullPage: true });
  await page.close();
});

test('chat page in two tabs: join, messages both ways (non-ASCII included), leave', OPTIONS, async () => {
  const ada = await context.newPage();
  await ada.goto(`${chatOrigin}/?name=ada`);
  await seen(ada, '#status', 'you are ada');
  await seen(ada, '#log li.system', 'nobody else is here yet');

  const bob = await context.newPage();
  await bob.goto(`${chatOrigin}/?name=bob`);
  await seen(bob, '#status', 'you are bob');
  await seen(bob, '#log li.system', 'here already: ada');
  await seen(ada, '#log li.system', 'bob joined');

  await bob.fill('#text', NON_ASCII);
  await bob.press('#text', 'Enter');
  await seen(bob, '#log li.mine', `you: ${NON_ASCII}`);
  await seen(ada, '#log li.message', `bob: ${NON_ASCII}`);

  await ada.fill('#text', 'hi bob');
  await ada.click('#say button');
  await seen(bob, '#log li.message', 'ada: hi bob');
  assert.equal(await bob.locator('#log li.message', { hasText: 'bob:' }).count(), 0, 'nobody gets their own message back');

  await bob.screenshot({ path: join(ARTIFACTS, 'browser-chat-bob.png'), fullPage: true });
  await bob.close();
  await seen(ada, '#log li.system', 'bob left');
  await ada.screenshot({ path: join(ARTIFACTS, 'browser-chat-ada.png'), fullPage: true });
  await ada.close();
});

test('chat on two processes over Redis: a tab on each sees the other join, talk (non-ASCII included) and leave', { ...OPTIONS, skip: SKIP || redisSkipReason() }, async (t) => {
  const redis = await RedisServer.start();
  t.after(() => redis.stop());
  const chat = await startChatOnRedis(redis.url);
  t.after(() => chat.stop());
  const [one, two] = chat.origins;

  const ada = await context.newPage();
  await ada.goto(`${one}/?name=ada`);
  await seen(ada, '#status', 'you are ada');
  await waitForRoomSubscribers(redis.url, 1);

  const bob = await context.newPage();
  await bob.goto(`${two}/?name=bob`);
  await seen(bob, '#status', 'you are bob');
  await seen(ada, '#log li.system', 'bob joined');
  await waitForRoomSubscribers(redis.url, 2);

  await bob.fill('#text', NON_ASCII);
  await bob.press('#text', 'Enter');
  await seen(bob, '#log li.mine', `you: ${NON_ASCII}`);
  await seen(ada, '#log li.message', `bob: ${NON_ASCII}`);

  await ada.fill('#text', 'hi bob, from the other process');
  await ada.click('#say button');
  await seen(bob, '#log li.message', 'ada: hi bob, from the other process');
  assert.equal(await bob.locator('#log li.message', { hasText: 'bob:' }).count(), 0, 'nobody gets their own message back');
  assert.equal(await ada.locator('#log li.message', { hasText: 'ada:' }).count(), 0, 'nobody gets their own message back');

  await bob.screenshot({ path: join(ARTIFACTS, 'browser-chat-redis-bob.png'), fullPage: true });
  await bob.close();
  await seen(ada, '#log li.system', 'bob left');
  await ada.screenshot({ path: join(ARTIFACTS, 'browser-chat-redis-ada.png'), fullPage: true });
  await ada.close();
});

test('frame inspector page: a ping and a fragmented text message, frame by frame, with their bits and RFC sections', OPTIONS, async (t) => {
  const inspector = createFrameInspector();
  t.after(() => inspector.close());
  const origin = `http://127.0.0.1:${(await inspector.listen(0, '127.0.0.1')).port}`;
  const page = await context.newPage();
  await page.goto(`${origin}/`);
  await seen(page, '#status', 'your connection is open');

  // The browser's own frame: masked by Chromium, echoed unmasked by the server.
  await page.fill('#text', NON_ASCII);
  await page.click('#send-text button');
  const typed = page.locator('li.frame[data-direction="client-to-server"][data-opcode="1"]', { hasText: NON_ASCII });
  await typed.waitFor();
  assert.deepEqual(await typed.locator('tr.bits td').allTextContents().then((bits) => [bits[0], bits[4], bits[5]]), ['1', '0001', '1']); // FIN, opcode, MASK
  await page.locator('li.frame[data-direction="server-to-client"][data-opcode="1"]', { hasText: NON_ASCII }).waitFor();

  // A ping, from the scripted client; the server's pong carries the same payload.
  await page.click('#run-ping');
  const ping = page.locator('li.frame[data-direction="client-to-server"][data-opcode="9"][data-fin="1"]');
  const pong = page.locator('li.frame[data-direction="server-to-client"][data-opcode="10"][data-fin="1"]');
  await ping.waitFor();
  await pong.waitFor();
  assert.match(await ping.locator('header').textContent() ?? '', /scripted client \(ping\) → server PING FIN=1 · 14 bytes/);
  assert.match(await ping.textContent() ?? '', /§5\.5\.2/);
  assert.match(await pong.textContent() ?? '', /§5\.5\.3/);
  assert.equal(await pong.locator('q.text').textContent(), 'are you there?');
  assert.equal(await ping.locator('tr.bits td').nth(4).textContent(), '1001');

  // A fragmented text message: TEXT FIN=0, CONTINUATION FIN=0, CONTINUATION FIN=1 (§5.4), echoed whole.
  await page.click('#run-fragmented-text');
  const first = page.locator('li.frame[data-direction="client-to-server"][data-opcode="1"][data-fin="0"]');
  const middle = page.locator('li.frame[data-direction="client-to-server"][data-opcode="0"][data-fin="0"]');
  const last = page.locator('li.frame[data-direction="client-to-server"][data-opcode="0"][data-fin="1"]');
  for (const frame of [first, middle, last]) await frame.waitFor();
  assert.equal(await first.locator('q.text').textContent(), 'Hello, ');
  assert.equal(await middle.locator('q.text').textContent(), 'fragmented ');
  assert.equal(await last.locator('q.text').textContent(), 'world!');
  assert.deepEqual(await first.locator('tr.bits td').allTextContents().then((bits) => bits.slice(0, 6)), ['0', '0', '0', '0', '0001', '1']);
  assert.deepEqual(await last.locator('tr.bits td').allTextContents().then((bits) => bits.slice(0, 6)), ['1', '0', '0', '0', '0000', '1']);
  assert.match(await middle.textContent() ?? '', /CONTINUATION: the next fragment of a fragmented message §5\.4/);
  assert.match(await first.locator('tr.sections').textContent() ?? '', /§5\.2.*§5\.3/);
  await page.locator('li.frame[data-direction="server-to-client"][data-opcode="1"][data-fin="1"]', { hasText: 'Hello, fragmented world!' }).waitFor();
  const fragmentedConnection = await first.getAttribute('data-connection');
  await page.locator(`li.event.closed[data-connection="${fragmentedConnection}"]`, { hasText: 'TCP closed: 1000 Normal Closure' }).waitFor();

  // A 300-byte message takes the 16-bit length; closing with a reason shows the close code's section.
  await page.click('#send-large');
  await page.locator('li.frame[data-direction="client-to-server"]', { hasText: 'Extended payload length (16 bits)' }).waitFor();
  await page.click('#close');
  const close = page.locator('li.frame[data-direction="client-to-server"][data-opcode="8"]', { hasText: '4001 private use' });
  await close.waitFor();
  assert.match(await close.textContent() ?? '', /§7\.4\.2/);
  await seen(page, '#status', 'your connection closed (4001');

  await page.screenshot({ path: join(ARTIFACTS, 'browser-frame-inspector.png'), fullPage: true });
  await page.close();
});

test('no page threw a JavaScript error', OPTIONS, () => {
  assert.deepEqual(pageErrors, []);
});
