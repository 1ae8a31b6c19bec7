/**
 * WebSockets over HTTP/2 in a real browser (RFC 8441): Debian's Chromium,
 * driven headless by playwright-core, loads a page from our server over
 * HTTPS, and the page opens `new WebSocket('wss://…')`.
 *
 * Chromium opens a WebSocket as an extended CONNECT stream only on an HTTP/2
 * connection it already has to that origin, and only if the server's
 * SETTINGS advertised SETTINGS_ENABLE_CONNECT_PROTOCOL (RFC 8441 §3); the
 * page load makes that connection. So the server asserts, from what it saw:
 * the page came over HTTP/2 (`req.httpVersion === '2.0'`), the WebSocket
 * arrived as an extended CONNECT stream (`ws.request.httpVersion === '2'`,
 * not an HTTP/1.1 upgrade) and on the page's own connection (the same client
 * port of the one TCP connection). The page echoes a non-ASCII text message
 * and 1 MiB of random bytes and reports what came back; then it closes with
 * 1000, and the server sees a clean close.
 *
 * The certificate is made at test time (src/tls/self-signed-cert.ts), and
 * Chromium accepts it through `--ignore-certificate-errors-spki-list` with
 * its public key's hash: the same flag `npm start -- --http2` prints.
 * Chromium missing: skipped, or failed under CI (test/helpers/chromium.ts).
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type BrowserContext } from 'playwright-core';
import { createServer, type CloseInfo, type WebSocketConnection, type WebSocketServer } from '../../src/index.js';
import { createSelfSignedCert } from '../../src/tls/self-signed-cert.js';
import { assertChromiumInstalled, CHROMIUM, CHROMIUM_ARGS, CHROMIUM_SKIP } from '../helpers/chromium.js';

const ARTIFACTS = fileURLToPath(new URL('../artifacts/', import.meta.url));
const NON_ASCII = 'héllo over HTTP/2: ça va? 你好 👋 Ελληνικά — ✓';
const OPTIONS = { skip: CHROMIUM_SKIP, timeout: 60_000 };

/** The page: opens a WebSocket to its own origin, echoes a text and 1 MiB of random bytes, reports into #result. */
const PAGE = `<!doctype html>
<meta charset="utf-8">
<title>WebSocket over HTTP/2</title>
<pre id="result">running</pre>
<script>
const TEXT = ${JSON.stringify(NON_ASCII)};
function next(ws) {
  return new Promise((resolve, reject) => {
    ws.onmessage = (event) => resolve(event.data);
    ws.onclose = (event) => reject(new Error('closed ' + event.code));
  });
}
async function run() {
  const ws = new WebSocket('wss://' + location.host + '/echo');
  ws.binaryType = 'arraybuffer';
  await new Promise((resolve, reject) => { ws.onopen = resolve; ws.onerror = () => reject(new Error('no connection')); });
  let reply = next(ws);
  ws.send(TEXT);
  const text = await reply;
  const sent = new Uint8Array(1 << 20);
  for (let i = 0; i < sent.length; i += 65536) crypto.getRandomValues(sent.subarray(i, i + 65536));
  reply = next(ws);
  ws.send(sent);
  const received = new Uint8Array(await reply);
  let same = received.length === sent.length;
  for (let i = 0; same && i < sent.length; i++) same = received[i] === sent[i];
  const closed = new Promise((resolve) => { ws.onclose = (event) => resolve({ code: event.code, wasClean: event.wasClean }); });
  ws.close(1000, 'done');
  return { text, binaryLength: received.length, binarySame: same, close: await closed };
}
run().then(
  (result) => { document.getElementById('result').textContent = JSON.stringify(result); },
  (error) => { document.getElementById('result').textContent = JSON.stringify({ error: String(error) }); },
);
</script>
`;

interface PageRequest {
  httpVersion: string;
  remotePort: number | undefined;
}

let context: BrowserContext;
let profile: string;
let server: WebSocketServer;
let origin: string;
const pageRequests: PageRequest[] = [];
const sockets: Array<{ connection: WebSocketConnection; closed: Promise<CloseInfo> }> = [];
const pageErrors: string[] = [];

before(async () => {
  if (CHROMIUM_SKIP) return;
  assertChromiumInstalled();
  const certificate = createSelfSignedCert();
  server = createServer({
    http2: true,
    tls: { key: certificate.key, cert: certificate.cert },
    http: (req: IncomingMessage, res: ServerResponse) => {
      // node:http2's compatibility request: httpVersion '2.0', and `socket` is the HTTP/2 connection's.
      pageRequests.push({ httpVersion: req.httpVersion, remotePort: req.socket.remotePort });
      if (req.url !== '/') {
        res.writeHead(404).end();
        return;
      }
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(PAGE);
    },
  });
  server.route('/echo', (ws) => {
    sockets.push({ connection: ws, closed: ws.closed });
    ws.on('message', (message) => ws.send(message));
  });
  origin = `https://localhost:${(await server.listen(0, '127.0.0.1')).port}`;

  profile = mkdtempSync(join(tmpdir(), 'wsrfc-chromium-h2-'));
  context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    timeout: 30_000,
    // Trust exactly this certificate's key (the flag needs a profile directory, which this is).
    args: [...CHROMIUM_ARGS, `--ignore-certificate-errors-spki-list=${certificate.spkiSha256}`],
  });
  context.setDefaultTimeout(20_000);
  context.on('page', (page) => page.on('pageerror', (error) => pageErrors.push(`${page.url()}: ${error.message}`)));
  mkdirSync(ARTIFACTS, { recursive: true });
});

after(async () => {
  await context?.close();
  await server?.close();
  if (profile) rmSync(profile, { recursive: true, force: true });
});

test('a page loaded over HTTP/2 opens its WebSocket as an extended CONNECT stream on the same connection, and echoes text and 1 MiB binary', OPTIONS, async () => {
  const page = await context.newPage();
  const response = await page.goto(`${origin}/`);
  assert.equal(response?.status(), 200);
  await page.locator('#result', { hasText: '{' }).waitFor();
  const result = JSON.parse((await page.locator('#result').textContent()) ?? '{}') as {
    error?: string;
    text?: string;
    binaryLength?: number;
    binarySame?: boolean;
    close?: { code: number; wasClean: boolean };
  };
  await page.screenshot({ path: join(ARTIFACTS, 'browser-http2.png'), fullPage: true });

  // What the page saw.
  assert.equal(result.error, undefined, `the page failed: ${result.error}`);
  assert.equal(result.text, NON_ASCII);
  assert.equal(result.binaryLength, 1 << 20);
  assert.equal(result.binarySame, true, '1 MiB of random bytes came back identical');
  assert.deepEqual(result.close, { code: 1000, wasClean: true });

  // What the server saw: the page over HTTP/2...
  const pageLoad = pageRequests.find((r) => r.httpVersion === '2.0');
  assert.ok(pageLoad, `the page came over HTTP/2 (requests seen: ${JSON.stringify(pageRequests)})`);
  assert.ok(pageRequests.every((r) => r.httpVersion === '2.0'), `every request over HTTP/2: ${JSON.stringify(pageRequests)}`);
  // ...and the WebSocket as an extended CONNECT stream on that same connection, not an HTTP/1.1 upgrade.
  assert.equal(sockets.length, 1, 'one WebSocket');
  const [{ connection, closed }] = sockets;
  assert.equal(connection.request.httpVersion, '2', 'the WebSocket arrived as an extended CONNECT stream (RFC 8441)');
  assert.equal(connection.request.path, '/echo');
  assert.equal(connection.request.remotePort, pageLoad.remotePort, "on the page's HTTP/2 connection (the same client port)");
  const info = await closed;
  assert.equal(info.code, 1000);
  assert.equal(info.wasClean, true);
  await page.close();
});

test('no page threw a JavaScript error', OPTIONS, () => {
  assert.deepEqual(pageErrors, []);
});
